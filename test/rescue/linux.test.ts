// The repair engine on Linux guests (#31): real GPT disk images with ext4, XFS and btrfs built on
// loop devices (test/rescue/make_linux_image.py), the guest found from its own os-release and
// fstab, ids resolved against this disk only, mask-service and fstab-nofail applied, undone from
// the evidence, idempotent, and nothing changed by --dry-run; hostile guests refused.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireDiskLab, runEngine, sha256File, skipDiskLab, workDir } from "./disk-lab";
import { LinuxFile, buildLinux, inspect } from "./linux-images";

const ROOT_UUID = "3f1c9a52-7d5e-4b8a-9c41-0e2b6d8f7a10";
const DATA_UUID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const EFI_SERIAL = "ABCD1234";

/** The guest's own files: os-release (as a relative link to usr/lib, as distributions ship it), fstab, kernels, GRUB. */
function guestFiles(prefix: string, id: string, fstab: string, kernels: string[]): LinuxFile[] {
    return [
        {
            path: `${prefix}usr/lib/os-release`,
            content: `NAME="${id}"\nID=${id.toLowerCase()}\nVERSION_ID="24.04"\nPRETTY_NAME="${id} 24.04 LTS"\n`,
        },
        { path: `${prefix}etc/os-release`, link: "../usr/lib/os-release" },
        { path: `${prefix}etc/fstab`, content: fstab },
        { path: `${prefix}etc/systemd/system`, dir: true },
        { path: `${prefix}etc/default/grub`, content: 'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=""\n' },
        {
            path: `${prefix}boot/grub/grubenv`,
            content: `# GRUB Environment Block\nsaved_entry=gnulinux-${kernels[1]}-advanced-x\n`.padEnd(1024, "#"),
        },
        ...kernels.flatMap((k) => [
            { path: `${prefix}lib/modules/${k}/modules.dep`, content: "" },
            { path: `${prefix}boot/vmlinuz-${k}`, content: "kernel" },
            { path: `${prefix}boot/initrd.img-${k}`, content: "initramfs" },
        ]),
    ];
}

const FSTAB = (rootType: string, rootOptions = "defaults") =>
    [
        "# /etc/fstab: static file system information.",
        `UUID=${ROOT_UUID}\t/\t${rootType}\t${rootOptions}\t0 1`,
        `UUID=${EFI_SERIAL.slice(0, 4)}-${EFI_SERIAL.slice(4)}\t/boot/efi\tvfat\tumask=0077\t0 1`,
        `UUID=${DATA_UUID}\t/data\text4\tdefaults\t0 2   # a data disk of its own`,
        "//files.example/share\t/mnt/share\tcifs\tcredentials=/etc/cifs\t0 0",
        "",
    ].join("\n");

function rulesFile(): string {
    const file = path.join(workDir, "linux-rules.json");
    fs.writeFileSync(
        file,
        JSON.stringify({
            rules: [
                { id: "falcon-sensor-masked", action: "mask-service", service: "falcon-sensor", os: "linux" },
                { id: "fstab-nofail", action: "fstab-nofail" },
                // A Windows rule: reported as not applied to this guest.
                { id: "crowdstrike-291", path: "Windows/System32/drivers/CrowdStrike/C-00000291*.sys", sha256: ["a".repeat(64)] },
            ],
        }),
    );
    return file;
}

