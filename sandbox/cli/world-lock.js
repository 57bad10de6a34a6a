// The lock on a world file, as the stand-in CLIs (sandbox/cli/*) and the stand-in providers
// (sandbox/world/world-file.ts) take it: a lock folder beside the world (`<world>.lock`), made
// with mkdir (atomic), the holder's pid written into it (`pid`). A waiter never removes a live
// holder's lock: it takes over only a stale one, whose holder's pid is dead (a killed call) or
// which is older than STALE_SECONDS (no call holds a world that long), and says so, so that the
// holder counts the takeover in the world (world.lockTakeovers): a takeover may lose a count, and
// the benches then leave the budget not checked.
const fs = require("fs");
const path = require("path");

/** Seconds after which a lock is stale whoever holds it. */
const STALE_SECONDS = 120;
/** Tries (2 ms apart) between looks at whether the lock is stale: about half a second. */
const LOOK_EVERY = 250;

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Whether process `pid` is alive (EPERM: alive, another user's). */
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return e.code === "EPERM";
    }
}

/** The pid written in the lock folder, or undefined (not written yet, gone, or not a pid). */
function holderOf(lockDir) {
    try {
        const text = fs.readFileSync(path.join(lockDir, "pid"), "utf8");
        return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Whether the lock folder is stale at `now` (ms): its holder's pid is dead, or it is older than
 * STALE_SECONDS. A lock whose pid is not written yet is stale only by its age; a missing one is not.
 */
function isStale(lockDir, now = Date.now()) {
    let st;
    try {
        st = fs.lstatSync(lockDir);
    } catch {
        return false;
    }
    if (now - st.mtimeMs > STALE_SECONDS * 1000) return true;
    const pid = holderOf(lockDir);
    return pid !== undefined && !alive(pid);
}

/** Moves a stale lock aside (atomic: of two waiters, one moves it) and removes it; whether this one did. */
function takeOver(lockDir) {
    const aside = `${lockDir}.stale-${process.pid}-${Date.now()}`;
    try {
        fs.renameSync(lockDir, aside);
    } catch {
        return false;
    }
    fs.rmSync(aside, { recursive: true, force: true });
    return true;
}

/**
 * Takes the lock folder `lockDir`, waiting (2 ms at a time) while another holds it; returns how
 * many stale locks it took over to get it (0 nearly always). Throws naming the folder when it
 * cannot be made for another reason than its being held.
 */
function acquire(lockDir) {
    let takeovers = 0;
    for (let i = 1; ; i++) {
        try {
            fs.mkdirSync(lockDir);
        } catch (e) {
            if (e.code !== "EEXIST") throw new Error(`${lockDir}: the world's lock could not be made: ${e.message}`);
            if (i % LOOK_EVERY === 0 && isStale(lockDir) && takeOver(lockDir)) takeovers++;
            else pause(2);
            continue;
        }
        fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
        return takeovers;
    }
}

/** Releases the lock folder, unless another holder has it now (this one's was taken over as stale). */
function release(lockDir) {
    const pid = holderOf(lockDir);
    if (pid !== undefined && pid !== process.pid) return;
    fs.rmSync(lockDir, { recursive: true, force: true });
}

/** Counts `takeovers` in the world (world.lockTakeovers), for the benches to read. */
function countTakeovers(world, takeovers) {
    if (takeovers > 0) world.lockTakeovers = (world.lockTakeovers || 0) + takeovers;
}

module.exports = { STALE_SECONDS, LOOK_EVERY, acquire, release, isStale, countTakeovers };
