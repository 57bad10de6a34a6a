import { execFile } from "child_process";
import { stackScriptEnvironment } from "../core/rate-share";
import { PROJECT_DIR } from "../core/script-text";
import { Semaphore } from "./limits";

/**
 * The function token a cloud path's `offlineLookup` answers secret lookups under in the offline
 * plan, with inputs `{ lookup, environment }` and a result `{ stdout }`.
 */
export const SECRET_LOOKUP = "bootloop-rescue:secret-lookup";

/** Answers secret lookups in the offline plan: the lookup's name and environment → what it prints. */
export type OfflineSecretLookup = (lookup: string, environment: Readonly<Record<string, string>>) => string;

let offline: OfflineSecretLookup | undefined;

/**
 * Lookup scripts alive at once. A thousand VMs' lookups start together; each script is a bash
 * process (its CLI calls wait at the watcher's gate anyway), so more would only hold memory.
 */
const running = new Semaphore(16);

/**
 * Makes every secret lookup of this process answer with placeholders (the offline plan, which
 * has no CLI and no cloud); `undefined` ends that.
 */
export function answerSecretLookupsOffline(answer: OfflineSecretLookup | undefined): void {
    offline = answer;
}

/**
 * Runs a cloud's read-only lookup script whose output is a secret (a disk's BitLocker key file) as
 * a child process of the program, from the project folder (where the watcher starts), and resolves
 * to what it printed, trimmed. Unlike an invoke (`local.run`), nothing passes through the Pulumi
 * engine, whose verbose logs keep what invokes return; the caller wraps the result in
 * `pulumi.secret` at once. The script's environment is the program's plus `environment` (values,
 * never code); on failure the rejection carries the script's own `bootloop-rescue:` lines, never
 * its output.
 */
export async function runSecretLookup(lookup: string, scriptText: string, environment: Record<string, string>): Promise<string> {
    if (offline) return offline(lookup, environment);
    return runCloudScript(lookup, scriptText, environment);
}

/**
 * Runs a cloud script outside any Pulumi resource (a lookup, or `npm run import-keys` storing a
 * key) as a child process from the project folder, at most 16 at once; resolves to what it
 * printed, trimmed, or rejects with the script's own `bootloop-rescue:` lines, never its output.
 */
export async function runCloudScript(name: string, scriptText: string, environment: Record<string, string>): Promise<string> {
    const release = await running.acquire();
    try {
        return await runScript(name, scriptText, environment);
    } finally {
        release();
    }
}

function runScript(lookup: string, scriptText: string, environment: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(
            "/bin/bash",
            ["-c", scriptText, `bootloop-rescue/${lookup}`],
            {
                cwd: PROJECT_DIR,
                // The stack's share of the scopes' budgets, as its steps have it (core/rate-share.ts).
                env: { ...process.env, BOOTLOOP_HOME: PROJECT_DIR, ...stackScriptEnvironment(), ...environment },
                maxBuffer: 1 << 20,
                timeout: 15 * 60_000,
            },
            (error, stdout, stderr) => {
                if (!error) return resolve(stdout.trim());
                const said = stderr
                    .split("\n")
                    .filter((l) => l.startsWith("bootloop-rescue: ") && !/was throttled or busy/.test(l))
                    .map((l) => l.slice("bootloop-rescue: ".length));
                reject(
                    new Error(
                        said.length
                            ? said.join("; ")
                            : `the ${lookup} lookup failed (${error.killed ? "timed out" : `exit ${error.code}`})`,
                    ),
                );
            },
        );
    });
}
