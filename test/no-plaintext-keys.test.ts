// BitLocker keys never appear in plaintext: not in the offline plan (its JSON, its summary, the
// resources it would register), not in the stack outputs or the report made from them, and on the
// rescue side not in what the repair prints, the logs it keeps, its key folder afterwards, or any
// process's arguments. One inventory with every way a key reaches a repair, on every cloud.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planDocument, renderSummary } from "../components/tools/offline/render";
import { renderReport } from "../components/tools/report/render";
import * as pulumi from "@pulumi/pulumi";
import { planInventory } from "./helpers/lab-run";
import { ENGINE, FileSpec, STAND_INS, buildImage, skipDiskLab, workDir } from "./rescue/disk-lab";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript without type declarations (see its header), which an import cannot load without allowJs
const { startSecretStore, fetchKeyEnv } = require("./helpers/secret-store-stand-in");

/** A recovery password (each group a multiple of 11 below 720896) and its groups, any of which would give it away. */
const PASSWORD = "123409-234520-345631-456742-567853-678964-190003-012342";
const pieces = (key: string) => [key, key.replace(/-/g, ""), ...key.split("-").filter((g) => !/^0+$/.test(g))];

function assertNoKey(where: string, text: string, keys: string[]): void {
    for (const key of keys)
        for (const piece of pieces(key)) assert.ok(!text.includes(piece), `${where} holds ${piece === key ? "a key" : "part of a key"}`);
}

