// blacklist-module's initramfs rebuild (#31) on real images on loop devices: the guest's own
// update-initramfs or dracut (shell scripts of the guest, on a small busybox userland of its own)
// runs in the engine's sandbox (bubblewrap, a cgroup bounding memory and processes, a time bound),
// after every other edit of the run, with the old image kept in the run's quarantine folder and put
// back byte for byte when the tool fails, hangs, forks without end or eats memory. The hostile tools
// try to reach the network, read a file of the rescue VM, write outside the guest and leave a
// process behind; none of it works or outlives the run.
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ENGINE, assertReleased, requireDiskLab, runEngine, sha256File, skipDiskLab, workDir } from "./disk-lab";
import { BuiltLinux, LinuxFile, buildLinux, grubenv, initramfs, inspect } from "./linux-images";

const ROOT_UUID = "7d2e4f3a-1b5c-4d6e-8f70-1a2b3c4d5e6f";
const BOOT_UUID = "8e3f5a4b-2c6d-4e7f-9a81-2b3c4d5e6f70";
const MACHINE = "fedcba9876543210fedcba9876543210";
const MODULE = "falcon_lsm_serviceable";
const KERNEL = "6.8.0-45-generic";
const EL_KERNEL = "5.14.0-427.16.1.el9_4.x86_64";
const BLACKLIST = { id: "falcon-module", action: "blacklist-module", module: MODULE };
const CONF = `etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`;
// A file of the rescue VM, and where a guest's write that escaped would land: under /root, not /tmp
// or /run (the sandbox's own empty tmpfs there would hide them whether or not the sandbox works).
const HOST_SECRET = `/root/bootloop-rescue-test-host-secret-${process.pid}`;
const ESCAPED = `/root/bootloop-rescue-test-escaped-${process.pid}/written-by-the-guest`;
const LEFT_BEHIND = "987654"; // the seconds a guest's background sleep asks for: how the test finds it

/** A guest program that tries to lift the sandbox's bounds (a user and cgroup namespace of its own,
 * the v1 memory and pids hierarchies mounted and their limits raised), then touches 300 MiB. */
const LIFT_BOUNDS = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
static void wr(const char *p, const char *s) {
    int fd = open(p, O_WRONLY);
    if (fd < 0) { printf("open %s: %s\n", p, strerror(errno)); return; }
    if (write(fd, s, strlen(s)) < 0) printf("write %s: %s\n", p, strerror(errno)); else printf("wrote %s\n", p);
    close(fd);
}
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (unshare(CLONE_NEWUSER) != 0) printf("unshare user: %s\n", strerror(errno));
    else {
        wr("/proc/self/setgroups", "deny"); wr("/proc/self/uid_map", "0 0 1"); wr("/proc/self/gid_map", "0 0 1");
        if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) != 0) printf("unshare ns/cgroup: %s\n", strerror(errno));
        mkdir("/tmp/m", 0755); mkdir("/tmp/p", 0755);
        if (mount("none", "/tmp/m", "cgroup", 0, "memory") != 0) printf("mount memory: %s\n", strerror(errno));
        if (mount("none", "/tmp/p", "cgroup", 0, "pids") != 0) printf("mount pids: %s\n", strerror(errno));
        wr("/tmp/m/memory.memsw.limit_in_bytes", "9999999999"); wr("/tmp/m/memory.limit_in_bytes", "9999999999"); wr("/tmp/p/pids.max", "max");
    }
    size_t n = (size_t)300 << 20;
    char *b = malloc(n);
    if (b == NULL) return 3;
    memset(b, 1, n);
    printf("allocated and touched %zu MiB\n", n >> 20);
    return b[4096] - 1;
}
`;

function rules(name: string): string {
    const file = path.join(workDir, `initramfs-${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ rules: [BLACKLIST] }));
    return file;
}

/** The guest's update-initramfs: `update-initramfs -u -k VERSION` packs /etc/modprobe.d and /lib/modules/VERSION (newc, gzip), after `prelude`. */
function updateInitramfs(prelude = ""): string {
    return [
        "#!/bin/sh",
        '[ "$1" = -u ] && [ "$2" = -k ] && [ -n "$3" ] || { echo "usage: update-initramfs -u -k VERSION" >&2; exit 2; }',
        'out="/boot/initrd.img-$3"',
        prelude,
        "work=$(mktemp -d)",
        'mkdir -p "$work/etc" "$work/lib/modules"',
        'cp -a /etc/modprobe.d "$work/etc/" && cp -a "/lib/modules/$3" "$work/lib/modules/" || exit 1',
        '(cd "$work" && find . | cpio -o -H newc) | gzip -9 > "$out.new" || exit 1',
        'mv "$out.new" "$out"',
        'echo "update-initramfs: Generating $out"',
        "",
    ].join("\n");
}

