// The rules of bootloop-rescue's policy pack, one policy each. They read what the engine hands a
// policy: every resource's type, inputs, options (protect, ignoreChanges, deleteBeforeReplace,
// parent) and, for the stack rules, dependencies. The engine does not hand a policy `retainOnDelete`
// (Pulumi's analyzer protocol has no such field), nor the deletes an update would make: the rules
// about keeping disks read the role every disk is tagged with, and the tests of the program check
// that each role carries its option (test/cli/plan.test.ts).
import { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { KEPT_DISK_STEPS, ROLE_TAGS, SCRATCH_DISK_STEP, chainStepOf, waveOfGate } from "./chain-names";

/** Disks, volumes and snapshots the program can declare, per cloud. */
export const DISK_TYPES = new Set([
    "aws:ebs/snapshot:Snapshot",
    "aws:ebs/volume:Volume",
    "aws:ebs/volumeCopy:VolumeCopy",
    "azure-native:compute:Snapshot",
    "azure-native:compute:Disk",
    "gcp:compute/snapshot:Snapshot",
    "gcp:compute/disk:Disk",
]);

/** What a disk of the stack may be (its role is its chain step): kept, or deleted at teardown. */
export const KEPT_ROLES: readonly string[] = KEPT_DISK_STEPS;
export const SCRATCH_ROLE: string = SCRATCH_DISK_STEP;

/** A disk's role: the tag (AWS `bootloop-rescue:role`, Azure and GCP `bootloop-rescue-role`). */
export function roleOf(props: Record<string, unknown>): string | undefined {
    const tags = (props.tags ?? props.labels ?? {}) as Record<string, unknown>;
    const role = ROLE_TAGS.map((t) => tags[t]).find((v) => v !== undefined && v !== null);
    return typeof role === "string" ? role : undefined;
}

const RESCUE = /^rescue-/;

/** The inputs of the rescue fleet's VMs, network and firewall resources that the rules below read. */
interface RescueProps {
    associatePublicIpAddress?: unknown;
    networkInterfaces?: { associatePublicIpAddress?: unknown; accessConfigs?: unknown[]; ipv6AccessConfigs?: unknown[] }[];
    ipConfigurations?: { name?: string; publicIPAddress?: unknown }[];
    ingress?: unknown[];
    type?: unknown;
    securityRules?: { direction?: unknown; access?: unknown; name?: string }[];
    direction?: unknown;
    access?: unknown;
    allows?: unknown[];
    metadataOptions?: { httpTokens?: unknown; httpPutResponseHopLimit?: number };
}

/** Every disk of the stack says what it is; a disk without a role (an imported original OS disk) would be deleted by `pulumi destroy`. */
export const disksHaveARole: ResourceValidationPolicy = {
    name: "disks-have-a-role",
    description:
        "Every disk, volume and snapshot the stack declares is a backup, scratch, fixed or restored disk (tagged with its role); no other disk, and never an original OS disk, is managed by the stack.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!DISK_TYPES.has(args.type)) return;
        const role = roleOf(args.props);
        if (role === undefined || ![...KEPT_ROLES, SCRATCH_ROLE].includes(role)) {
            report(
                `${args.name}: a ${args.type} with role ${role === undefined ? "(none)" : JSON.stringify(role)}; the stack may only manage backup, scratch, fixed and restored disks (an original OS disk must never become a stack resource: destroy would delete it)`,
            );
        }
    },
};

/** Only scratch disks may go: kept disks are never protected away from teardown nor replaced by delete-first. */
export const onlyScratchDisksDeletable: ResourceValidationPolicy = {
    name: "only-scratch-disks-deletable",
    description:
        "Scratch disks are the only disks the stack deletes: a backup, fixed or restored disk must not be replaced delete-first or have its source changed (which would replace it); a scratch disk must not be protected (teardown deletes it).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!DISK_TYPES.has(args.type)) return;
        const role = roleOf(args.props);
        if (role === SCRATCH_ROLE && args.opts.protect) report(`${args.name}: a scratch disk is protected; teardown could not delete it`);
        if (role !== undefined && KEPT_ROLES.includes(role) && args.opts.deleteBeforeReplace)
            report(`${args.name}: a ${role} disk with deleteBeforeReplace would be deleted before its replacement exists`);
    },
};

function tagsOf(props: Record<string, unknown>): Record<string, unknown> {
    return (props.tags ?? props.labels ?? {}) as Record<string, unknown>;
}

/** Whether a resource is part of the rescue fleet: its name, or its role tag. */
function isRescue(args: { name: string; props: Record<string, unknown> }): boolean {
    return RESCUE.test(args.name) || roleOf(args.props) === "rescue" || tagsOf(args.props)[ROLE_TAGS[0]] === "rescue";
}

