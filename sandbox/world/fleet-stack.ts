// A generated stack for fleet-sized sandbox runs: N VMs spread over the three clouds, every remedy
// on every cloud, written as a stack file and its inventory into a folder of the project that git
// ignores (the program reads inventories from inside the project only), named to the sandbox by
// SANDBOX_STACKS; the project's own stacks stay as they are.
import * as fs from "fs";
import * as path from "path";
import { identities } from "../../components/registry/inventory";
import { PROJECT_DIR } from "../layout";
import { DEFAULT_ACCOUNT } from "./aws-world";

/** Where generated stacks go: inside the project (the program's rule for inventories), ignored by git; the runner looks there too. */
export const FLEET_STACKS = path.join(PROJECT_DIR, ".sandbox", "fleet-stacks");

/** The remedies the fleet cycles through, so every cloud gets each one. */
const STRATEGIES = ["repair", "repair", "reboot-then-repair", "restore", "reboot"];

/** The most scopes per cloud a fleet may be spread over (`scopes`). */
export const MAX_FLEET_SCOPES = 50;

/** How the fleet's VMs are placed: spread as the clouds' samples are, every VM of a cloud in one scope, or over K scopes. */
export interface FleetOptions {
    /**
     * Every VM of a cloud in one scope, the one its first sample names: AWS one account (the
     * ambient one) and region, Azure one subscription and location, GCP one project and region
     * (its zones vary). What shards of one incident in one account look like to the clouds' budgets.
     */
    oneScope?: boolean;
    /**
     * K scopes per cloud (1 to MAX_FLEET_SCOPES; not with `oneScope`): VM k of a cloud in scope
     * k mod K, each cloud in its first sample's region (its zones vary). AWS: K accounts, scope 0
     * the ambient credentials' (its entries name no accountId), the others named by accountId and
     * reached through their role in the stack's awsAssumeRoleArns ({@link fleetConfig}); Azure: K
     * subscriptions; GCP: K projects.
     */
    scopes?: number;
}

/** The AWS account of scope `s` (1 ≤ s < MAX_FLEET_SCOPES) other than the ambient one: 12 digits, never the ambient account. */
export function fleetAccount(s: number): string {
    const account = String(210000000000 + s);
    if (account === DEFAULT_ACCOUNT) throw new Error(`fleetAccount: scope ${s} would be the ambient account`);
    return account;
}

/** The role the program assumes in a fleet's other AWS account (as a user's stack names it in awsAssumeRoleArns). */
export function fleetRole(account: string): string {
    return `arn:aws:iam::${account}:role/bootloop-rescue`;
}

/** Checks `options`: `scopes` a whole number from 1 to MAX_FLEET_SCOPES, never with `oneScope`; throws naming the option. */
function checkOptions(options: FleetOptions): void {
    if (options.scopes === undefined) return;
    if (options.oneScope) throw new Error("fleetInventory: scopes and oneScope are exclusive (oneScope is scopes: 1)");
    if (!Number.isInteger(options.scopes) || options.scopes < 1 || options.scopes > MAX_FLEET_SCOPES)
        throw new Error(`fleetInventory: scopes ${options.scopes} must be a whole number from 1 to ${MAX_FLEET_SCOPES}`);
}

/** The identity of VM `j` of `cloud` (its sample `fields`) moved into scope `s` of the cloud, in the first sample's (`first`) region. */
function inScope(cloud: string, fields: Record<string, string>, first: Record<string, string>, s: number): Record<string, string> {
    if (cloud === "aws") {
        return {
            ...fields,
            ...(s === 0 ? {} : { accountId: fleetAccount(s) }),
            region: first.region,
            availabilityZone: `${first.region}${fields.availabilityZone.slice(-1)}`,
        };
    }
    if (cloud === "azure") {
        // The sample's subscription ids differ in their last group (12 digits): scope s adds s to the first's.
        const base = first.subscriptionId.slice(0, -12);
        const last = Number(first.subscriptionId.slice(-12)) + s;
        return { ...fields, subscriptionId: `${base}${String(last).padStart(12, "0")}`, location: first.location };
    }
    if (cloud === "gcp") {
        const region = first.zone.replace(/-[a-z]$/, "");
        return { ...fields, project: `${first.project.replace(/-\d+$/, "")}-${s}`, zone: `${region}${fields.zone.slice(-2)}` };
    }
    throw new Error(`fleetInventory: no scoped placement for cloud ${cloud}`);
}