/** The guest's dracut: `dracut --force --no-hostonly --omit-drivers "A B" --kver VERSION IMAGE`, the omitted modules left out. */
const DRACUT = [
    "#!/bin/sh",
    "omit=; kver=; image=",
    "while [ $# -gt 0 ]; do",
    '  case "$1" in',
    "    --force|--no-hostonly) ;;",
    '    --omit-drivers) omit="$2"; shift ;;',
    '    --kver) kver="$2"; shift ;;',
    '    -*) echo "dracut: unknown option $1" >&2; exit 2 ;;',
    '    *) image="$1" ;;',
    "  esac",
    "  shift",
    "done",
    '[ -n "$kver" ] && [ -n "$image" ] || { echo "dracut: no --kver or image" >&2; exit 2; }',
    // What the test looks at: whether the earlier quarantine on /boot is visible to the guest's tool.
    "ls -A /boot/bootloop-rescue | wc -l > /var/log/boot-quarantine-seen",
    "work=$(mktemp -d)",
    'mkdir -p "$work/etc" "$work/lib/modules"',
    'cp -a /etc/modprobe.d "$work/etc/" && cp -a "/lib/modules/$kver" "$work/lib/modules/" || exit 1',
    'for m in $omit; do find "$work/lib/modules" -name "$m.ko*" -exec rm {} \\; ; done',
    '(cd "$work" && find . | cpio -o -H newc) | gzip -9 > "$image.new" || exit 1',
    'mv "$image.new" "$image"',
    "",
].join("\n");

/** The guest's small userland: the rescue VM's static busybox as /bin/busybox, with a link per applet. */
function installBusybox(root: string): void {
    fs.mkdirSync(path.join(root, "bin"), { recursive: true });
    fs.copyFileSync("/usr/bin/busybox", path.join(root, "bin/busybox"));
    fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
    const applets = execFileSync("/usr/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const applet of applets) if (applet !== "busybox") fs.symlinkSync("busybox", path.join(root, "bin", applet));
}

function writeTool(root: string, where: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(root, where)), { recursive: true });
    fs.writeFileSync(path.join(root, where), content, { mode: 0o755 });
}

/** An initramfs of about 3 MiB that does not compress (firmware-like): larger than what truncating it frees for a put-back. */
const BIG_IMAGE = (k: string) =>
    initramfs(
        {
            [`usr/lib/modules/${k}/extra/${MODULE}.ko`]: "module",
            "usr/lib/firmware/blob": randomBytes(3 << 20).toString("base64"),
            init: "#!/bin/sh\n",
        },
        "gzip",
    );
const MODULE_IMAGE = (k: string) => initramfs({ [`usr/lib/modules/${k}/extra/${MODULE}.ko`]: "module", init: "#!/bin/sh\n" }, "gzip");