/** Rescue VMs are reachable only through their cloud's agent channel. */
export const rescueNoPublicIp: ResourceValidationPolicy = {
    name: "rescue-vm-no-public-ip",
    description: "Rescue VMs have no public IP address (AWS associatePublicIpAddress, Azure NIC public IP, GCP access config).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isRescue(args)) return;
        const p = args.props as RescueProps;
        if (args.type === "aws:ec2/instance:Instance") {
            if (p.associatePublicIpAddress !== false) report(`${args.name}: associatePublicIpAddress must be false`);
            for (const ni of p.networkInterfaces ?? [])
                if (ni.associatePublicIpAddress) report(`${args.name}: a network interface with a public IP`);
        } else if (args.type === "azure-native:network:NetworkInterface") {
            for (const ip of p.ipConfigurations ?? [])
                if (ip.publicIPAddress) report(`${args.name}: ip configuration ${ip.name ?? "?"} has a public IP address`);
        } else if (args.type === "azure-native:network:PublicIPAddress") {
            report(`${args.name}: a public IP address for the rescue fleet`);
        } else if (args.type === "gcp:compute/instance:Instance") {
            for (const ni of p.networkInterfaces ?? [])
                if ((ni.accessConfigs ?? []).length > 0 || (ni.ipv6AccessConfigs ?? []).length > 0)
                    report(`${args.name}: a network interface with an external access config`);
        }
    },
};

/** Rescue VMs take no inbound traffic: their repair channel needs none. */
export const rescueNoInbound: ResourceValidationPolicy = {
    name: "rescue-vm-no-inbound-allow",
    description:
        "No rule lets traffic in to the rescue fleet: AWS security groups have no ingress, Azure NSGs no inbound Allow rule, GCP firewalls no INGRESS allow.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isRescue(args)) return;
        const p = args.props as RescueProps;
        switch (args.type) {
            case "aws:ec2/securityGroup:SecurityGroup":
                if ((p.ingress ?? []).length > 0) report(`${args.name}: ${p.ingress!.length} ingress rule(s)`);
                break;
            case "aws:ec2/securityGroupRule:SecurityGroupRule":
                if (p.type === "ingress") report(`${args.name}: an ingress rule`);
                break;
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
                report(`${args.name}: an ingress rule`);
                break;
            case "azure-native:network:NetworkSecurityGroup":
                for (const r of p.securityRules ?? [])
                    if (r.direction === "Inbound" && r.access === "Allow") report(`${args.name}: inbound Allow rule ${r.name ?? "?"}`);
                break;
            case "azure-native:network:SecurityRule":
                if (p.direction === "Inbound" && p.access === "Allow") report(`${args.name}: an inbound Allow rule`);
                break;
            case "gcp:compute/firewall:Firewall":
                if ((p.direction ?? "INGRESS") === "INGRESS" && (p.allows ?? []).length > 0)
                    report(`${args.name}: an INGRESS firewall rule that allows traffic`);
                break;
        }
    },
};

/** AWS rescue instances answer metadata only with a session token (IMDSv2), one hop. */
export const rescueImdsV2: ResourceValidationPolicy = {
    name: "rescue-vm-imdsv2",
    description:
        "AWS rescue instances require IMDSv2 (metadataOptions.httpTokens required, hop limit 1): a guest disk they mount cannot reach their role's credentials through a forwarded request.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:ec2/instance:Instance" || !isRescue(args)) return;
        const m = (args.props as RescueProps).metadataOptions ?? {};
        if (m.httpTokens !== "required") report(`${args.name}: metadataOptions.httpTokens must be "required" (IMDSv2)`);
        if (m.httpPutResponseHopLimit !== undefined && m.httpPutResponseHopLimit > 1)
            report(`${args.name}: metadataOptions.httpPutResponseHopLimit must be 1`);
    },
};

/** BitLocker recovery passwords: 8 groups of 6 digits. */
const RECOVERY_PASSWORD = /\b\d{6}(?:-\d{6}){7}\b/;
/** A BEK file's identifying header as base64 (the FVE metadata of a .BEK starts with these bytes). */
const BEK_BASE64 = /(?:^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{600,}={0,2}/;

/** Where a key may travel: inputs the program marks secret (and the engine keeps encrypted). */
const SECRET_INPUTS: Record<string, string[]> = {
    "command:local:Command": ["environment"],
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": ["protectedParameters"],
};

/** Paths of string leaves in an object, with their values. */
function leaves(value: unknown, at: string, out: [string, string][]): [string, string][] {
    if (typeof value === "string") out.push([at, value]);
    else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) leaves(v, at ? `${at}.${k}` : k, out);
    return out;
}

