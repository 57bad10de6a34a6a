import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { identities, paths } from "../../components/registry/clouds";
import { runOffline } from "../../components/tools/offline/run";
import { readStackConfig } from "../../components/tools/offline/stack-config";
import { EventInputCheck } from "../../components/tools/progress/input-check";
import { JsonObjectStream } from "../../components/tools/progress/json-stream";
import { Change, FleetProgress, WatchPlan, watchPlanOf } from "../../components/tools/progress/progress";
import { summaryLine, verdictText } from "../../components/tools/progress/render";
import { checkWebhookUrl } from "../../components/tools/progress/webhook";
import { asEventLog, asJsonStream, stackUrn, updateEvents } from "../helpers/engine-events";

const root = path.resolve(__dirname, "../..");
const RECORDED = path.join(root, "test/fixtures/engine-events/dev-up.json");
const FAILED_VM = "azure rg-app/app-02";

let plan: WatchPlan & { types: Record<string, string> };
before(async function () {
    this.timeout(120_000);
    const run = await runOffline({ stack: "dev", config: readStackConfig(root, "dev"), baseDir: root, identities, paths, details: false });
    plan = { ...watchPlanOf(run), types: Object.fromEntries(run.tree.map((r) => [r.name, r.type])) };
});

/** Every event of a stream text, through the splitter fed in chunks of `size`. */
function parse(text: string, size: number): { values: unknown[]; skipped: string[] } {
    const values: unknown[] = [];
    const skipped: string[] = [];
    const s = new JsonObjectStream(
        (v) => values.push(v),
        (t) => skipped.push(t),
    );
    for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
    s.end();
    return { values, skipped };
}

describe("watch: the engine's event stream", () => {
    it("splits indented events (pulumi up --json) and one-per-line events (--event-log), however the chunks fall", () => {
        const events = [{ a: 1, s: 'with } and { and \\" inside' }, { b: [1, { c: "}" }] }, { d: "\u2028 x" }];
        for (const text of [asJsonStream(events), asEventLog(events)]) {
            for (const size of [1, 2, 3, 7, 64, 100_000]) assert.deepEqual(parse(text, size).values, events, `chunks of ${size}`);
        }
    });

    it("skips text between events (a warning the CLI printed) and a value that is not JSON, and reports a cut-off end", () => {
        const { values, skipped } = parse('warning: A new version of Pulumi is available\n{"a":1}\n{"b": nope}\n{"c":2}\n{"d":', 5);
        assert.deepEqual(values, [{ a: 1 }, { c: 2 }]);
        assert.deepEqual(skipped, ["warning: A new version of Pulumi is available", '{"b": nope}', '{"d":']);
    });

    it("refuses a value that never ends instead of growing without bound", () => {
        const s = new JsonObjectStream(() => {});
        s.push("{");
        const chunk = "x".repeat(1024 * 1024);
        assert.throws(() => {
            for (let i = 0; i < 70; i++) s.push(`"${chunk}",`);
        }, /longer than/);
    });
});

