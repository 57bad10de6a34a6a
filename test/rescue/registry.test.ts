// The repair engine reads the registry of each Windows volume offline: hive health, transaction
// logs, TxR files, the Windows build and the boot-start drivers a rule's folder holds. Real hives
// (built by hivex) on real NTFS images.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    BuiltImage,
    FileSpec,
    PartitionSpec,
    buildHive,
    buildImage,
    filesOf,
    hiveValues,
    requireDiskLab,
    runEngine,
    sha256File,
    skipDiskLab,
    workDir,
} from "./disk-lab";

const CONFIG = "Windows/System32/config";
const CS = "Windows/System32/drivers/CrowdStrike";
const BAD: FileSpec = { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "faulty channel file 291" };

/** A SOFTWARE hive naming a Windows build. */
function software(build = "20348"): string {
    return buildHive("SOFTWARE", {
        "Microsoft\\Windows NT\\CurrentVersion": {
            CurrentBuildNumber: { sz: build },
            UBR: { dword: 2527 },
            ProductName: { sz: "Windows Server 2022 Datacenter" },
        },
    });
}

/** A SYSTEM hive whose current control set is `current`, with the CrowdStrike boot driver, a boot driver elsewhere and a service that is no driver. */
function system(current = 1, header: Parameters<typeof buildHive>[2] = {}): string {
    const set = `ControlSet${String(current).padStart(3, "0")}\\Services`;
    return buildHive(
        "SYSTEM",
        {
            Select: { Current: { dword: current }, Default: { dword: current } },
            [`${set}\\CSAgent`]: {
                Start: { dword: 0 },
                Type: { dword: 1 },
                ImagePath: { expand: "\\SystemRoot\\System32\\drivers\\CrowdStrike\\csagent.sys" },
            },
            [`${set}\\disk`]: { Start: { dword: 0 }, Type: { dword: 1 }, ImagePath: { expand: "System32\\drivers\\disk.sys" } },
            [`${set}\\CSFalconService`]: {
                Start: { dword: 2 },
                Type: { dword: 16 },
                ImagePath: { expand: '"C:\\Program Files\\CrowdStrike\\CSFalconService.exe"' },
            },
            // A control set that is not the current one: its drivers are not looked at.
            [`ControlSet00${current === 1 ? 2 : 1}\\Services\\Stale`]: {
                Start: { dword: 0 },
                ImagePath: { expand: "\\SystemRoot\\System32\\drivers\\CrowdStrike\\stale.sys" },
            },
        },
        header,
    );
}

/** A transaction log of the new format: a 512-byte base block, then one HvLE entry per sequence number. */
function transactionLog(sequences: number[]): string {
    const base = Buffer.alloc(512);
    base.write("regf", 0, "latin1");
    const entries = sequences.map((seq) => {
        const e = Buffer.alloc(512);
        e.write("HvLE", 0, "latin1");
        e.writeUInt32LE(512, 4);
        e.writeUInt32LE(seq, 12);
        return e;
    });
    const file = path.join(workDir, `log-${sequences.join("-")}-${Date.now()}`);
    fs.writeFileSync(file, Buffer.concat([base, ...entries]));
    return file;
}

function windowsDisk(files: FileSpec[], extra: Omit<PartitionSpec, "kind" | "files"> = {}): BuiltImage {
    return buildImage(
        "gpt",
        [
            { kind: "efi", sizeMiB: 8 },
            { kind: "windows", sizeMiB: 48, files: [BAD, ...files], ...extra },
        ],
        64,
    );
}

const registryOf = (run: ReturnType<typeof runEngine>) => run.evidence.volumes[0].registry;

