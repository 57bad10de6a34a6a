import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { discoveryStandIns } from "../../sandbox/cli/stand-ins";
import { runProjectScript } from "./lab-run";

/** What `npm run discover` did against the stand-in CLIs. */
export interface DiscoverRun {
    code: number | null;
    stdout: string;
    stderr: string;
    /** Calls per CLI, arguments in order. */
    calls: Record<"aws" | "az" | "gcloud", string[][]>;
    /** Every JSON answer the stand-ins gave, with its call (all CLIs in one log). */
    outputs: { argv: string[]; out: unknown }[];
    /** The folder it ran in (where --out paths land). */
    dir: string;
}

/**
 * Runs `npm run discover -- args…` in a fresh folder with the three stand-in CLIs first on PATH,
 * each with its world (an empty one where none is given) and its call log.
 */
export function runDiscover(
    args: string[],
    worlds: { aws?: unknown; az?: unknown; gcloud?: unknown },
    files: Record<string, string> = {},
    env: Record<string, string> = {},
): DiscoverRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "discover-"));
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    const answers = path.join(dir, "answers.log");
    fs.writeFileSync(answers, "");
    const standIns = discoveryStandIns(dir, worlds);
    const run = runProjectScript("discover", args, dir, {
        ...standIns.env,
        FAKE_OUT_LOG: answers,
        HOME: dir,
        BOOTLOOP_STACK_DIR: dir,
        AWS_REGION: "us-east-1",
        ...env,
    });
    const lines = (file: string) =>
        fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
    return {
        code: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
        calls: { aws: lines(standIns.callLog("aws")), az: lines(standIns.callLog("az")), gcloud: lines(standIns.callLog("gcloud")) },
        outputs: lines(answers),
        dir,
    };
}

/** An EC2 id of 17 hex digits ending in `n`. */
export const ec2 = (n: number) => `i-0${n.toString(16).padStart(16, "0")}`;

/** The console output of a Windows instance that crashed in the faulty driver. */
export const CRASH_CONSOLE =
    "2024/07/19 04:12:01Z: EC2Launch: Windows is Ready to use\n*** STOP: 0x00000050 (0xFFFF840500000000) PAGE_FAULT_IN_NONPAGED_AREA csagent.sys\n";

/**
 * AWS: account 111111111111 ("prod", the ambient one) and 222222222222 (through a role), regions
 * us-east-1 and eu-west-1, with boot-looping, healthy, stopped, scale-group, instance-store and
 * Linux instances.
 */
export function awsWorld(): any {
    const win = { platform: "windows", state: "running", rootDeviceName: "/dev/sda1", blockDevices: {} };
    return {
        account: "111111111111",
        aliases: { "111111111111": ["prod"], "222222222222": ["staging"] },
        regions: ["us-east-1", "eu-west-1"],
        instances: {
            // prod, us-east-1
            [ec2(1)]: {
                ...win,
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                tags: { Name: "web-01" },
                instanceStatus: "impaired",
                consoleOutput: CRASH_CONSOLE,
                privateDnsName: "ip-10-0-0-1.ec2.internal",
            },
            [ec2(2)]: {
                ...win,
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                tags: { Name: "web-02" },
                instanceStatus: "impaired",
                consoleOutput: "",
            },
            [ec2(3)]: { ...win, region: "us-east-1", availabilityZone: "us-east-1b", tags: { Name: "web-03" } },
            [ec2(4)]: { ...win, region: "us-east-1", availabilityZone: "us-east-1b", tags: { Name: "web-04" }, state: "stopped" },
            [ec2(5)]: {
                ...win,
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                tags: { Name: "web-05", "aws:autoscaling:groupName": "web-asg" },
                asg: "web-asg",
                instanceStatus: "impaired",
            },
            [ec2(6)]: {
                state: "running",
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                tags: { Name: "linux-01" },
                instanceStatus: "impaired",
                rootDeviceName: "/dev/xvda",
                blockDevices: {},
            },
            // A Name tag written to break the inventory open: it must stay inside its comment.
            [ec2(8)]: {
                ...win,
                region: "us-east-1",
                availabilityZone: "us-east-1b",
                tags: { Name: "evil\nvms:\n  - cloud: aws\n    instanceId: i-0ffffffffffffffff" },
                instanceStatus: "impaired",
                consoleOutput: CRASH_CONSOLE,
            },
            // prod, eu-west-1
            [ec2(7)]: {
                ...win,
                region: "eu-west-1",
                availabilityZone: "eu-west-1a",
                tags: { Name: "batch-01" },
                instanceStatus: "impaired",
                rootDeviceType: "instance-store",
            },
            // staging, through its role
            [ec2(0xb1)]: {
                ...win,
                account: "222222222222",
                region: "eu-west-1",
                availabilityZone: "eu-west-1b",
                tags: { Name: "stg-01" },
                instanceStatus: "impaired",
                xen: true,
                consoleOutput: CRASH_CONSOLE,
            },
            [ec2(0xb2)]: {
                ...win,
                account: "222222222222",
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                tags: { Name: "stg-02" },
                consoleOutput: "2024/07/19 06:40:00Z: EC2Launch: Windows is Ready to use\n",
            },
        },
    };
}

