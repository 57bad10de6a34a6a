import { strict as assert } from "assert";
import { realCliOrSkip } from "../helpers/real-cli";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsAction } from "../../components/aws/actions";
import { awsWatch } from "../../components/aws/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { awsEndpoint, ec2Xml } from "./api-server";
import { SENDS, SHAPES, withGlobals } from "./action-shapes";

/** Each shape the watcher's AWS actions take, as the scripts send it (with the global options). */
const CALLS: string[][] = [...SHAPES, ...SENDS].map(withGlobals);

/** A request reduced to what the service reads: method, operation, and the parameters (Query form or JSON body). */
interface Sent {
    method: string;
    target?: string;
    params: unknown;
}

const reduce = (method: string, target: string | undefined, body: string): Sent =>
    target ? { method, target, params: JSON.parse(body) } : { method, params: Object.fromEntries([...new URLSearchParams(body)].sort()) };

/**
 * The stretch proof: each action's request is the one the real AWS CLI sends for the same command.
 * The real CLI runs inside `unshare -n` (loopback only) against a local recorder (real-cli-request.js).
 */
describe("AWS actions send what the real aws CLI sends for the same command", () => {
    it("method, operation and every parameter alike, for each shape the actions take", async function () {
        // Not a pass when it cannot run: a failure (not checked), unless left out knowingly (pending).
        realCliOrSkip(this, ["aws"]);
        const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "real-cli-request-")), "spec.json");
        fs.writeFileSync(spec, JSON.stringify(CALLS));
        const replay = spawnSync("unshare", ["-n", process.execPath, path.join(__dirname, "real-cli-request.js"), spec], {
            encoding: "utf8",
            timeout: 300_000,
        });
        fs.rmSync(path.dirname(spec), { recursive: true, force: true });
        assert.equal(replay.status, 0, replay.stderr);
        const real = JSON.parse(replay.stdout) as { argv: string[]; method?: string; target?: string; body?: string; stderr: string }[];
        for (const r of real) assert.ok(r.method, `the real CLI sent no request for ${r.argv.join(" ")}: ${r.stderr}`);

        const endpoint = await awsEndpoint((r) => ec2Xml(r.action, ""));
        try {
            const gate = new Gate(new Map([["aws", awsWatch]]), new Semaphore(2), 1000);
            const runner = { run: () => Promise.reject(new Error("an action ran a CLI process")), api: gate.api.bind(gate) };
            for (const argv of CALLS) {
                const action = awsAction({ command: "aws", op: `${argv[4]} ${argv[5]}`, args: argv, fields: { region: "us-east-1" } });
                assert.ok(action, argv.join(" "));
                // The recorder's empty answers may not parse as every output: the request is what is compared.
                await action.run(runner, Date.now() + 60_000).catch(() => undefined);
            }
            const ours = endpoint.received.map((r) =>
                reduce(
                    "POST",
                    typeof r.headers["x-amz-target"] === "string" ? r.headers["x-amz-target"] : undefined,
                    r.json ? JSON.stringify(r.json) : r.form.toString(),
                ),
            );
            assert.deepEqual(
                ours,
                real.map((r) => reduce(r.method!, r.target, r.body ?? "")),
            );
        } finally {
            await endpoint.close();
        }
    });
});