(skipDiskLab() ? describe.skip : describe)("repair engine: registry health in the evidence", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    it("reads each hive's header and logs, the TxR files, the build, the current control set and the rule's boot-start drivers", () => {
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(2) },
            { path: `${CONFIG}/SOFTWARE`, source: software() },
            { path: `${CONFIG}/SYSTEM.LOG1`, content: "" },
            { path: `${CONFIG}/TxR/{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.0.regtrans-ms`, content: "txr" },
            { path: `${CONFIG}/TxR/{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.blf`, content: "blf!" },
            { path: `${CONFIG}/TxR/unrelated.txt`, content: "x" },
        ]);
        const r = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const reg = registryOf(r);
        const sys = reg.hives.SYSTEM;
        assert.deepEqual(
            { ...sys, sizeBytes: undefined },
            {
                present: true,
                path: `${CONFIG}/SYSTEM`,
                sizeBytes: undefined,
                signatureOk: true,
                version: "1.3",
                primarySequence: sys.primarySequence,
                secondarySequence: sys.primarySequence,
                checksumOk: true,
                consistent: true,
                logs: [{ name: "SYSTEM.LOG1", sizeBytes: 0, format: "empty", pendingEntries: 0 }],
                pending: false,
            },
        );
        assert.equal(reg.hives.SOFTWARE.consistent, true);
        assert.deepEqual(reg.hives.BCD, { present: false, path: "Boot/BCD" }, "where it looked");
        assert.deepEqual(reg.txr, { files: 2, bytes: 7 });
        assert.equal(reg.windowsBuild, "20348");
        assert.equal(reg.ubr, 2527);
        assert.equal(reg.productName, "Windows Server 2022 Datacenter");
        assert.equal(reg.controlSet, "ControlSet002", "Select\\Current, not 001");
        assert.equal(reg.bootStartDrivers, 2);
        assert.deepEqual(reg.ruleDrivers, [
            {
                service: "CSAgent",
                imagePath: "\\SystemRoot\\System32\\drivers\\CrowdStrike\\csagent.sys",
                rule: "crowdstrike-channel-file-291",
            },
        ]);
        assert.equal(r.evidence.outcome, "repaired", "the file rule still did its work");
        assert.ok(r.evidence.volumes[0].timingsMs.registry < 2000);
    });

    it("a hive Windows did not finish writing: sequence numbers apart, log entries pending", () => {
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(1, { primarySequence: 9, secondarySequence: 8 }) },
            { path: `${CONFIG}/SYSTEM.LOG1`, source: transactionLog([7, 8]) },
            { path: `${CONFIG}/SYSTEM.LOG2`, source: transactionLog([5]) },
            { path: `${CONFIG}/SOFTWARE`, source: software() },
        ]);
        const r = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const sys = registryOf(r).hives.SYSTEM;
        assert.deepEqual(
            [sys.primarySequence, sys.secondarySequence, sys.checksumOk, sys.consistent, sys.pending],
            [9, 8, true, false, true],
        );
        assert.deepEqual(
            sys.logs.map((l: { name: string; format: string; pendingEntries: number }) => [l.name, l.format, l.pendingEntries]),
            [
                ["SYSTEM.LOG1", "new", 1],
                ["SYSTEM.LOG2", "new", 0],
            ],
        );
        assert.equal(registryOf(r).hives.SOFTWARE.pending, false);
    });

    it("a damaged base block is reported (checksum, signature); a missing hive is absent, not an error", () => {
        const garbage = path.join(workDir, "garbage-hive");
        fs.writeFileSync(garbage, Buffer.concat([Buffer.from("regf"), Buffer.alloc(8188, 0x41)]));
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(1, { breakChecksum: true }) },
            { path: `${CONFIG}/SOFTWARE`, content: "not a hive at all" },
            { path: "Boot/BCD", source: garbage },
        ]);
        const r = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const reg = registryOf(r);
        assert.deepEqual([reg.hives.SYSTEM.checksumOk, reg.hives.SYSTEM.consistent], [false, false]);
        assert.deepEqual(
            { ...reg.hives.SOFTWARE, sizeBytes: 0 },
            { present: true, path: `${CONFIG}/SOFTWARE`, sizeBytes: 0, signatureOk: false, consistent: false, logs: [] },
            "not a hive: nothing pending can be said of it",
        );
        assert.equal(reg.hives.BCD.signatureOk, true);
        assert.equal(reg.hives.BCD.checksumOk, false);
        assert.equal(reg.windowsBuild, undefined);
        assert.match(reg.readError, /^hives not read: BCD: RuntimeError: .*; SYSTEM: RuntimeError: /, "hivex refuses a bad checksum too");
        const none = windowsDisk([]);
        const n = registryOf(runEngine(["--disk", none.image, "--dry-run"], {}, none.image));
        assert.deepEqual(n.hives, {
            SYSTEM: { present: false, path: `${CONFIG}/SYSTEM` },
            SOFTWARE: { present: false, path: `${CONFIG}/SOFTWARE` },
            BCD: { present: false, path: "Boot/BCD" },
        });
        assert.equal(n.readError, undefined);
    });

    it("hostile hives: a FIFO or a link is never opened, a hive hivex cannot read is a read error, and the repair goes on", () => {
        const img = windowsDisk([{ path: `${CONFIG}/SOFTWARE`, content: "regf" + "\u0001".repeat(5000) }], {
            specials: [{ path: `${CONFIG}/SYSTEM`, kind: "fifo" }],
            links: [{ path: "Boot", target: "/etc" }],
        });
        const r = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const reg = registryOf(r);
        assert.deepEqual(reg.hives.SYSTEM, { present: false, path: `${CONFIG}/SYSTEM` }, "a FIFO is no hive");
        assert.deepEqual(reg.hives.BCD, { present: false, path: "Boot/BCD" }, "a link is not followed");
        assert.match(reg.readError, /^hives not read: /);
        assert.equal(r.evidence.outcome, "repaired");
    });

    it("each hive is read on its own: one hivex refuses does not keep the others from being read", () => {
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(2) },
            { path: `${CONFIG}/SOFTWARE`, content: "regf" + "\u0001".repeat(5000) },
        ]);
        const reg = registryOf(runEngine(["--disk", img.image, "--dry-run"], {}, img.image));
        assert.match(reg.readError, /^hives not read: SOFTWARE: RuntimeError: /);
        assert.equal(reg.controlSet, "ControlSet002");
        assert.equal(reg.ruleDrivers.length, 1);
    });

    it("without hivex, the headers and logs are still read and the evidence says why the keys were not", () => {
        const img = windowsDisk([{ path: `${CONFIG}/SYSTEM`, source: system() }]);
        const r = runEngine(["--disk", img.image, "--dry-run"], { REPAIR_DISK_HIVEX_PYTHON: "/nonexistent/python3" }, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(registryOf(r).hives.SYSTEM.consistent, true);
        assert.equal(registryOf(r).readError, "hives not read: /nonexistent/python3 is missing");
    });
});

