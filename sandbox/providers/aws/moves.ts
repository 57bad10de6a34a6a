// How the AWS world moves when something looks at it, as the CLI stand-in moves it on each
// describe: a snapshot pending → completed, a volume creating → available, attaching → in-use,
// detaching → available, an instance pending → running. The provider's waiters poll through these.
import { AwsWorld } from "../../world/aws-world";

/** One poll of a snapshot: its state after it. */
export function pollSnapshot(world: AwsWorld, id: string): string | undefined {
    const s = world.snapshots?.[id];
    if (!s) return undefined;
    if (s.state === "pending") {
        s.pollsToComplete = (s.pollsToComplete ?? 1) - 1;
        if (s.pollsToComplete <= 0) {
            s.state = "completed";
            s.progress = "100%";
            delete s.pollsToComplete;
        } else s.progress = "50%";
    }
    return s.state ?? "completed";
}

/** One poll of a volume: its state after it. */
export function pollVolume(world: AwsWorld, id: string): string | undefined {
    const v = world.volumes[id];
    if (!v) return undefined;
    if (v.state === "creating") {
        v.pollsToAvailable = (v.pollsToAvailable ?? 1) - 1;
        if (v.pollsToAvailable <= 0) {
            v.state = "available";
            delete v.pollsToAvailable;
        }
    } else if (v.state === "attaching") v.state = "in-use";
    else if (v.state === "detaching") v.state = "available";
    return v.state;
}

/** One poll of an instance: its state after it (pending → running, as the CLI's tick). */
export function pollInstance(world: AwsWorld, id: string): string | undefined {
    const i = world.instances[id];
    if (!i) return undefined;
    if (i.state === "pending") {
        i.state = "running";
        i.checkPolls = i.bootPolls ?? 1;
    }
    return i.state;
}

/** The instance a volume is attached to, with the device, or undefined. */
export function attachmentOf(world: AwsWorld, volumeId: string): { instance: string; device: string } | undefined {
    for (const [instance, i] of Object.entries(world.instances))
        for (const [device, v] of Object.entries(i.blockDevices)) if (v === volumeId) return { instance, device };
    return undefined;
}
