// blacklist-module's initramfs rebuild (#31) with the REAL tools: Debian bookworm guests built by
// debootstrap (test/rescue/make_debian_root.sh, cached), one with initramfs-tools, one with Debian's
// dracut, each with a falcon_kal.ko (a real ELF object with its .modinfo, depmod run) that the
// tool itself put into the guest's original initramfs. The engine runs the guest's own
// update-initramfs or dracut in its sandbox (every namespace, no capabilities, the guest's volume
// only) with the falcon-linux-2024 rule set: the new image must hold the blacklist (initramfs-tools
// copies /etc/modprobe.d) or lack the module (dracut --omit-drivers), the old one kept byte for byte.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireDiskLab, runEngine, sha256File, skipDiskLab } from "./disk-lab";
import { BuiltLinux, buildLinux, grubenv, inspect } from "./linux-images";

const ROOT_UUID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
const KVER = "6.1.0-28-amd64"; // make_debian_root.sh's
const MODULE = "falcon_kal";
const CONF = `etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`;
const IMAGE = `boot/initrd.img-${KVER}`;
const DRACUT_CONF = `/etc/dracut.conf.d/zz-bootloop-rescue-omit-${MODULE}.conf`;

/** The cached tar of a Debian root with the given tool (built on first use: debootstrap, about a minute). */
function debianRoot(flavor: "initramfs-tools" | "dracut"): string {
    const out = execFileSync("bash", [path.join(__dirname, "make_debian_root.sh"), flavor], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 900_000,
    });
    const tar = out.trim().split("\n").pop() ?? "";
    assert.ok(fs.statSync(tar).size > 0, `make_debian_root.sh ${flavor} gave no tar: ${out}`);
    return tar;
}

/** A disk with one ext4 root holding the Debian root untarred, a grub.cfg booting KVER, and its original initramfs (returned). */
function debianGuest(tar: string, extra: (root: string) => void = () => undefined): { img: BuiltLinux; original: Buffer } {
    const img = buildLinux([{ kind: "ext4", sizeMiB: 400, uuid: ROOT_UUID, files: [{ path: "boot", dir: true }] }], 402);
    const original = inspect(
        img,
        0,
        (root) => {
            execFileSync("tar", ["-C", root, "--numeric-owner", "-xpf", tar]);
            fs.writeFileSync(path.join(root, "etc/fstab"), `UUID=${ROOT_UUID}\t/\text4\terrors=remount-ro\t0 1\n`);
            fs.writeFileSync(path.join(root, "etc/hostname"), "the-debian-guest\n");
            fs.mkdirSync(path.join(root, "etc/default"), { recursive: true });
            fs.writeFileSync(
                path.join(root, "etc/default/grub"),
                'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n',
            );
            fs.mkdirSync(path.join(root, "boot/grub"), { recursive: true });
            fs.writeFileSync(
                path.join(root, "boot/grub/grub.cfg"),
                [
                    `menuentry 'Debian GNU/Linux' --class debian --class gnu-linux $menuentry_id_option 'gnulinux-simple-${ROOT_UUID}' {`,
                    `\tlinux\t/boot/vmlinuz-${KVER} root=UUID=${ROOT_UUID} ro quiet`,
                    `\tinitrd\t/${IMAGE}`,
                    "}",
                    "",
                ].join("\n"),
            );
            fs.writeFileSync(path.join(root, "boot/grub/grubenv"), grubenv({}));
            fs.writeFileSync(path.join(root, `boot/vmlinuz-${KVER}`), "a kernel");
            extra(root);
            return fs.readFileSync(path.join(root, IMAGE));
        },
        [],
        true,
    );
    return { img, original };
}

/** What the guest's root holds at a path (null when missing), read after the run. */
function guestFile(img: BuiltLinux, file: string): Buffer | null {
    return inspect(img, 0, (root) => (fs.existsSync(path.join(root, file)) ? fs.readFileSync(path.join(root, file)) : null));
}

/**
 * Every name in the newc archives of a decompressed stream, one after another (a tool may write
 * several; zero padding between them), read here without trusting a cpio program to go past the
 * first trailer.
 */
