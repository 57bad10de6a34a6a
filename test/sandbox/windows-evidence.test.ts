// The evidence a simulated repair engine writes for a Windows guest's disk (sandbox/cli/windows-guest.js):
// the stand-in aws (its Systems Manager repair, in-process) and the Azure rescue run (a Run Command's
// on-rescue.sh) both write it, through the same builder, so that one disk of one size is described the
// same way on both (its path, times and digests apart), and each is a valid repair-disk document.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv from "ajv";
import { standInDir } from "../../sandbox/cli/stand-ins";
import { AzVm, AzureWorld } from "../../sandbox/world/azure-model";
import { runOnRescueVm } from "../../sandbox/world/azure-rescue-run";

type Evidence = Record<string, unknown> & { outcome: string; exitCode: number };
type Run = (argv: string[], env: Record<string, string | undefined>) => { code: number; stdout: string; stderr: string };

const TOOLS = "0123456789abcdef";
const validate = new Ajv({ strict: false }).compile(
    JSON.parse(fs.readFileSync(path.join(__dirname, "../../rescue/evidence.schema.json"), "utf8")) as object,
);

/** A disk of the simulated clouds: 64 GiB, boot-looping unless `boots`, BitLocker-encrypted when `locked`. */
interface DiskCase {
    boots: boolean;
    locked: boolean;
}

/** The stand-in aws's evidence for the disk: a repair command on a rescue instance, read back with get-command-invocation. */
function awsEvidence(dir: string, d: DiskCase): Evidence {
    const world = {
        account: "123456789012",
        instances: {
            "i-0rescue": {
                state: "running",
                availabilityZone: "us-east-1a",
                rootDeviceName: "/dev/xvda",
                blockDevices: { "/dev/xvda": "vol-0aaa", "/dev/sdf": "vol-0bbb" },
            },
        },
        volumes: {
            "vol-0aaa": { state: "in-use", size: 8, boots: true },
            "vol-0bbb": {
                state: "in-use",
                size: 64,
                boots: d.boots,
                ...(d.locked ? { bitlocker: { secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-abcdef" } } : {}),
            },
        },
        ssm: {
            instances: {},
            repairEngine: { version: "1.0.0" },
            documents: { repair: { versions: [`TOOLS_VERSION=${TOOLS} RULE_SET=crowdstrike-291`] } },
            tools: { "i-0rescue": [TOOLS] },
            commands: { c1: { instance: "i-0rescue", document: "repair", volumeId: "vol-0bbb", part: 0, polls: 0 } },
            evidence: {},
        },
    };
    const state = path.join(dir, "aws-world.json");
    fs.writeFileSync(state, JSON.stringify(world));
    fs.writeFileSync(path.join(dir, "aws-calls.log"), "");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-ins are plain JavaScript modules, without types
    const run = (require(path.join(standInDir("aws"), "aws-cli.js")) as { run: Run }).run;
    const r = run(["ssm", "get-command-invocation", "--command-id", "c1", "--instance-id", "i-0rescue", "--region", "us-east-1"], {
        ...process.env,
        FAKE_AWS_STATE: state,
        FAKE_AWS_LOG: path.join(dir, "aws-calls.log"),
        FAKE_OUT_LOG: "",
    });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse((JSON.parse(r.stdout) as { StandardOutputContent: string }).StandardOutputContent) as Evidence;
}

/** The Azure rescue run's evidence for the disk: on-rescue.sh through a Run Command, the disk at LUN 3. */
function azureEvidence(d: DiskCase): Evidence {
    const diskId = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/app-01-scratch";
    const disk = {
        id: diskId,
        diskSizeGB: 64,
        boots: d.boots,
        uniqueId: "11111111-2222-3333-4444-555555555555",
        creationData: { createOption: "Copy" },
        ...(d.locked ? { bitlocker: { bekSha256: ["00".repeat(32)] } } : {}),
    };
    const world = { disks: { [diskId.toLowerCase()]: disk } } as unknown as AzureWorld;
    const vm = { rescueTools: TOOLS, dataDisks: { "3": diskId } } as unknown as AzVm;
    const script = `TOOLS_VERSION=${TOOLS} DISK_HANDLE_KIND=azure-lun RULE_SET=crowdstrike-291 exec /opt/bootloop-rescue/on-rescue.sh\n`;
    const r = runOnRescueVm(world, vm, script, { DISK_HANDLE: "3" }, "app-01-fix", new Date("2024-07-19T08:00:00Z"));
    assert.equal(r.exitCode, d.locked ? 4 : 0, r.error);
    return JSON.parse(r.output) as Evidence;
}

/** What two descriptions of the same disk may differ in left out: its device path, the times, and digests. */
function comparable(e: Evidence): unknown {
    const text = JSON.stringify(e)
        .replace(/quarantine\/\d{8}T\d{6}Z/g, "quarantine/<at>")
        .replace(/"[0-9a-f]{64}"/g, '"<sha256>"');
    const { disk, startedAt, finishedAt, durationMs, ...rest } = JSON.parse(text) as Record<string, unknown>;
    assert.equal(typeof startedAt, "string");
    assert.equal(typeof finishedAt, "string");
    assert.equal(typeof durationMs, "number");
    const { path: devicePath, ...diskRest } = disk as Record<string, unknown>;
    assert.equal(typeof devicePath, "string");
    return { ...rest, disk: diskRest };
}

describe("sandbox: a Windows guest's repair evidence, as the stand-in aws and the Azure rescue run write it", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "win-evidence-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: [string, DiskCase, string, number][] = [
        ["a boot-looping disk: its faulty file quarantined", { boots: false, locked: false }, "repaired", 0],
        ["a disk that boots: nothing to do", { boots: true, locked: false }, "nothing-to-do", 0],
        ["a BitLocker disk without its key: locked", { boots: false, locked: true }, "locked", 4],
    ];
    for (const [name, d, outcome, exitCode] of cases) {
        it(`${name}: both write a valid repair-disk document, the same but for the device path, times and digests`, () => {
            const aws = awsEvidence(dir, d);
            const azure = azureEvidence(d);
            for (const [cloud, e] of [
                ["aws", aws],
                ["azure", azure],
            ] as const) {
                assert.deepEqual([e.outcome, e.exitCode], [outcome, exitCode], `${cloud}: ${JSON.stringify(e)}`);
                assert.ok(validate(e), `${cloud}: ${JSON.stringify(validate.errors)}`);
            }
            assert.deepEqual(comparable(azure), comparable(aws));
            const partitions = aws.partitions as { type: string; windows: boolean }[];
            assert.deepEqual(
                partitions.map((p) => p.type),
                ["efi", "msr", "basic-data", "recovery"],
            );
            // Windows is found on the third only once it is open: never on a locked one.
            assert.deepEqual(
                partitions.map((p) => p.windows),
                [false, false, !d.locked, false],
            );
        });
    }
});
