// A VM as its inventory entry gives it, validated, and a backup its OS disk can be restored from.
import { Strategy } from "./remedies";

/** The guest operating systems an inventory entry's `os:` may name; `windows` when absent. */
export const GUEST_OSES = ["windows", "linux"] as const;

/** A guest operating system: which rule set repairs its disk and which signal says it booted. */
export type GuestOs = (typeof GUEST_OSES)[number];

/**
 * The default extended regular expression that marks a Linux guest's boot on its serial console: a
 * getty's login prompt (`HOST login:`), or cloud-init's last line (`Cloud-init v. 24.1 finished at
 * …`). Clouds whose boot signal is console text use it unless their config gives another.
 */
export const LINUX_BOOT_MARKER = "login:|Cloud-init v\\. [^ ]+ finished";

/** The guest OS of a VM: its entry's `os`, Windows when absent. */
export function guestOs(vm: { os?: GuestOs }): GuestOs {
    return vm.os ?? "windows";
}

/** A validated inventory entry: everything later stages need, nothing left unchecked. */
export interface VmEntry {
    /** Position in the inventory (for messages). */
    index: number;
    /** Line of the entry in the inventory file, when known. */
    line?: number;
    /** The `cloud:` value. */
    cloud: string;
    /** The cloud's own fields (e.g. region and instanceId), validated against their patterns. */
    fields: Readonly<Record<string, string>>;
    /** Canonical identity: same VM ⇔ same key. */
    key: string;
    /** Human label for messages and reports. */
    label: string;
    /** Resource-name stem derived from the key alone. */
    slug: string;
    /** The remedy to apply. */
    strategy: Strategy;
    /** Explicit wave, when the inventory sets one. */
    wave?: number;
    /**
     * The guest OS (`os:`), present only for `linux` (absent means Windows, so Windows VMs carry
     * nothing more): a Linux VM's disk is repaired with the stack's `linuxRuleSet`, and its boot is
     * verified with a Linux signal.
     */
    os?: "linux";
    /**
     * Retries asked for (`retry:`, absent for the first attempt): attempt `retry + 1` declares the
     * steps that run once the disk is in reach (repair, fixed disk, swap; a restore's disk and swap;
     * a reboot-only chain's restarts) anew, so `pulumi up` runs them again for this VM alone.
     */
    retry?: number;
    /** Fully qualified stack-config key of the secret BitLocker recovery password, if any. */
    bitlockerKey?: string;
    /** Snapshot or backup to restore from (strategy `restore` only). */
    restoreFrom?: string;
    /**
     * True when `restoreFrom` names a backup of another disk on purpose (a golden image): without
     * it, a backup that was not taken from this VM's original OS disk is refused.
     */
    restoreFromOtherDisk?: boolean;
    /** The VM's Windows computer name, when the inventory gives it (`npm run import-keys` matches recovery keys by it). */
    hostname?: string;
    /** Free-form labels carried into tags and the report. */
    labels: Readonly<Record<string, string>>;
}

/** A backup a VM's OS disk can be restored from (strategy restore). */
export interface RestorePoint {
    /** Cloud id of the snapshot or backup. */
    id: string;
    /** When it was taken (ISO 8601, UTC). */
    createdAt: string;
}
