import { strict as assert } from "assert";
import * as http from "http";
import { EC2Client, DescribeVolumesCommand } from "@aws-sdk/client-ec2";
import {
    Through,
    checkEndpoints,
    consoleOutput,
    describeInstanceInformation,
    describeInstanceStatus,
    describeInstances,
    describeVolumes,
    listCommandInvocations,
    roleScope,
} from "../../components/aws/api";
import { boundBodies, callOf } from "../../components/aws/api-request";
import { awsWatch } from "../../components/aws/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CliError } from "../../components/gate/types";
import { Answer, Received, awsEndpoint, ec2Error, ec2Xml, ssmError } from "./api-server";
import { A_DEVELOPERS_PROFILE, NO_AWS_PROFILE, setEnv } from "../helpers/aws-env";

/** The real gate over the AWS rules: its `api` is what the watcher calls. */
function gate() {
    const g = new Gate(new Map([["aws", awsWatch]]), new Semaphore(2), 1000);
    const through: Through = (op, send) => g.api({ cloud: "aws", scope: "default/us-east-1", op }, send);
    return { g, through };
}

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<CliError> {
    try {
        await p;
    } catch (err) {
        assert.ok(err instanceof CliError, `a CliError, not ${String(err)}`);
        return err;
    }
    return assert.fail("it resolved");
}

// The wire formats are those of the API references' examples:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceStatus.html#API_DescribeInstanceStatus_Examples
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html#API_DescribeInstances_Examples
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html#API_DescribeVolumes_Examples
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html#API_GetConsoleOutput_Examples
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html#API_ListCommandInvocations_Examples
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Examples
const statusItem = (id: string, state: string, instance: string, system: string) =>
    `<item><instanceId>${id}</instanceId><availabilityZone>us-east-1d</availabilityZone><instanceState><code>16</code><name>${state}</name></instanceState>` +
    `<systemStatus><status>${system}</status><details><item><name>reachability</name><status>passed</status></item></details></systemStatus>` +
    `<instanceStatus><status>${instance}</status><details><item><name>reachability</name><status>passed</status></item></details></instanceStatus>` +
    `<eventsSet/></item>`;

