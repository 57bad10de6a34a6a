import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { StackNotFoundError } from "@pulumi/pulumi/automation";
import { Command, commandOutcome } from "../../cli/command/command";
import { EXIT } from "../../cli/command/exit-codes";
import { identities, paths } from "../../components/registry/clouds";
import { preflights } from "../../components/registry/preflights";
import { cloudWatches } from "../../components/registry/watchers";
import { ArgumentError, CommandContext } from "../../components/tools/command-contract";
import { IncidentCommandArgs, incidentArgs, inCi, resumeCommand } from "../../components/tools/incident/args";
import { IncidentEngine } from "../../components/tools/incident/engine";
import { IncidentDeps, confirm, engineErrorText, runIncidentCommand } from "../../components/tools/incident/incident-command";
import { EngineInterrupts, FORWARD_AFTER_MS, engineSignal } from "../../components/tools/incident/interrupt";
import { stoppedText } from "../../components/tools/incident/stopped";
import { changesText, incidentSummary, policyLines } from "../../components/tools/incident/summary";
import { logOutput } from "../../components/tools/incident/terminal";
import { nextStepFor as nextStepAfter } from "../../components/tools/status/next-step";

// `npm run incident`'s rules before and around the engine: the arguments, who may confirm the
// update (nobody in CI: --yes or nothing, and nothing planned or created), a stack never created
// without --create, Ctrl-C (forwarded to the engine only when it did not get it itself) and what is
// said after one, and the summary before the confirmation.

const ROOT = path.resolve(__dirname, "..", "..");

/** A context with captured output. */
function context(env: Record<string, string> = {}, stackDir = ROOT): CommandContext & { said: () => string } {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let text = "";
    stdout.on("data", (d: Buffer) => (text += d.toString()));
    stderr.on("data", (d: Buffer) => (text += d.toString()));
    return { cwd: ROOT, projectDir: ROOT, stackDir, env, stdin: new PassThrough(), stdout, stderr, said: () => text };
}

const ARGS: IncidentCommandArgs = { stack: "dev", sandbox: true, create: false, yes: false, allowSkipped: false };

/** Deps whose engine records whether anything asked for it. */
function deps(engine: () => IncidentEngine, stdinIsTty: boolean): IncidentDeps & { engineAsked: number } {
    const d = {
        engineAsked: 0,
        clouds: { identities, paths, preflights, clis: cloudWatches },
        engine: () => {
            d.engineAsked++;
            return engine();
        },
        stdinIsTty,
        live: logOutput(new PassThrough()),
        onInterrupt: () => () => undefined,
        nextStep: nextStepAfter,
    };
    return d;
}

/** The command as cli/incident.ts declares it, for the command layer. */
function command(d: IncidentDeps): Command<"incident"> {
    return {
        name: "incident",
        usage: "usage: npm run incident -- --stack NAME [--sandbox] [--create] [--yes] [--policy-pack DIR] [--allow-skipped] [--status-page FILE]",
        flags: { values: ["--stack", "--policy-pack", "--status-page"], switches: ["--sandbox", "--create", "--yes", "--allow-skipped"] },
        run: async ({ values, switches }, ctx) =>
            (
                await runIncidentCommand(
                    {
                        stack: values["--stack"],
                        sandbox: switches.has("--sandbox"),
                        create: switches.has("--create"),
                        yes: switches.has("--yes"),
                        policyPack: values["--policy-pack"],
                        allowSkipped: switches.has("--allow-skipped"),
                        statusPage: values["--status-page"],
                    },
                    ctx,
                    d,
                )
            ).outcome,
    };
}

const noEngine = (): IncidentEngine => {
    throw new Error("the engine must not be asked for");
};

