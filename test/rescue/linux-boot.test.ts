// Where GRUB keeps its state on the guests the other Linux tests leave out (#31), on real images on
// loop devices: EL 8 on UEFI, whose /boot/grub2/grubenv is a link to ../efi/EFI/<vendor>/grubenv on
// the EFI partition (followed by its text only, to the fstab's /boot/efi on this disk, and rewritten
// there in place: the same 1024 bytes at the same clusters, nothing else on the partition touched,
// the old bytes kept on the root's quarantine); links of any other shape, or to an EFI partition not
// on this disk, refused with the reason; and an MBR (BIOS) disk, /boot of its own, grub.cfg in
// /boot/grub, on which boot-previous-kernel and blacklist-module work.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireDiskLab, runEngine, sha256File, skipDiskLab } from "./disk-lab";
import { BuiltLinux, buildLinux, efiFile, efiRead, grubenv, grubenvValues, inspect, osRelease, rulesFile } from "./linux-images";

const ROOT_UUID = "7d2e4f60-1a3b-4c5d-8e9f-a0b1c2d3e4f5";
const BOOT_UUID = "8e3f5071-2b4c-4d6e-9fa0-b1c2d3e4f506";
const EFI_SERIAL = "E18A0001";
const MACHINE = "fedcba9876543210fedcba9876543210";
const EL8 = ["4.18.0-553.16.1.el8_10.x86_64", "4.18.0-553.8.1.el8_10.x86_64"];
const DEBIAN = ["6.1.0-25-amd64", "6.1.0-23-amd64"];
const MODULE = "falcon_lsm_serviceable";
const ROLLBACK = { id: "previous-kernel", action: "boot-previous-kernel" };
const BLACKLIST = { id: "falcon-module", action: "blacklist-module", module: MODULE };

const rules = rulesFile;

/** One partition's bytes. */
function partitionBytes(img: BuiltLinux, index: number): Buffer {
    const p = img.partitions[index];
    const fd = fs.openSync(img.image, "r");
    try {
        const buf = Buffer.alloc(p.sizeBytes);
        fs.readSync(fd, buf, 0, p.sizeBytes, p.startBytes);
        return buf;
    } finally {
        fs.closeSync(fd);
    }
}

/** The image's first MiB. */
function firstMiB(file: string): Buffer {
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.alloc(1024 * 1024);
        fs.readSync(fd, buf, 0, buf.length, 0);
        return buf;
    } finally {
        fs.closeSync(fd);
    }
}

const entryId = (k: string) => `${MACHINE}-${k}`;

/**
 * An EL 8 guest on UEFI: EFI partition (grubenv and grub.cfg in EFI/redhat), /boot (BLS entries,
 * grub2/grubenv a link to ../efi/EFI/redhat/grubenv), root on XFS (or, smaller and quicker to build, ext4).
 */
