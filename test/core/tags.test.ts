import { strict as assert } from "assert";
import * as path from "path";
import { readAwsConfig } from "../../components/aws/config";
import { readAzureConfig } from "../../components/azure/config";
import { identities, paths } from "../../components/registry/clouds";
import { MAX_USER_TAGS } from "../../components/core/config-values";
import { InputError } from "../../components/core/contract/problems";
import { planDocument } from "../../components/tools/offline/render";
import { runOffline } from "../../components/tools/offline/run";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { readGcpConfig } from "../../components/gcp/config";

const root = path.resolve(__dirname, "../..");
const source = (values: Record<string, unknown>) =>
    configSourceOf({
        values: Object.fromEntries(Object.entries(values).map(([k, v]) => [`bootloop-rescue:${k}`, JSON.stringify(v)])),
        secretKeys: [],
    });
const problems = (read: () => unknown): string[] => {
    try {
        read();
    } catch (err) {
        assert.ok(err instanceof InputError, String(err));
        return err.problems.map((p) => `${p.file} ${p.field}: ${p.message}`);
    }
    return [];
};
const readers = {
    aws: readAwsConfig,
    azure: readAzureConfig,
    gcp: (c: Parameters<typeof readGcpConfig>[0], f: string) => ({ tags: readGcpConfig(c, f).labels }),
};

describe("user tags (config tags, awsTags, azureTags, gcpLabels)", () => {
    it("each cloud takes the common tags when they fit its rules", () => {
        for (const read of Object.values(readers))
            assert.deepEqual(read(source({ tags: { "cost-center": "cc-4711", owner: "" } }), "Pulumi.prod.yaml").tags, {
                "cost-center": "cc-4711",
                owner: "",
            });
    });

    it("refuses, naming file, key and entry, what a cloud does not accept, and says how to give that cloud its own", () => {
        const config = source({ tags: { CostCenter: "4711" } });
        assert.deepEqual(readAwsConfig(config, "f").tags, { CostCenter: "4711" });
        assert.deepEqual(readAzureConfig(config, "f").tags, { CostCenter: "4711" });
        const [gcp] = problems(() => readGcpConfig(config, "Pulumi.prod.yaml"));
        assert.match(
            gcp,
            /^Pulumi\.prod\.yaml bootloop-rescue:tags: entry "CostCenter": "4711" is not a valid label; expected a key of 1-63 lowercase .*; set gcpLabels to give this cloud its own labels$/,
        );
        // The override replaces the common map on its cloud only.
        const both = source({ tags: { CostCenter: "4711" }, gcpLabels: { "cost-center": "4711" } });
        assert.deepEqual(readGcpConfig(both, "f").labels, { "cost-center": "4711" });
        assert.deepEqual(readAwsConfig(both, "f").tags, { CostCenter: "4711" });
        assert.match(problems(() => readAzureConfig(source({ tags: { "a/b": "x" } }), "f"))[0], /entry "a\/b": "x" is not a valid tag/);
        assert.match(problems(() => readAwsConfig(source({ tags: { team: "a;b" } }), "f"))[0], /entry "team": "a;b" is not a valid tag/);
        assert.match(problems(() => readAwsConfig(source({ awsTags: ["x"] }), "f"))[0], /bootloop-rescue:awsTags: expected a map/);
    });

    it("never lets a user tag touch the marks the stack reads back, nor a key the cloud reserves", () => {
        assert.match(
            problems(() => readAwsConfig(source({ tags: { "bootloop-rescue:role": "backup" } }), "f"))[0],
            /keys starting with bootloop-rescue are the stack's own/,
        );
        assert.match(problems(() => readGcpConfig(source({ tags: { "bootloop-rescue-role": "scratch" } }), "f"))[0], /the stack's own/);
        assert.match(
            problems(() => readAwsConfig(source({ tags: { "AWS:cloudformation": "x" } }), "f"))[0],
            /the cloud reserves keys starting with aws:/,
        );
        assert.match(
            problems(() => readAzureConfig(source({ tags: { "Microsoft.Owner": "x" } }), "f"))[0],
            /reserves keys starting with microsoft/,
        );
        assert.match(problems(() => readGcpConfig(source({ tags: { "goog-x": "y" } }), "f"))[0], /reserves keys starting with goog/);
        assert.match(problems(() => readAwsConfig(source({ tags: { Name: "mine" } }), "f"))[0], /the stack sets Name itself/);
    });

    it("keeps each resource under its cloud's tag limit", () => {
        const many = Object.fromEntries(Array.from({ length: MAX_USER_TAGS + 1 }, (_, i) => [`k${i}`, "v"]));
        for (const read of Object.values(readers))
            assert.match(
                problems(() => read(source({ tags: many }), "f")).pop()!,
                new RegExp(`${MAX_USER_TAGS + 1} (tag|label)s; at most ${MAX_USER_TAGS}`),
            );
    });

    it("puts the stack's tags on every taggable resource the dev stack declares, on every cloud", async function () {
        this.timeout(120_000);
        const config = readStackConfig(root, "dev");
        const want = JSON.parse(config.values["bootloop-rescue:tags"]) as Record<string, string>;
        assert.ok(Object.keys(want).length > 0, "the dev stack sets tags");
        const run = await runOffline({ stack: "dev", config, baseDir: root, identities, paths, details: true });
        const resources = (
            JSON.parse(JSON.stringify(planDocument(run, "dev"))) as {
                resources: { type: string; name: string; inputs: Record<string, unknown>; ignoreChanges?: string[] }[];
            }
        ).resources;
        const clouds = new Set<string>();
        const untagged = new Set<string>();
        for (const r of resources) {
            const cloud = r.type.split(":")[0];
            if (!["aws", "azure-native", "gcp"].includes(cloud) || r.type.startsWith(`${cloud}:index`) || r.type.startsWith("pulumi:"))
                continue;
            // GCP instances' tags are network tags: their labels are what carries metadata.
            const carried = (cloud === "gcp" ? r.inputs.labels : r.inputs.tags) as Record<string, string> | undefined;
            if (carried === undefined || Array.isArray(carried)) {
                untagged.add(r.type);
                continue;
            }
            clouds.add(cloud);
            for (const [k, v] of Object.entries(want)) assert.equal(carried[k], v, `${r.type} ${r.name} lacks ${k}`);
        }
        assert.deepEqual([...clouds].sort(), ["aws", "azure-native", "gcp"]);
        // Updating a Run Command runs it again: new tags must not repeat a repair or resend the tools.
        const runCommands = resources.filter((r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine");
        assert.ok(runCommands.length >= 2);
        for (const r of runCommands) assert.ok(r.ignoreChanges?.includes("tags"), `${r.name} would run again when the tags change`);
        // What stays untagged takes no tags or labels at all in its provider.
        assert.deepEqual([...untagged].sort(), [
            "aws:ec2/volumeAttachment:VolumeAttachment",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "gcp:compute/attachedDisk:AttachedDisk",
            "gcp:compute/firewall:Firewall",
            "gcp:compute/projectMetadataItem:ProjectMetadataItem",
            "gcp:secretmanager/secretIamMember:SecretIamMember",
            "gcp:serviceaccount/account:Account",
        ]);
    });
});
