import { strict as assert } from "assert";
import { FrontWorld, frontOnWorld } from "../helpers/front-world";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ComputeApi } from "../../components/gcp/api";
import { gcpAction } from "../../components/gcp/actions";
import { makeGcpWatch } from "../../components/gcp/watch";
import { CliError } from "../../components/gate/types";
import { StepCall } from "../../components/watcher/types";
import { NOT_FOUND, computeServer, fakeRunner, operation } from "./compute-server";
import { MUTATING, op, run, swapEnv, world } from "./run-script";

/** The runner's ops of an attach whose operation was waited for `waits` times: the token, the attach, each wait. */
const attachOps = (waits: number): string[] => [
    "config config-helper",
    "instances attach-disk",
    ...Array<string>(waits).fill("operations wait"),
];

/** The error `run` rejected with; a failure of the test, saying `what`, when it resolved. */
const failureOf = (run: Promise<unknown>, what: string): Promise<unknown> =>
    run.then(
        () => assert.fail(what),
        (e: unknown) => e,
    );

const P = "my-project";
const Z = "us-central1-a";
const TAIL = ["--project", P, "--zone", Z, "--format", "json", "--quiet"];
const STAND_IN_TOKEN = "ya29.stand-in-token";

/** A step's call as `gc` in components/gcp/scripts/common.sh sends it. */
function gc(...args: string[]): StepCall {
    return { command: "gcloud", op: `${args[0]} ${args[1]}`, args: ["compute", ...args, ...TAIL], fields: { project: P, zone: Z } };
}

/** Every shape the GCP scripts send (reboot.sh, swap.sh, rollback.sh, common.sh). */
const SHAPES: StepCall[] = [
    gc("instances", "stop", "web-1", "--async"),
    gc("instances", "stop", "web-1"),
    gc("instances", "start", "web-1", "--async"),
    gc("instances", "start", "web-1"),
    gc("instances", "reset", "web-1"),
    gc("instances", "detach-disk", "web-1", "--disk", "web-1"),
    gc("instances", "attach-disk", "web-1", "--disk", "web-1-fixed", "--boot"),
    gc(
        "disks",
        "add-labels",
        "web-1",
        "--labels",
        "bootloop-rescue-role=original-boot,bootloop-rescue-instance=web-1,bootloop-rescue-replaced-by=web-1-fixed,bootloop-rescue-serial-from=52",
    ),
    gc("instances", "get-serial-port-output", "web-1", "--port", "1", "--start", "0"),
];