/** An Ubuntu-like guest on one ext4 root: grub.cfg, one kernel whose initramfs holds the module, busybox, and the guest's update-initramfs. */
function ubuntu(tool: string, extra: LinuxFile[] = [], original = MODULE_IMAGE(KERNEL)): { img: BuiltLinux; original: Buffer } {
    const img = buildLinux(
        [
            {
                kind: "ext4",
                sizeMiB: 64,
                uuid: ROOT_UUID,
                files: [
                    { path: "usr/lib/os-release", content: 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\n' },
                    { path: "etc/os-release", link: "../usr/lib/os-release" },
                    { path: "etc/hostname", content: "the-guest\n" },
                    { path: "etc/fstab", content: `UUID=${ROOT_UUID}\t/\text4\tdefaults\t0 1\n` },
                    { path: "etc/modprobe.d", dir: true },
                    { path: "etc/default/grub", content: 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n' },
                    {
                        path: "boot/grub/grub.cfg",
                        content: [
                            `menuentry 'Ubuntu' --class ubuntu $menuentry_id_option 'gnulinux-simple-${ROOT_UUID}' {`,
                            `\tlinux\t/boot/vmlinuz-${KERNEL} root=UUID=${ROOT_UUID} ro quiet`,
                            `\tinitrd\t/boot/initrd.img-${KERNEL}`,
                            "}",
                            "",
                        ].join("\n"),
                    },
                    { path: "boot/grub/grubenv", content: grubenv({}) },
                    { path: `boot/vmlinuz-${KERNEL}`, content: "kernel" },
                    { path: `lib/modules/${KERNEL}/modules.dep`, content: "" },
                    { path: `lib/modules/${KERNEL}/extra/${MODULE}.ko`, content: "module" },
                    { path: "var/log", dir: true },
                    ...extra,
                ],
            },
        ],
        66,
    );
    inspect(
        img,
        0,
        (root) => {
            installBusybox(root);
            writeTool(root, "usr/sbin/update-initramfs", tool);
            fs.writeFileSync(path.join(root, `boot/initrd.img-${KERNEL}`), original);
        },
        [],
        true,
    );
    return { img, original };
}

/** An EL 9-like guest: /boot an ext4 partition of its own (BLS entries, an earlier quarantine), the root with busybox and the guest's dracut; the initramfs holds the module. */
function rhel(dracut: string, original = MODULE_IMAGE(EL_KERNEL)): { img: BuiltLinux; original: Buffer } {
    const bls = [
        `title Red Hat Enterprise Linux (${EL_KERNEL}) 9.4 (Plow)`,
        `version ${EL_KERNEL}`,
        `linux /vmlinuz-${EL_KERNEL}`,
        `initrd /initramfs-${EL_KERNEL}.img`,
        `options root=UUID=${ROOT_UUID} ro quiet`,
        "",
    ].join("\n");
    const img = buildLinux(
        [
            {
                kind: "ext4",
                sizeMiB: 32,
                uuid: BOOT_UUID,
                files: [
                    { path: `loader/entries/${MACHINE}-${EL_KERNEL}.conf`, content: bls },
                    { path: `vmlinuz-${EL_KERNEL}`, content: "kernel" },
                    { path: "grub2/grubenv", content: grubenv({ saved_entry: `${MACHINE}-${EL_KERNEL}` }) },
                    { path: "bootloop-rescue/quarantine/20240101T000000Z/manifest.json", content: "{}" },
                ],
            },
            {
                kind: "ext4",
                sizeMiB: 64,
                uuid: ROOT_UUID,
                files: [
                    { path: "usr/lib/os-release", content: 'NAME="Red Hat Enterprise Linux"\nID=rhel\nVERSION_ID="9.4"\n' },
                    { path: "etc/os-release", link: "../usr/lib/os-release" },
                    {
                        path: "etc/fstab",
                        content: `UUID=${ROOT_UUID} / ext4 defaults 0 0\nUUID=${BOOT_UUID} /boot ext4 defaults 0 0\n`,
                    },
                    { path: "etc/modprobe.d", dir: true },
                    { path: "boot", dir: true },
                    { path: "var/log", dir: true },
                    { path: `lib/modules/${EL_KERNEL}/modules.dep`, content: "" },
                    { path: `lib/modules/${EL_KERNEL}/extra/${MODULE}.ko`, content: "module" },
                    { path: `lib/modules/${EL_KERNEL}/kernel/other.ko`, content: "another module" },
                ],
            },
        ],
        98,
    );
    inspect(img, 0, (root) => fs.writeFileSync(path.join(root, `initramfs-${EL_KERNEL}.img`), original), [], true);
    inspect(
        img,
        1,
        (root) => {
            installBusybox(root);
            writeTool(root, "usr/bin/dracut", dracut);
        },
        [],
        true,
    );
    return { img, original };
}

/** A dracut that writes over its image, runs `then` and exits 1. */
function failingDracut(then: string): string {
    return ["#!/bin/sh", 'for a in "$@"; do image="$a"; done', 'echo garbage > "$image"', then, "exit 1", ""].join("\n");
}

/** Whether a process of the guest's tool sleeps LEFT_BEHIND seconds now. */
function sleeping(): boolean {
    return fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .some((p) => {
            try {
                return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(LEFT_BEHIND);
            } catch {
                return false;
            }
        });
}

/** What the guest's root holds at a path (null when missing), read after the run. */
function guestFile(img: BuiltLinux, index: number, file: string): Buffer | null {
    return inspect(img, index, (root) => (fs.existsSync(path.join(root, file)) ? fs.readFileSync(path.join(root, file)) : null));
}

/** The names in a gzip-compressed newc archive (busybox cpio lists them). */
function namesIn(image: Buffer): string[] {
    const raw = execFileSync("gzip", ["-dc"], { input: image });
    return execFileSync("/usr/bin/busybox", ["cpio", "-t"], { input: raw, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] })
        .split("\n")
        .filter(Boolean)
        .map((n) => n.replace(/^\.\//, ""));
}

/** Nothing of a sandbox is left: no process the guest started, no cgroup of the engine's. */
function assertNothingLeft(): void {
    const leftovers = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
            try {
                return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(LEFT_BEHIND);
            } catch {
                return false;
            }
        });
    assert.deepEqual(leftovers, [], "a process the guest started outlived the run");
    for (const hierarchy of ["/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"]) {
        if (!fs.existsSync(hierarchy)) continue;
        assert.deepEqual(
            fs.readdirSync(hierarchy).filter((n) => n.startsWith("bootloop-rescue-sandbox-")),
            [],
            `a sandbox cgroup is left in ${hierarchy}`,
        );
    }
}

type Rebuilt = {
    tool: string;
    command: string;
    result: string;
    reason?: string;
    kept?: string;
    output?: string;
    restored?: boolean;
    seconds?: number;
};

function rebuiltOf(evidence: Record<string, any>): Rebuilt {
    const [entry] = evidence.linux.actions[0].initramfs;
    return entry.rebuilt as Rebuilt;
}

/** A run whose tool fails in some way: exit 6, the rebuild failed with the reason, the image put back byte for byte, nothing left running. */
function assertRestored(name: string, tool: string, env: Record<string, string>, reason: RegExp): Rebuilt {
    const { img, original } = ubuntu(tool);
    const run = runEngine(["--disk", img.image, "--rules", rules(name)], env, img.image);
    assert.equal(run.code, 6, run.stderr);
    assert.equal(run.evidence.outcome, "error");
    assert.match(run.evidence.message, /initramfs rebuild failed, the kept image put back/);
    const rebuilt = rebuiltOf(run.evidence);
    assert.equal(rebuilt.result, "failed");
    assert.match(rebuilt.reason ?? "", reason);
    assert.equal(rebuilt.restored, true);
    assert.deepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original, "the kept image was not put back byte for byte");
    assert.deepEqual(guestFile(img, 0, (rebuilt.kept ?? "").slice(1)), original, "the kept copy differs from the original image");
    // Everything else of the rule was done: the modprobe.d file and the command line.
    assert.equal(run.evidence.linux.actions[0].status, "changed");
    assert.ok(guestFile(img, 0, CONF));
    assertNothingLeft();
    return rebuilt;
}

