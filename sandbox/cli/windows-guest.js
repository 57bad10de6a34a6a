// STAND-IN (for the tests and for `npm run sandbox`): what a Windows guest's OS disk looks like to
// the simulated clouds' repair engine, shared by the stand-in aws (its Systems Manager repair) and
// the Azure rescue run (sandbox/world/azure-rescue-run.ts): the evidence document repair-disk
// writes for it (rescue/evidence.schema.json), the way the engine writes it. The disk is a GPT
// disk as Windows Setup lays it out: an EFI system partition, a Microsoft reserved one, Windows
// (NTFS, or BitLocker), and a recovery partition at its end. A disk that boot-loops has the faulty
// channel file 291 quarantined; one that boots (or one repaired before) has nothing to do. Each
// cloud's stand-in decides the rest (which keys open a BitLocker volume, which rule set runs).
"use strict";

/** The rule crowdstrike-channel-file-291 as the engine's evidence lists it (rescue/engine/rules.py). */
const RULE_291 = {
    id: "crowdstrike-channel-file-291",
    path: "Windows/System32/drivers/CrowdStrike/C-00000291*.sys",
    description:
        "CrowdStrike Falcon channel file 291 stamped 2024-07-19 04:09 UTC (faulty); files stamped 05:27 UTC or later are the reverted, good version and are kept",
    modifiedFrom: "2024-07-19T04:09:00Z",
    modifiedBefore: "2024-07-19T05:27:00Z",
};

/** The rule registry-txr (rule set crowdstrike-291-txr) as the engine's evidence lists it. */
const RULE_TXR = {
    id: "registry-txr",
    action: "quarantine-txr",
    description:
        "the registry's TxR transaction logs (Windows/System32/config/TxR), which a boot loop can leave unusable, moved into the quarantine on Windows Server 2016 (build 14393) and later, as Azure's fix script does",
};

/** The faulty channel file a boot-looping disk holds. */
const FAULTY_FILE = "Windows/System32/drivers/CrowdStrike/C-00000291-00000000-00000032.sys";

/** Where the Windows partition starts: after the EFI system partition (100 MiB from 1 MiB) and the Microsoft reserved one (16 MiB). */
const WINDOWS_START = 1048576 + 104857600 + 16777216;
/** The recovery partition (528 MiB) and the GPT backup after it (1 MiB), at the disk's end. */
const RECOVERY_BYTES = 553648128;
const TAIL_BYTES = RECOVERY_BYTES + 1048576;

/** The quarantine folder of a repair at `at` (UTC, to the second). */
const quarantineOf = (at) => `bootloop-rescue/quarantine/${at.replace(/[-:]/g, "")}`;

/**
 * The fields every repair-disk evidence starts and ends with (tool, version, times, dry run,
 * duration) around `body` (its outcome, disk, partitions, volumes...).
 */
function repairDiskEvidence({ version, startedAt, finishedAt, durationMs }, body) {
    return { tool: "bootloop-rescue/repair-disk", version, startedAt, finishedAt, dryRun: false, ...body, durationMs };
}

/**
 * The disk at `path` (a block device of `sizeBytes`) as repair-disk lists it before it opens
 * Windows: `{ rules, disk, partitions }`. The Windows partition (the third) is BitLocker-encrypted
 * when `bitlocker`; `windows: false` until the engine finds Windows on it (repairWindows, unlocked).
 */
function windowsLayout({ rules, path, sizeBytes, bitlocker }) {
    return {
        rules,
        disk: { path, kind: "block-device", sizeBytes, logicalSectorSize: 512, readOnly: false, partitionTable: "gpt" },
        partitions: [
            {
                number: 1,
                startBytes: 1048576,
                sizeBytes: 104857600,
                type: "efi",
                typeId: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                name: "EFI system partition",
                filesystem: "fat",
                bitlocker: "none",
                windows: false,
                skipped: "EFI system partition",
            },
            {
                number: 2,
                startBytes: 105906176,
                sizeBytes: 16777216,
                type: "msr",
                typeId: "e3c9e316-0b5c-4db8-817d-f92df00215ae",
                name: "Microsoft reserved partition",
                filesystem: "none",
                bitlocker: "none",
                windows: false,
                skipped: "Microsoft reserved partition",
            },
            {
                number: 3,
                startBytes: WINDOWS_START,
                sizeBytes: sizeBytes - WINDOWS_START - TAIL_BYTES,
                type: "basic-data",
                typeId: "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
                name: "Basic data partition",
                filesystem: bitlocker ? "bitlocker" : "ntfs",
                bitlocker: bitlocker ? "encrypted" : "none",
                windows: false,
            },
            {
                number: 4,
                startBytes: sizeBytes - TAIL_BYTES,
                sizeBytes: RECOVERY_BYTES,
                type: "recovery",
                typeId: "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
                name: "",
                filesystem: "ntfs",
                bitlocker: "none",
                windows: false,
                skipped: "Windows recovery partition",
            },
        ],
    };
}

/** The Windows partition of a layout (windowsLayout's third). */
const windowsPartitionOf = (layout) => layout.partitions[2];

/** The evidence's body when the Windows partition stays BitLocker-locked: exit 4, `message` saying why. */
function lockedEvidence(layout, message) {
    return { ...layout, outcome: "locked", message, exitCode: 4 };
}

/**
 * Marks the layout's Windows partition unlocked with `unlockedWith` ({protector, keyId, tries});
 * `protectors`, when given, are the protectors its FVE metadata lists (then read).
 */
function unlock(layout, unlockedWith, protectors) {
    const windows = windowsPartitionOf(layout);
    windows.bitlocker = "unlocked";
    if (protectors) {
        windows.protectors = protectors;
        windows.protectorsRead = true;
    }
    windows.unlockedWith = unlockedWith;
}

/**
 * repair-disk on an opened Windows partition: `loops` when the disk boot-loops and its rule set
 * can change that (the faulty file is then quarantined into the folder of `at`, its content's
 * digest `sha256`), `earlier` the quarantine folder of an earlier repair of it, if any. Returns the
 * evidence's body (past repairDiskEvidence's fields) and whether the disk was repaired.
 */
function repairWindows(layout, { loops, earlier, at, sha256 }) {
    windowsPartitionOf(layout).windows = true;
    const volume = { partition: 3, dirty: false, hibernated: false, earlierQuarantines: earlier ? [earlier] : [], matches: [] };
    if (!loops) {
        return {
            repaired: false,
            evidence: {
                ...layout,
                volumes: [{ ...volume, outcome: "nothing-to-do" }],
                outcome: "nothing-to-do",
                message: "no file matched a rule: nothing was changed",
                exitCode: 0,
            },
        };
    }
    const folder = quarantineOf(at);
    const match = {
        rule: RULE_291.id,
        path: FAULTY_FILE,
        sizeBytes: 41004,
        modifiedAt: "2024-07-19T04:09:13Z",
        sha256,
        action: "quarantined",
        quarantinedTo: `${folder}/${FAULTY_FILE}`,
    };
    return {
        repaired: true,
        evidence: {
            ...layout,
            volumes: [{ ...volume, earlierQuarantines: [], matches: [match], quarantineFolder: folder, outcome: "repaired" }],
            outcome: "repaired",
            message: "faulty files moved to quarantine; the volume was unmounted cleanly",
            exitCode: 0,
        },
    };
}

module.exports = {
    RULE_291,
    RULE_TXR,
    FAULTY_FILE,
    quarantineOf,
    repairDiskEvidence,
    windowsLayout,
    windowsPartitionOf,
    lockedEvidence,
    unlock,
    repairWindows,
};