describe("no BitLocker key in plaintext, anywhere (all clouds)", () => {
    it("offline plan JSON and summary, registered resources, stack outputs and the report hold none", async () => {
        const inventory = [
            "vms:",
            // Azure: a recovery password from stack config, and ADE's BEK fetched from Key Vault.
            "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-01\n    bitlockerKey: app-01-key\n    diskEncryption: ade",
            // AWS and GCP: the rescue VM reads the secret itself; the plan holds only its name.
            "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n    bitlockerSecret: arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/dev/web-Ab12Cd",
            "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1\n    bitlockerSecret: projects/my-project/secrets/web-1-keys",
            "",
        ].join("\n");
        const { run } = await planInventory(inventory, { "bootloop-rescue:app-01-key": PASSWORD }, ["bootloop-rescue:app-01-key"]);
        assert.deepEqual(
            Object.values(run.result.keySources)
                .map((s) => [...s].sort().join("+"))
                .sort(),
            ["cloud+stack config", "secret store", "secret store"],
        );
        // The offline plan fetches no BEK: its stand-in key file (base64 of "offline plan placeholder…")
        // travels the same way a real one does, so it must not show either.
        const bekPlaceholder = Buffer.from("offline plan placeholder").toString("base64");
        const keys = [PASSWORD, bekPlaceholder];
        assertNoKey("the plan JSON", JSON.stringify(planDocument(run, "test")), keys);
        assertNoKey("the plan summary", renderSummary(run, "test"), keys);
        assertNoKey("the registered resources", JSON.stringify(run.resources), keys);
        // Every output value that resolves in a plan (some stay unknown until `pulumi up`).
        const settle = (v: unknown) =>
            pulumi.Output.isInstance(v)
                ? Promise.race([
                      new Promise((resolve) => v.apply(resolve)),
                      new Promise((resolve) => setTimeout(() => resolve("(unknown in a plan)"), 1000)),
                  ])
                : Promise.resolve(v);
        const record = async (key: string) =>
            Object.fromEntries(
                await Promise.all(
                    Object.entries(run.outputs.vms[key] as unknown as Record<string, unknown>).map(
                        async ([k, v]) => [k, await settle(v)] as const,
                    ),
                ),
            );
        const vms = Object.fromEntries(
            await Promise.all(Object.keys(run.outputs.vms).map(async (key) => [key, await record(key)] as const)),
        );
        assert.equal(Object.keys(vms).length, 3);
        assertNoKey("the stack outputs", JSON.stringify({ plan: run.outputs.plan, vms }), keys);
        assertNoKey("the report", renderReport({ vms } as any, "test", new Date("2024-07-19T12:00:00Z")), keys);
    });

    (skipDiskLab() ? it.skip : it)(
        "rescue side: the repair's output, its logs, its key folder afterwards and every process's arguments hold none",
        async () => {
            const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/dev/web-Ab12Cd";
            const store = await startSecretStore({ role: "rescue-role", aws: { [arn]: { string: `${PASSWORD}\n` } } });
            try {
                const bad: FileSpec = {
                    path: "Windows/System32/drivers/CrowdStrike/C-00000291-00000000-00000032.sys",
                    mtime: "2024-07-19T04:09:30Z",
                    content: "faulty channel file 291",
                };
                const img = buildImage("gpt", [
                    { kind: "efi", sizeMiB: 8 },
                    { kind: "bitlocker", sizeMiB: 32, files: [bad] },
                ]);
                const lib = fs.mkdtempSync(path.join(workDir, "lib-"));
                // The engine as rescue VMs get it (the zipapp built from the current sources), not
                // rescue/repair-disk, which only runs the package from this tree.
                for (const [tool, from] of [
                    ["repair-disk", ENGINE],
                    ["fetch-key", path.join(__dirname, "../rescue/fetch-key")],
                ]) {
                    fs.copyFileSync(from, path.join(lib, tool));
                    fs.chmodSync(path.join(lib, tool), 0o755);
                }
                // find-disk stands in: the attached disk is the image.
                fs.writeFileSync(path.join(lib, "find-disk"), `#!/bin/sh\necho ${img.image}\n`, { mode: 0o755 });
                const logs = fs.mkdtempSync(path.join(os.tmpdir(), "rescue-logs-"));
                const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "rescue-keys-"));
                const argvLog = path.join(workDir, "dislocker-argv-scan.log");
                fs.writeFileSync(argvLog, "");
                // Every process the repair starts, with its arguments, while it runs.
                const seen = new Set<string>();
                const sample = () => {
                    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
                        try {
                            seen.add(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
                        } catch {
                            /* gone */
                        }
                    }
                };
                const timer = setInterval(sample, 20);
                const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
                    const child = spawn("bash", [path.join(__dirname, "../rescue/on-rescue.sh")], {
                        env: {
                            PATH: `${STAND_INS}:${process.env.PATH}`,
                            BOOTLOOP_RESCUE_LIB: lib,
                            BOOTLOOP_RESCUE_LOG_DIR: logs,
                            BOOTLOOP_RESCUE_KEY_DIR: keyDir,
                            DISK_HANDLE_KIND: "aws-volume-id",
                            DISK_HANDLE: "vol-0123456789abcdef0",
                            KEY_SECRET_KIND: "aws-secretsmanager",
                            KEY_SECRET: arn,
                            FAKE_DISLOCKER_KEY: PASSWORD,
                            FAKE_DISLOCKER_PLAIN: img.partitions[1].plain!,
                            FAKE_DISLOCKER_LOG: argvLog,
                            ...fetchKeyEnv(store.url),
                        },
                    });
                    let stdout = "";
                    let stderr = "";
                    child.stdout.on("data", (d) => (stdout += d));
                    child.stderr.on("data", (d) => (stderr += d));
                    child.on("close", (code) => resolve({ code, stdout, stderr }));
                });
                clearInterval(timer);
                assert.equal(r.code, 0, r.stderr + r.stdout);
                const evidence = JSON.parse(r.stdout);
                assert.equal(evidence.partitions[1].bitlocker, "unlocked", "the key from the secret store opened the volume");
                assert.equal(evidence.partitions[1].unlockedWith.protector, "recovery-password");
                assertNoKey("what the repair printed", r.stdout + r.stderr, [PASSWORD]);
                for (const f of fs.readdirSync(logs)) assertNoKey(`log ${f}`, fs.readFileSync(path.join(logs, f), "utf8"), [PASSWORD]);
                assert.deepEqual(fs.readdirSync(keyDir), [], "no key file is left");
                assertNoKey("dislocker's arguments", fs.readFileSync(argvLog, "utf8"), [PASSWORD]);
                assert.ok(seen.size > 3);
                assertNoKey("a process's arguments", [...seen].join("\n"), [PASSWORD]);
                assertNoKey(
                    "the requests to the secret store",
                    JSON.stringify(store.requests.map((q: { url: string; body: string }) => [q.url, q.body])),
                    [PASSWORD],
                );
            } finally {
                await store.close();
            }
        },
    );
});