/** A key never reaches a tag, a name, a script line or any input outside the secret ones. */
export const keysStaySecret: ResourceValidationPolicy = {
    name: "inventory-secrets-stay-secret",
    description:
        "BitLocker recovery passwords and key files reach only inputs the program marks secret (a command's environment, a Run Command's protected parameters); never a tag, label, script, name or any other input.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const allowed = SECRET_INPUTS[args.type] ?? [];
        for (const [at, text] of leaves(args.props, "", [])) {
            if (allowed.some((a) => at === a || at.startsWith(`${a}.`) || at.startsWith(`${a}[`))) continue;
            if (RECOVERY_PASSWORD.test(text))
                report(`${args.name}: ${at} holds a BitLocker recovery password (it must travel only in a secret input)`);
            else if (BEK_BASE64.test(text) && !isKnownPayload(args.type, at, args.props))
                report(`${args.name}: ${at} holds a long base64 value that may be a key file (it must travel only in a secret input)`);
        }
    },
};

/** Inputs that carry the program's own base64 payloads (the rescue tools, cloud-init), not keys. */
function isKnownPayload(type: string, at: string, props: Record<string, unknown>): boolean {
    return (
        (type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine" && at === "source.script") ||
        (type === "azure-native:compute:VirtualMachine" &&
            (at === "osProfile.customData" || at.startsWith("osProfile.linuxConfiguration.ssh"))) ||
        (type === "gcp:compute/instance:Instance" && at === "metadataStartupScript") ||
        // Only the tools' own items: any other project metadata item is held to the rule.
        (type === "gcp:compute/projectMetadataItem:ProjectMetadataItem" &&
            at === "value" &&
            typeof props.key === "string" &&
            props.key.startsWith("bootloop-rescue-tools-")) ||
        (type === "aws:ec2/instance:Instance" && at === "userData") ||
        (type === "aws:ssm/document:Document" && at === "content")
    );
}

/** A VM's chain as the stack rule sees it: its first step, its last, and the gate it waits for. */
interface Chain {
    stem: string;
    first?: PolicyResource;
    last?: PolicyResource;
    gate?: number;
}

/** The chains of the stack, by the stem of their steps' names. */
export function chainsOf(resources: PolicyResource[]): Map<string, Chain> {
    const byStem = new Map<string, PolicyResource[]>();
    for (const r of resources) {
        const hit = chainStepOf(r.name);
        if (!hit || r.type.startsWith("bootloop-rescue:")) continue;
        if (!byStem.has(hit.stem)) byStem.set(hit.stem, []);
        byStem.get(hit.stem)!.push(r);
    }
    const chains = new Map<string, Chain>();
    for (const [stem, steps] of byStem) {
        const inChain = new Set(steps.map((s) => s.urn));
        const first = steps.find((s) => !s.dependencies.some((d) => inChain.has(d.urn)));
        const last = steps.find((s) => !steps.some((o) => o !== s && o.dependencies.some((d) => d.urn === s.urn)));
        const gate = first?.dependencies.map((d) => waveOfGate(d.name)).find((w) => w !== undefined);
        chains.set(stem, { stem, first, last, gate });
    }
    return chains;
}

/** Each wave starts only when every VM of the wave before it verified its boot. */
export const wavesGateOnPreviousWave: StackValidationPolicy = {
    name: "waves-gate-on-previous-wave",
    description:
        "Every VM chain after the first wave starts behind its wave's gate, and each gate waits for the last step (the verified boot) of every chain of the wave before it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const chains = [...chainsOf(args.resources).values()];
        const gates = args.resources.flatMap((r) => {
            const wave = waveOfGate(r.name);
            return wave === undefined ? [] : [{ r, wave }];
        });
        const waves = [...new Set(chains.map((c) => c.gate ?? -1))].sort((a, b) => a - b);
        for (const c of chains)
            if (!c.first || !c.last) report(`chain ${c.stem}: its steps do not form one chain (no single first or last step)`);
        // The chains without a gate are the first wave; each gate's wave follows the one before it.
        for (const { r, wave } of gates) {
            const at = waves.indexOf(wave);
            if (at <= 0) {
                report(
                    at < 0
                        ? `${r.name}: no chain starts behind it`
                        : `${r.name}: every chain waits for a gate, so there is no first wave for it to follow`,
                );
                continue;
            }
            const before = waves[at - 1];
            const waits = new Set(r.dependencies.map((d) => d.urn));
            for (const c of chains.filter((x) => (x.gate ?? -1) === before)) {
                if (c.last && !waits.has(c.last.urn))
                    report(`${r.name}: does not wait for ${c.last.name}, the verified boot of a VM in the wave before it`);
            }
        }
        if (gates.length !== waves.length - 1)
            report(`${waves.length} waves of chains but ${gates.length} gate(s): every wave after the first needs one`);
    },
};

export const POLICIES = [
    disksHaveARole,
    onlyScratchDisksDeletable,
    rescueNoPublicIp,
    rescueNoInbound,
    rescueImdsV2,
    keysStaySecret,
    wavesGateOnPreviousWave,
];
