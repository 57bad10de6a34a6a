import { strict as assert } from "assert";
import { readInventory, parseCsvInventory, parseYamlInventory } from "../../components/core/inventory/read";
import { InputError } from "../../components/core/contract/problems";
import { tempDir } from "../helpers/lab-run";

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
        return err.problems.map((p) => JSON.stringify(p));
    }
    assert.fail("expected an InputError");
}

describe("inventory reading", () => {
    it("reads YAML entries with their line numbers, field lines and defaults", () => {
        const inv = parseYamlInventory(
            "inv.yaml",
            "defaults:\n  strategy: repair\nvms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1\n",
        );
        assert.equal(inv.entries.length, 2);
        assert.equal(inv.entries[0].line, 4);
        assert.equal(inv.entries[1].line, 7);
        assert.equal(inv.entries[1].fieldLines.instance, 10);
        assert.deepEqual(inv.defaults?.values, { strategy: "repair" });
        assert.equal(inv.entries[0].values.instanceId, "i-0123456789abcdef0");
    });

    it("reads CSV with a header row, empty cells as absent and labels as key=value pairs", () => {
        const inv = parseCsvInventory(
            "inv.csv",
            "cloud,region,instanceId,subscriptionId,resourceGroup,vmName,labels,wave\n" +
                "aws,us-east-1,i-0123456789abcdef0,,,,app=billing;tier=web,0\n" +
                "azure,,,11111111-2222-3333-4444-555555555555,rg-app,app-01,,\n",
        );
        assert.equal(inv.entries.length, 2);
        assert.deepEqual(inv.entries[0].values, {
            cloud: "aws",
            region: "us-east-1",
            instanceId: "i-0123456789abcdef0",
            labels: { app: "billing", tier: "web" },
            wave: "0",
        });
        assert.equal(inv.entries[1].line, 3);
        assert.equal(inv.entries[1].values.region, undefined);
    });

    it("reads a CSV exported with a byte-order mark and CRLF line ends", () => {
        const inv = parseCsvInventory("inv.csv", "\ufeffcloud,project,zone,instance\r\ngcp,my-project,us-central1-a,web-1\r\n");
        assert.deepEqual(inv.entries[0].values, { cloud: "gcp", project: "my-project", zone: "us-central1-a", instance: "web-1" });
    });

    it("picks the parser by file extension", () => {
        const dir = tempDir({
            "a.csv": "cloud,project,zone,instance\ngcp,my-project,us-central1-a,web-1\n",
            "a.yml": "vms:\n  - cloud: gcp\n",
        });
        assert.equal(readInventory("a.csv", dir).entries[0].values.instance, "web-1");
        assert.equal(readInventory("a.yml", dir).entries[0].values.cloud, "gcp");
    });

    it("names the file for an unreadable file", () => {
        const [p] = problemsOf(() => readInventory("missing.yaml", tempDir({})));
        assert.match(p, /"file":"missing.yaml".*cannot read the inventory: ENOENT/);
    });

    it("names the file and line for unparsable YAML, and for duplicate keys", () => {
        assert.match(
            problemsOf(() => parseYamlInventory("inv.yaml", "vms:\n  - cloud: aws\n   region: [\n"))[0],
            /"line":\d.*not valid YAML/,
        );
        assert.match(problemsOf(() => parseYamlInventory("inv.yaml", "vms:\n  - cloud: aws\n    cloud: gcp\n"))[0], /not valid YAML/);
    });

    it("names the line for unparsable CSV", () => {
        assert.match(
            problemsOf(() => parseCsvInventory("inv.csv", 'cloud,region\naws,"us-east-1\n'))[0],
            /"file":"inv.csv".*not valid CSV/,
        );
    });

    it("rejects an empty inventory, a missing vms list and unknown top-level keys", () => {
        assert.match(problemsOf(() => parseYamlInventory("inv.yaml", "vms: []\n"))[0], /lists no VMs/);
        assert.match(problemsOf(() => parseYamlInventory("inv.yaml", ""))[0], /expected a YAML map/);
        assert.match(problemsOf(() => parseYamlInventory("inv.yaml", "defaults: {}\n"))[0], /lists no VMs/);
        assert.match(problemsOf(() => parseCsvInventory("inv.csv", "cloud,region\n"))[0], /no data rows/);
        const unknown = problemsOf(() => parseYamlInventory("inv.yaml", "vm:\n  - cloud: aws\n"));
        assert.ok(unknown.some((p) => /"field":"vm".*unknown top-level key/.test(p)));
    });
});
