// One call of a stand-in CLI (sandbox/cli/<cloud>/<cli>-cli.js), run in this process: the API front
// (sandbox/api/front.js) runs thousands of them, where a Node process each cost ~68 ms of CPU; the
// executables (sandbox/cli/<cloud>/<cli>) run one and print its answer. A call's body writes
// through `io` instead of the process: its answer is collected, its exit is a thrown sentinel
// (never process.exit), and the world lock it took is released whatever happens (finally), so one
// call leaves nothing behind for the next.
"use strict";
const fs = require("fs");
const budget = require("./budget.js");
const worldLock = require("./world-lock.js");

/** The private sentinel a call throws to end with an exit code (caught by runCall only). */
class CallExit {
    constructor(code) {
        this.code = code;
    }
}

/**
 * What a call that crashed (an unexpected error, `e`) prints on stderr: that the stand-in `cli`
 * crashed, on which call (`argv`, as JSON), then the error's stack, so that a crash is never read
 * as one of the cloud's own errors. In-process and as the executable alike (runAsProcess prints
 * what runCall returns).
 */
function crashReport(cli, argv, e) {
    const stack = e && e.stack ? e.stack : String(e);
    return `${cli} (stand-in) crashed: an unexpected error in the call ${JSON.stringify(argv)} (a fault of the stand-in, not an answer of the cloud):\n${stack}\n`;
}

/**
 * Runs `body(argv, env, io)`, one call of the stand-in `cli` (its name: aws, az, gcloud), and
 * returns `{ code, stdout, stderr }` as the executable would end: the code it exited with (0 when
 * it ran to its end), and all it wrote. `io`: `stdout(text)`, `stderr(text)`, `exit(code)`
 * (throws), `acquire(lockDir)` (takes the world's lock, returns world-lock.js's takeovers) and
 * `release()` (gives it back early). An unexpected error ends the call with code 1, as Node ends a
 * script that throws, and stderr says the stand-in crashed, on which call, then the stack
 * (crashReport).
 */
function runCall(cli, body, argv, env) {
    const stdout = [];
    const stderr = [];
    let lockDir;
    let held = false;
    const io = {
        stdout: (text) => void stdout.push(String(text)),
        stderr: (text) => void stderr.push(String(text)),
        exit: (code) => {
            throw new CallExit(code);
        },
        acquire: (dir) => {
            const takeovers = worldLock.acquire(dir);
            lockDir = dir;
            held = true;
            return takeovers;
        },
        release: () => {
            if (held) worldLock.release(lockDir);
            held = false;
        },
    };
    let code = 0;
    try {
        body(argv, env, io);
    } catch (e) {
        if (e instanceof CallExit) code = e.code;
        else {
            code = 1;
            stderr.push(crashReport(cli, argv, e));
        }
    } finally {
        io.release();
    }
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

/** Writes all of `text` to file descriptor `fd`, waiting out a full pipe (EAGAIN): large answers arrive whole. */
function writeAll(fd, text) {
    const b = Buffer.from(text);
    for (let off = 0; off < b.length;) {
        try {
            off += fs.writeSync(fd, b, off);
        } catch (e) {
            if (e.code !== "EAGAIN") throw e;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
    }
}

/** The executable's part: runs `run` on this process's arguments and environment, prints its answer, exits with its code. */
function runAsProcess(run) {
    const result = run(process.argv.slice(2), process.env);
    writeAll(1, result.stdout);
    writeAll(2, result.stderr);
    process.exit(result.code);
}

/**
 * The worlds this process wrote last, parsed, by file, with the bytes it wrote: a process that runs
 * many calls (the API front) parses a world again only when its bytes differ from those (another
 * process, a stand-in provider or an executable, wrote it since). Comparing bytes costs a fraction
 * of parsing them, and unlike the file's times it cannot miss a write made within the same clock
 * tick. Only a call that ended by `out` (its world saved as it is) leaves its world here; any other
 * end leaves nothing, so a world changed and not saved is never used again.
 */
const cached = new Map();

/** The world in `file`: the cached one when the file holds exactly what this process wrote with it (taken: the call now owns it), else parsed. */
function readWorldFile(file) {
    const bytes = fs.readFileSync(file);
    const entry = cached.get(file);
    cached.delete(file);
    return entry && entry.bytes.equals(bytes) ? entry.world : JSON.parse(bytes.toString("utf8"));
}

/**
 * The start every stand-in call shares: the world file `env[stateVar]` names, read under its lock
 * (taken through `io`, released when the call ends however it ends: the watcher and the steps call
 * at the same time; a stale lock, its holder dead, is taken over and counted in
 * world.lockTakeovers), the call appended to the log `env[logVar]` names, and the budget's refill
 * pace (./budget.js) read from this call's environment. Without the world file's variable the
 * call ends with code 2, naming it. The world comes from this process's cache when the file holds
 * what this process last wrote with it (see `cached`). Returns `{ statePath, world, scale, perObjectScale, save, out }`.
 */
function openWorld(cli, stateVar, logVar, argv, env, io) {
    const statePath = env[stateVar];
    if (!statePath) {
        io.stderr(`${cli} (stand-in): ${stateVar} is not set: it names the simulated cloud's world file\n`);
        io.exit(2);
    }
    const takeovers = io.acquire(`${statePath}.lock`);
    const world = readWorldFile(statePath);
    if (takeovers) {
        worldLock.countTakeovers(world, takeovers);
        fs.writeFileSync(statePath, JSON.stringify(world));
    }
    fs.appendFileSync(env[logVar], JSON.stringify(argv) + "\n");
    const scale = budget.rateScale(env);
    // save: the world written back. out: a JSON answer, the call's end (the world saved: even a
    // read was counted and spent from the world's budget; with FAKE_OUT_LOG, every answer is kept
    // with its call, for the test that checks them against the real CLI's output model).
    let written;
    const save = () => {
        written = JSON.stringify(world);
        fs.writeFileSync(statePath, written);
    };
    const out = (o) => {
        save();
        cached.set(statePath, { world, bytes: Buffer.from(written) });
        if (env.FAKE_OUT_LOG) fs.appendFileSync(env.FAKE_OUT_LOG, JSON.stringify({ argv, out: o }) + "\n");
        io.stdout(JSON.stringify(o));
        io.exit(0);
    };
    return { statePath, world, scale, perObjectScale: budget.objectScale(scale, env), save, out };
}

module.exports = { openWorld, runCall, runAsProcess, writeAll };
