import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { IncidentStatus, PAGE_EVERY_MS } from "../../components/tools/incident/status";
import { CHAIN_STEPS } from "../../components/core/contract/chain-steps";
import { StepClock, durationText } from "../../components/tools/incident/estimate";
import { LiveOutput, LiveProgress } from "../../components/tools/incident/live";
import { nextStepFor as nextStepAfter } from "../../components/tools/status/next-step";
import { terminalOutput } from "../../components/tools/incident/terminal";
import { FleetProgress, PHASES, STEP_PHASE, WatchPlan } from "../../components/tools/progress/progress";
import { updateEvents } from "../helpers/engine-events";

// The incident's live progress: the view on a terminal (one block redrawn) and in a log (one line
// per change), the failures at once with their reason and next step, and the estimate of the time
// left from the steps' observed durations.

const STEPS = ["backup", "scratch", "attach", "repair", "fixed", "swap"];

/** Three VMs: the canary on aws, then one each on azure and gcp in wave 1; plus resources outside the chains. */
function smallPlan(): WatchPlan {
    const vms = [
        { label: "aws us-east-1/i-0123456789abcdef0", cloud: "aws", wave: 0, resourceName: "i-0123456789abcdef0-aaaa" },
        { label: "azure rg-app/app-01", cloud: "azure", wave: 1, resourceName: "app-01-bbbb" },
        { label: "gcp my-project/us-central1-a/web-1", cloud: "gcp", wave: 1, resourceName: "web-1-cccc" },
    ];
    return {
        vms,
        resources: ["rescue-aws-1", "wave-1-gate", ...vms.flatMap((v) => STEPS.map((s) => `${v.resourceName}-${s}`))],
    };
}

/** A LiveOutput that keeps what it was given. */
function recorder(redraws: boolean): LiveOutput & { blocks: string[]; lines: string[]; dones: number } {
    const r = {
        redraws,
        blocks: [] as string[],
        lines: [] as string[],
        dones: 0,
        block: (t: string) => void r.blocks.push(t),
        line: (t: string) => void r.lines.push(t),
        done: () => void r.dones++,
    };
    return r;
}

/** A clock the test moves: each event 2 s after the one before. */
function ticking(): { now: () => number; step: () => void } {
    let t = 1_000_000;
    return { now: () => t, step: () => void (t += 2000) };
}

function feed(live: LiveProgress, events: unknown[], clock: { step: () => void }): void {
    for (const e of events) {
        clock.step();
        live.event(e);
    }
}

