// Every CLI call the step scripts and the watcher make, checked against the real CLIs: the
// stand-ins accept what they are written to accept, the real aws, gcloud and az may not. The
// scripts run against the stand-ins (every script of every cloud, with the watcher), each distinct
// call is replayed through the real CLI inside a network namespace with only loopback, against a
// local recorder (nothing can reach a cloud), and every answer a stand-in gave is checked against
// the real CLI's output model: a field the model lacks is a field a script reads in vain.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as aws from "../aws/run-script";
import * as azure from "../azure/run-script";
import * as adeKey from "../azure/ade-world";
import * as gcp from "../gcp/run-script";
import { AWS_STACK, awsWorld, azureWorld, gcpWorld, runDiscover } from "../helpers/discovery-run";
import { Cli, notAccepted, realCliOrSkip, replayThroughRealClis } from "../helpers/real-cli";
import { StandInRun } from "../helpers/stand-in";
interface Observed {
    cli: Cli;
    runs: StandInRun[];
}

const AWS_MODELS = "/usr/lib/python3/dist-packages/awscli/botocore/data";

/** What `npm run import-keys` gives the store-key scripts: a key file that outlives the run, for the replay. */
function storeKeyEnv() {
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keys-")), "vm.keys");
    fs.writeFileSync(keyFile, "000011-000022-000033-000044-000055-000066-000077-000088\n", { mode: 0o600 });
    return {
        aws: {
            SECRET_NAME: "bootloop-rescue/dev/web-1-0a1b2c3d",
            KEY_FILE: keyFile,
            STACK_NAME: "dev",
            VM_LABEL: "aws us-east-1/i-0123456789abcdef0",
            TAGS_JSON: JSON.stringify([
                { Key: "Cost Center", Value: "4711, platform" },
                { Key: "bootloop-rescue:stack", Value: "dev" },
            ]),
        },
        gcp: {
            PROJECT: "my-project",
            SECRET_ID: "bootloop-rescue-dev-web-1-0a1b2c3d",
            KEY_FILE: keyFile,
            LABELS: "cost-center=cc-4711,bootloop-rescue-stack=dev,bootloop-rescue-managed-by=bootloop-rescue",
            VM_LABEL: "gcp my-project/us-central1-a/web-1",
        },
    };
}

/** `npm run discover` against the stand-ins, as one CLI's run (discovery lists every cloud alike). */
function discovery(cli: Cli, args: string[], worlds: Parameters<typeof runDiscover>[1], files: Record<string, string> = {}): StandInRun {
    const run = runDiscover(args, worlds, files);
    assert.equal(run.code, 0, run.stderr);
    return { code: run.code, stdout: run.stdout, stderr: run.stderr, calls: run.calls[cli], outputs: run.outputs, world: undefined };
}

