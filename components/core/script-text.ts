import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

const texts = new Map<string, string>();

/** The project folder: commands run from it, and scripts are named relative to it. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/**
 * The full text of a cloud's command script: core's shared helpers (base.sh), the cloud's helpers
 * (common.sh in its scripts folder), the cloud's libraries the script asks for (`<lib>.sh`, e.g.
 * helpers that act on the affected VM, so scripts that must never touch it do not even contain
 * them), then the script. The text holds no inventory value: those come as environment variables.
 * `scripts/run.sh` assembles the same text on the runner.
 */
export function scriptText(cloudScriptsDir: string, name: string, libs: readonly string[] = []): string {
    const file = path.join(cloudScriptsDir, `${name}.sh`);
    const key = [file, ...libs].join("\n");
    let text = texts.get(key);
    if (text === undefined) {
        const read = (f: string) => fs.readFileSync(f, "utf8");
        const parts = [
            path.join(__dirname, "scripts", "base.sh"),
            path.join(cloudScriptsDir, "common.sh"),
            ...libs.map((l) => path.join(cloudScriptsDir, `${l}.sh`)),
            file,
        ];
        text = parts.map(read).join("\n");
        texts.set(key, text);
    }
    return text;
}

/** The first 16 hex digits of the SHA-256 of a script's text (as `run.sh` computes it). */
export function scriptHash(text: string): string {
    return createHash("sha256").update(text.replace(/\n+$/, "")).digest("hex").slice(0, 16);
}

/**
 * The command line a command step runs: core's `run.sh` with the step's script by path and the
 * hash of its text. The stack's state keeps this line (about 80 bytes) instead of the text (10–20
 * KB) in every VM's commands; a changed script changes the hash, so `pulumi preview` shows it.
 */
export function scriptCommandLine(cloudScriptsDir: string, name: string, libs: readonly string[] = []): string {
    const cloud = path.basename(path.dirname(cloudScriptsDir));
    if (path.relative(PROJECT_DIR, cloudScriptsDir) !== path.join("components", cloud, "scripts"))
        throw new Error(`internal: ${cloudScriptsDir} is not a cloud's scripts folder`);
    return [
        "exec",
        "/bin/bash",
        "./components/core/scripts/run.sh",
        `${cloud}/${name}`,
        scriptHash(scriptText(cloudScriptsDir, name, libs)),
        ...libs,
    ].join(" ");
}

/**
 * The `update` of every command that must never run twice: it runs when an input changed (a new
 * script hash shows in preview as an update) and only repeats what the command printed before
 * (the command provider hands it over as PULUMI_COMMAND_STDOUT), so the step's report, evidence
 * and record stay, and nothing is done again.
 */
export const REPEAT_PREVIOUS_OUTPUT = 'printf "%s" "${PULUMI_COMMAND_STDOUT:-}"';

/**
 * Inputs never looked at again once a command ran (a changed value must not re-run it). Commands
 * name no interpreter (the provider's `/bin/sh -c` runs the `exec /bin/bash …` line; one
 * array less in every command's state), so the one that commands of earlier versions recorded
 * must not show as a change either.
 */
export const RUN_ONCE_IGNORED = ["interpreter", "environment", "logging"];

/**
 * What of a step command's output the command provider (1.x) also streams into the engine's log
 * while it runs: stderr only. The scripts write their progress there (`log` in base.sh, a few
 * lines a step, never a secret: tests scan it), so `pulumi up` and `npm run watch` show it live.
 * Stdout is the step's report and packed evidence: it is kept once, in state, and logging it too
 * would repeat kilobytes per VM into every CI log and event stream. A change of this choice never
 * re-runs a step (`logging` is in {@link RUN_ONCE_IGNORED}).
 *
 * The provider's other 1.x inputs are left at their defaults on purpose, each tested:
 * `addPreviousOutputInEnv` (true) hands an update the step's earlier stdout, which
 * {@link REPEAT_PREVIOUS_OUTPUT} prints back; `triggers` is never set (a trigger change replaces the
 * command, which runs its create again: a second swap); `stdin`, `dir`, asset and archive paths
 * are unused (nothing but the command line and its environment reaches a step).
 */
export const STEP_LOGGING = "stderr";
