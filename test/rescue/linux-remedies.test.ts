// The repair engine's Linux remedies (#31) on real images on loop devices: file rules quarantining
// on the volume a file lives on, boot-previous-kernel (by saved entry id: grub.cfg's entries on a
// Debian/Ubuntu-like ext4, BLS entries on a RHEL-like XFS with /boot of its own and an EFI stub
// grub.cfg that is never touched), blacklist-module (modprobe.d, module_blacklist= on every kernel
// command line, the initramfs read to say whether the module is inside), the falcon-linux-2024
// rule set; dry runs change nothing, second runs report what the first did, and hostile guests
// (links out of the volume, FIFOs) are refused.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { requireDiskLab, runEngine, sha256File, sha256Text, skipDiskLab, workDir } from "./disk-lab";
import {
    BuiltLinux,
    LinuxFile,
    buildLinux,
    efiFile,
    efiRead,
    grubenv,
    grubenvValues,
    initramfs,
    inspect,
    sha256Partition,
    osRelease,
    rulesFile,
} from "./linux-images";

const ROOT_UUID = "5b0e2c1a-8f3d-4e6a-9b7c-1d2e3f4a5b6c";
const BOOT_UUID = "6c1f3d2b-9a4e-4f7b-8c8d-2e3f4a5b6c7d";
const EFI_SERIAL = "C0FFEE42";
const MACHINE = "0123456789abcdef0123456789abcdef";
const MODULE = "falcon_lsm_serviceable";
const BAD = "a faulty sensor build\n";
const GOOD = "the fixed sensor build\n";

const rules = rulesFile;

const FILE_RULE = { id: "falcon-bad-build", path: "opt/CrowdStrike/falcon-sensor-*", sha256: [sha256Text(BAD)] };
const ROLLBACK = { id: "previous-kernel", action: "boot-previous-kernel" };
const BLACKLIST = { id: "falcon-module", action: "blacklist-module", module: MODULE };

/** An Ubuntu-like grub.cfg as grub-mkconfig writes it for GRUB_DEFAULT=0: the newest kernel first, then a submenu. */
function ubuntuGrubCfg(kernels: string[]): string {
    const entry = (k: string, id: string, indent: string, extra = "") =>
        [
            `${indent}menuentry 'Ubuntu, with Linux ${k}${extra ? " (recovery mode)" : ""}' --class ubuntu $menuentry_id_option '${id}' {`,
            `${indent}\trecordfail`,
            `${indent}\tlinux\t/boot/vmlinuz-${k} root=UUID=${ROOT_UUID} ro ${extra || "quiet splash $vt_handoff"}`,
            `${indent}\tinitrd\t/boot/initrd.img-${k}`,
            `${indent}}`,
        ].join("\n");
    const [newest] = kernels;
    return [
        "if [ -s $prefix/grubenv ]; then",
        "  set have_grubenv=true",
        "  load_env",
        "fi",
        'if [ "${next_entry}" ] ; then',
        '   set default="${next_entry}"',
        "   set next_entry=",
        "   save_env next_entry",
        "else",
        '   set default="0"',
        "fi",
        "function load_video {",
        "  insmod all_video",
        "}",
        entry(newest, `gnulinux-simple-${ROOT_UUID}`, "").replace(`Ubuntu, with Linux ${newest}`, "Ubuntu"),
        `submenu 'Advanced options for Ubuntu' $menuentry_id_option 'gnulinux-advanced-${ROOT_UUID}' {`,
        ...kernels.flatMap((k) => [
            entry(k, `gnulinux-${k}-advanced-${ROOT_UUID}`, "\t"),
            entry(k, `gnulinux-${k}-recovery-${ROOT_UUID}`, "\t", "recovery nomodeset"),
        ]),
        "}",
        "",
    ].join("\n");
}

