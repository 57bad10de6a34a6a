// Splits a large incident's inventory into shards, one stack each, that CI runs side by side (each
// with its own state and lock), the canary shard first. Writes per shard an inventory under
// stacks/ and a Pulumi.<shard>.yaml, and a manifest that the next split reads so VMs never move.
//
//   npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N]
//                    [--name NAME] [--stack BASE] [--out DIR] [--json]
//
// --out: the project folder to write into (default: this one; shard stacks must live beside
// Pulumi.yaml, their inventories under its stacks/).
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { identities, paths } from "../components/registry/clouds";
import { InputError } from "../components/core/contract/problems";
import { readInventory } from "../components/core/inventory/read";
import { readStackConfig } from "../components/tools/offline/stack-config";
import { loadInventory } from "../components/core/program";
import { NAMESPACE } from "../components/core/contract/settings";
import { SHARD_BY, SHARD_NAME, ShardBy, ShardManifest, planShards } from "../components/core/plan/shard";
import { disableStackTraces } from "./command/fast-stacks";
import { ArgumentError, commandArguments, readFlags, stackName } from "./command/flags";

const USAGE = "usage: npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N] [--name NAME] [--stack BASE] [--out DIR] [--json]";

interface Args {
    inventory: string;
    maxVms: number;
    by: ShardBy;
    canary: number;
    name: string;
    stack?: string;
    out?: string;
    json: boolean;
}

export function parseArgs(argv: string[]): Args {
    const { values: raw, switches } = readFlags(argv, { values: ["--inventory", "--max-vms", "--by", "--canary", "--name", "--stack", "--out"], switches: ["--json"] });
    const json = switches.has("--json");
    const inventory = raw["--inventory"];
    if (!inventory) throw new ArgumentError("--inventory is required: the incident's inventory file");
    if (raw["--max-vms"] === undefined) throw new ArgumentError("--max-vms is required: the most VMs one shard (one stack) carries");
    const whole = (flag: string, text: string, min: number, max: number) => {
        if (!/^\d{1,7}$/.test(text) || Number(text) < min || Number(text) > max) throw new ArgumentError(`${flag}: ${JSON.stringify(text)} must be a whole number from ${min} to ${max}`);
        return Number(text);
    };
    const maxVms = whole("--max-vms", raw["--max-vms"], 1, 100_000);
    const canary = raw["--canary"] === undefined ? 1 : whole("--canary", raw["--canary"], 0, maxVms);
    const by = (raw["--by"] ?? "region") as ShardBy;
    if (!SHARD_BY.includes(by)) throw new ArgumentError(`--by: ${JSON.stringify(by)} must be one of ${SHARD_BY.join(", ")}`);
    const name = raw["--name"] ?? path.basename(inventory).replace(/\.(ya?ml|csv)$/i, "");
    if (!SHARD_NAME.test(name)) throw new ArgumentError(`--name: ${JSON.stringify(name)} is not a stack name (letters, digits, _ . -; at most 61)`);
    const stack = raw["--stack"] === undefined ? undefined : stackName("--stack", raw["--stack"]);
    return { inventory, maxVms, by, canary, name, stack, out: raw["--out"], json };
}

