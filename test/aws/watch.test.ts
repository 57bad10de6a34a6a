import { strict as assert } from "assert";
import { awsWatch } from "../../components/aws/watch";
import { WaitRequest } from "../../components/watcher/types";
import { CliError, CliRunner } from "../../components/gate/types";

const wait = (id: string): WaitRequest => ({
    kind: "status",
    id,
    want: "healthy",
    fields: { region: "us-east-1", marker: "Windows is Ready to use" },
    received: Date.now(),
    deadline: Date.now() + 60_000,
    memo: {},
});

/** A CLI runner answering from a table per operation; `console` decides each console read. */
function runner(console: (id: string) => string | CliError): CliRunner & { ops: string[] } {
    const ops: string[] = [];
    return {
        ops,
        run(call) {
            ops.push(call.op);
            if (call.op === "ec2 describe-instance-status") {
                const ids = call.args.slice(call.args.indexOf("--instance-ids") + 1).filter((a) => a.startsWith("i-"));
                return Promise.resolve(
                    JSON.stringify({
                        InstanceStatuses: ids.map((id) => ({
                            InstanceId: id,
                            InstanceState: { Name: "running" },
                            InstanceStatus: { Status: "ok" },
                            SystemStatus: { Status: "ok" },
                        })),
                    }),
                );
            }
            if (call.op === "ec2 get-console-output") {
                const r = console(call.args[call.args.indexOf("--instance-id") + 1]);
                if (r instanceof CliError) return Promise.reject(r);
                return Promise.resolve(JSON.stringify({ Output: r }));
            }
            return Promise.reject(new Error(`unexpected ${call.op}`));
        },
    };
}

describe("AWS watch: batched status, console only once the checks pass", () => {
    it("one describe-instance-status for the batch, then one console read per instance whose checks pass", async () => {
        const waits = ["i-0000000000000000a", "i-0000000000000000b"].map(wait);
        const cli = runner(() => "EC2Launch: Windows is Ready to use");
        const seen = await awsWatch.observe(waits, cli);
        assert.deepEqual(cli.ops, ["ec2 describe-instance-status", "ec2 get-console-output", "ec2 get-console-output"]);
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
        const w = wait("i-0000000000000000a");
        let booted = false;
        const cli = runner(() => (booted ? "EC2Launch: Windows is Ready to use" : "still booting"));
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

    it("a console read that is throttled leaves that instance unobserved this round, never unhealthy; the others are answered", async () => {
        const [a, b] = ["i-0000000000000000a", "i-0000000000000000b"].map(wait);
        const cli = runner((id) => (id === a.id ? new CliError("RequestLimitExceeded", true) : "Windows is Ready to use"));
        const seen = await awsWatch.observe([a, b], cli);
        assert.equal(seen.has(a), false, "no observation of a");
        assert.equal(seen.get(b)!.met, true);
    });

    it("a console read refused for good fails that instance's wait with the cloud's message", async () => {
        const a = wait("i-0000000000000000a");
        const seen = await awsWatch.observe(
            [a],
            runner(() => new CliError("UnauthorizedOperation: not allowed to read the console", false)),
        );
        assert.match(seen.get(a)!.gone!, /UnauthorizedOperation/);
    });
});