/** An Ubuntu-like guest on one ext4 root (GPT + EFI), /boot on the root, two kernels. */
function ubuntu(opts: { olderInitramfs?: boolean; extra?: LinuxFile[] } = {}): { img: BuiltLinux; kernels: string[] } {
    const kernels = ["6.8.0-45-generic", "6.8.0-40-generic"];
    const img = buildLinux(
        [
            {
                kind: "efi",
                sizeMiB: 33,
                serial: EFI_SERIAL,
            },
            {
                kind: "ext4",
                sizeMiB: 48,
                uuid: ROOT_UUID,
                files: [
                    ...osRelease("Ubuntu", "ubuntu", "24.04"),
                    { path: "etc/fstab", content: `UUID=${ROOT_UUID}\t/\text4\tdefaults\t0 1\n` },
                    { path: "etc/systemd/system", dir: true },
                    { path: "etc/modprobe.d", dir: true },
                    {
                        path: "etc/default/grub",
                        content: 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\nGRUB_CMDLINE_LINUX=""\n',
                    },
                    { path: "boot/grub/grub.cfg", content: ubuntuGrubCfg(kernels) },
                    { path: "boot/grub/grubenv", content: grubenv({}) },
                    { path: "opt/CrowdStrike/falcon-sensor-7.13", content: BAD },
                    { path: "opt/CrowdStrike/falcon-sensor-7.14", content: GOOD },
                    ...kernels.flatMap((k) => [
                        { path: `lib/modules/${k}/modules.dep`, content: "" },
                        { path: `boot/vmlinuz-${k}`, content: "kernel" },
                    ]),
                    ...(opts.extra ?? []),
                ],
            },
        ],
        84,
    );
    efiFile(img, 0, "EFI/ubuntu/grub.cfg", "configfile $prefix/grub.cfg\n");
    inspect(
        img,
        1,
        (root) => {
            // The newest kernel's initramfs holds the module (zstd, with an early microcode archive); the older one does not (gzip).
            fs.writeFileSync(
                path.join(root, `boot/initrd.img-${kernels[0]}`),
                initramfs({ [`usr/lib/modules/${kernels[0]}/extra/${MODULE}.ko.zst`]: "module", init: "#!/bin/sh\n" }, "zstd"),
            );
            if (opts.olderInitramfs !== false)
                fs.writeFileSync(path.join(root, `boot/initrd.img-${kernels[1]}`), initramfs({ init: "#!/bin/sh\n" }, "gzip"));
        },
        [],
        true,
    );
    return { img, kernels };
}

type Action = { action: string; status: string; [key: string]: any };
const statuses = (evidence: Record<string, any>) => evidence.linux.actions.map((a: Action) => [a.action, a.status]);

