// The simulated cloud a stack's sandbox starts from: its inventory's VMs, each running and
// boot-looping on its original OS disk, written once per stack (later runs go on from the world
// as the last run left it).
import * as fs from "fs";
import { NAMESPACE } from "../../components/core/contract/settings";
import { InputError } from "../../components/core/contract/problems";
import { VmEntry } from "../../components/core/contract/vm";
import { inventoryContext } from "../../components/core/inventory/context";
import { readInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { builtClouds, identities } from "../../components/registry/inventory";
import { inventoryPathProblem } from "../../components/core/settings";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { DiscoveryCliName, STAND_INS } from "../cli/stand-ins";
import { PROJECT_DIR, SandboxLayout } from "../layout";
import { World } from "./world-file";
import { sandboxFaultOf } from "./faults";

type Seed = (vms: readonly VmEntry[]) => World;

/**
 * Each CLI's cloud (the inventory's `cloud:`) and the world its VMs start in. A cloud's seed loads
 * only when the stack has VMs there (as its provider starts only then: providers/start.ts).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- loaded only for the clouds a stack uses */
const SEEDS: Record<DiscoveryCliName, { cloud: string; seed: () => Seed }> = {
    aws: { cloud: "aws", seed: () => (require("./aws-seed") as { seedAwsWorld: Seed }).seedAwsWorld },
    az: { cloud: "azure", seed: () => (require("./azure-seed") as { seedAzureWorld: Seed }).seedAzureWorld },
    gcloud: { cloud: "gcp", seed: () => (require("./gcp-seed") as { seedGcpWorld: Seed }).seedGcpWorld },
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The inventory's clouds (`aws`, `azure`, `gcp`) that have VMs. */
export function cloudsOf(vms: readonly VmEntry[]): Set<string> {
    return new Set(vms.map((vm) => vm.cloud));
}

/** The stack's inventory, read and validated as `pulumi up` reads it (Pulumi.<stack>.yaml names it). */
export function stackInventory(layout: SandboxLayout, stack: string): VmEntry[] {
    const config = configSourceOf(readStackConfig(layout.stacks(stack), stack));
    const file = config.get(`${NAMESPACE}:inventory`);
    // The program's own rule for the setting, so the sandbox refuses what `pulumi up` would.
    const problem = inventoryPathProblem(file);
    if (problem || file === undefined)
        throw new InputError([{ file: `Pulumi.${stack}.yaml`, field: `${NAMESPACE}:inventory`, message: problem ?? "missing" }]);
    const vms = validateInventory(readInventory(file, PROJECT_DIR), inventoryContext(identities, builtClouds, config));
    // A sandbox fault the seeds would not know is refused before anything is seeded.
    for (const vm of vms) sandboxFaultOf(vm, file);
    return vms;
}

/** Writes the world of each cloud with VMs that has none yet for `stack`; returns the files written. */
export function seedWorlds(layout: SandboxLayout, stack: string, vms: readonly VmEntry[]): string[] {
    fs.mkdirSync(layout.stackDir(stack), { recursive: true });
    fs.mkdirSync(layout.worldHome(stack), { recursive: true });
    return seedInto((cli) => ({ world: layout.worldFile(stack, cli), log: layout.callLog(stack, cli) }), vms);
}

/** Writes, per CLI, the world of its cloud's VMs where it has none yet (and an empty call log); returns the world files written. */
export function seedInto(filesOf: (cli: DiscoveryCliName) => { world: string; log: string }, vms: readonly VmEntry[]): string[] {
    const written: string[] = [];
    for (const cli of Object.keys(STAND_INS) as DiscoveryCliName[]) {
        const { world: file, log } = filesOf(cli);
        if (!fs.existsSync(log)) fs.writeFileSync(log, "");
        const { cloud, seed } = SEEDS[cli];
        const here = vms.filter((vm) => vm.cloud === cloud);
        if (fs.existsSync(file) || here.length === 0) continue;
        // Compact, as every later write of it (each stand-in call parses and rewrites the whole world).
        fs.writeFileSync(file, JSON.stringify(seed()(here)));
        written.push(file);
    }
    return written;
}
