import { strict as assert } from "assert";
import { CREDENTIALS_TIMEOUT_MS, awsWatch } from "../../components/aws/watch";
import { WaitRequest } from "../../components/watcher/types";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CloudRunner } from "../../components/gate/types";
import { Answer, Received, awsEndpoint, ec2Error, ec2Xml } from "./api-server";

const wait = (id: string, kind = "status", fields: Record<string, string> = {}): WaitRequest => ({
    kind,
    id,
    want: kind === "status" ? "healthy" : "any",
    fields: { region: "us-east-1", marker: "Windows is Ready to use", ...fields },
    received: Date.now(),
    deadline: Date.now() + 60_000,
    memo: {},
});

/** The real gate, its requests' operations recorded; it starts no CLI process. */
function runner(): CloudRunner & { ops: string[] } {
    const gate = new Gate(new Map([["aws", awsWatch]]), new Semaphore(2), 1000);
    const ops: string[] = [];
    return {
        ops,
        run: (call) => Promise.reject(new Error(`the watcher ran the CLI for ${call.op}`)),
        api: (call, send) => {
            ops.push(call.op);
            return gate.api(call, send);
        },
    };
}

/**
 * An EC2 endpoint whose instances all run with both checks passing; `console` answers each
 * console read (the text, or an error answer).
 */
function ec2(console: (id: string) => string | Answer) {
    return (r: Received): Answer => {
        if (r.action === "DescribeInstanceStatus") {
            const ids = [...r.form.entries()].filter(([k]) => k.startsWith("InstanceId.")).map(([, v]) => v);
            const items = ids.map(
                (id) =>
                    `<item><instanceId>${id}</instanceId><instanceState><code>16</code><name>running</name></instanceState>` +
                    `<systemStatus><status>ok</status></systemStatus><instanceStatus><status>ok</status></instanceStatus></item>`,
            );
            return ec2Xml("DescribeInstanceStatus", `<instanceStatusSet>${items.join("")}</instanceStatusSet>`);
        }
        if (r.action === "GetConsoleOutput") {
            const a = console(r.form.get("InstanceId")!);
            if (typeof a !== "string") return a;
            return ec2Xml(
                "GetConsoleOutput",
                `<instanceId>${r.form.get("InstanceId")}</instanceId><output>${Buffer.from(a).toString("base64")}</output>`,
            );
        }
        return ec2Error(400, "InvalidAction", `unexpected ${r.action}`);
    };
}