/** Every script of every cloud, on its main path (and a few side paths), and discovery, against the stand-ins. */
function observe(): Observed[] {
    const storeKey = storeKeyEnv();
    const awsReboot = {
        INSTANCE_ID: aws.INSTANCE,
        VM_LABEL: "aws x",
        MAX_REBOOTS: "3",
        REBOOT_TIMEOUT_SECONDS: "1",
        MUST_RECOVER: "false",
        BOOT_MARKER: "Windows is Ready to use",
    };
    const awsSnapshots = { "snap-0000000000000000a": { volumeId: aws.ORIGINAL, startTime: "2024-07-18T02:00:00.000Z" } };
    const awsRuns = [
        aws.run("swap", aws.swapEnv, aws.world()),
        aws.run("swap", { ...aws.swapEnv, ASSUME_ROLE_ARN: "arn:aws:iam::222222222222:role/bootloop-rescue" }, aws.world()),
        aws.run("repair", aws.repairEnv, aws.world()),
        // A disk whose keys are in Secrets Manager: the document gets the secret's ARN (JSON form).
        aws.run(
            "repair",
            { ...aws.repairEnv, KEY_SECRET: "arn:aws:secretsmanager:us-east-1:111122223333:secret:bootloop-rescue/dev/web=1+a-AbCdEf" },
            aws.world(),
        ),
        aws.run("reboot", awsReboot, aws.world()),
        aws.run("rollback", aws.rollbackEnv, aws.swapped()),
        // npm run import-keys: a new secret, then a new version of it (the keys in a file, never an argument).
        aws.run("store-key", storeKey.aws, aws.world({ secrets: {} })),
        aws.run(
            "store-key",
            storeKey.aws,
            aws.world({
                secrets: {
                    [storeKey.aws.SECRET_NAME]: {
                        arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${storeKey.aws.SECRET_NAME}-AbCdEf`,
                        versions: ["old"],
                    },
                },
            }),
        ),
        aws.run("restore-points", { ACCOUNT_ID: "123456789012" }, aws.world({ snapshots: awsSnapshots })),
        aws.run(
            "restore-points",
            { ACCOUNT_ID: "123456789012", RESTORE_FROM: "snap-0000000000000000a" },
            aws.world({ snapshots: awsSnapshots }),
        ),
        // npm run discover: two accounts (one through a role), every region, consoles (one without --latest).
        discovery(
            "aws",
            ["--cloud", "aws", "--stack", "incident", "--accounts", "111111111111,222222222222"],
            { aws: awsWorld() },
            AWS_STACK,
        ),
    ];
    const azBase = { SUBSCRIPTION_ID: azure.SUB, RESOURCE_GROUP: "rg-app", VM_NAME: "app-01", VM_LABEL: "azure rg-app/app-01" };
    const azSnapshots = {
        [`/subscriptions/${azure.SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/snapshots/app-01-nightly`]: {
            source: azure.ORIGINAL,
            timeCreated: "2024-07-19T02:00:00+00:00",
        },
    };
    const attached = azure.world();
    attached.vms["rg-app/rescue-azure-1-0"].dataDisks = { 3: azure.SCRATCH };
    const azureRuns = [
        azure.run("swap", azure.swapEnv, azure.world()),
        azure.run("attach", azure.attachEnv, azure.world()),
        azure.run("detach", azure.attachEnv, attached),
        azure.run("reboot", { ...azBase, MAX_REBOOTS: "3", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "false" }, azure.world()),
        azure.run("rollback", { ...azBase, ORIGINAL_DISK_ID: azure.ORIGINAL }, azure.swapped()),
        azure.run("restore-points", { SUBSCRIPTION_ID: azure.SUB }, { ...azure.world(), snapshots: azSnapshots }),
        azure.run(
            "restore-points",
            { SUBSCRIPTION_ID: azure.SUB, RESTORE_FROM: Object.keys(azSnapshots)[0] },
            { ...azure.world(), snapshots: azSnapshots },
        ),
        // Azure Disk Encryption: the BEK read from Key Vault and unwrapped with the KEK (az rest).
        azure.run("ade-key", adeKey.env(adeKey.KEK_URL), adeKey.vaultWorld(true)),
        // npm run discover: subscriptions, the VM listing, statusOnly pages, full views, a boot log.
        discovery("az", ["--cloud", "azure"], { az: { ...azureWorld(), statusPage: 4, statusWithoutAgent: true } }),
    ];
    const gcBase = { PROJECT: "my-project", ZONE: "us-central1-a", INSTANCE: "web-1", VM_LABEL: "gcp my-project/us-central1-a/web-1" };
    const gcSnapshots = {
        "web-1-nightly": {
            sourceDisk: "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/disks/web-1",
            creationTimestamp: "2024-07-18T19:00:00.000-07:00",
        },
    };
    const published = gcp.world();
    published.guestAttributes["rescue-1"] = [
        {
            namespace: "bootloop-rescue",
            key: "br-web-1-abc123-c0",
            value: '{"outcome":"repaired","exitCode":0,"message":"ok","volumes":[]}',
        },
        { namespace: "bootloop-rescue", key: "br-web-1-abc123-code", value: "0" },
        { namespace: "bootloop-rescue", key: "br-web-1-abc123-chunks", value: "1" },
    ];
    const gcpRuns = [
        gcp.run("store-key", storeKey.gcp, { ...gcp.world(), secrets: {} }),
        gcp.run("store-key", storeKey.gcp, {
            ...gcp.world(),
            secrets: { [storeKey.gcp.SECRET_ID]: { project: "my-project", versions: ["old"] } },
        }),
        gcp.run("swap", gcp.swapEnv, gcp.world()),
        gcp.run("repair", gcp.repairEnv, published),
        gcp.run(
            "reboot",
            { ...gcBase, MAX_REBOOTS: "3", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "false", BOOT_MARKER: "Windows is ready" },
            gcp.world(),
        ),
        gcp.run("rollback", { ...gcBase, ORIGINAL_DISK: "web-1" }, gcp.swapped()),
        gcp.run("restore-points", { PROJECT: "my-project" }, { ...gcp.world(), snapshots: gcSnapshots }),
        gcp.run("restore-points", { PROJECT: "my-project", RESTORE_FROM: "web-1-nightly" }, { ...gcp.world(), snapshots: gcSnapshots }),
        // npm run discover: projects listed or named, every zone or some, serial ports, guest attributes.
        discovery("gcloud", ["--cloud", "gcp"], { gcloud: gcpWorld() }),
        discovery("gcloud", ["--cloud", "gcp", "--projects", "web-prod", "--zones", "us-central1-a,us-central1-b"], { gcloud: gcpWorld() }),
    ];
    return [
        { cli: "aws", runs: awsRuns },
        { cli: "az", runs: azureRuns },
        { cli: "gcloud", runs: gcpRuns },
    ];
}

/**
 * The call with every `@FILE` argument (a request body the script wrote and removed after the
 * call) pointing at a file that exists, with a body of the same shape: the real CLI reads it.
 */
function withBodyFiles(argv: string[]): string[] {
    return argv.map((a) => {
        if (!a.startsWith("@") || fs.existsSync(a.slice(1))) return a;
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "body-")), "body.json");
        fs.writeFileSync(file, JSON.stringify({ alg: "RSA-OAEP", value: "AAAA" }));
        return `@${file}`;
    });
}

/** A call's shape: its command words and the names of its options (values differ per VM). */
function shape(argv: string[]): string {
    const words = argv.filter((a, i) => !a.startsWith("-") && !(i > 0 && argv[i - 1].startsWith("--")));
    const options = argv.filter((a) => a.startsWith("-")).sort();
    return `${words.slice(0, 4).join(" ")} ${options.join(" ")}`;
}

/** The service and operation of an aws call: `ec2 describe-instances` → ec2, DescribeInstances. */
function awsOperation(argv: string[]): { service: string; operation: string } {
    const [service, command] = aws.op(argv).split(" ");
    return {
        service,
        operation: command
            .split("-")
            .map((w) => w[0].toUpperCase() + w.slice(1))
            .join(""),
    };
}

type Shape = { type: string; members?: Record<string, { shape: string }>; member?: { shape: string }; value?: { shape: string } };

/** Paths in `value` that the botocore shape does not have. */
function missingInShape(value: unknown, shapeName: string, shapes: Record<string, Shape>, at: string): string[] {
    const shape = shapes[shapeName];
    if (value === null || value === undefined) return [];
    if (shape.type === "structure" && typeof value === "object" && !Array.isArray(value)) {
        return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
            shape.members?.[k] ? missingInShape(v, shape.members[k].shape, shapes, `${at}.${k}`) : [`${at}.${k}`],
        );
    }
    if (shape.type === "list" && Array.isArray(value))
        return value.flatMap((v, i) => missingInShape(v, shape.member!.shape, shapes, `${at}[${i}]`));
    if (shape.type === "map" && typeof value === "object")
        return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
            missingInShape(v, shape.value!.shape, shapes, `${at}.${k}`),
        );
    return [];
}

function awsModel(service: string): { operations: Record<string, { output?: { shape: string } }>; shapes: Record<string, Shape> } {
    const dir = path.join(AWS_MODELS, service);
    const version = fs.readdirSync(dir).sort().pop()!;
    return JSON.parse(fs.readFileSync(path.join(dir, version, "service-2.json"), "utf8"));
}

/** gcloud's compute v1 messages: class → field → the message class it holds (or "" for a scalar). */
function gcpMessages(): Map<string, Map<string, string>> {
    const sdk = spawnSync("gcloud", ["info", "--format=value(installation.sdk_root)"], {
        encoding: "utf8",
        env: { ...process.env, CLOUDSDK_CONFIG: fs.mkdtempSync(path.join(os.tmpdir(), "gc-")) },
    }).stdout.trim();
    const text = fs.readFileSync(path.join(sdk, "lib/googlecloudsdk/generated_clients/apis/compute/v1/compute_v1_messages.py"), "utf8");
    const classes = new Map<string, Map<string, string>>();
    // Classes nest (Metadata.ItemsValueListEntry): a field belongs to the class indented 2 less.
    const open: { indent: number; fields: Map<string, string> }[] = [];
    for (const line of text.split("\n")) {
        const c = /^( *)class (\w+)\(_messages\.Message\):/.exec(line);
        const f = /^( *)(\w+) = _messages\.(\w+)Field\((?:'(\w+)')?/.exec(line);
        const indent = (c ?? f)?.[1].length;
        if (indent === undefined) continue;
        // Classes that ended: for a class line, those at its indent or deeper; for a field, those deeper than its owner.
        const closed = (cls: { indent: number }) => (c ? cls.indent >= indent : cls.indent > indent - 2);
        while (open.length > 0 && closed(open[open.length - 1])) open.pop();
        if (c) {
            const fields = new Map<string, string>();
            if (!classes.has(c[2])) classes.set(c[2], fields);
            open.push({ indent, fields });
        } else if (f && open.length > 0 && open[open.length - 1].indent === indent - 2) {
            open[open.length - 1].fields.set(f[2], f[3] === "Message" ? (f[4] ?? "") : "");
        }
    }
    return classes;
}

/** Paths in `value` that the compute message class does not have. */
function missingInMessage(value: unknown, cls: string, messages: Map<string, Map<string, string>>, at: string): string[] {
    if (Array.isArray(value)) return value.flatMap((v, i) => missingInMessage(v, cls, messages, `${at}[${i}]`));
    if (value === null || typeof value !== "object") return [];
    // A nested *Value class is a map (labels, metadata): any key is a value of it.
    if (cls.endsWith("Value")) return [];
    const fields = messages.get(cls);
    if (!fields) return [`${at} (no message ${cls})`];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
        !fields.has(k) ? [`${at}.${k}`] : fields.get(k) ? missingInMessage(v, fields.get(k)!, messages, `${at}.${k}`) : [],
    );
}

/** The compute message a gcloud command prints (as an object or a list of them), for those whose output a script reads. */
function gcpMessageOf(argv: string[]): string | undefined {
    const words = argv
        .filter((a) => !a.startsWith("-"))
        .slice(1, 3)
        .join(" ");
    return (
        {
            "instances describe": "Instance",
            "instances list": "Instance",
            "disks describe": "Disk",
            "snapshots describe": "Snapshot",
            "snapshots list": "Snapshot",
            "instances get-serial-port-output": "SerialPortOutput",
            "instances get-guest-attributes": "GuestAttributesEntry",
        } as Record<string, string>
    )[words];
}

describe("every CLI call, checked against the real aws, gcloud and az (network namespace, loopback only)", function () {
    this.timeout(1_200_000);
    let observed: Observed[];

    before(function () {
        realCliOrSkip(this, ["aws", "gcloud", "az"]);
        observed = observe();
    });

    it("every distinct call is accepted by the real CLI (az: parsed, where this az can load the command)", () => {
        const seen = new Set<string>();
        const spec: { cli: Cli; argv: string[] }[] = [];
        for (const { cli, runs } of observed) {
            for (const run of runs) {
                for (const argv of run.calls) {
                    const key = `${cli} ${shape(argv)}`;
                    if (!seen.has(key)) {
                        seen.add(key);
                        spec.push({ cli, argv: withBodyFiles(argv) });
                    }
                }
            }
        }
        const counts = Object.fromEntries((["aws", "az", "gcloud"] as Cli[]).map((c) => [c, spec.filter((s) => s.cli === c).length]));
        assert.ok(counts.aws >= 10 && counts.az >= 8 && counts.gcloud >= 8, `calls to check: ${JSON.stringify(counts)}`);
        const results = replayThroughRealClis(spec);
        assert.deepEqual(notAccepted(results), []);
        const tally = (cli: Cli, verdict: string) => results.filter((r) => r.cli === cli && r.verdict === verdict).length;
        // The aws and gcloud calls all reached the recorder: the real CLIs sent them.
        assert.equal(tally("aws", "accepted"), counts.aws);
        // All but the GCP watcher's token call (gcloud config config-helper), which sends nothing here and ran.
        const ranGcloud = results.filter((r) => r.cli === "gcloud" && r.verdict === "ran").map((r) => r.argv.slice(0, 2).join(" "));
        assert.deepEqual(ranGcloud, ["config config-helper"]);
        assert.equal(tally("gcloud", "accepted"), counts.gcloud - 1);
        const unloadable = results
            .filter((r) => r.verdict === "unloadable")
            .map(
                (r) =>
                    `az ${r.argv
                        .slice(
                            0,
                            r.argv.findIndex((a) => a.startsWith("-")),
                        )
                        .join(" ")}`,
            );
        console.log(
            `      real CLIs: aws ${counts.aws} calls sent, gcloud ${tally("gcloud", "accepted")} sent and ${tally("gcloud", "ran")} ran, az ${tally("az", "parsed")} parsed, ${unloadable.length} not loadable by this az (${unloadable.join(", ")})`,
        );
    });

    it("every field of every answer a stand-in gave is in the real CLI's output model (aws: botocore; gcloud: compute v1 messages)", () => {
        const problems: string[] = [];
        const models = new Map<string, ReturnType<typeof awsModel>>();
        for (const run of observed.find((o) => o.cli === "aws")!.runs) {
            for (const { argv, out } of run.outputs) {
                const { service, operation } = awsOperation(argv);
                if (!models.has(service)) models.set(service, awsModel(service));
                const model = models.get(service)!;
                const op = model.operations[operation];
                if (!op) problems.push(`aws ${service} ${operation}: no such operation`);
                else if (op.output) problems.push(...missingInShape(out, op.output.shape, model.shapes, `aws ${service} ${operation}`));
            }
        }
        const messages = gcpMessages();
        let gcpChecked = 0;
        for (const run of observed.find((o) => o.cli === "gcloud")!.runs) {
            for (const { argv, out } of run.outputs) {
                const cls = gcpMessageOf(argv);
                if (!cls) continue;
                gcpChecked++;
                problems.push(...missingInMessage(out, cls, messages, `gcloud ${argv.slice(0, 3).join(" ")}`));
            }
        }
        assert.ok(models.size >= 3 && gcpChecked >= 5, `answers checked: aws services ${models.size}, gcloud ${gcpChecked}`);
        assert.deepEqual([...new Set(problems)], []);
    });
});
