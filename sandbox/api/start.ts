import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The stand-in API front (front.js), running: the environment that points the watcher at it, and its end. */
export interface ApiFront {
    /** Each present cloud's endpoint variables (its translator's `endpointEnv`), e.g. `AWS_ENDPOINT_URL`. */
    env: Record<string, string>;
    /** The log of the stand-in calls it made for API requests ({cli, argv} a line). */
    apiLog: string;
    /** Ends the front (idempotent). */
    stop(): void;
}

/** A cloud translator module of the front (./aws.js, ./gcp.js, ./azure.js). */
interface Translator {
    /** Its path prefix on the front (`/aws`). */
    prefix: string;
    /** The variables the product's API clients read to reach `base` instead of the cloud. */
    endpointEnv(base: string): Record<string, string>;
}

const TRANSLATORS = ["aws.js", "gcp.js", "azure.js"];

/** The endpoint variables of every present cloud for the front whose port file is `portFile`. */
function frontEnv(portFile: string): Record<string, string> {
    const { port } = JSON.parse(fs.readFileSync(portFile, "utf8")) as { port: number };
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${portFile}: no port of a stand-in API front`);
    const out: Record<string, string> = {};
    for (const file of TRANSLATORS) {
        const full = path.join(__dirname, file);
        if (!fs.existsSync(full)) continue;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const t = require(full) as Translator;
        Object.assign(out, t.endpointEnv(`http://127.0.0.1:${port}${t.prefix}`));
    }
    return out;
}

/**
 * A front someone else started (the engine bench, outside the runner's cgroup: the simulated
 * cloud is no runner's work) and ends: its endpoints, its log; `stop()` leaves it running.
 */
export function joinApiFront(portFile: string): ApiFront {
    if (!fs.existsSync(portFile)) throw new Error(`SANDBOX_API_FRONT names ${portFile}, where no stand-in API front runs`);
    return { env: frontEnv(portFile), apiLog: path.join(path.dirname(portFile), "api-calls.log"), stop: () => undefined };
}

/**
 * Starts the stand-in clouds' HTTP APIs for the worlds `env` names (its FAKE_*_STATE and FAKE_*_LOG),
 * writing its port file into `dir`, and waits (at most 20 s) until it listens. It ends with this
 * process, or with `stop()`. Synchronous, so that a test may then run a script with spawnSync.
 */
export function startApiFront(env: NodeJS.ProcessEnv, dir: string): ApiFront {
    const portFile = path.join(dir, "api-front.json");
    fs.rmSync(portFile, { force: true });
    fs.rmSync(path.join(dir, "api-front-cpu.json"), { force: true });
    const child = spawn(process.execPath, [path.join(__dirname, "front.js"), portFile, String(process.pid)], {
        env,
        stdio: ["ignore", "ignore", "inherit"],
        detached: true,
    });
    child.unref();
    const until = Date.now() + 20_000;
    while (!fs.existsSync(portFile)) {
        if (Date.now() > until || child.exitCode !== null) {
            child.kill();
            throw new Error(`the stand-in API front did not start within 20 s (${portFile})`);
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    let stopped = false;
    return {
        env: frontEnv(portFile),
        apiLog: path.join(dir, "api-calls.log"),
        stop: () => {
            if (stopped) return;
            stopped = true;
            try {
                process.kill(child.pid!, "SIGTERM");
            } catch {
                return; // gone already
            }
            // Its last act is writing its CPU figures into `dir`: wait (at most 3 s) so that whoever
            // removes the folder next does not race it.
            const cpuFile = path.join(dir, "api-front-cpu.json");
            for (const until = Date.now() + 3000; !fs.existsSync(cpuFile) && Date.now() < until;)
                Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        },
    };
}
