import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { programNodeArgs } from "../../components/tools/node-args";
import { SUITE_ENV, SandboxSession, inWorld, worldIds } from "./engine-run";

// An update interrupted twice through the REAL engine: with a SIGKILL of the engine in the middle
// of the canary's swap (the step cut off mid-way, a lock and a pending operation left behind), and
// after `pulumi cancel`, with Ctrl-C in the middle of a wave (the engine cancels: no step starts,
// the stand-in provider ends the ones in flight). The next `up` converges: the world holds exactly one backup per VM that
// took one, and every original disk still.

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

/** The engine the sandbox runs (a child of the runner), by its command line. */
function engineUnder(runner: number): number {
    const pids = spawnSync("pgrep", ["-P", String(runner), "-x", "pulumi"], { encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .filter(Boolean);
    assert.equal(pids.length, 1, `one engine under the sandbox: ${pids.join(",")}`);
    return Number(pids[0]);
}

/**
 * Runs `up` on the dev stack and sends the engine `signal` once its output matches `when`;
 * resolves with the exit code and the output.
 */
async function interruptedUp(
    dir: string,
    when: (out: string) => boolean,
    signal: NodeJS.Signals,
): Promise<{ code: number | null; out: string; sent: boolean }> {
    const runner = spawn(
        process.execPath,
        [
            ...programNodeArgs(),
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
        { cwd: ROOT, env: { ...process.env, ...SUITE_ENV, SANDBOX_DIR: dir, INIT_CWD: ROOT }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let sent = false;
    const exited = new Promise<number | null>((resolve) => runner.on("exit", (code) => resolve(code)));
    const check = () => {
        if (sent || runner.exitCode !== null || !when(out)) return;
        sent = true;
        // Ctrl-C reaches the engine from the terminal, and a SIGKILL is the engine's alone (an
        // OOM kill, a runner that vanished): here, the engine alone gets either. Should the engine
        // not be found, the run is ended and the test fails on `sent` never reaching the engine.
        try {
            process.kill(engineUnder(runner.pid!), signal);
        } catch (err) {
            out += `\n(test) could not signal the engine: ${err instanceof Error ? err.message : String(err)}\n`;
            sent = false;
            runner.kill("SIGTERM");
        }
    };
    const ticking = setInterval(check, 100);
    runner.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        check();
    });
    runner.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await exited;
    clearInterval(ticking);
    return { code, out, sent };
}

describe("sandbox: an update killed mid-swap, then interrupted with Ctrl-C, then run again and destroyed, with the real engine", function () {
    this.timeout(30 * 60 * 1000);
    const sandbox = new SandboxSession();

    it("a SIGKILL of the engine in the canary's swap leaves a lock that `pulumi cancel` clears; Ctrl-C in wave 1 cancels the update; the next up recovers every VM with one backup each and every original disk kept", async () => {
        // The engine killed outright while the canary's swap runs (the VM stopped, its disks being
        // exchanged): the step is cut off mid-way and the state keeps it as a pending operation.
        // The swap is under way once it asked the cloud to stop the canary (its first change).
        const awsCalls = path.join(sandbox.dir, "stacks", "dev", "aws-calls.log");
        const canaryStopped = () =>
            fs
                .readFileSync(awsCalls, "utf8")
                .split("\n")
                .some((line) => line.includes('"stop-instances"') && line.includes('"i-0123456789abcdef0"'));
        const killed = await interruptedUp(
            sandbox.dir,
            (out) => /i-0123456789abcdef0-[0-9a-f]+-swap creating/.test(out) && canaryStopped(),
            "SIGKILL",
        );
        assert.ok(killed.sent, `the update reached the canary's swap before it ended:\n${killed.out.slice(-4000)}`);
        assert.equal(killed.code, 137, "the sandbox ends as its engine did (killed)");

        // The file backend's lock outlives a killed engine: the next run is refused, naming the remedy.
        const locked = sandbox.run(["up", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive"]);
        assert.notEqual(locked.status, 0);
        assert.match(locked.stdout + locked.stderr, /currently locked[\s\S]*pulumi cancel/);
        sandbox.ok(["cancel", "--stack", "dev", "--yes"]);

        // The next up runs the swap again (it finds the VM stopped, or its disks half exchanged, and
        // goes on); Ctrl-C while a wave-1 VM's repair runs: the engine cancels (no new step starts;
        // the steps in flight are ended, and run again by the next up).
        const cancelled = await interruptedUp(sandbox.dir, (out) => /(app-0[12]|web-[12])-[0-9a-f]+-repair creating/.test(out), "SIGINT");
        assert.ok(cancelled.sent, `the update reached wave 1 before it ended:\n${cancelled.out.slice(-4000)}`);
        assert.match(
            cancelled.out,
            /pending operations from previous deployment[\s\S]*i-0123456789abcdef0-[0-9a-f]+-swap, interrupted while creating/,
        );
        assert.notEqual(cancelled.code, 0, "a cancelled update does not end as a success");
        assert.match(cancelled.out, /\^C received; cancelling/, "the engine says it cancels");

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

        // The interrupted creates are done now (the steps ran again, idempotent): refresh drops the
        // stale records, and a further up changes nothing.
        const pending = JSON.parse(sandbox.ok(["stack", "export", "--stack", "dev"]).stdout) as {
            deployment: { pending_operations?: { type: string; resource: { urn: string } }[] };
        };
        assert.ok(
            (pending.deployment.pending_operations ?? []).some(
                (op) => op.type === "creating" && /i-0123456789abcdef0-[0-9a-f]+-swap$/.test(op.resource.urn),
            ),
            `the killed swap is still recorded as pending: ${JSON.stringify(pending.deployment.pending_operations)}`,
        );
        sandbox.ok(["refresh", "--stack", "dev", "--yes", "--non-interactive", "--clear-pending-creates"]);
        const state = JSON.parse(sandbox.ok(["stack", "export", "--stack", "dev"]).stdout) as {
            deployment: { pending_operations?: unknown[] };
        };
        assert.deepEqual(state.deployment.pending_operations ?? [], []);
        sandbox.ok(["up", "--stack", "dev", "--yes", "--non-interactive", "--expect-no-changes"]);

        // destroy without a teardown first removes the rescue machinery itself, and keeps every
        // backup, fixed and original disk.
        const exported = JSON.parse(sandbox.ok(["stack", "export", "--stack", "dev"]).stdout) as {
            deployment: { resources: { id?: string; type: string; retainOnDelete?: boolean }[] };
        };
        const before = worldIds(sandbox.world("dev"));
        const removable = exported.deployment.resources.filter((r) => r.id && !r.retainOnDelete && inWorld(before, r.id));
        assert.ok(
            removable.some((r) => /Instance|VirtualMachine$/.test(r.type)),
            "the rescue VMs are among them",
        );
        sandbox.ok(["destroy", "--stack", "dev", "--yes", "--non-interactive"]);
        const ids = worldIds(sandbox.world("dev"));
        for (const r of removable) assert.ok(!inWorld(ids, r.id!), `${r.type} ${r.id} is still in the world after destroy`);
        const kept = roles(sandbox.world("dev"));
        assert.equal(kept.backup, 9, `every backup stays: ${JSON.stringify(kept)}`);
        assert.equal((kept["original-root"] ?? 0) + (kept["original-os"] ?? 0) + (kept["original-boot"] ?? 0), 10);
        assert.ok((kept.fixed ?? 0) >= 8, `the fixed disks stay: ${JSON.stringify(kept)}`);
    });
});