function newcNames(raw: Buffer): string[] {
    const names: string[] = [];
    const align = (n: number) => (n + 3) & ~3;
    let at = 0;
    while (at < raw.length) {
        if (raw[at] === 0) {
            at++;
            continue;
        }
        const magic = raw.toString("ascii", at, at + 6);
        assert.ok(magic === "070701" || magic === "070702", `no newc header at byte ${at}: ${JSON.stringify(magic)}`);
        const field = (i: number) => parseInt(raw.toString("ascii", at + 6 + i * 8, at + 14 + i * 8), 16);
        const [size, nameSize] = [field(6), field(11)];
        const name = raw.toString("utf8", at + 110, at + 110 + nameSize - 1);
        at = align(align(at + 110 + nameSize) + size);
        if (name !== "TRAILER!!!") names.push(name.replace(/^\.\//, ""));
    }
    return names;
}

/** The names in an initramfs of compressed newc archives (gzip or zstd, what these tools write), decompressed by the rescue VM's own programs. */
function namesIn(image: Buffer): string[] {
    const gzip = image.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
    const zstd = image.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    assert.ok(gzip || zstd, `not a gzip or zstd initramfs: ${image.subarray(0, 8).toString("hex")}`);
    return newcNames(execFileSync(gzip ? "gzip" : "zstd", gzip ? ["-dc"] : ["-dcq"], { input: image, maxBuffer: 1 << 30 }));
}

/** The falcon_kal rule's record in the evidence. */
function falconKal(evidence: Record<string, any>): Record<string, any> {
    const action = (evidence.linux.actions as Record<string, any>[]).find((a) => a.module === MODULE);
    assert.ok(action, `no blacklist-module record for ${MODULE}: ${JSON.stringify(evidence.linux.actions)}`);
    return action;
}

/** Runs falcon-linux-2024 on the guest and checks what every rebuild must give; returns the new image's names and the rule's record. */
function rebuildWithRealTool(
    flavor: "initramfs-tools" | "dracut",
    command: string,
): { names: string[]; action: Record<string, any>; img: BuiltLinux } {
    const { img, original } = debianGuest(debianRoot(flavor));
    assert.ok(
        namesIn(original).some((n) => n.endsWith(`/${MODULE}.ko`)),
        "the tool did not put the module into the original image",
    );
    const run = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
    const action = falconKal(run.evidence);
    const [entry] = action.initramfs as Record<string, any>[];
    assert.equal(entry.path, `/${IMAGE}`);
    assert.equal(entry.rebuilt?.result, "rebuilt", JSON.stringify(entry.rebuilt, null, 1));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.evidence.outcome, "repaired");
    assert.equal(action.status, "changed");
    assert.equal(action.initramfsNotRebuilt, undefined);
    assert.equal(entry.rebuilt.command, command);
    const folder = run.evidence.volumes[0].quarantineFolder as string;
    assert.equal(entry.rebuilt.kept, `/${folder}/${IMAGE}`);
    assert.deepEqual(guestFile(img, entry.rebuilt.kept.slice(1)), original, "the kept copy is not the original image byte for byte");
    const rebuilt = guestFile(img, IMAGE);
    assert.ok(rebuilt, `no ${IMAGE} after the run`);
    assert.notDeepEqual(rebuilt, original, "the image was not rebuilt");
    const names = namesIn(rebuilt);
    assert.ok(names.length > 50, `the new image is nearly empty: ${names.join(" ")}`);
    assert.ok(names.includes("init"), "the new image has no /init");

    const again = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.evidence.outcome, "nothing-to-do", JSON.stringify(falconKal(again.evidence)));
    assert.equal(falconKal(again.evidence).status, "already");
    assert.deepEqual(guestFile(img, IMAGE), rebuilt, "the second run changed the image");
    return { names, action, img };
}

(skipDiskLab() ? describe.skip : describe)(
    "repair engine: the initramfs rebuilt with the real tools of a Debian bookworm guest",
    function () {
        this.timeout(1_800_000);
        before(requireDiskLab);

        it("initramfs-tools (update-initramfs): the new image holds the blacklist beside the module; the old one kept; a second run has nothing to do", () => {
            const { names, action } = rebuildWithRealTool("initramfs-tools", `/usr/sbin/update-initramfs -u -k ${KVER}`);
            assert.ok(names.includes(CONF), `the new image lacks ${CONF}`);
            assert.ok(
                !(action.files as { path: string }[]).some((f) => f.path.startsWith("/etc/dracut.conf.d/")),
                "a dracut file on a guest without dracut",
            );
        });

        it("Debian's dracut, the module added by the guest's dracut.conf.d: our drop-in takes it out, so it is omitted from the new image; the old one kept; a second run has nothing to do", () => {
            const { names, action, img } = rebuildWithRealTool(
                "dracut",
                `/usr/bin/dracut --force --no-hostonly --omit-drivers ${MODULE} --kver ${KVER} /${IMAGE}`,
            );
            assert.ok(!names.some((n) => n.endsWith(`/${MODULE}.ko`)), "the module is still inside");
            // dracut never omits what add_drivers names: the rule's drop-in, created (undo: rm), took it out of the list.
            assert.deepEqual(
                (action.files as { path: string; how: string }[]).find((f) => f.path === DRACUT_CONF),
                { path: DRACUT_CONF, how: "create" },
            );
            assert.match(action.undo, new RegExp(`rm ${DRACUT_CONF}`));
            assert.ok(guestFile(img, DRACUT_CONF.slice(1)));
            assert.match(
                (guestFile(img, "etc/dracut.conf.d/50-falcon.conf") ?? "").toString(),
                /add_drivers\+=" falcon_kal "/,
                "the guest's own file is left",
            );
        });

        it("dracut: our drop-in's path a link out of the volume is refused (exit 5), nothing written; the path holding other text refuses the rule, and nothing of the guest runs", () => {
            const tar = debianRoot("dracut");
            const link = debianGuest(tar, (root) => fs.symlinkSync("/etc/shadow", path.join(root, DRACUT_CONF.slice(1))));
            const before = sha256File(link.img.image);
            const run = runEngine(["--disk", link.img.image, "--rule-set", "falcon-linux-2024"], {}, link.img.image);
            assert.equal(run.code, 5, run.stderr);
            assert.equal(run.evidence.outcome, "unsafe");
            assert.match(run.evidence.message, new RegExp(`${DRACUT_CONF} on the guest is a symbolic link`));
            assert.equal(sha256File(link.img.image), before, "nothing on the disk changed");

            const other = debianGuest(tar, (root) => fs.writeFileSync(path.join(root, DRACUT_CONF.slice(1)), "# the guest's own\n"));
            const run2 = runEngine(["--disk", other.img.image, "--rule-set", "falcon-linux-2024"], {}, other.img.image);
            assert.equal(run2.code, 0, run2.stderr);
            const action = falconKal(run2.evidence);
            assert.equal(action.status, "refused");
            assert.match(action.reason, new RegExp(`${DRACUT_CONF} exists with other contents`));
            assert.deepEqual(guestFile(other.img, IMAGE), other.original, "the image was rebuilt for a refused rule");
            assert.equal((guestFile(other.img, DRACUT_CONF.slice(1)) ?? "").toString(), "# the guest's own\n");
        });
    },
);
