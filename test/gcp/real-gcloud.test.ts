import { strict as assert } from "assert";
import { realCliOrSkip } from "../helpers/real-cli";
import { spawnSync } from "child_process";
import * as path from "path";
import { ComputeApi } from "../../components/gcp/api";
import { gcpAction } from "../../components/gcp/actions";
import { makeGcpWatch } from "../../components/gcp/watch";
import { StepCall } from "../../components/watcher/types";
import { Seen, computeServer, fakeRunner } from "./compute-server";
import { BASE, P, Z, answer } from "./real-gcloud-run";

const TAIL = ["--project", P, "--zone", Z, "--format", "json", "--quiet"];

/** A step's call as `gc` in components/gcp/scripts/common.sh sends it. */
const gc = (...args: string[]): StepCall => ({
    command: "gcloud",
    op: `${args[0]} ${args[1]}`,
    args: ["compute", ...args, ...TAIL],
    fields: { project: P, zone: Z },
});

/** The real gcloud run once with `args` inside `unshare -n`, against a local Compute Engine: what it sent. */
function realGcloud(args: readonly string[]): { sent: Seen[]; code: number | null; stderr: string } {
    const r = spawnSync(
        "unshare",
        ["-n", process.execPath, "-r", "ts-node/register/transpile-only", path.join(__dirname, "real-gcloud-run.ts"), JSON.stringify(args)],
        { encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 },
    );
    assert.equal(r.status, 0, `real-gcloud-run.ts failed (${r.status}): ${r.stderr}`);
    const got = JSON.parse(r.stdout) as { sent: (Omit<Seen, "query"> & { query: string })[]; code: number | null; stderr: string };
    return { ...got, sent: got.sent.map((s) => ({ ...s, query: new URLSearchParams(s.query) })) };
}

/** A request as compared: method, path, query (gcloud's `alt=json`, the default, and the action's `fields` left out), JSON body. */
function request(s: Seen): string {
    const q = new URLSearchParams(s.query);
    q.delete("alt");
    q.delete("fields");
    q.sort();
    const body = s.body ? JSON.stringify(JSON.parse(s.body), Object.keys(JSON.parse(s.body) as object).sort()) : "";
    // Each side had a local server of its own: their origins differ, nothing else may.
    return `${s.method} ${s.path}${q.size ? `?${q.toString()}` : ""} ${body.replace(/http:\/\/127\.0\.0\.1:\d+\//g, "http://local-compute/")}`;
}

describe("GCP actions make the requests the real gcloud makes for the same command (local Compute Engine, gcloud's endpoint override)", function () {
    before(function () {
        // Not a pass when it cannot run: a failure (not checked), unless left out knowingly (pending).
        realCliOrSkip(this, ["gcloud"]);
    });

    const shapes: { call: StepCall; followUp: boolean }[] = [
        { call: gc("instances", "stop", "web-1", "--async"), followUp: false },
        { call: gc("instances", "stop", "web-1"), followUp: false },
        { call: gc("instances", "start", "web-1", "--async"), followUp: false },
        { call: gc("instances", "start", "web-1"), followUp: true },
        { call: gc("instances", "reset", "web-1"), followUp: true },
        { call: gc("instances", "detach-disk", "web-1", "--disk", "web-1"), followUp: true },
        { call: gc("instances", "attach-disk", "web-1", "--disk", "web-1-fixed", "--boot"), followUp: true },
        {
            call: gc("disks", "add-labels", "web-1", "--labels", "bootloop-rescue-role=original-boot,bootloop-rescue-serial-from=52"),
            followUp: false,
        },
        { call: gc("instances", "get-serial-port-output", "web-1", "--port", "1", "--start", "0"), followUp: false },
    ];

    for (const { call, followUp } of shapes)
        it(`gcloud ${call.args.slice(0, -TAIL.length).join(" ")} …`, async () => {
            const cli = realGcloud(call.args);
            const sent = cli.sent.map(request);
            assert.ok(sent.length > 0, `gcloud sent nothing (exit ${cli.code}): ${cli.stderr}`);
            const server = await computeServer();
            try {
                server.setAnswer(answer(server.endpoint));
                const api = new ComputeApi({ endpoint: server.endpoint, token: undefined });
                const action = gcpAction(call, api);
                assert.ok(action, "the action takes the call");
                await action.run(fakeRunner(makeGcpWatch(api)), Date.now() + 60_000);
                const made = server.seen.map(request);
                // After a change it waited for, gcloud reads the changed instance once more, to print it: the scripts discard that output, and the action does not read it.
                const expected = followUp ? sent.slice(0, -1) : sent;
                if (followUp)
                    assert.equal(sent[sent.length - 1], `GET ${BASE}/instances/web-1 `, "gcloud's last request is its follow-up read");
                assert.deepEqual(made, expected);
            } finally {
                await server.close();
            }
        });
});