describe("watch: the input is this stack's engine events", () => {
    it("JSON that holds no engine event (pulumi stack output --json) gets 'use --json' at its end; an empty input says nothing", () => {
        const check = new EventInputCheck("dev");
        assert.equal(check.value({ vms: [] }), undefined);
        assert.match(check.end()!, /^the input holds no engine events: use `pulumi up --json`/);
        assert.equal(new EventInputCheck("dev").end(), undefined);
    });

    it("a CLI warning before the events is no problem; an event without a URN names no stack", () => {
        const check = new EventInputCheck("dev");
        assert.equal(check.skipped("warning: A new version of Pulumi is available"), undefined);
        assert.equal(check.value({ sequence: 0, preludeEvent: { config: {} } }), undefined);
        assert.equal(check.value({ sequence: 1, resourcePreEvent: { metadata: { urn: "urn:pulumi:dev::p::t::n" } } }), undefined);
        assert.equal(check.end(), undefined);
    });

    it("a hostile stack name in a URN is shown terminal-safe", () => {
        const problem = new EventInputCheck("dev").value({
            sequence: 0,
            diagnosticEvent: { urn: "urn:pulumi:x\x1b]0;owned\x07y::p::t::n", message: "", severity: "info" },
        })!;
        assert.match(problem, /^event 1 is stack "xy"'s \(urn:pulumi:xy::p::t::n\)/);
        // eslint-disable-next-line no-control-regex -- control characters are what the message must not hold
        assert.doesNotMatch(problem, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    });
});

describe("watch: progress of the recorded update (dev stack, one VM failing its repair)", () => {
    const recorded = () => parse(fs.readFileSync(RECORDED, "utf8"), 4096).values;

    it("the recording is the dev stack's update: every VM's steps, the failure with its reason, the summary", () => {
        const events = recorded() as Record<string, any>[];
        assert.ok(events.length > 150);
        assert.ok(events.every((e, i) => e.sequence === i && typeof e.timestamp === "number"));
        const names = new Set(plan.resources);
        for (const e of events) {
            const urn = e.resourcePreEvent?.metadata.urn ?? e.resOutputsEvent?.metadata.urn;
            if (urn && !urn.includes("pulumi:pulumi:Stack")) assert.ok(names.has(urn.split("::").pop()), urn);
        }
        assert.equal(events.filter((e) => e.resOpFailedEvent).length, 1);
        assert.ok(events.at(-2)!.summaryEvent);
    });

    it("counts per wave and cloud: the canary verified first, then wave 1 with the failed VM and its reason", () => {
        const progress = new FleetProgress(plan);
        const changes: Change[] = [];
        for (const e of recorded()) changes.push(...progress.apply(e));
        const byRow = Object.fromEntries(progress.counts().map((r) => [`${r.wave}/${r.cloud}`, r.counts]));
        assert.deepEqual(byRow["0/aws"], { waiting: 0, backup: 0, repairing: 0, swapping: 0, verified: 1, failed: 0 });
        assert.deepEqual(byRow["1/aws"], { waiting: 0, backup: 0, repairing: 0, swapping: 0, verified: 4, failed: 0 });
        assert.deepEqual(byRow["1/azure"], { waiting: 0, backup: 0, repairing: 0, swapping: 0, verified: 2, failed: 1 });
        assert.deepEqual(byRow["1/gcp"], { waiting: 0, backup: 0, repairing: 0, swapping: 0, verified: 3, failed: 0 });
        const failure = progress.failures();
        assert.equal(failure.length, 1);
        assert.equal(failure[0].vm.label, FAILED_VM);
        assert.equal(failure[0].step, "repair");
        assert.match(failure[0].reason!, /^repair of app-02-[0-9a-f]+: the engine found no Windows volume/);
        assert.doesNotMatch(failure[0].reason!, /<\{%|error:/, "colour codes and the engine's prefix are gone");
        // The failure is reported when it happens, before the wave that holds it ends; the canary's wave ends first.
        const order = changes
            .filter((c) => c.kind === "failed" || c.kind === "wave-done")
            .map((c) => (c.kind === "failed" ? `failed ${c.vm!.label}` : `wave ${c.wave}`));
        assert.deepEqual(order, ["wave 0", `failed ${FAILED_VM}`, "wave 1"]);
        assert.deepEqual(progress.otherFailures(), [], "the engine's closing 'update failed' is not another failure");
        assert.equal(progress.ended?.result, "failed");
    });

    it("phases move forward only: waiting, backup, repairing, swapping, then verified", () => {
        const progress = new FleetProgress(plan);
        const canary = plan.vms.find((v) => v.wave === 0)!;
        const seen: string[] = [];
        for (const e of recorded()) {
            progress.apply(e);
            const row = progress.counts().find((r) => r.wave === 0)!.counts;
            const phase = Object.entries(row).find(([, n]) => n === 1)![0];
            if (seen.at(-1) !== phase) seen.push(phase);
        }
        assert.deepEqual(seen, ["waiting", "backup", "repairing", "swapping", "verified"], canary.label);
    });

    it("a failure outside every chain (a rescue VM) is reported with its reason; a VM's info messages are not failures", () => {
        const progress = new FleetProgress(plan);
        const rescue = plan.resources.find((n) => n.startsWith("rescue-"))!;
        const urn = `urn:pulumi:dev::bootloop-rescue::aws:ec2/instance:Instance::${rescue}`;
        assert.deepEqual(progress.apply({ diagnosticEvent: { urn, message: "creating\n", severity: "info" } }), []);
        const changes = progress.apply({
            diagnosticEvent: {
                urn,
                message: "<{%fg 1%}>error: InsufficientInstanceCapacity: no capacity in us-east-1b\n",
                severity: "error",
            },
        });
        assert.deepEqual(changes, [
            { kind: "other-failure", resource: rescue, reason: "InsufficientInstanceCapacity: no capacity in us-east-1b" },
        ]);
        assert.deepEqual(progress.apply({ resOpFailedEvent: { metadata: { urn }, status: 1, steps: 1 } }), []);
    });

    it("an update that closes without the engine's summary is said to have stopped early, not to have been cancelled by someone", () => {
        const progress = new FleetProgress(plan);
        progress.apply({ cancelEvent: {} });
        assert.equal(progress.ended?.result, "cancelled");
        assert.match(
            verdictText(progress),
            /^update ended without the engine's summary \(cancelled, or stopped before it deployed\): 11 of 11 VMs not verified/,
        );
    });

    it("a re-run's unchanged steps (op same) count as verified", () => {
        const progress = new FleetProgress(plan);
        for (const name of plan.resources)
            progress.apply({ resOutputsEvent: { metadata: { op: "same", urn: `urn:pulumi:dev::p::t::${name}` } } });
        assert.equal(progress.total().verified, plan.vms.length);
    });

    it("the chat line is one line under 500 characters, names the first failure, and holds no newline from a reason", () => {
        const progress = new FleetProgress(plan);
        for (const e of recorded()) progress.apply(e);
        const line = summaryLine(progress, "dev", "wave 1 of 2 done");
        assert.ok(!line.includes("\n") && line.length <= 500, line);
        assert.match(
            line,
            /^bootloop-rescue dev: wave 1 of 2 done\. Overall 11 VMs: 10 verified, 1 failed, 0 in flight, 0 waiting; first failure azure rg-app\/app-02: repair of app-02/,
        );
    });

    it("the chat line escapes a reason's markup and, cut at 500 characters, never splits an escape", () => {
        const step = plan.resources.find((n) => n.startsWith(`${plan.vms[0].resourceName}-`))!;
        // Every offset of the cut against the escapes' 4 and 5 characters.
        for (let pad = 0; pad < 10; pad++) {
            const progress = new FleetProgress(plan);
            progress.apply({
                diagnosticEvent: {
                    urn: `urn:pulumi:dev::p::t::${step}`,
                    message: `error: ${"x".repeat(pad)}${"<>".repeat(200)}\n`,
                    severity: "error",
                },
            });
            const line = summaryLine(progress, "dev", "FAILED");
            assert.ok(line.length <= 500, String(line.length));
            assert.doesNotMatch(line, /[<>]|&[a-z]*\.\.\.$/, line);
            assert.match(line, /&lt;&gt;/);
        }
    });

    it("a webhook must be https (http only to this machine)", () => {
        assert.throws(() => checkWebhookUrl("http://hooks.example.com/x"), /must be https/);
        assert.throws(() => checkWebhookUrl("not a url"), /not a URL/);
        assert.equal(checkWebhookUrl("https://hooks.slack.com/services/T/B/x").hostname, "hooks.slack.com");
        assert.equal(checkWebhookUrl("http://127.0.0.1:9/x").port, "9");
    });
});

describe("watch: an update that fails as a whole (the stack, not a VM's step) is never a success", () => {
    const stackFailed = {
        resOpFailedEvent: {
            metadata: { op: "same", urn: stackUrn("dev"), type: "pulumi:pulumi:Stack", provider: "" },
            status: 1,
            steps: 0,
        },
    };
    const updateFailed = {
        diagnosticEvent: { urn: stackUrn("dev"), prefix: "error: ", message: "update failed\n", color: "raw", severity: "error" },
    };
    const policy = (level: "mandatory" | "advisory") => ({
        policyEvent: {
            resourceUrn: stackUrn("dev"),
            message: "every disk must carry cost-center",
            color: "raw",
            policyName: "tags",
            policyPackName: "corp",
            policyPackVersion: "1",
            policyPackVersionTag: "1",
            enforcementLevel: level,
        },
    });
    const unscoped = {
        diagnosticEvent: { prefix: "error: ", message: "error: preview failed: quota exceeded\n", color: "raw", severity: "error" },
    };

    for (const [what, tail] of [
        ["the stack's resOpFailedEvent", [stackFailed]],
        ["the engine's 'update failed' on the stack", [updateFailed]],
        ["a mandatory policy violation", [policy("mandatory")]],
        ["an error diagnostic that names no resource", [unscoped]],
        ["nothing at all (the engine's summary alone)", []],
    ] as [string, Record<string, unknown>[]][]) {
        it(`after the canary, 10 of 11 VMs never started, and ${what}: the update did not succeed`, () => {
            const progress = new FleetProgress(plan);
            for (const e of updateEvents(plan, "dev", undefined, { waves: [0], beforeSummary: tail })) progress.apply(e);
            assert.equal(progress.total().verified, 1);
            assert.ok(progress.ended, "the summary ends the update");
            assert.notEqual(progress.ended.result, "succeeded", what);
            assert.equal(progress.unverified(), 10);
        });
    }

    it("a mandatory policy violation and an error without a resource are reported with their reasons; an advisory one is not a failure", () => {
        const progress = new FleetProgress(plan);
        assert.deepEqual(progress.apply(policy("advisory")), []);
        assert.deepEqual(progress.apply(policy("mandatory")), [
            { kind: "other-failure", resource: "bootloop-rescue-dev (policy corp/tags)", reason: "every disk must carry cost-center" },
        ]);
        assert.deepEqual(progress.apply(unscoped), [
            { kind: "other-failure", resource: "the update", reason: "preview failed: quota exceeded" },
        ]);
    });

    it("the engine's 'update failed' with nothing reported before it is said at once; after a VM's failure it adds nothing", () => {
        const alone = new FleetProgress(plan);
        assert.deepEqual(alone.apply(updateFailed), [
            {
                kind: "other-failure",
                resource: "the update",
                reason: "the engine reports the update failed; its reason is in the update's log",
            },
        ]);
        assert.deepEqual(alone.apply(stackFailed), []);
        const after = new FleetProgress(plan);
        after.apply(unscoped);
        assert.deepEqual(after.apply(updateFailed), []);
        assert.deepEqual(after.apply(stackFailed), []);
    });

    it("a VM whose last step succeeded but reports its own failure (status failed) is failed with its reason, and its wave still ends", () => {
        const progress = new FleetProgress(plan);
        const vm = plan.vms.find((v) => v.label === FAILED_VM)!;
        const swap = `${vm.resourceName}-swap`;
        const report = JSON.stringify({
            status: "failed",
            reason: "app-02 did not report its VM agent Ready\u001b[31m",
            nextStep: "roll it back",
            timings: {},
        });
        const changes: Change[] = [];
        for (const e of updateEvents(plan, "dev")) {
            const out = (e as { resOutputsEvent?: { metadata: { urn: string; new?: unknown } } }).resOutputsEvent;
            if (out && out.metadata.urn.endsWith(`::${swap}`))
                out.metadata.new = { outputs: { stdout: `${report}\ndict1-deflate-base64:xyz` } };
            changes.push(...progress.apply(e));
        }
        const failed = changes.filter((c) => c.kind === "failed");
        assert.deepEqual(
            failed.map((c) => [c.vm?.label, c.reason]),
            [[FAILED_VM, "app-02 did not report its VM agent Ready"]],
            "the reason, terminal-safe",
        );
        assert.ok(
            changes.some((c) => c.kind === "wave-done" && c.wave === vm.wave),
            "its wave ended",
        );
        assert.equal(progress.ended?.result, "failed", "an update with a failed VM did not recover everything");
        assert.equal(progress.unverified(), 1);
        // The engine itself finished: the watch says the VM failed, not that the update did.
        assert.equal(progress.engineFailed, false);
        assert.equal(
            verdictText(progress),
            "update finished after 1834 s: 1 of 11 VMs failed (recorded in their chains; npm run report says what to do next), 10 verified",
        );
    });

    it("a whole update in which every VM verified still succeeds", () => {
        const progress = new FleetProgress(plan);
        for (const e of updateEvents(plan, "dev")) progress.apply(e);
        assert.equal(progress.ended?.result, "succeeded");
        assert.equal(progress.unverified(), 0);
    });
});

/** Runs `npm run watch` as the project does, with `input` on stdin (or none); resolves when it exits. */
function runWatch(
    args: string[],
    input: string | undefined,
    env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(
            process.execPath,
            ["-r", require.resolve("ts-node/register/transpile-only"), path.join(root, "cli/watch.ts"), ...args],
            {
                cwd: root,
                env: { ...process.env, INIT_CWD: root, TS_NODE_PROJECT: path.join(root, "tsconfig.json"), ...env },
            },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        if (input !== undefined) child.stdin.end(input);
    });
}

/** A loopback server that records every webhook post. */
async function webhookServer(): Promise<{ url: string; posts: { text: string }[]; close: () => void }> {
    const posts: { text: string }[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            posts.push(JSON.parse(body));
            res.end("ok");
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posts, close: () => server.close() };
}

describe("npm run watch", function () {
    // Each run starts ts-node and plans the dev stack offline: slow on a busy machine, never timed.
    this.timeout(600_000);
    it("reads pulumi up --json on stdin: the failure with its reason, the tables, and chat posts at the first failure, each wave's end and the end", async () => {
        const hook = await webhookServer();
        try {
            const out = await runWatch(["--stack", "dev", "--webhook-env", "TEST_HOOK"], fs.readFileSync(RECORDED, "utf8"), {
                TEST_HOOK: hook.url,
            });
            assert.equal(out.status, 1, out.stderr);
            assert.match(
                out.stdout,
                /^FAILED azure rg-app\/app-02 \(wave 1\): repair of app-02-[0-9a-f]+: the engine found no Windows volume/m,
            );
            assert.match(out.stdout, /^wave 0 \(canary\) of 2 done: 1 VM: 1 verified/m);
            assert.match(out.stdout, /^1 +azure +0 +0 +0 +0 +2 +1$/m);
            assert.match(out.stdout, /^update failed after 1834 s$/m);
            assert.ok(!out.stdout.includes(hook.url) && !out.stderr.includes(hook.url), "the webhook URL is a secret");
            const texts = hook.posts.map((p) => p.text);
            assert.equal(texts.length, 4, texts.join("\n"));
            assert.match(texts[0], /^bootloop-rescue dev: wave 0 \(canary\) of 2 done: 1 VM: 1 verified/);
            assert.match(texts[1], /^bootloop-rescue dev: FAILED azure rg-app\/app-02 \(wave 1\): repair of/);
            assert.match(texts[2], /^bootloop-rescue dev: wave 1 of 2 done: 10 VMs: 9 verified, 1 failed/);
            assert.match(texts[3], /^bootloop-rescue dev: update failed after 1834 s\. Overall 11 VMs: 10 verified, 1 failed/);
        } finally {
            hook.close();
        }
    });

    it("an update that failed as a whole after its canary exits 1 and says how many VMs were never verified", async () => {
        const stackFailed = {
            resOpFailedEvent: {
                metadata: { op: "same", urn: stackUrn("dev"), type: "pulumi:pulumi:Stack", provider: "" },
                status: 1,
                steps: 0,
            },
        };
        const out = await runWatch(
            ["--stack", "dev"],
            asJsonStream(updateEvents(plan, "dev", undefined, { waves: [0], beforeSummary: [stackFailed] })),
        );
        assert.equal(out.status, 1, out.stdout + out.stderr);
        assert.match(out.stdout, /^update failed after 1834 s: 10 of 11 VMs not verified \(waiting or in flight when it ended\)$/m);
        const quiet = await runWatch(["--stack", "dev"], asJsonStream(updateEvents(plan, "dev", undefined, { waves: [0] })));
        assert.equal(quiet.status, 1, quiet.stdout + quiet.stderr);
        assert.match(quiet.stdout, /^update ended after 1834 s, but 10 of 11 VMs were not verified$/m);
    });

    it("follows an event log as the update writes it, and ends with the update", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-watch-"));
        const log = path.join(dir, "up.events");
        const lines = asEventLog(updateEvents(plan, "dev")).split("\n");
        fs.writeFileSync(log, lines.slice(0, 20).join("\n") + "\n");
        const pending = runWatch(["--stack", "dev", "--events", log, "--interval", "0"], undefined);
        await new Promise((r) => setTimeout(r, 8000));
        fs.appendFileSync(log, lines.slice(20).join("\n"));
        const out = await pending;
        assert.equal(out.status, 0, out.stderr);
        assert.match(out.stdout, /^update succeeded after 1834 s$/m);
        assert.match(out.stdout, /^bootloop-rescue dev: 11 VMs: 11 verified, 0 failed, 0 in flight, 0 waiting$/m);
    });

    it("an event log that stops growing without the engine's summary (the update's process died) exits 3 after --quiet seconds", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-watch-"));
        const log = path.join(dir, "up.events");
        fs.writeFileSync(log, asEventLog(updateEvents(plan, "dev")).split("\n").slice(0, 40).join("\n") + "\n");
        const out = await runWatch(["--stack", "dev", "--events", log, "--quiet", "2"], undefined);
        assert.equal(out.status, 3, out.stdout + out.stderr);
        assert.match(out.stdout, /^no new event in 2 s \(--quiet\): the update stopped without its summary \(its process died\?\)$/m);
        assert.match(out.stdout, /the event stream ended before the update did/);
    });

    it("the quiet period's default outlasts the stack's longest step (the reboot step's 15 restarts)", () => {
        // The dev stack's clouds: AWS's and GCP's reboot step is the longest (15 restarts, each
        // waiting up to 600 s for a stop in progress and 300 s for the boot: 13,500 s, plus core's
        // margins: 267 minutes, and the 60 minutes it may queue at the gate), then a 10-minute margin.
        assert.equal(plan.quietSeconds, (267 + 60 + 10) * 60);
    });

    it("a stream that ends before the update did exits 3", async () => {
        const text = asEventLog(updateEvents(plan, "dev")).split("\n").slice(0, 40).join("\n");
        const out = await runWatch(["--stack", "dev"], text);
        assert.equal(out.status, 3, out.stderr);
        assert.match(out.stdout, /the event stream ended before the update did/);
    });

    it("refuses another stack's events, and events of two stacks mixed, with exit 2 and no verdict", async () => {
        const other = await runWatch(["--stack", "dev"], asJsonStream(updateEvents(plan, "prod")));
        assert.equal(other.status, 2, other.stdout + other.stderr);
        assert.match(
            other.stderr,
            /^npm run watch: event 2 is stack "prod"'s \(urn:pulumi:prod::bootloop-rescue::pulumi:pulumi:Stack::bootloop-rescue-prod\), not --stack dev's: watch the stack the update runs$/m,
        );
        assert.doesNotMatch(other.stdout, /^update /m);
        const events = updateEvents(plan, "dev");
        const mixed = [...events.slice(0, 30), ...updateEvents(plan, "qa").slice(2, 4), ...events.slice(30)];
        const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-watch-")), "up.events");
        fs.writeFileSync(log, asEventLog(mixed));
        const both = await runWatch(["--stack", "dev", "--events", log], undefined);
        assert.equal(both.status, 2, both.stdout + both.stderr);
        assert.match(
            both.stderr,
            /^npm run watch: event 31 is stack "qa"'s \(urn:pulumi:qa::[^)]*\), but the events before it and --stack are dev's: the input mixes two updates$/m,
        );
        assert.doesNotMatch(both.stdout, /^update /m);
    });

    it("pulumi up's text output (no --json) gets 'use --json', exit 2", async () => {
        const text = [
            "Updating (dev)",
            "",
            "View in Browser (Ctrl+O): https://app.pulumi.com/acme/bootloop-rescue/dev/updates/12",
            "",
            "     Type                 Name                 Status",
            " +   pulumi:pulumi:Stack  bootloop-rescue-dev  created (3s)",
            "",
            "Resources:",
            "    + 1 created",
            "",
            "Duration: 4s",
            "",
        ].join("\n");
        const out = await runWatch(["--stack", "dev"], text);
        assert.equal(out.status, 2, out.stdout + out.stderr);
        assert.match(
            out.stderr,
            /this is pulumi's text output, not its events: use `pulumi up --json` \(or `pulumi up --event-log FILE` and --events FILE\)/,
        );
        assert.doesNotMatch(out.stdout, /^update |ended before the update did/m);
    });

    it("text from guests, clouds and the engine reaches the terminal without escapes and the chat without mentions or links", async () => {
        const HOSTILE =
            "\x1b]0;owned\x07\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\x1bc\x07 <!channel> @here <https://evil.example|click> \u202eevil\x9b31m done";
        const rescue = plan.resources.find((n) => n.startsWith("rescue-"))!;
        const events = updateEvents(
            plan,
            "dev",
            { vm: FAILED_VM, step: "repair", reason: `no Windows volume ${HOSTILE}` },
            {
                beforeSummary: [
                    {
                        diagnosticEvent: {
                            urn: `urn:pulumi:dev::bootloop-rescue::aws:ec2/instance:Instance::${rescue}`,
                            message: `error: ${HOSTILE}\n`,
                            color: "raw",
                            severity: "error",
                        },
                    },
                    {
                        diagnosticEvent: {
                            urn: `urn:pulumi:dev::bootloop-rescue::aws:ec2/instance:Instance::bad\x1b[2Jname`,
                            message: `error: ${HOSTILE}\n`,
                            color: "raw",
                            severity: "error",
                        },
                    },
                    {
                        policyEvent: {
                            resourceUrn: stackUrn("dev"),
                            message: HOSTILE,
                            color: "raw",
                            policyName: `tags${HOSTILE}`,
                            policyPackName: "corp",
                            policyPackVersion: "1",
                            policyPackVersionTag: "1",
                            enforcementLevel: "mandatory",
                        },
                    },
                    { diagnosticEvent: { message: `error: ${HOSTILE}\n`, color: "raw", severity: "error" } },
                ],
            },
        );
        const outputs = events.find((e) => e.resOutputsEvent) as { resOutputsEvent: { metadata: Record<string, unknown> } };
        outputs.resOutputsEvent.metadata.new = { outputs: { stdout: HOSTILE } };
        const hook = await webhookServer();
        try {
            const out = await runWatch(["--stack", "dev", "--webhook-env", "TEST_HOOK", "--interval", "0"], asJsonStream(events), {
                TEST_HOOK: hook.url,
            });
            assert.equal(out.status, 1, out.stderr);
            // eslint-disable-next-line no-control-regex -- control characters are what the output must not hold
            const unsafe = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
            assert.doesNotMatch(out.stdout, unsafe);
            assert.doesNotMatch(out.stderr, unsafe);
            assert.match(
                out.stdout,
                /^FAILED azure rg-app\/app-02 \(wave 1\): no Windows volume\s+<!channel> @here <https:\/\/evil\.example\|click> evil done$/m,
            );
            assert.match(out.stdout, /^FAILED badname: <!channel>/m);
            assert.match(out.stdout, /^FAILED bootloop-rescue-dev \(policy corp\/tags <!channel>/m);
            assert.match(out.stdout, /^FAILED the update: <!channel>/m);
            const texts = hook.posts.map((p) => p.text);
            assert.ok(texts.length >= 3, texts.join("\n"));
            for (const t of texts) {
                assert.doesNotMatch(t, unsafe, t);
                assert.doesNotMatch(t, /[<>]|@here/, t);
            }
            assert.match(
                texts.find((t) => t.includes("FAILED azure"))!,
                /&lt;!channel&gt; \uff20here &lt;https\[:\]\/\/evil\.example\|click&gt;/,
            );
        } finally {
            hook.close();
        }
    });

    it("bad arguments exit 2 naming the argument, and a plain-http webhook is refused without printing it", async () => {
        for (const [args, message] of [
            [[], /--stack is required/],
            [["--stack", "dev", "--interval", "soon"], /--interval: "soon" must be whole seconds/],
            [["--stack", "dev", "--webhook-env", "1BAD"], /--webhook-env: "1BAD" is not a variable name/],
            [["--stack", "dev", "--bogus", "x"], /unknown argument "--bogus"/],
            [["--stack", "dev", "--events", "up.events", "--quiet", "soon"], /--quiet: "soon" must be whole seconds from 1/],
            [["--stack", "dev", "--quiet", "60"], /--quiet applies to --events only/],
            [
                ["--stack", "dev", "--webhook-env", "UNSET_HOOK_VARIABLE"],
                /--webhook-env UNSET_HOOK_VARIABLE: the variable is not set \(or empty\)/,
            ],
        ] as [string[], RegExp][]) {
            const out = await runWatch(args, "", { UNSET_HOOK_VARIABLE: "" });
            assert.equal(out.status, 2, args.join(" "));
            assert.match(out.stderr, message);
        }
        const out = await runWatch(["--stack", "dev", "--webhook-env", "HOOK"], "", { HOOK: "http://hooks.example.com/secret-token" });
        assert.equal(out.status, 2);
        assert.match(out.stderr, /--webhook-env HOOK: the webhook URL must be https/);
        assert.ok(!out.stderr.includes("secret-token"));
    });
});
