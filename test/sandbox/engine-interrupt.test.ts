import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import { SandboxSession } from "./engine-run";

// An update interrupted with Ctrl-C in the middle of a wave, through the REAL engine: the engine
// cancels (steps in flight finish, none starts), and the next `up` converges. The world then holds
// exactly one backup per VM that took one, and every original disk still.

const ROOT = path.resolve(__dirname, "..", "..");

/** The world's objects per role tag (`bootloop-rescue:role` on AWS, `bootloop-rescue-role` on Azure and GCP). */
function roles(worlds: Record<string, Record<string, unknown>>): Record<string, number> {
    const count: Record<string, number> = {};
    for (const world of Object.values(worlds))
        for (const collection of Object.values(world ?? {})) {
            if (!collection || typeof collection !== "object" || Array.isArray(collection)) continue;
            for (const o of Object.values(collection as Record<string, unknown>)) {
                if (!o || typeof o !== "object") continue;
                const raw = ((o as Record<string, unknown>).tags ?? (o as Record<string, unknown>).labels ?? {}) as unknown;
                const tags = Array.isArray(raw)
                    ? Object.fromEntries((raw as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]))
                    : (raw as Record<string, string>);
                const role = tags["bootloop-rescue:role"] ?? tags["bootloop-rescue-role"];
                if (role) count[role] = (count[role] ?? 0) + 1;
            }
        }
    return count;
}

describe("sandbox: an update interrupted with Ctrl-C, then run again, with the real engine", function () {
    this.timeout(30 * 60 * 1000);
    const sandbox = new SandboxSession();

    it("Ctrl-C in wave 1 cancels the update; the next up recovers every VM with one backup each and every original disk kept", async () => {
        const runner = spawn(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "sandbox/run.ts",
                "up",
                "--stack",
                "dev",
                "--yes",
                "--skip-preview",
                "--non-interactive",
            ],
            {
                cwd: ROOT,
                env: { ...process.env, SANDBOX_DIR: sandbox.dir, TS_NODE_TRANSPILE_ONLY: "true" },
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let out = "";
        let interrupted = false;
        const exited = new Promise<number | null>((resolve) => runner.on("exit", (code) => resolve(code)));
        runner.stdout.on("data", (d: Buffer) => {
            out += d.toString();
            // A wave-1 VM's repair in flight: the canary is done, the wave is under way.
            if (!interrupted && /(app-0[12]|web-[12])-[0-9a-f]+-repair creating/.test(out)) {
                interrupted = true;
                // Ctrl-C reaches the engine from the terminal; here, the engine alone gets it.
                const pids = spawnSync("pgrep", ["-P", String(runner.pid), "-f", "pulumi"], { encoding: "utf8" })
                    .stdout.trim()
                    .split("\n")
                    .filter(Boolean);
                assert.equal(pids.length, 1, `one engine under the sandbox: ${pids.join(",")}`);
                process.kill(Number(pids[0]), "SIGINT");
            }
        });
        runner.stderr.on("data", (d: Buffer) => (out += d.toString()));
        const code = await exited;
        assert.ok(interrupted, `the update reached wave 1 before it ended:\n${out.slice(-4000)}`);
        assert.notEqual(code, 0, "a cancelled update does not end as a success");
        assert.match(out, /cancel/i, "the engine says it cancelled");

        sandbox.ok(["up", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive"]);
        const vms = JSON.parse(sandbox.ok(["stack", "output", "vms", "--json", "--stack", "dev"]).stdout) as Record<
            string,
            { status: string; strategy: string }
        >;
        assert.equal(Object.keys(vms).length, 11);
        for (const [key, vm] of Object.entries(vms)) assert.match(vm.status, /^recovered(-by-reboot)?$/, `${key}: ${JSON.stringify(vm)}`);
        const count = roles(sandbox.world("dev"));
        // dev.yaml: 9 VMs take a backup (repair and reboot-then-repair); a restore and a reboot take none.
        assert.equal(count.backup, 9, JSON.stringify(count));
        const originals = (count["original-root"] ?? 0) + (count["original-os"] ?? 0) + (count["original-boot"] ?? 0);
        assert.equal(originals, 10, `every swapped VM's original disk is kept: ${JSON.stringify(count)}`);
        sandbox.ok(["up", "--stack", "dev", "--yes", "--non-interactive", "--expect-no-changes"]);
    });
});
