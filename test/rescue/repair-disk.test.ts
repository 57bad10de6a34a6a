import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    BuiltImage,
    ENGINE,
    FileSpec,
    STAND_INS,
    assertReleased,
    buildImage,
    filesOf,
    requireDiskLab,
    runEngine,
    sha256File,
    sha256Text,
    skipDiskLab,
    workDir,
} from "./disk-lab";

const CS = "Windows/System32/drivers/CrowdStrike";
const BAD: FileSpec = { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "faulty channel file 291" };
const GOOD: FileSpec = {
    path: `${CS}/C-00000291-00000000-00000033.sys`,
    mtime: "2024-07-19T05:27:00Z",
    content: "reverted channel file 291",
};
// Each block a multiple of 11 below 720896, as BitLocker recovery passwords are.
const KEY = "000000-111111-222222-333333-444444-555555-666666-000011";

/** GPT as Windows installs it: EFI, MSR, Windows, Recovery. */
function gptDisk(files: FileSpec[], extra: { hibernated?: boolean; dirty?: boolean; dirs?: string[] } = {}): BuiltImage {
    return buildImage("gpt", [
        { kind: "efi", sizeMiB: 8 },
        { kind: "msr", sizeMiB: 8 },
        { kind: "windows", sizeMiB: 32, files, ...extra },
        { kind: "recovery", sizeMiB: 16 },
    ]);
}

const windowsPart = (img: BuiltImage) => img.partitions.find((p) => p.kind === "windows")!;
const volume = (run: { evidence: Record<string, any> }, i = 0) => run.evidence.volumes[i];

