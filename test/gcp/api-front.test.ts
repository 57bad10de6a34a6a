import { strict as assert } from "assert";
import { FrontWorld, frontOnWorld } from "../helpers/front-world";
import * as fs from "fs";
import * as path from "path";
import { priceTable, holdSeconds } from "../../bench/engine/spend";
import { CliCostFile } from "../../bench/fleet/cli-cost-prices";
import { ComputeApi } from "../../components/gcp/api";
import { gcpAction } from "../../components/gcp/actions";
import { makeGcpWatch } from "../../components/gcp/watch";
import { CliError } from "../../components/gate/types";
import { ApiFront, startApiFront } from "../../sandbox/api/start";
import { fakeRunner } from "./compute-server";
import { world } from "./run-script";

/** The stand-in gcloud's token (sandbox/cli/gcp/gcloud `config config-helper`), which the front's translator requires. */
const STAND_IN_TOKEN = "ya29.stand-in-token";
const P = "my-project";
const Z = "us-central1-a";
const TAIL = ["--project", P, "--zone", Z, "--format", "json", "--quiet"];
const ROOT = path.resolve(__dirname, "..", "..");
/** The bench's module that holds synchronous calls, as the bench names it to the front (BENCH_ENGINE_HOLDS). */
const SPEND_JS = path.join(ROOT, "bench", "engine", "spend.js");

/** The engine bench's settings file (as bench/engine/run.ts writes it) with holds in `hold` seconds. */
function benchSettings(dir: string, hold: [number, number], seed = "s"): string {
    const costs = JSON.parse(fs.readFileSync(path.join(ROOT, "bench/fleet/cli-cost.json"), "utf8")) as CliCostFile;
    const file = path.join(dir, "cli-prices.json");
    fs.writeFileSync(file, JSON.stringify({ table: priceTable(costs), scale: 1, hold, seed }));
    return file;
}

/** The translator module itself, for the requests a test makes of it in this process. */
interface Translator {
    waitAtMostMs: number;
    handle(
        req: { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: string },
        standIn: (argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }>,
    ): Promise<{ status: number; body: string }>;
}

