// One cloud's world in the sandbox: a JSON file that the stand-in CLIs (sandbox/cli/) and the
// stand-in providers (sandbox/providers/) both read and rewrite, one at a time under the same lock
// (a lock folder beside it, as the CLIs take it), so a disk a provider creates is the disk a step
// script attaches.
import * as fs from "fs";

/** A world as the stand-in CLI of its cloud reads it. */
export type World = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each cloud's world has its own shape, read field by field

/** The lock the stand-in CLIs take (plain JavaScript, shared with them). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain JavaScript module the stand-in CLIs share, without types
const worldLock = require("../cli/world-lock.js") as {
    acquire(lockDir: string): number;
    release(lockDir: string): void;
    countTakeovers(world: World, takeovers: number): void;
};

/**
 * Runs `change` on the world in `file` under its lock and writes it back; returns what `change`
 * returned. A stale lock (its holder dead, or held past world-lock.js STALE_SECONDS) is taken over,
 * never a live holder's, and counted in the world (world.lockTakeovers).
 */
export function updateWorld<T>(file: string, change: (world: World) => T): T {
    const lock = `${file}.lock`;
    const takeovers = worldLock.acquire(lock);
    try {
        const world = JSON.parse(fs.readFileSync(file, "utf8")) as World;
        worldLock.countTakeovers(world, takeovers);
        const result = change(world);
        // Compact, as the stand-in CLIs write it: every call parses and rewrites the whole world.
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(world));
        fs.renameSync(`${file}.tmp`, file);
        return result;
    } finally {
        worldLock.release(lock);
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
