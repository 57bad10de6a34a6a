// The shards bench's stacks: the fleet's inventory (every VM of a cloud in one scope) split by the
// real `npm run shard -- --by cloud --canary 0` into K shards, each shard read back from what the
// command wrote (its inventory and its stack file's rateShare), and the shards' stack files made
// ready for the sandbox and the watch. Throws when the split is not the one planned.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { EngineFleet, FleetVm } from "../fleet";
import { ShardPlan } from "./plan";
import { budgetScopeOf } from "../budget-scope";

/** The namespace of the project's settings in a stack file. */
const NS = "bootloop-rescue";

/** One shard as the bench runs and judges it. */
export interface BenchShard {
    /** Its stack name (`<name>-00`, …). */
    name: string;
    /** Its VMs, in its inventory's order (the first is its canary). */
    vms: FleetVm[];
    /** Its VMs made never to boot. */
    bad: FleetVm[];
    /** The `rateShare` npm run shard wrote into its stack file (absent: the whole budget). */
    rateShare?: string;
    /** The budget scopes of its VMs (`aws 123456789012/us-east-1`, `azure <subscription>`, `gcp <project>/<region>`). */
    scopes: string[];
}

/** Where the split's files are: npm run shard's project-like folder (the watch's and plan's), and the sandbox's copies. */
export interface SplitFolders {
    /** npm run shard's --out: Pulumi.<shard>.yaml and stacks/<shard>.yaml (BOOTLOOP_STACK_DIR for plan and watch). */
    split: string;
    /** The sandbox's stack files (SANDBOX_STACKS): the same, the inventory named from the project. */
    sandbox: string;
}

type Entry = Record<string, string> & { cloud: string };

/** The VM's name in its cloud (as the bench's fleet keeps it). */
function nameOf(e: Entry): string {
    return e.instanceId ?? e.vmName ?? e.instance;
}

/**
 * Reads the shards npm run shard wrote into `split` (its manifest `<name>.shards.json` lists them):
 * each shard's VMs from its inventory, matched to the fleet's, its scopes and rateShare from its
 * stack file. Throws naming the file when one is missing or names a VM the fleet does not have.
 */
export function readShards(split: string, name: string, fleet: EngineFleet): BenchShard[] {
    const manifestFile = path.join(split, "stacks", `${name}.shards.json`);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { shards: { name: string; canary: boolean }[] };
    const bad = new Set(fleet.bad.map((v) => v.index));
    return manifest.shards.map((s) => {
        const inventoryFile = path.join(split, "stacks", `${s.name}.yaml`);
        const entries = (parse(fs.readFileSync(inventoryFile, "utf8")) as { vms: Entry[] }).vms;
        const vms = entries.map((e) => {
            const vm = fleet.vms.find((v) => v.cloud === e.cloud && v.name === nameOf(e));
            if (!vm) throw new Error(`${inventoryFile}: VM ${e.cloud} ${nameOf(e)} is not in the bench's fleet`);
            return vm;
        });
        const config = (parse(fs.readFileSync(path.join(split, `Pulumi.${s.name}.yaml`), "utf8")) as { config: Record<string, string> })
            .config;
        const share = config[`${NS}:rateShare`];
        return {
            name: s.name,
            vms,
            bad: vms.filter((v) => bad.has(v.index)),
            ...(share === undefined ? {} : { rateShare: share }),
            scopes: [...new Set(entries.map(budgetScopeOf))],
        };
    });
}

/**
 * Checks the shards are the planned split: `plan`'s count, each shard in one scope, led by a VM the
 * plan knew to lead (so never by a VM made never to boot), every VM of the fleet in one shard.
 * Throws an Error saying what differs.
 */
export function checkSplit(shards: readonly BenchShard[], plan: ShardPlan, fleet: EngineFleet, k: number): void {
    const wrong: string[] = [];
    if (shards.length !== k) wrong.push(`${shards.length} shards, not ${k}`);
    for (const s of shards) {
        if (s.scopes.length !== 1) wrong.push(`${s.name} spans ${s.scopes.length} scopes (${s.scopes.join(", ")})`);
        if (s.vms.length === 0 || !plan.leaders.has(s.vms[0].index)) wrong.push(`${s.name} is led by a VM the plan did not expect`);
    }
    const placed = shards.flatMap((s) => s.vms.map((v) => v.index)).sort((a, b) => a - b);
    if (placed.length !== fleet.vms.length || placed.some((x, i) => x !== i)) wrong.push("the shards do not hold every VM exactly once");
    if (wrong.length) throw new Error(`npm run shard split the fleet otherwise than planned: ${wrong.join("; ")}`);
}

/**
 * Makes the shards' stack files runnable as the bench runs them: in `split` (the watch's and plan's
 * folder, npm run shard's own files) the settings a base stack would give them (npm run shard's
 * --stack reads the project's own stack files only): one canary VM, data loss accepted (the fleet's
 * restore VMs); and in `sandbox` a copy naming the inventory from the project, as the program reads it.
 */
export function prepareShardStacks(folders: SplitFolders, shards: readonly BenchShard[], projectDir: string): void {
    fs.mkdirSync(folders.sandbox, { recursive: true });
    for (const s of shards) {
        const file = path.join(folders.split, `Pulumi.${s.name}.yaml`);
        const text = fs.readFileSync(file, "utf8");
        const header = text.split("\n").filter((l) => l.startsWith("#"));
        const doc = parse(text) as { config: Record<string, string> };
        const config: Record<string, string> = { ...doc.config, [`${NS}:canary`]: "1", [`${NS}:acceptDataLoss`]: "true" };
        const note = "# The shards bench added canary and acceptDataLoss, as a base stack (--stack) would give them.";
        fs.writeFileSync(file, [...header, note, stringify({ config })].join("\n"));
        const inventory = path.relative(projectDir, path.join(folders.split, config[`${NS}:inventory`]));
        fs.writeFileSync(
            path.join(folders.sandbox, `Pulumi.${s.name}.yaml`),
            stringify({ config: { ...config, [`${NS}:inventory`]: inventory } }),
        );
    }
}

/**
 * Splits `fleet` with the real `npm run shard` (cli/shard.ts, --by cloud --canary 0 --max-vms of
 * `plan`) into `dir`: the inventory `<name>.yaml`, npm run shard's files in `dir/split`, the
 * sandbox's stack files in `dir/stacks`. Returns the shards, checked against the plan.
 */
export function splitFleet(dir: string, name: string, fleet: EngineFleet, plan: ShardPlan, k: number, projectDir: string): BenchShard[] {
    const folders: SplitFolders = { split: path.join(dir, "split"), sandbox: path.join(dir, "stacks") };
    fs.mkdirSync(folders.split, { recursive: true });
    const inventory = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(inventory, fleet.inventory);
    const argv = ["--inventory", inventory, "--max-vms", String(plan.maxVms), "--by", "cloud", "--canary", "0"];
    const r = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "cli/shard.ts", ...argv, "--name", name, "--out", folders.split, "--json"],
        { cwd: projectDir, env: { ...process.env, INIT_CWD: projectDir }, encoding: "utf8", maxBuffer: 1 << 26 },
    );
    if (r.status !== 0) throw new Error(`npm run shard -- ${argv.join(" ")} failed (${r.status}): ${r.stderr.trim().slice(-2000)}`);
    const shards = readShards(folders.split, name, fleet);
    checkSplit(shards, plan, fleet, k);
    prepareShardStacks(folders, shards, projectDir);
    return shards;
}
