// The repair engine against disks a compromised guest could have prepared: links on the quarantine
// path, special files where it reads, a crafted partition table, a second repair of the same disk,
// and what an engine killed outright leaves behind. Every image is a real NTFS disk.
import { strict as assert } from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BuiltImage,
    ENGINE,
    FileSpec,
    PartitionSpec,
    STAND_INS,
    assertReleased,
    buildImage,
    filesOf,
    requireDiskLab,
    runEngine,
    skipDiskLab,
    workDir,
} from "./disk-lab";

const CS = "Windows/System32/drivers/CrowdStrike";
const BAD: FileSpec = { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "faulty channel file 291" };
const KEY = "000000-111111-222222-333333-444444-555555-666666-000011";

function windowsDisk(windows: Omit<PartitionSpec, "kind">, extra: { gptEntries?: { count: number; size: number } } = {}): BuiltImage {
    return buildImage(
        "gpt",
        [
            { kind: "efi", sizeMiB: 8 },
            { kind: "windows", sizeMiB: 40, ...windows },
        ],
        64,
        extra,
    );
}
const windowsPart = (img: BuiltImage) => img.partitions.find((p) => p.kind === "windows")!;

/** Runs the engine in the background; resolves with its exit code and evidence. */
function engineAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; evidence: any; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(ENGINE, args, { env: { ...process.env, ...env } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, evidence: JSON.parse(stdout), stderr }));
    });
}