(skipDiskLab() ? describe.skip : describe)("repair engine: Linux remedies (file rules, previous kernel, module blacklist)", function () {
    this.timeout(180_000);
    before(requireDiskLab);

    it("Ubuntu-like ext4: quarantines the file, boots the previous kernel by its saved entry id, blacklists the module; a second run reports the first", () => {
        const { img, kernels } = ubuntu();
        const file = rules("ubuntu", [FILE_RULE, ROLLBACK, BLACKLIST]);
        const before = sha256File(img.image);
        const efiBefore = sha256Partition(img, 0);

        const dry = runEngine(["--disk", img.image, "--rules", file, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(dry.evidence.outcome, "would-repair");
        assert.equal(sha256File(img.image), before, "--dry-run changed the image");
        assert.deepEqual(statuses(dry.evidence), [
            ["boot-previous-kernel", "would-change"],
            ["blacklist-module", "would-change"],
        ]);
        const [volume] = dry.evidence.volumes;
        assert.equal(volume.partition, 2);
        assert.equal(volume.linux, "/");
        assert.deepEqual(
            volume.matches.map((m: { path: string; action: string }) => [m.path, m.action]),
            [
                ["opt/CrowdStrike/falcon-sensor-7.13", "would-quarantine"],
                ["opt/CrowdStrike/falcon-sensor-7.14", "kept"],
            ],
        );
        const rollback = dry.evidence.linux.actions[0];
        assert.deepEqual(rollback.from, { version: kernels[0], entry: `gnulinux-simple-${ROOT_UUID}` });
        assert.deepEqual(rollback.to, {
            version: kernels[1],
            entry: `gnulinux-advanced-${ROOT_UUID}>gnulinux-${kernels[1]}-advanced-${ROOT_UUID}`,
        });
        const blacklist = dry.evidence.linux.actions[1];
        assert.deepEqual(blacklist.initramfs, [
            {
                path: `/boot/initrd.img-${kernels[0]}`,
                stored: ["cpio", "zstd"],
                contains: [`usr/lib/modules/${kernels[0]}/extra/${MODULE}.ko.zst`],
            },
            { path: `/boot/initrd.img-${kernels[1]}`, stored: ["cpio", "gzip"], contains: [] },
        ]);
        assert.match(blacklist.initramfsNotRebuilt, /the guest has neither dracut nor update-initramfs/);

        const run = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "repaired");
        assert.deepEqual(statuses(run.evidence), [
            ["boot-previous-kernel", "changed"],
            ["blacklist-module", "changed"],
        ]);
        const folder = run.evidence.volumes[0].quarantineFolder as string;
        assert.match(folder, /^bootloop-rescue\/quarantine\/\d{8}T\d{6}Z$/);
        const undo = run.evidence.linux.undo as string[];
        // In the order to run: the module's edits of grub.cfg and /etc/default/grub came after the rollback's, so they are undone first.
        const stamp = folder.split("/").pop();
        assert.deepEqual(undo, [
            `mv /boot/grub/grub.cfg.bootloop-rescue-${stamp}-2 /boot/grub/grub.cfg && mv /etc/default/grub.bootloop-rescue-${stamp}-2 /etc/default/grub && rm /etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`,
            `mv /boot/grub/grub.cfg.bootloop-rescue-${stamp} /boot/grub/grub.cfg && mv /etc/default/grub.bootloop-rescue-${stamp} /etc/default/grub && cp /boot/grub/grubenv.bootloop-rescue-${stamp} /boot/grub/grubenv`,
        ]);
        inspect(img, 1, (root) => {
            assert.equal(fs.readFileSync(path.join(root, folder, "opt/CrowdStrike/falcon-sensor-7.13"), "utf8"), BAD);
            assert.ok(!fs.existsSync(path.join(root, "opt/CrowdStrike/falcon-sensor-7.13")));
            assert.equal(fs.readFileSync(path.join(root, "opt/CrowdStrike/falcon-sensor-7.14"), "utf8"), GOOD);
            const manifest = JSON.parse(fs.readFileSync(path.join(root, folder, "manifest.json"), "utf8"));
            assert.deepEqual(
                manifest.actions.map((a: Action) => a.action),
                ["boot-previous-kernel", "blacklist-module"],
            );
            // grubenv: rewritten in place at its 1024 bytes, the saved entry by id (never a menu index).
            const env = fs.readFileSync(path.join(root, "boot/grub/grubenv"), "utf8");
            assert.equal(env.length, 1024);
            assert.equal(grubenvValues(env).saved_entry, `gnulinux-advanced-${ROOT_UUID}>gnulinux-${kernels[1]}-advanced-${ROOT_UUID}`);
            const cfg = fs.readFileSync(path.join(root, "boot/grub/grub.cfg"), "utf8");
            assert.match(cfg, /else\n {3}set default="\$\{saved_entry\}"\nfi/);
            assert.match(cfg, /set default="\$\{next_entry\}"/, "the one-time next_entry is kept");
            const linuxLines = cfg.split("\n").filter((l) => /^\s*linux\t/.test(l));
            assert.equal(linuxLines.length, 5);
            for (const line of linuxLines) assert.ok(line.endsWith(` module_blacklist=${MODULE}`), line);
            const defaults = fs.readFileSync(path.join(root, "etc/default/grub"), "utf8");
            assert.match(defaults, /^GRUB_DEFAULT="saved"$/m);
            assert.match(defaults, new RegExp(`^GRUB_CMDLINE_LINUX="module_blacklist=${MODULE}"$`, "m"));
            assert.equal(
                fs
                    .readFileSync(path.join(root, `etc/modprobe.d/bootloop-rescue-blacklist-${MODULE}.conf`), "utf8")
                    .split("\n")
                    .slice(1)
                    .join("\n"),
                `blacklist ${MODULE}\ninstall ${MODULE} /bin/false\n`,
            );
            const backup = run.evidence.linux.actions[0].files.find((f: { path: string }) => f.path === "/boot/grub/grubenv").backup;
            assert.equal(fs.readFileSync(path.join(root, backup), "utf8"), grubenv({}), "grubenv's old bytes are kept beside it");
        });
        assert.equal(sha256Partition(img, 0), efiBefore, "the EFI partition is never written");

        const after = sha256File(img.image);
        const again = runEngine(["--disk", img.image, "--rules", file], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.deepEqual(statuses(again.evidence), [
            ["boot-previous-kernel", "already"],
            ["blacklist-module", "already"],
        ]);
        // What on-rescue.sh reads to report the earlier repair's evidence for a request sent again.
        assert.deepEqual(again.evidence.volumes[0].earlierQuarantines, [folder]);
        assert.equal(sha256File(img.image), after, "a second run changed the image");
    });

    it("a rollback whose target kernel lacks its initramfs is refused with the reason, and nothing changes", () => {
        const { img, kernels } = ubuntu({ olderInitramfs: false });
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image, "--rules", rules("no-initramfs", [ROLLBACK])], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "nothing-to-do");
        const [action] = run.evidence.linux.actions;
        assert.equal(action.status, "refused");
        assert.equal(
            action.reason,
            `no kernel older than the default ${kernels[0]} has its image, initramfs and /lib/modules (${kernels[1]}: lacks its initramfs)`,
        );
        assert.match(run.evidence.message, /refused \(linux\.actions says why\): previous-kernel/);
        assert.equal(sha256File(img.image), before, "nothing on the disk changed");

        // A FIFO where the older kernel's initramfs should be is no initramfs (and is never opened).
        const fifo = ubuntu({ olderInitramfs: false, extra: [{ path: `boot/initrd.img-${kernels[1]}`, fifo: true }] }).img;
        const r2 = runEngine(
            ["--disk", fifo.image, "--rules", rules("fifo-initramfs", [ROLLBACK, BLACKLIST]), "--dry-run"],
            {},
            fifo.image,
        );
        assert.equal(r2.code, 0, r2.stderr);
        assert.equal(r2.evidence.linux.actions[0].status, "refused");
        assert.match(r2.evidence.linux.actions[0].reason, new RegExp(`${kernels[1]}: lacks its initramfs`));
        assert.deepEqual(
            r2.evidence.linux.actions[1].initramfs.map((i: { path: string }) => i.path),
            [`/boot/initrd.img-${kernels[0]}`],
            "only the regular initramfs is read",
        );
    });

    it("RHEL-like XFS with BLS entries, /boot of its own and an EFI stub grub.cfg: falcon-linux-2024, then the previous kernel; the stub is never touched", () => {
        const kernels = ["5.14.0-427.16.1.el9_4.x86_64", "5.14.0-427.13.1.el9_4.x86_64"];
        const entryId = (k: string) => `${MACHINE}-${k}`;
        const bls = (k: string) =>
            [
                `title Red Hat Enterprise Linux (${k}) 9.4 (Plow)`,
                `version ${k}`,
                `linux /vmlinuz-${k}`,
                `initrd /initramfs-${k}.img $tuned_initrd`,
                `options root=UUID=${ROOT_UUID} ro crashkernel=1G-4G:192M rhgb quiet`,
                "grub_users $grub_users",
                "grub_arg --unrestricted",
                "grub_class rhel",
                "",
            ].join("\n");
        const stub = `search --no-floppy --fs-uuid --set=dev ${BOOT_UUID}\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n`;
        const img = buildLinux(
            [
                { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                {
                    kind: "xfs",
                    sizeMiB: 300,
                    uuid: BOOT_UUID,
                    files: [
                        ...kernels.flatMap((k) => [
                            { path: `loader/entries/${entryId(k)}.conf`, content: bls(k) },
                            { path: `vmlinuz-${k}`, content: "kernel" },
                            { path: `initramfs-${k}.img`, content: "not an archive" },
                        ]),
                        {
                            path: `loader/entries/${MACHINE}-0-rescue.conf`,
                            content: bls("0-rescue").replace("version 0-rescue", "version 5.14.0-0-rescue"),
                        },
                        { path: "grub2/grubenv", content: grubenv({ saved_entry: entryId(kernels[0]), boot_success: "0" }) },
                        { path: "crowdstrike-bad.bin", content: BAD },
                        {
                            path: "grub2/grub.cfg",
                            content:
                                'load_env\nif [ "${next_entry}" ] ; then\n   set default="${next_entry}"\nelse\n   set default="${saved_entry}"\nfi\nblscfg\n',
                        },
                    ],
                },
                {
                    kind: "xfs",
                    sizeMiB: 300,
                    uuid: ROOT_UUID,
                    files: [
                        ...osRelease("Red Hat Enterprise Linux", "rhel", "9.4"),
                        {
                            path: "etc/fstab",
                            content: `UUID=${ROOT_UUID} / xfs defaults 0 0\nUUID=${BOOT_UUID} /boot xfs defaults 0 0\nUUID=C0FF-EE42 /boot/efi vfat umask=0077 0 2\n`,
                        },
                        { path: "etc/systemd/system", dir: true },
                        { path: "etc/modprobe.d", dir: true },
                        {
                            path: "etc/default/grub",
                            content:
                                'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M rhgb quiet"\nGRUB_ENABLE_BLSCFG=true\n',
                        },
                        { path: "etc/kernel/cmdline", content: `root=UUID=${ROOT_UUID} ro rhgb quiet\n` },
                        ...kernels.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
                    ],
                },
            ],
            636,
        );
        efiFile(img, 0, "EFI/redhat/grub.cfg", stub);
        const efiBefore = sha256Partition(img, 0);
        const falcon = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
        assert.equal(falcon.code, 0, falcon.stderr);
        assert.equal(falcon.evidence.outcome, "repaired");
        assert.deepEqual(statuses(falcon.evidence), [
            ["mask-service", "changed"],
            ["blacklist-module", "changed"],
            ["blacklist-module", "changed"],
            ["blacklist-module", "changed"],
        ]);
        assert.equal(falcon.evidence.linux.fstab["/boot"].partition, 2);
        assert.deepEqual(
            falcon.evidence.volumes.map((v: { partition: number; linux: string }) => [v.partition, v.linux]),
            [
                [3, "/"],
                [2, "/boot"],
            ],
        );
        assert.equal(
            falcon.evidence.linux.actions[1].initramfs[0].unreadable,
            "neither a cpio archive nor a compression this engine reads",
        );
        inspect(img, 1, (boot) => {
            for (const k of kernels) {
                const text = fs.readFileSync(path.join(boot, `loader/entries/${entryId(k)}.conf`), "utf8");
                // One module_blacklist= with all three: the kernel keeps only the last such parameter.
                assert.match(
                    text,
                    new RegExp(
                        `^options root=UUID=${ROOT_UUID} ro crashkernel=1G-4G:192M rhgb quiet module_blacklist=falcon_lsm_serviceable,falcon_nf_netcontain,falcon_kal$`,
                        "m",
                    ),
                );
            }
        });

        // A file rule for a file on /boot: quarantined on the /boot partition, where it lives.
        const bootFile = { id: "boot-file", path: "boot/crowdstrike-*.bin", sha256: [sha256Text(BAD)], os: "linux" };
        const run = runEngine(["--disk", img.image, "--rules", rules("rhel", [ROLLBACK, bootFile])], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        const [rollback] = run.evidence.linux.actions;
        assert.equal(rollback.status, "changed");
        assert.equal(rollback.bootLoaderSpec, true);
        assert.deepEqual(rollback.to, { version: kernels[1], entry: entryId(kernels[1]) });
        assert.deepEqual(
            rollback.files.map((f: { path: string; how: string }) => [f.path, f.how]),
            [["/boot/grub2/grubenv", "in-place"]],
            "GRUB_DEFAULT is saved and grub.cfg reads saved_entry already: only grubenv changes",
        );
        const bootVolume = run.evidence.volumes[1];
        assert.deepEqual(
            bootVolume.matches.map((m: { path: string; action: string }) => [m.path, m.action]),
            [["crowdstrike-bad.bin", "quarantined"]],
        );
        inspect(img, 1, (boot) => {
            assert.equal(fs.readFileSync(path.join(boot, bootVolume.quarantineFolder, "crowdstrike-bad.bin"), "utf8"), BAD);
            assert.ok(!fs.existsSync(path.join(boot, "crowdstrike-bad.bin")));
            const env = fs.readFileSync(path.join(boot, "grub2/grubenv"), "utf8");
            assert.equal(env.length, 1024);
            assert.deepEqual(grubenvValues(env), {
                saved_entry: entryId(kernels[1]),
                boot_success: "0",
                bootloop_rescue_from: entryId(kernels[0]),
            });
        });
        inspect(img, 2, (root) => {
            assert.equal(fs.readlinkSync(path.join(root, "etc/systemd/system/falcon-sensor.service")), "/dev/null");
            // What kernel-install gives a kernel installed later.
            assert.equal(
                fs.readFileSync(path.join(root, "etc/kernel/cmdline"), "utf8"),
                `root=UUID=${ROOT_UUID} ro rhgb quiet module_blacklist=falcon_lsm_serviceable,falcon_nf_netcontain,falcon_kal\n`,
            );
        });
        assert.equal(sha256Partition(img, 0), efiBefore, "the EFI partition (its stub grub.cfg) is never written");
        assert.equal(efiRead(img, 0, "EFI/redhat/grub.cfg"), stub);

        const again = runEngine(["--disk", img.image, "--rules", rules("rhel", [ROLLBACK, bootFile])], {}, img.image);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.equal(again.evidence.linux.actions[0].status, "already");
        assert.deepEqual(
            again.evidence.volumes.map((v: { earlierQuarantines: string[] }) => v.earlierQuarantines.length),
            [2, 1],
            "the root keeps both runs' records (rule set, rollback), /boot the folder of the file moved there",
        );
        assert.ok(again.evidence.volumes[1].earlierQuarantines.includes(bootVolume.quarantineFolder));
    });

    it("hostile guests: links out of the volume in /etc/modprobe.d and /boot/loader/entries, a FIFO as /etc/default/grub: refused (exit 5), nothing written, nothing opened", () => {
        const outside = fs.mkdtempSync(path.join(workDir, "outside-"));
        const base = (extra: LinuxFile[]) =>
            buildLinux(
                [
                    {
                        kind: "ext4",
                        sizeMiB: 40,
                        uuid: ROOT_UUID,
                        files: [
                            ...osRelease("Debian GNU/Linux", "debian", "12"),
                            { path: "etc/fstab", content: `UUID=${ROOT_UUID}\t/\text4\tdefaults\t0 1\n` },
                            { path: "lib/modules/6.1.0-25-amd64/modules.dep", content: "" },
                            { path: "boot/grub/grubenv", content: grubenv({}) },
                            ...extra,
                        ],
                    },
                ],
                42,
            );
        const links = base([
            { path: "etc/modprobe.d", link: outside },
            { path: "boot/loader/entries", link: outside },
            { path: "boot/grub/grub.cfg", content: "" },
            { path: "bootloop-rescue", link: outside },
            { path: "opt/CrowdStrike/falcon-sensor-1", content: BAD },
            { path: "opt/CrowdStrike/falcon-sensor-2", link: path.join(outside, "elsewhere") },
        ]);
        const before = sha256File(links.image);
        for (const [rule, message] of [
            [BLACKLIST, /^\/etc\/modprobe\.d on the guest is a symbolic link; refusing to write a modprobe\.d file through it$/],
            [ROLLBACK, /^\/boot\/loader\/entries on the guest is a symbolic link; refusing to read the boot entries through it$/],
        ] as const) {
            const run = runEngine(["--disk", links.image, "--rules", rules("hostile", [rule])], {}, links.image);
            assert.equal(run.code, 5, run.stderr);
            assert.equal(run.evidence.outcome, "unsafe");
            assert.match(run.evidence.message, message);
        }
        assert.deepEqual(fs.readdirSync(outside), [], "nothing was made outside the volume");
        assert.equal(sha256File(links.image), before, "nothing on the disk changed");
        // A file rule: the quarantine is never made through the guest's link (the link among the matches is never followed).
        const quarantine = runEngine(["--disk", links.image, "--rules", rules("hostile-file", [FILE_RULE])], {}, links.image);
        assert.equal(quarantine.code, 5, quarantine.stderr);
        assert.match(
            quarantine.evidence.message,
            /^bootloop-rescue on the volume is a symbolic link; refusing to create the quarantine through it/,
        );
        assert.deepEqual(fs.readdirSync(outside), [], "nothing was made outside the volume");
        inspect(links, 0, (root) => {
            assert.equal(fs.readFileSync(path.join(root, "opt/CrowdStrike/falcon-sensor-1"), "utf8"), BAD, "nothing was moved");
            assert.equal(fs.readlinkSync(path.join(root, "opt/CrowdStrike/falcon-sensor-2")), path.join(outside, "elsewhere"));
        });

        fs.writeFileSync(path.join(outside, "evil.conf"), "options init=/bin/sh\n");
        const fifo = base([
            { path: "etc/modprobe.d", dir: true },
            { path: "etc/default/grub", fifo: true },
            { path: "boot/loader/entries/x.conf", link: path.join(outside, "evil.conf") },
        ]);
        const r1 = runEngine(["--disk", fifo.image, "--rules", rules("fifo", [BLACKLIST])], {}, fifo.image);
        assert.equal(r1.code, 5, r1.stderr);
        assert.match(
            r1.evidence.message,
            /^\/etc\/default\/grub on the guest is not a regular file; refusing to read \/etc\/default\/grub through it$/,
        );
        const r2 = runEngine(["--disk", fifo.image, "--rules", rules("bls-link", [ROLLBACK])], {}, fifo.image);
        assert.equal(r2.code, 5, r2.stderr);
        assert.match(r2.evidence.message, /^\/boot\/loader\/entries\/x\.conf on the guest is a symbolic link/);
        assert.equal(fs.readFileSync(path.join(outside, "evil.conf"), "utf8"), "options init=/bin/sh\n");
    });
});
