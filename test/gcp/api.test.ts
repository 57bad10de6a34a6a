import { strict as assert } from "assert";
import { ComputeApi } from "../../components/gcp/api";
import { errorMessage } from "../../components/gcp/http";
import { GcloudToken, TOKEN_TIMEOUT_MS } from "../../components/gcp/token";
import { makeGcpWatch } from "../../components/gcp/watch";
import { CliError, CloudRunner, NoObservationError } from "../../components/gate/types";
import { computeServer, configHelper, fakeRunner } from "./compute-server";

// The answers below are Compute Engine REST v1's wire format, as its reference gives it:
//   instances.list              https://cloud.google.com/compute/docs/reference/rest/v1/instances/list
//   instances.getSerialPortOutput https://cloud.google.com/compute/docs/reference/rest/v1/instances/getSerialPortOutput
//   instances.getGuestAttributes https://cloud.google.com/compute/docs/reference/rest/v1/instances/getGuestAttributes
//   a rate quota exceeded: 403, reason rateLimitExceeded  https://cloud.google.com/compute/api-quota
//   (its error body: https://cloud.google.com/compute/docs/troubleshooting/troubleshoot-operation-limits)
const P = "my-project";
const Z = "us-central1-a";
const SELF = `https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}`;
const instance = (name: string, status: string, boot: string) => ({
    kind: "compute#instance",
    id: "4567891234567891234",
    creationTimestamp: "2024-07-18T22:04:11.120-07:00",
    name,
    machineType: `${SELF}/machineTypes/e2-standard-4`,
    status,
    zone: SELF,
    disks: [
        {
            kind: "compute#attachedDisk",
            type: "PERSISTENT",
            mode: "READ_WRITE",
            source: `${SELF}/disks/${boot}`,
            deviceName: "persistent-disk-0",
            index: 0,
            boot: true,
            autoDelete: true,
        },
    ],
    selfLink: `${SELF}/instances/${name}`,
});
const googleError = (code: number, message: string, reason: string, status?: string) => ({
    error: { code, message, errors: [{ message, domain: "global", reason }], ...(status ? { status } : {}) },
});

