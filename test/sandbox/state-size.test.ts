import { strict as assert } from "assert";
import { shortHash } from "../../components/core/contract/identity";
import { renderStateSize, stateSize } from "../../sandbox/state-size";

// The state's weight per VM (`npm run sandbox -- state-size`): each resource goes to the VM whose
// chain it belongs to (by the hash its stem ends with), the rest is shared.

const urn = (type: string, name: string) => `urn:pulumi:dev::bootloop-rescue::bootloop-rescue:core:Recovery$${type}::${name}`;

describe("sandbox: the state's weight per VM", () => {
    const vms = {
        "us-east-1/i-0123456789abcdef0": { cloud: "aws", strategy: "repair" },
        "us-east-1/i-0fedcba9876543210": { cloud: "aws", strategy: "repair" },
        "my-project/us-central1-a/web-3": { cloud: "gcp", strategy: "reboot" },
    };
    const stem = (cloud: string, key: string, short: string) => `${short}-${shortHash(`${cloud}\n${key}`)}`;
    const a = stem("aws", "us-east-1/i-0123456789abcdef0", "i-0123456789abcdef0");
    const b = stem("aws", "us-east-1/i-0fedcba9876543210", "i-0fedcba9876543210");
    const g = stem("gcp", "my-project/us-central1-a/web-3", "web-3");
    const resources = [
        { urn: urn("aws:ebs/snapshot:Snapshot", `${a}-backup`), type: "aws:ebs/snapshot:Snapshot", outputs: { id: "snap-1" } },
        { urn: urn("command:local:Command", `${a}-swap`), type: "command:local:Command", outputs: { stdout: "x".repeat(500) } },
        { urn: urn("aws:ebs/snapshot:Snapshot", `${b}-backup`), type: "aws:ebs/snapshot:Snapshot", outputs: { id: "snap-2" } },
        { urn: urn("command:local:Command", `${g}-reboot`), type: "command:local:Command", outputs: {} },
        {
            urn: urn("aws:ec2/instance:Instance", "rescue-aws-us-east-1b-6d570859-0"),
            type: "aws:ec2/instance:Instance",
            outputs: { userData: "y".repeat(900) },
        },
        { urn: urn("command:local:Command", "wave-1-gate"), type: "command:local:Command" },
        // The stack's `vms` output: each record is its VM's.
        {
            urn: "urn:pulumi:dev::bootloop-rescue::pulumi:pulumi:Stack::bootloop-rescue-dev",
            type: "pulumi:pulumi:Stack",
            outputs: { vms: { "us-east-1/i-0123456789abcdef0": { status: "recovered", evidence: "e".repeat(300) } } },
        },
        // A component named like a step is not the step.
        { urn: urn("bootloop-rescue:core:Zone", `${a}-repair`), type: "bootloop-rescue:core:Zone" },
    ];
    const bytes = (r: object) => Buffer.byteLength(JSON.stringify(r));

    it("gives each VM its chain's resources, the rest to shared, and averages per cloud and strategy", () => {
        const size = stateSize(resources, vms);
        const total = resources.reduce((n, r) => n + bytes(r), 0);
        assert.equal(size.totalBytes, total);
        assert.equal(size.vms, 3);
        assert.equal(size.resources, 8);
        const key = "us-east-1/i-0123456789abcdef0";
        const record = bytes({ status: "recovered", evidence: "e".repeat(300) }) + Buffer.byteLength(JSON.stringify(key)) + 2;
        assert.equal(size.sharedBytes, bytes(resources[4]) + bytes(resources[5]) + bytes(resources[6]) - record + bytes(resources[7]));
        assert.equal(size.unmatchedBytes, 0);
        assert.deepEqual(size.groups, [
            {
                cloud: "aws",
                strategy: "repair",
                vms: 2,
                bytesPerVm: Math.round((bytes(resources[0]) + bytes(resources[1]) + bytes(resources[2]) + record) / 2),
            },
            { cloud: "gcp", strategy: "reboot", vms: 1, bytesPerVm: bytes(resources[3]) },
        ]);
        assert.equal(size.totalPerVm, Math.round(total / 3));
        // Each group's average is rounded: at most half a byte per VM off.
        const summed = size.sharedBytes + size.groups.reduce((n, g) => n + g.vms * g.bytesPerVm, 0);
        assert.ok(Math.abs(summed - total) <= size.groups.reduce((n, g) => n + g.vms / 2, 0), "chains, records and shared make the whole");
    });

    it("counts a chain of no VM in the output apart, and says whether the total is within the bound", () => {
        const stray = { urn: urn("aws:ebs/volume:Volume", "i-0aaaabbbbccccdddd-00000000-scratch"), type: "aws:ebs/volume:Volume" };
        const size = stateSize([...resources, stray], vms);
        assert.equal(size.unmatchedBytes, bytes(stray));
        const text = renderStateSize(size);
        assert.match(text, /^3 VMs, 9 resources, [\d.]+ KiB of state \(compact JSON\): [\d.]+ KiB per VM \(bound 20\.0 KiB: within\)/);
        assert.match(text, /aws +repair +2 VMs/);
        assert.match(text, /chain resources of no VM in the output/);
        const heavy = stateSize([{ urn: urn("x:y:Z", "shared"), type: "x:y:Z", blob: "z".repeat(70000) }], vms);
        assert.match(renderStateSize(heavy), /OVER/);
    });
});