/** A rules file: the default file rule, and the registry rules given. */
function rulesFile(extra: object[]): string {
    const file = path.join(workDir, `rules-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
    const cs = {
        id: "crowdstrike-channel-file-291",
        path: `${CS}/C-00000291*.sys`,
        modifiedFrom: "2024-07-19T04:09:00Z",
        modifiedBefore: "2024-07-19T05:27:00Z",
    };
    fs.writeFileSync(file, JSON.stringify({ rules: [cs, ...extra] }));
    return file;
}

const TXR = { id: "registry-txr", action: "quarantine-txr" };
const DISABLE = { id: "disable-csagent", action: "disable-service", service: "CSAgent" };
const TXR_FILES: FileSpec[] = [
    { path: `${CONFIG}/TxR/{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.0.regtrans-ms`, content: "txr log 0" },
    { path: `${CONFIG}/TxR/{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.blf`, content: "blf" },
];
const windowsPart = (img: BuiltImage) => img.partitions.find((p) => p.kind === "windows")!;

(skipDiskLab() ? describe.skip : describe)("repair engine: registry rules", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    /** A disk of the Windows build given, with TxR files, repaired with the TxR rule: the files before, and the volume's evidence. */
    function repairWithTxrRule(build: string) {
        const img = windowsDisk([{ path: `${CONFIG}/SOFTWARE`, source: software(build) }, ...TXR_FILES]);
        const before = filesOf(img.image, windowsPart(img));
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([TXR])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        return { img, before, r, v: r.evidence.volumes[0] };
    }

    it("quarantine-txr on build 14393 and later: the TxR files move into the quarantine, hashed like files", () => {
        const { img, before, r, v } = repairWithTxrRule("14393");
        const txr = v.matches.filter((m: { rule: string }) => m.rule === "registry-txr");
        assert.deepEqual(
            txr.map((m: { path: string; action: string }) => [m.path.split("/").pop(), m.action]),
            [
                ["{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.0.regtrans-ms", "quarantined"],
                ["{53b39e88-18c4-11ea-a811-000d3aa4692b}.TxR.blf", "quarantined"],
            ],
        );
        const after = filesOf(img.image, windowsPart(img));
        for (const m of txr) {
            assert.equal(after[m.path], undefined, `${m.path} left its place`);
            assert.equal(after[m.quarantinedTo].sha256, before[m.path].sha256, "moved byte for byte");
            assert.equal(m.sha256, before[m.path].sha256);
        }
        assert.equal(r.evidence.rules[1].action, "quarantine-txr");
        // Again: the TxR files are in the quarantine already; nothing more moves.
        const again = runEngine(["--disk", img.image, "--rules", rulesFile([TXR])], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.deepEqual(filesOf(img.image, windowsPart(img)), after);
    });

    it("the built-in rule set crowdstrike-291-txr is the default rule plus quarantine-txr; it and --rules exclude each other", () => {
        const img = windowsDisk([{ path: `${CONFIG}/SOFTWARE`, source: software("17763") }, ...TXR_FILES]);
        const r = runEngine(["--disk", img.image, "--rule-set", "crowdstrike-291-txr"], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            r.evidence.rules.map((x: { id: string }) => x.id),
            ["crowdstrike-channel-file-291", "registry-txr"],
        );
        assert.deepEqual(
            r.evidence.volumes[0].matches.map((m: { rule: string; action: string }) => [m.rule, m.action]),
            [
                ["crowdstrike-channel-file-291", "quarantined"],
                ["registry-txr", "quarantined"],
                ["registry-txr", "quarantined"],
            ],
        );
        const plain = windowsDisk([{ path: `${CONFIG}/SOFTWARE`, source: software("17763") }, ...TXR_FILES]);
        const d = runEngine(["--disk", plain.image, "--rule-set", "crowdstrike-291"], {}, plain.image);
        assert.deepEqual(
            d.evidence.volumes[0].matches.map((m: { rule: string }) => m.rule),
            ["crowdstrike-channel-file-291"],
            "the default set leaves TxR files alone",
        );
        const both = runEngine(["--disk", plain.image, "--rule-set", "crowdstrike-291", "--rules", rulesFile([TXR])], {}, plain.image);
        assert.equal(both.code, 2);
        assert.match(both.evidence.message, /not allowed with argument/);
    });

    it("quarantine-txr before build 14393 (Windows Server 2012 R2): the TxR files stay, and the evidence says why", () => {
        const { img, before, v } = repairWithTxrRule("9600");
        assert.deepEqual(v.registryChanges, [
            {
                rule: "registry-txr",
                action: "quarantine-txr",
                status: "skipped",
                reason: "Windows build 9600 is older than 14393 (Windows Server 2016): TxR files are kept",
            },
        ]);
        const after = filesOf(img.image, windowsPart(img));
        for (const f of TXR_FILES) assert.equal(after[f.path].sha256, before[f.path].sha256);
    });

    it("disable-service: Start 4 in the current control set (002 here), the previous value in the evidence and in an undo file", () => {
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(2) },
            { path: `${CONFIG}/SOFTWARE`, source: software() },
        ]);
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([DISABLE])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const v = r.evidence.volumes[0];
        const undo = `${v.quarantineFolder}/registry-undo.reg`;
        assert.deepEqual(v.registryChanges, [
            {
                rule: "disable-csagent",
                action: "disable-service",
                hive: "SYSTEM",
                key: "ControlSet002\\Services\\CSAgent",
                value: "Start",
                from: 0,
                to: 4,
                status: "changed",
                undoFile: undo,
            },
        ]);
        const hive = path.join(workDir, `SYSTEM-after-${Date.now()}`);
        const after = filesOf(img.image, windowsPart(img), { path: `${CONFIG}/SYSTEM`, to: hive });
        assert.equal(hiveValues(hive, "ControlSet002\\Services\\CSAgent")!.Start, 4);
        assert.equal(
            hiveValues(hive, "ControlSet002\\Services\\CSAgent")!.ImagePath,
            "\\SystemRoot\\System32\\drivers\\CrowdStrike\\csagent.sys",
            "the other values stay",
        );
        assert.equal(hiveValues(hive, "ControlSet001\\Services\\Stale")!.Start, 0, "another control set is not touched");
        assert.ok(after[undo], "the undo file is in the quarantine folder");
        assert.ok(!Object.keys(after).some((f) => f.includes("bootloop-rescue-new")), "no temporary hive left");
        const undoCopy = path.join(workDir, `undo-${Date.now()}`);
        filesOf(img.image, windowsPart(img), { path: undo, to: undoCopy });
        const text = fs.readFileSync(undoCopy).toString("utf16le");
        assert.match(text, /^\ufeffWindows Registry Editor Version 5\.00\r\n/);
        assert.match(text, /\[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\CSAgent\]\r\n"Start"=dword:00000000\r\n/);
        // Again: the service is disabled already, nothing changes, the hive stays byte for byte.
        const hiveBefore = sha256File(hive);
        const again = runEngine(["--disk", img.image, "--rules", rulesFile([DISABLE])], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.deepEqual(
            again.evidence.volumes[0].registryChanges.map((c: { status: string; from: number }) => [c.status, c.from]),
            [["unchanged", 4]],
        );
        filesOf(img.image, windowsPart(img), { path: `${CONFIG}/SYSTEM`, to: hive });
        assert.equal(sha256File(hive), hiveBefore);
    });

    it("the README's worked example, as written: the vendor's driver file quarantined and its service disabled", () => {
        // The README and its pages under docs/, where the repair engine's rules are documented now.
        const docs = fs
            .readdirSync(path.join(__dirname, "../../docs"), { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".md"))
            .sort();
        const readme = ["README.md", ...docs.map((f) => path.join("docs", f))]
            .map((f) => fs.readFileSync(path.join(__dirname, "../..", f), "utf8"))
            .join("\n");
        const example = /\*\*Worked example: the next incident's driver\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1];
        const rules = path.join(workDir, "worked-example.yaml");
        fs.writeFileSync(rules, example);
        const hive = buildHive("SYSTEM", {
            Select: { Current: { dword: 1 } },
            "ControlSet001\\Services\\VndDrv": {
                Start: { dword: 0 },
                Type: { dword: 1 },
                ImagePath: { expand: "\\SystemRoot\\System32\\drivers\\Vendor\\vnddrv.sys" },
            },
        });
        const img = buildImage(
            "gpt",
            [
                { kind: "efi", sizeMiB: 8 },
                {
                    kind: "windows",
                    sizeMiB: 48,
                    files: [
                        { path: "Windows/System32/drivers/Vendor/vnddrv.sys", mtime: "2026-11-20T09:30:00Z", content: "faulty driver" },
                        { path: `${CONFIG}/SYSTEM`, source: hive },
                    ],
                },
            ],
            64,
        );
        // The README's first rules example too: YAML reads its unquoted times as times.
        const first = /A rules file \(JSON or YAML\)[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1];
        fs.writeFileSync(path.join(workDir, "first-example.yaml"), first);
        const plain = runEngine(["--disk", img.image, "--rules", path.join(workDir, "first-example.yaml"), "--dry-run"], {}, img.image);
        assert.equal(plain.code, 0, JSON.stringify(plain.evidence.message));
        const dry = runEngine(["--disk", img.image, "--rules", rules, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, JSON.stringify(dry.evidence.message));
        assert.deepEqual(
            dry.evidence.volumes[0].registryChanges.map((c: { status: string; from: number; to: number }) => [c.status, c.from, c.to]),
            [["would-change", 0, 4]],
        );
        const r = runEngine(["--disk", img.image, "--rules", rules], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const v = r.evidence.volumes[0];
        assert.deepEqual(v.registry.ruleDrivers, [
            { service: "VndDrv", imagePath: "\\SystemRoot\\System32\\drivers\\Vendor\\vnddrv.sys", rule: "vendor-2026-11-driver" },
        ]);
        assert.deepEqual(
            v.matches.map((m: { path: string; action: string }) => [m.path, m.action]),
            [["Windows/System32/drivers/Vendor/vnddrv.sys", "quarantined"]],
        );
        assert.equal(v.registryChanges[0].status, "changed");
        const after = path.join(workDir, `SYSTEM-vendor-${Date.now()}`);
        filesOf(img.image, windowsPart(img), { path: `${CONFIG}/SYSTEM`, to: after });
        assert.equal(hiveValues(after, "ControlSet001\\Services\\VndDrv")!.Start, 4);
    });

    it("more TxR files than Windows ever leaves: counted up to the limit, and quarantine-txr refuses the disk (exit 5, nothing moved)", () => {
        const many: FileSpec[] = Array.from({ length: 1001 }, (_, i) => ({ path: `${CONFIG}/TxR/{x}.TxR.${i}.regtrans-ms`, content: "t" }));
        const img = windowsDisk([{ path: `${CONFIG}/SOFTWARE`, source: software("17763") }, ...many]);
        const health = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.deepEqual(registryOf(health).txr, { files: 1001, bytes: 0, overLimit: true });
        const before = filesOf(img.image, windowsPart(img));
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([TXR])], {}, img.image);
        assert.equal(r.code, 5);
        assert.match(r.evidence.message, /holds more than 1000 TxR files/);
        assert.deepEqual(filesOf(img.image, windowsPart(img)), before);
    });

    it("a missing SYSTEM hive: disable-service refuses with exit 5 and nothing changes", () => {
        const img = windowsDisk([]);
        const before = filesOf(img.image, windowsPart(img));
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([DISABLE])], {}, img.image);
        assert.equal(r.code, 5);
        assert.match(
            r.evidence.volumes[0].message,
            /rule disable-csagent: the volume has no SYSTEM hive \(Windows\/System32\/config\/SYSTEM\) to disable CSAgent in; nothing was changed/,
        );
        assert.deepEqual(filesOf(img.image, windowsPart(img)), before);
    });

    it("a service the hive does not have is reported absent; nothing else changes for it", () => {
        const img = windowsDisk([{ path: `${CONFIG}/SYSTEM`, source: system(1) }]);
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([{ ...DISABLE, service: "NoSuchDriver" }])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            r.evidence.volumes[0].registryChanges.map((c: { status: string; key: string }) => [c.status, c.key]),
            [["absent", "ControlSet001\\Services\\NoSuchDriver"]],
        );
    });

    it("an inconsistent SYSTEM header is refused with exit 5 before anything changes: not even the files move", () => {
        const img = windowsDisk([{ path: `${CONFIG}/SYSTEM`, source: system(1, { primarySequence: 9, secondarySequence: 8 }) }]);
        const before = filesOf(img.image, windowsPart(img));
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([DISABLE])], {}, img.image);
        assert.equal(r.code, 5, r.stderr);
        assert.equal(r.evidence.outcome, "unsafe");
        assert.match(
            r.evidence.volumes[0].message,
            /the SYSTEM hive's header is not consistent \(sequence numbers 9\/8, checksum good\): Windows did not finish writing it/,
        );
        assert.deepEqual(filesOf(img.image, windowsPart(img)), before);
    });

    it("--dry-run shows every registry change it would make and changes no byte of the disk", () => {
        const img = windowsDisk([
            { path: `${CONFIG}/SYSTEM`, source: system(1) },
            { path: `${CONFIG}/SOFTWARE`, source: software() },
            ...TXR_FILES,
        ]);
        const sum = sha256File(img.image);
        const r = runEngine(["--disk", img.image, "--dry-run", "--rules", rulesFile([TXR, DISABLE])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const v = r.evidence.volumes[0];
        assert.equal(r.evidence.outcome, "would-repair");
        assert.deepEqual(v.registryChanges, [
            {
                rule: "disable-csagent",
                action: "disable-service",
                hive: "SYSTEM",
                key: "ControlSet001\\Services\\CSAgent",
                value: "Start",
                from: 0,
                to: 4,
                status: "would-change",
            },
        ]);
        assert.deepEqual(
            v.matches.map((m: { rule: string; action: string }) => [m.rule, m.action]),
            [
                ["crowdstrike-channel-file-291", "would-quarantine"],
                ["registry-txr", "would-quarantine"],
                ["registry-txr", "would-quarantine"],
            ],
        );
        assert.equal(sha256File(img.image), sum, "not one byte changed");
    });

    it("bad registry rules are refused before anything is read: unknown action, missing or odd service name, foreign fields", () => {
        const img = windowsDisk([]);
        for (const [rule, message] of [
            [{ id: "x", action: "delete-key" }, /rules\[1\]\.action: expected one of quarantine, quarantine-txr, disable-service/],
            [{ id: "x", action: "disable-service" }, /rules\[1\]\.service: expected a service's key name/],
            [{ id: "x", action: "disable-service", service: "..\\Select" }, /rules\[1\]\.service/],
            [{ id: "x", action: "quarantine-txr", path: "Windows/x" }, /rules\[1\]: unknown field\(s\) path for action quarantine-txr/],
        ] as const) {
            const r = runEngine(["--disk", img.image, "--rules", rulesFile([rule])], {}, img.image);
            assert.equal(r.code, 2);
            assert.match(r.evidence.message, message);
        }
    });
});

const ENTRY = "{a1b2c3d4-0000-4000-8000-00000000f00d}";

/** A BCD store whose default entry is ENTRY ("Windows Server"), optionally already in safe mode (0 minimal, 1 network). */
function bcd(safeBoot?: number): string {
    const elements = `Objects\\${ENTRY}\\Elements`;
    return buildHive("BCD", {
        "Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\23000003": { Element: { sz: ENTRY } },
        [`${elements}\\12000004`]: { Element: { sz: "Windows Server" } },
        ...(safeBoot === undefined
            ? {}
            : { [`${elements}\\25000080`]: { Element: { binary: Buffer.alloc(8, 0).fill(safeBoot, 0, 1).toString("hex") } } }),
    });
}

/** A UEFI disk: the BCD store on the EFI system partition (FAT), Windows with a SYSTEM hive beside it. */
function uefiDisk(store: string): BuiltImage {
    return buildImage(
        "gpt",
        [
            { kind: "efi", sizeMiB: 8, files: [{ path: "EFI/Microsoft/Boot/BCD", source: store }] },
            { kind: "windows", sizeMiB: 48, files: [BAD, { path: `${CONFIG}/SYSTEM`, source: system(1) }] },
        ],
        64,
    );
}

/** The BCD store on the image's EFI system partition, copied out with mtools. */
function espBcd(img: BuiltImage): string {
    const esp = img.partitions.find((p) => p.kind === "efi")!;
    const out = path.join(workDir, `BCD-out-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    execFileSync("mcopy", ["-n", "-i", `${img.image}@@${esp.startBytes}`, "::/EFI/Microsoft/Boot/BCD", out], {
        env: { ...process.env, MTOOLS_SKIP_CHECK: "1" },
    });
    return out;
}

const SAFE_BOOT = { id: "safe-mode", action: "safe-boot", mode: "minimal" };
const SAFEBOOT_KEY = `Objects\\${ENTRY}\\Elements\\25000080`;

(skipDiskLab() ? describe.skip : describe)("repair engine: the BCD store and safe-boot", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    it("reads the BCD store from the EFI system partition (FAT, with mtools): its health and the default boot entry", () => {
        const img = uefiDisk(bcd());
        const r = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const reg = registryOf(r);
        assert.deepEqual([reg.hives.BCD.path, reg.hives.BCD.partition, reg.hives.BCD.consistent], ["EFI/Microsoft/Boot/BCD", 1, true]);
        assert.deepEqual(reg.bootEntry, { id: ENTRY, description: "Windows Server", safeBoot: null });
        assert.equal(registryOf(runEngine(["--disk", uefiDisk(bcd(1)).image, "--dry-run"])).bootEntry.safeBoot, "network");
    });

    it("safe-boot minimal: the default entry's safeboot element set on the EFI system partition, with its undo; again: unchanged", () => {
        const img = uefiDisk(bcd());
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([SAFE_BOOT])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        const v = r.evidence.volumes[0];
        const undo = `${v.quarantineFolder}/registry-undo.reg`;
        assert.deepEqual(v.registryChanges, [
            {
                rule: "safe-mode",
                action: "safe-boot",
                hive: "BCD",
                partition: 1,
                key: SAFEBOOT_KEY,
                value: "Element",
                from: null,
                to: 0,
                status: "changed",
                undoFile: undo,
            },
        ]);
        assert.deepEqual(hiveValues(espBcd(img), SAFEBOOT_KEY), { Element: "0000000000000000" });
        assert.deepEqual(
            hiveValues(espBcd(img), `Objects\\${ENTRY}\\Elements\\12000004`),
            { Element: "Windows Server" },
            "the rest of the store stays",
        );
        const undoCopy = path.join(workDir, `undo-bcd-${Date.now()}`);
        filesOf(img.image, windowsPart(img), { path: undo, to: undoCopy });
        assert.match(
            fs.readFileSync(undoCopy).toString("utf16le"),
            /\r\n\[-HKEY_LOCAL_MACHINE\\BCD00000000\\Objects\\\{a1b2c3d4-0000-4000-8000-00000000f00d\}\\Elements\\25000080\]\r\n/,
        );
        const again = runEngine(["--disk", img.image, "--rules", rulesFile([SAFE_BOOT])], {}, img.image);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.deepEqual(
            again.evidence.volumes[0].registryChanges.map((c: { status: string; from: number }) => [c.status, c.from]),
            [["unchanged", 0]],
        );
    });

    it("safe-boot network over minimal, in a dry run: would-change with the old value, and no byte of the disk changes", () => {
        const img = uefiDisk(bcd(0));
        const sum = sha256File(img.image);
        const r = runEngine(["--disk", img.image, "--dry-run", "--rules", rulesFile([{ ...SAFE_BOOT, mode: "network" }])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            r.evidence.volumes[0].registryChanges.map((c: { status: string; from: number; to: number }) => [c.status, c.from, c.to]),
            [["would-change", 0, 1]],
        );
        assert.equal(sha256File(img.image), sum);
    });

    it("a BIOS disk keeps the store at Boot/BCD on the Windows volume: safe-boot network is set there", () => {
        const img = windowsDisk([{ path: "Boot/BCD", source: bcd() }]);
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([{ ...SAFE_BOOT, mode: "network" }])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.evidence.volumes[0].registryChanges[0].partition, undefined);
        const store = path.join(workDir, `BCD-bios-${Date.now()}`);
        filesOf(img.image, windowsPart(img), { path: "Boot/BCD", to: store });
        assert.deepEqual(hiveValues(store, SAFEBOOT_KEY), { Element: "0100000000000000" });
    });

    it("an older BIOS disk keeps the store on its System Reserved partition: read there, and safe-boot set there", () => {
        const img = buildImage(
            "mbr",
            [
                { kind: "ntfs", sizeMiB: 16, label: "System Reserved", files: [{ path: "Boot/BCD", source: bcd() }] },
                { kind: "windows", sizeMiB: 40, files: [BAD, { path: `${CONFIG}/SYSTEM`, source: system(1) }] },
            ],
            64,
        );
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([SAFE_BOOT])], {}, img.image);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.evidence.partitions[0].skipped, /it holds the BCD store \(System Reserved\)/);
        const v = r.evidence.volumes[0];
        assert.deepEqual([v.registry.hives.BCD.path, v.registry.hives.BCD.partition], ["Boot/BCD", 1]);
        assert.deepEqual(
            v.registryChanges.map((c: { status: string; partition: number; to: number }) => [c.status, c.partition, c.to]),
            [["changed", 1, 0]],
        );
        const reserved = img.partitions.find((p) => p.kind === "ntfs")!;
        const store = path.join(workDir, `BCD-reserved-${Date.now()}`);
        filesOf(img.image, reserved, { path: "Boot/BCD", to: store });
        assert.deepEqual(hiveValues(store, SAFEBOOT_KEY), { Element: "0000000000000000" });
    });

    it("no BCD store anywhere: safe-boot refuses with exit 5 and nothing changes; a bad mode is refused before anything is read", () => {
        const img = windowsDisk([]);
        const before = filesOf(img.image, windowsPart(img));
        const r = runEngine(["--disk", img.image, "--rules", rulesFile([SAFE_BOOT])], {}, img.image);
        assert.equal(r.code, 5);
        assert.match(r.evidence.volumes[0].message, /rule safe-mode: no BCD store with a default boot entry was found/);
        assert.deepEqual(filesOf(img.image, windowsPart(img)), before);
        const bad = runEngine(["--disk", img.image, "--rules", rulesFile([{ ...SAFE_BOOT, mode: "dsrepair" }])], {}, img.image);
        assert.equal(bad.code, 2);
        assert.match(bad.evidence.message, /rules\[1\]\.mode: expected minimal or network/);
    });
});
