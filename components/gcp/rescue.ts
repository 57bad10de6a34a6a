import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { shortHash } from "../core/contract/identity";
import { LinuxRuleSet, RuleSet } from "../core/contract/settings";
import { distinctSecrets, RescueContext, RescueStep } from "../core/contract/cloud-path";
import { RESCUE_LIB, RESCUE_PACKAGES, installLine, rescueTools } from "../../rescue/payload";
import { GcpConfig } from "./config";
import { GcpFacts } from "./lookups";
import { ToolsItem, stacksSharingScope, toolsFitProjectMetadata, toolsFolder, toolsInstallLines, toolsItems } from "./tools";

/** Network tag of every rescue instance (the deny-all ingress rule targets it). */
export const RESCUE_TAG = "bootloop-rescue-rescue";
/** Most disks a rescue instance is given (GCP allows up to 128 on most machine types). */
export const GCP_MAX_DISKS_PER_RESCUE = 64;

/**
 * The rescue instance's startup script (run by the guest agent at every boot): the OS tools from
 * the Debian archive, the rescue tools of this version from the project metadata items `items`
 * (tools.ts: read from the metadata server, checked against their SHA-256, installed in a folder
 * of their own version), the agent inline (a few KB), and the agent as a systemd service that runs
 * the tools of that folder: a few KB, whatever the size of the engine. Without items (a stack
 * whose project cannot hold its copy of them: {@link toolsFitProjectMetadata}), the tools are
 * inline (gzip-base64), written where the agent runs them by default.
 */
export function startupScript(items?: readonly ToolsItem[]): string {
    const agent = fs.readFileSync(path.join(__dirname, "rescue-agent.sh"));
    return [
        "#!/bin/bash",
        "set -eu",
        `dpkg -s ${RESCUE_PACKAGES.join(" ")} >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${RESCUE_PACKAGES.join(" ")}; }`,
        ...(items ? toolsInstallLines(items) : [rescueTools().install]),
        installLine("rescue-agent.sh", agent),
        "cat > /etc/systemd/system/bootloop-rescue-agent.service <<'UNIT'",
        "[Unit]",
        "Description=bootloop-rescue: repair attached disks named br-*",
        "After=network-online.target",
        "[Service]",
        ...(items ? [`Environment=BOOTLOOP_RESCUE_LIB=${toolsFolder(rescueTools().version)}`] : []),
        `ExecStart=${RESCUE_LIB}/rescue-agent.sh`,
        "Restart=always",
        "[Install]",
        "WantedBy=multi-user.target",
        "UNIT",
        "systemctl daemon-reload",
        "systemctl enable --now bootloop-rescue-agent.service",
        "",
    ].join("\n");
}

/** Where a rescue instance is, for the steps that address it. */
export interface GcpRescueInstance {
    project: string;
    zone: string;
    name: string;
}

/**
 * The rescue instances of one run, with per project a service account that holds no role but
 * reading the key secrets of the disks repaired in this run (otherwise the agent talks only to the
 * metadata server) and per network a deny-all ingress rule for the rescue
 * tag: the repair channel needs no inbound path at all. Disks are attached by AttachedDisk
 * resources, so the instance ignores changes to its attached disks and the two never fight.
 */
/** The rescue instance's metadata key naming the engine's rule set (the stack's `ruleSet`). */
export const RULE_SET_ATTRIBUTE = "bootloop-rescue-rule-set";

/** The rescue instance's metadata key naming the engine's rule set for Linux guests' disks (the stack's `linuxRuleSet`). */
export const LINUX_RULE_SET_ATTRIBUTE = "bootloop-rescue-linux-rule-set";

/** How a Linux guest's disk's device name ends: the agent repairs it with the Linux rule set. */
export const LINUX_DEVICE_SUFFIX = "-linux";

/**
 * The rescue instance's metadata key naming the Secret Manager secret that holds the BitLocker keys
 * of the VM with this resource-name stem (a reference: the agent reads the keys with the instance's
 * own service account). The agent finds it from the disk's device name, `br-<slug>-<hash>`.
 */
export function keySecretAttribute(slug: string): string {
    return `bootloop-rescue-secret-${slug}`;
}

/**
 * The rescue instance's metadata key giving the attempt of the repair of the disk of the VM with
 * this resource-name stem, when its entry asks for a retry (`retry:`): the agent repairs a device
 * it already repaired again when this is higher than the attempt it last ran, and publishes the
 * attempt with the result (absent: the first attempt).
 */
