import { strict as assert } from "assert";
import * as path from "path";
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { identities, paths } from "../../components/registry/clouds";
import { PlannedResource } from "../../components/tools/offline/capture";
import { planDocument } from "../../components/tools/offline/render";
import { runOffline } from "../../components/tools/offline/run";
import { readStackConfig } from "../../components/tools/offline/stack-config";
import {
    DISK_TYPES,
    KEPT_ROLES,
    POLICIES,
    SCRATCH_ROLE,
    disksHaveARole,
    keysStaySecret,
    onlyScratchDisksDeletable,
    rescueImdsV2,
    rescueNoInbound,
    rescueNoPublicIp,
    roleOf,
    wavesGateOnPreviousWave,
} from "../../policy/rules";

const root = path.resolve(__dirname, "../..");

/** A resource as `npm run plan -- --json` lists it; the tests reach into its inputs freely. */
type Planned = PlannedResource & { inputs: Record<string, any> };

let planned: Planned[];
before(async function () {
    this.timeout(120_000);
    const run = await runOffline({ stack: "dev", config: readStackConfig(root, "dev"), baseDir: root, identities, paths, details: true });
    planned = (JSON.parse(JSON.stringify(planDocument(run, "dev"))) as { resources: Planned[] }).resources;
});

const urnOf = (r: Planned) => `urn:pulumi:dev::bootloop-rescue::${r.type}::${r.name}`;
const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** What the engine hands validateResource for a planned resource. */
function resourceArgs(r: Planned, opts: Partial<ResourceValidationArgs["opts"]> = {}): ResourceValidationArgs {
    return {
        type: r.type,
        props: r.inputs,
        urn: urnOf(r),
        name: r.name,
        opts: {
            protect: r.protect,
            ignoreChanges: r.ignoreChanges,
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
            parent: r.parent,
            ...opts,
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T>() => ({}) as T,
        notApplicable: () => {
            throw new Error("not applicable");
        },
    };
}

function violations(policy: ResourceValidationPolicy, r: Planned, opts: Partial<ResourceValidationArgs["opts"]> = {}): string[] {
    const out: string[] = [];
    const validate = policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void;
    validate(resourceArgs(r, opts), (m) => out.push(m));
    return out;
}

/** The stack as validateStack sees it: resources with their dependencies resolved. */
function stackViolations(policy: StackValidationPolicy, resources: Planned[]): string[] {
    const byName = new Map<string, PolicyResource>();
    for (const r of resources) byName.set(r.name, { ...resourceArgs(r), dependencies: [], propertyDependencies: {} });
    for (const r of resources)
        byName.get(r.name)!.dependencies = r.dependsOn.map((d) => byName.get(d)).filter((d): d is PolicyResource => !!d);
    const out: string[] = [];
    const validate = policy.validateStack as (a: unknown, report: (m: string) => void) => void;
    validate({ resources: [...byName.values()], stackTags: new Map(), getConfig: () => ({}), notApplicable: () => {} }, (m) => out.push(m));
    return out;
}

const find = (pred: (r: Planned) => boolean, what: string): Planned => {
    const r = planned.find(pred);
    assert.ok(r, what);
    return copy(r);
};

describe("policy pack: the dev stack's offline plan passes every rule", () => {
    it("no resource violates a resource rule, and the stack passes the wave rule", () => {
        for (const policy of POLICIES) {
            if ("validateResource" in policy)
                for (const r of planned) assert.deepEqual(violations(policy, r), [], `${policy.name}: ${r.name}`);
            else assert.deepEqual(stackViolations(policy as StackValidationPolicy, planned), [], policy.name);
        }
        assert.ok(POLICIES.every((p) => p.enforcementLevel === "mandatory"));
    });

    it("the role the disk rules read matches the option the engine cannot show them: kept roles retainOnDelete, scratch not", () => {
        // Every strategy, so restored disks are in it too.
        const disks = planned.filter((r) => DISK_TYPES.has(r.type));
        assert.ok(disks.some((r) => roleOf(r.inputs) === "restored") && disks.some((r) => roleOf(r.inputs) === SCRATCH_ROLE));
        for (const r of disks) {
            const role = roleOf(r.inputs)!;
            assert.ok(KEPT_ROLES.includes(role) || role === SCRATCH_ROLE, r.name);
            assert.equal(r.retainOnDelete, KEPT_ROLES.includes(role), `${r.name} (${role})`);
        }
    });
});

describe("policy pack: each rule refuses what it guards against", () => {
    it("disks-have-a-role: an original OS disk imported into the stack, or a disk without a role", () => {
        const fixed = find((r) => r.type === "azure-native:compute:Disk" && r.name.endsWith("-fixed"), "an Azure fixed disk");
        fixed.inputs.tags["bootloop-rescue-role"] = "original-boot";
        assert.match(
            violations(disksHaveARole, fixed)[0],
            /role "original-boot"; the stack may only manage backup, scratch, fixed and restored disks/,
        );
        const volume = find((r) => r.type === "aws:ebs/volume:Volume", "an AWS volume");
        delete volume.inputs.tags["bootloop-rescue:role"];
        assert.match(violations(disksHaveARole, volume)[0], /role \(none\)/);
        const snapshot = find((r) => r.type === "gcp:compute/snapshot:Snapshot", "a GCP snapshot");
        snapshot.inputs.labels = {};
        assert.equal(violations(disksHaveARole, snapshot).length, 1);
    });

    it("only-scratch-disks-deletable: a protected scratch disk; a kept disk replaced delete-first", () => {
        const scratch = find((r) => r.name.endsWith("-scratch") && r.type === "gcp:compute/disk:Disk", "a GCP scratch disk");
        assert.match(violations(onlyScratchDisksDeletable, scratch, { protect: true })[0], /scratch disk is protected/);
        const backup = find((r) => r.name.endsWith("-backup") && r.type === "aws:ebs/snapshot:Snapshot", "an AWS backup");
        assert.match(
            violations(onlyScratchDisksDeletable, backup, { deleteBeforeReplace: true })[0],
            /backup disk with deleteBeforeReplace/,
        );
        assert.deepEqual(
            violations(onlyScratchDisksDeletable, scratch, { deleteBeforeReplace: true }),
            [],
            "a scratch disk may be replaced any way",
        );
    });

    it("rescue-vm-no-public-ip: on each cloud", () => {
        const aws = find((r) => r.type === "aws:ec2/instance:Instance", "an AWS rescue instance");
        aws.inputs.associatePublicIpAddress = true;
        assert.match(violations(rescueNoPublicIp, aws)[0], /associatePublicIpAddress must be false/);
        delete aws.inputs.associatePublicIpAddress;
        assert.equal(violations(rescueNoPublicIp, aws).length, 1, "left to the subnet's default is refused too");
        const nic = find((r) => r.type === "azure-native:network:NetworkInterface", "an Azure rescue NIC");
        nic.inputs.ipConfigurations[0].publicIPAddress = { id: "pip" };
        assert.match(violations(rescueNoPublicIp, nic)[0], /has a public IP address/);
        const gcp = find((r) => r.type === "gcp:compute/instance:Instance", "a GCP rescue instance");
        gcp.inputs.networkInterfaces = [{ network: "default", accessConfigs: [{}] }];
        assert.match(violations(rescueNoPublicIp, gcp)[0], /external access config/);
    });

    it("rescue-vm-no-inbound-allow: an ingress rule, an inbound Allow, an INGRESS allow firewall", () => {
        const sg = find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup", "an AWS security group");
        sg.inputs.ingress = [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }];
        assert.match(violations(rescueNoInbound, sg)[0], /1 ingress rule/);
        const nsg = find((r) => r.type === "azure-native:network:NetworkSecurityGroup", "an Azure NSG");
        assert.deepEqual(violations(rescueNoInbound, nsg), [], "the deny-all-inbound rule is fine");
        nsg.inputs.securityRules.push({ name: "ssh", direction: "Inbound", access: "Allow", priority: 100 });
        assert.match(violations(rescueNoInbound, nsg)[0], /inbound Allow rule ssh/);
        const fw = find((r) => r.type === "gcp:compute/firewall:Firewall", "a GCP firewall");
        fw.inputs.allows = [{ protocol: "tcp", ports: ["22"] }];
        assert.match(violations(rescueNoInbound, fw)[0], /INGRESS firewall rule that allows/);
    });

    it("rescue-vm-imdsv2: optional tokens or a hop limit over 1", () => {
        const aws = find((r) => r.type === "aws:ec2/instance:Instance", "an AWS rescue instance");
        aws.inputs.metadataOptions.httpTokens = "optional";
        aws.inputs.metadataOptions.httpPutResponseHopLimit = 2;
        assert.deepEqual(
            violations(rescueImdsV2, aws).map((m) => m.replace(/^[^:]+: /, "")),
            ['metadataOptions.httpTokens must be "required" (IMDSv2)', "metadataOptions.httpPutResponseHopLimit must be 1"],
        );
    });

    it("inventory-secrets-stay-secret: a recovery password in a tag or a script line; the same in a command's environment is allowed", () => {
        const password = "123456-234567-345678-456789-567890-678901-789012-890123";
        const backup = find((r) => r.name.endsWith("-backup") && r.type === "aws:ebs/snapshot:Snapshot", "an AWS backup");
        backup.inputs.tags.note = `key ${password}`;
        assert.match(violations(keysStaySecret, backup)[0], /tags\.note holds a BitLocker recovery password/);
        const command = find((r) => r.type === "command:local:Command" && r.name.endsWith("-repair"), "a repair command");
        command.inputs.create = `${command.inputs.create} ${password}`;
        assert.match(violations(keysStaySecret, command)[0], /create holds a BitLocker recovery password/);
        const inEnv = find((r) => r.type === "command:local:Command" && r.name.endsWith("-repair"), "a repair command");
        inEnv.inputs.environment = { ...(inEnv.inputs.environment ?? {}), BITLOCKER_KEY: password };
        assert.deepEqual(violations(keysStaySecret, inEnv), []);
        const runCommand = find(
            (r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine" && r.name.endsWith("-repair"),
            "an Azure repair",
        );
        runCommand.inputs.parameters.push({ name: "BITLOCKER_BEK", value: "QUJD".repeat(200) });
        assert.match(violations(keysStaySecret, runCommand)[0], /parameters\[1\]\.value holds a long base64 value that may be a key file/);
        // The rescue tools' project metadata items carry base64 by design; no other item may.
        const item = find((r) => r.type === "gcp:compute/projectMetadataItem:ProjectMetadataItem", "a GCP tools item");
        assert.deepEqual(violations(keysStaySecret, item), []);
        const other = copy(item);
        other.inputs.key = "my-own-item";
        assert.match(violations(keysStaySecret, other)[0], /value holds a long base64 value that may be a key file/);
    });

    it("waves-gate-on-previous-wave: a chain that skips its gate, a gate that skips a VM, a missing gate", () => {
        const gate = planned.find((r) => r.name === "wave-1-gate")!;
        assert.ok(gate && gate.dependsOn.length === 1, "the dev stack's canary wave has one VM");
        // A wave-1 chain whose first step lost its gate joins the first wave, and the gate does not wait for it.
        const skipping = copy(planned);
        const first = skipping.find((r) => r.dependsOn.includes("wave-1-gate") && /-(backup|reboot|restored)$/.test(r.name))!;
        first.dependsOn = first.dependsOn.filter((d) => d !== "wave-1-gate");
        assert.match(
            stackViolations(wavesGateOnPreviousWave, skipping).join("\n"),
            /wave-1-gate: does not wait for .*-(swap|reboot), the verified boot of a VM in the wave before it/,
        );
        const blind = copy(planned);
        blind.find((r) => r.name === "wave-1-gate")!.dependsOn = [];
        assert.match(
            stackViolations(wavesGateOnPreviousWave, blind)[0],
            /wave-1-gate: does not wait for i-0123456789abcdef0-[0-9a-f]+-swap/,
        );
        const gateless = copy(planned).filter((r) => r.name !== "wave-1-gate");
        for (const r of gateless) r.dependsOn = r.dependsOn.filter((d) => d !== "wave-1-gate");
        assert.deepEqual(
            stackViolations(wavesGateOnPreviousWave, gateless),
            [],
            "without the gate every chain is in one wave: nothing to check",
        );
        const orphan = copy(planned);
        orphan.push({ ...copy(gate), name: "wave-2-gate", dependsOn: [] });
        assert.match(stackViolations(wavesGateOnPreviousWave, orphan).join("\n"), /wave-2-gate: no chain starts behind it/);
    });
});
