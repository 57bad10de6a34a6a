import { strict as assert } from "assert";
import { Verdict, exitCodeOf, gateVerdict, verdicts } from "../../bench/engine/bounds";
import { GateQueues, gateLineOf, gateQueues } from "../../bench/engine/gate-queue";

// The engine bench's gate bound (issue #29 item 5: "no deadline spent queuing at the gate"): each
// command step's gate line (base.sh gate_report) read from the engine's events, where the step's
// stderr is an output (resOutputsEvent) or quoted in its failure (diagnosticEvent); and the verdict:
// FAIL when a step queued past its allowance or failed at its deadline after queuing, not checked
// when a step's line is missing, PASS only when every step's was read.

const urn = (name: string) => `urn:pulumi:s::p::bootloop-rescue:core:Zone$command:local:Command::${name}`;
const line = (queued: number, deadline: "reached" | "not-reached" = "not-reached", allowance = 3600) =>
    `bootloop-rescue-gate: queued=${queued} allowance=${allowance} deadline=${deadline}`;
const pre = (name: string, deadline?: number, op = "create") => ({
    resourcePreEvent: {
        metadata: {
            op,
            urn: urn(name),
            type: "command:local:Command",
            new: { inputs: { environment: deadline ? { STEP_TIMEOUT_SECONDS: String(deadline) } : {} } },
        },
    },
});
const outputs = (name: string, stderr: string) => ({
    resOutputsEvent: {
        metadata: { op: "create", urn: urn(name), type: "command:local:Command", new: { outputs: { stdout: "{}", stderr } } },
    },
});
const failure = (name: string, stderr: string) => [
    {
        diagnosticEvent: {
            urn: urn(name),
            severity: "error",
            message: `error: exit status 1: running "exec /bin/bash ./components/core/scripts/run.sh aws/swap 0123456789abcdef":\nStdout:\n\nStderr:\n${stderr}\n`,
        },
    },
    { resOpFailedEvent: { metadata: { op: "create", urn: urn(name), type: "command:local:Command" } } },
];
const events = (...list: object[]) =>
    list
        .flat()
        .map((e, i) => JSON.stringify({ sequence: i, timestamp: 100 + i, ...e }, null, 4))
        .join("\n");

describe("engine bench: the steps' time queued at the gate, from the engine's events", () => {
    it("reads a step's last gate line, and nothing from text without one", () => {
        assert.deepEqual(gateLineOf(`bootloop-rescue: stopping\n${line(3)}\nbootloop-rescue: x\n${line(12, "reached", 100)}`), {
            queued: 12,
            allowance: 100,
            deadlineReached: true,
        });
        assert.equal(gateLineOf("bootloop-rescue: no line\nbootloop-rescue-gate: queued=x allowance=1 deadline=reached"), undefined);
        assert.equal(gateLineOf(`  ${line(3)}`), undefined, "only a whole line of its own");
    });

    it("reads every command step's line from its outputs or its failure; steps without a deadline are not steps", () => {
        const g = gateQueues(
            events(
                pre("a-repair", 600),
                pre("b-swap", 900),
                pre("gate-0"),
                pre("c-swap", 900),
                outputs("a-repair", `bootloop-rescue: repairing\n${line(4)}`),
                outputs("gate-0", ""),
                failure("b-swap", `bootloop-rescue: ec2 stop-instances failed: RequestLimitExceeded\n${line(30, "reached")}`),
            ),
        );
        assert.deepEqual(g, {
            steps: 3,
            read: 2,
            unread: ["c-swap"],
            overAllowance: [],
            deadlineAfterQueuing: ["b-swap"],
            longest: { name: "b-swap", queued: 30, allowance: 3600 },
            totalQueued: 34,
        });
    });

    it("a failed step counts as ended by its deadline after queuing only when it queued and its deadline was reached", () => {
        const g = gateQueues(
            events(
                pre("a", 60),
                pre("b", 60),
                pre("c", 60),
                pre("d", 60),
                failure("a", line(0, "reached")),
                failure("b", line(5, "not-reached")),
                outputs("c", line(5, "reached")),
                outputs("d", line(3601)),
            ),
        );
        assert.deepEqual(g.deadlineAfterQueuing, [], "not queued; failed otherwise; did not fail");
        assert.deepEqual(g.overAllowance, ["d"]);
        assert.equal(g.read, 4);
    });

    it("a step of an update (its command re-run) is read the same way; a step whose line never came is unread", () => {
        const g = gateQueues(events(pre("a", 60, "update"), pre("b", 60, "replace"), outputs("a", line(0))));
        assert.deepEqual([g.steps, g.read, g.unread], [2, 1, ["b"]]);
    });
});

describe("engine bench: the gate bound's verdict", () => {
    const all = (over: Partial<GateQueues>): GateQueues => ({
        steps: 4,
        read: 4,
        unread: [],
        overAllowance: [],
        deadlineAfterQueuing: [],
        totalQueued: 10,
        longest: { name: "x-swap", queued: 7, allowance: 3600 },
        ...over,
    });
    const of = (v: Verdict[]) => v.find((x) => x.bound.includes("queuing at the gate"))!;

    it("passes only when every step's queue time was read and none queued past its allowance or failed at its deadline after queuing", () => {
        const ok = gateVerdict(all({}));
        assert.equal(ok.verdict, "PASS");
        assert.match(ok.detail, /4 of 4 steps' queue times read .* 10 s queued in all; longest x-swap 7 s of its 3600 s allowance/);
    });

    it("fails a step queued past its allowance, or failed at its deadline after queuing, even when others could not be read", () => {
        const over = gateVerdict(all({ overAllowance: ["a-swap"] }));
        assert.equal(over.verdict, "FAIL");
        assert.match(over.detail, /queued past the allowance: a-swap/);
        const late = gateVerdict(all({ deadlineAfterQueuing: ["b-repair"], read: 3, unread: ["c-swap"] }));
        assert.equal(late.verdict, "FAIL");
        assert.match(late.detail, /failed at their deadline after queuing: b-repair.*no gate line: c-swap/);
        assert.equal(exitCodeOf([late]), 3);
    });

    it("is not checked, exit 4, when a step's line is missing or no step ran; never PASS", () => {
        const some = gateVerdict(all({ read: 3, unread: ["c-swap"] }));
        assert.equal(some.verdict, "not checked");
        assert.match(some.detail, /3 of 4 .*no gate line: c-swap/);
        assert.equal(exitCodeOf([some, { bound: "b", verdict: "PASS", detail: "" }]), 4);
        assert.equal(gateVerdict(undefined).verdict, "not checked");
        assert.equal(gateVerdict(all({ steps: 0, read: 0 })).verdict, "not checked");
        const many = gateVerdict(all({ read: 0, steps: 12, unread: Array.from({ length: 12 }, (_, i) => `s${i}`) }));
        assert.match(many.detail, /s9 and 2 more$/);
    });

    it("verdicts() judges the bound from the bench's input", () => {
        const base = { vms: 2, bad: 0, spendScale: 1 };
        assert.equal(of(verdicts(base)).verdict, "not checked");
        assert.equal(of(verdicts({ ...base, gate: all({}) })).verdict, "PASS");
        assert.equal(of(verdicts({ ...base, gate: all({ overAllowance: ["a"] }) })).verdict, "FAIL");
    });
});