export function attemptAttribute(slug: string): string {
    return `bootloop-rescue-attempt-${slug}`;
}

/** The secret a Secret Manager name designates, without its version: what IAM bindings are set on. */
export function secretOf(name: string): { project: string; secret: string } {
    const [, project, secret] = /^projects\/([^/]+)\/secrets\/([^/]+)/.exec(name)!;
    return { project, secret: `projects/${project}/secrets/${secret}` };
}

export class GcpRescueFleet {
    private readonly accounts = new Map<string, gcp.serviceaccount.Account>();
    private readonly readers = new Map<string, gcp.secretmanager.SecretIamMember>();
    private readonly firewalls = new Map<string, gcp.compute.Firewall>();
    private readonly details = new Map<RescueStep, GcpRescueInstance>();
    private readonly toolItems = new Map<string, { items: ToolsItem[]; resources: gcp.compute.ProjectMetadataItem[] }>();

    constructor(
        private readonly config: GcpConfig,
        private readonly providerOf: (project: string) => gcp.Provider | undefined,
        private readonly labels: Record<string, string>,
        /** The engine's rule set, the stack's `ruleSet`, in every rescue instance's metadata. */
        private readonly ruleSet: RuleSet,
        /** The engine's rule set for Linux guests, the stack's `linuxRuleSet`, beside it. */
        private readonly linuxRuleSet: LinuxRuleSet,
        /**
         * The stack: part of the rescue service account's id, which a project holds once, so stacks
         * (the shards of one incident) in one project each have their own.
         */
        private readonly stack: string,
        /**
         * The stack's `rateShare`: how many stacks may share a project (the shards of one incident),
         * and so whether each can keep its copy of the tools in the project's metadata.
         */
        private readonly rateShare: number = 1,
    ) {}

    detailsOf(rescue: RescueStep): GcpRescueInstance {
        const d = this.details.get(rescue);
        if (!d) throw new Error("internal: not a GCP rescue instance");
        return d;
    }

    private account(project: string, parent: pulumi.Resource): gcp.serviceaccount.Account {
        let account = this.accounts.get(project);
        if (!account) {
            account = new gcp.serviceaccount.Account(
                `rescue-gcp-${shortHash(`sa ${project}`)}-sa`,
                {
                    project,
                    accountId: `br-rescue-${shortHash(`sa ${this.stack} ${project}`)}`,
                    displayName: "bootloop-rescue rescue instances (may read only the key secrets of their disks)",
                },
                { parent, provider: this.providerOf(project) },
            );
            this.accounts.set(project, account);
        }
        return account;
    }

    /**
     * Lets the project's rescue service account read one secret (roles/secretmanager.secretAccessor
     * on that secret alone, a binding of its own that leaves the secret's other members as they
     * are); gone at teardown, when no rescue instance needs it.
     */
    private reader(project: string, name: string, parent: pulumi.Resource): gcp.secretmanager.SecretIamMember {
        const { project: secretProject, secret } = secretOf(name);
        const key = `${project} ${secret}`;
        let binding = this.readers.get(key);
        if (!binding) {
            binding = new gcp.secretmanager.SecretIamMember(
                `rescue-gcp-${shortHash(`secret ${key}`)}-reads-key`,
                {
                    project: secretProject,
                    secretId: secret,
                    role: "roles/secretmanager.secretAccessor",
                    member: pulumi.interpolate`serviceAccount:${this.account(project, parent).email}`,
                },
                { parent, provider: this.providerOf(project) },
            );
            this.readers.set(key, binding);
        }
        return binding;
    }

    private firewall(project: string, network: string, parent: pulumi.Resource): gcp.compute.Firewall {
        const key = `${project}/${network}`;
        let rule = this.firewalls.get(key);
        if (!rule) {
            rule = new gcp.compute.Firewall(
                `rescue-gcp-${shortHash(`fw ${key}`)}-deny-in`,
                {
                    project,
                    network,
                    description: "bootloop-rescue: rescue instances take no inbound traffic (their repair channel needs none)",
                    direction: "INGRESS",
                    priority: 0,
                    denies: [{ protocol: "all" }],
                    sourceRanges: ["0.0.0.0/0"],
                    targetTags: [RESCUE_TAG],
                },
                { parent, provider: this.providerOf(project) },
            );
            this.firewalls.set(key, rule);
        }
        return rule;
    }

