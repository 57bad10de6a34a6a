import { strict as assert } from "assert";
import { ComputeApi } from "../../components/gcp/api";
import { makeGcpWatch } from "../../components/gcp/watch";
import { WaitRequest } from "../../components/watcher/types";
import { CliError, NoObservationError } from "../../components/gate/types";
import { Answer, Seen, computeServer, fakeRunner } from "./compute-server";

const P = "p";
const Z = "us-central1-a";
const wait = (kind: string, id: string, want: string, fields: Record<string, string>, memo = {}): WaitRequest => ({
    kind,
    id,
    want,
    fields: { project: P, zone: Z, ...fields },
    received: Date.now() - 10 * 60_000,
    deadline: Date.now() + 60_000,
    memo,
});

describe("GCP watch (components/gcp/watch.ts) through Compute Engine's API", () => {
    let server: Awaited<ReturnType<typeof computeServer>>;
    let watch: ReturnType<typeof makeGcpWatch>;
    beforeEach(async () => {
        server = await computeServer();
        watch = makeGcpWatch(new ComputeApi({ endpoint: server.endpoint }));
    });
    afterEach(async () => {
        await server.close();
    });

    /** Answers a world of instances (name → status, boot disk) and serial output per instance. */
    function world(instances: Record<string, [string, string]>, serial: (name: string) => string | Answer): void {
        server.setAnswer((req: Seen) => {
            const serialRead = /\/instances\/([^/]+)\/serialPort$/.exec(req.path);
            if (serialRead) {
                const s = serial(serialRead[1]);
                return typeof s === "string"
                    ? { body: { kind: "compute#serialPortOutput", contents: s, start: req.query.get("start"), next: "10" } }
                    : s;
            }
            const names = (/^name eq "\((.*)\)"$/.exec(req.query.get("filter") ?? "")?.[1] ?? "").split("|");
            const items = names
                .filter((n) => instances[n])
                .map((n) => ({
                    name: n,
                    status: instances[n][0],
                    disks: [{ boot: true, source: `https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/${instances[n][1]}` }],
                }));
            return { body: { kind: "compute#instanceList", ...(items.length ? { items } : {}) } };
        });
    }

    it("one listing answers a batch: status and boot disk; an instance not listed is gone; the serial port is read only for a RUNNING instance waited to boot", async () => {
        world({ "web-1": ["RUNNING", "web-1-fixed"], "web-2": ["TERMINATED", "web-2"] }, () => "GCEGuestAgent: Windows is ready\n");
        const runner = fakeRunner(watch);
        const booted = wait("instance", "web-1", "booted", { marker: "Windows is ready" });
        const stopped = wait("instance", "web-2", "TERMINATED", {});
        const missing = wait("instance", "web-9", "TERMINATED", {});
        const seen = await watch.observe([booted, stopped, missing], runner);
        assert.deepEqual(seen.get(booted), { met: true, fields: { status: "RUNNING", boot: "web-1-fixed", marker: "found" } });
        assert.deepEqual(seen.get(stopped), { met: true, fields: { status: "TERMINATED", boot: "web-2", marker: "unchecked" } });
        assert.match(seen.get(missing)!.gone!, /instance web-9 does not exist in p\/us-central1-a/);
        assert.deepEqual(runner.ops, ["config config-helper", "instances list", "instances get-serial-port-output"]);
        assert.equal(booted.memo.from, "10", "the next read starts where this one ended");
    });

    it("a serial read refused as not found makes that instance gone; a throttled one is no observation this round (never a negative one)", async () => {
        world({ "web-1": ["RUNNING", "web-1-fixed"], "web-2": ["RUNNING", "web-2-fixed"] }, (name) =>
            name === "web-1"
                ? {
                      status: 404,
                      body: {
                          error: {
                              code: 404,
                              message: "The resource 'projects/p/zones/z/instances/web-1' was not found",
                              errors: [{ reason: "notFound" }],
                          },
                      },
                  }
                : {
                      status: 403,
                      body: {
                          error: {
                              code: 403,
                              message: "Rate Limit Exceeded",
                              errors: [{ reason: "rateLimitExceeded", domain: "usageLimits" }],
                          },
                      },
                  },
        );
        const runner = fakeRunner(watch);
        const a = wait("instance", "web-1", "booted", {});
        const b = wait("instance", "web-2", "booted", {});
        const seen = await watch.observe([a, b], runner);
        assert.match(seen.get(a)!.gone!, /HTTPError 404: notFound/);
        assert.equal(seen.has(b), false);
        assert.equal(runner.throttled, 1);
    });

    it("a listing that fails rejects the batch: no wait is answered", async () => {
        server.setAnswer(() => ({
            status: 503,
            body: { error: { code: 503, message: "Backend Error", errors: [{ reason: "backendError" }] } },
        }));
        await assert.rejects(
            watch.observe([wait("instance", "web-1", "TERMINATED", {})], fakeRunner(watch)),
            (e: Error & { transient?: boolean }) => e.transient === true,
        );
    });

    it("a token that cannot be had is no instance's fault: the batch rejects (transient), no instance is gone", async () => {
        world({ "web-1": ["RUNNING", "web-1-fixed"] }, () => ({
            status: 401,
            body: { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } },
        }));
        // The listing has a token; the serial read's 401 asks gcloud for a new one, which fails.
        let n = 0;
        const base = fakeRunner(watch);
        const runner = {
            ...base,
            run: (call: Parameters<typeof base.run>[0]) =>
                n++ === 0
                    ? base.run(call)
                    : Promise.reject(new CliError("ERROR: (gcloud.config.config-helper) Reauthentication required.", false)),
        };
        const w = wait("instance", "web-1", "booted", {});
        await assert.rejects(watch.observe([w], runner), (e: CliError) => {
            assert.ok(e instanceof NoObservationError, String(e));
            assert.equal(e.transient, true, "the waiter backs off, then fails the wait as unobservable, with this reason");
            assert.match(e.message, /no GCP access token from gcloud .*Reauthentication required/);
            return true;
        });
        // No token at all: the listing's batch rejects alike (never a permanent error that fails a wait at once).
        const none = {
            ...base,
            run: () =>
                Promise.reject(
                    new CliError("ERROR: (gcloud.config.config-helper) You do not currently have an active account selected.", false),
                ),
        };
        await assert.rejects(
            makeGcpWatch(new ComputeApi({ endpoint: server.endpoint })).observe([wait("instance", "web-1", "RUNNING", {})], none),
            (e: CliError) => e instanceof NoObservationError && e.transient,
        );
    });

    it("past the deadline, serial output read before it is read again at once: a timeout is judged on fresh output only", async () => {
        let booted = false;
        world({ "web-1": ["RUNNING", "web-1-fixed"] }, () => (booted ? "GCEGuestAgent: Windows is ready\n" : "still booting\n"));
        const w = wait("instance", "web-1", "booted", { marker: "Windows is ready" });
        const runner = fakeRunner(watch);
        const serialReads = () => runner.ops.filter((o) => o === "instances get-serial-port-output").length;
        const first = (await watch.observe([w], runner)).get(w)!;
        assert.equal(first.fields.marker, "missing");
        // Before the deadline, within 75 s: the read is reused, and says when it was seen.
        const reused = (await watch.observe([w], runner)).get(w)!;
        assert.equal(serialReads(), 1);
        assert.ok(reused.asOf! < w.deadline);
        // The deadline passes (the VM booted meanwhile): the next round reads the port again.
        await new Promise((resolve) => setTimeout(resolve, 5));
        w.deadline = Date.now() - 1;
        booted = true;
        const fresh = (await watch.observe([w], runner)).get(w)!;
        assert.equal(serialReads(), 2);
        assert.equal(fresh.met, true);
        assert.equal(runner.ops.filter((o) => o === "config config-helper").length, 1, "one token for every request");
    });

    it("one guest-attribute read answers every disk on a rescue instance: evidence from its chunks, the attempt asked for, none yet (404) pending", async () => {
        const items = [
            { namespace: "bootloop-rescue", key: "br-web-1-c0", value: "gzip-base64:AAA" },
            { namespace: "bootloop-rescue", key: "br-web-1-c1", value: "BBB" },
            { namespace: "bootloop-rescue", key: "br-web-1-code", value: "0" },
            { namespace: "bootloop-rescue", key: "br-web-1-chunks", value: "2" },
            { namespace: "bootloop-rescue", key: "br-web-2-chunks", value: "99999999999" },
            { namespace: "bootloop-rescue", key: "br-web-3-attempt", value: "1" },
            { namespace: "bootloop-rescue", key: "br-web-3-chunks", value: "1" },
        ];
        server.setAnswer((req) =>
            req.path.endsWith("/rescue-1/getGuestAttributes")
                ? { body: { kind: "compute#guestAttributes", queryPath: req.query.get("queryPath"), queryValue: { items } } }
                : { status: 404, body: { error: { code: 404, message: "The resource was not found", errors: [{ reason: "notFound" }] } } },
        );
        const runner = fakeRunner(watch);
        const one = wait("guest-attributes", "br-web-1", "done", { rescue: "rescue-1" });
        const garbled = wait("guest-attributes", "br-web-2", "done", { rescue: "rescue-1" });
        const retry = wait("guest-attributes", "br-web-3", "done", { rescue: "rescue-1", attempt: "2" });
        const seen = await watch.observe([one, garbled, retry], runner);
        assert.deepEqual(seen.get(one), { met: true, fields: { code: "0", evidence: "gzip-base64:AAABBB" } });
        assert.equal(seen.get(garbled)!.met, true, "a huge chunk count ends at the attributes read");
        assert.deepEqual(seen.get(retry), { met: false, fields: { result: "pending" } });
        assert.equal(server.seen[0].query.get("queryPath"), "bootloop-rescue/");
        const none = wait("guest-attributes", "br-web-1", "done", { rescue: "rescue-2" });
        assert.deepEqual((await watch.observe([none], runner)).get(none), { met: false, fields: { result: "pending" } });
        assert.deepEqual(runner.ops, ["config config-helper", "instances get-guest-attributes", "instances get-guest-attributes"]);
        assert.equal(
            watch.rateClass("instances get-guest-attributes"),
            "mutate",
            "counted against the mutation quota, as Compute Engine counts it",
        );
        assert.equal(watch.rateClass("instances list"), "read");
    });
});