describe("incident: live progress", () => {
    it("in a log, prints one line per change (each VM's phase, each verified, each wave done) with counts and the estimate, then the table", () => {
        const out = recorder(false);
        const clock = ticking();
        const live = new LiveProgress({ stack: "dev", plan: smallPlan(), lanes: 10, out, nextStep: nextStepAfter, now: clock.now });
        live.start();
        feed(live, updateEvents(smallPlan(), "dev"), clock);
        live.finish();
        assert.equal(out.blocks.length, 0, "no block is redrawn in a log");
        assert.match(out.lines[0], /^\+0 s update started: 3 VMs: 0 verified/);
        const phases = out.lines.filter((l) => /\(wave \d\): (backing up|repairing|swapping|verified) · /.test(l));
        // Each VM: backing up, repairing, swapping, verified: one line each.
        assert.equal(phases.length, 3 * 4, out.lines.join("\n"));
        assert.match(
            out.lines.find((l) => l.includes("i-0123456789abcdef0 (wave 0): verified"))!,
            /1 of 3 verified, 0 failed, 0 in flight, 2 waiting · about \d+ s left$/,
        );
        assert.ok(out.lines.some((l) => /wave 0 \(canary\) of 2 done: 1 VM: 1 verified/.test(l)));
        assert.ok(out.lines.some((l) => /wave 1 of 2 done: 2 VMs: 2 verified/.test(l)));
        const table = out.lines[out.lines.length - 1];
        assert.match(table, /^bootloop-rescue dev: update ended after /);
        assert.match(table, /3 VMs: 3 verified, 0 failed/);
        assert.deepEqual(table.split("\n").slice(-1)[0].split(/\s+/), ["1", "gcp", "0", "0", "0", "0", "1", "0"], table);
        assert.equal(live.progress.ended?.result, "succeeded");
    });

    it("shows a failure at once, with the engine's reason (terminal-safe) and the next step for the step it failed at", () => {
        for (const redraws of [false, true]) {
            const out = recorder(redraws);
            const clock = ticking();
            const live = new LiveProgress({ stack: "dev", plan: smallPlan(), lanes: 10, out, nextStep: nextStepAfter, now: clock.now });
            live.start();
            const events = updateEvents(smallPlan(), "dev", {
                vm: "azure rg-app/app-01",
                step: "repair",
                reason: "no key\u001b]0;pwned\u0007 for the disk",
            });
            feed(live, events, clock);
            live.finish();
            const at = out.lines.findIndex((l) => l.includes("FAILED azure rg-app/app-01"));
            assert.ok(at >= 0, out.lines.join("\n"));
            assert.match(out.lines[at], /FAILED azure rg-app\/app-01 \(wave 1, step repair\): no key for the disk$/);
            assert.equal(out.lines[at + 1], `  next: ${nextStepAfter("repair")}`);
            assert.ok(!out.lines.join("\n").includes("\u001b"), "no escape sequence from the engine's text reaches the terminal");
            if (redraws) {
                const last = out.blocks[out.blocks.length - 1];
                assert.match(last, /FAILED azure rg-app\/app-01 \(wave 1, step repair\): no key for the disk/);
                assert.ok(!last.includes("\u001b"));
            }
        }
    });

    it("on a terminal, redraws one block (time, estimate, a row per wave and cloud) at each change, and prints no line per phase", () => {
        const out = recorder(true);
        const clock = ticking();
        const live = new LiveProgress({ stack: "dev", plan: smallPlan(), lanes: 10, out, nextStep: nextStepAfter, now: clock.now });
        live.start();
        const events = updateEvents(smallPlan(), "dev");
        // Up to the canary's verification.
        const canaryDone = events.findIndex((e) => JSON.stringify(e).includes("i-0123456789abcdef0-aaaa-swap") && "resOutputsEvent" in e);
        feed(live, events.slice(0, canaryDone + 1), clock);
        const block = out.blocks[out.blocks.length - 1];
        const lines = block.split("\n");
        assert.match(lines[0], /^bootloop-rescue dev: update running for \d+ s, about \d+ s left$/);
        assert.equal(lines[1], "3 VMs: 1 verified, 0 failed, 0 in flight, 2 waiting");
        assert.deepEqual(lines[2].split(/\s+/), [
            "wave",
            "cloud",
            "waiting",
            "backing",
            "up",
            "repairing",
            "swapping",
            "verified",
            "failed",
        ]);
        assert.deepEqual(
            lines.slice(3).map((l) => l.split(/\s+/)),
            [
                ["0", "aws", "0", "0", "0", "0", "1", "0"],
                ["1", "azure", "1", "0", "0", "0", "0", "0"],
                ["1", "gcp", "1", "0", "0", "0", "0", "0"],
            ],
        );
        assert.equal(out.lines.length, 1, "only the wave's end is a line of its own");
        assert.match(out.lines[0], /^\+\d+ s wave 0 \(canary\) of 2 done: 1 VM: 1 verified, 0 failed, 0 in flight, 0 waiting$/);
        feed(live, events.slice(canaryDone + 1), clock);
        live.finish();
        assert.equal(out.dones, 1, "the last block stays on the screen");
        assert.match(out.blocks[out.blocks.length - 1], /^bootloop-rescue dev: update ended after /);
    });

    it("on a terminal, folds the waves done into one line when there are more than twelve rows", () => {
        const vms = Array.from({ length: 20 }, (_, i) => ({ label: `aws r/i-${i}`, cloud: "aws", wave: i, resourceName: `vm${i}-x` }));
        const plan: WatchPlan = { vms, resources: vms.flatMap((v) => STEPS.map((s) => `${v.resourceName}-${s}`)) };
        const out = recorder(true);
        const clock = ticking();
        const live = new LiveProgress({ stack: "big", plan, lanes: 10, out, nextStep: nextStepAfter, now: clock.now });
        const events = updateEvents(plan, "big");
        const tenDone = events.findIndex((e) => JSON.stringify(e).includes("vm9-x-swap") && "resOutputsEvent" in e);
        feed(live, events.slice(0, tenDone + 1), clock);
        const lines = live.screen().split("\n");
        assert.equal(lines[3], "waves 0-7 done: 8 VMs: 8 verified, 0 failed, 0 in flight, 0 waiting");
        assert.equal(lines.length, 3 + 1 + 12);
        assert.deepEqual(lines[4].split(/\s+/), ["8", "aws", "0", "0", "0", "0", "1", "0"]);
    });

    it("log-update redraws the block in place on a terminal stream, and writes a line above it", () => {
        const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 40 });
        let written = "";
        stream.on("data", (d: Buffer) => (written += d.toString()));
        const out = terminalOutput(stream);
        out.block("first\nblock");
        out.block("second\nblock");
        out.line("FAILED x: why");
        out.done();
        assert.ok(written.includes("first\nblock"));
        // The second block erases the first's lines (cursor up, erase line) before it is drawn.
        const second = written.indexOf("second\nblock");
        assert.ok(second > 0);
        assert.ok(written.slice(written.indexOf("first\nblock"), second).includes("\u001b[2K"), "an erase-line code");
        assert.ok(written.indexOf("FAILED x: why\n") > second, "the line comes after, and the block is drawn again below it");
        assert.ok(written.lastIndexOf("second\nblock") > written.indexOf("FAILED x: why"));
    });

    it("counts each chain step in the phase its table gives (the live view words its lines by the same table)", () => {
        for (const step of CHAIN_STEPS) {
            const plan: WatchPlan = {
                vms: [{ label: "aws r/i-1", cloud: "aws", wave: 0, resourceName: "vm-1" }],
                resources: [`vm-1-${step}`, "vm-1-zzz"],
            };
            // A second step of the chain after this one, so that this one's start is a phase, not the end.
            plan.resources.push(`vm-1-${CHAIN_STEPS[CHAIN_STEPS.length - 1] === step ? "reboot" : "rollback"}`);
            const p = new FleetProgress(plan);
            p.apply({ resourcePreEvent: { metadata: { urn: `urn:pulumi:s::p::t::vm-1-${step}` } } });
            const phase = PHASES.find((ph) => p.total()[ph] === 1);
            assert.equal(STEP_PHASE[step], phase, step);
        }
    });
});