describe("incident: the arguments and who confirms", () => {
    it("needs --stack, a stack name, and a policy pack folder", () => {
        const c = context();
        assert.throws(() => incidentArgs({ ...ARGS, stack: undefined }, c, true), /--stack is required/);
        assert.throws(() => incidentArgs({ ...ARGS, stack: "a b" }, c, true), /--stack: "a b" is not a stack name/);
        assert.throws(
            () => incidentArgs({ ...ARGS, policyPack: "stacks" }, c, true),
            /--policy-pack: "stacks" is not a policy pack folder/,
        );
        const ok = incidentArgs(ARGS, c, true);
        assert.equal(ok.policyPack, path.join(ROOT, "policy"));
    });

    it("refuses to ask in CI or without a terminal: --yes or nothing", () => {
        for (const [env, tty, why] of [
            [{ CI: "true" }, true, /CI is set/],
            [{ CI: "1" }, true, /CI is set/],
            [{}, false, /standard input is not a terminal/],
        ] as const) {
            assert.throws(
                () => incidentArgs(ARGS, context(env), tty),
                (err: Error) =>
                    err instanceof ArgumentError &&
                    why.test(err.message) &&
                    /--yes is not given: nothing was planned or created/.test(err.message),
            );
            assert.equal(incidentArgs({ ...ARGS, yes: true }, context(env), tty).yes, true);
        }
        assert.equal(inCi({ CI: "false" }), false);
        assert.equal(inCi({ CI: "" }), false);
        assert.doesNotThrow(() => incidentArgs(ARGS, context({ CI: "false" }), true));
    });

    it("in CI without --yes ends with the table's bad-arguments code before the plan, the engine or the stack is touched", async () => {
        const d = deps(noEngine, false);
        const c = context({ CI: "true" });
        const outcome = await commandOutcome(command(d), ["--stack", "dev", "--sandbox", "--create"], c);
        assert.equal(outcome, "badArguments");
        assert.equal(EXIT[outcome], 2);
        assert.equal(d.engineAsked, 0, "no engine, no workspace, no stack");
        assert.match(c.said(), /npm run incident: nobody can confirm the update here \(CI is set\)/);
        assert.doesNotMatch(c.said(), /offline plan/);
    });

    it("a stack the backend lacks is not created without --create: bad arguments, naming the flag; nothing begun", async function () {
        this.timeout(120_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "incident-"));
        fs.writeFileSync(path.join(dir, "one.yaml"), "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n");
        fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), "config:\n  bootloop-rescue:inventory: one.yaml\n");
        const calls: string[] = [];
        const workspace = {
            selectStack: (name: string) => {
                calls.push(`select ${name}`);
                return Promise.reject(
                    Object.assign(Object.create(StackNotFoundError.prototype) as Error, { message: `no stack named '${name}' found` }),
                );
            },
            createStack: (name: string) => Promise.resolve(void calls.push(`create ${name}`)),
        };
        const engine: IncidentEngine = {
            where: "the test's backend",
            sandbox: true,
            stackDir: dir,
            workspace: () => Promise.resolve(workspace as never),
            begin: () => Promise.resolve(void calls.push("begin")),
            end: () => void calls.push("end"),
            pulumi: "pulumi",
        };
        const c = context({}, dir);
        const outcome = await commandOutcome(command(deps(() => engine, true)), ["--stack", "t", "--sandbox", "--yes"], c);
        assert.equal(outcome, "badArguments");
        assert.deepEqual(calls, ["select t"], "selected, never created, nothing begun");
        assert.match(c.said(), /== 1\/6 the offline plan/);
        assert.match(
            c.said(),
            /stack t does not exist in the test's backend; nothing was created\. To create it: npm run incident -- --stack t --sandbox --create/,
        );
    });

    it("a confirmation is yes only for yes (or y), and no when the input ends", async () => {
        for (const [answer, expected] of [
            ["yes\n", true],
            ["Y\n", true],
            ["no\n", false],
            ["\n", false],
            ["yess\n", false],
        ] as const) {
            const c = context();
            const asked = confirm(c, "Update? ");
            (c.stdin as PassThrough).write(answer);
            assert.equal(await asked, expected, JSON.stringify(answer));
        }
        const c = context();
        const asked = confirm(c, "Update? ");
        (c.stdin as PassThrough).end();
        assert.equal(await asked, false);
    });

    it("the resume command is the one given, without --create, with --yes", () => {
        const c = context();
        assert.equal(
            resumeCommand(incidentArgs({ ...ARGS, create: true, yes: true }, c, true), ROOT, true),
            "npm run incident -- --stack dev --sandbox --yes",
        );
        const other = incidentArgs({ ...ARGS, sandbox: false, policyPack: "test/fixtures/../../policy", allowSkipped: true }, c, true);
        assert.equal(resumeCommand(other, ROOT, false), "npm run incident -- --stack dev --allow-skipped");
    });
});