describe("GCP actions (components/gcp/actions.ts): the steps' gcloud calls as Compute Engine requests", () => {
    describe("the parser", () => {
        it("takes every shape the scripts send", () => {
            for (const call of SHAPES) assert.ok(gcpAction(call), call.args.join(" "));
        });

        it("leaves to gcloud any call with an argument changed, added, missing or unknown", () => {
            const changed = (c: StepCall, args: string[], extra: Partial<StepCall> = {}): StepCall => ({ ...c, args, ...extra });
            const [stopAsync, , , , reset, detach, attach, labels, serial] = SHAPES;
            const cases: [string, StepCall][] = [
                ["another CLI", { ...reset, command: "aws" }],
                ["an op other than the call's", { ...reset, op: "instances stop" }],
                ["a project other than the step's scope", { ...reset, fields: { project: "other-project", zone: Z } }],
                ["--async on reset", changed(reset, ["compute", "instances", "reset", "web-1", "--async", ...TAIL])],
                ["an unknown flag", changed(stopAsync, ["compute", "instances", "stop", "web-1", "--discard-local-ssd", ...TAIL])],
                ["an extra argument", changed(stopAsync, ["compute", "instances", "stop", "web-1", "web-2", ...TAIL])],
                ["another format", changed(reset, ["compute", "instances", "reset", "web-1", ...TAIL.slice(0, 5), "yaml", "--quiet"])],
                ["no --quiet", changed(reset, ["compute", "instances", "reset", "web-1", ...TAIL.slice(0, 6)])],
                [
                    "the tail in another order",
                    changed(reset, ["compute", "instances", "reset", "web-1", "--zone", Z, "--project", P, ...TAIL.slice(4)]),
                ],
                ["a name Compute Engine cannot have", changed(reset, ["compute", "instances", "reset", "Web_1", ...TAIL])],
                ["detach without a disk", changed(detach, ["compute", "instances", "detach-disk", "web-1", "--disk", ...TAIL])],
                [
                    "detach with --device-name",
                    changed(detach, ["compute", "instances", "detach-disk", "web-1", "--device-name", "x", ...TAIL]),
                ],
                [
                    "attach without --boot",
                    changed(attach, ["compute", "instances", "attach-disk", "web-1", "--disk", "web-1-fixed", ...TAIL]),
                ],
                ["attach with a mode", changed(attach, [...attach.args.slice(0, -TAIL.length), "--mode", "ro", ...TAIL])],
                ["a label with no value sign", changed(labels, ["compute", "disks", "add-labels", "web-1", "--labels", "a=b,c", ...TAIL])],
                ["a label key twice", changed(labels, ["compute", "disks", "add-labels", "web-1", "--labels", "a=b,a=c", ...TAIL])],
                ["an upper-case label", changed(labels, ["compute", "disks", "add-labels", "web-1", "--labels", "A=b", ...TAIL])],
                [
                    "serial port 2",
                    changed(serial, ["compute", "instances", "get-serial-port-output", "web-1", "--port", "2", "--start", "0", ...TAIL]),
                ],
                [
                    "a start that is no offset",
                    changed(serial, ["compute", "instances", "get-serial-port-output", "web-1", "--port", "1", "--start", "-1", ...TAIL]),
                ],
                [
                    "a disks describe (no action of its own)",
                    changed(labels, ["compute", "disks", "describe", "web-1", ...TAIL], { op: "disks describe" }),
                ],
            ];
            for (const [what, call] of cases) assert.equal(gcpAction(call), undefined, what);
        });
    });

    describe("against a local Compute Engine", () => {
        let server: Awaited<ReturnType<typeof computeServer>>;
        let api: ComputeApi;
        const watch = makeGcpWatch(new ComputeApi());
        const base = "/compute/v1/projects/my-project/zones/us-central1-a";
        beforeEach(async () => {
            server = await computeServer();
            api = new ComputeApi({ endpoint: server.endpoint, timeoutMs: 5000 });
        });
        afterEach(() => server.close());

        it("waits for an operation that is not done at once (each wait a request, counted), and makes the attach gcloud makes", async () => {
            let waits = 0;
            server.setAnswer((r) => {
                if (r.path === `${base}/instances/web-1/attachDisk`) return operation("operation-1", "PENDING");
                if (r.path === `${base}/operations/operation-1/wait`) return operation("operation-1", ++waits < 3 ? "RUNNING" : "DONE");
                return NOT_FOUND;
            });
            const runner = fakeRunner(watch);
            const action = gcpAction(SHAPES[6], api)!;
            assert.equal(await action.run(runner, Date.now() + 60_000), "");
            assert.deepEqual(
                server.seen.map((s) => `${s.method} ${s.path}`),
                [
                    `POST ${base}/instances/web-1/attachDisk`,
                    `POST ${base}/operations/operation-1/wait`,
                    `POST ${base}/operations/operation-1/wait`,
                    `POST ${base}/operations/operation-1/wait`,
                ],
            );
            assert.deepEqual(JSON.parse(server.seen[0].body!), {
                mode: "READ_WRITE",
                source: `${server.endpoint}projects/my-project/zones/us-central1-a/disks/web-1-fixed`,
                type: "PERSISTENT",
                boot: true,
            });
            assert.deepEqual(runner.ops, attachOps(3));
            assert.equal(watch.rateClass("operations wait"), "read");
        });

        it("a stop with --async does not wait; a reset does; an operation ending in an error fails with its code", async () => {
            server.setAnswer((r) => {
                if (r.path.endsWith("/stop")) return operation("operation-s", "RUNNING");
                if (r.path.endsWith("/reset")) return operation("operation-r", "RUNNING");
                if (r.path.endsWith("/operations/operation-r/wait"))
                    return operation("operation-r", "DONE", {
                        http: 400,
                        code: "UNSUPPORTED_OPERATION",
                        message: "Instance is not running.",
                    });
                return NOT_FOUND;
            });
            const runner = fakeRunner(watch);
            assert.equal(await gcpAction(SHAPES[0], api)!.run(runner, Date.now() + 60_000), "");
            assert.deepEqual(
                server.seen.map((s) => s.path),
                [`${base}/instances/web-1/stop`],
                "no wait for --async",
            );
            const failed = await failureOf(
                gcpAction(SHAPES[4], api)!.run(runner, Date.now() + 60_000),
                "the operation's error was not a failure",
            );
            assert.ok(failed instanceof CliError && !failed.transient, String(failed));
            assert.match(failed.message, /operation operation-r failed: HTTPError 400: UNSUPPORTED_OPERATION: Instance is not running\./);
        });

        it("an operation not done by the step's deadline fails for good, naming it (never sent again); throttling before the change is transient with its reason", async () => {
            server.setAnswer((r) =>
                r.path.endsWith("/start")
                    ? operation("operation-t", "RUNNING")
                    : {
                          status: 429,
                          body: {
                              error: {
                                  code: 429,
                                  status: "RESOURCE_EXHAUSTED",
                                  message: "Quota exceeded",
                                  errors: [{ reason: "rateLimitExceeded" }],
                              },
                          },
                      },
            );
            const runner = fakeRunner(watch);
            const late = await failureOf(gcpAction(SHAPES[3], api)!.run(runner, Date.now() - 1), "waited past the deadline");
            assert.ok(late instanceof CliError && !late.transient, String(late));
            assert.match(
                late.message,
                /operation operation-t in my-project\/us-central1-a was accepted and had not finished by the step's deadline \(last status RUNNING\); the change is not sent again/,
            );
            const throttled = await failureOf(gcpAction(SHAPES[5], api)!.run(runner, Date.now() + 60_000), "not throttled");
            assert.ok(throttled instanceof CliError && throttled.transient, String(throttled));
            assert.match(throttled.message, /HTTPError 429: RESOURCE_EXHAUSTED rateLimitExceeded/);
            assert.equal(runner.throttled, 1);
        });

        describe("a wait that fails after the change was accepted", () => {
            const unavailable = {
                status: 503,
                body: { error: { code: 503, status: "UNAVAILABLE", message: "The service is unavailable." } },
            };
            const count = (suffix: string) => server.seen.filter((s) => s.path.endsWith(suffix)).length;

            it("is asked again (backoff, each wait through the runner) until DONE: one change request, success", async () => {
                const fast = new ComputeApi({ endpoint: server.endpoint, timeoutMs: 5000, waitRetry: { baseMs: 1, capMs: 5 } });
                let waits = 0;
                server.setAnswer((r) => {
                    if (r.path === `${base}/instances/web-1/attachDisk`) return operation("operation-a", "RUNNING");
                    if (r.path === `${base}/operations/operation-a/wait`) {
                        waits++;
                        if (waits === 1) return unavailable;
                        if (waits === 2)
                            return {
                                status: 429,
                                body: { error: { code: 429, status: "RESOURCE_EXHAUSTED", errors: [{ reason: "rateLimitExceeded" }] } },
                            };
                        return operation("operation-a", "DONE");
                    }
                    return NOT_FOUND;
                });
                const runner = fakeRunner(watch);
                assert.equal(await gcpAction(SHAPES[6], fast)!.run(runner, Date.now() + 60_000), "");
                assert.equal(count("/attachDisk"), 1, "the attach was sent once");
                assert.equal(waits, 3);
                assert.deepEqual(runner.ops, attachOps(3));
                assert.equal(runner.throttled, 1, "the throttled wait slowed the scope as any throttled request does");
            });

            it("fails for good at the deadline, naming the operation and the wait's last error: one change request", async () => {
                const fast = new ComputeApi({ endpoint: server.endpoint, timeoutMs: 5000, waitRetry: { baseMs: 5, capMs: 20 } });
                server.setAnswer((r) => {
                    if (r.path === `${base}/instances/web-1/reset`) return operation("operation-r", "RUNNING");
                    if (r.path === `${base}/operations/operation-r/wait`) return unavailable;
                    return NOT_FOUND;
                });
                const runner = fakeRunner(watch);
                const failed = await failureOf(
                    gcpAction(SHAPES[4], fast)!.run(runner, Date.now() + 400),
                    "the operation was taken for done",
                );
                assert.ok(failed instanceof CliError && !failed.transient, String(failed));
                assert.match(
                    failed.message,
                    /operation operation-r in my-project\/us-central1-a was accepted and had not finished by the step's deadline \(its last wait failed: operations\.wait .*HTTPError 503: UNAVAILABLE: The service is unavailable\.\); the change is not sent again: `gcloud compute operations describe operation-r --zone us-central1-a --project my-project`/,
                );
                assert.equal(count("/reset"), 1, "the reset was sent once");
                assert.ok(count("/operations/operation-r/wait") >= 2, `waits: ${count("/operations/operation-r/wait")}`);
            });

            it("a wait with no answer (hung to the deadline, or its connection dropped) is never passed on as transient; the operation's own error is the change's, passed on", async () => {
                const fast = new ComputeApi({ endpoint: server.endpoint, timeoutMs: 5000, waitRetry: { baseMs: 1, capMs: 5 } });
                let waits = 0;
                let hang = true;
                server.setAnswer((r) => {
                    if (r.path === `${base}/instances/web-1/stop`) return operation("operation-s", "RUNNING");
                    if (r.path === `${base}/operations/operation-s/wait`) {
                        waits++;
                        if (waits === 1) return hang ? undefined : { drop: true }; // undefined: never answered, the wait's own timeout ends it
                        return operation("operation-s", "DONE", { http: 503, code: "SERVICE_UNAVAILABLE", message: "try again later" });
                    }
                    return NOT_FOUND;
                });
                const runner = fakeRunner(watch);
                // The deadline leaves the first wait 0.5 s + 1 s before its request gives up.
                const failed = await failureOf(
                    gcpAction(SHAPES[1], fast)!.run(runner, Date.now() + 500),
                    "the operation's error was not a failure",
                );
                assert.equal(waits, 1, "the deadline passed while the first wait hung");
                assert.ok(failed instanceof CliError && !failed.transient, String(failed));
                assert.match(failed.message, /operation-s .*accepted .*its last wait failed: .*timed out/);
                waits = 0;
                hang = false;
                server.seen.length = 0;
                const ended = await failureOf(
                    gcpAction(SHAPES[1], fast)!.run(runner, Date.now() + 60_000),
                    "the operation's error was not a failure",
                );
                assert.equal(waits, 2, "the dropped wait was asked again");
                assert.ok(ended instanceof CliError && ended.transient, String(ended));
                assert.match(ended.message, /operation operation-s failed: HTTPError 503: SERVICE_UNAVAILABLE: try again later/);
                assert.equal(count("/stop"), 1);
            });
        });

        it("detaches by the device name the instance has the disk under; a disk not attached fails naming both", async () => {
            server.setAnswer((r) => {
                if (r.method === "GET" && r.path === `${base}/instances/web-1`)
                    return {
                        body: {
                            disks: [
                                { deviceName: "persistent-disk-0", source: `https://www.googleapis.com${base}/disks/web-1`, boot: true },
                                { deviceName: "data", source: `https://www.googleapis.com${base}/disks/web-1-data` },
                            ],
                        },
                    };
                if (r.path.endsWith("/detachDisk")) return operation("operation-d", "DONE");
                return NOT_FOUND;
            });
            const runner = fakeRunner(watch);
            await gcpAction(SHAPES[5], api)!.run(runner, Date.now() + 60_000);
            assert.equal(server.seen[1].query.get("deviceName"), "persistent-disk-0");
            assert.deepEqual(runner.ops, ["config config-helper", "instances describe", "instances detach-disk"]);
            const other = gc("instances", "detach-disk", "web-1", "--disk", "web-2");
            await assert.rejects(
                gcpAction(other, api)!.run(runner, Date.now() + 60_000),
                /Disk \[web-2\] is not attached to instance \[web-1\]/,
            );
        });

        it("adds labels as gcloud does: merged over the disk's own, with its fingerprint; nothing sent when none changes", async () => {
            let labels: Record<string, string> = { team: "ops", "bootloop-rescue-role": "fixed" };
            server.setAnswer((r) => {
                if (r.method === "GET") return { body: { labels, labelFingerprint: "fp==" } };
                if (r.path.endsWith("/setLabels")) {
                    labels = (JSON.parse(r.body!) as { labels: Record<string, string> }).labels;
                    return operation("operation-l", "DONE");
                }
                if (r.path.endsWith("/operations/operation-l/wait")) return operation("operation-l", "DONE");
                return NOT_FOUND;
            });
            const runner = fakeRunner(watch);
            const add = gc("disks", "add-labels", "web-1", "--labels", "bootloop-rescue-role=original-boot,bootloop-rescue-serial-from=52");
            await gcpAction(add, api)!.run(runner, Date.now() + 60_000);
            assert.deepEqual(JSON.parse(server.seen[1].body!), {
                labels: { team: "ops", "bootloop-rescue-role": "original-boot", "bootloop-rescue-serial-from": "52" },
                labelFingerprint: "fp==",
            });
            assert.equal(server.seen[0].path, `${base}/disks/web-1`);
            assert.equal(
                server.seen[2].path,
                `${base}/operations/operation-l/wait`,
                "one wait, as gcloud's poller asks, the operation DONE or not",
            );
            await gcpAction(add, api)!.run(runner, Date.now() + 60_000);
            assert.equal(server.seen.length, 4, "the second add changes nothing: a read only");
            assert.deepEqual(runner.ops.slice(1), ["disks describe", "disks add-labels", "operations wait", "disks describe"]);
        });
    });

    describe("against the stand-in front (sandbox/api/gcp.js)", () => {
        let fw: FrontWorld;
        let api: ComputeApi;
        const watch = makeGcpWatch(new ComputeApi());
        const calls = () => fw.calls();
        const state = () => fw.state();
        beforeEach(() => {
            const w = world();
            w.instances["web-1"].status = "TERMINATED";
            fw = frontOnWorld("gcloud", w, "gcp-actions");
            api = new ComputeApi({ endpoint: fw.front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE });
        });
        afterEach(() => fw.stop());

        it("a swap's labels, detach, attach and start, and a serial read, each the gcloud call the script would have run", async () => {
            const runner = fakeRunner(watch, [STAND_IN_TOKEN]);
            const deadline = Date.now() + 60_000;
            for (const call of [SHAPES[7], SHAPES[5], SHAPES[6], SHAPES[3]])
                assert.equal(await gcpAction(call, api)!.run(runner, deadline), "");
            const out = await gcpAction(SHAPES[8], api)!.run(runner, deadline);
            const serial = world().instances["web-1"].serial as string;
            assert.deepEqual(JSON.parse(out), { start: "0", next: String(serial.length) });
            assert.match(out, /"next":"[0-9]+"/, "common.sh's serial_next reads it");
            const made = calls();
            assert.deepEqual(made, [
                ["compute", "disks", "describe", "web-1", ...TAIL],
                [...SHAPES[7].args],
                ["compute", "instances", "describe", "web-1", ...TAIL],
                [...SHAPES[5].args],
                [...SHAPES[6].args],
                [...SHAPES[3].args],
                [...SHAPES[8].args.slice(0, 4), "--zone", Z, "--port", "1", "--start", "0", "--project", P, "--format", "json", "--quiet"],
            ]);
            const w = state();
            assert.deepEqual(w.instances["web-1"].disks, [{ source: "web-1-fixed", boot: true }]);
            assert.equal(w.instances["web-1"].status, "STAGING");
            assert.equal(w.disks["web-1"].labels["bootloop-rescue-role"], "original-boot");
            assert.deepEqual(runner.ops.slice(1), [
                "disks describe",
                "disks add-labels",
                "operations wait",
                "instances describe",
                "instances detach-disk",
                "instances attach-disk",
                "instances start",
                "instances get-serial-port-output",
            ]);
        });

        it("a change the stand-in refuses is the API's error: an attach over a boot disk fails for good, with its message", async () => {
            const runner = fakeRunner(watch, [STAND_IN_TOKEN]);
            const attach = gc("instances", "attach-disk", "web-1", "--disk", "other", "--boot");
            const failed = await failureOf(gcpAction(attach, api)!.run(runner, Date.now() + 60_000), "attached a second boot disk");
            assert.ok(failed instanceof CliError && !failed.transient, String(failed));
            assert.match(failed.message, /HTTPError 400: invalid: The instance already has a boot disk/);
        });
    });

    it("a swap through the scripts: its mutating calls were made by the watcher as API requests, no gcloud process ran them", () => {
        // A gcloud first on PATH that logs each process and runs the stand-in (the front runs the stand-in by its path, not this).
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gcp-cli-"));
        const processes = path.join(bin, "processes.log");
        const standIn = path.join(__dirname, "../../sandbox/cli/gcp/gcloud");
        fs.writeFileSync(
            path.join(bin, "gcloud"),
            `#!/bin/bash\nprintf '%s\\n' "$*" >>${JSON.stringify(processes)}\nexec node ${JSON.stringify(standIn)} "$@"\n`,
            { mode: 0o755 },
        );
        fs.writeFileSync(processes, "");
        try {
            const r = run("swap", { ...swapEnv, PATH: `${bin}:${process.env.PATH}` }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                ["instances stop", "disks add-labels", "instances detach-disk", "instances attach-disk", "instances start"],
                "the stand-in world saw the swap's calls",
            );
            const ran = fs
                .readFileSync(processes, "utf8")
                .split("\n")
                .filter((l) => l);
            assert.ok(ran.length > 0, "the wrapper is the gcloud the step and the watcher run (the token call)");
            assert.deepEqual(
                ran.filter((l) => !l.startsWith("config config-helper")),
                [],
                "no gcloud process but the watcher's token call",
            );
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
