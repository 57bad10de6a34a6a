// STAND-IN (for the tests and for `npm run sandbox`): what a Linux guest looks like to the
// simulated clouds, shared by the stand-in CLIs (aws, gcloud) and the Azure rescue run. A Linux VM
// of the inventory (`os: linux`) boot-loops as RHEL 9.4 did with the faulty Falcon sensor in 2024
// (a kernel panic in the sensor's module, over and over); the repair engine's rule set
// falcon-linux-2024 masks the sensor's service and blacklists its modules, after which it boots
// to a login prompt. Any other rule set (a Windows one) finds nothing it may change on it, as the
// engine does, and a Linux rule set finds nothing on a Windows disk: so a run proves each VM's
// repair was given its own OS's rule set.
"use strict";

/** The rule sets of the repair engine for Linux guests (rescue/engine/rules.py). */
const LINUX_RULE_SETS = ["falcon-linux-2024"];

/** What the console of a boot-looping Linux VM shows: an earlier healthy boot, then kernel panics. */
const BOOT_LOOP = [
    "Red Hat Enterprise Linux 9.4 (Plow)",
    "Kernel 5.14.0-427.13.1.el9_4.x86_64 on an x86_64",
    "",
    "web login: ",
    "[    4.213907] falcon_lsm_serviceable: loading out-of-tree module taints kernel.",
    "[    4.388412] BUG: unable to handle page fault for address: ffffa1c2c0a3e000",
    "[    4.401166] Kernel panic - not syncing: Fatal exception",
    "[    4.401202] ---[ end Kernel panic - not syncing: Fatal exception ]---",
    "",
].join("\n");

/** What the console of a Linux VM that booted shows last: cloud-init finishing, then a login prompt. */
const BOOTED = [
    "[   21.904411] cloud-init[1021]: Cloud-init v. 23.4-7.el9_4 finished at Fri, 19 Jul 2024 09:01:02 +0000. Datasource DataSourceEc2.  Up 21.88 seconds",
    "",
    "Red Hat Enterprise Linux 9.4 (Plow)",
    "Kernel 5.14.0-427.13.1.el9_4.x86_64 on an x86_64",
    "",
    "web login: ",
].join("\n");

/** The rules of falcon-linux-2024, as the engine's evidence lists them. */
const FALCON_RULES = [
    { id: "falcon-sensor-masked", action: "mask-service", service: "falcon-sensor", os: "linux" },
    { id: "falcon-lsm-serviceable", action: "blacklist-module", module: "falcon_lsm_serviceable", os: "linux" },
    { id: "falcon-nf-netcontain", action: "blacklist-module", module: "falcon_nf_netcontain", os: "linux" },
    { id: "falcon-kal", action: "blacklist-module", module: "falcon_kal", os: "linux" },
];

/**
 * repair-disk on a Linux guest's disk, as the engine reports it (outcome, partitions, the linux
 * section, volumes): `loops` when the disk boot-loops and a rule of the set can change that,
 * `earlier` the quarantine folder of an earlier repair of it, if any. Returns the evidence's
 * fields past the common ones (tool, version, times) and whether the disk boots afterwards.
 */
function repairLinux({ ruleSet, loops, earlier, sizeBytes, path, at }) {
    const stamp = at.replace(/[-:]/g, "");
    const folder = `bootloop-rescue/quarantine/${stamp}`;
    const falcon = ruleSet === "falcon-linux-2024";
    const rules = falcon ? FALCON_RULES : [];
    const partitions = [
        { number: 1, startBytes: 1048576, sizeBytes: 209715200, type: "efi", filesystem: "fat", linux: "/boot/efi" },
        { number: 2, startBytes: 210763776, sizeBytes: 1073741824, type: "linux", filesystem: "xfs", linux: "/boot" },
        { number: 3, startBytes: 1284505600, sizeBytes: sizeBytes - 1284505600 - 1048576, type: "linux", filesystem: "xfs", linux: "/" },
    ].map((p) => ({ ...p, bitlocker: "none", windows: false }));
    const linux = {
        rootPartition: 3,
        filesystem: "xfs",
        osRelease: { ID: "rhel", NAME: "Red Hat Enterprise Linux", VERSION_ID: "9.4", PRETTY_NAME: "Red Hat Enterprise Linux 9.4 (Plow)" },
        kernels: [{ version: "5.14.0-427.13.1.el9_4.x86_64", image: true, initramfs: true }],
        notApplied: falcon ? [] : [`rule set ${ruleSet}: no rule for a Linux guest`],
    };
    const common = {
        rules,
        disk: { path, kind: "block-device", sizeBytes, logicalSectorSize: 512, readOnly: false, partitionTable: "gpt" },
        partitions,
    };
    if (!falcon || !loops) {
        return {
            boots: undefined,
            evidence: {
                ...common,
                linux: {
                    ...linux,
                    actions: rules.map((r) => ({
                        rule: r.id,
                        action: r.action,
                        path: r.service
                            ? `etc/systemd/system/${r.service}.service`
                            : `etc/modprobe.d/bootloop-rescue-blacklist-${r.module}.conf`,
                        status: "already",
                    })),
                },
                volumes: [
                    { partition: 3, linux: "/", outcome: "nothing-to-do", matches: [], earlierQuarantines: earlier ? [earlier] : [] },
                ],
                outcome: "nothing-to-do",
                exitCode: 0,
                message: "no rule changed anything: nothing was changed",
            },
        };
    }
    const actions = rules.map((r) =>
        r.action === "mask-service"
            ? {
                  rule: r.id,
                  action: r.action,
                  status: "changed",
                  path: `etc/systemd/system/${r.service}.service`,
                  undo: `rm /etc/systemd/system/${r.service}.service`,
              }
            : {
                  rule: r.id,
                  action: r.action,
                  status: "changed",
                  path: `etc/modprobe.d/bootloop-rescue-blacklist-${r.module}.conf`,
                  initramfs: [{ path: "boot/initramfs-5.14.0-427.13.1.el9_4.x86_64.img", stored: ["cpio", "zstd"], contains: [] }],
                  undo: `rm /etc/modprobe.d/bootloop-rescue-blacklist-${r.module}.conf`,
              },
    );
    return {
        boots: true,
        evidence: {
            ...common,
            linux: { ...linux, actions, undo: actions.map((a) => a.undo).reverse() },
            volumes: [{ partition: 3, linux: "/", outcome: "repaired", matches: [], quarantineFolder: folder, earlierQuarantines: [] }],
            outcome: "repaired",
            exitCode: 0,
            message: "rules applied; the volume was unmounted cleanly",
        },
    };
}

module.exports = { LINUX_RULE_SETS, BOOT_LOOP, BOOTED, repairLinux };
