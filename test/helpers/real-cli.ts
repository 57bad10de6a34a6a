// Replays CLI calls through the real aws, gcloud and az inside a network namespace with only
// loopback (`unshare -n`, real-cli-replay.js): nothing can reach a cloud; each call's verdict says
// whether the real CLI accepted its arguments (aws and gcloud sent the request; az parsed it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type Cli = "aws" | "gcloud" | "az";

/** Why the real-CLI checks are left out, if they are (set knowingly). */
export function realCliSkip(): string | undefined {
    return process.env.BOOTLOOP_SKIP_REAL_CLI === "1" ? "BOOTLOOP_SKIP_REAL_CLI=1" : undefined;
}

/** Fails with what to install when a real CLI or `unshare -n` is missing. */
export function assertRealClis(): void {
    for (const [what, ok] of [
        ["/usr/bin/aws (Debian awscli, v2)", fs.existsSync("/usr/bin/aws")],
        ["gcloud", spawnSync("gcloud", ["--version"]).status === 0],
        ["az", spawnSync("az", ["--version"]).status === 0],
        ["unshare -n (root)", spawnSync("unshare", ["-n", "true"]).status === 0],
    ] as const) {
        assert.ok(
            ok,
            `${what} is needed here: bash scripts/test.sh installs awscli and azure-cli; gcloud comes with the machine (or set BOOTLOOP_SKIP_REAL_CLI=1 to leave this out knowingly)`,
        );
    }
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
