// Several stacks on one simulated cloud: the shards of one fleet (`npm run shard`) whose VMs sit in
// the same accounts, subscriptions and projects spend the same budgets there, as they would in the
// clouds. `npm run sandbox -- share-world NAME STACK...` seeds one world from every listed stack's
// inventory before any of them runs; from then on each of those stacks' stand-in CLIs and providers
// read and write that world (SandboxLayout.worldHome), and its request counts are the scope's whole.
import * as fs from "fs";
import * as path from "path";
import { InputError, Problem } from "../../components/core/contract/problems";
import { VmEntry } from "../../components/core/contract/vm";
import { STAND_INS, DiscoveryCliName } from "../cli/stand-ins";
import { SHARED_STACKS_FILE, SandboxLayout } from "../layout";
import { seedInto, stackInventory } from "./seed";

/** A shared world's name: a folder name, no dots (a world being made is `NAME.partial-PID`). */
const WORLD_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** What `shareWorld` made: the world's folder, its stacks, the VMs seeded per cloud. */
export interface SharedWorld {
    /** The world's folder (under the sandbox's `worlds/`). */
    dir: string;
    /** The stacks that use it. */
    stacks: string[];
    /** VMs seeded, per cloud. */
    vmsByCloud: Record<string, number>;
}

/**
 * Makes the shared world `name` for `stacks` (at least two): every stack's inventory validated as
 * `pulumi up` reads it, then one world per cloud seeded from all of them. Refused, with nothing
 * written, when the name is taken or not a plain name, a stack is listed twice, already belongs to
 * a shared world or has a simulated cloud of its own (it ran before: its world would be left
 * behind), or two stacks list the same VM (shards of one fleet never do).
 */
export function shareWorld(layout: SandboxLayout, name: string, stacks: readonly string[]): SharedWorld {
    const problems: Problem[] = [];
    if (!WORLD_NAME.test(name))
        problems.push({
            file: "npm run sandbox -- share-world",
            message: `world name "${name}" must be letters, digits, - or _ (at most 63)`,
        });
    if (stacks.length < 2)
        problems.push({ file: "npm run sandbox -- share-world", message: "name at least two stacks to share one world" });
    const dir = path.join(layout.worldsDir, name);
    if (fs.existsSync(dir))
        problems.push({ file: dir, message: `the shared world ${name} exists already (remove the folder to make it again)` });
    const seen = new Map<string, string>();
    const vms: VmEntry[] = [];
    for (const stack of new Set(stacks)) {
        if (stacks.filter((s) => s === stack).length > 1)
            problems.push({ file: `Pulumi.${stack}.yaml`, message: `stack ${stack} is listed twice` });
        const other = layout.sharedWorldOf(stack);
        if (other !== undefined)
            problems.push({ file: `Pulumi.${stack}.yaml`, message: `stack ${stack} uses the shared world ${other} already` });
        const own = (Object.keys(STAND_INS) as DiscoveryCliName[]).find((cli) =>
            fs.existsSync(path.join(layout.stackDir(stack), `${cli}-world.json`)),
        );
        if (own !== undefined)
            problems.push({
                file: layout.stackDir(stack),
                message: `stack ${stack} has a simulated cloud of its own already (seeded by an earlier run): share a world before the stacks' first run, or remove that folder`,
            });
        for (const vm of stackInventory(layout, stack)) {
            const first = seen.get(vm.key);
            if (first !== undefined)
                problems.push({ file: `Pulumi.${stack}.yaml`, message: `VM ${vm.key} is in stack ${first} too: shards never share a VM` });
            else {
                seen.set(vm.key, stack);
                vms.push(vm);
            }
        }
    }
    if (problems.length > 0) throw new InputError(problems);
    // Made under a temporary name and renamed whole: a stack is never half in a world.
    const partial = `${dir}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true });
    try {
        seedInto((cli) => ({ world: path.join(partial, `${cli}-world.json`), log: path.join(partial, `${cli}-calls.log`) }), vms);
        fs.writeFileSync(path.join(partial, SHARED_STACKS_FILE), `${JSON.stringify({ stacks: [...new Set(stacks)] }, null, 2)}\n`);
        fs.renameSync(partial, dir);
    } catch (err) {
        fs.rmSync(partial, { recursive: true, force: true });
        throw err;
    }
    const vmsByCloud: Record<string, number> = {};
    for (const vm of vms) vmsByCloud[vm.cloud] = (vmsByCloud[vm.cloud] ?? 0) + 1;
    return { dir, stacks: [...new Set(stacks)], vmsByCloud };
}