(skipDiskLab() ? describe.skip : describe)("repair engine: the initramfs rebuilt in a sandbox with the guest's own tool", function () {
    this.timeout(600_000);
    before(requireDiskLab);
    after(() => {
        fs.rmSync(HOST_SECRET, { force: true });
        fs.rmSync(path.dirname(ESCAPED), { recursive: true, force: true });
    });

    it("update-initramfs: dry run writes nothing; the run rebuilds the image with the blacklist inside, keeps the old one, sees nothing of the rescue VM, leaves nothing running; a second run has nothing to do; undo puts it back", () => {
        fs.writeFileSync(HOST_SECRET, "a file of the rescue VM\n");
        fs.rmSync(path.dirname(ESCAPED), { recursive: true, force: true });
        const probe = [
            "{",
            `  echo "secret: $(cat ${HOST_SECRET} 2>&1)"`,
            '  echo "hostname: $(cat /etc/hostname)"',
            '  wget -q -T 3 -O /dev/null http://1.1.1.1/ 2>/dev/null && echo "network: reached" || echo "network: unreachable"',
            "  echo \"interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')\"",
            "  echo \"devices: $(ls /dev | tr '\\n' ' ')\"",
            '  echo "sys: $(ls /sys 2>/dev/null | wc -l)"',
            '  echo "run: $(ls -A /run | wc -l)"',
            '  echo "quarantine: $(ls -A /bootloop-rescue | wc -l)"',
            `  mkdir -p ${path.dirname(ESCAPED)} && echo out > ${ESCAPED} && echo "wrote: inside the sandbox only"`,
            "  echo \"uid: $(id -u) caps: $(grep CapEff /proc/self/status | tr -d '\\t')\"",
            "} > /var/log/probe.txt 2>&1",
            `sleep ${LEFT_BEHIND} &`,
        ].join("\n");
        const { img, original } = ubuntu(updateInitramfs(probe));
        const file = rules("update");
        const before = sha256File(img.image);

        const dry = runEngine(["--disk", img.image, "--rules", file, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(dry.evidence.outcome, "would-repair");
        assert.equal(sha256File(img.image), before, "--dry-run changed the image");
        assert.equal(dry.evidence.linux.actions[0].status, "would-change");
        assert.deepEqual(rebuiltOf(dry.evidence), {
            tool: "update-initramfs",
            command: `/usr/sbin/update-initramfs -u -k ${KERNEL}`,
            result: "would-run",
        });
        assert.equal(dry.evidence.linux.actions[0].initramfsNotRebuilt, undefined);

        const run = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "repaired");
        const action = run.evidence.linux.actions[0];
        assert.equal(action.status, "changed");
        assert.equal(action.initramfsNotRebuilt, undefined);
        const rebuilt = rebuiltOf(run.evidence);
        assert.equal(rebuilt.result, "rebuilt", JSON.stringify(rebuilt));
        assert.equal(typeof rebuilt.seconds, "number");
        const folder = run.evidence.volumes[0].quarantineFolder as string;
        assert.equal(rebuilt.kept, `/${folder}/boot/initrd.img-${KERNEL}`);
        assert.deepEqual(guestFile(img, 0, `${folder}/boot/initrd.img-${KERNEL}`), original, "the old image is kept byte for byte");
        // The new image: the module (update-initramfs copies it) and our modprobe.d file beside it.
        const rebuiltImage = guestFile(img, 0, `boot/initrd.img-${KERNEL}`);
        assert.ok(rebuiltImage);
        const names = namesIn(rebuiltImage);
        assert.ok(names.includes(CONF), `the new image lacks ${CONF}: ${names.join(" ")}`);
        assert.match(run.evidence.linux.undo[0], new RegExp(`^cp /${folder}/boot/initrd.img-${KERNEL} /boot/initrd.img-${KERNEL} && `));
        const manifest = JSON.parse((guestFile(img, 0, `${folder}/manifest.json`) ?? "{}").toString());
        assert.equal(manifest.actions[0].initramfs[0].rebuilt.result, "rebuilt");

        // What the guest's tool saw: its own volume only.
        const seen = (guestFile(img, 0, "var/log/probe.txt") ?? "").toString();
        assert.match(seen, /^secret: cat: .*No such file or directory$/m);
        assert.match(seen, /^hostname: the-guest$/m);
        assert.match(seen, /^network: unreachable$/m);
        assert.match(seen, /^interfaces: lo $/m);
        assert.match(seen, /^devices: (\S+ )+$/m);
        assert.doesNotMatch(seen, /^devices: .*\b(loop\d+|sd[a-z]|vd[a-z]|nvme\d)/m);
        assert.match(seen, /^sys: 0$/m);
        assert.match(seen, /^run: 0$/m);
        assert.match(seen, /^quarantine: 0$/m, "the kept image's folder is hidden from the guest's tool");
        assert.match(seen, /^uid: 0 caps: CapEff:0000000000000000$/m);
        assert.equal(fs.existsSync(ESCAPED), false, "the guest's tool wrote outside its volume");
        assertNothingLeft();

        const again = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.equal(again.evidence.linux.actions[0].status, "already");
        assert.equal(again.evidence.linux.actions[0].initramfs[0].blacklisted, true);
        assert.equal(again.evidence.linux.actions[0].initramfs[0].rebuilt, undefined);

        // Undo, run in the guest's root: the kept image is the original again.
        inspect(
            img,
            0,
            (root) => {
                const [cp] = (run.evidence.linux.undo[0] as string).split(" && ");
                const [, from, to] = cp.split(" ");
                fs.copyFileSync(path.join(root, from), path.join(root, to));
            },
            [],
            true,
        );
        assert.deepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original);
    });

    it("dracut, /boot a partition of its own (BLS entries): the module is omitted from the new image, the old one kept on the root volume", () => {
        const { img, original } = rhel(DRACUT);
        const run = runEngine(["--disk", img.image, "--rules", rules("dracut")], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        const rebuilt = rebuiltOf(run.evidence);
        assert.equal(rebuilt.result, "rebuilt", JSON.stringify(rebuilt));
        assert.equal(
            rebuilt.command,
            `/usr/bin/dracut --force --no-hostonly --omit-drivers ${MODULE} --kver ${EL_KERNEL} /boot/initramfs-${EL_KERNEL}.img`,
        );
        const names = namesIn(guestFile(img, 0, `initramfs-${EL_KERNEL}.img`) ?? Buffer.alloc(0));
        assert.ok(names.includes(`lib/modules/${EL_KERNEL}/kernel/other.ko`), names.join(" "));
        assert.ok(!names.some((n) => n.endsWith(`${MODULE}.ko`)), `the module is still inside: ${names.join(" ")}`);
        assert.ok(rebuilt.kept?.startsWith("/bootloop-rescue/quarantine/"));
        assert.deepEqual(guestFile(img, 1, (rebuilt.kept ?? "").slice(1)), original, "the old image is kept on the root volume");
        assert.equal(
            (guestFile(img, 1, "var/log/boot-quarantine-seen") ?? "").toString().trim(),
            "0",
            "/boot's quarantine is hidden from the tool",
        );
        assert.ok(guestFile(img, 0, "bootloop-rescue/quarantine/20240101T000000Z/manifest.json"), "and left as it was");
        assertNothingLeft();
        const again = runEngine(["--disk", img.image, "--rules", rules("dracut")], {}, img.image);
        assert.equal(again.evidence.outcome, "nothing-to-do", again.stderr);
        assert.deepEqual(again.evidence.linux.actions[0].initramfs[0].contains, []);
    });

    it("the tool fails (exit 1) after writing over the image: the old image is put back byte for byte, exit 6, its output's tail in the evidence", () => {
        const rebuilt = assertRestored(
            "fails",
            updateInitramfs('echo garbage > "$out"; echo "E: the guest tool broke" >&2; exit 1'),
            {},
            /update-initramfs exited 1/,
        );
        assert.match(rebuilt.output ?? "", /E: the guest tool broke/);
    });

    it("the tool hangs: killed at the time bound, the image put back, the engine returns", () => {
        assertRestored(
            "hangs",
            updateInitramfs('echo garbage > "$out"; sleep 100000'),
            { REPAIR_DISK_REBUILD_TIMEOUT: "5" },
            /still running at its time bound \(5 s\): killed/,
        );
    });

    it("a fork bomb is held by the process bound and killed at the time bound", () => {
        const rebuilt = assertRestored(
            "fork-bomb",
            updateInitramfs(`echo garbage > "$out"; bomb() { bomb & bomb & }; bomb; sleep ${LEFT_BEHIND}`),
            { REPAIR_DISK_REBUILD_TIMEOUT: "8", REPAIR_DISK_REBUILD_PIDS: "64" },
            /still running at its time bound/,
        );
        assert.match(rebuilt.output ?? "", /can't fork/);
    });

    it("a memory hog is killed at the memory bound", () => {
        assertRestored(
            "memory-hog",
            updateInitramfs('echo garbage > "$out"; x=0123456789abcdef; while :; do x="$x$x"; done'),
            { REPAIR_DISK_REBUILD_MEMORY_MB: "64" },
            /over its memory bound \(64 MiB\): killed/,
        );
    });

    it("the tool cannot write the rescue VM's sysctls (kernel.core_pattern, vm.swappiness): /proc/sys is read-only in the sandbox", () => {
        // Each write puts back the value just read: nothing changes on the rescue VM even if the sandbox let it through.
        const probe = [
            "for s in kernel/core_pattern vm/swappiness; do",
            '  v=$(cat "/proc/sys/$s")',
            '  if printf "%s\\n" "$v" > "/proc/sys/$s"; then echo "$s: WRITTEN"; else echo "$s: refused"; fi',
            "done > /var/log/sysctl-probe 2>&1",
            "[ -e /proc/sysrq-trigger ] && { ( : >> /proc/sysrq-trigger ) 2>/dev/null && echo 'sysrq-trigger: OPENED' || echo 'sysrq-trigger: refused'; } >> /var/log/sysctl-probe",
            // Every other /proc file (but the sandbox's own processes') opened for writing, nothing written.
            "for f in $(ls /proc | grep -v '^[0-9]'); do case $f in self|thread-self) continue ;; esac; find /proc/$f -maxdepth 3 2>/dev/null; done |",
            '  while read -r p; do [ -f "$p" ] && ( : >> "$p" ) 2>/dev/null && echo "$p"; done > /var/log/proc-writable',
            "echo checked >> /var/log/proc-writable",
        ].join("\n");
        const { img } = ubuntu(updateInitramfs(probe));
        const run = runEngine(["--disk", img.image, "--rules", rules("sysctl")], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        const seen = (guestFile(img, 0, "var/log/sysctl-probe") ?? "").toString();
        assert.match(seen, /^kernel\/core_pattern: refused$/m);
        assert.match(seen, /^vm\/swappiness: refused$/m);
        assert.doesNotMatch(seen, /WRITTEN|OPENED/);
        assert.match(seen, /Read-only file system/);
        if (fs.existsSync("/proc/sysrq-trigger")) assert.match(seen, /^sysrq-trigger: refused$/m);
        assert.equal(
            (guestFile(img, 0, "var/log/proc-writable") ?? "").toString(),
            "checked\n",
            "a /proc file of the rescue VM opens for writing",
        );
        assertNothingLeft();
    });

    it("the tool cannot lift its bounds with a user and cgroup namespace of its own (mounting the v1 memory and pids hierarchies): refused, and the memory hog is still killed at the bound", () => {
        const lift = path.join(workDir, "lift-bounds");
        fs.writeFileSync(`${lift}.c`, LIFT_BOUNDS);
        execFileSync("gcc", ["-static", "-O", "-o", lift, `${lift}.c`]);
        const { img } = ubuntu(updateInitramfs('echo garbage > "$out"; /bin/lift-bounds'));
        inspect(img, 0, (root) => fs.copyFileSync(lift, path.join(root, "bin/lift-bounds")), [], true);
        const run = runEngine(["--disk", img.image, "--rules", rules("lift")], { REPAIR_DISK_REBUILD_MEMORY_MB: "64" }, img.image);
        assert.equal(run.code, 6, run.stderr);
        const rebuilt = rebuiltOf(run.evidence);
        assert.match(rebuilt.reason ?? "", /over its memory bound \(64 MiB\): killed/);
        assert.match(rebuilt.output ?? "", /unshare user: /);
        assert.doesNotMatch(rebuilt.output ?? "", /wrote \/tmp\/[mp]\/|allocated and touched/);
        assert.equal(rebuilt.restored, true);
        assertNothingLeft();
    });

    it("the tool undoes the run's other edits (deletes the modprobe.d file, strips module_blacklist= from grub.cfg) and makes a good image: never a repair, exit 6 naming what it undid", () => {
        const prelude = [
            `rm -f /${CONF}`,
            "sed -i 's/ module_blacklist=[^ ]*//' /boot/grub/grub.cfg",
            `find /lib/modules -name '${MODULE}.ko' -exec rm {} \\;`,
        ].join("\n");
        const { img } = ubuntu(updateInitramfs(prelude));
        const run = runEngine(["--disk", img.image, "--rules", rules("undoes")], {}, img.image);
        assert.equal(run.code, 6, run.stderr);
        assert.equal(run.evidence.outcome, "error");
        assert.match(run.evidence.message, /the guest's initramfs tool undid the repair: rule falcon-module: /);
        const undone: string[] = run.evidence.linux.actions[0].undoneByTool;
        assert.ok(undone.length > 0, JSON.stringify(run.evidence.linux.actions[0]));
        assert.equal(guestFile(img, 0, CONF), null);
        // Sent again, the run is not green either: the rule has its work to do again (or is refused), never "already".
        const again = runEngine(["--disk", img.image, "--rules", rules("undoes")], { REPAIR_DISK_BWRAP: "no-such-bwrap" }, img.image);
        assert.notEqual(again.evidence.linux.actions[0].status, "already");
        assertNothingLeft();
    });

    it("the tool fills the root volume and fails: the spare copy kept beside the kept one is renamed over its image (no free space needed), exit 6", () => {
        assertRestored(
            "fills-root",
            updateInitramfs('echo garbage > "$out"; sync; dd if=/dev/zero of=/var/log/fill bs=1M 2>/dev/null; sync; exit 1'),
            {},
            /exited 1/,
        );
    });

    it("/boot a partition of its own: the tool fills /boot and fails: the spare copy on /boot (hidden from the tool) is renamed over the image, checked by its SHA-256", () => {
        const { img, original } = rhel(failingDracut("sync; dd if=/dev/zero of=/boot/fill bs=1M 2>/dev/null; sync"), BIG_IMAGE(EL_KERNEL));
        const run = runEngine(["--disk", img.image, "--rules", rules("fills-boot")], {}, img.image);
        assert.equal(run.code, 6, JSON.stringify(run.evidence.linux.actions));
        const rebuilt = rebuiltOf(run.evidence);
        assert.equal(rebuilt.restored, true, JSON.stringify(rebuilt));
        assert.deepEqual(guestFile(img, 0, `initramfs-${EL_KERNEL}.img`), original, "the kept image was not put back byte for byte");
        assertNothingLeft();
    });

    it("/boot a partition of its own: a folder planted where a fixed temporary name would be does not stop the put-back (its name is random, made O_EXCL)", () => {
        const plant = `mkdir "/boot/.initramfs-${EL_KERNEL}.img.bootloop-rescue-restore"`;
        const { img, original } = rhel(failingDracut(plant));
        const run = runEngine(["--disk", img.image, "--rules", rules("planted")], {}, img.image);
        assert.equal(run.code, 6, run.stderr);
        assert.equal(rebuiltOf(run.evidence).restored, true, JSON.stringify(rebuiltOf(run.evidence)));
        assert.deepEqual(guestFile(img, 0, `initramfs-${EL_KERNEL}.img`), original, "the kept image was not put back byte for byte");
        assertNothingLeft();
    });

    it("a good rebuild that leaves the root volume full (99% or more) is a failure: the kept image put back, exit 6", () => {
        const fill =
            "head -c 262144 /dev/zero > /var/log/reserve; dd if=/dev/zero of=/var/log/fill bs=1M 2>/dev/null; rm -f /var/log/reserve";
        assertRestored("leaves-full", updateInitramfs(fill), {}, /the root volume is \d+% full after the tool ran/);
    });

    it("too little free space on the root volume for the kept copy and the spare (twice the image and a margin): the rebuild is refused with the reason, nothing of the guest run", () => {
        const { img, original } = ubuntu(updateInitramfs("echo ran > /var/log/tool-ran"));
        inspect(img, 0, (root) => fs.writeFileSync(path.join(root, "var/log/big"), Buffer.alloc(46 << 20, 1)), [], true);
        const run = runEngine(["--disk", img.image, "--rules", rules("no-room")], {}, img.image);
        const rebuilt = rebuiltOf(run.evidence);
        assert.equal(rebuilt.result, "refused", JSON.stringify(rebuilt));
        assert.match(rebuilt.reason ?? "", /the root volume has \d+ MiB free, and the rebuild of \/boot\/initrd\.img-[^ ]+ needs \d+ MiB/);
        assert.match(run.evidence.linux.actions[0].initramfsNotRebuilt, /needs \d+ MiB/);
        assert.equal(guestFile(img, 0, "var/log/tool-ran"), null, "the tool ran");
        assert.deepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original);
        assertNothingLeft();
    });

    it("SIGTERM while the tool runs (after it wrote over the image): the engine kills the sandbox, puts the kept image back and exits 6", async () => {
        const { img, original } = ubuntu(updateInitramfs(`echo garbage > "$out"; sleep ${LEFT_BEHIND}`));
        const engine = spawn(ENGINE, ["--disk", img.image, "--rules", rules("sigterm")], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        engine.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        const ended = new Promise<number | null>((resolve) => engine.on("close", (code) => resolve(code)));
        // The tool is at its sleep (the image already overwritten) once a process of that command line runs.
        while (!sleeping()) {
            if (engine.exitCode !== null) assert.fail(`the engine ended before the tool slept: ${stdout}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        engine.kill("SIGTERM");
        const code = await ended;
        const evidence = JSON.parse(stdout);
        assert.equal(code, 6, stdout);
        const rebuilt = rebuiltOf(evidence);
        assert.match(rebuilt.reason ?? "", /interrupted while the tool ran or after: stopped by SIGTERM/);
        assert.equal(rebuilt.restored, true);
        assertReleased(img.image);
        assert.deepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original, "the kept image was not put back byte for byte");
        assertNothingLeft();
    });

    it("the engine killed outright (SIGKILL) while the tool runs: its intent record stays, and the next run (and its dry run) ends with exit 6 saying what to put back, never green", async () => {
        const { img, original } = ubuntu(updateInitramfs(`echo garbage > "$out"; sleep ${LEFT_BEHIND}`));
        const runDir = fs.mkdtempSync(path.join(workDir, "run-"));
        const engine = spawn(ENGINE, ["--disk", img.image, "--rules", rules("sigkill")], {
            stdio: ["ignore", "ignore", "ignore"],
            env: { ...process.env, REPAIR_DISK_RUN_DIR: runDir },
        });
        const ended = new Promise((resolve) => engine.on("close", resolve));
        while (!sleeping()) {
            if (engine.exitCode !== null) assert.fail("the engine ended before the tool slept");
            await new Promise((r) => setTimeout(r, 100));
        }
        engine.kill("SIGKILL");
        await ended;
        const env = { REPAIR_DISK_RUN_DIR: runDir };
        for (const args of [["--dry-run"], []]) {
            const next = runEngine(["--disk", img.image, "--rules", rules("sigkill"), ...args], env, img.image);
            assert.equal(next.code, 6, next.stderr);
            assert.match(
                next.evidence.message,
                /an earlier run was stopped while the guest's initramfs tool ran: .*put the kept copy back/,
            );
            assert.match(
                next.evidence.message,
                /\/bootloop-rescue\/put-back\/[^ ]+\.intent\.json \(image \/boot\/initrd\.img-[^,]+, kept \/bootloop-rescue\/quarantine\//,
            );
        }
        assert.notDeepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original, "the tool's image (the test's premise)");
        assertNothingLeft();
    });

    it("the tool exits 0 but leaves the image a link (to /dev/zero): it is never followed; the kept image is put back over the link", () => {
        assertRestored(
            "link",
            updateInitramfs('rm -f "$out"; ln -s /dev/zero "$out"; exit 0'),
            {},
            /is missing or not a regular file after the tool ran/,
        );
    });

    it("the tool swaps /boot for a link out of it: the put-back refuses to follow it (exit 6), the kept image stays in the quarantine folder", () => {
        const { img, original } = ubuntu(updateInitramfs("mv /boot /boot.moved && ln -s /etc /boot; exit 1"));
        const run = runEngine(["--disk", img.image, "--rules", rules("boot-link")], {}, img.image);
        assert.equal(run.code, 6, run.stderr);
        assert.match(
            run.evidence.message,
            /the rebuild failed \(update-initramfs exited 1\) and the kept image could not be put back: .*\/boot on the guest is a symbolic link/,
        );
        const rebuilt = rebuiltOf(run.evidence);
        assert.equal(rebuilt.restored, false);
        assert.deepEqual(guestFile(img, 0, (rebuilt.kept ?? "").slice(1)), original);
        assert.equal(guestFile(img, 0, `etc/initrd.img-${KERNEL}`), null, "something was written through the link");
        assertNothingLeft();
    });

    it("no bwrap on the rescue VM: the rebuild is refused with the reason (the dry run says so too) and nothing of the guest runs; sent again with bwrap, the rebuild alone is done", () => {
        const { img, original } = ubuntu(updateInitramfs("echo ran > /var/log/tool-ran"));
        const before = sha256File(img.image);
        const dry = runEngine(
            ["--disk", img.image, "--rules", rules("no-bwrap"), "--dry-run"],
            { REPAIR_DISK_BWRAP: "/nonexistent/bwrap" },
            img.image,
        );
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(rebuiltOf(dry.evidence).result, "refused", "a dry run refuses what the run would");
        assert.equal(sha256File(img.image), before);
        const run = runEngine(["--disk", img.image, "--rules", rules("no-bwrap")], { REPAIR_DISK_BWRAP: "/nonexistent/bwrap" }, img.image);
        assert.equal(run.code, 0, run.stderr);
        const action = run.evidence.linux.actions[0];
        assert.equal(action.status, "changed", "the modprobe.d file and the command line are still done");
        assert.equal(rebuiltOf(run.evidence).result, "refused");
        assert.match(rebuiltOf(run.evidence).reason ?? "", /\/nonexistent\/bwrap \(bubblewrap\) is not installed on this rescue VM/);
        assert.match(action.initramfsNotRebuilt, /bubblewrap/);
        assert.equal(guestFile(img, 0, "var/log/tool-ran"), null, "the guest's tool ran");
        assert.deepEqual(guestFile(img, 0, `boot/initrd.img-${KERNEL}`), original);

        // With bwrap, a run sent again has the rebuild alone left to do: it mounts read-write for it and does it.
        const again = runEngine(["--disk", img.image, "--rules", rules("no-bwrap")], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "repaired");
        assert.equal(again.evidence.linux.actions[0].status, "changed");
        assert.equal(again.evidence.linux.actions[0].files, undefined, "no file of the rule's own is edited again");
        assert.equal(rebuiltOf(again.evidence).result, "rebuilt");
        assert.match(
            again.evidence.linux.undo[0],
            new RegExp(`^cp /bootloop-rescue/quarantine/\\S+/boot/initrd.img-${KERNEL} /boot/initrd.img-${KERNEL}$`),
        );
        assert.equal((guestFile(img, 0, "var/log/tool-ran") ?? "").toString(), "ran\n");
    });
});
