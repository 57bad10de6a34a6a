// One cloud's world in the sandbox: a JSON file that the stand-in CLIs (sandbox/cli/) and the
// stand-in providers (sandbox/providers/) both read and rewrite, one at a time under the same lock
// (a lock folder beside it, as the CLIs take it), so a disk a provider creates is the disk a step
// script attaches.
import * as fs from "fs";

/** A world as the stand-in CLI of its cloud reads it. */
export type World = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each cloud's world has its own shape, read field by field

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `change` on the world in `file` under its lock and writes it back; returns what `change` returned. */
export function updateWorld<T>(file: string, change: (world: World) => T): T {
    const lock = `${file}.lock`;
    for (let i = 0; ; i++) {
        try {
            fs.mkdirSync(lock);
            break;
        } catch {
            // The CLIs take over a lock left by a killed holder after about 8 s; so does this.
            if (i > 4000) fs.rmSync(lock, { recursive: true, force: true });
            pause(2);
        }
    }
    try {
        const world = JSON.parse(fs.readFileSync(file, "utf8")) as World;
        const result = change(world);
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(world, null, 2));
        fs.renameSync(`${file}.tmp`, file);
        return result;
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

/** The world in `file` as it is now (under its lock, so never half-written). */
export function readWorld(file: string): World {
    return updateWorld(file, (world) => JSON.parse(JSON.stringify(world)) as World);
}

/** The world file a stand-in provider works on: named by the variable its cloud's CLI reads. */
export function worldFile(variable: string): string {
    const file = process.env[variable];
    if (!file) throw new Error(`${variable} is not set: the sandbox names each cloud's world file for its providers and CLIs`);
    return file;
}