describe("GCP Compute Engine client (components/gcp/api.ts, http.ts) against a local server in the API's wire format", () => {
    let server: Awaited<ReturnType<typeof computeServer>>;
    const watch = makeGcpWatch(new ComputeApi());
    beforeEach(async () => {
        server = await computeServer();
    });
    afterEach(async () => {
        await server.close();
    });

    it("lists the named instances with one filter, follows nextPageToken (one request per page), and sends the token only in the header", async () => {
        const api = new ComputeApi({ endpoint: server.endpoint, pageSize: 1 });
        server.setAnswer((req) =>
            req.query.get("pageToken") === "p2"
                ? {
                      body: {
                          kind: "compute#instanceList",
                          items: [instance("web-2", "TERMINATED", "web-2")],
                          selfLink: `${SELF}/instances`,
                      },
                  }
                : {
                      body: {
                          kind: "compute#instanceList",
                          id: `projects/${P}/zones/${Z}/instances`,
                          items: [instance("web-1", "RUNNING", "web-1-fixed")],
                          nextPageToken: "p2",
                          selfLink: `${SELF}/instances`,
                      },
                  },
        );
        const runner = fakeRunner(watch);
        const listed = await api.listInstances(runner, P, Z, ["web-1", "web-2", "web-1", "Not_A_Name"]);
        assert.deepEqual(
            listed.map((i) => [i.name, i.status, i.disks?.[0].source?.split("/").pop()]),
            [
                ["web-1", "RUNNING", "web-1-fixed"],
                ["web-2", "TERMINATED", "web-2"],
            ],
        );
        assert.equal(server.seen.length, 2);
        assert.equal(server.seen[0].path, `/compute/v1/projects/${P}/zones/${Z}/instances`);
        assert.equal(server.seen[0].query.get("filter"), 'name eq "(web-1|web-2)"', "a name Compute Engine cannot have is not asked for");
        assert.equal(server.seen[0].query.get("maxResults"), "1");
        assert.equal(server.seen[1].query.get("pageToken"), "p2");
        for (const s of server.seen) {
            assert.equal(s.authorization, "Bearer ya29.first");
            assert.ok(![...s.query.values()].some((v) => v.includes("ya29")), "the token is never in the URL");
        }
        assert.deepEqual(
            runner.ops,
            ["config config-helper", "instances list", "instances list"],
            "one token call, then one request per page",
        );
        assert.ok(!runner.runs[0].some((a) => a.includes("ya29")));
    });

    it("an empty listing (no `items`) is an empty list, and no names at all make no request", async () => {
        const api = new ComputeApi({ endpoint: server.endpoint });
        server.setAnswer(() => ({
            body: { kind: "compute#instanceList", id: `projects/${P}/zones/${Z}/instances`, selfLink: `${SELF}/instances` },
        }));
        assert.deepEqual(await api.listInstances(fakeRunner(watch), P, Z, ["gone-1"]), []);
        assert.deepEqual(await api.listInstances(fakeRunner(watch), P, Z, ["UPPER"]), []);
        assert.equal(server.seen.length, 1);
    });

    it("reads serial port 1 from an offset (int64 fields as strings) and guest attributes (queryValue.items); no attributes yet (404) is an empty list", async () => {
        const api = new ComputeApi({ endpoint: server.endpoint });
        server.setAnswer((req) => {
            if (req.path.endsWith("/serialPort"))
                return {
                    body: {
                        kind: "compute#serialPortOutput",
                        contents: "GCEGuestAgent: Windows is ready\n",
                        start: req.query.get("start"),
                        next: "2080",
                        selfLink: `${SELF}/instances/web-1/serialPort?port=1`,
                    },
                };
            if (req.path.endsWith("/rescue-1/getGuestAttributes"))
                return {
                    body: {
                        kind: "compute#guestAttributes",
                        queryPath: "bootloop-rescue/",
                        queryValue: {
                            items: [
                                { namespace: "bootloop-rescue", key: "br-web-1-code", value: "0" },
                                { namespace: "bootloop-rescue", key: "br-web-1-chunks", value: "1" },
                            ],
                        },
                        selfLink: `${SELF}/instances/rescue-1/guestAttributes/bootloop-rescue/`,
                    },
                };
            return {
                status: 404,
                body: googleError(
                    404,
                    `The resource '${SELF}/instances/rescue-2/guestAttributes/bootloop-rescue/' was not found`,
                    "notFound",
                ),
            };
        });
        const runner = fakeRunner(watch);
        const serial = await api.serialPortOutput(runner, P, Z, "web-1", "2048");
        assert.deepEqual([serial.contents, serial.start, serial.next], ["GCEGuestAgent: Windows is ready\n", "2048", "2080"]);
        assert.equal(server.seen[0].query.get("port"), "1");
        const attrs = await api.guestAttributes(runner, P, Z, "rescue-1", "bootloop-rescue/");
        assert.deepEqual(
            attrs.map((a) => [a.key, a.value]),
            [
                ["br-web-1-code", "0"],
                ["br-web-1-chunks", "1"],
            ],
        );
        assert.equal(server.seen[1].query.get("queryPath"), "bootloop-rescue/");
        assert.deepEqual(await api.guestAttributes(runner, P, Z, "rescue-2", "bootloop-rescue/"), []);
        assert.deepEqual(runner.ops, [
            "config config-helper",
            "instances get-serial-port-output",
            "instances get-guest-attributes",
            "instances get-guest-attributes",
        ]);
    });

    it("errors carry the status, Google's status and reason: throttling (403 rateLimitExceeded, 429 RESOURCE_EXHAUSTED) and 5xx are transient, 404 and 403 forbidden are not", async () => {
        const api = new ComputeApi({ endpoint: server.endpoint });
        const cases: { answer: { status: number; body: unknown }; transient: boolean; throttling: boolean; words: RegExp }[] = [
            {
                answer: { status: 403, body: googleError(403, "Rate Limit Exceeded", "rateLimitExceeded") },
                transient: true,
                throttling: true,
                words: /HTTPError 403: rateLimitExceeded: Rate Limit Exceeded/,
            },
            {
                answer: {
                    status: 429,
                    body: googleError(429, "Quota exceeded for quota metric 'Read requests'", "rateLimitExceeded", "RESOURCE_EXHAUSTED"),
                },
                transient: true,
                throttling: true,
                words: /HTTPError 429: RESOURCE_EXHAUSTED rateLimitExceeded: Quota exceeded/,
            },
            {
                answer: { status: 503, body: googleError(503, "The service is currently unavailable.", "backendError", "UNAVAILABLE") },
                transient: true,
                throttling: false,
                words: /HTTPError 503: UNAVAILABLE backendError/,
            },
            {
                answer: { status: 502, body: "<html><body>Bad Gateway</body></html>" },
                transient: true,
                throttling: false,
                words: /HTTPError 502: <html>/,
            },
            {
                answer: {
                    status: 404,
                    body: googleError(404, `The resource '${SELF}/instances/web-500' was not found`, "notFound", "NOT_FOUND"),
                },
                transient: false,
                throttling: false,
                words: /HTTPError 404: NOT_FOUND notFound: The resource .*web-500' was not found/,
            },
            {
                answer: {
                    status: 403,
                    body: googleError(
                        403,
                        "Required 'compute.instances.list' permission for 'projects/my-project'",
                        "forbidden",
                        "PERMISSION_DENIED",
                    ),
                },
                transient: false,
                throttling: false,
                words: /HTTPError 403: PERMISSION_DENIED forbidden: Required 'compute.instances.list'/,
            },
        ];
        for (const c of cases) {
            server.setAnswer(() => c.answer);
            const runner = fakeRunner(watch);
            const err = await api.listInstances(runner, P, Z, ["web-1"]).then(
                () => assert.fail("no error"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof CliError);
            assert.match(err.message, c.words);
            assert.equal(err.transient, c.transient, err.message);
            assert.equal(runner.throttled, c.throttling ? 1 : 0, err.message);
        }
    });

    it("a 401 drops the token and asks once more with a new one; a second 401 is no instance's fault: no observation (transient)", async () => {
        const api = new ComputeApi({ endpoint: server.endpoint });
        server.setAnswer((req) =>
            req.authorization === "Bearer ya29.second"
                ? { body: { kind: "compute#instanceList", items: [instance("web-1", "RUNNING", "web-1")] } }
                : {
                      status: 401,
                      body: googleError(401, "Request had invalid authentication credentials.", "authError", "UNAUTHENTICATED"),
                  },
        );
        const runner = fakeRunner(watch, ["ya29.first", "ya29.second"]);
        assert.equal((await api.listInstances(runner, P, Z, ["web-1"])).length, 1);
        assert.deepEqual(runner.ops, ["config config-helper", "instances list", "config config-helper", "instances list"]);
        const stuck = fakeRunner(watch, ["ya29.revoked"]);
        await assert.rejects(new ComputeApi({ endpoint: server.endpoint }).listInstances(stuck, P, Z, ["web-1"]), (e: CliError) => {
            assert.ok(e instanceof NoObservationError, String(e));
            assert.match(e.message, /refused twice \(a fresh token too\): .*HTTPError 401: UNAUTHENTICATED/);
            assert.equal(e.transient, true);
            assert.ok(!e.message.includes("ya29."), "no token in the message");
            return true;
        });
        assert.equal(stuck.ops.filter((o) => o === "instances list").length, 2, "asked once more, not more");
    });

    it("no answer within the timeout is a transient error; an answer over the size bound is refused unread", async () => {
        server.setAnswer((req) =>
            req.path.endsWith("/serialPort")
                ? undefined
                : { body: { kind: "compute#instanceList", items: [instance("x".repeat(60), "RUNNING", "d")] } },
        );
        const slow = new ComputeApi({ endpoint: server.endpoint, timeoutMs: 300 });
        await assert.rejects(slow.serialPortOutput(fakeRunner(watch), P, Z, "web-1", "0"), (e: CliError) => {
            assert.match(e.message, /timed out/);
            assert.equal(e.transient, true);
            return true;
        });
        const small = new ComputeApi({ endpoint: server.endpoint, maxBytes: 200 });
        await assert.rejects(small.listInstances(fakeRunner(watch), P, Z, ["web-1"]), /larger than 200 bytes/);
    });

    it("a connection refused is transient (the watcher tries again), not an object gone", async () => {
        const endpoint = server.endpoint;
        await server.close();
        await assert.rejects(new ComputeApi({ endpoint }).listInstances(fakeRunner(watch), P, Z, ["web-1"]), (e: CliError) => {
            assert.match(e.message, /network error \(ECONNREFUSED\)/);
            assert.equal(e.transient, true);
            return true;
        });
        server = await computeServer();
    });

    it("the endpoint: gcloud's override is honoured; a plain-http endpoint off the loopback is refused (the token goes there)", async () => {
        const before = process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE;
        try {
            process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE = server.endpoint.replace(/\/$/, "");
            server.setAnswer(() => ({ body: { kind: "compute#instanceList" } }));
            assert.deepEqual(await new ComputeApi().listInstances(fakeRunner(watch), P, Z, ["web-1"]), []);
            assert.equal(server.seen[0].path, `/compute/v1/projects/${P}/zones/${Z}/instances`);
            process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE = "http://compute.example.com/compute/v1/";
            await assert.rejects(new ComputeApi().listInstances(fakeRunner(watch), P, Z, ["web-1"]), /must be https/);
            await assert.rejects(
                new ComputeApi({ endpoint: server.endpoint }).serialPortOutput(fakeRunner(watch), P, "..", "web-1", "0"),
                /not a valid project, zone or name/,
            );
        } finally {
            if (before === undefined) delete process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE;
            else process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE = before;
        }
    });

    it("Google's error JSON without a status or reasons, and a body that is no JSON, still read as the status", () => {
        assert.equal(
            errorMessage(500, JSON.stringify({ error: { code: 500, message: "Internal error." } })),
            "HTTPError 500: Internal error.",
        );
        assert.equal(errorMessage(504, ""), "HTTPError 504");
        assert.ok(
            watch.transient(errorMessage(500, "")) && watch.transient(errorMessage(504, "")) && !watch.transient(errorMessage(400, "")),
        );
    });
});

describe("GCP token (components/gcp/token.ts): gcloud's, kept until 5 minutes before its expiry", () => {
    const watch = makeGcpWatch(new ComputeApi());
    it("one gcloud call for many requests; a new one 5 minutes before the stated expiry; never the token in argv", async () => {
        let now = Date.parse("2024-07-19T09:00:00Z");
        const token = new GcloudToken(() => now);
        const runs: string[][] = [];
        const run = (call: { args: string[] }) => {
            runs.push(call.args);
            return Promise.resolve(configHelper(`ya29.t${runs.length}`, new Date(now + 40 * 60_000)));
        };
        const runner = { ...fakeRunner(watch), run };
        assert.deepEqual(
            await Promise.all([token.get(runner, P), token.get(runner, P)]),
            ["ya29.t1", "ya29.t1"],
            "concurrent callers share one call",
        );
        now += 34 * 60_000;
        assert.equal(await token.get(runner, P), "ya29.t1");
        now += 2 * 60_000; // 36 min: within 5 min of the expiry at 40 min
        assert.equal(await token.get(runner, P), "ya29.t2");
        assert.equal(runs.length, 2);
        assert.deepEqual(runs[0], ["config", "config-helper", "--min-expiry=15m", "--format=json", "--quiet"]);
        assert.equal(watch.rateClass("config config-helper"), "token", "the token call spends neither the read nor the mutate budget");
    });

    it("no expiry from gcloud: kept 10 minutes; output without a token is an error that does not echo the output", async () => {
        let now = 0;
        const token = new GcloudToken(() => now);
        let out = configHelper("ya29.a", "");
        const runner = { ...fakeRunner(watch), run: () => Promise.resolve(out) };
        assert.equal(await token.get(runner, P), "ya29.a");
        now += 9 * 60_000;
        out = configHelper("ya29.b", null);
        assert.equal(await token.get(runner, P), "ya29.a");
        now += 2 * 60_000;
        assert.equal(await token.get(runner, P), "ya29.b");
        out = JSON.stringify({ credential: { access_token: "" } });
        await assert.rejects(new GcloudToken().get(runner, P), /no usable credential.access_token/);
        out = "ya29.secret-not-json";
        await assert.rejects(new GcloudToken().get(runner, P), (e: Error) => !e.message.includes("ya29.secret"));
    });

    it("the gcloud call has a time limit; a token that cannot be had is a NoObservationError (transient), whatever gcloud's error", async () => {
        const calls: Parameters<CloudRunner["run"]>[0][] = [];
        const runner = {
            ...fakeRunner(watch),
            run: (call: Parameters<CloudRunner["run"]>[0]) => {
                calls.push(call);
                return Promise.reject(
                    new CliError("ERROR: (gcloud.config.config-helper) There was a problem refreshing your current auth tokens", false),
                );
            },
        };
        await assert.rejects(new GcloudToken().get(runner, P), (e: CliError) => {
            assert.ok(e instanceof NoObservationError, String(e));
            assert.equal(e.transient, true);
            assert.match(
                e.message,
                /^no GCP access token from gcloud \(asked for project my-project\): ERROR: \(gcloud.config.config-helper\)/,
            );
            return true;
        });
        assert.equal(calls[0].timeoutMs, TOKEN_TIMEOUT_MS);
        assert.equal(TOKEN_TIMEOUT_MS, 120_000);
    });
});
