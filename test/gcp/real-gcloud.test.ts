import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ComputeApi } from "../../components/gcp/api";
import { gcpAction } from "../../components/gcp/actions";
import { makeGcpWatch } from "../../components/gcp/watch";
import { StepCall } from "../../components/watcher/types";
import { Seen, computeServer, fakeRunner } from "./compute-server";

const P = "my-project";
const Z = "us-central1-a";
const TAIL = ["--project", P, "--zone", Z, "--format", "json", "--quiet"];
const BASE = `/compute/v1/projects/${P}/zones/${Z}`;

/** A step's call as `gc` in components/gcp/scripts/common.sh sends it. */
const gc = (...args: string[]): StepCall => ({
    command: "gcloud",
    op: `${args[0]} ${args[1]}`,
    args: ["compute", ...args, ...TAIL],
    fields: { project: P, zone: Z },
});

/** Whether a real gcloud is installed (the test is skipped, not passed, without one). */
const haveGcloud = spawnSync("gcloud", ["version"], { stdio: "ignore", timeout: 60_000 }).status === 0;

/** A request as compared: method, path, query (gcloud's `alt=json`, the default, and the action's `fields` left out), JSON body. */
function request(s: Seen): string {
    const q = new URLSearchParams(s.query);
    q.delete("alt");
    q.delete("fields");
    q.sort();
    const body = s.body ? JSON.stringify(JSON.parse(s.body), Object.keys(JSON.parse(s.body) as object).sort()) : "";
    return `${s.method} ${s.path}${q.size ? `?${q.toString()}` : ""} ${body}`;
}

/**
 * Compute Engine as far as these calls need it: the instance (its boot disk attached as
 * persistent-disk-0), the disk with a label, serial output, and every change's operation RUNNING
 * until it is waited for (`zoneOperations.wait` answers it DONE).
 */
function answer(endpoint: string) {
    return (r: Seen) => {
        const self = `${endpoint}projects/${P}/zones/${Z}`;
        if (r.method === "GET" && r.path === `${BASE}/instances/web-1`)
            return {
                body: {
                    kind: "compute#instance",
                    name: "web-1",
                    status: "TERMINATED",
                    zone: self,
                    selfLink: `${self}/instances/web-1`,
                    disks: [
                        {
                            deviceName: "persistent-disk-0",
                            source: `${self}/disks/web-1`,
                            boot: true,
                            mode: "READ_WRITE",
                            type: "PERSISTENT",
                        },
                    ],
                },
            };
        if (r.method === "GET" && r.path === `${BASE}/disks/web-1`)
            return {
                body: {
                    kind: "compute#disk",
                    name: "web-1",
                    zone: self,
                    selfLink: `${self}/disks/web-1`,
                    labels: { team: "ops" },
                    labelFingerprint: "42WmSpB8rSM=",
                },
            };
        if (r.method === "GET" && r.path === `${BASE}/instances/web-1/serialPort`)
            return {
                body: {
                    kind: "compute#serialPortOutput",
                    contents: "boot\n",
                    start: "0",
                    next: "5",
                    selfLink: `${self}/instances/web-1/serialPort`,
                },
            };
        const m = /\/(instances|disks)\/([^/]+)\/([^/]+)$/.exec(r.path);
        if (r.method === "POST" && (m || r.path.endsWith("/operations/operation-1/wait"))) {
            const done = r.path.endsWith("/wait");
            return {
                body: {
                    kind: "compute#operation",
                    name: "operation-1",
                    operationType: done ? "stop" : m![3],
                    status: done ? "DONE" : "RUNNING",
                    progress: done ? 100 : 0,
                    zone: self,
                    targetLink: `${self}/${m ? `${m[1]}/${m[2]}` : "instances/web-1"}`,
                    selfLink: `${self}/operations/operation-1`,
                },
            };
        }
        return { status: 404, body: { error: { code: 404, message: `no ${r.method} ${r.path}`, errors: [{ reason: "notFound" }] } } };
    };
}

/** Runs the real gcloud against `endpoint` with a fake token, its configuration in `dir`. */
function gcloud(args: readonly string[], endpoint: string, dir: string): Promise<{ code: number | null; stderr: string }> {
    fs.writeFileSync(path.join(dir, "token"), "ya29.real-gcloud-test-not-real");
    const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        LANG: "C.UTF-8",
        CLOUDSDK_CONFIG: path.join(dir, "gcloud"),
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: path.join(dir, "token"),
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: endpoint,
        CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
        CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
    };
    return new Promise((resolve) => {
        const child = spawn("gcloud", args, { env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stderr }));
    });
}

describe("GCP actions make the requests the real gcloud makes for the same command (local Compute Engine, gcloud's endpoint override)", function () {
    before(function () {
        if (!haveGcloud) this.skip();
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
            const server = await computeServer();
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "real-gcloud-"));
            try {
                server.setAnswer(answer(server.endpoint));
                const cli = await gcloud(call.args, server.endpoint, dir);
                const sent = server.seen.splice(0).map(request);
                assert.ok(sent.length > 0, `gcloud sent nothing (exit ${cli.code}): ${cli.stderr}`);
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
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
});