    /**
     * The tools' project metadata items of a project (tools.ts), once per project for every rescue
     * instance of this stack there. Named from the bundle's hash: new tools are new items (created
     * before the instances that read them; the old ones go at the end of the update, when no
     * instance of this run reads them: an older instance has its tools on its disk already).
     */
    private tools(project: string, parent: pulumi.Resource): { items: ToolsItem[]; resources: gcp.compute.ProjectMetadataItem[] } {
        let found = this.toolItems.get(project);
        if (!found) {
            const items = toolsItems(this.stack);
            const resources = items.map(
                (item) =>
                    new gcp.compute.ProjectMetadataItem(
                        `rescue-gcp-${shortHash(`tools ${project}`)}-${item.key.slice("bootloop-rescue-".length)}`,
                        { project, key: item.key, value: item.value },
                        { parent, provider: this.providerOf(project) },
                    ),
            );
            found = { items, resources };
            this.toolItems.set(project, found);
        }
        return found;
    }

    instance(ctx: RescueContext): RescueStep {
        const { scope: project, zone } = ctx.pool.placement;
        const facts = ctx.sample.facts as unknown as GcpFacts;
        const parent = ctx.opts.parent!;
        const firewall = this.firewall(project, facts.network, parent);
        const tools = toolsFitProjectMetadata(stacksSharingScope(this.rateShare)) ? this.tools(project, parent) : undefined;
        const name = ctx.member.name;
        const readers = distinctSecrets(ctx.keySecrets).map((secret) => this.reader(project, secret, parent));
        const keySecrets = Object.fromEntries(ctx.keySecrets.map((k) => [keySecretAttribute(k.vm.slug), k.secret]));
        const attempts = Object.fromEntries(ctx.retries.map((r) => [attemptAttribute(r.vm.slug), String(r.attempt)]));
        const instance = new gcp.compute.Instance(
            name,
            {
                project,
                zone,
                name,
                machineType: this.config.rescueMachineType,
                bootDisk: { initializeParams: { image: this.config.rescueImage, size: 20, type: "pd-balanced" } },
                // No accessConfigs: no external IP.
                networkInterfaces: [{ subnetwork: facts.subnetwork }],
                // The agent reads the rule set at each repair (the Linux one for a device named
                // …-linux): a new ruleSet or linuxRuleSet reaches a running pool
                // (metadata changes in place; the startup script is pinned).
                // …and which secret holds the keys of a disk (a name, never a key).
                metadata: {
                    "enable-guest-attributes": "TRUE",
                    "enable-oslogin": "TRUE",
                    "block-project-ssh-keys": "TRUE",
                    [RULE_SET_ATTRIBUTE]: this.ruleSet,
                    [LINUX_RULE_SET_ATTRIBUTE]: this.linuxRuleSet,
                    ...keySecrets,
                    // …and which disks to repair again, as which attempt (their entries' retry:).
                    ...attempts,
                },
                metadataStartupScript: startupScript(tools?.items),
                // The cloud-platform scope, as Google recommends: what the account may do is its IAM
                // bindings, which are none but reading the key secrets of its disks. (Secret
                // Manager takes no narrower scope.)
                serviceAccount: { email: this.account(project, parent).email, scopes: ["https://www.googleapis.com/auth/cloud-platform"] },
                tags: [RESCUE_TAG],
                shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
                labels: { ...this.labels, "bootloop-rescue-role": "rescue" },
                allowStoppingForUpdate: true,
            },
            // Pinned for the life of the pool: a changed startup script (any change to a rescue
            // tool: it names their version and items) or image would replace the instance and
            // kill the repairs on it. They apply to pools created after the change.
            pulumi.mergeOptions(ctx.opts, {
                provider: this.providerOf(project),
                // Its startup script reads the tools' items at its first boot: they are there first.
                dependsOn: [firewall, ...(tools?.resources ?? [])],
                // A changed scope would stop the instance (killing its repairs): a pool made by an
                // older version keeps its scopes, and a key fetch on it says so.
                ignoreChanges: ["attachedDisks", "metadataStartupScript", "bootDisk.initializeParams.image", "serviceAccount"],
                customTimeouts: { create: "20m", delete: "20m" },
            }),
        );
        // What attaches to the instance (and so each repair) waits for its account to read the keys.
        const step = {
            resource: instance,
            id: readers.length ? pulumi.all([instance.id, ...readers.map((r) => r.etag)]).apply(([id]) => id) : instance.id,
        };
        this.details.set(step, { project, zone, name });
        return step;
    }
}
