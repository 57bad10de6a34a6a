// Linux guests on LVM (#31): real volume groups made by lvm2's own tools (pvcreate, vgcreate,
// vgcfgrestore: test/rescue/make_lvm.py) on loop devices. This kernel has no device-mapper, and the
// engine never uses it: it reads the PV label and the volume group's text metadata itself and maps
// each single-segment linear volume with a loop device at its offset in the disk ("single-segment
// volumes mapped with loop offsets"), which is how these tests make and inspect the volumes' file
// systems too. A RHEL-like guest (root on rhel/root, fstab by /dev/mapper) and an Ubuntu-like one
// (ubuntu-vg/ubuntu-lv, fstab by dm-uuid and by /dev/mapper with doubled dashes) are repaired; two
// disks with the same VG name and uuids are repaired one after the other; what is not mapped (two
// segments, a VG spanning disks, thin volumes, a bad checksum) is refused with its reason, and
// crafted metadata (oversized, too deeply nested, offsets past the partition) as unsafe.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { requireDiskLab, runEngine, sha256File, skipDiskLab } from "./disk-lab";
import {
    BuiltLinux,
    LinuxFile,
    LinuxLv,
    LinuxVg,
    buildLinux,
    grubenv,
    grubenvValues,
    inspect,
    lvOf,
    osRelease,
    rulesFile,
} from "./linux-images";

const ROOT_UUID = "5a1e0c2d-3b4f-4a6e-8d7c-9b0a1f2e3d4c";
const BOOT_UUID = "6b2f1d3e-4c5a-4b7f-9e8d-0c1b2a3f4e5d";
const SWAP_UUID = "7c3a2e4f-5d6b-4c8a-8f9e-1d2c3b4a5f6e";
const EFI_SERIAL = "C0DE0042";
const MACHINE = "0123456789abcdef0123456789abcdef";
const EL9 = ["5.14.0-427.16.1.el9_4.x86_64", "5.14.0-427.13.1.el9_4.x86_64"];
const VG_UUID = "rHeLvG-0000-1111-2222-3333-4444-555566";
const PV_UUID = "rHeLpV-0000-1111-2222-3333-4444-555566";
const ROOT_LV_UUID = "rHeLlV-0000-1111-2222-3333-4444-555566";

const entryId = (k: string) => `${MACHINE}-${k}`;
const plain = (u: string) => u.replace(/-/g, "");

const rules = rulesFile;

/**
 * Runs falcon-linux-2024 on `image` and asserts it is refused as `outcome` with exit `code` and a
 * message matching `message`, the image byte for byte as it was; `label` names the case.
 */
function refusedUnchanged(image: string, code: number, outcome: string, message: RegExp | string, label = ""): void {
    const before = sha256File(image);
    const run = runEngine(["--disk", image, "--rule-set", "falcon-linux-2024"], {}, image);
    assert.equal(run.code, code, `${label}: ${run.stderr}`);
    assert.equal(run.evidence.outcome, outcome, label);
    if (typeof message === "string") assert.equal(run.evidence.message, message, label);
    else assert.match(run.evidence.message, message, label);
    assert.equal(sha256File(image), before, `${label}: the image changed`);
}

/** The RHEL 9 root's files, its fstab naming / as `rootSpec`. */
function rhelRoot(rootSpec: string): LinuxFile[] {
    return [
        ...osRelease("Red Hat Enterprise Linux", "rhel", "9.4"),
        {
            path: "etc/fstab",
            content: [
                `${rootSpec} / xfs defaults 0 0`,
                `UUID=${BOOT_UUID} /boot xfs defaults 0 0`,
                `UUID=${EFI_SERIAL.slice(0, 4)}-${EFI_SERIAL.slice(4)} /boot/efi vfat umask=0077 0 2`,
                "/dev/mapper/rhel-swap none swap defaults 0 0",
                "",
            ].join("\n"),
        },
        { path: "etc/systemd/system", dir: true },
        { path: "etc/modprobe.d", dir: true },
        {
            path: "etc/default/grub",
            content: 'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root"\n',
        },
        { path: "etc/kernel/cmdline", content: "root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root\n" },
        ...EL9.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
    ];
}