describe("the API front's GCP translator (sandbox/api/gcp.js): Compute Engine requests answered by the stand-in gcloud", () => {
    let dir: string;
    let fw: FrontWorld;
    let api: ComputeApi;
    const watch = makeGcpWatch(new ComputeApi());
    const calls = () => fw.calls();
    const state = () => fw.state() as { budget?: unknown };

    beforeEach(() => {
        const w = world();
        w.instances["web-2"] = { status: "TERMINATED", disks: [{ source: "web-2", boot: true }], serial: "" };
        w.throttle = { "instances get-serial-port-output": 1 };
        fw = frontOnWorld("gcloud", w, "gcp-front");
        dir = fw.dir;
        api = new ComputeApi({ endpoint: fw.front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, pageSize: 1 });
    });
    /** A front a test started of its own (the bench's settings), ended before the folder goes. */
    let benchFront: ApiFront | undefined;
    afterEach(() => {
        benchFront?.stop();
        benchFront = undefined;
        fw.stop();
    });

    it("pages a listing (each page the stand-in's list call, counted), throttles as a 403 rateLimitExceeded, reads serial output and finds no guest attributes yet", async () => {
        const runner = fakeRunner(watch, [STAND_IN_TOKEN]);
        const listed = await api.listInstances(runner, P, Z, ["web-1", "web-2", "web-9"]);
        assert.deepEqual(
            listed.map((i) => [i.name, i.status]),
            [
                ["web-1", "RUNNING"],
                ["web-2", "TERMINATED"],
            ],
        );
        const list = [
            "compute",
            "instances",
            "list",
            "--zones",
            Z,
            "--filter=name=( web-1 web-2 web-9 )",
            "--project",
            P,
            "--format",
            "json",
            "--quiet",
        ];
        assert.deepEqual(calls(), [list, list], "one gcloud-shaped call per page, as the call log showed before");
        assert.ok(state().budget, "the world's budget was spent");
        const throttled = await api.serialPortOutput(runner, P, Z, "web-1", "0").then(
            () => assert.fail("not throttled"),
            (e: unknown) => e,
        );
        assert.ok(throttled instanceof CliError && throttled.transient, String(throttled));
        assert.match(throttled.message, /HTTPError 403: rateLimitExceeded/);
        const serial = await api.serialPortOutput(runner, P, Z, "web-1", "5");
        assert.equal(serial.contents, world().instances["web-1"].serial.slice(5));
        assert.equal(serial.next, String(world().instances["web-1"].serial.length));
        assert.deepEqual(await api.guestAttributes(runner, P, Z, "rescue-1", "bootloop-rescue/"), []);
        assert.deepEqual(calls().slice(-1)[0], [
            "compute",
            "instances",
            "get-guest-attributes",
            "rescue-1",
            "--zone",
            Z,
            "--query-path=bootloop-rescue/",
            "--project",
            P,
            "--format",
            "json",
            "--quiet",
        ]);
        const gone = await api.serialPortOutput(runner, P, Z, "web-9", "0").then(
            () => assert.fail("found"),
            (e: unknown) => e,
        );
        assert.ok(gone instanceof CliError && !gone.transient);
        assert.match(gone.message, /HTTPError 404: notFound: .*web-9' was not found/);
    });

    it("in the engine bench, a synchronous call's operation takes its seeded hold (the wait blocks for it); a stop is DONE at once", async function () {
        this.timeout(60_000);
        fw.front.stop();
        const w = JSON.parse(fs.readFileSync(path.join(dir, "world.json"), "utf8")) as { disks: Record<string, object> };
        w.disks["web-2"] = { attachedTo: "web-2" };
        fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(w));
        const hold: [number, number] = [1, 2];
        const costs = benchSettings(dir, hold, "seed-1");
        const front = (benchFront = startApiFront(
            {
                ...process.env,
                FAKE_GCLOUD_STATE: path.join(dir, "world.json"),
                FAKE_GCLOUD_LOG: path.join(dir, "calls.log"),
                BENCH_ENGINE_COSTS: costs,
                BENCH_ENGINE_HOLDS: SPEND_JS,
            },
            dir,
        ));
        api = new ComputeApi({ endpoint: front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE });
        const runner = fakeRunner(watch, [STAND_IN_TOKEN]);
        const detach = ["compute", "instances", "detach-disk", "web-2", "--disk", "web-2", ...TAIL];
        const expected = holdSeconds({ hold, seed: "seed-1", scale: 1 }, "gcloud", detach);
        assert.ok(expected >= 1 && expected <= 2, String(expected));
        const started = Date.now();
        const call = { command: "gcloud", op: "instances detach-disk", args: detach, fields: { project: P, zone: Z } };
        assert.equal(await gcpAction(call, api)!.run(runner, Date.now() + 60_000), "");
        const took = (Date.now() - started) / 1000;
        assert.ok(took >= expected, `the detach took ${took} s, its hold is ${expected} s`);
        assert.deepEqual(runner.ops.slice(1), ["instances describe", "instances detach-disk", "operations wait"], "one wait: it blocked");
        assert.deepEqual(calls().slice(-1)[0], detach, "the stand-in's call is the step's, whose hold it took");
        const stop = ["compute", "instances", "stop", "web-1", ...TAIL];
        const done = await api.instanceChange(runner, "instances stop", P, Z, "web-1", "stop", true, Date.now() + 60_000);
        assert.equal(done.status, "DONE");
        assert.deepEqual(runner.ops.slice(-1), ["instances stop"], "no wait: the stop was DONE at once");
        assert.deepEqual(calls().slice(-1)[0], stop);
    });

    it("the translator's operations: RUNNING until the hold passed, a wait blocks at most waitAtMostMs; without the bench's settings DONE at once", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const gcp = require("../../sandbox/api/gcp.js") as Translator;
        const argvs: string[][] = [];
        const standIn = (argv: string[]) => {
            argvs.push(argv);
            return Promise.resolve({ code: 0, stdout: "", stderr: "" });
        };
        const base = `/compute/v1/projects/${P}/zones/${Z}`;
        const ask = async (method: string, p: string, body = "") => {
            const headers = { authorization: `Bearer ${STAND_IN_TOKEN}` };
            const a = await gcp.handle({ method, path: p, query: new URL(`http://x${p}`).searchParams, headers, body }, standIn);
            assert.equal(a.status, 200, a.body);
            return JSON.parse(a.body) as { name: string; status: string; endTime?: string };
        };
        const attach = () =>
            ask("POST", `${base}/instances/web-1/attachDisk`, JSON.stringify({ source: `x${base}/disks/web-1-fixed`, boot: true }));
        const saved = { env: process.env.BENCH_ENGINE_COSTS, holds: process.env.BENCH_ENGINE_HOLDS, most: gcp.waitAtMostMs };
        try {
            delete process.env.BENCH_ENGINE_COSTS;
            delete process.env.BENCH_ENGINE_HOLDS;
            assert.equal((await attach()).status, "DONE", "no bench: DONE at once");
            // A hold long enough that a loaded machine (CI's lanes side by side) still reads it RUNNING.
            process.env.BENCH_ENGINE_COSTS = benchSettings(dir, [4, 4]);
            // Settings without the bench's module: refused, never a silent DONE.
            await assert.rejects(attach(), /BENCH_ENGINE_HOLDS/);
            process.env.BENCH_ENGINE_HOLDS = SPEND_JS;
            gcp.waitAtMostMs = 500;
            const op = await attach();
            assert.deepEqual(argvs.slice(-1)[0], [
                "compute",
                "instances",
                "attach-disk",
                "web-1",
                "--disk",
                "web-1-fixed",
                "--boot",
                ...TAIL,
            ]);
            assert.equal(op.status, "RUNNING");
            assert.equal(op.endTime, undefined);
            assert.equal((await ask("GET", `${base}/operations/${op.name}`)).status, "RUNNING", "a read does not wait");
            const started = Date.now();
            let waits = 0;
            let last = op;
            while (last.status !== "DONE") {
                last = await ask("POST", `${base}/operations/${op.name}/wait`);
                waits++;
                assert.ok(waits < 100, "the operation never ended");
            }
            assert.ok(Date.now() - started >= 2000, `DONE after ${Date.now() - started} ms`);
            assert.ok(waits >= 2, `a wait blocked longer than waitAtMostMs: ${waits} waits`);
            assert.ok(last.endTime);
            assert.equal((await ask("GET", `${base}/operations/${op.name}`)).status, "DONE");
            const stop = await ask("POST", `${base}/instances/web-1/stop`);
            assert.equal(stop.status, "DONE", "a stop is no synchronous call: DONE at once");
        } finally {
            if (saved.env === undefined) delete process.env.BENCH_ENGINE_COSTS;
            else process.env.BENCH_ENGINE_COSTS = saved.env;
            if (saved.holds === undefined) delete process.env.BENCH_ENGINE_HOLDS;
            else process.env.BENCH_ENGINE_HOLDS = saved.holds;
            gcp.waitAtMostMs = saved.most;
        }
    });

    it("a request without the stand-in's token is refused 401 before the world is asked", async () => {
        const runner = fakeRunner(watch, ["ya29.someone-else"]);
        await assert.rejects(api.listInstances(runner, P, Z, ["web-1"]), /HTTPError 401: UNAUTHENTICATED authError/);
        assert.deepEqual(calls(), []);
    });
});