(skipDiskLab() ? describe.skip : describe)("repair engine on hostile disks", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    for (const [what, target] of [
        ["a relative link (as mklink /D makes)", "../../.."],
        ["an absolute link", "OUTSIDE"],
    ] as const) {
        it(`refuses ${what} on the quarantine path: exit 5, nothing created outside the volume, nothing moved`, () => {
            const outside = fs.mkdtempSync(path.join(os.tmpdir(), "outside-"));
            const linkTarget = target === "OUTSIDE" ? outside : target;
            for (const linkPath of ["bootloop-rescue", "bootloop-rescue/quarantine"]) {
                const img = windowsDisk({
                    files: [BAD],
                    dirs: linkPath.includes("/") ? ["bootloop-rescue"] : [],
                    links: [{ path: linkPath, target: linkTarget }],
                });
                const before = filesOf(img.image, windowsPart(img));
                const run = runEngine(["--disk", img.image], {}, img.image);
                assert.equal(run.code, 5, `${linkPath}: ${run.evidence.message}`);
                assert.match(
                    run.evidence.message,
                    new RegExp(
                        `${linkPath.replace("/", "\\/")} on the volume is a symbolic link; refusing to create the quarantine through it`,
                    ),
                );
                assert.deepEqual(fs.readdirSync(outside), [], "nothing created in the link's target");
                assert.ok(
                    !fs.existsSync("/quarantine") && !fs.existsSync("/run/quarantine"),
                    "nothing created on the rescue VM's own filesystem",
                );
                assert.deepEqual(filesOf(img.image, windowsPart(img))[BAD.path], before[BAD.path], "the file stays where it was");
            }
        });
    }

    it("never opens a FIFO or a device node: not as hiberfil.sys (which would hang it), not as a matching file", () => {
        const img = windowsDisk({
            files: [BAD],
            specials: [
                { path: "hiberfil.sys", kind: "fifo" },
                { path: `${CS}/C-00000291-00000000-00000040.sys`, kind: "fifo" },
                { path: `${CS}/C-00000291-00000000-00000041.sys`, kind: "char", major: 1, minor: 5 },
            ],
        });
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0, run.evidence.message);
        assert.equal(run.evidence.volumes[0].hibernated, false, "a FIFO holds no hibernation data");
        assert.match(
            run.evidence.volumes[0].mount.actions.join("\n"),
            /hiberfil.sys was not a regular file \(a special file the guest left\); removed to mount read-write/,
        );
        assert.deepEqual(
            run.evidence.volumes[0].matches.map((m: any) => [m.path, m.action]),
            [[BAD.path, "quarantined"]],
            "only the regular file is a match",
        );
        assert.ok(filesOf(img.image, windowsPart(img))[run.evidence.volumes[0].matches[0].quarantinedTo]);
    });

    it("mounts the guest's volume with nodev, nosuid and noexec", () => {
        // A stand-in ntfs-3g records the options and mounts nothing: the probe then finds no volume.
        const log = path.join(workDir, "ntfs-3g-options.log");
        const standIn = fs.mkdtempSync(path.join(workDir, "ntfs-3g-"));
        fs.writeFileSync(path.join(standIn, "ntfs-3g"), `#!/bin/sh\nprintf '%s\\n' "$2" >> "${log}"\nexit 21\n`, { mode: 0o755 });
        const img = windowsDisk({ files: [BAD] });
        const run = runEngine(
            ["--disk", img.image],
            { PATH: `${standIn}:${process.env.PATH}`, REPAIR_DISK_NTFS_DRIVER: "ntfs-3g" },
            img.image,
        );
        assert.equal(run.code, 3);
        const options = fs.readFileSync(log, "utf8").trim().split("\n");
        assert.ok(options.length > 0);
        for (const o of options)
            for (const want of ["nodev", "nosuid", "noexec"]) assert.ok(o.split(",").includes(want), `${o} lacks ${want}`);
    });

    it("refuses a GPT header claiming 524,288 entries of 4 KB (2 GB) before reading them", () => {
        const img = windowsDisk({ files: [BAD] }, { gptEntries: { count: 524_288, size: 4096 } });
        const run = spawnSync("bash", ["-c", `ulimit -v 400000; exec ${ENGINE} --disk ${img.image}`], {
            encoding: "utf8",
            timeout: 60_000,
        });
        assert.equal(run.status, 5, run.stderr);
        const evidence = JSON.parse(run.stdout);
        assert.match(
            evidence.message,
            /the GPT header claims 524288 partition entries of 4096 bytes \(this engine reads up to 4096 entries of 128\); refusing the disk/,
        );
        assertReleased(img.image);
    });

    it("two repairs of one disk never both mount it: the second waits, then finds the first's quarantine", async () => {
        const files = Array.from({ length: 40 }, (_, i) => ({
            ...BAD,
            path: `${CS}/C-00000291-00000000-${String(100 + i).padStart(8, "0")}.sys`,
        }));
        const img = windowsDisk({ files });
        const [a, b] = await Promise.all([engineAsync(["--disk", img.image]), engineAsync(["--disk", img.image])]);
        assert.deepEqual([a.code, b.code], [0, 0], `${a.stderr}\n${b.stderr}`);
        const outcomes = [a.evidence.outcome, b.evidence.outcome].sort();
        assert.deepEqual(outcomes, ["nothing-to-do", "repaired"]);
        const [first, second] = a.evidence.outcome === "repaired" ? [a, b] : [b, a];
        assert.match(second.stderr, /another repair of this disk is running; waiting up to 1800 s/);
        assert.deepEqual(second.evidence.volumes[0].earlierQuarantines, [first.evidence.volumes[0].quarantineFolder]);
        assert.equal(first.evidence.volumes[0].matches.filter((m: any) => m.action === "quarantined").length, 40);
        assertReleased(img.image);
    });

    it("a repair that cannot get the disk's lock in time refuses it, mounting nothing", () => {
        const img = windowsDisk({ files: [BAD] });
        const lockDir = fs.mkdtempSync(path.join(workDir, "locks-"));
        const st = fs.statSync(img.image);
        // Another repair holds the lock (flock(1) in the background for a few seconds).
        const holder = spawn("flock", ["-x", path.join(lockDir, `file-${st.dev}-${st.ino}.lock`), "sleep", "6"]);
        try {
            execFileSync("sleep", ["0.5"]);
            const run = runEngine(["--disk", img.image, "--lock-wait", "1"], { REPAIR_DISK_LOCK_DIR: lockDir }, img.image);
            assert.equal(run.code, 5);
            // The rescue side's, not the disk's: the control side stops the run rather than record the VM failed.
            assert.equal(run.evidence.outcome, "busy");
            assert.match(run.evidence.message, /another repair of this disk is still running \(waited 1 s\); nothing was done/);
            assert.equal(run.evidence.partitions, undefined, "nothing was read");
        } finally {
            holder.kill();
        }
    });

    it("refuses a disk whose partition is mounted through a loop device (another tool at work)", () => {
        const img = windowsDisk({ files: [BAD] });
        const part = windowsPart(img);
        const loop = execFileSync(
            "losetup",
            ["--find", "--show", "--offset", String(part.startBytes), "--sizelimit", String(part.sizeBytes), img.image],
            { encoding: "utf8" },
        ).trim();
        const mnt = fs.mkdtempSync(path.join(workDir, "other-tool-"));
        execFileSync("ntfs-3g", ["-o", "ro", loop, mnt]);
        try {
            const run = spawnSync(ENGINE, ["--disk", img.image], { encoding: "utf8" });
            assert.equal(run.status, 5, run.stdout);
            assert.equal(JSON.parse(run.stdout).outcome, "in-use");
            assert.match(JSON.parse(run.stdout).message, /or a loop device over it\) is mounted on this VM; refusing it/);
        } finally {
            execFileSync("umount", [mnt]);
            execFileSync("losetup", ["-d", loop]);
        }
    });

    it("releases what an engine killed outright (SIGKILL) left: its loop devices, mounts and folder; a live engine's are kept", async () => {
        const runDir = fs.mkdtempSync(path.join(workDir, "run-"));
        // 1. An engine killed while unlocking BitLocker leaves its loop device and workspace.
        const locked = buildImage("gpt", [{ kind: "bitlocker", sizeMiB: 32, files: [BAD] }]);
        const key = path.join(workDir, "key-kill");
        fs.writeFileSync(key, KEY);
        const child = spawn(ENGINE, ["--disk", locked.image, "--bitlocker-key-file", key], {
            env: {
                ...process.env,
                REPAIR_DISK_RUN_DIR: runDir,
                PATH: `${STAND_INS}/hanging:${STAND_INS}:${process.env.PATH}`,
                FAKE_DISLOCKER_KEY: KEY,
                FAKE_DISLOCKER_PLAIN: "/nonexistent",
                FAKE_DISLOCKER_LOG: path.join(workDir, "kill.log"),
            },
        });
        const closed = new Promise((r) => child.on("close", r));
        await new Promise((r) => setTimeout(r, 1500));
        child.kill("SIGKILL");
        await closed;
        assert.notEqual(
            execFileSync("losetup", ["--associated", locked.image], { encoding: "utf8" }).trim(),
            "",
            "the killed engine left its loop device",
        );
        // 2. A dead engine's mount (made here by hand, as it would have left it) …
        const windows = windowsDisk({ files: [BAD] });
        const part = windowsPart(windows);
        const dead = path.join(runDir, "bootloop-rescue-ws-dead");
        fs.mkdirSync(path.join(dead, "p2-probe"), { recursive: true });
        fs.writeFileSync(path.join(dead, "owner"), "4194000 1\n");
        const loop = execFileSync(
            "losetup",
            ["--find", "--show", "--offset", String(part.startBytes), "--sizelimit", String(part.sizeBytes), "--read-only", windows.image],
            { encoding: "utf8" },
        ).trim();
        fs.writeFileSync(path.join(dead, "loops"), `${loop}\t${part.startBytes}\t${windows.image}\n`);
        execFileSync("ntfs-3g", ["-o", "ro", loop, path.join(dead, "p2-probe")]);
        // 3. … and a live engine's workspace (this process owns it), which must stay.
        const live = path.join(runDir, "bootloop-rescue-ws-live");
        fs.mkdirSync(live);
        const start = fs.readFileSync(`/proc/${process.pid}/stat`, "utf8").split(")").pop()!.trim().split(/\s+/)[19];
        fs.writeFileSync(path.join(live, "owner"), `${process.pid} ${start}\n`);

        const next = windowsDisk({ files: [] });
        const run = runEngine(["--disk", next.image], { REPAIR_DISK_RUN_DIR: runDir }, next.image);
        assert.equal(run.code, 0, run.evidence.message);
        assert.match(run.stderr, /released what a stopped repair \(pid 4194000\) left: mount .*p2-probe, loop \/dev\/loop\d+/);
        assertReleased(locked.image);
        assertReleased(windows.image);
        assert.deepEqual(fs.readdirSync(runDir).sort(), ["bootloop-rescue-ws-live"], "the dead workspaces are gone, the live one stays");
    });

    it("lists at most 100 earlier quarantine folders, and counts them all", () => {
        const dirs = Array.from({ length: 130 }, (_, i) => `bootloop-rescue/quarantine/20240719T${String(i).padStart(6, "0")}Z`);
        const img = windowsDisk({ files: [], dirs });
        const run = runEngine(["--disk", img.image], {}, img.image);
        assert.equal(run.code, 0);
        assert.equal(run.evidence.volumes[0].earlierQuarantines.length, 100);
        assert.equal(run.evidence.volumes[0].earlierQuarantinesTotal, 130);
        assert.equal(run.evidence.volumes[0].earlierQuarantines[99], dirs[129], "the newest are listed");
    });
});
