import { strict as assert } from "assert";
import { FrontWorld, frontOnWorld } from "../helpers/front-world";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsAction } from "../../components/aws/actions";
import { unpackEvidence } from "../../components/core/cloud-steps";
import { closeClients } from "../../components/aws/api";
import { awsWatch } from "../../components/aws/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CliError, CloudRunner } from "../../components/gate/types";
import { StepCall } from "../../components/watcher/types";
import { ApiFront } from "../../sandbox/api/start";
import { A_DEVELOPERS_PROFILE, NO_AWS_PROFILE, setEnv } from "../helpers/aws-env";
import { awsEndpoint, ec2Error, ec2Xml } from "./api-server";
import { FIXED, INSTANCE, MUTATING, ORIGINAL, RESCUE, SCRATCH, op, repairEnv, run, swapEnv, world } from "./run-script";
import { REGION, SEND, SENDS, SHAPES, TAGS, stepCall, withGlobals } from "./action-shapes";
import { assertCliError } from "../helpers/cli-error";

/** A runner of the gate's API requests alone (the actions start no process). */
function gateRunner(): CloudRunner {
    const gate = new Gate(new Map([["aws", awsWatch]]), new Semaphore(2), 1000);
    return {
        run: () => Promise.reject(new Error("an action ran a CLI process")),
        api: (c, send) => gate.api(c, send),
    };
}