function main(): number {
    disableStackTraces();
    const projectDir = path.resolve(__dirname, "..");
    const read = commandArguments("shard", USAGE, parseArgs);
    if ("exit" in read) return read.exit;
    const args = read.args;
    // As `npm run plan -- --inventory`: a path relative to where the command was typed.
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const inventoryPath = path.resolve(cwd, args.inventory);
    const base = args.stack ? readStackConfig(projectDir, args.stack) : { values: {}, secretKeys: [] };
    const config = { get: (k: string) => base.values[k], kind: (k: string) => (base.values[k] === undefined ? "missing" : base.secretKeys.includes(k) ? "secret" : "plain") } as const;
    const file = path.basename(inventoryPath);
    const vms = loadInventory(file, path.dirname(inventoryPath), identities, paths, config);
    const raw = readInventory(file, path.dirname(inventoryPath));

    const outDir = args.out ? path.resolve(cwd, args.out) : projectDir;
    if (!fs.existsSync(outDir)) throw new InputError([{ file: args.out!, message: "--out: no such folder" }]);
    const stacksDir = path.join(outDir, "stacks");
    const manifestFile = path.join(stacksDir, `${args.name}.shards.json`);
    const previous = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, "utf8")) as ShardManifest) : undefined;
    const manifest = planShards(vms, identities, args, previous);

    // Never overwrite a file this tool did not write.
    const ours = new Set((previous?.shards ?? []).flatMap((s) => [path.join(stacksDir, `${s.name}.yaml`), path.join(outDir, `Pulumi.${s.name}.yaml`)]));
    const targets = manifest.shards.flatMap((s) => [path.join(stacksDir, `${s.name}.yaml`), path.join(outDir, `Pulumi.${s.name}.yaml`)]);
    const clash = targets.filter((t) => fs.existsSync(t) && !ours.has(t));
    if (clash.length > 0) throw new InputError(clash.map((t) => ({ file: path.relative(outDir, t), message: "exists and was not written by npm run shard; move it away or choose another --name" })));

    const entryOf = new Map(vms.map((v) => [v.key, raw.entries[v.index]]));
    fs.mkdirSync(stacksDir, { recursive: true });
    for (const shard of manifest.shards) {
        const inventory = {
            ...(raw.defaults ? { defaults: raw.defaults.values } : {}),
            vms: shard.vms.map((k) => entryOf.get(k)!.values),
        };
        const header = `# Shard ${shard.name} of ${args.inventory}${shard.canary ? " (the canary shard: CI runs it first)" : ` (${shard.group})`}: written by npm run shard.\n`;
        fs.writeFileSync(path.join(stacksDir, `${shard.name}.yaml`), header + stringify(inventory));
        const values: Record<string, string> = {};
        for (const [k, v] of Object.entries(base.values)) if (!base.secretKeys.includes(k)) values[k] = v;
        values[`${NAMESPACE}:inventory`] = `stacks/${shard.name}.yaml`;
        // Every VM of the canary shard is a canary: it must verify before any other shard starts.
        if (shard.canary) values[`${NAMESPACE}:canary`] = String(shard.vms.length);
        fs.writeFileSync(path.join(outDir, `Pulumi.${shard.name}.yaml`), `# Written by npm run shard from ${args.stack ? `Pulumi.${args.stack}.yaml` : "default settings"}.\n` + stringify({ config: values }));
    }
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");

    const secrets = base.secretKeys;
    if (args.json) {
        process.stdout.write(JSON.stringify({ ...manifest, manifest: path.relative(outDir, manifestFile), secretsToSet: secrets }, null, 2) + "\n");
        return 0;
    }
    const lines = [`${vms.length} VMs in ${manifest.shards.length} shards of at most ${args.maxVms} (by ${args.by}); manifest ${path.relative(outDir, manifestFile)}`];
    for (const s of manifest.shards) lines.push(`  ${s.name.padEnd(24)} ${String(s.vms.length).padStart(6)} VMs  ${s.canary ? "canary: run first, alone" : s.group}  (stacks/${s.name}.yaml, Pulumi.${s.name}.yaml)`);
    const canary = manifest.shards.find((s) => s.canary);
    lines.push("", canary ? `CI: run ${canary.name} first; when it succeeded, the other ${manifest.shards.length - 1} in parallel, one job per stack.` : "CI: run the shards in parallel, one job per stack.");
    if (secrets.length > 0) lines.push(`Secrets are encrypted per stack and were not copied: set ${secrets.join(", ")} in each shard (pulumi config set --secret --stack <shard> KEY < FILE: the value on standard input, never an argument).`);
    process.stdout.write(lines.join("\n") + "\n");
    return 0;
}

if (require.main === module) {
    // exitCode, not exit(): a large report on a pipe must be written out before the process ends.
    try {
        process.exitCode = main();
    } catch (err) {
        process.stderr.write(`${err instanceof InputError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`}\n`);
        process.exitCode = err instanceof InputError ? 1 : 2;
    }
}
