import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { identities, paths } from "../../components/registry/clouds";
import { InputError } from "../../components/core/contract/problems";
import { parseYamlInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { VmEntry } from "../../components/core/contract/vm";
import { detectFormat, importKeys, pulumiConfigSet, renderImport } from "../../components/tools/keys/import";
import { readKeyExport } from "../../components/tools/keys/key-export";
import { matchKeys } from "../../components/tools/keys/key-match";
import { recoveryPassword } from "../../components/tools/keys/recovery-password";
import { runProjectScript, tempDir } from "../helpers/lab-run";
import { withStandInEnv } from "../helpers/stand-in";

/** A valid recovery password, distinct per seed: 8 groups, each a multiple of 11 below 720,896. */
const pw = (seed: number) => [...Array(8).keys()].map((i) => String(((seed * 131 + i * 17) % 65_000) * 11).padStart(6, "0")).join("-");
/** The same with one digit changed: its checksum fails. */
const typo = (seed: number) => pw(seed).replace(/^(\d{5})(\d)/, (_, a, d) => `${a}${(Number(d) + 1) % 10}`);
const GUID = "4a3c56e1-1234-4abc-9def-0123456789ab";

const INVENTORY = [
    "vms:",
    "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-01\n    hostname: APP01",
    "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-02",
    "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n    hostname: WEB-AWS-1",
    "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1",
    "",
].join("\n");

const ctx = {
    configNamespace: "bootloop-rescue",
    identities,
    built: new Map(paths.map((p) => [p.identity.cloud, { strategies: p.strategies, bitlocker: p.bitlocker }])),
    configKind: () => "missing" as const,
    configValue: () => undefined,
};
const vms: VmEntry[] = validateInventory(parseYamlInventory("inv.yaml", INVENTORY), ctx);

describe("recovery-key exports (npm run import-keys)", () => {
    it("checks recovery passwords as BitLocker does: 48 digits in 8 groups, each divisible by 11 and below 720896", () => {
        assert.equal(recoveryPassword(pw(1)), pw(1));
        assert.equal(recoveryPassword(pw(1).replace(/-/g, "")), pw(1), "hyphens optional");
        assert.equal(recoveryPassword(typo(1)), undefined);
        assert.equal(recoveryPassword("720896-000000-000000-000000-000000-000000-000000-000000"), undefined, "a group of 720896 or more");
        assert.equal(recoveryPassword(pw(1).slice(0, -7)), undefined, "7 groups");
    });

    it("reads each format; a bad row is named by its line, never showing the key, and nothing is taken from the file then", () => {
        const csv = `hostname,keyId,recoveryPassword\nAPP01,{${GUID}},${pw(1)}\napp-02.corp.example,,${pw(2)}\nNOWHERE-9,,${pw(3)}\n`;
        assert.deepEqual(
            readKeyExport("k.csv", csv, "csv").rows.map((r) => [r.line, r.machine, r.keyId, r.password]),
            [
                [2, "APP01", GUID, pw(1)],
                [3, "app-02.corp.example", undefined, pw(2)],
                [4, "NOWHERE-9", undefined, pw(3)],
            ],
        );
        const ad = `"DistinguishedName","msFVE-RecoveryPassword"\n"CN=2024-07-19T09:12:00-00:00{${GUID.toUpperCase()}},CN=APP01,OU=Servers,DC=corp,DC=example","${pw(4)}"\n`;
        assert.deepEqual(
            readKeyExport("ad.csv", ad, "ad").rows.map((r) => [r.machine, r.keyId, r.password]),
            [["APP01", GUID, pw(4)]],
        );
        const entra = `Device Name,Key ID,Recovery Key,Volume Type\nWEB-AWS-1,${GUID},${pw(5)},operatingSystemVolume\nWEB-AWS-1,0badc0de,${pw(6)},fixedDataVolume\n`;
        assert.deepEqual(
            readKeyExport("entra.csv", entra, "entra").rows.map((r) => [r.machine, r.password]),
            [["WEB-AWS-1", pw(5)]],
            "data volumes are not the OS volume",
        );
        assert.deepEqual([detectFormat(csv), detectFormat(ad), detectFormat(entra)], ["csv", "ad", "entra"]);

        const bad = `hostname,keyId,recoveryPassword\nAPP01,,${pw(1)}\nAPP02,,${typo(2)}\n,,${pw(3)}\nAPP03,not-a-guid,${pw(4)}\n`;
        const read = readKeyExport("k.csv", bad, "csv");
        assert.deepEqual(
            read.problems.map((p) => [p.line, p.field]),
            [
                [3, "recoverypassword"],
                [4, "hostname"],
                [5, "keyid"],
            ],
        );
        assert.ok(
            !JSON.stringify(read.problems).includes(typo(2)) && !JSON.stringify(read.problems).includes("0" + typo(2).slice(1, 6)),
            "the key is not shown",
        );
        const quote = readKeyExport("k.csv", `hostname,recoveryPassword\nAPP01,"${pw(1)}\n`, "csv");
        assert.equal(quote.problems.length, 1);
        assert.ok(!JSON.stringify(quote.problems).includes(pw(1).slice(0, 13)), "a CSV error never quotes the line");
        const header = readKeyExport("k.csv", `host,key\nAPP01,${pw(1)}\n`, "csv");
        assert.match(header.problems[0].message, /the header has no a machine column .* and no a recovery password column/);
    });

    it("each format: good, bad-checksum, duplicate and unmatched rows", () => {
        // One export per format: APP01 twice (the same key), a machine in no inventory, and a typo.
        const files: Record<"csv" | "entra" | "ad", (rows: [string, string][]) => string> = {
            csv: (rows) => `hostname,keyId,recoveryPassword\n${rows.map(([m, k]) => `${m},${GUID},${k}`).join("\n")}\n`,
            entra: (rows) =>
                `Device Name,Key ID,Recovery Key,Volume Type\n${rows.map(([m, k]) => `${m},${GUID},${k},operatingSystemVolume`).join("\n")}\n`,
            ad: (rows) =>
                `"DistinguishedName","msFVE-RecoveryPassword"\n${rows.map(([m, k]) => `"CN=2024-07-19T09:12:00-00:00{${GUID}},CN=${m},OU=Servers,DC=corp,DC=example","${k}"`).join("\n")}\n`,
        };
        for (const [format, file] of Object.entries(files) as [keyof typeof files, (typeof files)["csv"]][]) {
            const good: [string, string][] = [
                ["APP01", pw(1)],
                ["APP01", pw(1)],
                ["GHOST-7", pw(2)],
                ["WEB-AWS-1", pw(3)],
            ];
            const bad = readKeyExport(`k-${format}.csv`, file([...good, ["APP01", typo(4)]]), format);
            assert.deepEqual(
                bad.problems.map((p) => p.line),
                [6],
                format,
            );
            assert.ok(!JSON.stringify(bad.problems).includes(typo(4)), format);
            const read = readKeyExport(`k-${format}.csv`, file(good), format);
            assert.deepEqual(read.problems, [], format);
            assert.equal(detectFormat(file(good)), format);
            const m = matchKeys(read.rows, vms, new Map(identities.map((i) => [i.cloud, i])));
            assert.deepEqual(m.keys.get(vms[0].key)!.lines, [`${GUID} ${pw(1)}`], format);
            assert.deepEqual(m.duplicates, [3], format);
            assert.deepEqual(m.unmatched, [{ line: 4, machine: "GHOST-7" }], format);
            assert.deepEqual(m.keys.get(vms[2].key)!.lines, [`${GUID} ${pw(3)}`], format);
        }
    });

    it("matches rows by hostname, VM name or instance id (DNS names by their first label); reports duplicates, unmatched, ambiguous and VMs without a key", () => {
        const rows = readKeyExport(
            "k.csv",
            [
                "hostname,keyId,recoveryPassword",
                `APP01,${GUID},${pw(1)}`,
                `app01.corp.example,,${pw(1)}`,
                `app01,,${pw(7)}`,
                `i-0123456789abcdef0,,${pw(2)}`,
                `web-1,,${pw(3)}`,
                `ghost,,${pw(4)}`,
                "",
            ].join("\n"),
            "csv",
        ).rows;
        const m = matchKeys(rows, vms, new Map(identities.map((i) => [i.cloud, i])));
        const [app01, app02, awsVm, gcpVm] = vms;
        assert.deepEqual(m.keys.get(app01.key)!.lines, [`${GUID} ${pw(1)}`, pw(7)], "two keys for one VM, the duplicate once");
        assert.deepEqual(m.duplicates, [3]);
        assert.deepEqual(m.keys.get(awsVm.key)!.lines, [pw(2)]);
        assert.deepEqual(m.keys.get(gcpVm.key)!.lines, [pw(3)]);
        assert.deepEqual(m.unmatched, [{ line: 7, machine: "ghost" }]);
        assert.deepEqual(
            m.withoutKey.map((v) => v.label),
            [app02.label],
        );
        // A name two VMs answer to is not guessed.
        const twin = validateInventory(
            parseYamlInventory("inv.yaml", INVENTORY.replace("vmName: app-02", "vmName: app-02\n    hostname: web-1")),
            ctx,
        );
        const amb = matchKeys(rows, twin, new Map(identities.map((i) => [i.cloud, i])));
        assert.equal(amb.ambiguous.length, 1);
        assert.equal(amb.ambiguous[0].line, 6);
    });

    it("stores each VM's keys where its path reads them: secret stack config (Azure), a secret of the cloud's own (AWS, GCP) referenced from plain stack config; the keys travel in files and stdin, never arguments", async () => {
        const csv = `hostname,keyId,recoveryPassword\nAPP01,${GUID},${pw(1)}\nWEB-AWS-1,,${pw(2)}\nweb-1,,${pw(3)}\n`;
        const set: { key: string; value: string; secret: boolean }[] = [];
        const setConfig = (key: string, value: string, secret: boolean) => Promise.resolve(void set.push({ key, value, secret }));
        const awsWorld = { instances: {}, volumes: {}, secrets: {} };
        const gcpWorld = { instances: {}, disks: {}, snapshots: {}, secrets: {} };
        const awsPaths = path.join(__dirname, "../../sandbox/cli/aws");
        const gcpPaths = path.join(__dirname, "../../sandbox/cli/gcp");
        const common = { stack: "dev", vms, file: "k.csv", text: csv, format: "csv" as const, identities, paths, setConfig, dryRun: false };
        const cloudConfigs = new Map<string, unknown>([
            ["aws", { assumeRoleArns: {} }],
            ["azure", {}],
            ["gcp", {}],
        ]);
        const keyDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("bootloop-rescue-keys-"));
        const before = keyDirs();
        let awsCalls: string[][] = [];
        let gcpCalls: string[][] = [];
        const result = await withStandInEnv(
            { world: awsWorld, standInDir: awsPaths, stateVar: "FAKE_AWS_STATE", logVar: "FAKE_AWS_LOG" },
            () =>
                withStandInEnv(
                    { world: gcpWorld, standInDir: gcpPaths, stateVar: "FAKE_GCLOUD_STATE", logVar: "FAKE_GCLOUD_LOG" },
                    async () => {
                        const r = await importKeys({ ...common, cloudConfigs });
                        gcpCalls = fs
                            .readFileSync(process.env.FAKE_GCLOUD_LOG!, "utf8")
                            .trim()
                            .split("\n")
                            .map((l) => JSON.parse(l));
                        const gcpState = JSON.parse(fs.readFileSync(process.env.FAKE_GCLOUD_STATE!, "utf8"));
                        assert.deepEqual(
                            Object.values(gcpState.secrets).map((s: any) => s.versions),
                            [[`${pw(3)}\n`]],
                        );
                        return r;
                    },
                ).then((r) => {
                    awsCalls = fs
                        .readFileSync(process.env.FAKE_AWS_LOG!, "utf8")
                        .trim()
                        .split("\n")
                        .map((l) => JSON.parse(l));
                    const awsState = JSON.parse(fs.readFileSync(process.env.FAKE_AWS_STATE!, "utf8"));
                    assert.deepEqual(
                        Object.values(awsState.secrets).map((s: any) => s.versions),
                        [[`${pw(2)}\n`]],
                    );
                    assert.deepEqual(awsState.keyFileModes, ["600"], "the key file is readable by its owner alone");
                    return r;
                }),
        );
        assert.deepEqual(result.failed, []);
        assert.deepEqual(keyDirs(), before, "no key file is left on the importer's disk");
        const [app01, , awsVm, gcpVm] = vms;
        const refs = Object.fromEntries(result.stored.map((s) => [s.vm.key, s]));
        assert.equal(refs[app01.key].where, "stack config");
        assert.equal(refs[app01.key].reference, `bootloop-rescue:bitlocker-${app01.slug}`);
        assert.match(
            refs[awsVm.key].reference,
            new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/dev/${awsVm.slug}-[a-z0-9]{6}$`),
        );
        assert.equal(refs[gcpVm.key].reference, `projects/my-project/secrets/bootloop-rescue-dev-${gcpVm.slug}`);
        assert.deepEqual(
            set.sort((a, b) => a.key.localeCompare(b.key)),
            [
                { key: `bootloop-rescue:bitlocker-${app01.slug}`, value: `${GUID} ${pw(1)}\n`, secret: true },
                { key: `bootloop-rescue:bitlockerSecret-${awsVm.slug}`, value: refs[awsVm.key].reference, secret: false },
                { key: `bootloop-rescue:bitlockerSecret-${gcpVm.slug}`, value: refs[gcpVm.key].reference, secret: false },
            ].sort((a, b) => a.key.localeCompare(b.key)),
        );
        for (const call of [...awsCalls, ...gcpCalls])
            for (const p of [pw(1), pw(2), pw(3)]) assert.ok(!call.join(" ").includes(p), `a key in the arguments of ${call.join(" ")}`);
        assert.ok(awsCalls.some((c) => c.includes("create-secret") && c.some((a) => a.startsWith("file:///"))));
        assert.ok(gcpCalls.some((c) => c.includes("create") && c.includes("--data-file")));

        // Again: new versions of the same secrets, no new secret.
        const again = await withStandInEnv(
            {
                world: {
                    ...awsWorld,
                    secrets: { [`bootloop-rescue/dev/${awsVm.slug}`]: { arn: refs[awsVm.key].reference, versions: ["old"] } },
                },
                standInDir: awsPaths,
                stateVar: "FAKE_AWS_STATE",
                logVar: "FAKE_AWS_LOG",
            },
            async () => {
                const r = await importKeys({ ...common, text: `hostname,recoveryPassword\nWEB-AWS-1,${pw(9)}\n`, cloudConfigs });
                return {
                    r,
                    calls: fs
                        .readFileSync(process.env.FAKE_AWS_LOG!, "utf8")
                        .trim()
                        .split("\n")
                        .map((l) => JSON.parse(l) as string[]),
                };
            },
        );
        assert.equal(again.r.stored[0].reference, refs[awsVm.key].reference);
        assert.ok(again.calls.some((c) => c.includes("put-secret-value")) && !again.calls.some((c) => c.includes("create-secret")));
    });

    it("a bad row stops the import before anything is stored", async () => {
        let stored = 0;
        const err = await importKeys({
            stack: "dev",
            vms,
            file: "k.csv",
            text: `hostname,recoveryPassword\nAPP01,${pw(1)}\nAPP02,${typo(2)}\n`,
            format: "csv",
            identities,
            paths,
            cloudConfigs: new Map(),
            setConfig: () => Promise.resolve(void stored++),
            dryRun: false,
        }).then(
            () => assert.fail("expected rejection"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof InputError);
        assert.match(err.message, /k\.csv \(line 3\): recoverypassword: is not a BitLocker recovery password/);
        assert.equal(stored, 0);
    });

    it("a Pulumi CLI that fails before reading its input is a failed set with its exit code, never a crash on a closed pipe (write EPIPE)", async () => {
        const dir = tempDir({ "pulumi-fails": "#!/bin/sh\nexec 0<&-\necho 'error: no stack named dev' >&2\nexit 3\n" });
        fs.chmodSync(path.join(dir, "pulumi-fails"), 0o755);
        const saved = process.env.BOOTLOOP_PULUMI;
        process.env.BOOTLOOP_PULUMI = path.join(dir, "pulumi-fails");
        try {
            // More than a pipe holds, so the write meets the closed pipe whatever the timing.
            const err = await pulumiConfigSet("dev", dir)("bootloop-rescue:bitlocker-x", `${pw(1)}\n`.repeat(20_000), true).then(
                () => assert.fail("expected the set to fail"),
                (e: unknown) => e as Error,
            );
            assert.match(err.message, /^pulumi config set bootloop-rescue:bitlocker-x failed \(exit 3\): error: no stack named dev$/);
        } finally {
            if (saved === undefined) delete process.env.BOOTLOOP_PULUMI;
            else process.env.BOOTLOOP_PULUMI = saved;
        }
    });

    it("a stack config set that fails is that VM's outcome: the next VMs are still stored, and every VM is reported", async () => {
        const csv = `hostname,recoveryPassword\nAPP01,${pw(1)}\napp-02,${pw(2)}\n`;
        const tried: string[] = [];
        const setConfig = (key: string) => {
            tried.push(key);
            if (tried.length === 1)
                return Promise.reject(new Error(`pulumi config set ${key} failed (exit 255): error: the stack is locked`));
            return Promise.resolve();
        };
        const result = await importKeys({
            stack: "dev",
            vms,
            file: "k.csv",
            text: csv,
            format: "csv",
            identities,
            paths,
            cloudConfigs: new Map(),
            setConfig,
            dryRun: false,
        });
        const [app01, app02] = vms;
        assert.deepEqual(
            tried,
            [`bootloop-rescue:bitlocker-${app01.slug}`, `bootloop-rescue:bitlocker-${app02.slug}`],
            "the second VM is tried after the first failed",
        );
        assert.deepEqual(
            result.failed.map((f) => [f.vm.label, f.reason]),
            [[app01.label, `pulumi config set bootloop-rescue:bitlocker-${app01.slug} failed (exit 255): error: the stack is locked`]],
        );
        assert.deepEqual(
            result.stored.map((s) => s.vm.label),
            [app02.label],
        );
        const report = renderImport(result, "stack dev", false);
        assert.match(report, /stored keys of 1 VM:\n {4}azure rg-app\/app-02: 1 recovery password/);
        assert.match(
            report,
            /FAILED for 1 VM \(nothing stored for them\):\n {4}azure rg-app\/app-01: pulumi config set .* the stack is locked/,
        );
    });

    it("npm run import-keys stopped by SIGINT, SIGTERM or SIGHUP while a cloud store blocks: no key file is left, every VM's outcome is printed, and the exit code is the signal's", async function () {
        this.timeout(600_000);
        const awsOnly = INVENTORY.split("\n  - cloud: gcp")[0].replace(/ {2}- cloud: azure[^]*?(?= {2}- cloud: aws)/, "") + "\n";
        const project = tempDir({
            "Pulumi.yaml": "name: bootloop-rescue\nruntime: nodejs\n",
            "Pulumi.sig.yaml": "config:\n  bootloop-rescue:inventory: inv.yaml\n",
            "inv.yaml": awsOnly,
            "keys.csv": `hostname,recoveryPassword\nWEB-AWS-1,${pw(2)}\n`,
        });
        // An aws CLI whose Secrets Manager writes block until the test releases them (the stand-in answers after that).
        const wrapper = tempDir({
            aws: `#!/bin/bash\nif [[ " $* " == *" secretsmanager create-secret "* ]]; then\n    : >"$BLOCK_DIR/started"\n    while [[ ! -e $BLOCK_DIR/release ]]; do sleep 0.05; done\nfi\nexec "${path.join(__dirname, "../../sandbox/cli/aws/aws")}" "$@"\n`,
        });
        fs.chmodSync(path.join(wrapper, "aws"), 0o755);
        const waitFor = async (what: string, ready: () => boolean, detail = () => "") => {
            for (let i = 0; !ready(); i++) {
                if (i > 2400) assert.fail(`gave up waiting for ${what} ${detail()}`);
                await new Promise((r) => setTimeout(r, 50));
            }
        };
        const filesUnder = (dir: string): string[] =>
            fs
                .readdirSync(dir, { withFileTypes: true })
                .flatMap((e) =>
                    e.isDirectory() ? [path.join(dir, e.name) + "/", ...filesUnder(path.join(dir, e.name))] : [path.join(dir, e.name)],
                );
        const run = async (signal: "SIGINT" | "SIGTERM" | "SIGHUP") => {
            const tmp = tempDir({});
            const block = tempDir({});
            const out = path.join(block, "out.txt");
            const err = path.join(block, "err.txt");
            const child = spawn(
                process.execPath,
                [
                    "-r",
                    require.resolve("ts-node/register/transpile-only"),
                    path.join(__dirname, "../../cli/import-keys.ts"),
                    "--stack",
                    "sig",
                    "--from",
                    "keys.csv",
                ],
                {
                    cwd: project,
                    // Files, not pipes: the blocked store outlives the importer and would hold a pipe open.
                    stdio: ["ignore", fs.openSync(out, "w"), fs.openSync(err, "w")],
                    env: {
                        ...process.env,
                        PATH: `${wrapper}:${process.env.PATH}`,
                        TMPDIR: tmp,
                        DISABLE_V8_COMPILE_CACHE: "1",
                        BLOCK_DIR: block,
                        INIT_CWD: project,
                        BOOTLOOP_STACK_DIR: project,
                        TS_NODE_PROJECT: path.join(__dirname, "../../tsconfig.json"),
                    },
                },
            );
            const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
                child.on("exit", (code, sig) => resolve({ code, signal: sig })),
            );
            await waitFor("the store to start", () => fs.existsSync(path.join(block, "started")));
            // The key file exists while its call runs: that is what the signal must not leave behind.
            const during = filesUnder(tmp).filter((f) => !f.endsWith("/") && fs.readFileSync(f, "utf8").includes(pw(2)));
            assert.equal(during.length, 1, `${signal}: the key file during the call`);
            assert.match(during[0], /\/bootloop-rescue-keys-[^/]+\/[^/]+\.keys$/);
            let result: { end: { code: number | null; signal: string | null }; stdout: string; stderr: string };
            try {
                child.kill(signal);
                const end = await exited;
                const keyFilesLeft = filesUnder(tmp).filter(
                    (f) => f.includes("bootloop-rescue-keys-") || (!f.endsWith("/") && fs.readFileSync(f, "utf8").includes(pw(2))),
                );
                assert.deepEqual(keyFilesLeft, [], `${signal}: a key file is left`);
                result = { end, stdout: fs.readFileSync(out, "utf8"), stderr: fs.readFileSync(err, "utf8") };
            } finally {
                // Let the blocked store finish (it fails: its key file is gone).
                fs.writeFileSync(path.join(block, "release"), "");
            }
            // Whatever the store's script made in the temporary folder goes with it.
            await waitFor(
                "the orphaned store to end",
                () => filesUnder(tmp).length === 0,
                () => filesUnder(tmp).join(", "),
            );
            return result;
        };
        const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
        await withStandInEnv(
            {
                world: { instances: {}, volumes: {}, secrets: {} },
                standInDir: path.join(__dirname, "../../sandbox/cli/aws"),
                stateVar: "FAKE_AWS_STATE",
                logVar: "FAKE_AWS_LOG",
            },
            async () => {
                const runs = await Promise.all(
                    (Object.keys(codes) as (keyof typeof codes)[]).map(async (signal) => ({ signal, ...(await run(signal)) })),
                );
                for (const r of runs) {
                    assert.deepEqual(r.end, { code: codes[r.signal], signal: null }, `${r.signal}: ${r.stderr}`);
                    assert.match(
                        r.stdout,
                        /UNFINISHED for 1 VM \(the import was stopped while their keys were being stored; they may or may not be stored: run the import again\):\n {4}aws us-east-1\/i-0123456789abcdef0/,
                        r.signal,
                    );
                    assert.match(r.stderr, new RegExp(`stopped by ${r.signal}; its key files are removed; exit ${codes[r.signal]}`));
                    for (const text of [r.stdout, r.stderr]) assert.ok(!text.includes(pw(2)));
                }
            },
        );
    });

    it("npm run import-keys: the stack's config gets the keys through the Pulumi CLI (stdin), the plan then counts them, and no file or argument holds a key", () => {
        const dir = tempDir({
            "Pulumi.yaml": "name: bootloop-rescue\nruntime: nodejs\n",
            "Pulumi.inc.yaml": "config:\n  bootloop-rescue:inventory: inv.yaml\n",
            "inv.yaml": INVENTORY.split("\n  - cloud: aws")[0] + "\n",
            "keys.csv": `hostname,keyId,recoveryPassword\nAPP01,${GUID},${pw(1)}\nghost,,${pw(4)}\n`,
        });
        const env = {
            BOOTLOOP_STACK_DIR: dir,
            BOOTLOOP_PULUMI: path.join(__dirname, "../helpers/stand-in-pulumi.js"),
            FAKE_PULUMI_LOG: path.join(dir, "pulumi.log"),
            FAKE_PULUMI_SECRETS: path.join(dir, "secrets.json"),
        };
        const dry = runProjectScript("import-keys", ["--stack", "inc", "--from", "keys.csv", "--dry-run"], dir, env);
        assert.equal(dry.status, 0, dry.stderr);
        assert.match(
            dry.stdout,
            /would store keys of 1 VM:\n {4}azure rg-app\/app-01: 1 recovery password → stack config bootloop-rescue:bitlocker-app-01-[0-9a-f]{8}/,
        );
        assert.ok(!fs.existsSync(env.FAKE_PULUMI_LOG), "a dry run sets nothing");
        const r = runProjectScript("import-keys", ["--stack", "inc", "--from", "keys.csv"], dir, env);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /format csv, from its header/);
        assert.match(r.stdout, /no key in the export for 1 VM:\n {4}azure rg-app\/app-02/);
        assert.match(r.stdout, /rows matching no VM of the inventory: 1 \(line 3 ghost\)/);
        const calls = fs
            .readFileSync(env.FAKE_PULUMI_LOG, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.deepEqual(
            calls.map((c: string[]) => c.slice(0, 5)),
            [["config", "set", "--secret", "--stack", "inc"]],
        );
        assert.deepEqual(Object.values(JSON.parse(fs.readFileSync(env.FAKE_PULUMI_SECRETS, "utf8"))), [`${GUID} ${pw(1)}`]);
        for (const text of [
            r.stdout,
            r.stderr,
            dry.stdout,
            fs.readFileSync(path.join(dir, "Pulumi.inc.yaml"), "utf8"),
            JSON.stringify(calls),
        ])
            assert.ok(!text.includes(pw(1)));
        // The plan finds the imported key by the VM's stem.
        const plan = runProjectScript("plan", ["--stack", "inc"], dir, { BOOTLOOP_STACK_DIR: dir });
        assert.equal(plan.status, 0, plan.stderr);
        assert.match(
            plan.stdout,
            /1 VM repaired with keys; 0 with key files fetched from the cloud \(offline: placeholders\), 1 with a recovery password from stack config/,
        );

        const bad = runProjectScript("import-keys", ["--stack", "inc", "--from", "keys.csv", "--format", "ldap"], dir, env);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /--format: "ldap" must be one of entra, ad, csv/);
    });
});
