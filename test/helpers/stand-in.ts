import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startApiFront } from "../../sandbox/api/start";
import { NO_AWS_PROFILE, setEnv } from "./aws-env";

/** The project folder: scripts find the watcher there. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Stops the watcher a script run started in `watchDir`, if it still runs. */
export function stopWatcher(watchDir: string): void {
    try {
        process.kill(Number(fs.readFileSync(path.join(watchDir, "watcher.pid"), "utf8")), "SIGTERM");
    } catch {
        /* none, or gone already */
    }
}

/** What a script run against a stand-in CLI did. */
export interface StandInRun {
    code: number | null;
    stdout: string;
    stderr: string;
    /** Every call the stand-in received, its arguments in order. */
    calls: string[][];
    /** Every JSON answer the stand-in gave, with its call. */
    outputs: { argv: string[]; out: unknown }[];
    /** The stand-in's world after the run. */
    world: any;
}

/** Where a stand-in's world lives for a run. */
interface StandInArgs {
    world: unknown;
    standInDir: string;
    stateVar: string;
    logVar: string;
}

/**
 * A fresh folder with the stand-in's world and call log, and the environment scripts run with:
 * the stand-in first on PATH, instant polls and backoff, and a watcher folder of its own. `done`
 * stops that watcher and reads back the calls and the world.
 */
function standInRun(args: StandInArgs, prefix: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const state = path.join(dir, "world.json");
    const log = path.join(dir, "calls.log");
    const answers = path.join(dir, "answers.log");
    fs.writeFileSync(state, JSON.stringify(args.world));
    fs.writeFileSync(log, "");
    fs.writeFileSync(answers, "");
    const watch = path.join(dir, "watch");
    const env: Record<string, string> = {
        PATH: `${args.standInDir}:${process.env.PATH}`,
        HOME: dir,
        [args.stateVar]: state,
        [args.logVar]: log,
        FAKE_OUT_LOG: answers,
        POLL_SECONDS: "0",
        BOOTLOOP_HOME: PROJECT_DIR,
        BOOTLOOP_WATCH_DIR: watch,
        BOOTLOOP_TIME_SCALE: "1000",
        BOOTLOOP_WATCHER_IDLE_SECONDS: "2",
        BOOTLOOP_BLIND_GRACE_SECONDS: "2",
    };
    // The watcher's observations are requests of the clouds' APIs: the stand-in front answers them from the same world.
    const front = startApiFront({ ...process.env, ...env }, dir);
    Object.assign(env, front.env);
    const done = () => {
        stopWatcher(watch);
        front.stop();
        const lines = (file: string) =>
            fs
                .readFileSync(file, "utf8")
                .split("\n")
                .filter((l) => l)
                .map((l) => JSON.parse(l));
        return {
            calls: lines(log) as string[][],
            outputs: lines(answers) as { argv: string[]; out: unknown }[],
            world: JSON.parse(fs.readFileSync(state, "utf8")),
        };
    };
    return { dir, env, done };
}

/**
 * Deadlines far off, for tests of retrying: what they test is the retry, not how long a loaded
 * runner takes to make its next observation (a CI run once saw a stop wait's 0.9 s, compressed,
 * pass while the throttled watcher backed off).
 */
export const FAR_DEADLINES = { STOP_TIMEOUT_SECONDS: "60000", BOOTLOOP_BLIND_GRACE_SECONDS: "60" };

/**
 * Runs a command script with bash, a stand-in CLI first on PATH and its world in a JSON file. The
 * stand-in appends each call to a log and rewrites the world as the cloud would move. Polls and
 * backoff are instant unless the environment says otherwise. The script's watcher (which makes
 * the batched observations, through the same stand-in) gets a folder of its own and is stopped
 * after the run; its calls are in `calls` too.
 */
export function runWithStandIn(args: StandInArgs & { script: string; env: Record<string, string> }): StandInRun {
    const run = standInRun(args, "script-");
    const out = spawnSync("bash", ["-c", args.script], {
        encoding: "utf8",
        cwd: run.dir,
        env: { ...run.env, ...args.env },
        timeout: 60_000,
    });
    return { code: out.status, stdout: out.stdout, stderr: out.stderr, ...run.done() };
}

/**
 * Runs `body` with the stand-in's environment in this process's own, for scripts the program runs
 * as its own child processes (secret lookups); the environment is restored and the watcher stopped
 * afterwards.
 */
export async function withStandInEnv<T>(args: StandInArgs, body: () => Promise<T>): Promise<T> {
    const run = standInRun(args, "program-");
    // The stand-in's keys, and no developer's AWS profile or config files (the SDK would prefer them).
    const restore = setEnv({ ...run.env, ...NO_AWS_PROFILE });
    try {
        return await body();
    } finally {
        restore();
        run.done();
    }
}

/**
 * Runs several scripts at once against one stand-in world, sharing one watcher (as the steps of
 * one `pulumi up` do); resolves with each run's exit code and stderr, and the world after.
 */
export async function runTogether(args: StandInArgs & { scripts: { script: string; env: Record<string, string> }[] }): Promise<{
    runs: { code: number | null; stderr: string }[];
    world: any;
    calls: string[][];
    outputs: { argv: string[]; out: unknown }[];
}> {
    const run = standInRun(args, "scripts-");
    const runs = await Promise.all(
        args.scripts.map(
            (s) =>
                new Promise<{ code: number | null; stderr: string }>((resolve) => {
                    const child = spawn("bash", ["-c", s.script], {
                        cwd: run.dir,
                        env: { ...run.env, ...s.env },
                        stdio: ["ignore", "ignore", "pipe"],
                    });
                    let stderr = "";
                    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                    child.on("close", (code) => resolve({ code, stderr }));
                }),
        ),
    );
    return { runs, ...run.done() };
}
