import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { shortHash } from "../core/identity";
import { RuleSet } from "../core/settings";
import { RescueContext, RescueStep } from "../core/steps";
import { RESCUE_LIB, RESCUE_PACKAGES, installLine, rescueTools } from "../../rescue/payload";
import { GcpConfig } from "./config";
import { GcpFacts } from "./lookups";

/** Network tag of every rescue instance (the deny-all ingress rule targets it). */
export const RESCUE_TAG = "bootloop-rescue-rescue";
/** Most disks a rescue instance is given (GCP allows up to 128 on most machine types). */
export const GCP_MAX_DISKS_PER_RESCUE = 64;

/**
 * The rescue instance's startup script (run by the guest agent at every boot): the OS tools from
 * the Debian archive, the rescue tools and the agent inline, and the agent as a systemd service.
 */
export function startupScript(): string {
    const agent = fs.readFileSync(path.join(__dirname, "rescue-agent.sh"));
    return [
        "#!/bin/bash",
        "set -eu",
        `dpkg -s ${RESCUE_PACKAGES.join(" ")} >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${RESCUE_PACKAGES.join(" ")}; }`,
        rescueTools().install,
        installLine("rescue-agent.sh", agent),
        "cat > /etc/systemd/system/bootloop-rescue-agent.service <<'UNIT'",
        "[Unit]",
        "Description=bootloop-rescue: repair attached disks named br-*",
        "After=network-online.target",
        "[Service]",
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
 * The rescue instances of one run, with per project a service account that holds no role (the
 * agent talks only to the metadata server) and per network a deny-all ingress rule for the rescue
 * tag: the repair channel needs no inbound path at all. Disks are attached by AttachedDisk
 * resources, so the instance ignores changes to its attached disks and the two never fight.
 */
/** The rescue instance's metadata key naming the engine's rule set (the stack's `ruleSet`). */
export const RULE_SET_ATTRIBUTE = "bootloop-rescue-rule-set";

export class GcpRescueFleet {
    private readonly accounts = new Map<string, gcp.serviceaccount.Account>();
    private readonly firewalls = new Map<string, gcp.compute.Firewall>();
    private readonly details = new Map<RescueStep, GcpRescueInstance>();

    constructor(
        private readonly config: GcpConfig,
        private readonly providerOf: (project: string) => gcp.Provider | undefined,
        private readonly labels: Record<string, string>,
        /** The engine's rule set, the stack's `ruleSet`, in every rescue instance's metadata. */
        private readonly ruleSet: RuleSet,
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
                { project, accountId: `br-rescue-${shortHash(`sa ${project}`)}`, displayName: "bootloop-rescue rescue instances (no roles)" },
                { parent, provider: this.providerOf(project) },
            );
            this.accounts.set(project, account);
        }
        return account;
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

    instance(ctx: RescueContext): RescueStep {
        const { scope: project, zone } = ctx.pool.placement;
        const facts = ctx.sample.facts as unknown as GcpFacts;
        const parent = ctx.opts.parent!;
        const firewall = this.firewall(project, facts.network, parent);
        const name = ctx.member.name;
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
                // The agent reads the rule set at each repair: a new ruleSet reaches a running pool
                // (metadata changes in place; the startup script is pinned).
                metadata: { "enable-guest-attributes": "TRUE", "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE", [RULE_SET_ATTRIBUTE]: this.ruleSet },
                metadataStartupScript: startupScript(),
                serviceAccount: { email: this.account(project, parent).email, scopes: ["https://www.googleapis.com/auth/logging.write"] },
                tags: [RESCUE_TAG],
                shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
                labels: { ...this.labels, "bootloop-rescue-role": "rescue" },
                allowStoppingForUpdate: true,
            },
            // Pinned for the life of the pool: a changed startup script (any change to a rescue
            // tool) or image would replace the instance and kill the repairs on it. They apply
            // to pools created after the change.
            pulumi.mergeOptions(ctx.opts, {
                provider: this.providerOf(project),
                dependsOn: [firewall],
                ignoreChanges: ["attachedDisks", "metadataStartupScript", "bootDisk.initializeParams.image"],
                customTimeouts: { create: "20m", delete: "20m" },
            }),
        );
        const step = { resource: instance, id: instance.id };
        this.details.set(step, { project, zone, name });
        return step;
    }
}