describe("incident: Ctrl-C", () => {
    /** A timer the test fires by hand. */
    function timers() {
        const pending: { ms: number; fn: () => void; cancelled: boolean }[] = [];
        return {
            pending,
            after: (ms: number, fn: () => void) => {
                const t = { ms, fn, cancelled: false };
                pending.push(t);
                return { cancel: () => void (t.cancelled = true) };
            },
            fire: () => {
                for (const t of pending.splice(0)) if (!t.cancelled) t.fn();
            },
        };
    }

    it("does not forward a Ctrl-C the engine got from the terminal itself (npm's copy of it included), and says the engine is cancelling", () => {
        const t = timers();
        let forwarded = 0;
        const said: string[] = [];
        const i = new EngineInterrupts({ forward: () => forwarded++, say: (s) => said.push(s), after: t.after });
        i.signal();
        i.signal(); // npm forwards the terminal's Ctrl-C to this process too
        assert.equal(t.pending.length, 1, "one wait for the engine's word");
        assert.equal(t.pending[0].ms, FORWARD_AFTER_MS);
        i.engineSaid("^C received; cancelling. If you would like to terminate immediately, press ^C again.\n");
        t.fire();
        assert.equal(forwarded, 0);
        assert.equal(i.stop, "cancelling");
        assert.match(said[0], /^Ctrl-C: cancelling: the engine starts no new step and finishes the ones in flight/);
        // The second Ctrl-C, from the terminal too.
        i.signal();
        i.engineSaid("\u001b[31m^C received; terminating\u001b[0m");
        t.fire();
        assert.equal(forwarded, 0);
        assert.equal(i.stop, "terminating");
        assert.match(said[1], /stopping now/);
    });

    it("does not forward a Ctrl-C whose acknowledgement by the engine came before this process's own handler ran", () => {
        const t = timers();
        let now = 0;
        let forwarded = 0;
        const i = new EngineInterrupts({ forward: () => forwarded++, say: () => undefined, after: t.after, now: () => now });
        i.engineSaid("^C received; cancelling.");
        now += 50;
        i.signal();
        t.fire();
        assert.equal(forwarded, 0);
        assert.equal(i.stop, "cancelling");
        // A second Ctrl-C, long after, that the engine does not hear of: forwarded.
        now += FORWARD_AFTER_MS * 2;
        i.signal();
        t.fire();
        assert.equal(forwarded, 1);
    });

    it("forwards a SIGINT that came to this process alone (kill -INT, a CI runner), once per signal, until the engine terminates", () => {
        const t = timers();
        let now = 0;
        let forwarded = 0;
        const i = new EngineInterrupts({ forward: () => forwarded++, say: () => undefined, after: t.after, now: () => now });
        i.signal();
        now += FORWARD_AFTER_MS;
        t.fire();
        assert.equal(forwarded, 1);
        i.engineSaid("^C received; cancelling.");
        now += FORWARD_AFTER_MS;
        i.signal();
        now += FORWARD_AFTER_MS;
        t.fire();
        assert.equal(forwarded, 2);
        i.engineSaid("^C received; terminating");
        i.signal();
        assert.equal(t.pending.length, 0, "nothing more to forward once it terminates");
        i.close();
    });

    it("sends the engine SIGINT through the Automation API's AbortSignal as often as forwarded (its CLI runner listens for every abort event)", () => {
        // @pulumi/pulumi 3.248.0 kills the CLI with SIGINT on every "abort" event of the signal it was given.
        const cmd = fs.readFileSync(require.resolve("@pulumi/pulumi/automation/cmd.js"), "utf8");
        assert.match(cmd, /signal\.addEventListener\("abort", \(\) => \{\s*proc\.kill\("SIGINT"/);
        const { signal, forward } = engineSignal();
        let heard = 0;
        signal.addEventListener("abort", () => heard++);
        forward();
        assert.equal(signal.aborted, true);
        forward();
        assert.equal(heard, 2);
    });

    it("says after one Ctrl-C that every finished step is kept and the same command resumes; after two, what to clear first", () => {
        const counts = { waiting: 3, backup: 1, repairing: 2, swapping: 0, verified: 4, failed: 1 };
        const resume = "npm run incident -- --stack dev --sandbox --yes";
        const once = stoppedText("cancelling", counts, resume, "npm run sandbox --", "dev");
        assert.match(once, /^Cancelled \(Ctrl-C\): 4 of 11 VMs verified, 1 failed, 3 part-way through their chain, 3 not started\./);
        assert.match(once, /waited for the steps in flight and saved the state/);
        assert.match(once, /To resume: npm run incident -- --stack dev --sandbox --yes$/);
        const twice = stoppedText("terminating", counts, resume, "npm run sandbox --", "dev");
        assert.match(twice, /^Stopped at once \(Ctrl-C twice\): 4 of 11 VMs verified/);
        assert.match(twice, /pending operations/);
        assert.match(twice, /\n {2}npm run sandbox -- refresh --stack dev --yes /);
        assert.match(twice, /\n {2}npm run incident -- --stack dev --sandbox --yes$/);
    });

    it("shows an engine error by its stderr's last lines, terminal-safe", () => {
        const text = `code: 255\n stdout: ${"x\n".repeat(500)}\n stderr: warning: one\nerror: \u001b[31mthe stack is locked\u001b[0m\n err?: Error: Command failed`;
        assert.equal(engineErrorText(new Error(text)), "warning: one\nerror: the stack is locked");
    });
});

describe("incident: the summary before the confirmation", () => {
    it("names the preview's changes, the unchanged apart", () => {
        assert.equal(changesText({ create: 90 }), "create 90");
        assert.equal(changesText({ same: 88, update: 2, delete: 0 }), "update 2 (88 unchanged)");
        assert.equal(changesText({ same: 90 }), "no changes (90 unchanged)");
    });

    it("lists the policy packs the preview's output names", () => {
        const stdout =
            "Previewing update (dev):\n\nPolicies:\n    ✅ bootloop-rescue@v0.1.0 (local: policy)\n\nResources:\n    + 90 to create\n";
        assert.deepEqual(policyLines(stdout), ["✅ bootloop-rescue@v0.1.0 (local: policy)"]);
        assert.deepEqual(policyLines("Resources:\n + 1 to create\n"), []);
        const advisory =
            "Policies:\n    ⚠️ bootloop-rescue@v0.1.0 (local: policy)\n        - [advisory]  a-rule  (aws:ebs/volume:Volume: x-scratch)\n          can't run policy 'a-rule' during preview\n        - [advisory]  a-rule  (gcp:compute/disk:Disk: y)\n          also\n\nResources:\n";
        assert.deepEqual(policyLines(advisory), ["⚠️ bootloop-rescue@v0.1.0 (local: policy): 2 advisory"]);
    });

    it("counts the VMs per wave, cloud and strategy", () => {
        const vm = (cloud: string, wave: number, strategy: string) => ({ cloud, wave, strategy }) as never;
        const plan = {
            vms: [vm("aws", 0, "repair"), vm("gcp", 1, "reboot"), vm("aws", 1, "repair"), vm("aws", 1, "restore")],
            waves: [],
            rescuePools: [],
        };
        assert.equal(
            incidentSummary("dev", plan, { create: 12 }, "the sandbox", ["✅ pack"]),
            [
                "Summary: stack dev, 4 VMs, the sandbox",
                "  wave 0 (canary): 1 VM: aws 1 (repair 1)",
                "  wave 1: 3 VMs: aws 2 (repair 1, restore 1), gcp 1 (reboot 1)",
                "  the preview: create 12",
                "  policy packs run by the preview: ✅ pack",
            ].join("\n"),
        );
    });
});
