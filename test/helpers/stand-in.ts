import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** What a script run against a stand-in CLI did. */
export interface StandInRun {
    code: number | null;
    stdout: string;
    stderr: string;
    /** Every call the stand-in received, its arguments in order. */
    calls: string[][];
    /** The stand-in's world after the run. */
    world: any;
}

/**
 * Runs a command script with bash, a stand-in CLI first on PATH and its world in a JSON file. The
 * stand-in appends each call to a log and rewrites the world as the cloud would move. Polls and
 * backoff are instant unless the environment says otherwise.
 */
export function runWithStandIn(args: { script: string; env: Record<string, string>; world: unknown; standInDir: string; stateVar: string; logVar: string }): StandInRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "script-"));
    const state = path.join(dir, "world.json");
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(state, JSON.stringify(args.world));
    fs.writeFileSync(log, "");
    const out = spawnSync("bash", ["-c", args.script], {
        encoding: "utf8",
        cwd: dir,
        env: { PATH: `${args.standInDir}:${process.env.PATH}`, HOME: dir, [args.stateVar]: state, [args.logVar]: log, POLL_SECONDS: "0", BACKOFF_SECONDS: "0", ...args.env },
        timeout: 60_000,
    });
    const calls = fs.readFileSync(log, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l) as string[]);
    return { code: out.status, stdout: out.stdout, stderr: out.stderr, calls, world: JSON.parse(fs.readFileSync(state, "utf8")) };
}