describe("AWS watch: observations through the EC2 and Systems Manager APIs", () => {
    let server: Awaited<ReturnType<typeof awsEndpoint>> | undefined;
    afterEach(async () => {
        await server?.close();
        server = undefined;
    });

    describe("batched status, console only once the checks pass", () => {
        it("one DescribeInstanceStatus for the batch, then one console read per instance whose checks pass", async () => {
            server = await awsEndpoint(ec2(() => "EC2Launch: Windows is Ready to use"));
            const waits = ["i-0000000000000000a", "i-0000000000000000b"].map((id) => wait(id));
            const cli = runner();
            const seen = await awsWatch.observe(waits, cli);
            assert.deepEqual(cli.ops, ["ec2 describe-instance-status", "ec2 get-console-output", "ec2 get-console-output"]);
            assert.equal(server.received.filter((r) => r.action === "DescribeInstanceStatus").length, 1);
            for (const w of waits) {
                const { met, fields, asOf } = seen.get(w)!;
                assert.deepEqual({ met, fields }, { met: true, fields: { state: "running", checks: "ok/ok", marker: "found" } });
                assert.ok(asOf! >= w.received, "the marker was seen when the console was read");
            }
            // The next round reads no console: the marker was found.
            await awsWatch.observe(waits, cli);
            assert.equal(cli.ops.filter((o) => o === "ec2 get-console-output").length, 2);
        });

        it("past the deadline, a marker read before it is read again at once: a timeout is judged on fresh console output only", async () => {
            let booted = false;
            server = await awsEndpoint(ec2(() => (booted ? "EC2Launch: Windows is Ready to use" : "still booting")));
            const w = wait("i-0000000000000000a");
            const cli = runner();
            const first = (await awsWatch.observe([w], cli)).get(w)!;
            assert.equal(first.fields.marker, "missing");
            // Within the minute, before the deadline: the read is reused, and says when it was seen.
            const reused = (await awsWatch.observe([w], cli)).get(w)!;
            assert.equal(cli.ops.filter((o) => o === "ec2 get-console-output").length, 1);
            assert.ok(reused.asOf! < w.deadline);
            // The deadline passes (the VM booted meanwhile): the next round reads the console again.
            await new Promise((resolve) => setTimeout(resolve, 5));
            w.deadline = Date.now() - 1;
            booted = true;
            const fresh = (await awsWatch.observe([w], cli)).get(w)!;
            assert.equal(cli.ops.filter((o) => o === "ec2 get-console-output").length, 2);
            assert.equal(fresh.met, true);
            assert.ok(fresh.asOf! >= w.deadline);
        });

        it("a console read that is throttled (HTTP 503) leaves that instance unobserved this round, never unhealthy; the others are answered", async () => {
            const [a, b] = ["i-0000000000000000a", "i-0000000000000000b"].map((id) => wait(id));
            server = await awsEndpoint(
                ec2((id) => (id === a.id ? ec2Error(503, "RequestLimitExceeded", "Request limit exceeded.") : "Windows is Ready to use")),
            );
            const seen = await awsWatch.observe([a, b], runner());
            assert.equal(seen.has(a), false, "no observation of a");
            assert.equal(seen.get(b)!.met, true);
        });

        it("a console read refused for good (or of an instance gone) fails that instance's wait with the cloud's message", async () => {
            const [a, b] = ["i-0000000000000000a", "i-0000000000000000b"].map((id) => wait(id));
            server = await awsEndpoint(
                ec2((id) =>
                    id === a.id
                        ? ec2Error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
                        : ec2Error(400, "InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`),
                ),
            );
            const seen = await awsWatch.observe([a, b], runner());
            assert.equal(seen.get(a)!.gone, "UnauthorizedOperation (HTTP 403): You are not authorized to perform this operation.");
            assert.match(seen.get(b)!.gone!, /^InvalidInstanceID\.NotFound \(HTTP 400\)/);
        });

        it("a listing that fails rejects the observation (no negative observation), with the message the gate classified", async () => {
            server = await awsEndpoint(() => ec2Error(503, "RequestLimitExceeded", "Request limit exceeded."));
            await assert.rejects(awsWatch.observe([wait("i-0000000000000000a")], runner()), (err: Error & { transient?: boolean }) => {
                assert.equal(err.message, "RequestLimitExceeded (HTTP 503): Request limit exceeded.");
                assert.equal(err.transient, true);
                return true;
            });
        });
    });

    it("instance: one DescribeInstances by the id filter; an instance the listing leaves out is gone, the others give their state and root", async () => {
        server = await awsEndpoint(() =>
            ec2Xml(
                "DescribeInstances",
                `<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><instanceState><code>80</code><name>stopped</name></instanceState>` +
                    `<blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-1</volumeId></ebs></item></blockDeviceMapping></item></instancesSet></item></reservationSet>`,
            ),
        );
        const [one, two] = ["i-1", "i-2"].map((id) => wait(id, "instance", { device: "/dev/sda1" }));
        const cli = runner();
        const seen = await awsWatch.observe([one, two], cli);
        assert.deepEqual(cli.ops, ["ec2 describe-instances"]);
        assert.deepEqual(seen.get(one), { met: true, fields: { state: "stopped", root: "vol-1" } });
        assert.equal(seen.get(two)!.gone, "instance i-2 does not exist in us-east-1");
    });

    it("ssm-sent: the latest repair of the volume with the document, by its comment, from one ListCommandInvocations over 14 days", async () => {
        server = await awsEndpoint(() => ({
            status: 200,
            body: JSON.stringify({
                CommandInvocations: [
                    {
                        CommandId: "c-old",
                        Status: "Failed",
                        Comment: "bootloop-rescue repair of vol-1",
                        DocumentName: "doc",
                        RequestedDateTime: 1.7213688e9,
                    },
                    {
                        CommandId: "c-new",
                        Status: "InProgress",
                        Comment: "bootloop-rescue repair of vol-1",
                        DocumentName: "doc",
                        RequestedDateTime: 1.7213689e9,
                    },
                    {
                        CommandId: "c-other",
                        Status: "Success",
                        Comment: "bootloop-rescue repair of vol-1",
                        DocumentName: "other",
                        RequestedDateTime: 1.72137e9,
                    },
                    {
                        CommandId: "c-retry",
                        Status: "Success",
                        Comment: "bootloop-rescue repair of vol-1, attempt 2",
                        DocumentName: "doc",
                        RequestedDateTime: 1.72137e9,
                    },
                ],
            }),
        }));
        const w = wait("vol-1", "ssm-sent", { instance: "i-r", document: "doc" });
        const cli = runner();
        const seen = await awsWatch.observe([w], cli);
        assert.deepEqual(cli.ops, ["ssm list-command-invocations"]);
        assert.deepEqual(seen.get(w), { met: true, fields: { command: "c-new", status: "InProgress" } });
        const since = Date.parse(server.received[0].json.Filters[0].value);
        assert.ok(Math.abs(Date.now() - 14 * 86_400_000 - since) < 60_000, "invoked within the last 14 days");
        assert.equal(server.received[0].json.InstanceId, "i-r");
    });

    it("a batch in another account: the role is assumed once through the API, and the batch's requests are signed with its key", async () => {
        server = await awsEndpoint((r) =>
            r.action === "AssumeRole"
                ? {
                      status: 200,
                      body:
                          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA111122223333</AccessKeyId>` +
                          `<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
                  }
                : { status: 200, body: JSON.stringify({ InstanceInformationList: [{ InstanceId: "i-r", PingStatus: "Online" }] }) },
        );
        const role = { role: "arn:aws:iam::111122223333:role/rescue" };
        const cli = runner();
        const w = wait("i-r", "ssm-online", role);
        assert.deepEqual((await awsWatch.observe([w], cli)).get(w), { met: true, fields: { ping: "Online" } });
        await awsWatch.observe([wait("i-r", "ssm-online", role)], cli);
        assert.deepEqual(cli.ops, ["sts assume-role", "ssm describe-instance-information", "ssm describe-instance-information"]);
        assert.match(String(server.received[1].headers.authorization), /Credential=ASIA111122223333\//);
    });

    it("keeps the CLI's error rules, and classifies the API client's: any HTTP 5xx transient, HTTP 429 throttling", () => {
        assert.ok(
            awsWatch.transient(
                "\nAn error occurred (RequestLimitExceeded) when calling the StopInstances operation: Request limit exceeded.",
            ),
        );
        assert.ok(!awsWatch.transient("\nAn error occurred (UnauthorizedOperation) when calling the StopInstances operation: denied"));
        assert.ok(awsWatch.transient("Unknown (HTTP 504): Gateway Timeout"));
        assert.ok(awsWatch.throttling("Unknown (HTTP 429): Too Many Requests"));
        assert.ok(!awsWatch.throttling("InternalError (HTTP 500): An internal error has occurred."));
        assert.ok(!awsWatch.transient("InvalidVolume.NotFound (HTTP 400): The volume 'vol-1' does not exist."));
        assert.ok(!awsWatch.transient("Unknown (HTTP 404): Not Found"));
    });
});

describe("AWS role environment for the CLI (awsWatch.scopeEnv)", () => {
    it("sts assume-role has a time limit (a hung CLI must not stall its scope), and its credentials make the environment", async () => {
        const calls: Parameters<CloudRunner["run"]>[0][] = [];
        const cli = {
            run: (call: Parameters<CloudRunner["run"]>[0]) => {
                calls.push(call);
                return Promise.resolve(
                    JSON.stringify({
                        Credentials: {
                            AccessKeyId: "ASIAROLE",
                            SecretAccessKey: "s",
                            SessionToken: "t",
                            Expiration: "2099-01-01T00:00:00Z",
                        },
                    }),
                );
            },
        };
        const role = "arn:aws:iam::210987654321:role/scope-env-timeout-test";
        const env = await awsWatch.scopeEnv!({ region: "us-east-1", role }, cli);
        assert.equal(env.AWS_ACCESS_KEY_ID, "ASIAROLE");
        assert.equal(calls.length, 1);
        assert.equal(calls[0].op, "sts assume-role");
        assert.equal(calls[0].timeoutMs, CREDENTIALS_TIMEOUT_MS);
        assert.equal(CREDENTIALS_TIMEOUT_MS, 120_000);
    });
});
