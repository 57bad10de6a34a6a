import { strict as assert } from "assert";
import { FrontWorld, frontOnWorld } from "../helpers/front-world";
import {
    closeClients,
    consoleOutput,
    describeInstanceInformation,
    describeInstanceStatus,
    describeInstances,
    describeVolumes,
    listCommandInvocations,
    roleScope,
    Through,
} from "../../components/aws/api";
import { awsWatch } from "../../components/aws/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { ApiFront } from "../../sandbox/api/start";
import { FIXED, INSTANCE, ORIGINAL, RESCUE, SCRATCH, world } from "./run-script";
import { A_DEVELOPERS_PROFILE, NO_AWS_PROFILE, setEnv } from "../helpers/aws-env";
import { assertCliError } from "../helpers/cli-error";

/**
 * The SDK's clients against the stand-in front's AWS translator (sandbox/api/aws.js), which asks
 * the stand-in aws CLI on a world file: what the watcher reads arrives where the SDK looks for it,
 * the world's log shows the CLI-shaped call, and the CLI's errors arrive as the API's.
 */
describe("AWS stand-in API (sandbox/api/aws.js): the SDK against the stand-in aws CLI's world", () => {
    let front: ApiFront;
    const saved: Record<string, string | undefined> = {};
    // As on a developer's machine: a profile the SDK would prefer to the front's keys, were it left set.
    let restoreProfile: () => void;
    before(() => (restoreProfile = setEnv(A_DEVELOPERS_PROFILE)));
    after(() => restoreProfile());
    const scope = { region: "us-east-1" };
    const gate = new Gate(new Map([["aws", awsWatch]]), new Semaphore(2), 1000);
    const through: Through = (op, send) => gate.api({ cloud: "aws", scope: "default/us-east-1", op }, send);
    let fw: FrontWorld;
    const calls = () => fw.calls();
    const state = () => fw.state();

    function start(w: any) {
        fw = frontOnWorld("aws", w, "aws-front");
        front = fw.front;
        // The front's keys, and no developer's profile or config files (the SDK would prefer them).
        for (const [k, v] of Object.entries({ ...front.env, ...NO_AWS_PROFILE })) {
            if (!(k in saved)) saved[k] = process.env[k];
            if (v === undefined) {
                delete process.env[k];
                continue;
            }
            process.env[k] = v;
        }
        closeClients();
    }
    afterEach(() => {
        fw?.stop();
        closeClients();
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    });

    it("points the SDK at the front with the sandbox's own key pair, never a real one", () => {
        start(world());
        assert.match(front.env.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+\/aws$/);
        assert.match(front.env.AWS_ACCESS_KEY_ID, /^AKIASANDBOX/);
    });

    it("EC2: instances, statuses, volumes and the console as the world has them; the log shows the CLI-shaped calls", async () => {
        const w = world();
        w.instances[RESCUE] = {
            state: "running",
            rootDeviceName: "/dev/sda1",
            blockDevices: { "/dev/sdf": SCRATCH },
            checkPolls: 0,
            consoleOutput: "login: ready",
        };
        start(w);
        assert.deepEqual(await describeInstances(scope, through, [INSTANCE, "i-0ffffffffffffffff"]), [
            { id: INSTANCE, state: "running", volumes: { "/dev/sda1": ORIGINAL } },
        ]);
        const statuses = await describeInstanceStatus(scope, through, [RESCUE]);
        assert.deepEqual(statuses, [{ id: RESCUE, state: "running", instanceStatus: "ok", systemStatus: "ok" }]);
        assert.equal(await consoleOutput(scope, through, RESCUE), "login: ready");
        assert.deepEqual(
            [...(await describeVolumes(scope, through, [ORIGINAL, FIXED, "vol-0fffffffffffffff0"]))],
            [
                [ORIGINAL, "in-use"],
                [FIXED, "available"],
            ],
        );
        assert.deepEqual(calls(), [
            [
                "--region",
                "us-east-1",
                "--output",
                "json",
                "ec2",
                "describe-instances",
                "--filters",
                `Name=instance-id,Values=${INSTANCE},i-0ffffffffffffffff`,
            ],
            [
                "--region",
                "us-east-1",
                "--output",
                "json",
                "ec2",
                "describe-instance-status",
                "--instance-ids",
                RESCUE,
                "--include-all-instances",
            ],
            ["--region", "us-east-1", "--output", "json", "ec2", "get-console-output", "--instance-id", RESCUE, "--latest"],
            [
                "--region",
                "us-east-1",
                "--output",
                "json",
                "ec2",
                "describe-volumes",
                "--filters",
                `Name=volume-id,Values=${ORIGINAL},${FIXED},vol-0fffffffffffffff0`,
            ],
        ]);
    });

    it("Systems Manager: the agent's ping and the command invocations (with their times) as the world has them", async () => {
        const w = world();
        w.ssm.commands["00000000-1111-2222-3333-444455556666"] = {
            instance: RESCUE,
            document: "doc",
            volumeId: SCRATCH,
            status: "Success",
            polls: 0,
        };
        start(w);
        assert.deepEqual([...(await describeInstanceInformation(scope, through, [RESCUE]))], [[RESCUE, "ConnectionLost"]]);
        assert.deepEqual([...(await describeInstanceInformation(scope, through, [RESCUE]))], [[RESCUE, "Online"]]);
        assert.deepEqual(await listCommandInvocations(scope, through, RESCUE, "2024-07-19T00:00:00Z"), [
            {
                commandId: "00000000-1111-2222-3333-444455556666",
                status: "Success",
                comment: `bootloop-rescue repair of ${SCRATCH}`,
                documentName: "doc",
                requested: "2024-07-19T06:00:00.000Z",
            },
        ]);
        assert.deepEqual(calls()[2], [
            "--region",
            "us-east-1",
            "--output",
            "json",
            "ssm",
            "list-command-invocations",
            "--instance-id",
            RESCUE,
            "--filters",
            "key=InvokedAfter,value=2024-07-19T00:00:00Z",
        ]);
    });

    it("the CLI's errors arrive as the API's: throttling is transient, an instance not found is for good", async () => {
        start(world({ throttle: { "ec2 describe-volumes": 1 } }));
        const throttled = await describeVolumes(scope, through, [ORIGINAL]).catch((e: unknown) => e);
        assertCliError(throttled, "RequestLimitExceeded (HTTP 503): Request limit exceeded.", true);
        const missing = await consoleOutput(scope, through, "i-0ffffffffffffffff").catch((e: unknown) => e);
        assertCliError(missing, "InvalidInstanceID.NotFound (HTTP 400): The instance ID 'i-0ffffffffffffffff' does not exist", false);
        const ssmThrottled = world({ throttle: { "ssm describe-instance-information": 1 } });
        front.stop();
        start(ssmThrottled);
        const ssm = await describeInstanceInformation(scope, through, [RESCUE]).catch((e: unknown) => e);
        assertCliError(ssm, /^ThrottlingException \(HTTP 400\)/, true);
    });

    it("another account: AssumeRole answers with the role's key, and requests signed with it are answered (and counted) as that account", async () => {
        start(world());
        const role = "arn:aws:iam::111122223333:role/rescue";
        const scoped = await roleScope("us-east-1", role, through);
        assert.equal(scoped.credentials?.accessKeyId, "ASIA111122223333");
        await describeVolumes(scoped, through, [ORIGINAL]);
        assert.deepEqual(calls()[0], [
            "--region",
            "us-east-1",
            "--output",
            "json",
            "sts",
            "assume-role",
            "--role-arn",
            role,
            "--role-session-name",
            "bootloop-rescue-watcher",
        ]);
        const counted = Object.keys(state().budget.counts.aws);
        assert.ok(counted.includes("111122223333/us-east-1"), `counted as the role's account: ${counted.join(", ")}`);
    });
});