describe("AWS API client (components/aws/api.ts) against a local endpoint speaking the APIs' wire formats", () => {
    let server: Awaited<ReturnType<typeof awsEndpoint>> | undefined;
    // As on a developer's machine: a profile the SDK would prefer to the tests' keys, were it left set.
    let restoreProfile: () => void;
    before(() => (restoreProfile = setEnv(A_DEVELOPERS_PROFILE)));
    after(() => restoreProfile());
    afterEach(async () => {
        await server?.close();
        server = undefined;
    });
    const serve = async (answer: (r: Received) => Answer) => (server = await awsEndpoint(answer));

    it("DescribeInstanceStatus: every page (nextToken) is one request through the gate, by the ids, stopped instances included", async () => {
        const s = await serve((r) =>
            r.form.get("NextToken")
                ? ec2Xml(
                      "DescribeInstanceStatus",
                      `<instanceStatusSet>${statusItem("i-2", "running", "impaired", "ok")}</instanceStatusSet>`,
                  )
                : ec2Xml(
                      "DescribeInstanceStatus",
                      `<instanceStatusSet>${statusItem("i-1", "running", "ok", "ok")}</instanceStatusSet><nextToken>page-2</nextToken>`,
                  ),
        );
        const { g, through } = gate();
        const statuses = await describeInstanceStatus({ region: "us-east-1" }, through, ["i-1", "i-2"]);
        assert.deepEqual(statuses, [
            { id: "i-1", state: "running", instanceStatus: "ok", systemStatus: "ok" },
            { id: "i-2", state: "running", instanceStatus: "impaired", systemStatus: "ok" },
        ]);
        assert.equal(s.received.length, 2);
        assert.equal(g.stats.api.aws, 2, "two pages, two requests counted");
        for (const r of s.received) {
            assert.equal(r.action, "DescribeInstanceStatus");
            assert.equal(r.form.get("InstanceId.1"), "i-1");
            assert.equal(r.form.get("InstanceId.2"), "i-2");
            assert.equal(r.form.get("IncludeAllInstances"), "true");
            assert.match(
                String(r.headers.authorization),
                /^AWS4-HMAC-SHA256 Credential=AKIATESTTESTTESTTEST\/\d{8}\/us-east-1\/ec2\/aws4_request/,
            );
        }
        assert.equal(s.received[1].form.get("NextToken"), "page-2");
    });

    it("DescribeInstances and DescribeVolumes by the id filter: state, the volumes by device, a volume's state (`status` on the wire)", async () => {
        const s = await serve((r) =>
            r.action === "DescribeInstances"
                ? ec2Xml(
                      "DescribeInstances",
                      `<reservationSet><item><reservationId>r-1234567890abcdef0</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item>` +
                          `<instanceId>i-1</instanceId><imageId>ami-bff32ccc</imageId><instanceState><code>80</code><name>stopped</name></instanceState>` +
                          `<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping>` +
                          `<item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-1</volumeId><status>attached</status><attachTime>2024-07-19T04:00:00.000Z</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item>` +
                          `<item><deviceName>xvdf</deviceName><ebs><volumeId>vol-2</volumeId><status>attached</status></ebs></item>` +
                          `</blockDeviceMapping></item></instancesSet></item></reservationSet>`,
                  )
                : ec2Xml(
                      "DescribeVolumes",
                      `<volumeSet><item><volumeId>vol-1</volumeId><size>80</size><snapshotId/><availabilityZone>us-east-1a</availabilityZone><status>in-use</status>` +
                          `<createTime>2024-07-19T04:00:00.000Z</createTime><attachmentSet><item><volumeId>vol-1</volumeId><instanceId>i-1</instanceId><device>/dev/sda1</device><status>attached</status></item></attachmentSet>` +
                          `<volumeType>gp3</volumeType><encrypted>false</encrypted></item></volumeSet>`,
                  ),
        );
        const { through } = gate();
        assert.deepEqual(await describeInstances({ region: "us-east-1" }, through, ["i-1", "i-9"]), [
            { id: "i-1", state: "stopped", volumes: { "/dev/sda1": "vol-1", xvdf: "vol-2" } },
        ]);
        assert.deepEqual([...(await describeVolumes({ region: "us-east-1" }, through, ["vol-1"]))], [["vol-1", "in-use"]]);
        assert.equal(s.received[0].form.get("Filter.1.Name"), "instance-id");
        assert.deepEqual([s.received[0].form.get("Filter.1.Value.1"), s.received[0].form.get("Filter.1.Value.2")], ["i-1", "i-9"]);
        assert.equal(s.received[1].form.get("Filter.1.Name"), "volume-id");
    });

    it("GetConsoleOutput (latest): the output is decoded from base64; none yet is undefined", async () => {
        let text: string | undefined = "2024/07/19 09:01:02Z: EC2Launch: Windows is Ready to use\n";
        const s = await serve(() =>
            ec2Xml(
                "GetConsoleOutput",
                `<instanceId>i-1</instanceId><timestamp>2024-07-19T09:01:03.000Z</timestamp>${text === undefined ? "" : `<output>${Buffer.from(text).toString("base64")}</output>`}`,
            ),
        );
        const { through } = gate();
        assert.equal(await consoleOutput({ region: "us-east-1" }, through, "i-1"), text);
        text = undefined;
        assert.equal(await consoleOutput({ region: "us-east-1" }, through, "i-1"), undefined);
        assert.equal(s.received[0].form.get("InstanceId"), "i-1");
        assert.equal(s.received[0].form.get("Latest"), "true");
    });

    it("Systems Manager (JSON 1.1): DescribeInstanceInformation by the InstanceIds filter, ListCommandInvocations page by page with epoch-second times", async () => {
        const s = await serve((r) => {
            if (r.action === "AmazonSSM.DescribeInstanceInformation")
                return {
                    status: 200,
                    body: JSON.stringify({
                        InstanceInformationList: [
                            {
                                InstanceId: "i-r",
                                PingStatus: "Online",
                                LastPingDateTime: 1.721372462e9,
                                AgentVersion: "3.3.40.0",
                                PlatformType: "Linux",
                            },
                        ],
                    }),
                };
            const first = !r.json.NextToken;
            return {
                status: 200,
                body: JSON.stringify({
                    CommandInvocations: [
                        {
                            CommandId: first ? "c-1" : "c-2",
                            InstanceId: "i-r",
                            DocumentName: "bootloop-rescue-repair",
                            Comment: "bootloop-rescue repair of vol-1",
                            Status: first ? "InProgress" : "Success",
                            StatusDetails: first ? "InProgress" : "Success",
                            RequestedDateTime: first ? 1.721368801e9 : 1.7213688025e9,
                            CommandPlugins: [],
                        },
                    ],
                    ...(first ? { NextToken: "AAEAAQ==" } : {}),
                }),
            };
        });
        const { g, through } = gate();
        assert.deepEqual([...(await describeInstanceInformation({ region: "eu-west-1" }, through, ["i-r"]))], [["i-r", "Online"]]);
        assert.deepEqual(s.received[0].json, { Filters: [{ Key: "InstanceIds", Values: ["i-r"] }], MaxResults: 50 });
        const list = await listCommandInvocations({ region: "eu-west-1" }, through, "i-r", "2024-07-19T00:00:00Z");
        assert.deepEqual(list, [
            {
                commandId: "c-1",
                status: "InProgress",
                comment: "bootloop-rescue repair of vol-1",
                documentName: "bootloop-rescue-repair",
                requested: "2024-07-19T06:00:01.000Z",
            },
            {
                commandId: "c-2",
                status: "Success",
                comment: "bootloop-rescue repair of vol-1",
                documentName: "bootloop-rescue-repair",
                requested: "2024-07-19T06:00:02.500Z",
            },
        ]);
        assert.deepEqual(s.received[1].json, {
            InstanceId: "i-r",
            Filters: [{ key: "InvokedAfter", value: "2024-07-19T00:00:00Z" }],
            MaxResults: 50,
        });
        assert.equal(s.received[2].json.NextToken, "AAEAAQ==");
        assert.match(String(s.received[1].headers.authorization), /\/eu-west-1\/ssm\/aws4_request/);
        assert.equal(g.stats.api.aws, 3);
    });

    it("a role's scope: AssumeRole once (through the gate as sts assume-role), then requests signed with its key until 5 minutes before it expires", async () => {
        let expires = new Date(Date.now() + 3_600_000).toISOString();
        let key = 1;
        const s = await serve((r) =>
            r.action === "AssumeRole"
                ? {
                      status: 200,
                      body:
                          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><SourceIdentity>DevUser123</SourceIdentity>` +
                          `<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/rescue/bootloop-rescue-watcher</Arn><AssumedRoleId>ARO123EXAMPLE123:bootloop-rescue-watcher</AssumedRoleId></AssumedRoleUser>` +
                          `<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPL${key++}</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>` +
                          `<SessionToken>AQoDYXdzEPT//////////wEXAMPLE</SessionToken><Expiration>${expires}</Expiration></Credentials>` +
                          `<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata></AssumeRoleResponse>`,
                  }
                : ec2Xml("DescribeVolumes", "<volumeSet/>"),
        );
        const ops: string[] = [];
        const { through } = gate();
        const counted: Through = (op, send) => (ops.push(op), through(op, send));
        const role = "arn:aws:iam::111122223333:role/rescue";
        // Two batches that need the role at once share one AssumeRole; later ones reuse its credentials.
        const [one, two] = await Promise.all([roleScope("us-east-1", role, counted), roleScope("us-east-1", role, counted)]);
        assert.equal(one.credentials, two.credentials);
        await describeVolumes(one, counted, ["vol-1"]);
        await describeVolumes(await roleScope("us-east-1", role, counted), counted, ["vol-1"]);
        assert.deepEqual(ops, ["sts assume-role", "ec2 describe-volumes", "ec2 describe-volumes"], "assumed once");
        assert.equal(s.received[0].form.get("RoleArn"), role);
        assert.equal(s.received[0].form.get("RoleSessionName"), "bootloop-rescue-watcher");
        assert.match(
            String(s.received[0].headers.authorization),
            /Credential=AKIATESTTESTTESTTEST\/\d{8}\/us-east-1\/sts\//,
            "assumed with the default credentials",
        );
        assert.match(String(s.received[1].headers.authorization), /Credential=ASIAIOSFODNN7EXAMPL1\//);
        assert.equal(s.received[1].headers["x-amz-security-token"], "AQoDYXdzEPT//////////wEXAMPLE");
        // Credentials that expire within 5 minutes are renewed before the next request.
        expires = new Date(Date.now() + 3_600_000).toISOString();
        const renewed = await roleScope("us-east-1", "arn:aws:iam::444455556666:role/short", counted);
        assert.equal(renewed.credentials?.accessKeyId, "ASIAIOSFODNN7EXAMPL2");
        expires = new Date(Date.now() + 120_000).toISOString();
        const short = await roleScope("us-east-1", "arn:aws:iam::777788889999:role/short", counted);
        assert.equal(short.credentials?.accessKeyId, "ASIAIOSFODNN7EXAMPL3");
        const again = await roleScope("us-east-1", "arn:aws:iam::777788889999:role/short", counted);
        assert.equal(again.credentials?.accessKeyId, "ASIAIOSFODNN7EXAMPL4", "2 minutes left: assumed again");
    });

    describe("errors: the code and the HTTP status in the message, classified by the AWS rules", () => {
        const { through } = gate();
        const scope = { region: "us-east-1" };

        it("EC2's RequestLimitExceeded (HTTP 503) is throttling, worth another try", async () => {
            await serve(() => ec2Error(503, "RequestLimitExceeded", "Request limit exceeded."));
            const { g, through: t } = gate();
            const err = await rejection(describeInstanceStatus(scope, t, ["i-1"]));
            assert.equal(err.message, "RequestLimitExceeded (HTTP 503): Request limit exceeded.");
            assert.equal(err.transient, true);
            assert.ok(awsWatch.throttling(err.message));
            assert.equal(g.stats.throttled.aws, 1);
        });

        it("Systems Manager's ThrottlingException (HTTP 400) is throttling too", async () => {
            await serve(() => ssmError(400, "ThrottlingException", "Rate exceeded"));
            const err = await rejection(describeInstanceInformation(scope, through, ["i-1"]));
            assert.match(err.message, /^ThrottlingException \(HTTP 400\): Rate exceeded/);
            assert.equal(err.transient, true);
            assert.ok(awsWatch.throttling(err.message));
        });

        it("a 5xx is worth another try: InternalError (HTTP 500), and a 502 whose body is no AWS error at all", async () => {
            await serve(() => ec2Error(500, "InternalError", "An internal error has occurred."));
            const internal = await rejection(describeVolumes(scope, through, ["vol-1"]));
            assert.match(internal.message, /^InternalError \(HTTP 500\)/);
            assert.equal(internal.transient, true);
            await server!.close();
            await serve(() => ({ status: 502, type: "text/html", body: "<html><body>Bad Gateway</body></html>" }));
            const gateway = await rejection(describeVolumes(scope, through, ["vol-1"]));
            assert.match(gateway.message, /\(HTTP 502\)/);
            assert.equal(gateway.transient, true);
            assert.equal(awsWatch.throttling(gateway.message), false);
        });

        it("not found is for good: InvalidInstanceID.NotFound (HTTP 400), and a bare HTTP 404", async () => {
            await serve(() => ec2Error(400, "InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"));
            const missing = await rejection(consoleOutput(scope, through, "i-1"));
            assert.equal(missing.message, "InvalidInstanceID.NotFound (HTTP 400): The instance ID 'i-1' does not exist");
            assert.equal(missing.transient, false);
            await server!.close();
            await serve(() => ({ status: 404, type: "text/plain", body: "Not Found" }));
            const bare = await rejection(consoleOutput(scope, through, "i-1"));
            assert.match(bare.message, /\(HTTP 404\)/);
            assert.equal(bare.transient, false);
        });

        it("an endpoint that refuses the connection is worth another try", async () => {
            const s = await serve(() => undefined);
            const port = new URL(s.url).port;
            await s.close();
            server = undefined;
            const restore = setEnv({
                ...NO_AWS_PROFILE,
                AWS_ENDPOINT_URL: `http://127.0.0.1:${port}/aws`,
                AWS_ACCESS_KEY_ID: "AKIATEST",
                AWS_SECRET_ACCESS_KEY: "x",
            });
            try {
                const err = await rejection(describeVolumes({ region: "us-west-2" }, through, ["vol-1"]));
                assert.match(err.message, /^Could not connect to the endpoint \(ECONNREFUSED\)/);
                assert.equal(err.transient, true);
            } finally {
                restore();
            }
        });
    });

    describe("bounds", () => {
        /** A client of its own, pointed at the endpoint, with the body bound at `max` bytes. */
        const client = (url: string, max: number) => {
            const c = new EC2Client({
                region: "us-east-1",
                endpoint: url,
                maxAttempts: 1,
                credentials: { accessKeyId: "AKIATEST", secretAccessKey: "x" },
            });
            boundBodies(c.middlewareStack, max);
            return c;
        };
        const volumes = (n: number) =>
            `<volumeSet>${"<item><volumeId>vol-1</volumeId><status>in-use</status></item>".repeat(n)}</volumeSet>`;

        it("a listing that pages on and on stops after 20 pages, with an error (each page a request through the gate)", async () => {
            let n = 0;
            const s = await serve(() => ec2Xml("DescribeVolumes", `<volumeSet/><nextToken>page-${++n}</nextToken>`));
            const { g, through } = gate();
            await assert.rejects(describeVolumes({ region: "us-east-1" }, through, ["vol-1"]), /more than 20 pages: paging stopped/);
            assert.equal(s.received.length, 20, "20 pages asked, not one more");
            assert.equal(g.stats.api.aws, 20);
        });

        it("an endpoint override in plain http off the loopback is refused, naming the variable; https and the loopback pass", () => {
            assert.throws(
                () => checkEndpoints({ AWS_ENDPOINT_URL: "http://ec2.example.com" }),
                (err: CliError) => err.transient === false && /^AWS_ENDPOINT_URL: https only/.test(err.message),
            );
            assert.throws(
                () => checkEndpoints({ AWS_ENDPOINT_URL_SSM: "http://10.0.0.5:4566" }),
                /Error: AWS_ENDPOINT_URL_SSM: https only/,
            );
            assert.throws(() => checkEndpoints({ AWS_ENDPOINT_URL_STS: "sts.example.com" }), /Error: AWS_ENDPOINT_URL_STS: not a URL/);
            for (const ok of [
                "https://vpce-1.ec2.us-east-1.vpce.amazonaws.com",
                "http://127.0.0.1:4566",
                "http://localhost:1/aws",
                "http://[::1]:9",
            ])
                checkEndpoints({ AWS_ENDPOINT_URL: ok, AWS_ENDPOINT_URL_EC2: ok });
            checkEndpoints({});
        });

        it("the SDK's clients are never made for a plain-http endpoint off the loopback: nothing is sent there", async () => {
            const s = await serve(() => ec2Xml("DescribeVolumes", "<volumeSet/>"));
            const restore = setEnv({ AWS_ENDPOINT_URL_EC2: s.url.replace("127.0.0.1", "127.0.0.2.nip.invalid") });
            try {
                const { through } = gate();
                const err = await rejection(describeVolumes({ region: "eu-west-1" }, through, ["vol-1"]));
                assert.match(err.message, /^AWS_ENDPOINT_URL_EC2: https only/);
                assert.equal(err.transient, false);
                assert.equal(s.received.length, 0);
            } finally {
                restore();
            }
        });

        it("a request with no answer fails as RequestTimeout when its time is up, and the gate takes it for transient", async () => {
            const s = await serve(() => undefined);
            const c = client(s.url, 1 << 20);
            const { g } = gate();
            const err = await rejection(
                g.api({ cloud: "aws", scope: "default/us-east-1", op: "ec2 describe-volumes" }, () =>
                    callOf("DescribeVolumes", (signal) => c.send(new DescribeVolumesCommand({}), { abortSignal: signal }), 300),
                ),
            );
            assert.equal(err.message, "RequestTimeout: DescribeVolumes had no answer within 0.3 s");
            assert.equal(err.transient, true);
            c.destroy();
        });

        it("an answer larger than the bound is refused, by its Content-Length or as it streams", async () => {
            const s = await serve(() => ec2Xml("DescribeVolumes", volumes(200)));
            const c = client(s.url, 4096);
            await assert.rejects(
                callOf("DescribeVolumes", (signal) => c.send(new DescribeVolumesCommand({}), { abortSignal: signal })),
                /ResponseTooLarge.*\(HTTP 200\)|ResponseTooLarge/,
            );
            c.destroy();
            // Without a Content-Length (chunked), the stream is cut at the bound.
            const chunked = http.createServer((_req, res) => {
                res.writeHead(200, { "content-type": "text/xml" });
                res.write(`<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`);
                res.end(`${volumes(200)}</DescribeVolumesResponse>`);
            });
            await new Promise<void>((resolve) => chunked.listen(0, "127.0.0.1", resolve));
            const c2 = client(`http://127.0.0.1:${(chunked.address() as { port: number }).port}`, 4096);
            try {
                await assert.rejects(
                    callOf("DescribeVolumes", (signal) => c2.send(new DescribeVolumesCommand({}), { abortSignal: signal })),
                    (err: Error) => /ResponseTooLarge/.test(err.message) && /more than 4096 bytes/.test(err.message),
                );
                // Within the bound, the same answer is read.
                const small = client(`http://127.0.0.1:${(chunked.address() as { port: number }).port}`, 1 << 20);
                assert.equal((await small.send(new DescribeVolumesCommand({}))).Volumes?.length, 200);
                small.destroy();
            } finally {
                c2.destroy();
                chunked.closeAllConnections();
                await new Promise<void>((resolve) => chunked.close(() => resolve()));
            }
        });
    });
});
