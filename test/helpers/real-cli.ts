// Replays CLI calls through the real aws, gcloud and az inside a network namespace with only
// loopback (`unshare -n`, real-cli-replay.js): nothing can reach a cloud; each call's verdict says
// whether the real CLI accepted its arguments (aws and gcloud sent the request; az parsed it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type Cli = "aws" | "gcloud" | "az";

/** The environment variable that leaves the real-CLI checks out knowingly (set to 1). */
export const SKIP_REAL_CLI = "BOOTLOOP_SKIP_REAL_CLI";

/** What each real-CLI check needs, and how it is found. */
const NEEDED: Record<Cli, { what: string; here: (env: NodeJS.ProcessEnv) => boolean }> = {
    aws: { what: "/usr/bin/aws (Debian awscli)", here: () => fs.existsSync("/usr/bin/aws") },
    gcloud: { what: "gcloud", here: (env) => spawnSync("gcloud", ["--version"], { env, stdio: "ignore", timeout: 120_000 }).status === 0 },
    az: { what: "az", here: (env) => spawnSync("az", ["--version"], { env, stdio: "ignore", timeout: 120_000 }).status === 0 },
};

/** What is missing for the real CLIs `which` to run here (each CLI, and `unshare -n`, which needs root), or undefined. */
export function realCliMissing(which: readonly Cli[], env: NodeJS.ProcessEnv = process.env): string | undefined {
    const missing = which.filter((cli) => !NEEDED[cli].here(env)).map((cli) => `no ${NEEDED[cli].what}`);
    if (spawnSync("unshare", ["-n", "true"], { env, stdio: "ignore" }).status !== 0) missing.push("no unshare -n (it needs root)");
    return missing.length ? missing.join(", ") : undefined;
}

/** The gate's decision: run the check, or leave it out (pending), saying why. */
export type RealCliGate = { run: true } | { run: false; skipped: string };

/**
 * The gate of every real-CLI check. Left out knowingly (BOOTLOOP_SKIP_REAL_CLI=1 in `env`): skipped,
 * and `missing` is not even asked. Otherwise a check that cannot run (`missing()` says why) is no
 * pass: it throws, saying it was not checked, why, and how to leave it out knowingly; else it runs.
 */
export function realCliGate(missing: () => string | undefined, env: NodeJS.ProcessEnv = process.env): RealCliGate {
    if (env[SKIP_REAL_CLI] === "1") return { run: false, skipped: `${SKIP_REAL_CLI}=1` };
    const why = missing();
    if (why)
        throw new Error(
            `the real CLIs cannot run here: ${why} (not checked; bash scripts/test.sh installs awscli and azure-cli, gcloud comes with the machine; ${SKIP_REAL_CLI}=1 leaves it out knowingly)`,
        );
    return { run: true };
}

/** In a test or hook (`this`): skips it when left out knowingly, fails it when the real CLIs `which` cannot run, else returns. */
export function realCliOrSkip(ctx: { skip(): void }, which: readonly Cli[], env: NodeJS.ProcessEnv = process.env): void {
    if (!realCliGate(() => realCliMissing(which, env), env).run) ctx.skip();
}

/** One replayed call and what the real CLI made of it. */
export interface Replayed {
    cli: Cli;
    argv: string[];
    /** accepted (sent), ran (exit 0 with nothing to send, or parsed and then stopped reaching a host outside the recorder), parsed (az, parsed but cannot run here), unloadable (az, module missing), rejected, unknown. */
    verdict: string;
    detail: string;
}

/** Replays the calls through the real CLIs, in order. */
export function replayThroughRealClis(spec: { cli: Cli; argv: string[] }[]): Replayed[] {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "replay-")), "spec.json");
    fs.writeFileSync(file, JSON.stringify(spec));
    const replay = spawnSync("unshare", ["-n", process.execPath, path.join(__dirname, "real-cli-replay.js"), file], {
        encoding: "utf8",
        timeout: 1_100_000,
        maxBuffer: 64 << 20,
    });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    assert.equal(replay.status, 0, replay.stderr);
    return JSON.parse(replay.stdout) as Replayed[];
}

/** The replayed calls a real CLI did not accept (az: parsed or unloadable counts as accepted), as lines. */
export function notAccepted(results: readonly Replayed[]): string[] {
    return results
        .filter(
            (r) =>
                !(
                    r.verdict === "accepted" ||
                    r.verdict === "ran" ||
                    (r.cli === "az" && (r.verdict === "parsed" || r.verdict === "unloadable"))
                ),
        )
        .map((r) => `${r.cli} ${r.argv.join(" ")} → ${r.verdict}: ${r.detail}`);
}