/** /boot of a RHEL 9 guest: BLS entries, kernels, grub2/grubenv (a file, not EL 8's link). */
function rhelBoot(): LinuxFile[] {
    const bls = (k: string) =>
        [
            `title Red Hat Enterprise Linux (${k}) 9.4 (Plow)`,
            `version ${k}`,
            `linux /vmlinuz-${k}`,
            `initrd /initramfs-${k}.img $tuned_initrd`,
            "options root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root rhgb quiet",
            "grub_class rhel",
            "",
        ].join("\n");
    return [
        ...EL9.flatMap((k) => [
            { path: `loader/entries/${entryId(k)}.conf`, content: bls(k) },
            { path: `vmlinuz-${k}`, content: "kernel" },
            { path: `initramfs-${k}.img`, content: "not an archive" },
        ]),
        { path: "grub2/grubenv", content: grubenv({ saved_entry: entryId(EL9[0]), boot_success: "0" }) },
        { path: "grub2/grub.cfg", content: 'load_env\nset default="${saved_entry}"\nblscfg\n' },
    ];
}

/** A RHEL-like guest: GPT, EFI, /boot on XFS, and a PV holding VG rhel (root on XFS, swap). */
function rhel(vg: Partial<LinuxVg> = {}, root: Partial<LinuxLv> = {}, rootSpec = "/dev/mapper/rhel-root"): BuiltLinux {
    return buildLinux(
        [
            { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
            { kind: "xfs", sizeMiB: 300, uuid: BOOT_UUID, files: rhelBoot() },
            {
                kind: "lvm",
                sizeMiB: 332,
                volumeGroup: {
                    name: "rhel",
                    uuid: VG_UUID,
                    pvUuid: PV_UUID,
                    logicalVolumes: [
                        {
                            name: "root",
                            sizeMiB: 304,
                            kind: "xfs",
                            uuid: ROOT_UUID,
                            lvUuid: ROOT_LV_UUID,
                            files: rhelRoot(rootSpec),
                            ...root,
                        },
                        { name: "swap", sizeMiB: 16, kind: "swap", uuid: SWAP_UUID },
                    ],
                    ...vg,
                },
            },
        ],
        670,
    );
}

/** An Ubuntu-like guest: GPT, EFI, /boot on ext4, VG ubuntu-vg holding ubuntu-lv (ext4), its fstab naming / as `rootSpec`. */
function ubuntu(rootSpec: (lvUuid: string) => string, ids: { vg: string; pv: string; lv: string }): BuiltLinux {
    const kernels = ["6.8.0-45-generic", "6.8.0-40-generic"];
    return buildLinux(
        [
            { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
            {
                kind: "ext4",
                sizeMiB: 40,
                uuid: BOOT_UUID,
                files: kernels.flatMap((k) => [
                    { path: `vmlinuz-${k}`, content: "kernel" },
                    { path: `initrd.img-${k}`, content: "initramfs" },
                ]),
            },
            {
                kind: "lvm",
                sizeMiB: 48,
                volumeGroup: {
                    name: "ubuntu-vg",
                    uuid: ids.vg,
                    pvUuid: ids.pv,
                    logicalVolumes: [
                        {
                            name: "ubuntu-lv",
                            sizeMiB: 40,
                            kind: "ext4",
                            uuid: ROOT_UUID,
                            lvUuid: ids.lv,
                            files: [
                                ...osRelease("Ubuntu", "ubuntu", "24.04"),
                                {
                                    path: "etc/fstab",
                                    content: `${rootSpec(ids.lv)} / ext4 defaults 0 1\nUUID=${BOOT_UUID} /boot ext4 defaults 0 1\n/dev/sdc1 /data ext4 defaults 0 2\n`,
                                },
                                { path: "etc/systemd/system", dir: true },
                                ...kernels.map((k) => ({ path: `lib/modules/${k}/modules.dep`, content: "" })),
                            ],
                        },
                    ],
                },
            },
        ],
        124,
    );
}

/** The first MiB of the PV (label and metadata area): never written. */
function pvHead(img: BuiltLinux, index: number): Buffer {
    const fd = fs.openSync(img.image, "r");
    try {
        const buf = Buffer.alloc(1024 * 1024);
        fs.readSync(fd, buf, 0, buf.length, img.partitions[index].startBytes);
        return buf;
    } finally {
        fs.closeSync(fd);
    }
}

type Action = { action: string; status: string; [key: string]: any };

(skipDiskLab() ? describe.skip : describe)(
    "repair engine: Linux guests on LVM (single-segment volumes mapped with loop offsets)",
    function () {
        this.timeout(300_000);
        before(requireDiskLab);

        it("RHEL-like (root on rhel/root, fstab by /dev/mapper): falcon-linux-2024, then the previous kernel; evidence lists the VG; LVM metadata untouched", () => {
            const img = rhel();
            const head = pvHead(img, 2);
            const before = sha256File(img.image);
            const dry = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024", "--dry-run"], {}, img.image);
            assert.equal(dry.code, 0, dry.stderr);
            assert.equal(dry.evidence.outcome, "would-repair");
            assert.equal(sha256File(img.image), before, "--dry-run changed the image");

            const falcon = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
            assert.equal(falcon.code, 0, falcon.stderr);
            assert.equal(falcon.evidence.outcome, "repaired");
            const linux = falcon.evidence.linux;
            assert.equal(linux.rootPartition, 3);
            assert.equal(linux.rootLogicalVolume, "rhel/root");
            assert.equal(linux.filesystem, "xfs");
            assert.deepEqual(linux.fstab["/"], { spec: "/dev/mapper/rhel-root", type: "xfs", partition: 3, lv: "rhel/root" });
            assert.equal(linux.fstab["/boot"].partition, 2);
            assert.equal(falcon.evidence.partitions[2].filesystem, "lvm");
            assert.equal(falcon.evidence.partitions[2].volumeGroup, "rhel");
            const root = lvOf(img, "root");
            const swap = lvOf(img, "swap");
            assert.deepEqual(linux.lvm, [
                {
                    name: "rhel",
                    uuid: VG_UUID,
                    seqno: 2,
                    physicalVolumes: [{ name: "pv0", uuid: PV_UUID, partition: 3 }],
                    logicalVolumes: [
                        {
                            name: "root",
                            uuid: ROOT_LV_UUID,
                            sizeBytes: 304 * 1024 * 1024,
                            partition: 3,
                            startBytes: root.startBytes,
                            filesystem: "xfs",
                            mapped: true,
                            linux: "/",
                        },
                        {
                            name: "swap",
                            uuid: swap.lvUuid,
                            sizeBytes: 16 * 1024 * 1024,
                            partition: 3,
                            startBytes: swap.startBytes,
                            filesystem: "unknown",
                            mapped: true,
                        },
                    ],
                },
            ]);
            assert.deepEqual(
                falcon.evidence.volumes.map((v: { partition: number; linux: string; logicalVolume?: string }) => [
                    v.partition,
                    v.linux,
                    v.logicalVolume,
                ]),
                [
                    [3, "/", "rhel/root"],
                    [2, "/boot", undefined],
                ],
            );
            assert.deepEqual(
                linux.actions.map((a: Action) => [a.action, a.status]),
                [
                    ["mask-service", "changed"],
                    ["blacklist-module", "changed"],
                    ["blacklist-module", "changed"],
                    ["blacklist-module", "changed"],
                ],
            );
            inspect(img, root, (mnt) => {
                assert.equal(fs.readlinkSync(path.join(mnt, "etc/systemd/system/falcon-sensor.service")), "/dev/null");
                assert.match(fs.readFileSync(path.join(mnt, "etc/kernel/cmdline"), "utf8"), /module_blacklist=falcon_lsm_serviceable/);
            });

            const run = runEngine(
                ["--disk", img.image, "--rules", rules("rhel-lvm", [{ id: "previous-kernel", action: "boot-previous-kernel" }])],
                {},
                img.image,
            );
            assert.equal(run.code, 0, run.stderr);
            assert.equal(run.evidence.linux.actions[0].status, "changed");
            assert.deepEqual(run.evidence.linux.actions[0].to, { version: EL9[1], entry: entryId(EL9[1]) });
            inspect(img, 1, (boot) =>
                assert.equal(grubenvValues(fs.readFileSync(path.join(boot, "grub2/grubenv"), "utf8")).saved_entry, entryId(EL9[1])),
            );
            assert.ok(pvHead(img, 2).equals(head), "the PV's label and metadata area changed");

            const after = sha256File(img.image);
            const again = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
            assert.equal(again.code, 0, again.stderr);
            assert.equal(again.evidence.outcome, "nothing-to-do");
            assert.equal(sha256File(img.image), after, "a second run changed the image");
        });

        it("Ubuntu-like ubuntu-vg/ubuntu-lv by dm-uuid, then disks with the same VG name and uuids by /dev/mapper and by UUID=: each repaired on its own", () => {
            const ids = {
                vg: "UbUnTu-vgvg-0000-1111-2222-3333-444455",
                pv: "UbUnTu-pvpv-0000-1111-2222-3333-444455",
                lv: "UbUnTu-lvlv-0000-1111-2222-3333-444455",
            };
            const first = ubuntu((lv) => `/dev/disk/by-id/dm-uuid-LVM-${plain(ids.vg)}${plain(lv)}`, ids);
            const second = ubuntu(() => "/dev/mapper/ubuntu--vg-ubuntu--lv", ids);
            // The file system's own UUID, read off the mapped volume like a partition's.
            const third = ubuntu(() => `UUID=${ROOT_UUID}`, ids);
            const mask = rules("ubuntu-lvm", [
                { id: "falcon-sensor-masked", action: "mask-service", service: "falcon-sensor" },
                { id: "fstab-nofail", action: "fstab-nofail" },
            ]);
            for (const [img, spec] of [
                [first, `/dev/disk/by-id/dm-uuid-LVM-${plain(ids.vg)}${plain(ids.lv)}`],
                [second, "/dev/mapper/ubuntu--vg-ubuntu--lv"],
                [third, `UUID=${ROOT_UUID}`],
            ] as const) {
                const run = runEngine(["--disk", img.image, "--rules", mask], {}, img.image);
                assert.equal(run.code, 0, run.stderr);
                assert.equal(run.evidence.outcome, "repaired");
                assert.equal(run.evidence.linux.rootLogicalVolume, "ubuntu-vg/ubuntu-lv");
                assert.deepEqual(run.evidence.linux.fstab["/"], { spec, type: "ext4", partition: 3, lv: "ubuntu-vg/ubuntu-lv" });
                assert.equal(run.evidence.linux.lvm[0].uuid, ids.vg);
                const fstab = run.evidence.linux.actions.find((a: Action) => a.action === "fstab-nofail");
                // Only the data disk's entry: / is this disk's LV, /boot this disk's partition.
                assert.deepEqual(
                    fstab.entries.map((e: { mountPoint: string }) => e.mountPoint),
                    ["/data"],
                );
                inspect(img, lvOf(img, "ubuntu-lv"), (mnt) => {
                    assert.equal(fs.readlinkSync(path.join(mnt, "etc/systemd/system/falcon-sensor.service")), "/dev/null");
                    assert.match(
                        fs.readFileSync(path.join(mnt, "etc/fstab"), "utf8"),
                        /\/data\text4\tdefaults,nofail,x-systemd.device-timeout=10s/,
                    );
                });
            }
        });

        it("a PV on the whole disk (no partition table): its volume mapped, the root repaired", () => {
            const img = buildLinux(
                [
                    {
                        kind: "lvm",
                        sizeMiB: 48,
                        volumeGroup: {
                            name: "vgroot",
                            logicalVolumes: [
                                {
                                    name: "root",
                                    sizeMiB: 40,
                                    kind: "ext4",
                                    uuid: ROOT_UUID,
                                    files: [
                                        ...osRelease("Debian GNU/Linux", "debian", "12"),
                                        { path: "etc/fstab", content: "/dev/vgroot/root / ext4 defaults 0 1\n" },
                                        { path: "etc/systemd/system", dir: true },
                                    ],
                                },
                            ],
                        },
                    },
                ],
                48,
                { table: "none" },
            );
            const run = runEngine(
                [
                    "--disk",
                    img.image,
                    "--rules",
                    rules("whole-pv", [{ id: "falcon-sensor-masked", action: "mask-service", service: "falcon-sensor" }]),
                ],
                {},
                img.image,
            );
            assert.equal(run.code, 0, run.stderr);
            assert.equal(run.evidence.outcome, "repaired");
            assert.equal(run.evidence.disk.partitionTable, "none");
            assert.deepEqual(
                run.evidence.partitions.map((p: { number: number; type: string; filesystem: string; volumeGroup: string }) => [
                    p.number,
                    p.type,
                    p.filesystem,
                    p.volumeGroup,
                ]),
                [[0, "whole-disk", "lvm", "vgroot"]],
            );
            assert.deepEqual(run.evidence.linux.fstab["/"], { spec: "/dev/vgroot/root", type: "ext4", partition: 0, lv: "vgroot/root" });
            inspect(img, lvOf(img, "root"), (mnt) =>
                assert.equal(fs.readlinkSync(path.join(mnt, "etc/systemd/system/falcon-sensor.service")), "/dev/null"),
            );
        });

        it("refused with the reason, nothing changed: root with two segments (exit 3), root on a PV of another disk (exit 3), a thin root (exit 3), a bad metadata checksum (exit 3)", () => {
            const thinSections: LinuxLv[] = [
                {
                    name: "pool_tmeta",
                    sizeMiB: 4,
                    section:
                        'id = "tMeTaa-0000-1111-2222-3333-4444-555566"\nstatus = ["READ", "WRITE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 4\ntype = "striped"\nstripe_count = 1\nstripes = ["pv0", 0]\n}',
                },
                {
                    name: "pool_tdata",
                    sizeMiB: 32,
                    section:
                        'id = "tDaTaa-0000-1111-2222-3333-4444-555566"\nstatus = ["READ", "WRITE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 32\ntype = "striped"\nstripe_count = 1\nstripes = ["pv0", 4]\n}',
                },
                {
                    name: "pool",
                    sizeMiB: 0,
                    section:
                        'id = "tPoOll-0000-1111-2222-3333-4444-555566"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 32\ntype = "thin-pool"\nmetadata = "pool_tmeta"\npool = "pool_tdata"\ntransaction_id = 1\nchunk_size = 128\ndiscards = "passdown"\nzero_new_blocks = 1\n}',
                },
                {
                    name: "root",
                    sizeMiB: 0,
                    section:
                        'id = "tRoOtt-0000-1111-2222-3333-4444-555566"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 64\ntype = "thin"\nthin_pool = "pool"\ntransaction_id = 0\ndevice_id = 1\n}',
                },
            ];
            const cases: [string, () => BuiltLinux, RegExp][] = [
                [
                    "two segments",
                    () => rhel({}, { segments: 2, kind: "raw" }),
                    /^LVM: no Linux root on a volume this engine maps; volume rhel\/root: 2 segments; only single-segment linear volumes are mapped \(no device-mapper is used\); nothing was changed$/,
                ],
                [
                    "another disk's PV",
                    () => rhel({ otherPv: true }, { onOtherPv: true, sizeMiB: 8, kind: "raw" }),
                    /volume rhel\/root: on physical volume pv1, which is not on this disk \(the volume group spans disks\)/,
                ],
                [
                    "thin",
                    () => rhel({ force: true, logicalVolumes: thinSections }),
                    /volume rhel\/pool: a thin-pool volume; .*volume rhel\/root: a thin volume; only single-segment linear volumes are mapped/,
                ],
                [
                    "bad checksum",
                    () => rhel({ tamper: { corruptChecksum: true } }),
                    /partition 3: LVM physical volume that cannot be read: metadata area at 4096: metadata text checksum mismatch; nothing was changed$/,
                ],
            ];
            for (const [name, build, message] of cases) {
                const img = build();
                refusedUnchanged(img.image, 3, "unsupported", message, name);
                fs.unlinkSync(img.image);
            }
        });

        it("a mapped root whose fstab's /boot is an unmapped volume is refused (exit 3), naming it", () => {
            // /boot on rhel/boot with two segments, / on a mapped rhel/root.
            const img = rhel({
                logicalVolumes: [
                    {
                        name: "root",
                        sizeMiB: 304,
                        kind: "xfs",
                        uuid: ROOT_UUID,
                        files: rhelRoot("/dev/rhel/root").map((f) =>
                            f.path === "etc/fstab"
                                ? { ...f, content: f.content?.replace(`UUID=${BOOT_UUID} /boot`, "/dev/mapper/rhel-boot /boot") }
                                : f,
                        ),
                    },
                    { name: "boot", sizeMiB: 8, kind: "raw", segments: 2 },
                ],
            });
            refusedUnchanged(
                img.image,
                3,
                "unsupported",
                "LVM: /boot volume rhel/boot: 2 segments; only single-segment linear volumes are mapped (no device-mapper is used); nothing was changed",
            );
        });

        it("/boot by UUID= on an unmapped volume is refused (exit 3) naming the volumes it may be, for a repair and for the previous kernel", () => {
            // The reviewer's case: the fstab's /boot UUID is on no volume the engine reads (rhel/boot
            // has two segments); before, the root's empty /boot was read and the run said repaired.
            const OTHER = "11111111-2222-4333-8444-555555555555";
            const img = rhel({
                logicalVolumes: [
                    {
                        name: "root",
                        sizeMiB: 304,
                        kind: "xfs",
                        uuid: ROOT_UUID,
                        files: rhelRoot("/dev/mapper/rhel-root").map((f) =>
                            f.path === "etc/fstab"
                                ? { ...f, content: f.content?.replace(`UUID=${BOOT_UUID} /boot`, `UUID=${OTHER} /boot`) }
                                : f,
                        ),
                    },
                    { name: "boot", sizeMiB: 8, kind: "raw", segments: 2 },
                ],
            });
            const before = sha256File(img.image);
            const previous = rules("prev", [{ id: "previous-kernel", action: "boot-previous-kernel" }]);
            for (const args of [
                ["--rule-set", "falcon-linux-2024"],
                ["--rules", previous],
            ]) {
                const run = runEngine(["--disk", img.image, ...args], {}, img.image);
                assert.equal(run.code, 3, `${args[1]}: ${run.stderr}`);
                assert.equal(run.evidence.outcome, "unsupported", args[1]);
                assert.equal(
                    run.evidence.message,
                    `LVM: /boot (UUID=${OTHER}) is on no volume this engine reads, and this disk has volumes it cannot read ` +
                        "(LVM: rhel/boot): it may be one of them; nothing was changed",
                    args[1],
                );
                assert.equal(sha256File(img.image), before, `${args[1]}: the image changed`);
            }
            fs.unlinkSync(img.image);
        });

        it("a stale root partition whose fstab puts / on rhel/root is not repaired in its place (exit 3)", () => {
            // Partitions are probed before logical volumes: the stale copy is found first.
            const img = buildLinux(
                [
                    { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                    { kind: "xfs", sizeMiB: 300, uuid: BOOT_UUID, files: rhelBoot() },
                    { kind: "ext4", sizeMiB: 40, uuid: SWAP_UUID, files: rhelRoot("/dev/mapper/rhel-root") },
                    {
                        kind: "lvm",
                        sizeMiB: 332,
                        volumeGroup: {
                            name: "rhel",
                            uuid: VG_UUID,
                            pvUuid: PV_UUID,
                            logicalVolumes: [
                                { name: "root", sizeMiB: 304, kind: "xfs", uuid: ROOT_UUID, files: rhelRoot("/dev/mapper/rhel-root") },
                            ],
                        },
                    },
                ],
                720,
            );
            refusedUnchanged(
                img.image,
                3,
                "unsupported",
                "the Linux root found on partition 3 names / as logical volume rhel/root in its fstab: not the volume it was found on; nothing was changed",
            );
            fs.unlinkSync(img.image);
        });

        it("two volume groups named rhel on one disk are unsafe (exit 5), as lvm2 refuses them: /dev/mapper/rhel-root would name two roots", () => {
            const vg = (uuid: string, pvUuid: string, fsUuid: string): LinuxVg => ({
                name: "rhel",
                uuid,
                pvUuid,
                logicalVolumes: [{ name: "root", sizeMiB: 304, kind: "xfs", uuid: fsUuid, files: rhelRoot("/dev/mapper/rhel-root") }],
            });
            const img = buildLinux(
                [
                    { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                    { kind: "xfs", sizeMiB: 300, uuid: BOOT_UUID, files: rhelBoot() },
                    { kind: "lvm", sizeMiB: 332, volumeGroup: vg(VG_UUID, PV_UUID, ROOT_UUID) },
                    {
                        kind: "lvm",
                        sizeMiB: 332,
                        volumeGroup: vg("oThErG-0000-1111-2222-3333-4444-555566", "oThErP-0000-1111-2222-3333-4444-555566", SWAP_UUID),
                    },
                ],
                1010,
            );
            refusedUnchanged(
                img.image,
                5,
                "unsafe",
                /^LVM: crafted metadata \(partition 3: two volume groups named rhel \(on partitions 3, 4\)/,
            );
            fs.unlinkSync(img.image);
        });

        it("crafted metadata is unsafe (exit 5), nothing mounted or changed: a text size past the area, sections nested too deep, a volume past the partition", () => {
            const cases: [string, LinuxVg["tamper"], RegExp][] = [
                [
                    "huge",
                    { textSize: 64 * 1024 * 1024 },
                    /metadata area at 4096: 67108864 bytes of metadata text \(this engine reads up to 1048576\)/,
                ],
                [
                    "deep",
                    { edit: [["logical_volumes \\{", "x {".repeat(20) + "}".repeat(20) + "\nlogical_volumes {"]] },
                    /metadata text: sections nested deeper than 16/,
                ],
                [
                    "past the partition",
                    {
                        edit: [
                            ["pe_count = [0-9]+", "pe_count = 100000"],
                            ['stripes = \\[\\s*"pv0", 0', 'stripes = [\n"pv0", 99000'],
                        ],
                    },
                    /rhel\/root: its bytes [0-9]+\.\.[0-9]+ lie past the end of partition 3/,
                ],
            ];
            for (const [name, tamper, message] of cases) {
                const img = rhel({ tamper });
                const before = sha256File(img.image);
                const run = runEngine(["--disk", img.image, "--rule-set", "falcon-linux-2024"], {}, img.image);
                assert.equal(run.code, 5, `${name}: ${run.stderr}`);
                assert.equal(run.evidence.outcome, "unsafe", name);
                assert.match(run.evidence.message, /^LVM: crafted metadata \(partition 3: /, name);
                assert.match(run.evidence.message, message, name);
                assert.equal(sha256File(img.image), before, `${name}: the image changed`);
                fs.unlinkSync(img.image);
            }
        });
    },
);
