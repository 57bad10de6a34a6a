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

/** The inventory of `n` mixed VMs (the clouds' own sample identities). */
export function fleetInventory(n: number): string {
    const lines = ["# generated: a mixed fleet for the sandbox", "vms:"];
    for (let i = 0; i < n; i++) {
        const identity = identities[i % identities.length];
        lines.push(`  - cloud: ${identity.cloud}`);
        for (const [k, v] of Object.entries(identity.sample(Math.floor(i / identities.length)))) lines.push(`    ${k}: "${v}"`);
        lines.push(`    strategy: ${STRATEGIES[Math.floor(i / identities.length) % STRATEGIES.length]}`);
    }
    return `${lines.join("\n")}\n`;
}

/** Writes `Pulumi.<stack>.yaml` and its inventory into `dir` (inside the project); returns the stack file's path. */
export function writeFleetStack(stack: string, n: number, dir: string = FLEET_STACKS): string {
    return writeSandboxStack(stack, fleetInventory(n), dir);
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