describe("incident: the status page", () => {
    it("is written at the start, at once when a VM fails, at most every few seconds otherwise, and at the end with the job summary", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "incident-status-"));
        const file = path.join(dir, "status-dev.html");
        let now = 0;
        const status = new IncidentStatus("dev", smallPlan(), file, () => now);
        status.write();
        assert.match(fs.readFileSync(file, "utf8"), /<html/);
        const events = updateEvents(smallPlan(), "dev", { vm: "azure rg-app/app-01", step: "repair", reason: "no key for the disk" });
        const failedAt = events.findIndex((e) => JSON.stringify(e).includes('"severity":"error"'));
        let writes = 0;
        const write = status.write.bind(status);
        status.write = () => {
            writes++;
            return write();
        };
        for (const e of events.slice(0, failedAt)) status.event(e);
        assert.equal(writes, 1, `${writes}: the canary wave ended; nothing else was urgent, and the clock has not moved`);
        now += PAGE_EVERY_MS;
        status.event(events[0]);
        assert.equal(writes, 1, "an event that changes nothing writes nothing");
        for (const e of events.slice(failedAt)) status.event(e);
        assert.ok(writes >= 2, "the failure is written at once");
        assert.ok(fs.readFileSync(file, "utf8").includes("azure rg-app/app-01"));
        const summary = path.join(dir, "summary.md");
        const end = status.finish({ GITHUB_STEP_SUMMARY: summary });
        assert.equal(end.summary, summary);
        assert.match(fs.readFileSync(summary, "utf8"), /app-01/);
        assert.match(end.snapshot.headline, /of 3 VMs/);
    });
});

describe("incident: the estimate of the time left", () => {
    const plan = {
        vms: [
            { resourceName: "a", wave: 0 },
            { resourceName: "b", wave: 1 },
            { resourceName: "c", wave: 1 },
        ],
        resources: ["a-backup", "a-swap", "b-backup", "b-swap", "c-backup", "c-swap", "rescue-1"],
    };

    it("has nothing to go by before a step finished", () => {
        const clock = new StepClock(plan, 10);
        clock.started("a-backup", 0);
        assert.equal(clock.secondsLeft(5000), undefined);
    });

    it("adds each VM's unfinished steps at their kind's observed average, the longest VM per wave, and the waves one after another", () => {
        const clock = new StepClock(plan, 10);
        clock.started("a-backup", 0);
        clock.finished("a-backup", 10_000); // backup: 10 s
        clock.started("a-swap", 10_000);
        // a: swap not observed yet: every finished step's average (10 s), 4 s of it gone → 6 s.
        // wave 1: b and c each backup 10 s + swap 10 s = 20 s, side by side → 20 s.
        assert.equal(clock.secondsLeft(14_000), 26);
        clock.finished("a-swap", 40_000); // swap: 30 s
        // a is done; wave 1: 10 s + 30 s = 40 s.
        assert.equal(clock.secondsLeft(40_000), 40);
        clock.started("b-backup", 40_000);
        clock.started("c-backup", 40_000);
        clock.failed("c-backup");
        // c failed: nothing left of it; b: 10 s less the 5 s gone, plus 30 s.
        assert.equal(clock.secondsLeft(45_000), 35);
    });

    it("spreads a wave's VMs over the lanes in flight when that takes longer than its longest VM", () => {
        const clock = new StepClock(plan, 1);
        clock.started("a-backup", 0);
        clock.finished("a-backup", 10_000);
        clock.started("a-swap", 10_000);
        clock.finished("a-swap", 20_000);
        // wave 1: two VMs of 20 s each through one lane: 40 s.
        assert.equal(clock.secondsLeft(20_000), 40);
    });

    it("says durations as a person reads them", () => {
        assert.equal(durationText(8), "8 s");
        assert.equal(durationText(75), "1 min 15 s");
        assert.equal(durationText(3725), "1 h 2 min");
        assert.equal(durationText(-3), "0 s");
    });
});
