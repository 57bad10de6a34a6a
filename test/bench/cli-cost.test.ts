// The fleet bench and discovery price CLI calls with the committed measurement of the real CLIs
// (bench/fleet/cli-cost.json, scripts/measure-cli-cost.sh), and refuse a missing or malformed one.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLI_COST_FILE, CliCost, CliCostFile } from "../../bench/fleet/cli-cost-prices";
import { CLI_COST_JSON, FALLBACK_CLI_CPU_SECONDS, cliCpuSecondsPerCall } from "../../components/gate/defaults";

function sample(): CliCostFile {
    return {
        measuredAt: "2026-12-07T03:30:00.000Z",
        commit: "0123456789abcdef0123456789abcdef01234567",
        machine: { cores: 2, memoryMb: 24105, name: "polyglot" },
        repetitions: 3,
        method: "test",
        versions: { aws: "aws-cli/2.9.19", gcloud: "Google Cloud SDK 528.0.0", az: "2.91.0" },
        calls: [
            { cloud: "aws", shape: "aws ec2 describe-instances", argv: [], ok: true, cpuSeconds: 1, peakRssMb: 80, wallSeconds: 1.2 },
            { cloud: "aws", shape: "aws ec2 start-instances", argv: [], ok: true, cpuSeconds: 3, peakRssMb: 80, wallSeconds: 1.2 },
            { cloud: "azure", shape: "az vm show", argv: [], ok: true, cpuSeconds: 0.8, peakRssMb: 69, wallSeconds: 0.9 },
            { cloud: "azure", shape: "az rest", argv: [], ok: false, error: "exit 1: it did not run" },
            { cloud: "gcp", shape: "gcloud compute instances list", argv: [], ok: true, cpuSeconds: 1.3, peakRssMb: 88, wallSeconds: 1.4 },
        ],
    };
}

function written(data: unknown): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cli-cost-test-")), "cli-cost.json");
    fs.writeFileSync(file, typeof data === "string" ? data : JSON.stringify(data));
    return file;
}

describe("the real CLIs' cost per call (bench/fleet/cli-cost.json)", () => {
    it("the committed measurement loads, has a measured call for every cloud, and names its date and commit", () => {
        const cost = CliCost.load();
        assert.equal(CLI_COST_FILE, CLI_COST_JSON);
        for (const cloud of ["aws", "azure", "gcp"] as const) assert.ok(cost.medianCpuSeconds(cloud) > 0, cloud);
        assert.match(cost.source(), /^cli-cost\.json measured \d{4}-\d\d-\d\d at [0-9a-f]{7} \(\d+ cores\)$/);
        assert.equal(cliCpuSecondsPerCall().source, cost.source().replace(/ \(\d+ cores\)$/, ""));
    });

    it("prices a measured shape at its own figure and any other at its cloud's median; a failed shape is no price", () => {
        const cost = CliCost.parse(sample(), "cli-cost.json");
        assert.equal(cost.medianCpuSeconds("aws"), 2);
        // 2 measured at 1 s, 1 measured at 3 s, 4 not measured at the median (2 s); other clouds' calls not counted.
        assert.equal(
            cost.cpuSecondsOf(
                "aws",
                {
                    "aws ec2 describe-instances": 2,
                    "aws ec2 start-instances": 1,
                    "aws ec2 create-tags": 4,
                    "gcloud compute instances list": 9,
                },
                "aws",
            ),
            13,
        );
        // az rest failed: priced at the median of what ran (0.8), not at a figure it never had.
        assert.equal(cost.cpuSecondsOf("azure", { "az rest": 10 }, "az"), 8);
        assert.match(cost.table(), /az rest +FAILED: exit 1: it did not run/);
    });

    it("refuses a missing file, and says how to make one", () => {
        assert.throws(
            () => CliCost.load(path.join(os.tmpdir(), "no-such-dir-cli-cost", "cli-cost.json")),
            /cannot be read \(ENOENT\).*npm run measure:cli-cost/,
        );
    });

    it("refuses malformed files, each with what is wrong", () => {
        const cases: [unknown, RegExp][] = [
            ["{not json", /is not JSON/],
            [[], /has no valid measuredAt/],
            [{ ...sample(), measuredAt: "yesterday" }, /has no valid measuredAt/],
            [{ ...sample(), commit: "" }, /has no commit/],
            [{ ...sample(), machine: { cores: 0, memoryMb: 1, name: "x" } }, /has no machine/],
            [{ ...sample(), calls: "none" }, /has no calls/],
            [{ ...sample(), calls: [{ ...sample().calls[0], cloud: "oracle" }] }, /calls\[0\] has no cloud/],
            [
                { ...sample(), calls: [{ ...sample().calls[0], cpuSeconds: 0 }] },
                /calls\[0\] \(aws ec2 describe-instances\) needs positive cpuSeconds/,
            ],
            [{ ...sample(), calls: [{ ...sample().calls[0], cpuSeconds: "0.4" }] }, /needs positive cpuSeconds/],
            [
                { ...sample(), calls: [{ cloud: "aws", shape: "aws x", argv: [], ok: false }] },
                /is neither measured \(ok: true\) nor failed with an error/,
            ],
        ];
        for (const [data, why] of cases) assert.throws(() => CliCost.load(written(data)), why, JSON.stringify(data).slice(0, 80));
        // A cloud with no call that ran has no price: the bench refuses rather than guess.
        const noGcp = CliCost.load(written({ ...sample(), calls: sample().calls.filter((c) => c.cloud !== "gcp") }));
        assert.throws(() => noGcp.cpuSecondsOf("gcp", { "gcloud compute instances list": 1 }, "gcloud"), /has no measured call for gcp/);
    });

    it("discovery's prices: the medians measured, or the FALLBACK prices said to be so", () => {
        const measured = cliCpuSecondsPerCall(written(sample()));
        assert.deepEqual(measured.seconds, { aws: 2, azure: 0.8, gcp: 1.3 });
        assert.equal(measured.source, "cli-cost.json measured 2026-12-07 at 0123456");
        const partial = cliCpuSecondsPerCall(written({ ...sample(), calls: sample().calls.filter((c) => c.cloud === "aws") }));
        assert.deepEqual(partial.seconds, { aws: 2, azure: FALLBACK_CLI_CPU_SECONDS.azure, gcp: FALLBACK_CLI_CPU_SECONDS.gcp });
        assert.match(partial.source, /FALLBACK fixed prices for azure, gcp/);
        const missing = cliCpuSecondsPerCall(path.join(os.tmpdir(), "no-such-dir-cli-cost", "cli-cost.json"));
        assert.deepEqual(missing.seconds, FALLBACK_CLI_CPU_SECONDS);
        assert.match(missing.source, /^FALLBACK fixed prices of 2026-11-22 \(cli-cost\.json: ENOENT/);
    });
});
