// The call shapes measured: the distinct calls the step scripts (components/*/scripts/*.sh) and the
// watcher (components/*/watch.ts) make, with the arguments they pass. Batched reads name
// BATCH ids, as the watcher does for a scope with that many waits.
import { Cloud } from "../fleet/cli-cost-prices";
import { BATCH, IDS } from "./fake-clouds";

/** One call shape. */
export interface Shape {
    /** The cloud it is priced for. */
    cloud: Cloud;
    /** Which real CLI runs it. */
    cli: "aws" | "gcloud" | "az";
    /** As the fleet bench's fake cloud counts calls: the CLI and its first 2 words (gcloud: 3). */
    key: string;
    /** The CLI's arguments. */
    argv: string[];
    /** A request the fake cloud must see ("METHOD host/path?query") for the call to count as run. */
    expect: RegExp;
}

const instances = Array.from({ length: BATCH }, (_, i) => `i-0${String(i).padStart(16, "0")}`);
const volumes = Array.from({ length: BATCH }, (_, i) => `vol-0${String(i).padStart(16, "0")}`);
const awsJson = ["--region", "us-east-1", "--output", "json"];
const ec2 = /^POST ec2\.us-east-1\.amazonaws\.com\//;

const gc = (...args: string[]) => ["compute", ...args, "--project", IDS.project, "--format", "json", "--quiet"];
const zone = ["--zone", "us-central1-a"];

const vmIds = Array.from({ length: BATCH }, (_, i) => `${IDS.group}/providers/Microsoft.Compute/virtualMachines/vm${i}`);
const vmArgs = ["--subscription", IDS.subscription, "-g", "rg-fleet", "-n", "vm0"];
const azJson = ["--output", "json", "--only-show-errors"];
const arm = (method: string, tail: string) =>
    new RegExp(
        `^${method} management\\.azure\\.com/subscriptions/${IDS.subscription}/resourceGroups/rg-fleet/providers/Microsoft\\.Compute/${tail}`,
        "i",
    );

