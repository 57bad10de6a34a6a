// A generated stack for fleet-sized sandbox runs: N VMs spread over the three clouds, every remedy
// on every cloud, written as a stack file and its inventory into a folder of the project that git
// ignores (the program reads inventories from inside the project only), named to the sandbox by
// SANDBOX_STACKS; the project's own stacks stay as they are.
import * as fs from "fs";
import * as path from "path";
import { identities } from "../../components/registry/inventory";
import { PROJECT_DIR } from "../layout";

/** Where generated stacks go: inside the project (the program's rule for inventories), ignored by git; the runner looks there too. */
export const FLEET_STACKS = path.join(PROJECT_DIR, ".sandbox", "fleet-stacks");

/** The remedies the fleet cycles through, so every cloud gets each one. */
const STRATEGIES = ["repair", "repair", "reboot-then-repair", "restore", "reboot"];

/** How the fleet's VMs are placed: spread as the clouds' samples are, or every VM of a cloud in one scope. */
export interface FleetOptions {
    /**
     * Every VM of a cloud in one scope, the one its first sample names: AWS one account (the
     * ambient one) and region, Azure one subscription and location, GCP one project and region
     * (its zones vary). What shards of one incident in one account look like to the clouds' budgets.
     */
    oneScope?: boolean;
}

/** The sample identity of VM `k` of its cloud, moved into the cloud's first scope when `oneScope`. */
function placed(cloud: string, fields: Record<string, string>, first: Record<string, string>, oneScope: boolean): Record<string, string> {
    if (!oneScope) return fields;
    if (cloud === "aws")
        return { ...fields, region: first.region, availabilityZone: `${first.region}${fields.availabilityZone.slice(-1)}` };
    if (cloud === "azure") return { ...fields, subscriptionId: first.subscriptionId, location: first.location };
    if (cloud === "gcp") return { ...fields, project: first.project, zone: `${first.zone.replace(/-[a-z]$/, "")}${fields.zone.slice(-2)}` };
    throw new Error(`fleetInventory: no one-scope placement for cloud ${cloud}`);
}

/** The inventory of `n` mixed VMs (the clouds' own sample identities; with `oneScope`, one scope per cloud). */
export function fleetInventory(n: number, options: FleetOptions = {}): string {
    const lines = [`# generated: a mixed fleet for the sandbox${options.oneScope ? ", every VM of a cloud in one scope" : ""}`, "vms:"];
    for (let i = 0; i < n; i++) {
        const identity = identities[i % identities.length];
        lines.push(`  - cloud: ${identity.cloud}`);
        const fields = placed(identity.cloud, identity.sample(Math.floor(i / identities.length)), identity.sample(0), !!options.oneScope);
        for (const [k, v] of Object.entries(fields)) lines.push(`    ${k}: "${v}"`);
        lines.push(`    strategy: ${STRATEGIES[Math.floor(i / identities.length) % STRATEGIES.length]}`);
    }
    return `${lines.join("\n")}\n`;
}

/** Writes `Pulumi.<stack>.yaml` and its inventory into `dir` (inside the project); returns the stack file's path. */
export function writeFleetStack(stack: string, n: number, dir: string = FLEET_STACKS, options: FleetOptions = {}): string {
    return writeSandboxStack(stack, fleetInventory(n, options), dir);
}

/**
 * Writes `Pulumi.<stack>.yaml` for the inventory text `inventoryText` (written beside it as
 * `<stack>.yaml`) into `dir`, inside the project: one canary VM, data loss accepted (the fleet's
 * restore VMs); returns the stack file's path.
 */
export function writeSandboxStack(stack: string, inventoryText: string, dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    const inventory = path.join(dir, `${stack}.yaml`);
    fs.writeFileSync(inventory, inventoryText);
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(
        file,
        [
            "config:",
            `  bootloop-rescue:inventory: ${path.relative(PROJECT_DIR, inventory)}`,
            '  bootloop-rescue:canary: "1"',
            '  bootloop-rescue:acceptDataLoss: "true"',
            "",
        ].join("\n"),
    );
    return file;
}