describe("AWS actions (components/aws/actions.ts): the steps' writes as requests of the API (EC2; Systems Manager SendCommand)", () => {
    describe("the parser takes the exact shapes the scripts send, and nothing else", () => {
        it("takes every shape the scripts send, with or without a role in the scope", () => {
            for (const s of [...SHAPES, ...SENDS]) {
                assert.ok(awsAction(stepCall(s)), s.join(" "));
                assert.ok(awsAction(stepCall(s, { region: REGION, role: "arn:aws:iam::111122223333:role/rescue" })), s.join(" "));
            }
            assert.ok(awsWatch.action?.(stepCall(SHAPES[0])), "wired into the AWS watcher");
        });

        it("leaves to the CLI any call changed, extended or cut short", () => {
            const refused: [string, StepCall][] = [];
            const variants = (s: string[]): StepCall[] => {
                const call = stepCall(s);
                const out: StepCall[] = [
                    { ...call, args: [...call.args, "--dry-run"] }, // an extra flag
                    { ...call, args: [...call.args, "extra"] }, // an extra argument
                    { ...call, args: call.args.slice(0, -1) }, // a missing value or member
                    { ...call, args: call.args.map((a) => (a === "json" ? "text" : a)) }, // another output format
                    { ...call, args: ["--debug", ...call.args] }, // another global option
                    { ...call, args: call.args.map((a) => (a === REGION ? "eu-west-1" : a)) }, // a region not the scope's
                    { ...call, fields: { region: "eu-west-1" } }, // a scope not the call's
                    { ...call, op: "ec2 describe-instances" }, // an op not the call's
                    { ...call, command: "az" },
                    { ...call, fields: { region: REGION, role: "not-an-arn" } },
                ];
                // Each id in turn swapped for a value the CLI would read otherwise (a file, an option, an odd id).
                for (const [i, a] of call.args.entries())
                    if (/^(i|vol)-/.test(a))
                        for (const odd of [`file://${a}`, `--${a}`, `${a} `, `${a},x`])
                            out.push({ ...call, args: call.args.map((b, j) => (j === i ? odd : b)) });
                return out;
            };
            for (const s of SHAPES) {
                for (const v of variants(s)) {
                    const cut = v.args.join(" ") === stepCall(s).args.slice(0, -1).join(" ");
                    // stop-instances … --force cut short is the plain stop: a shape of its own.
                    if (cut && s.includes("--force")) continue;
                    if (cut && s[1] === "create-tags") continue; // three tags are a shape too
                    if (awsAction(v)) refused.push([s.join(" "), v]);
                }
            }
            assert.deepEqual(
                refused.map(([s, v]) => `${s}: ${v.command} ${v.args.join(" ")} (op ${v.op}, ${JSON.stringify(v.fields)})`),
                [],
            );
            // Options in another order, several ids, a flag twice: all the CLI's to run.
            for (const args of [
                ["ec2", "attach-volume", "--instance-id", INSTANCE, "--volume-id", FIXED, "--device", "/dev/sda1"],
                ["ec2", "stop-instances", "--instance-ids", INSTANCE, INSTANCE],
                ["ec2", "stop-instances", "--instance-ids", INSTANCE, "--force", "--force"],
                ["ec2", "stop-instances", "--force", "--instance-ids", INSTANCE],
                ["ec2", "start-instances", "--instance-ids", INSTANCE, "--force"],
                ["ec2", "create-tags", "--resources", ORIGINAL, "--tags"],
                ["ec2", "create-tags", "--resources", ORIGINAL, ORIGINAL, "--tags", ...TAGS],
                ["ec2", "create-tags", "--resources", ORIGINAL, "--tags", "Key=a,Value=b", "Key=a,Value=c"],
                ["ec2", "terminate-instances", "--instance-ids", INSTANCE],
                ["ec2", "attach-volume", "--volume-id", FIXED, "--instance-id", INSTANCE, "--device", "/dev/sda1;x"],
            ])
                assert.equal(awsAction(stepCall(args)), undefined, args.join(" "));
            // send-command: the JSON form as JSON.stringify writes it, and nothing the CLI would read otherwise.
            for (const args of [
                SEND(`volumeId=${SCRATCH},evidencePart=1`), // the shorthand (the evidence parts): the CLI's
                SEND(`{"volumeId": ["${SCRATCH}"]}`), // not as JSON.stringify writes it
                SEND(`{"volumeId":"${SCRATCH}"}`), // not a list
                SEND(`{"volumeId":[1]}`),
                SEND("{}"),
                SEND(`{"volume_id":["${SCRATCH}"]}`),
                SEND(`{"volumeId":["${SCRATCH}"]`),
                SEND(`file://params.json`),
                SEND(undefined, "--comment"),
                SEND(undefined, "file:///etc/passwd"),
                SEND(undefined, "x".repeat(101)),
                SEND(undefined, "a\u0007b"), // a control character
                SEND().map((a) => (a === "30" ? "29" : a)),
                SEND().map((a) => (a === "30" ? "030" : a)),
                SEND().map((a) => (a === "bootloop-rescue-repair-abc" ? "file://doc" : a)),
                SEND().map((a) => (a === "bootloop-rescue-repair-abc" ? "-doc" : a)),
                [...SEND(), "--output-s3-bucket-name", "b"],
                SEND().filter((a) => a !== "--comment" && !a.startsWith("bootloop-rescue repair")),
            ])
                assert.equal(awsAction(stepCall(args)), undefined, args.join(" "));
            // The shorthand: only Key=…,Value=… with nothing it would read otherwise.
            for (const tag of [
                "Key=a,Value=b,c",
                "Key=a,Value=[b]",
                "Key=a,Value={b}",
                "Key=a,Value='b'",
                'Key=a,Value="b"',
                "Key=a, Value=b",
                "Key=a,Value=b=c",
                "Key=a,Value=",
                "Value=b,Key=a",
                "Key=a",
                "Key=a,Value=b,Key=c",
                '[{"Key":"a","Value":"b"}]',
                "file://tags.json",
            ])
                assert.equal(awsAction(stepCall(["ec2", "create-tags", "--resources", ORIGINAL, "--tags", tag])), undefined, tag);
        });
    });

    describe("against the stand-in front (sandbox/api/aws.js): the world moves as the CLI call would move it", () => {
        let dir: string;
        let front: ApiFront;
        let restoreProfile: () => void;
        let restoreEnv: () => void;
        before(() => (restoreProfile = setEnv(A_DEVELOPERS_PROFILE)));
        after(() => restoreProfile());
        let fw: FrontWorld;
        const calls = () => fw.calls();
        const state = () => fw.state();

        function start(w: any) {
            fw = frontOnWorld("aws", w, "aws-actions");
            ({ dir, front } = fw);
            restoreEnv = setEnv({ ...front.env, ...NO_AWS_PROFILE });
            closeClients();
        }
        afterEach(() => {
            fw?.stop();
            closeClients();
            restoreEnv?.();
        });
        const act = (args: string[], scope?: Record<string, string>) =>
            awsAction(stepCall(args, scope))!.run(gateRunner(), Date.now() + 60_000);

        it("a swap's calls: the same CLI-shaped calls in the world's log, the world moved, the CLI's structure printed", async () => {
            const w = world();
            w.instances[INSTANCE].stopPolls = 1;
            start(w);
            const stopped = JSON.parse(await act(SHAPES[0]));
            assert.deepEqual(stopped, {
                StoppingInstances: [{ InstanceId: INSTANCE, CurrentState: { Code: 64, Name: "stopping" } }],
            });
            // The stand-in moves the instance on when it is observed.
            const forced = JSON.parse(await act(SHAPES[1]));
            assert.equal(forced.StoppingInstances[0].InstanceId, INSTANCE);
            state(); // the world is whole
            const ww = state();
            ww.instances[INSTANCE].state = "stopped";
            fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(ww));
            assert.equal(await act(SHAPES[6]), "", "CreateTags answers no fields: nothing printed, as the CLI prints nothing");
            const detached = JSON.parse(await act(SHAPES[5]));
            assert.deepEqual(
                { VolumeId: detached.VolumeId, InstanceId: detached.InstanceId, State: detached.State },
                { VolumeId: ORIGINAL, InstanceId: INSTANCE, State: "detaching" },
            );
            const v = state();
            v.volumes[ORIGINAL].state = "available";
            fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(v));
            const attached = JSON.parse(await act(SHAPES[4]));
            assert.deepEqual(
                { VolumeId: attached.VolumeId, InstanceId: attached.InstanceId, Device: attached.Device, State: attached.State },
                { VolumeId: FIXED, InstanceId: INSTANCE, Device: "/dev/sda1", State: "attaching" },
            );
            assert.match(String(attached.AttachTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
            const started = JSON.parse(await act(SHAPES[2]));
            assert.deepEqual(started, { StartingInstances: [{ InstanceId: INSTANCE, CurrentState: { Code: 0, Name: "pending" } }] });
            const after = state();
            assert.deepEqual(after.instances[INSTANCE].blockDevices, { "/dev/sda1": FIXED });
            assert.equal(after.instances[INSTANCE].state, "pending");
            assert.deepEqual(after.volumes[ORIGINAL].tags, {
                "bootloop-rescue:role": "original-root",
                "bootloop-rescue:instance": INSTANCE,
                "bootloop-rescue:replaced-by": FIXED,
                "bootloop-rescue:device": "/dev/sda1",
            });
            // Each request was the very CLI call the script would have run.
            assert.deepEqual(calls(), [SHAPES[0], SHAPES[1], SHAPES[6], SHAPES[5], SHAPES[4], SHAPES[2]].map(withGlobals));
        });

        it("a reboot prints nothing (RebootInstances answers no fields); its error arrives with the cloud's code, for good", async () => {
            const w = world();
            start(w);
            assert.equal(await act(SHAPES[3]), "");
            assert.equal(state().instances[INSTANCE].reboots, 1);
            // Now pending: not running, so the stand-in refuses a second reboot, as EC2 refuses a start of a running instance.
            const refused = await act(SHAPES[2]).catch((e: unknown) => e);
            assertCliError(refused, /^IncorrectInstanceState \(HTTP 400\): The instance 'i-0123456789abcdef0' is not in a state/, false);
        });

        it("throttling arrives as the CLI's RequestLimitExceeded, transient; a denied call for good", async () => {
            start(world({ throttle: { "ec2 stop-instances": 1 }, deny: { "ec2 start-instances": true } }));
            const throttled = await act(SHAPES[0]).catch((e: unknown) => e);
            assertCliError(throttled, /^RequestLimitExceeded \(HTTP 503\)/, true);
            assert.equal(JSON.parse(await act(SHAPES[0])).StoppingInstances[0].CurrentState.Name, "stopping", "the next try is made");
            const denied = await act(SHAPES[2]).catch((e: unknown) => e);
            assertCliError(denied, /^UnauthorizedOperation \(HTTP 403\)/, false);
        });

        it("send-command: the command recorded as the CLI call would record it, its CommandId printed where repair.sh reads it", async () => {
            start(world());
            const out = await act(SEND());
            const m = /"CommandId": *"([0-9a-f-]{36})"/.exec(out);
            assert.ok(m, out);
            const sent = state().ssm.commands[m[1]];
            assert.deepEqual(
                {
                    instance: sent.instance,
                    document: sent.document,
                    volumeId: sent.volumeId,
                    keySecret: sent.keySecret,
                    comment: sent.comment,
                },
                {
                    instance: RESCUE,
                    document: "bootloop-rescue-repair-abc",
                    volumeId: SCRATCH,
                    keySecret: "",
                    comment: `bootloop-rescue repair of ${SCRATCH}`,
                },
            );
            assert.deepEqual(calls(), [withGlobals(SEND())]);
            const refused = await act(SEND(`{"volumeId":["vol-x"]}`)).catch((e: unknown) => e);
            assertCliError(refused, /^InvalidParameters \(HTTP 400\)/, false);
        });

        it("a role in the step's scope: the request is signed as that account's assumed role, and counted there", async () => {
            start(world());
            const role = "arn:aws:iam::111122223333:role/rescue";
            await act(SHAPES[0], { region: REGION, role });
            const made = calls();
            assert.deepEqual(
                made.map((c) => c.slice(4, 6).join(" ")),
                ["sts assume-role", "ec2 stop-instances"],
            );
            const counted = Object.keys(state().budget.counts.aws);
            assert.ok(counted.includes("111122223333/us-east-1"), `counted as the role's account: ${counted.join(", ")}`);
        });
    });

    describe("against a local endpoint: the requests as the APIs have them (EC2 Query, Systems Manager JSON 1.1)", () => {
        let endpoint: Awaited<ReturnType<typeof awsEndpoint>> | undefined;
        afterEach(async () => {
            await endpoint?.close();
            endpoint = undefined;
        });
        const act = (args: string[]) => awsAction(stepCall(args))!.run(gateRunner(), Date.now() + 60_000);

        it("each shape sends its one request with the parameters of the CLI's arguments, and no more", async () => {
            endpoint = await awsEndpoint((r) =>
                ec2Xml(
                    r.action,
                    r.action === "StopInstances"
                        ? `<instancesSet><item><instanceId>${INSTANCE}</instanceId><currentState><code>64</code><name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet>`
                        : "<return>true</return>",
                ),
            );
            const stopped = JSON.parse(await act(SHAPES[1]));
            assert.deepEqual(stopped.StoppingInstances[0].PreviousState, { Code: 16, Name: "running" });
            for (const s of SHAPES.slice(3)) await act(s).catch(() => undefined);
            await act(SHAPES[0]);
            const forms = endpoint.received.map((r) => Object.fromEntries([...r.form].filter(([k]) => k !== "Version")));
            assert.deepEqual(forms, [
                { Action: "StopInstances", "InstanceId.1": INSTANCE, Force: "true" },
                { Action: "RebootInstances", "InstanceId.1": INSTANCE },
                { Action: "AttachVolume", VolumeId: FIXED, InstanceId: INSTANCE, Device: "/dev/sda1" },
                { Action: "DetachVolume", VolumeId: ORIGINAL, InstanceId: INSTANCE },
                {
                    Action: "CreateTags",
                    "ResourceId.1": ORIGINAL,
                    "Tag.1.Key": "bootloop-rescue:role",
                    "Tag.1.Value": "original-root",
                    "Tag.2.Key": "bootloop-rescue:instance",
                    "Tag.2.Value": INSTANCE,
                    "Tag.3.Key": "bootloop-rescue:replaced-by",
                    "Tag.3.Value": FIXED,
                    "Tag.4.Key": "bootloop-rescue:device",
                    "Tag.4.Value": "/dev/sda1",
                },
                { Action: "StopInstances", "InstanceId.1": INSTANCE },
            ]);
            assert.ok(endpoint.received.every((r) => r.form.get("Version") === "2016-11-15"));
        });

        it("send-command: one SendCommand with the parameters of the JSON form, its answer printed whole", async () => {
            endpoint = await awsEndpoint(() => ({
                status: 200,
                body: JSON.stringify({
                    Command: { CommandId: "0f0e0d0c-1111-2222-3333-444455556666", Status: "Pending", RequestedDateTime: 1.7e9 },
                }),
            }));
            const out = JSON.parse(
                await act(
                    SEND(`{"volumeId":["${SCRATCH}"],"keySecret":["arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf"]}`),
                ),
            );
            assert.deepEqual(out, {
                Command: {
                    CommandId: "0f0e0d0c-1111-2222-3333-444455556666",
                    Status: "Pending",
                    RequestedDateTime: "2023-11-14T22:13:20.000Z",
                },
            });
            assert.deepEqual(
                endpoint.received.map((r) => [r.action, r.json]),
                [
                    [
                        "AmazonSSM.SendCommand",
                        {
                            InstanceIds: [RESCUE],
                            DocumentName: "bootloop-rescue-repair-abc",
                            Parameters: {
                                volumeId: [SCRATCH],
                                keySecret: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf"],
                            },
                            TimeoutSeconds: 30,
                            Comment: `bootloop-rescue repair of ${SCRATCH}`,
                        },
                    ],
                ],
            );
        });

        it("EC2's error body: the code and message in the error, throttling and 5xx transient, a client error not", async () => {
            const answers = [
                ec2Error(503, "RequestLimitExceeded", "Request limit exceeded."),
                ec2Error(500, "InternalError", "An internal error has occurred."),
                ec2Error(400, "IncorrectInstanceState", `The instance '${INSTANCE}' is not in a state from which it can be started.`),
            ];
            endpoint = await awsEndpoint(() => answers.shift());
            const errors = [];
            for (let i = 0; i < 3; i++) errors.push(await act(SHAPES[2]).catch((e: unknown) => e));
            assert.deepEqual(
                errors.map((e) => (e instanceof CliError ? [e.message, e.transient] : e)),
                [
                    ["RequestLimitExceeded (HTTP 503): Request limit exceeded.", true],
                    ["InternalError (HTTP 500): An internal error has occurred.", true],
                    [
                        `IncorrectInstanceState (HTTP 400): The instance '${INSTANCE}' is not in a state from which it can be started.`,
                        false,
                    ],
                ],
            );
        });
    });

    describe("the scripts' mutating calls go through the watcher's actions", () => {
        const mutating = (calls: string[][]) => calls.filter((c) => MUTATING.test(op(c)));
        const lines = (file: string) =>
            fs
                .readFileSync(file, "utf8")
                .split("\n")
                .filter((l) => l);

        /**
         * Runs a script in another account (the step assumes its role with the CLI, a call of no known
         * shape; the watcher its own) with an `aws` first on PATH that logs each process started, then
         * runs the stand-in: the run, the aws processes started, and the calls the front made.
         */
        function counted(script: "swap" | "repair", env: Record<string, string>) {
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "aws-processes-"));
            const processes = path.join(bin, "processes.log");
            fs.writeFileSync(processes, "");
            fs.writeFileSync(
                path.join(bin, "aws"),
                `#!/usr/bin/env bash\nprintf '%s\\n' "$PWD" >"${bin}/cwd"\nprintf '%s\\t' "$@" >>"${processes}"\necho >>"${processes}"\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(__dirname, "../../sandbox/cli/aws/aws"))} "$@"\n`,
                { mode: 0o755 },
            );
            try {
                const r = run(
                    script,
                    {
                        ...env,
                        ASSUME_ROLE_ARN: "arn:aws:iam::111122223333:role/rescue",
                        PATH: `${bin}:${path.join(__dirname, "../../sandbox/cli/aws")}:${process.env.PATH}`,
                    },
                    world(),
                );
                assert.equal(r.code, 0, r.stderr);
                const started = lines(processes).map((l) => l.replace(/\t$/, "").split("\t"));
                const front = lines(path.join(fs.readFileSync(path.join(bin, "cwd"), "utf8").trim(), "api-calls.log")).map(
                    (l) => (JSON.parse(l) as { cli: string; argv: string[] }).argv,
                );
                return { r, started, front };
            } finally {
                fs.rmSync(bin, { recursive: true, force: true });
            }
        }

        it("a swap: stop, tags, detach, attach and start are the front's API requests, argument for argument; no aws process ran them", () => {
            const { r, started, front } = counted("swap", swapEnv);
            // The world saw the swap's calls, as before.
            assert.deepEqual(mutating(r.calls).map(op), [
                "ec2 stop-instances",
                "ec2 create-tags",
                "ec2 detach-volume",
                "ec2 attach-volume",
                "ec2 start-instances",
            ]);
            assert.deepEqual(started.map(op), ["sts assume-role"], "the wrapper saw the step's one aws process");
            assert.deepEqual(mutating(front), mutating(r.calls), "every mutating call the world saw came from the front");
        });

        it("a repair: send-command is the front's API request; the output read (--output text) still runs as the CLI", () => {
            const { r, started, front } = counted("repair", repairEnv);
            assert.deepEqual(mutating(r.calls).map(op), ["ssm send-command"]);
            assert.deepEqual(started.map(op), ["sts assume-role", "ssm get-command-invocation"]);
            assert.deepEqual(mutating(front), mutating(r.calls));
            assert.equal(
                JSON.parse(unpackEvidence(r.stdout)).outcome,
                "repaired",
                "the evidence came back through the command id read from the action's answer",
            );
        });
    });
});
