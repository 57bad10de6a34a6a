import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programNodeArgs } from "../../components/tools/node-args";

// Runs `npm run sandbox` (the real engine against the simulated cloud) for the end-to-end tests,
// each test file in a sandbox folder of its own.

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * The suite's sandbox settings: the scripts' waits shortened 90 times instead of the sandbox's 30
 * (the cloud's own time runs 1,000 times faster either way). The dev stack's reboot-then-repair VM
 * waits out 15 restarts before its repair, the whole length of an `up`: 150 s at 30, 50 s at 90.
 */
export const SUITE_ENV = { TS_NODE_TRANSPILE_ONLY: "true", BOOTLOOP_WAIT_SCALE: "90" };

/** One finished sandbox command. */
export interface SandboxRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** A sandbox folder of its own and the commands run in it. */
export class SandboxSession {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-e2e-"));

    /** Runs `npm run sandbox -- <args>`; the output is kept for the failure message. */
    run(args: readonly string[], env: Record<string, string> = {}): SandboxRun {
        const r = spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "sandbox/run.ts", ...args], {
            cwd: ROOT,
            // INIT_CWD: file flags (--policy-pack policy) are read from the project, wherever `npm test` was typed.
            env: { ...process.env, ...SUITE_ENV, SANDBOX_DIR: this.dir, INIT_CWD: ROOT, ...env },
            encoding: "utf8",
            maxBuffer: 256 * 1024 * 1024,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    /** Like run, but throws with the command's output unless it exits 0. */
    ok(args: readonly string[], env: Record<string, string> = {}): SandboxRun {
        const r = this.run(args, env);
        if (r.status !== 0)
            throw new Error(
                `npm run sandbox -- ${args.join(" ")} exited ${r.status}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`,
            );
        return r;
    }

    /** The simulated cloud now, per CLI (`npm run sandbox -- world --json`). */
    world(stack: string): Record<string, Record<string, unknown>> {
        return JSON.parse(this.ok(["world", "--stack", stack, "--json"]).stdout) as Record<string, Record<string, unknown>>;
    }
}

/** Every object id the worlds hold (the keys of their collections, lower-cased: Azure ids are case-insensitive). */
export function worldIds(worlds: Record<string, Record<string, unknown>>): Set<string> {
    const ids = new Set<string>();
    for (const w of Object.values(worlds))
        for (const collection of Object.values(w ?? {}))
            if (collection && typeof collection === "object" && !Array.isArray(collection))
                for (const id of Object.keys(collection)) ids.add(id.toLowerCase());
    return ids;
}

/** Whether the world holds the object an output names: by its id, or by its name (GCP ids are paths ending in the name). */
export function inWorld(ids: ReadonlySet<string>, id: string): boolean {
    const lower = id.toLowerCase();
    return ids.has(lower) || ids.has(lower.slice(lower.lastIndexOf("/") + 1));
}