/** The identity of VM `j` of its cloud: its sample, moved into the cloud's first scope (`oneScope`) or scope j mod K (`scopes`). */
function placed(
    cloud: string,
    j: number,
    first: Record<string, string>,
    fields: Record<string, string>,
    options: FleetOptions,
): Record<string, string> {
    if (options.scopes !== undefined) return inScope(cloud, fields, first, j % options.scopes);
    if (!options.oneScope) return fields;
    if (cloud === "aws")
        return { ...fields, region: first.region, availabilityZone: `${first.region}${fields.availabilityZone.slice(-1)}` };
    if (cloud === "azure") return { ...fields, subscriptionId: first.subscriptionId, location: first.location };
    if (cloud === "gcp") return { ...fields, project: first.project, zone: `${first.zone.replace(/-[a-z]$/, "")}${fields.zone.slice(-2)}` };
    throw new Error(`fleetInventory: no one-scope placement for cloud ${cloud}`);
}

/** What the fleet's placement says of it, for its inventory's first line and the benches' headers. */
export function placementOf(options: FleetOptions): string {
    checkOptions(options);
    if (options.scopes !== undefined)
        return `${options.scopes} scope${options.scopes === 1 ? "" : "s"} per cloud (AWS accounts, Azure subscriptions, GCP projects; VM k of a cloud in scope k mod ${options.scopes})`;
    if (options.oneScope) return "every VM of a cloud in one scope";
    return "the clouds' sample scopes (2 per cloud)";
}

/** The inventory of `n` mixed VMs (the clouds' own sample identities; with `oneScope`, one scope per cloud; with `scopes`, K per cloud). */
export function fleetInventory(n: number, options: FleetOptions = {}): string {
    checkOptions(options);
    const lines = [
        `# generated: a mixed fleet for the sandbox${options.oneScope || options.scopes !== undefined ? `, ${placementOf(options)}` : ""}`,
        "vms:",
    ];
    for (let i = 0; i < n; i++) {
        const identity = identities[i % identities.length];
        const j = Math.floor(i / identities.length);
        lines.push(`  - cloud: ${identity.cloud}`);
        const fields = placed(identity.cloud, j, identity.sample(0), identity.sample(j), options);
        for (const [k, v] of Object.entries(fields)) lines.push(`    ${k}: "${v}"`);
        lines.push(`    strategy: ${STRATEGIES[j % STRATEGIES.length]}`);
    }
    return `${lines.join("\n")}\n`;
}

/**
 * The stack config the fleet's placement needs beside its inventory, as data: with `scopes` over
 * more than one AWS account, `bootloop-rescue:awsAssumeRoleArns` naming the role of each account
 * other than the ambient one that holds a VM of the `n` (as a user's stack names cross-account VMs);
 * otherwise nothing.
 */
export function fleetConfig(n: number, options: FleetOptions = {}): Record<string, Record<string, string>> {
    checkOptions(options);
    if (options.scopes === undefined) return {};
    const awsVms = Array.from({ length: n }, (_, i) => identities[i % identities.length].cloud).filter((c) => c === "aws").length;
    const accounts = Array.from({ length: Math.min(options.scopes, awsVms) }, (_, s) => s)
        .slice(1)
        .map(fleetAccount);
    if (accounts.length === 0) return {};
    return { "bootloop-rescue:awsAssumeRoleArns": Object.fromEntries(accounts.map((a) => [a, fleetRole(a)])) };
}

/** The lines of a stack file's `config:` section: the inventory's path, one canary VM, data loss accepted, and `extra` (maps as YAML maps). */
export function stackConfigLines(inventory: string, extra: Record<string, Record<string, string>> = {}): string[] {
    return [
        "config:",
        `  bootloop-rescue:inventory: ${inventory}`,
        '  bootloop-rescue:canary: "1"',
        '  bootloop-rescue:acceptDataLoss: "true"',
        ...Object.entries(extra).flatMap(([key, map]) => [
            `  ${key}:`,
            ...Object.entries(map).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`),
        ]),
        "",
    ];
}

/** Writes `Pulumi.<stack>.yaml` and its inventory into `dir` (inside the project); returns the stack file's path. */
export function writeFleetStack(stack: string, n: number, dir: string = FLEET_STACKS, options: FleetOptions = {}): string {
    return writeSandboxStack(stack, fleetInventory(n, options), dir, fleetConfig(n, options));
}

/**
 * Writes `Pulumi.<stack>.yaml` for the inventory text `inventoryText` (written beside it as
 * `<stack>.yaml`) into `dir`, inside the project: one canary VM, data loss accepted (the fleet's
 * restore VMs), plus `config` (the placement's, {@link fleetConfig}); returns the stack file's path.
 */
export function writeSandboxStack(
    stack: string,
    inventoryText: string,
    dir: string,
    config: Record<string, Record<string, string>> = {},
): string {
    fs.mkdirSync(dir, { recursive: true });
    const inventory = path.join(dir, `${stack}.yaml`);
    fs.writeFileSync(inventory, inventoryText);
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, stackConfigLines(path.relative(PROJECT_DIR, inventory), config).join("\n"));
    return file;
}
