// The watcher's buckets (issue #29 item 3): each scope's published limits, less the providers'
// allowance, times the stack's share (rate and burst) and the rate scale (rate only).
import { strict as assert } from "assert";
import { awsWatch } from "../../components/aws/watch";
import { azureWatch } from "../../components/azure/watch";
import { gcpWatch } from "../../components/gcp/watch";
import { Gate, bucketRate } from "../../components/gate/gate";
import { rateScaleFrom, rateShareFrom } from "../../components/gate/defaults";
import { Semaphore, TokenBucket } from "../../components/gate/limits";
import { CloudCli, providerFraction } from "../../components/gate/types";
import { cloudWatches } from "../../components/registry/watchers";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);
const gateOf = (options: ConstructorParameters<typeof Gate>[2]) =>
    new Gate(new Map(cloudWatches.map((c) => [c.cloud, c])), new Semaphore(4), options);

describe("the gate's buckets: share, rate scale, the providers' allowance", () => {
    it("a bare time scale is today's gate: published rates × the scale, bursts as published, nothing reserved", () => {
        const gate = gateOf(1000);
        assert.deepEqual(gate.rateOf("aws", "default/us-east-1", "ec2 describe-instances"), { perSecond: 20_000, burst: 20 });
        assert.deepEqual(gate.rateOf("azure", "sub", "vm get-instance-view"), { perSecond: 25_000, burst: 40 });
    });

    it("the share multiplies every bucket's rate AND burst; the rate scale only the rate (waits and backoffs keep the time scale)", () => {
        const gate = gateOf({ timeScale: 1000, rateScale: 1, share: 0.1 });
        assert.deepEqual(gate.options, { timeScale: 1000, rateScale: 1, share: 0.1 });
        const start = gate.rateOf("aws", "default/us-east-1", "ec2 start-instances");
        close(start.perSecond, 0.2, "StartInstances 2/s × 1/10, in real time");
        close(start.burst, 0.2, "its burst of 2 × 1/10");
        const read = gate.rateOf("gcp", "proj", "instances list");
        close(read.perSecond, 2.5, "GCP reads 25/s (1,500 a minute) × 1/10");
        close(read.burst, 4, "burst 40 × 1/10");
        // Without a rate scale it follows the time scale, as before.
        close(gateOf({ timeScale: 1000, share: 0.5 }).rateOf("azure", "s", "vm start").perSecond, 5000, "10/s × 1/2 × 1000");
    });

    it("the watcher leaves each class's provider allowance to the providers: published × (1 − providers/(providers + steps)) × share", () => {
        const gate = gateOf({ timeScale: 1, rateScale: 1, share: 0.25, reserveForProviders: true });
        // AWS mutating calls: 5/s published; the providers make 5 of a chain's 9 → the watcher 5 × 4/9 /s; a quarter of that.
        const mutate = gate.rateOf("aws", "r/eu-west-1", "ec2 detach-volume");
        close(mutate.perSecond, 5 * (1 - 5 / 9) * 0.25, "aws mutate");
        close(mutate.burst, 5 * (1 - 5 / 9) * 0.25, "aws mutate burst");
        // A class without an allowance (StartInstances: no provider starts instances) keeps its whole rate.
        close(gate.rateOf("aws", "r/eu-west-1", "ec2 start-instances").perSecond, 2 * 0.25, "aws start");
        close(gate.rateOf("azure", "s", "vm get-instance-view").perSecond, 25 * (1 - 13 / 43) * 0.25, "azure read");
        close(gate.rateOf("gcp", "p", "instances attach-disk").perSecond, 25 * (1 - 4 / 11) * 0.25, "gcp mutate");
        assert.ok(
            Object.keys(gate.stats.buckets).some((k) => k === "aws r/eu-west-1 mutate"),
            "the stats file shows each bucket as made",
        );
    });

    it("ten shards of one scope at 1/10 each, with the providers' allowance, stay within every published limit of every cloud", () => {
        for (const cloud of cloudWatches) {
            for (const [cls, published] of Object.entries(cloud.rates)) {
                const one = bucketRate(cloud, cls, { timeScale: 1, rateScale: 1, share: 1 / 10, reserveForProviders: true });
                const providers = providerFraction(cloud, cls) * published.perSecond;
                const total = 10 * one.perSecond + providers;
                assert.ok(
                    total <= published.perSecond + 1e-9,
                    `${cloud.cloud} ${cls}: 10 × ${one.perSecond} + ${providers} > ${published.perSecond}`,
                );
                assert.ok(10 * one.burst <= published.burst + 1e-9, `${cloud.cloud} ${cls} burst`);
            }
        }
    });

    it("every cloud states its providers' requests for classes it rates, and leaves the steps a part of each", () => {
        for (const cloud of [awsWatch, azureWatch, gcpWatch] as CloudCli[]) {
            assert.ok(cloud.providerRequests && Object.keys(cloud.providerRequests).length > 0, cloud.cloud);
            for (const [cls, r] of Object.entries(cloud.providerRequests)) {
                assert.ok(cloud.rates[cls], `${cloud.cloud}: ${cls} is a rated class`);
                assert.ok(r.providers > 0 && r.steps > 0, `${cloud.cloud} ${cls}`);
                const f = providerFraction(cloud, cls);
                assert.ok(f > 0 && f < 1, `${cloud.cloud} ${cls}: ${f}`);
            }
        }
    });

    it("the token calls of GCP and Azure have a small bucket of their own (1/s, burst 5), outside the Compute budgets", () => {
        const gate = gateOf({ timeScale: 1, rateScale: 1, reserveForProviders: true });
        assert.deepEqual(gate.rateOf("gcp", "p", "config config-helper"), { perSecond: 1, burst: 5 });
        assert.deepEqual(gate.rateOf("azure", "s", "account get-access-token"), { perSecond: 1, burst: 5 });
        assert.ok(Object.keys(gate.stats.buckets).includes("gcp p token"), "GCP's token bucket is its own");
    });

    it("a request larger than a small bucket's burst waits for a full bucket and leaves it in debt: the rate holds", () => {
        let now = 0;
        const bucket = new TokenBucket({ perSecond: 0.25, burst: 0.25 }, () => now);
        return bucket.take(1).then(() => {
            close(bucket.level, -0.75, "one call took a whole token");
            now = 3000;
            close(bucket.level, 0, "3 s later the debt is paid");
            now = 4000;
            close(bucket.level, 0.25, "4 s later the next call may go: 0.25 calls a second");
        });
    });

    it("the watcher reads BOOTLOOP_RATE_SHARE and BOOTLOOP_RATE_SCALE strictly: a typo never spends the whole budget", () => {
        assert.equal(rateShareFrom({}), 1);
        assert.equal(rateShareFrom({ BOOTLOOP_RATE_SHARE: "0.1" }), 0.1);
        assert.equal(rateShareFrom({ BOOTLOOP_RATE_SHARE: "1/4" }), 0.25);
        for (const bad of ["0", "2", "abc", "10%"])
            assert.throws(() => rateShareFrom({ BOOTLOOP_RATE_SHARE: bad }), /BOOTLOOP_RATE_SHARE=.* is not a share/, bad);
        assert.equal(rateScaleFrom({}, 1000), 1000, "default: the time scale, as before");
        assert.equal(rateScaleFrom({ BOOTLOOP_RATE_SCALE: "1" }, 1000), 1);
        for (const bad of ["0", "-1", "fast"])
            assert.throws(() => rateScaleFrom({ BOOTLOOP_RATE_SCALE: bad }, 1), /BOOTLOOP_RATE_SCALE=.* is not a positive number/, bad);
    });
});
