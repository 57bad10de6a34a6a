// Steps run as the scripts run them (base.sh sourced, then a script of the test's), each against a
// watcher of its own folder with ONE CLI place, with a marks folder the scripts touch files in and
// wait on: for tests of the gate, the locks and the watcher's restarts. Call `stepLab()` inside a
// `describe`: it makes fresh folders before each test and, after it, releases every waiting step,
// stops what is left and the watcher.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "./lab-run";
import { stopWatcher } from "./stand-in";

const root = path.resolve(__dirname, "../..");

/** A step's end: exit code, stdout and stderr. */
export interface StepEnd {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** The lab of one describe block. */
export interface StepLab {
    /** The marks folder of the current test (`$M` in the scripts). */
    readonly marks: string;
    /** The watcher's folder of the current test. */
    readonly watchDir: string;
    /** Starts a step: base.sh sourced, then `script`, with `env` added. */
    step(this: void, script: string, env?: Record<string, string>): { pid: number; done: Promise<StepEnd> };
    /** Whether the file `name` is in the marks folder. */
    mark(this: void, name: string): boolean;
    /** Waits (up to a minute) until `ready`; fails naming `what`. */
    until(this: void, what: string, ready: () => boolean): Promise<void>;
}

/**
 * Runs a step as the scripts run (base.sh sourced from the project folder, then `script`), with
 * PATH, HOME and BOOTLOOP_HOME, and `env` added: its process, and its end once it closes.
 */
export function runStep(script: string, env: Record<string, string>): { child: ChildProcess; done: Promise<StepEnd> } {
    const child = spawn("/bin/bash", ["-c", `source ./components/core/scripts/base.sh\n${script}`], {
        cwd: root,
        env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/nonexistent", BOOTLOOP_HOME: root, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    return { child, done: new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))) };
}

export function stepLab(): StepLab {
    let watchDir = "";
    let marks = "";
    const running: ChildProcess[] = [];
    beforeEach(() => {
        watchDir = path.join(tempDir({}), "w");
        marks = tempDir({});
    });
    afterEach(() => {
        // A failed assertion leaves its steps waiting: let them go, then stop what is left.
        fs.writeFileSync(path.join(marks, "release"), "");
        for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        stopWatcher(watchDir);
    });
    return {
        get marks() {
            return marks;
        },
        get watchDir() {
            return watchDir;
        },
        step(script, env = {}) {
            const { child, done } = runStep(script, {
                M: marks,
                BOOTLOOP_WATCH_DIR: watchDir,
                POLL_SECONDS: "0",
                BOOTLOOP_MAX_CLI_PROCESSES: "1",
                ...env,
            });
            running.push(child);
            return { pid: child.pid!, done };
        },
        mark: (name) => fs.existsSync(path.join(marks, name)),
        async until(what, ready) {
            for (let i = 0; !ready(); i++) {
                if (i > 3000) throw new Error(`never: ${what}`);
                await new Promise((r) => setTimeout(r, 20));
            }
        },
    };
}