function el8(opts: { rootOnExt4?: boolean } = {}): BuiltLinux {
    const bls = (k: string) =>
        [
            `title Red Hat Enterprise Linux (${k}) 8.10 (Ootpa)`,
            `version ${k}`,
            `linux /vmlinuz-${k}`,
            `initrd /initramfs-${k}.img $tuned_initrd`,
            `options $kernelopts $tuned_params`,
            "id rhel-20240101000000-" + k,
            "grub_users $grub_users",
            "grub_arg --unrestricted",
            "grub_class kernel",
            "",
        ].join("\n");
    const img = buildLinux(
        [
            { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
            {
                kind: "ext4",
                sizeMiB: 40,
                uuid: BOOT_UUID,
                files: [
                    ...EL8.flatMap((k) => [
                        { path: `loader/entries/${entryId(k)}.conf`, content: bls(k) },
                        { path: `vmlinuz-${k}`, content: "kernel" },
                        { path: `initramfs-${k}.img`, content: "not an archive" },
                    ]),
                    { path: "grub2/grubenv", link: "../efi/EFI/redhat/grubenv" },
                ],
            },
            {
                kind: opts.rootOnExt4 ? "ext4" : "xfs",
                sizeMiB: opts.rootOnExt4 ? 40 : 300,
                uuid: ROOT_UUID,
                files: [
                    ...osRelease("Red Hat Enterprise Linux", "rhel", "8.10"),
                    {
                        path: "etc/fstab",
                        content: `UUID=${ROOT_UUID} / ${opts.rootOnExt4 ? "ext4" : "xfs"} defaults 0 0\nUUID=${BOOT_UUID} /boot ext4 defaults 1 2\nUUID=E18A-0001 /boot/efi vfat umask=0077,shortname=winnt 0 2\n`,
                    },
                    { path: "etc/default/grub", content: 'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="rhgb quiet"\nGRUB_ENABLE_BLSCFG=true\n' },
                    ...EL8.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
                ],
            },
        ],
        opts.rootOnExt4 ? 116 : 376,
    );
    efiFile(img, 0, "EFI/redhat/shimx64.efi", "a signed shim\n");
    efiFile(img, 0, "EFI/redhat/grub.cfg", 'load_env -f ${config_directory}/grubenv\nset default="${saved_entry}"\nblscfg\n');
    efiFile(img, 0, "EFI/redhat/grubenv", grubenv({ saved_entry: entryId(EL8[0]), boot_success: "1" }));
    return img;
}

type Action = { action: string; status: string; [key: string]: any };

(skipDiskLab() ? describe.skip : describe)("repair engine: GRUB on the EFI partition (EL 8 on UEFI) and on MBR/BIOS disks", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    it("EL 8 on UEFI: grubenv followed by its link's text to the fstab's /boot/efi, rewritten there in place; nothing else on the partition changes", () => {
        const img = el8();
        const file = rules("el8", [ROLLBACK]);
        const before = sha256File(img.image);
        const espBefore = partitionBytes(img, 0);
        const oldEnv = efiRead(img, 0, "EFI/redhat/grubenv");

        const dry = runEngine(["--disk", img.image, "--rules", file, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(dry.evidence.outcome, "would-repair");
        assert.equal(sha256File(img.image), before, "--dry-run changed the image");
        assert.deepEqual(dry.evidence.linux.defaultBootEntry, {
            grubenv: "/boot/grub2/grubenv",
            grubenvLink: "../efi/EFI/redhat/grubenv",
            grubDefault: "saved",
        });
        const planned: Action = dry.evidence.linux.actions[0];
        assert.equal(planned.status, "would-change");
        assert.equal(planned.grubenvLink, "../efi/EFI/redhat/grubenv");
        assert.equal(planned.grubenvPartition, 1);
        assert.deepEqual(planned.from, { version: EL8[0], entry: entryId(EL8[0]) });
        assert.deepEqual(planned.to, { version: EL8[1], entry: entryId(EL8[1]) });

        const run = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "repaired");
        const done: Action = run.evidence.linux.actions[0];
        assert.equal(done.status, "changed");
        const root = run.evidence.volumes.find((v: { linux: string }) => v.linux === "/");
        const folder = root.quarantineFolder as string;
        assert.match(folder, /^bootloop-rescue\/quarantine\/\d{8}T\d{6}Z$/);
        const kept = `/${folder}/boot/efi/EFI/redhat/grubenv`;
        assert.deepEqual(done.files, [{ path: "/boot/efi/EFI/redhat/grubenv", how: "in-place", backup: kept }]);
        assert.equal(done.undo, `cp ${kept} /boot/efi/EFI/redhat/grubenv`);
        assert.deepEqual(run.evidence.linux.undo, [done.undo]);

        // The new block: the saved entry by id, the run's record of where it came from, the same 1024 bytes.
        const newEnv = efiRead(img, 0, "EFI/redhat/grubenv");
        assert.equal(newEnv.length, 1024);
        assert.deepEqual(grubenvValues(newEnv), {
            saved_entry: entryId(EL8[1]),
            boot_success: "1",
            bootloop_rescue_from: entryId(EL8[0]),
        });
        // In place: the partition differs from before only within the 1024 bytes that held the old
        // block, which now hold the new one (no cluster moved, no directory entry or FAT rewritten).
        const espAfter = partitionBytes(img, 0);
        const at = espAfter.indexOf(Buffer.from(newEnv));
        assert.ok(at > 0, "the new block is on the partition");
        assert.equal(espBefore.subarray(at, at + 1024).toString(), oldEnv, "where the old block was");
        assert.ok(espBefore.subarray(0, at).equals(espAfter.subarray(0, at)), "nothing before it changed");
        assert.ok(espBefore.subarray(at + 1024).equals(espAfter.subarray(at + 1024)), "nothing after it changed");

        // The old bytes are kept on the root volume, in the run's quarantine folder beside its manifest.
        inspect(img, 2, (mnt) => {
            assert.equal(fs.readFileSync(path.join(mnt, kept), "utf8"), oldEnv);
            const manifest = JSON.parse(fs.readFileSync(path.join(mnt, folder, "manifest.json"), "utf8"));
            assert.deepEqual(manifest.undo, [done.undo]);
        });
        inspect(img, 1, (boot) => assert.equal(fs.readlinkSync(path.join(boot, "grub2/grubenv")), "../efi/EFI/redhat/grubenv"));

        const after = sha256File(img.image);
        const again = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.equal(again.evidence.linux.actions[0].status, "already");
        assert.equal(sha256File(img.image), after, "a second run changed the image");
    });

    it("a grubenv link of any other shape, or to an EFI partition not on this disk, is refused with the reason; an oversized grubenv there is unsafe (exit 5)", () => {
        // One image, its link replaced for each shape (on /boot, ext4 here).
        const img = el8({ rootOnExt4: true });
        const setLink = (link: string) =>
            inspect(
                img,
                1,
                (boot) => {
                    fs.unlinkSync(path.join(boot, "grub2/grubenv"));
                    fs.symlinkSync(link, path.join(boot, "grub2/grubenv"));
                },
                [],
                true,
            );
        const setFstab = (from: string, to: string) =>
            inspect(
                img,
                2,
                (root) =>
                    fs.writeFileSync(path.join(root, "etc/fstab"), fs.readFileSync(path.join(root, "etc/fstab"), "utf8").replace(from, to)),
                [],
                true,
            );
        for (const [link, reason] of [
            ["../../../etc/grubenv", /^\/boot\/grub2\/grubenv is a symbolic link, not to \.\.\/efi\/EFI\/<vendor>\/grubenv/],
            ["../efi/EFI/redhat/../../../etc/grubenv", /^\/boot\/grub2\/grubenv is a symbolic link, not to/],
            ["/etc/grub2-efi.cfg", /^\/boot\/grub2\/grubenv is a symbolic link, not to/],
        ] as const) {
            setLink(link);
            const before = sha256File(img.image);
            const run = runEngine(["--disk", img.image, "--rules", rules("el8-link", [ROLLBACK])], {}, img.image);
            assert.equal(run.code, 0, run.stderr);
            const [action] = run.evidence.linux.actions;
            assert.equal(action.status, "refused", link);
            assert.match(action.reason, reason);
            assert.equal(action.grubenvLink, link);
            assert.equal(sha256File(img.image), before, "nothing changed");
        }

        // The right shape, but the fstab's /boot/efi is another disk's partition: not followed.
        setLink("../efi/EFI/redhat/grubenv");
        setFstab("UUID=E18A-0001 /boot/efi", "UUID=0BAD-F00D /boot/efi");
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image, "--rules", rules("el8-elsewhere", [ROLLBACK])], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.linux.actions[0].status, "refused");
        assert.equal(
            run.evidence.linux.actions[0].reason,
            "/boot/grub2/grubenv links to /boot/efi/EFI/redhat/grubenv, but no FAT partition of this disk is the guest's /boot/efi (its fstab): not followed, not changed",
        );
        assert.equal(sha256File(img.image), before, "nothing changed");

        // A grubenv on the EFI partition larger than 64 KiB is no guest's own: the run stops, nothing changed.
        setFstab("UUID=0BAD-F00D /boot/efi", "UUID=E18A-0001 /boot/efi");
        efiFile(img, 0, "EFI/redhat/grubenv", grubenv({ saved_entry: entryId(EL8[0]) }).padEnd(65 * 1024 + 1, "#"));
        const bigBefore = sha256File(img.image);
        const r2 = runEngine(["--disk", img.image, "--rules", rules("el8-big", [ROLLBACK])], {}, img.image);
        assert.equal(r2.code, 5, r2.stderr);
        assert.equal(r2.evidence.outcome, "unsafe");
        assert.match(r2.evidence.message, /^\/boot\/efi\/EFI\/redhat\/grubenv on the guest is larger than 64 KiB/);
        assert.equal(sha256File(img.image), bigBefore, "nothing changed");
    });

    it("MBR/BIOS disk (Debian-like, /boot of its own, grub.cfg in /boot/grub, fstab by PARTUUID): the previous kernel and the module blacklist", () => {
        const simple = `gnulinux-simple-${ROOT_UUID}`;
        const advanced = `gnulinux-advanced-${ROOT_UUID}`;
        const entry = (k: string, id: string, indent: string) =>
            [
                `${indent}menuentry 'Debian GNU/Linux, with Linux ${k}' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option '${id}' {`,
                `${indent}\tinsmod part_msdos`,
                `${indent}\tinsmod ext2`,
                `${indent}\tlinux\t/vmlinuz-${k} root=UUID=${ROOT_UUID} ro  quiet`,
                `${indent}\tinitrd\t/initrd.img-${k}`,
                `${indent}}`,
            ].join("\n");
        const cfg = [
            "if [ -s $prefix/grubenv ]; then\n  load_env\nfi",
            'if [ "${next_entry}" ] ; then\n   set default="${next_entry}"\n   set next_entry=\n   save_env next_entry\nelse\n   set default="0"\nfi',
            entry(DEBIAN[0], simple, "").replace(`Debian GNU/Linux, with Linux ${DEBIAN[0]}`, "Debian GNU/Linux"),
            `submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option '${advanced}' {`,
            ...DEBIAN.map((k) => entry(k, `gnulinux-${k}-advanced-${ROOT_UUID}`, "\t")),
            "}",
            "menuentry 'Memory test (memtest86+.bin)' {\n\tinsmod part_msdos\n\tlinux16\t/memtest86+.bin\n}",
            "",
        ].join("\n");
        const img = buildLinux(
            [
                {
                    kind: "ext4",
                    sizeMiB: 40,
                    uuid: BOOT_UUID,
                    files: [
                        { path: "grub/grub.cfg", content: cfg },
                        { path: "grub/grubenv", content: grubenv({}) },
                        { path: "grub/i386-pc/normal.mod", content: "a BIOS GRUB module" },
                        ...DEBIAN.flatMap((k) => [
                            { path: `vmlinuz-${k}`, content: "kernel" },
                            { path: `initrd.img-${k}`, content: "initramfs" },
                        ]),
                    ],
                },
                {
                    kind: "ext4",
                    sizeMiB: 48,
                    uuid: ROOT_UUID,
                    files: [
                        ...osRelease("Debian GNU/Linux", "debian", "12"),
                        {
                            path: "etc/fstab",
                            content: `PARTUUID=5eed0042-02 / ext4 errors=remount-ro 0 1\nPARTUUID=5eed0042-01 /boot ext4 defaults 0 2\n`,
                        },
                        { path: "etc/modprobe.d", dir: true },
                        {
                            path: "etc/default/grub",
                            content: 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n',
                        },
                        ...DEBIAN.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
                    ],
                },
            ],
            90,
            { table: "msdos", diskId: "5eed0042" },
        );
        assert.match(execFileSync("sfdisk", ["--dump", img.image], { encoding: "utf8" }), /label: dos/);
        const before = sha256File(img.image);
        const headBefore = firstMiB(img.image);
        const file = rules("mbr", [ROLLBACK, BLACKLIST]);
        const dry = runEngine(["--disk", img.image, "--rules", file, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(dry.evidence.disk.partitionTable, "mbr");
        assert.deepEqual(dry.evidence.linux.fstab["/"], { spec: "PARTUUID=5eed0042-02", type: "ext4", partition: 2 });
        assert.deepEqual(dry.evidence.linux.fstab["/boot"], { spec: "PARTUUID=5eed0042-01", type: "ext4", partition: 1 });
        assert.equal(sha256File(img.image), before, "--dry-run changed the image");

        const run = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "repaired");
        assert.deepEqual(
            run.evidence.linux.actions.map((a: Action) => [a.action, a.status]),
            [
                ["boot-previous-kernel", "changed"],
                ["blacklist-module", "changed"],
            ],
        );
        const [rollback] = run.evidence.linux.actions;
        assert.deepEqual(rollback.from, { version: DEBIAN[0], entry: simple });
        assert.deepEqual(rollback.to, { version: DEBIAN[1], entry: `${advanced}>gnulinux-${DEBIAN[1]}-advanced-${ROOT_UUID}` });
        inspect(img, 0, (boot) => {
            const env = fs.readFileSync(path.join(boot, "grub/grubenv"), "utf8");
            assert.equal(env.length, 1024);
            assert.equal(grubenvValues(env).saved_entry, `${advanced}>gnulinux-${DEBIAN[1]}-advanced-${ROOT_UUID}`);
            const text = fs.readFileSync(path.join(boot, "grub/grub.cfg"), "utf8");
            assert.match(text, /else\n {3}set default="\$\{saved_entry\}"\nfi/);
            const kernelLines = text.split("\n").filter((l) => /^\s*linux\t\/vmlinuz-/.test(l));
            assert.equal(kernelLines.length, 3);
            for (const line of kernelLines) assert.ok(line.endsWith(` module_blacklist=${MODULE}`), line);
            assert.match(text, /\tlinux16\t\/memtest86\+\.bin\n/, "the BIOS memory test's line takes no kernel parameter");
            assert.equal(fs.readFileSync(path.join(boot, "grub/i386-pc/normal.mod"), "utf8"), "a BIOS GRUB module");
        });
        inspect(img, 1, (root) => {
            const defaults = fs.readFileSync(path.join(root, "etc/default/grub"), "utf8");
            assert.match(defaults, /^GRUB_DEFAULT="saved"$/m);
            assert.match(defaults, new RegExp(`^GRUB_CMDLINE_LINUX="module_blacklist=${MODULE}"$`, "m"));
            assert.ok(fs.existsSync(path.join(root, `etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`)));
        });
        // The first MiB (the MBR's boot code, table and signature, and the BIOS GRUB's core image after it) is never written.
        assert.ok(firstMiB(img.image).equals(headBefore));

        const after = sha256File(img.image);
        const again = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.equal(sha256File(img.image), after, "a second run changed the image");
    });

    it("MBR/BIOS disk, EL 8-like (BLS entries, a grubenv of its own in /boot/grub2, no EFI partition): the previous kernel and the module blacklist", () => {
        const bls = (k: string) =>
            [
                `title Red Hat Enterprise Linux (${k}) 8.10 (Ootpa)`,
                `version ${k}`,
                `linux /vmlinuz-${k}`,
                `initrd /initramfs-${k}.img`,
                "options $kernelopts",
                "",
            ].join("\n");
        const img = buildLinux(
            [
                {
                    kind: "ext4",
                    sizeMiB: 40,
                    uuid: BOOT_UUID,
                    files: [
                        ...EL8.flatMap((k) => [
                            { path: `loader/entries/${entryId(k)}.conf`, content: bls(k) },
                            { path: `vmlinuz-${k}`, content: "kernel" },
                            { path: `initramfs-${k}.img`, content: "not an archive" },
                        ]),
                        {
                            path: "grub2/grubenv",
                            content: grubenv({ saved_entry: entryId(EL8[0]), kernelopts: `root=UUID=${ROOT_UUID} ro quiet` }),
                        },
                        { path: "grub2/grub.cfg", content: 'load_env\nset default="${saved_entry}"\ninsmod part_msdos\nblscfg\n' },
                        { path: "grub2/i386-pc/normal.mod", content: "a BIOS GRUB module" },
                    ],
                },
                {
                    kind: "ext4",
                    sizeMiB: 40,
                    uuid: ROOT_UUID,
                    files: [
                        ...osRelease("Red Hat Enterprise Linux", "rhel", "8.10"),
                        {
                            path: "etc/fstab",
                            content: `UUID=${ROOT_UUID} / ext4 defaults 0 0\nUUID=${BOOT_UUID} /boot ext4 defaults 1 2\n`,
                        },
                        {
                            path: "etc/default/grub",
                            content: 'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="rhgb quiet"\nGRUB_ENABLE_BLSCFG=true\n',
                        },
                        { path: "etc/modprobe.d", dir: true },
                        ...EL8.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
                    ],
                },
            ],
            82,
            { table: "msdos", diskId: "e18b1050" },
        );
        const headBefore = firstMiB(img.image);
        const run = runEngine(["--disk", img.image, "--rules", rules("mbr-el8", [ROLLBACK, BLACKLIST])], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.disk.partitionTable, "mbr");
        assert.deepEqual(
            run.evidence.linux.actions.map((a: Action) => [a.action, a.status]),
            [
                ["boot-previous-kernel", "changed"],
                ["blacklist-module", "changed"],
            ],
        );
        const [rollback, blacklist] = run.evidence.linux.actions;
        assert.equal(rollback.bootLoaderSpec, true);
        assert.deepEqual(rollback.to, { version: EL8[1], entry: entryId(EL8[1]) });
        assert.deepEqual(
            rollback.files.map((f: { path: string; how: string }) => [f.path, f.how]),
            [["/boot/grub2/grubenv", "in-place"]],
            "GRUB_DEFAULT is saved and grub.cfg reads saved_entry already: only grubenv changes",
        );
        assert.deepEqual(
            blacklist.files.map((f: { path: string }) => f.path).sort(),
            [
                "/boot/loader/entries/" + `${entryId(EL8[0])}.conf`,
                "/boot/loader/entries/" + `${entryId(EL8[1])}.conf`,
                "/etc/default/grub",
                `/etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`,
            ].sort(),
        );
        inspect(img, 0, (boot) => {
            const env = fs.readFileSync(path.join(boot, "grub2/grubenv"), "utf8");
            assert.equal(env.length, 1024);
            assert.equal(grubenvValues(env).saved_entry, entryId(EL8[1]));
            for (const k of EL8)
                assert.match(
                    fs.readFileSync(path.join(boot, `loader/entries/${entryId(k)}.conf`), "utf8"),
                    new RegExp(`^options \\$kernelopts module_blacklist=${MODULE}$`, "m"),
                );
            assert.equal(
                fs.readFileSync(path.join(boot, "grub2/grub.cfg"), "utf8"),
                'load_env\nset default="${saved_entry}"\ninsmod part_msdos\nblscfg\n',
            );
        });
        assert.ok(firstMiB(img.image).equals(headBefore), "the MBR and the BIOS GRUB's core image after it are never written");
    });
});