(skipDiskLab() ? describe.skip : describe)("repair engine on real NTFS disk images", function () {
    this.timeout(120_000);
    before(requireDiskLab);

    it("GPT (EFI, MSR, Windows, Recovery): quarantines the bad file, byte-identical, and skips the other partitions", () => {
        const img = gptDisk([BAD]);
        const before = filesOf(img.image, windowsPart(img));
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.outcome, "repaired");
        assert.equal(run.evidence.disk.partitionTable, "gpt");
        assert.deepEqual(
            run.evidence.partitions.map((p: any) => [p.number, p.type, p.windows, p.skipped ?? ""]),
            [
                [1, "efi", false, "EFI system partition"],
                [2, "msr", false, "Microsoft reserved partition"],
                [3, "basic-data", true, ""],
                [4, "recovery", false, "Windows recovery partition"],
            ],
        );
        const [m] = volume(run).matches;
        assert.equal(m.action, "quarantined");
        assert.equal(m.modifiedAt, "2024-07-19T04:09:30Z");
        assert.equal(m.sha256, sha256Text(BAD.content!));
        assert.match(
            m.quarantinedTo,
            /^bootloop-rescue\/quarantine\/\d{8}T\d{6}Z\/Windows\/System32\/drivers\/CrowdStrike\/C-00000291-00000000-00000032\.sys$/,
        );
        const after = filesOf(img.image, windowsPart(img));
        assert.equal(after[BAD.path], undefined, "the bad file is gone from the driver folder");
        assert.deepEqual(after[m.quarantinedTo], before[BAD.path], "quarantined file is byte-identical, same size and mtime");
        const manifest = Object.keys(after).find((p) => p.endsWith("manifest.json"));
        assert.ok(manifest && manifest.startsWith(volume(run).quarantineFolder), "a manifest sits beside the quarantined files");
        // Nothing outside the rule was touched.
        for (const [p, f] of Object.entries(before)) if (p !== BAD.path) assert.deepEqual(after[p], f, p);
    });

    it("MBR (System Reserved + Windows): finds Windows on the second partition", () => {
        const img = buildImage("mbr", [
            { kind: "ntfs", sizeMiB: 16, label: "System Reserved", dirs: ["Boot"] },
            { kind: "windows", sizeMiB: 32, files: [BAD] },
        ]);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.disk.partitionTable, "mbr");
        assert.equal(run.evidence.partitions[0].skipped, "NTFS volume without Windows/System32");
        assert.equal(volume(run).partition, 2);
        assert.equal(volume(run).matches[0].action, "quarantined");
    });

    it("a disk that is one NTFS volume (no partition table) is repaired too", () => {
        const img = buildImage("none", [{ kind: "windows", files: [BAD] }], 32);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.disk.partitionTable, "none");
        assert.equal(volume(run).partition, 0);
        assert.equal(volume(run).outcome, "repaired");
    });

    it("keeps the good (05:27 UTC) file, quarantines only the bad one, and honours the window's edges", () => {
        const edgeBad: FileSpec = { path: `${CS}/C-00000291-00000000-00000031.sys`, mtime: "2024-07-19T04:09:00Z", content: "edge bad" };
        const lateBad: FileSpec = { path: `${CS}/C-00000291-00000000-00000034.sys`, mtime: "2024-07-19T05:26:59Z", content: "late bad" };
        const early: FileSpec = { path: `${CS}/C-00000291-00000000-00000030.sys`, mtime: "2024-07-19T04:08:59Z", content: "earlier good" };
        const img = gptDisk([BAD, GOOD, edgeBad, lateBad, early]);
        const run = runEngine(["--disk", img.image], {}, img.image);
        const actions = Object.fromEntries(volume(run).matches.map((m: any) => [path.basename(m.path), m.action]));
        assert.deepEqual(actions, {
            "C-00000291-00000000-00000030.sys": "kept",
            "C-00000291-00000000-00000031.sys": "quarantined",
            "C-00000291-00000000-00000032.sys": "quarantined",
            "C-00000291-00000000-00000033.sys": "kept",
            "C-00000291-00000000-00000034.sys": "quarantined",
        });
        const after = filesOf(img.image, windowsPart(img));
        assert.ok(after[GOOD.path] && after[early.path], "good files stay where they are");
    });

    it("leaves a disk with only the good file untouched, byte for byte", () => {
        const img = gptDisk([GOOD]);
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.outcome, "nothing-to-do");
        assert.deepEqual(
            volume(run).matches.map((m: any) => m.action),
            ["kept"],
        );
        assert.equal(volume(run).mount.mode, "read-only", "nothing to move: never mounted read-write");
        assert.equal(sha256File(img.image), before);
    });

    it("matches names and folders in any letter case", () => {
        const odd: FileSpec = {
            path: "windows/SYSTEM32/Drivers/crowdstrike/c-00000291-00000000-00000032.SYS",
            mtime: "2024-07-19T04:30:00Z",
            content: "bad",
        };
        const img = buildImage("gpt", [{ kind: "windows", sizeMiB: 32, files: [odd], dirs: [] }]);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(volume(run).matches[0].action, "quarantined");
        assert.equal(volume(run).matches[0].path, odd.path, "the evidence keeps the name as stored");
    });

    it("never touches decoys: other channel files, the same name elsewhere, other extensions", () => {
        const decoys: FileSpec[] = [
            { path: `${CS}/C-00000290-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "channel 290" },
            {
                path: "Windows/System32/drivers/Other/C-00000291-00000000-00000032.sys",
                mtime: "2024-07-19T04:09:30Z",
                content: "other folder",
            },
            { path: `${CS}/C-00000291-00000000-00000032.sys.bak`, mtime: "2024-07-19T04:09:30Z", content: "backup copy" },
            { path: `${CS}/Sub/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "subfolder" },
        ];
        const img = gptDisk(decoys);
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.outcome, "nothing-to-do");
        assert.deepEqual(volume(run).matches, []);
        assert.equal(sha256File(img.image), before);
    });

    it("is idempotent: a second run on the repaired disk changes nothing and reports the earlier quarantine", () => {
        const img = gptDisk([BAD, GOOD]);
        const first = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(first.evidence.outcome, "repaired");
        const before = sha256File(img.image);
        const second = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(second.code, 0);
        assert.equal(second.evidence.outcome, "nothing-to-do");
        assert.deepEqual(volume(second).earlierQuarantines, [volume(first).quarantineFolder]);
        assert.equal(sha256File(img.image), before, "not one byte changed");
    });

    it("a Windows volume without a CrowdStrike folder: nothing to do", () => {
        const img = gptDisk([]);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.outcome, "nothing-to-do");
    });

    it("exit 3 when no NTFS volume holds Windows, and for an ext4 disk", () => {
        const data = buildImage("gpt", [{ kind: "ntfs", sizeMiB: 32, dirs: ["Data"] }]);
        const r1 = runEngine(["--disk", data.image], {}, data.image);
        assert.equal(r1.code, 3);
        assert.equal(r1.evidence.outcome, "no-windows");
        const linux = buildImage("gpt", [{ kind: "ext4", sizeMiB: 32 }]);
        const r2 = runEngine(["--disk", linux.image], {}, linux.image);
        assert.equal(r2.code, 3);
        assert.equal(r2.evidence.partitions[0].filesystem, "ext");
        const blank = buildImage("gpt", [{ kind: "empty", sizeMiB: 8 }]);
        const r3 = runEngine(["--disk", blank.image], {}, blank.image);
        assert.equal(r3.code, 3);
        assert.equal(r3.evidence.partitions[0].skipped, "empty: no filesystem");
    });

    it("hibernated (fast startup) volume: discards the hibernation data on the copy to mount read-write safely, and says so", () => {
        const img = gptDisk([BAD], { hibernated: true });
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(volume(run).hibernated, true);
        assert.ok(volume(run).mount.options.includes("remove_hiberfile"));
        assert.match(volume(run).mount.actions.join("\n"), /hibernation data discarded/);
        const after = filesOf(img.image, windowsPart(img));
        assert.ok(!Object.keys(after).some((p) => p.toLowerCase() === "hiberfil.sys"));
        assert.equal(after[BAD.path], undefined);
    });

    it("crashed (dirty) volume: repaired, and the dirty flag is left set so Windows checks the volume", () => {
        const img = gptDisk([BAD], { dirty: true });
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(volume(run).dirty, true);
        assert.match(volume(run).mount.actions.join("\n"), /flagged dirty.*left set/);
        const again = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(volume(again).dirty, true, "still dirty after the repair");
    });

    it("unclean NTFS journal: ntfs-3g's journal reset is used and recorded (stand-in ntfs-3g simulating the unclean $LogFile)", () => {
        const img = gptDisk([BAD]);
        const run = runEngine(["--disk", img.image], { PATH: `${STAND_INS}/unclean-journal:${process.env.PATH}` }, img.image);
        assert.equal(run.code, 0);
        assert.ok(volume(run).mount.options.includes("recover"));
        assert.match(volume(run).mount.actions.join("\n"), /journal \(\$LogFile\) was not clean: reset/);
    });

    it("exit 5 and nothing changed when the volume only mounts read-only (stand-in ntfs-3g in an unsafe state)", () => {
        const img = gptDisk([BAD]);
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image], { PATH: `${STAND_INS}/always-read-only:${process.env.PATH}` }, img.image);
        assert.equal(run.code, 5);
        assert.equal(run.evidence.outcome, "unsafe");
        assert.match(volume(run).message, /cannot be mounted read-write safely: .*unsafe state/);
        assert.equal(sha256File(img.image), before);
    });

    it("exit 5 on a read-only device, nothing changed", () => {
        const img = gptDisk([BAD]);
        const before = sha256File(img.image);
        const loop = execFileSync("losetup", ["--find", "--show", "--read-only", img.image], { encoding: "utf8" }).trim();
        try {
            const run = runEngine(["--disk", loop]);
            assert.equal(run.code, 5);
            assert.match(run.evidence.message, /read-only/);
            assert.equal(run.evidence.disk.kind, "block-device");
        } finally {
            execFileSync("losetup", ["-d", loop]);
        }
        assert.equal(sha256File(img.image), before);
    });

    it("repairs through a block device, and refuses a device that is mounted here", () => {
        const img = gptDisk([BAD]);
        const loop = execFileSync("losetup", ["--find", "--show", img.image], { encoding: "utf8" }).trim();
        try {
            const run = runEngine(["--disk", loop]);
            assert.equal(run.code, 0);
            assert.equal(run.evidence.outcome, "repaired");
        } finally {
            execFileSync("losetup", ["-d", loop]);
        }
        const rootDev = execFileSync("findmnt", ["-n", "-o", "SOURCE", "/"], { encoding: "utf8" }).trim();
        if (fs.existsSync(rootDev) && fs.statSync(rootDev).isBlockDevice()) {
            const run = runEngine(["--disk", rootDev]);
            assert.equal(run.code, 5);
            assert.match(run.evidence.message, /mounted on this VM; refusing it/);
        }
    });

    it("--dry-run reports what it would do and changes no byte", () => {
        const img = gptDisk([BAD, GOOD], { hibernated: true });
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.outcome, "would-repair");
        assert.deepEqual(
            volume(run).matches.map((m: any) => m.action),
            ["would-quarantine", "kept"],
        );
        assert.match(volume(run).mount.actions.join("\n"), /would discard the hibernation data/);
        assert.equal(sha256File(img.image), before);
    });

    it("gives the same results under different time zones", () => {
        const files: FileSpec[] = [
            BAD,
            GOOD,
            { path: `${CS}/C-00000291-00000000-00000030.sys`, mtime: "2024-07-19T04:08:59Z", content: "early" },
        ];
        const strip = (ev: Record<string, any>) => ev.volumes.map((v: any) => v.matches.map((m: any) => [m.path, m.modifiedAt, m.action]));
        const results = ["America/Los_Angeles", "Asia/Kathmandu", "UTC"].map((TZ) => {
            const img = gptDisk(files);
            return strip(runEngine(["--disk", img.image], { TZ }, img.image).evidence);
        });
        assert.deepEqual(results[0], results[1]);
        assert.deepEqual(results[0], results[2]);
        assert.deepEqual(
            results[0][0].map((m: any[]) => m[2]),
            ["kept", "quarantined", "kept"],
        );
    });

    it("repairs and reports each of several Windows installations", () => {
        const img = buildImage("gpt", [
            { kind: "windows", sizeMiB: 32, files: [BAD] },
            { kind: "windows", sizeMiB: 32, files: [BAD, GOOD] },
        ]);
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.deepEqual(
            run.evidence.volumes.map((v: any) => [v.partition, v.outcome]),
            [
                [1, "repaired"],
                [2, "repaired"],
            ],
        );
    });

    it("applies a rules file for another incident (JSON and YAML), by path glob and SHA-256", () => {
        const target: FileSpec = { path: "Windows/System32/drivers/Vendor/bad.sys", content: "known bad" };
        const sameNameOtherContent: FileSpec = { path: "Windows/System32/drivers/Vendor/bad-too.sys", content: "different" };
        const rules = { rules: [{ id: "vendor-2025", path: "Windows/System32/drivers/Vendor/*.sys", sha256: [sha256Text("known bad")] }] };
        for (const [name, text] of [
            ["rules.json", JSON.stringify(rules)],
            [
                "rules.yaml",
                `rules:\n  - id: vendor-2025\n    path: Windows/System32/drivers/Vendor/*.sys\n    sha256: ["${sha256Text("known bad")}"]\n`,
            ],
        ]) {
            const file = path.join(workDir, name);
            fs.writeFileSync(file, text);
            const img = gptDisk([target, sameNameOtherContent]);
            const run = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
            assert.equal(run.code, 0, name);
            assert.deepEqual(
                volume(run).matches.map((m: any) => [path.basename(m.path), m.action]),
                [
                    ["bad-too.sys", "kept"],
                    ["bad.sys", "quarantined"],
                ],
                name,
            );
            assert.deepEqual(
                run.evidence.rules.map((r: any) => r.id),
                ["vendor-2025"],
            );
        }
    });

    describe("BitLocker", () => {
        const env = (plain: string, log: string, key = KEY) => ({
            PATH: `${STAND_INS}:${process.env.PATH}`,
            FAKE_DISLOCKER_KEY: key,
            FAKE_DISLOCKER_PLAIN: plain,
            FAKE_DISLOCKER_LOG: log,
        });
        const keyFile = () => {
            const file = path.join(workDir, `key-${Date.now()}`);
            fs.writeFileSync(file, `${KEY}\n`, { mode: 0o600 });
            return file;
        };

        it("detects a BitLocker volume by its signature; no key → exit 4", () => {
            const img = buildImage("gpt", [
                { kind: "efi", sizeMiB: 8 },
                { kind: "bitlocker", sizeMiB: 32, files: [BAD] },
            ]);
            const run = runEngine(["--disk", img.image], {}, img.image);
            assert.equal(run.code, 4);
            assert.equal(run.evidence.outcome, "locked");
            assert.equal(run.evidence.partitions[1].filesystem, "bitlocker");
            assert.equal(run.evidence.partitions[1].bitlocker, "encrypted");
        });

        it("unlocks with the recovery password typed into dislocker's tty, never in argv, and repairs (stand-in dislocker)", () => {
            const img = buildImage("gpt", [
                { kind: "efi", sizeMiB: 8 },
                { kind: "bitlocker", sizeMiB: 32, files: [BAD] },
            ]);
            const log = path.join(workDir, "dislocker-argv.log");
            fs.writeFileSync(log, "");
            const run = runEngine(["--disk", img.image, "--bitlocker-key-file", keyFile()], env(img.partitions[1].plain!, log), img.image);
            assert.equal(run.code, 0, run.stderr);
            assert.equal(run.evidence.partitions[1].bitlocker, "unlocked");
            assert.equal(volume(run).matches[0].action, "quarantined");
            const argv = fs.readFileSync(log, "utf8");
            assert.match(argv, /^\["-V", "\/dev\/loop\d+", "-p", "--", "[^"]+"\]$/m);
            const digits = KEY.split("-");
            for (const text of [argv, run.stdout, run.stderr])
                for (const block of digits.slice(1)) assert.ok(!text.includes(block), "no part of the key in argv, evidence or logs");
            const plainFiles = filesOf(img.partitions[1].plain!, { startBytes: 0, sizeBytes: fs.statSync(img.partitions[1].plain!).size });
            assert.equal(plainFiles[BAD.path], undefined, "repaired through the unlocked volume");
        });

        it("a wrong recovery password → exit 4, and the key is not echoed", () => {
            const img = buildImage("gpt", [{ kind: "bitlocker", sizeMiB: 32, files: [BAD] }]);
            const log = path.join(workDir, "dislocker-argv-wrong.log");
            const run = runEngine(
                ["--disk", img.image, "--bitlocker-key-file", keyFile()],
                env(img.partitions[0].plain!, log, "111111-000000-000000-000000-000000-000000-000000-000000"),
                img.image,
            );
            assert.equal(run.code, 4);
            assert.match(run.evidence.message, /recovery password did not unlock/);
            assert.ok(!run.stdout.includes("333333") && !run.stderr.includes("333333"));
        });

        it("a malformed key file → exit 2 without showing its content", () => {
            const img = gptDisk([BAD]);
            const file = path.join(workDir, "bad-key");
            fs.writeFileSync(file, "123456-not-a-key-999999\n");
            const run = runEngine(["--disk", img.image, "--bitlocker-key-file", file], {}, img.image);
            assert.equal(run.code, 2);
            assert.ok(!run.stdout.includes("999999"));
        });
    });

    it("releases every mount and loop device when stopped mid-run (SIGTERM)", async () => {
        const img = buildImage("gpt", [{ kind: "bitlocker", sizeMiB: 32, files: [BAD] }]);
        const key = path.join(workDir, "key-term");
        fs.writeFileSync(key, KEY);
        // The stand-in dislocker waits for a password that never matches the prompt it expects.
        const child = spawn(ENGINE, ["--disk", img.image, "--bitlocker-key-file", key], {
            env: {
                ...process.env,
                PATH: `${STAND_INS}/hanging:${STAND_INS}:${process.env.PATH}`,
                FAKE_DISLOCKER_KEY: KEY,
                FAKE_DISLOCKER_PLAIN: "/nonexistent",
                FAKE_DISLOCKER_LOG: path.join(workDir, "hang.log"),
            },
        });
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        const closed = new Promise<number | null>((r) => child.on("close", r));
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(child.exitCode, null, "still unlocking when stopped");
        child.kill("SIGTERM");
        const code = await closed;
        assert.equal(code, 6);
        const evidence = JSON.parse(stdout);
        assert.match(evidence.message, /stopped by SIGTERM/);
        assertReleased(img.image);
    });

    it("bad arguments → exit 2 with one evidence document", () => {
        const img = gptDisk([]);
        assert.equal(runEngine([]).code, 2);
        assert.equal(runEngine(["--disk", "/nonexistent/disk.img"]).code, 2);
        const rules = path.join(workDir, "bad-rules.json");
        fs.writeFileSync(rules, JSON.stringify({ rules: [{ id: "x", path: "../etc/*.conf", modifiedFrom: "2024-01-01T00:00:00Z" }] }));
        const r = runEngine(["--disk", img.image, "--rules", rules], {}, img.image);
        assert.equal(r.code, 2);
        assert.match(r.evidence.message, /rules\[0\]\.path/);
        fs.writeFileSync(rules, JSON.stringify({ rules: [{ id: "y", path: "Windows/*.sys" }] }));
        assert.match(runEngine(["--disk", img.image, "--rules", rules]).evidence.message, /give a time window .* or sha256/);
    });

    it("--help documents the options and every exit code", () => {
        const out = execFileSync(ENGINE, ["--help"], { encoding: "utf8" });
        for (const word of ["--disk", "--rules", "--bitlocker-key-file", "--dry-run"]) assert.ok(out.includes(word), word);
        for (const code of [0, 2, 3, 4, 5, 6]) assert.match(out, new RegExp(`^  ${code}  `, "m"));
    });
});
