// The GCP stand-in provider's access to its world: the file FAKE_GCLOUD_STATE names (the gcloud
// stand-in's), read and rewritten under its lock, and the lookups every resource makes in it,
// failing with Compute Engine's errors.
import { updateWorld, worldFile } from "../../world/world-file";
import { GcpDisk, GcpInstance, GcpSnapshot, GcpWorld, gcpWorldOf, nameOf, paths, pathOf } from "../../world/gcp-world";
import { STATE_MS, notFound, pause } from "./google-api";

/** The variable naming the GCP world file (the gcloud stand-in's). */
export const GCP_WORLD_VARIABLE = "FAKE_GCLOUD_STATE";

/** Runs `change` on the GCP world under its lock and writes it back. */
export function inWorld<T>(change: (world: GcpWorld) => T): T {
    return updateWorld(worldFile(GCP_WORLD_VARIABLE), (world) => change(gcpWorldOf(world)));
}

/**
 * An operation that takes time: each step changes the world (a disk CREATING), with a pause
 * before each next one, so that a CLI call meanwhile sees it on the way; `last` ends it (READY)
 * and returns what the operation made. `spendPoll` spends each poll of the operation (before each
 * step after the first, and before `last`) from the world's budget (./budget.ts).
 */
export async function stepByStep<T>(
    steps: readonly ((world: GcpWorld) => void)[],
    last: (world: GcpWorld) => T,
    spendPoll?: () => Promise<void> | undefined,
): Promise<T> {
    for (const [n, step] of steps.entries()) {
        if (n > 0) await pause(STATE_MS);
        if (n > 0) await spendPoll?.();
        inWorld(step);
    }
    await pause(STATE_MS);
    await spendPoll?.();
    return inWorld(last);
}

/** Where a zonal resource is named: by path (`projects/P/zones/Z/disks/N`, a self link) or by name in the given place. */
export function zonal(ref: string, project: string, zone: string): { project: string; zone: string; name: string } {
    const m = /^projects\/([^/]+)\/zones\/([^/]+)\/[a-zA-Z]+\/([^/]+)$/.exec(pathOf(ref));
    return m ? { project: m[1], zone: m[2], name: m[3] } : { project, zone, name: nameOf(ref) };
}

/** Where a global resource is named: by path (`projects/P/global/snapshots/N`, a self link) or by name in the given project. */
export function global(ref: string, project: string): { project: string; name: string } {
    const m = /^projects\/([^/]+)\/global\/[a-zA-Z]+\/([^/]+)$/.exec(pathOf(ref));
    return m ? { project: m[1], name: m[2] } : { project, name: nameOf(ref) };
}

/** The disk at project/zone/name, or Compute Engine's 404. */
export function diskIn(world: GcpWorld, project: string, zone: string, name: string): GcpDisk {
    const d = world.disks[name];
    if (!d || d.project !== project || d.zone !== zone) throw new Error(notFound(paths.disk(project, zone, name)));
    return d;
}

/** The instance at project/zone/name, or Compute Engine's 404. */
export function instanceIn(world: GcpWorld, project: string, zone: string, name: string): GcpInstance {
    const i = world.instances[name];
    if (!i || i.project !== project || i.zone !== zone) throw new Error(notFound(paths.instance(project, zone, name)));
    return i;
}

/** The snapshot project/name, or Compute Engine's 404. */
export function snapshotIn(world: GcpWorld, project: string, name: string): GcpSnapshot {
    const s = world.snapshots[name];
    if (!s || (s.project ?? "my-project") !== project) throw new Error(notFound(paths.snapshot(project, name)));
    return s;
}

/** The project id a project id or number names (Secret Manager names projects by number too). */
export function projectIdOf(world: GcpWorld, idOrNumber: string): string {
    return world.projects.find((p) => p.projectNumber === idOrNumber)?.projectId ?? idOrNumber;
}

/** The number of a project (as Secret Manager's errors name it), or the id when the world does not know it. */
export function projectNumberOf(world: GcpWorld, project: string): string {
    return world.projects.find((p) => p.projectId === project)?.projectNumber ?? project;
}