/** Every shape measured, at least the five most frequent per cloud. */
export const SHAPES: Shape[] = [
    // AWS: the watcher's batched reads, the swap's and reboot's writes, the repair's Run Command.
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 describe-instances",
        argv: [...awsJson, "ec2", "describe-instances", "--filters", `Name=instance-id,Values=${instances.join(",")}`],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 describe-instance-status",
        argv: [...awsJson, "ec2", "describe-instance-status", "--instance-ids", ...instances, "--include-all-instances"],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 describe-volumes",
        argv: [...awsJson, "ec2", "describe-volumes", "--volume-ids", ...volumes],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 stop-instances",
        argv: [...awsJson, "ec2", "stop-instances", "--instance-ids", instances[0]],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 start-instances",
        argv: [...awsJson, "ec2", "start-instances", "--instance-ids", instances[0]],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 detach-volume",
        argv: [...awsJson, "ec2", "detach-volume", "--volume-id", volumes[0], "--instance-id", instances[0]],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 attach-volume",
        argv: [...awsJson, "ec2", "attach-volume", "--volume-id", volumes[1], "--instance-id", instances[0], "--device", "/dev/sda1"],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ec2 get-console-output",
        argv: [...awsJson, "ec2", "get-console-output", "--instance-id", instances[0], "--latest"],
        expect: ec2,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ssm send-command",
        argv: [
            ...awsJson,
            "ssm",
            "send-command",
            "--instance-ids",
            "i-0rescue000000000",
            "--document-name",
            "bootloop-rescue-repair",
            "--comment",
            `bootloop-rescue repair of ${volumes[1]}`,
            "--parameters",
            `volumeId=${volumes[1]}`,
        ],
        expect: /^POST ssm\.us-east-1\.amazonaws\.com\//,
    },
    {
        cloud: "aws",
        cli: "aws",
        key: "aws ssm list-command-invocations",
        argv: [...awsJson, "ssm", "list-command-invocations", "--instance-id", "i-0rescue000000000", "--details"],
        expect: /^POST ssm\.us-east-1\.amazonaws\.com\//,
    },
    // GCP: the watcher's list and serial port, the scripts' starts, stops, attachments and reads.
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances list",
        argv: gc(
            "instances",
            "list",
            "--zones",
            "us-central1-a",
            `--filter=name=( ${Array.from({ length: BATCH }, (_, i) => `vm${i}`).join(" ")} )`,
        ),
        expect: /^GET compute\.googleapis\.com\/compute\/v1\/projects\/[^/]+\/zones\/us-central1-a\/instances/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances get-serial-port-output",
        argv: gc("instances", "get-serial-port-output", "vm0", ...zone, "--port", "1", "--start", "0"),
        expect: /serialPort/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances start",
        argv: gc("instances", "start", "vm0", ...zone),
        expect: /^POST .*\/instances\/vm0\/start/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances stop",
        argv: gc("instances", "stop", "vm0", ...zone),
        expect: /^POST .*\/instances\/vm0\/stop/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances detach-disk",
        argv: gc("instances", "detach-disk", "vm0", "--disk", "vm0-boot", ...zone),
        expect: /^POST .*\/instances\/vm0\/detachDisk/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances attach-disk",
        argv: gc("instances", "attach-disk", "vm0", "--disk", "vm0-fixed", "--device-name", "persistent-disk-0", "--boot", ...zone),
        expect: /^POST .*\/instances\/vm0\/attachDisk/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute instances get-guest-attributes",
        argv: gc("instances", "get-guest-attributes", "rescue-0", ...zone, "--query-path=bootloop-rescue/"),
        expect: /getGuestAttributes/,
    },
    {
        cloud: "gcp",
        cli: "gcloud",
        key: "gcloud compute disks describe",
        argv: gc("disks", "describe", "vm0-fixed", ...zone),
        expect: /^GET .*\/disks\/vm0-fixed/,
    },
    // Azure: the watcher's batched reads, the swap's writes (all --no-wait), the repair's Run Command read.
    {
        cloud: "azure",
        cli: "az",
        key: "az vm get-instance-view",
        argv: ["vm", "get-instance-view", "--ids", ...vmIds, ...azJson],
        expect: arm("GET", "virtualMachines/vm0\\?.*instanceView"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az vm show",
        argv: ["vm", "show", "--ids", ...vmIds, ...azJson],
        expect: arm("GET", "virtualMachines/vm0\\?"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az vm deallocate",
        argv: ["vm", "deallocate", ...vmArgs, "--no-wait", ...azJson],
        expect: arm("POST", "virtualMachines/vm0/deallocate"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az vm update",
        argv: ["vm", "update", ...vmArgs, "--os-disk", `${IDS.group}/providers/Microsoft.Compute/disks/vm0-fixed`, "--no-wait", ...azJson],
        expect: arm("PUT", "virtualMachines/vm0\\?"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az vm start",
        argv: ["vm", "start", ...vmArgs, "--no-wait", ...azJson],
        expect: arm("POST", "virtualMachines/vm0/start"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az disk show",
        argv: ["disk", "show", "--ids", `${IDS.group}/providers/Microsoft.Compute/disks/vm0-fixed`, ...azJson],
        expect: arm("GET", "disks/vm0-fixed\\?"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az vm run-command",
        argv: [
            "vm",
            "run-command",
            "show",
            "--subscription",
            IDS.subscription,
            "-g",
            "rg-fleet",
            "--vm-name",
            "rescue-0",
            "--run-command-name",
            "bootloop-rescue-repair",
            "--instance-view",
            "--query",
            "instanceView.output",
            "--output",
            "tsv",
            "--only-show-errors",
        ],
        expect: arm("GET", "virtualMachines/rescue-0/runCommands/bootloop-rescue-repair\\?"),
    },
    {
        cloud: "azure",
        cli: "az",
        key: "az rest",
        argv: [
            "rest",
            "--method",
            "get",
            "--url",
            `https://management.azure.com${IDS.group}/providers/Microsoft.Compute/virtualMachines/vm0?api-version=2024-07-01`,
            ...azJson,
        ],
        expect: arm("GET", "virtualMachines/vm0\\?api-version=2024-07-01"),
    },
];
