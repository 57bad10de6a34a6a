import * as local from "@pulumi/command/local";
import { stackScriptEnvironment } from "./rate-share";
import * as pulumi from "@pulumi/pulumi";
import { RestorePoint } from "./contract/vm";

/** A snapshot or backup a cloud's restore-points script listed. */
export interface RestoreCandidate {
    /** Cloud id of the snapshot or backup. */
    id: string;
    /** When it was taken, as the cloud wrote it. */
    createdAt: string;
    /** `ready` when a disk can be made from it; anything else is the cloud's state. */
    state: string;
    /** The disk it was taken from, as the cloud names it ("" when the cloud does not say). */
    source: string;
}

/** What the choice needs. */
export interface RestoreChoice {
    /** The entry's `restoreFrom`, when it names one. */
    explicit?: string;
    /** Only backups taken before this instant (ISO 8601, UTC) qualify: `restoreBefore`. */
    before: string;
    /** The disk the backups are of, for messages. */
    disk: string;
    /** Whether a candidate's `source` is that disk (each cloud names disks its own way). */
    isOriginal(source: string): boolean;
    /** The entry's `restoreFromOtherDisk`: the named backup may come from another disk. */
    otherDiskAllowed?: boolean;
}

const iso = (text: string) => {
    const t = Date.parse(text);
    return isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
};

/**
 * Chooses the restore point: the named backup, which must be ready, older than `before` and taken
 * from this VM's original disk (unless the entry allows another); or else the newest ready backup
 * older than `before`. Throws with the reason when there is none, so
 * the VM stops the run before anything is declared.
 */
export function chooseRestorePoint(candidates: readonly RestoreCandidate[], choice: RestoreChoice): RestorePoint {
    const cutoff = Date.parse(choice.before);
    const dated = candidates
        .map((c) => ({ ...c, at: iso(c.createdAt) }))
        .filter((c): c is RestoreCandidate & { at: string } => c.at !== undefined);
    if (choice.explicit) {
        const named = dated.find((c) => c.id.toLowerCase() === choice.explicit!.toLowerCase());
        if (!named) throw new Error(`restoreFrom ${choice.explicit} was not found`);
        if (named.state !== "ready") throw new Error(`restoreFrom ${named.id} is ${named.state}, not ready to make a disk from`);
        if (Date.parse(named.at) >= cutoff) {
            throw new Error(
                `restoreFrom ${named.id} was taken at ${named.at}, not before restoreBefore ${choice.before}: it may hold the faulty file; name an older backup, or move restoreBefore if you know it is good`,
            );
        }
        if (!choice.otherDiskAllowed && !choice.isOriginal(named.source)) {
            throw new Error(
                `restoreFrom ${named.id} was taken from ${named.source || "a disk the cloud does not name"}, not from this VM's original OS disk ${choice.disk}; name a backup of this VM's disk, or set restoreFromOtherDisk: true on the entry if that disk is the one you mean`,
            );
        }
        return { id: named.id, createdAt: named.at };
    }
    const usable = dated
        .filter((c) => c.state === "ready" && Date.parse(c.at) < cutoff)
        .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    if (usable.length === 0) {
        const later = dated.filter((c) => Date.parse(c.at) >= cutoff).sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
        const seen =
            dated.length === 0
                ? "none was found"
                : `${dated.length} found, ${later.length ? `all from ${later[later.length - 1].at} or later` : "none of them ready"}`;
        throw new Error(
            `no backup of its OS disk ${choice.disk} was taken before restoreBefore ${choice.before} (${seen}); name one with restoreFrom, or use strategy repair`,
        );
    }
    return { id: usable[0].id, createdAt: usable[0].at };
}

/**
 * Runs a cloud's read-only restore-points script where `pulumi up` runs (an invoke, so it runs
 * at preview too) and parses its JSON list. `lookup` names it for the offline plan's placeholders.
 */
export async function listRestorePoints(
    lookup: string,
    script: string,
    environment: Record<string, string>,
    opts?: pulumi.InvokeOptions,
): Promise<RestoreCandidate[]> {
    const result = await local.run(
        {
            command: script,
            interpreter: ["/bin/bash", "-c"],
            // The stack's share of the scopes' budgets, as its steps have it (rate-share.ts).
            environment: { ...environment, ...stackScriptEnvironment(), BOOTLOOP_LOOKUP: lookup },
        },
        opts,
    );
    const stdout = result.stdout ?? "";
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch {
        throw new Error(`the ${lookup} lookup printed no JSON list: ${stdout.slice(0, 200)}`);
    }
    if (!Array.isArray(parsed)) throw new Error(`the ${lookup} lookup printed no JSON list`);
    return (parsed as { id: string; createdAt: string; state: string; source?: string | null }[]).map((c) => ({
        id: String(c.id),
        createdAt: String(c.createdAt),
        state: String(c.state),
        source: String(c.source ?? ""),
    }));
}

/**
 * An offline-plan placeholder listing: for each point given (a backup's id and the disk it is of),
 * one ready backup taken six hours before the cutoff (`RESTORE_BEFORE`, else the default's).
 */
export function offlineRestorePoints(
    environment: Record<string, string>,
    points: readonly { id: string; source: string }[],
): { stdout: string; stderr: string } {
    const before = Date.parse(environment.RESTORE_BEFORE ?? "2024-07-19T04:09:00Z");
    const at = new Date(before - 6 * 3_600_000).toISOString();
    return { stdout: JSON.stringify(points.map((p) => ({ id: p.id, createdAt: at, state: "ready", source: p.source }))), stderr: "" };
}

/**
 * An instant as a tag or label value every cloud accepts (GCP labels allow only lowercase letters,
 * digits, '-' and '_'): `2024-07-18T22:09:00Z` → `2024-07-18t22-09-00z`.
 */
export function instantMark(iso: string): string {
    return iso.toLowerCase().replace(/:/g, "-");
}

/**
 * The restore point a restored disk of ours names in its marks (tags or labels), so a later run
 * keeps using it even when the backup was deleted since (retention) or a newer one qualifies.
 * Undefined when the marks are missing or malformed: the lookup then searches again.
 */
export function markedRestorePoint(id: string | undefined, taken: string | undefined): RestorePoint | undefined {
    const m = /^(\d{4}-\d{2}-\d{2})t(\d{2})-(\d{2})-(\d{2})z$/.exec(taken ?? "");
    if (!id || !m) return undefined;
    return { id, createdAt: `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` };
}