(skipDiskLab() ? describe.skip : describe)("repair engine: Linux guests (ext4, XFS, btrfs)", function () {
    this.timeout(120_000);
    before(requireDiskLab);

    it("Ubuntu-like ext4 (GPT + EFI): dry run changes nothing; the repair masks the service and adds nofail; a second run changes nothing", () => {
        const kernels = ["6.8.0-40-generic", "6.8.0-45-generic"];
        const img = buildLinux(
            [
                { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                {
                    kind: "ext4",
                    sizeMiB: 40,
                    uuid: ROOT_UUID,
                    label: "cloudimg-rootfs",
                    files: guestFiles("", "Ubuntu", FSTAB("ext4"), kernels),
                },
            ],
            80,
        );
        const rules = rulesFile();
        const before = sha256File(img.image);

        const dry = runEngine(["--disk", img.image, "--rules", rules, "--dry-run"], {}, img.image);
        assert.equal(dry.code, 0, dry.stderr);
        assert.equal(dry.evidence.outcome, "would-repair");
        assert.equal(sha256File(img.image), before, "--dry-run changed the image");
        const linux = dry.evidence.linux;
        assert.equal(linux.rootPartition, 2);
        assert.equal(linux.filesystem, "ext4");
        assert.deepEqual(linux.osRelease, { ID: "ubuntu", NAME: "Ubuntu", VERSION_ID: "24.04", PRETTY_NAME: "Ubuntu 24.04 LTS" });
        assert.deepEqual(linux.fstab["/"], { spec: `UUID=${ROOT_UUID}`, type: "ext4", partition: 2 });
        assert.equal(linux.fstab["/boot/efi"].partition, 1);
        assert.deepEqual(
            linux.kernels,
            kernels.map((version) => ({ version, image: true, initramfs: true })),
        );
        assert.deepEqual(linux.defaultBootEntry, {
            grubenv: "/boot/grub/grubenv",
            savedEntry: "gnulinux-6.8.0-45-generic-advanced-x",
            grubDefault: "saved",
        });
        assert.deepEqual(linux.notApplied, ["crowdstrike-291"]);
        assert.deepEqual(
            linux.actions.map((a: { action: string; status: string }) => [a.action, a.status]),
            [
                ["mask-service", "would-change"],
                ["fstab-nofail", "would-change"],
            ],
        );
        assert.deepEqual(
            linux.actions[1].entries.map((e: { mountPoint: string }) => e.mountPoint),
            ["/data", "/mnt/share"],
        );
        assert.deepEqual(
            dry.evidence.partitions.map((p: { linux?: string; filesystem: string }) => [p.filesystem, p.linux]),
            [
                ["fat", "/boot/efi"],
                ["ext", "/"],
            ],
        );

        const run = runEngine(["--disk", img.image, "--rules", rules], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.outcome, "repaired");
        assert.equal(run.evidence.linux.mount.mode, "read-write");
        const backup = run.evidence.linux.actions[1].backup as string;
        assert.match(backup, /^\/etc\/fstab\.bootloop-rescue-\d{8}T\d{6}Z$/);
        assert.deepEqual(run.evidence.linux.undo, [`mv ${backup} /etc/fstab`, "rm /etc/systemd/system/falcon-sensor.service"]);
        inspect(img, 1, (root) => {
            assert.equal(fs.readlinkSync(path.join(root, "etc/systemd/system/falcon-sensor.service")), "/dev/null");
            const fstab = fs.readFileSync(path.join(root, "etc/fstab"), "utf8").split("\n");
            assert.equal(fstab[1], `UUID=${ROOT_UUID}\t/\text4\tdefaults\t0 1`, "the root entry is never touched");
            assert.equal(
                fstab[3],
                `UUID=${DATA_UUID}\t/data\text4\tdefaults,nofail,x-systemd.device-timeout=10s\t0\t2 # a data disk of its own`,
            );
            assert.equal(
                fstab[4],
                "//files.example/share\t/mnt/share\tcifs\tcredentials=/etc/cifs,nofail,x-systemd.device-timeout=10s\t0\t0",
            );
            assert.equal(fs.readFileSync(path.join(root, backup), "utf8"), FSTAB("ext4"), "the original is kept beside it");
        });

        const after = sha256File(img.image);
        const again = runEngine(["--disk", img.image, "--rules", rules], {}, img.image);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.evidence.outcome, "nothing-to-do");
        assert.deepEqual(
            again.evidence.linux.actions.map((a: { status: string }) => a.status),
            ["already", "already"],
        );
        assert.equal(sha256File(img.image), after, "a second run changed the image");
    });

    it("XFS whose UUID equals a file system mounted on this machine (the rescue VM's own image): mounted with nouuid, repaired", () => {
        // The rescue VM's own root: the same UUID, mounted here first.
        const twin = buildLinux([{ kind: "xfs", sizeMiB: 300, uuid: ROOT_UUID }], 302);
        const loop = execFileSync(
            "losetup",
            [
                "--find",
                "--show",
                "--offset",
                `${twin.partitions[0].startBytes}`,
                "--sizelimit",
                `${twin.partitions[0].sizeBytes}`,
                twin.image,
            ],
            {
                encoding: "utf8",
            },
        ).trim();
        const mnt = fs.mkdtempSync(path.join(workDir, "twin-"));
        execFileSync("mount", ["-t", "xfs", loop, mnt]);
        try {
            const img = buildLinux(
                [
                    { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                    {
                        kind: "xfs",
                        sizeMiB: 300,
                        uuid: ROOT_UUID,
                        files: guestFiles("", "Rocky", FSTAB("xfs"), ["5.14.0-427.13.1.el9_4.x86_64", "5.14.0-427.16.1.el9_4.x86_64"]),
                    },
                ],
                336,
            );
            const run = runEngine(["--disk", img.image, "--rules", rulesFile()], {}, img.image);
            assert.equal(run.code, 0, run.stderr);
            assert.equal(run.evidence.outcome, "repaired");
            assert.equal(run.evidence.linux.filesystem, "xfs");
            assert.ok(run.evidence.linux.mount.options.includes("nouuid"), JSON.stringify(run.evidence.linux.mount));
            inspect(img, 1, (root) =>
                assert.equal(fs.readlinkSync(path.join(root, "etc/systemd/system/falcon-sensor.service")), "/dev/null"),
            );
            // The machine's own file system was never touched.
            assert.deepEqual(fs.readdirSync(mnt), []);
        } finally {
            execFileSync("umount", [mnt]);
            execFileSync("losetup", ["-d", loop]);
        }
    });

    it("btrfs with subvolumes: the root is the subvolume the fstab names (@), found from the default (top-level) subvolume", () => {
        const img = buildLinux(
            [
                { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                {
                    kind: "btrfs",
                    sizeMiB: 140,
                    uuid: ROOT_UUID,
                    subvolumes: ["@", "@home"],
                    files: guestFiles("@/", "Ubuntu", FSTAB("btrfs", "subvol=@,compress=zstd"), ["6.8.0-45-generic"]),
                },
            ],
            180,
        );
        const run = runEngine(["--disk", img.image, "--rules", rulesFile()], {}, img.image);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.evidence.linux.subvolume, "@");
        assert.equal(run.evidence.linux.fstab["/"].subvolume, "@");
        assert.deepEqual(run.evidence.linux.kernels, [{ version: "6.8.0-45-generic", image: true, initramfs: true }]);
        inspect(img, 1, (root) => {
            assert.equal(fs.readlinkSync(path.join(root, "@/etc/systemd/system/falcon-sensor.service")), "/dev/null");
            assert.ok(!fs.existsSync(path.join(root, "etc")), "nothing written outside the subvolume");
        });
    });

    it("hostile guests: /etc/systemd/system a link out of the volume is refused (exit 5, nothing made outside); a FIFO as fstab is never opened", () => {
        const outside = fs.mkdtempSync(path.join(workDir, "outside-"));
        const files = guestFiles("", "Ubuntu", FSTAB("ext4"), ["6.8.0-45-generic"]).filter((f) => f.path !== "etc/systemd/system");
        const img = buildLinux(
            [
                { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                { kind: "ext4", sizeMiB: 40, uuid: ROOT_UUID, files: [...files, { path: "etc/systemd/system", link: outside }] },
            ],
            80,
        );
        const before = sha256File(img.image);
        const run = runEngine(["--disk", img.image, "--rules", rulesFile()], {}, img.image);
        assert.equal(run.code, 5, run.stderr);
        assert.equal(run.evidence.outcome, "unsafe");
        assert.match(run.evidence.message, /\/etc\/systemd\/system on the guest is a symbolic link/);
        assert.deepEqual(fs.readdirSync(outside), []);
        assert.equal(sha256File(img.image), before, "nothing on the disk changed");

        const fifo = buildLinux(
            [
                {
                    kind: "ext4",
                    sizeMiB: 40,
                    uuid: ROOT_UUID,
                    files: [...files.filter((f) => f.path !== "etc/fstab"), { path: "etc/fstab", fifo: true }],
                },
            ],
            42,
        );
        const r2 = runEngine(["--disk", fifo.image, "--rules", rulesFile()], {}, fifo.image);
        assert.equal(r2.code, 3, r2.stderr);
        assert.equal(r2.evidence.outcome, "no-windows");
        assert.match(r2.evidence.partitions[0].skipped, /without a Linux root/);
    });

    it("an LVM label that is not a PV's (its checksum wrong) is refused with its reason (exit 3, unsupported), and nothing is mounted", () => {
        const img = buildLinux(
            [
                { kind: "efi", sizeMiB: 33, serial: EFI_SERIAL },
                { kind: "lvm", sizeMiB: 8 },
            ],
            44,
        );
        const run = runEngine(["--disk", img.image, "--rule-set", "crowdstrike-291"], {}, img.image);
        assert.equal(run.code, 3, run.stderr);
        assert.equal(run.evidence.outcome, "unsupported");
        // The builder writes only the label's magic: the engine reads the label itself and checks it (test/rescue/linux-lvm.test.ts: real VGs).
        assert.equal(
            run.evidence.message,
            "LVM: no Linux root on a volume this engine maps; partition 2: LVM physical volume that cannot be read: LVM label in sector 1: checksum mismatch; nothing was changed",
        );
        assert.equal(run.evidence.partitions[1].filesystem, "lvm");
        assert.equal(
            run.evidence.partitions[1].skipped,
            "LVM physical volume that cannot be read: LVM label in sector 1: checksum mismatch",
        );
    });
});
