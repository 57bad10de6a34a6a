import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsWatch } from "../../components/aws/watch";
import { azureWatch } from "../../components/azure/watch";
import { RequestsPerVm } from "../../components/gate/types";
import { gcpWatch } from "../../components/gcp/watch";
import { CountedFile, perVm, understated, watcherClassOf } from "../../bench/engine/provider-requests";
import { budget, requestFigures, spendAsProvider } from "../../sandbox/world/requests";
import { readWorld, updateWorld } from "../../sandbox/world/world-file";

// The providers' allowance of each cloud's watcher (watch.ts `providerRequests`: per VM chain and
// rate class, the API requests the Pulumi providers make outside the gate and the steps through it)
// held to what the simulated clouds counted in one real-engine `up` of repair VMs
// (test/fixtures/provider-requests/counted.json, made by bench/engine/provider-requests-run.ts: a
// few minutes, so a fixture and not a run here). A table that states fewer requests than were
// counted fails, naming the class.

const FIXTURE = path.join(__dirname, "../fixtures/provider-requests/counted.json");
const counted = () => JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as CountedFile;
const TABLES: Record<string, Record<string, RequestsPerVm> | undefined> = {
    aws: awsWatch.providerRequests,
    azure: azureWatch.providerRequests,
    gcp: gcpWatch.providerRequests,
};

describe("the providers' allowance against the simulated clouds' counts", () => {
    it("sorts the simulated clouds' limited classes into the watchers' rate classes, and leaves the unlimited out", () => {
        assert.equal(watcherClassOf("aws", "DescribeVolumes (non-mutating)"), "describe");
        assert.equal(watcherClassOf("aws", "DescribeInstanceStatus (unfiltered non-mutating)"), "describe");
        assert.equal(watcherClassOf("aws", "AttachVolume (mutating)"), "mutate");
        assert.equal(watcherClassOf("aws", "CreateSnapshot"), "mutate");
        assert.equal(watcherClassOf("aws", "StartInstances"), "start");
        assert.equal(watcherClassOf("aws", "ssm SendCommand"), undefined);
        assert.equal(watcherClassOf("azure", "ARM read"), "read");
        assert.equal(watcherClassOf("azure", "Low Cost Get VM (ARM read)"), "read");
        assert.equal(watcherClassOf("azure", "Delete VM (ARM write)"), "write");
        assert.equal(watcherClassOf("azure", "ARM delete"), "write");
        assert.equal(watcherClassOf("azure", "keyvault secret get"), undefined);
        assert.equal(watcherClassOf("gcp", "mutation"), "mutate");
        for (const cls of ["read", "list", "operation read"]) assert.equal(watcherClassOf("gcp", cls), "read");
        assert.equal(watcherClassOf("gcp", "serial port output"), undefined);
        assert.throws(() => watcherClassOf("oci", "x"), /unknown cloud "oci"/);
    });

    it("sums per VM chain, and finds a table short where the providers or the steps made more, or a class it leaves out", () => {
        const row = (cls: string, requests: number, byProviders: number, limited = true) => ({
            cloud: "aws",
            scope: "1/us-east-1",
            cls,
            requests,
            byProviders,
            throttled: 0,
            limited,
        });
        const file: CountedFile = {
            how: "t",
            commit: "c",
            uncommittedChanges: false,
            measuredAt: "t",
            vms: { aws: 2 },
            rows: [
                row("DescribeVolumes (non-mutating)", 10, 6),
                row("DescribeInstances (non-mutating)", 6, 2),
                row("CreateVolume", 4, 4),
                row("StartInstances", 2, 0),
                row("ssm SendCommand", 99, 99, false),
            ],
        };
        const c = perVm(file);
        assert.deepEqual(
            c.map((x) => [x.cls, x.providers, x.steps]),
            [
                ["describe", 4, 4],
                ["mutate", 2, 0],
                ["start", 0, 1],
            ],
        );
        assert.deepEqual(understated({ describe: { providers: 4, steps: 4 }, mutate: { providers: 2, steps: 1 } }, c), []);
        const short = understated({ describe: { providers: 3, steps: 4 }, mutate: { providers: 2, steps: 1 } }, c);
        assert.equal(short.length, 1);
        assert.match(
            short[0],
            /aws describe \(DescribeVolumes \(non-mutating\), DescribeInstances \(non-mutating\)\): providers 3 in the table, 4\.0/,
        );
        assert.match(
            understated({ describe: { providers: 4, steps: 3 } }, c).join("\n"),
            /steps 3 in the table, 4\.0[\s\S]*the table has no mutate/,
        );
        assert.throws(() => perVm({ ...file, vms: {} }), /no aws VM in the run/);
        assert.throws(() => perVm({ ...file, rows: [row("Mystery", 1, 1)] }), /aws Mystery is limited but falls in no watcher rate class/);
    });

    it("the simulated clouds count a stand-in provider's requests apart from the CLIs'", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "provider-requests-"));
        try {
            const file = path.join(dir, "world.json");
            fs.writeFileSync(file, "{}");
            const request = budget.ec2Request("1/us-east-1", "DescribeVolumes");
            await spendAsProvider(
                file,
                () => [request, request],
                () => new Error("throttled"),
            );
            updateWorld(file, (world) => budget.spend(world, request, Date.now(), 1000));
            const rows = requestFigures({ aws: readWorld(file) });
            assert.deepEqual(
                rows.map((r) => [r.cls, r.requests, r.byProviders]),
                [["DescribeVolumes (non-mutating)", 3, 2]],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the fixture is a counted run: every cloud's VMs, its providers' and steps' requests, none throttled", () => {
        const f = counted();
        assert.match(f.commit, /^[0-9a-f]{40}$/);
        assert.equal(f.uncommittedChanges, false, "counted from a committed tree");
        for (const cloud of ["aws", "azure", "gcp"]) {
            assert.ok(f.vms[cloud] > 0, `${cloud} VMs in the run`);
            const rows = f.rows.filter((r) => r.cloud === cloud && r.limited);
            assert.ok(rows.some((r) => r.byProviders > 0) && rows.some((r) => r.requests > r.byProviders), `${cloud}: both counted`);
        }
        assert.deepEqual(
            f.rows.filter((r) => r.throttled > 0).map((r) => `${r.cloud} ${r.cls}`),
            [],
            "a throttled run counts retries: the tables are per request made once",
        );
    });

    it("no cloud's table states fewer requests per VM chain than were counted, for the providers or for the steps", () => {
        const c = perVm(counted());
        const short = Object.entries(TABLES).flatMap(([cloud, table]) =>
            understated(
                table,
                c.filter((x) => x.cloud === cloud),
            ),
        );
        assert.deepEqual(short, []);
    });
});
