import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ComputeApi } from "../../components/gcp/api";
import { makeGcpWatch } from "../../components/gcp/watch";
import { CliError } from "../../components/gate/types";
import { ApiFront, startApiFront } from "../../sandbox/api/start";
import { fakeRunner } from "./compute-server";
import { world } from "./run-script";

/** The stand-in gcloud's token (sandbox/cli/gcp/gcloud `config config-helper`), which the front's translator requires. */
const STAND_IN_TOKEN = "ya29.stand-in-token";
const P = "my-project";
const Z = "us-central1-a";

describe("the API front's GCP translator (sandbox/api/gcp.js): Compute Engine requests answered by the stand-in gcloud", () => {
    let dir: string;
    let front: ApiFront;
    let api: ComputeApi;
    const watch = makeGcpWatch(new ComputeApi());
    const calls = () =>
        fs
            .readFileSync(path.join(dir, "calls.log"), "utf8")
            .split("\n")
            .filter((l) => l)
            .map((l) => JSON.parse(l) as string[]);
    const state = () => JSON.parse(fs.readFileSync(path.join(dir, "world.json"), "utf8")) as { budget?: unknown };

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "gcp-front-"));
        const w = world();
        w.instances["web-2"] = { status: "TERMINATED", disks: [{ source: "web-2", boot: true }], serial: "" };
        w.throttle = { "instances get-serial-port-output": 1 };
        fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(w));
        fs.writeFileSync(path.join(dir, "calls.log"), "");
        front = startApiFront(
            { ...process.env, FAKE_GCLOUD_STATE: path.join(dir, "world.json"), FAKE_GCLOUD_LOG: path.join(dir, "calls.log") },
            dir,
        );
        api = new ComputeApi({ endpoint: front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, pageSize: 1 });
    });
    afterEach(() => {
        front.stop();
        fs.rmSync(dir, { recursive: true, force: true });
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

    it("a request without the stand-in's token is refused 401 before the world is asked", async () => {
        const runner = fakeRunner(watch, ["ya29.someone-else"]);
        await assert.rejects(api.listInstances(runner, P, Z, ["web-1"]), /HTTPError 401: UNAUTHENTICATED authError/);
        assert.deepEqual(calls(), []);
    });
});