/** A stack whose AWS roles reach account 222222222222. */
export const AWS_STACK = {
    "Pulumi.incident.yaml":
        'config:\n  bootloop-rescue:inventory: stacks/incident.yaml\n  bootloop-rescue:awsAssumeRoleArns:\n    "222222222222": arn:aws:iam::222222222222:role/bootloop-rescue\n',
    "Pulumi.yaml": "name: bootloop-rescue\nruntime: nodejs\n",
};

export const SUB_A = "11111111-2222-3333-4444-555555555555";
export const SUB_B = "66666666-7777-8888-9999-000000000000";

/**
 * Azure: subscriptions "prod" and "dev", with boot-looping (agent not ready; one with a stop error in
 * its serial log), healthy, deallocated, scale-set, unmanaged-disk, ADE and Linux VMs.
 */
export function azureWorld(): any {
    const win = {
        power: "running",
        agent: "Ready",
        osDisk: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/disks/os",
        frozen: true,
        location: "eastus2",
        zones: ["1"],
    };
    return {
        accounts: [
            { id: SUB_A, name: "prod", state: "Enabled" },
            { id: SUB_B, name: "dev", state: "Enabled" },
            { id: "99999999-9999-9999-9999-999999999999", name: "old", state: "Disabled" },
        ],
        vms: {
            "rg-app/app-01": {
                ...win,
                subscription: SUB_A,
                agent: "Not Ready",
                computerName: "APP-01",
                bootDiagnostics: true,
                bootLog: "SAC initialized\n*STOP* 0x00000050 csagent.sys\n",
                vmId: "aaaaaaaa-0000-0000-0000-000000000001",
            },
            "rg-app/app-02": { ...win, subscription: SUB_A, agent: "", computerName: "APP-02" },
            "rg-app/app-03": { ...win, subscription: SUB_A, computerName: "APP-03" },
            "rg-app/app-04": { ...win, subscription: SUB_A, power: "deallocated", agent: "", computerName: "APP-04" },
            "rg-app/app-05": { ...win, subscription: SUB_A, agent: "Not Ready", vmss: "app-vmss", computerName: "APP-05" },
            "rg-app/app-06": { ...win, subscription: SUB_A, agent: "Not Ready", unmanaged: true, computerName: "APP-06" },
            "rg-app/lnx-01": { ...win, subscription: SUB_A, osType: "Linux", agent: "Not Ready" },
            "rg-dev/dev-01": {
                ...win,
                subscription: SUB_B,
                agent: "Not Ready",
                ade: true,
                computerName: "DEV-01",
                zones: null,
                location: "westeurope",
            },
            "rg-other/dev-02": { ...win, subscription: SUB_B, agent: "Not Ready", computerName: "DEV-02", location: "westeurope" },
        },
    };
}

/**
 * GCP: projects "web-prod" and "batch-prod", Windows instances that crash on serial port 1, boot
 * cleanly, say nothing (with and without guest attributes), are stopped, belong to a managed
 * instance group, or are Linux.
 */
export function gcpWorld(): any {
    const win = { windows: true, status: "RUNNING", project: "web-prod", zone: "us-central1-a" };
    const crash =
        "GCEGuestAgent: Started\n...\nA fatal error occurred. Stop code: PAGE_FAULT_IN_NONPAGED_AREA (csagent.sys) BugCheck 0x50\n";
    return {
        projects: [
            { projectId: "web-prod", name: "Web Prod", lifecycleState: "ACTIVE" },
            { projectId: "batch-prod", name: "Batch", lifecycleState: "ACTIVE" },
            { projectId: "gone-project", name: "Gone", lifecycleState: "DELETE_REQUESTED" },
        ],
        instances: {
            "win-1": { ...win, id: "5000000000000000001", serial: crash },
            "win-2": { ...win, id: "5000000000000000002", serial: "" },
            "win-3": { ...win, id: "5000000000000000003", serial: "GCEGuestAgent: Started\nWindows is ready\n" },
            "win-4": { ...win, id: "5000000000000000004", status: "TERMINATED" },
            "win-5": { ...win, id: "5000000000000000005", serial: crash, mig: "win-mig", zone: "us-central1-b" },
            "win-6": { ...win, id: "5000000000000000006", serial: "booting...\n" },
            "lnx-1": { status: "RUNNING", project: "web-prod", zone: "us-central1-a", serial: crash },
            "bat-1": { ...win, id: "5000000000000000011", project: "batch-prod", zone: "europe-west1-b", serial: crash },
            "bat-2": { ...win, id: "5000000000000000012", project: "batch-prod", zone: "europe-west1-b", serial: "" },
        },
        guestAttributes: { "win-6": [{ namespace: "hostkeys", key: "ssh-rsa", value: "AAAA" }] },
    };
}
