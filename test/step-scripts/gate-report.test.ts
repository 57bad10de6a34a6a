// A command step says, as its last line on stderr, how long it queued at the watcher's gate and
// whether its deadline was reached (base.sh gate_report), which the engine bench reads from the
// engine's events (bench/engine/gate-queue.ts). Real step scripts against the stand-in aws CLI, and
// a step's calls queued behind the runner's only CLI place, as the scripts make them (in subshells).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { gateLineOf } from "../../bench/engine/gate-queue";
import { stepLab } from "../helpers/step-lab";
import { MUTATING, op, run, swapEnv, world } from "../aws/run-script";

const GATE_LINE = /^bootloop-rescue-gate: queued=\d+ allowance=\d+ deadline=(reached|not-reached)$/;
const lastLine = (stderr: string) => stderr.trimEnd().split("\n").pop() ?? "";

describe("a step's gate line (base.sh gate_report)", () => {
    it("a real swap (aws, stand-in CLI) ends its stderr with the line: nothing queued, its deadline not reached", () => {
        const r = run("swap", { ...swapEnv, STEP_TIMEOUT_SECONDS: "600" }, world());
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).status, "recovered");
        assert.match(lastLine(r.stderr), GATE_LINE, r.stderr);
        assert.deepEqual(gateLineOf(r.stderr), { queued: 0, allowance: 3600, deadlineReached: false });
        assert.equal(r.stdout.includes("bootloop-rescue-gate"), false, "stdout stays the step's report alone");
    });

    it("a real swap throttled until its deadline says its deadline was reached", () => {
        const r = run("swap", { ...swapEnv, STEP_TIMEOUT_SECONDS: "8" }, world({ throttle: { "ec2 stop-instances": 1e6 } }));
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /ec2 stop-instances failed: .*RequestLimitExceeded/);
        assert.deepEqual(
            r.calls.map(op).filter((o) => MUTATING.test(o) && o !== "ec2 stop-instances"),
            [],
        );
        assert.match(lastLine(r.stderr), GATE_LINE, r.stderr);
        assert.equal(gateLineOf(r.stderr)?.deadlineReached, true, r.stderr);
    });

    it("a script run without a deadline of its own (a lookup, not a command step) writes no line", () => {
        const r = run("swap", swapEnv, world());
        assert.equal(r.code, 0, r.stderr);
        assert.equal(gateLineOf(r.stderr), undefined, r.stderr);
    });
});

describe("a step's calls queued at the gate, in subshells as the scripts make them", () => {
    const lab = stepLab();
    const { step, mark, until } = lab;
    /** Whether a process (or a subshell of it) holds a connection: a step waiting at the gate. */
    function asking(pid: number): boolean {
        const pids = [pid];
        for (let i = 0; i < pids.length; i++) {
            try {
                const fds = fs.readdirSync(`/proc/${pids[i]}/fd`).map((fd) => fs.readlinkSync(`/proc/${pids[i]}/fd/${fd}`));
                if (fds.some((l) => l.startsWith("socket:"))) return true;
                const kids = fs.readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim();
                if (kids) pids.push(...kids.split(/\s+/).map(Number));
            } catch {
                /* gone */
            }
        }
        return false;
    }
    const holder = `bash -c 'touch "$M/a.holds"; until [[ -e $M/release ]]; do sleep 0.02; done'`;

    it("counts what a call in a subshell queued, moves the step's own deadline by it, and reports it", async () => {
        const first = step(`local_slot ${holder}`);
        await until("the first step holds the only place", () => mark("a.holds"));
        // The call runs in a subshell (`out=$(…)`), as aws_json's callers run it; the step then
        // prints how far its own deadline moved.
        const second = step(
            `WATCH_CLOUD=aws WATCH_SCOPE=$'\\tregion=us-east-1'; before=$STEP_DEADLINE; out=$(cloud_call "ec2 describe-instances" echo fine); [[ $out == fine ]]; gate_sync; echo "moved=$((STEP_DEADLINE - before))"`,
            { STEP_TIMEOUT_SECONDS: "600" },
        );
        await until("the call waits for a place", () => asking(second.pid));
        const waitStarted = Date.now();
        // Held until the call has waited at least 2 s: at least 1 s in whole epoch seconds.
        await new Promise((r) => setTimeout(r, 2000));
        fs.writeFileSync(path.join(lab.marks, "release"), "");
        const b = await second.done;
        const waitedAtMost = Math.ceil((Date.now() - waitStarted) / 1000) + 1;
        assert.equal(b.code, 0, b.stderr);
        const line = gateLineOf(b.stderr);
        assert.ok(line, b.stderr);
        assert.match(lastLine(b.stderr), GATE_LINE);
        assert.ok(line.queued >= 1 && line.queued <= waitedAtMost, `queued ${line.queued} s, waited 2 to ${waitedAtMost} s`);
        assert.equal(line.deadlineReached, false);
        assert.equal(b.stdout.trim(), `moved=${line.queued}`, "the step's own deadline moved by what its subshell queued");
        assert.equal((await first.done).code, 0);
    });

    it("past the allowance: the line gives all the time queued, and the deadline moved by the allowance only", async () => {
        // Queuing noted as gate_queued notes it (SINCE in the past), one wait in a subshell.
        const r = await step(
            `GATE_QUEUE_ALLOWANCE_SECONDS=100; before=$STEP_DEADLINE; gate_queued $((EPOCHSECONDS - 70)); (gate_queued $((EPOCHSECONDS - 70))); gate_sync; echo "moved=$((STEP_DEADLINE - before))"`,
            { STEP_TIMEOUT_SECONDS: "600" },
        ).done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), "moved=100");
        const line = gateLineOf(r.stderr);
        assert.ok(line && line.queued >= 140 && line.queued <= 142, r.stderr);
        assert.equal(line.allowance, 100);
        assert.match(r.stderr, /waited 100s in all at the watcher's gate; more waiting there counts against its deadline/);
    });

    it("a step whose deadline passed says so, whatever ended it", async () => {
        const r = await step(`STEP_DEADLINE=$((EPOCHSECONDS - 1)); exit 1`, { STEP_TIMEOUT_SECONDS: "600" }).done;
        assert.equal(r.code, 1);
        assert.deepEqual(gateLineOf(r.stderr), { queued: 0, allowance: 3600, deadlineReached: true });
    });
});
