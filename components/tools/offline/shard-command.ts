// `npm run shard`: splits a large incident's inventory into shards, one stack each, that CI runs
// side by side (each with its own state and lock), the canary shard first. Writes per shard an
// inventory under stacks/ and a Pulumi.<shard>.yaml, and a manifest that the next split reads so
// VMs never move.
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { CloudIdentity } from "../../core/contract/identity";
import { CloudPath } from "../../core/contract/cloud-path";
import { InputError } from "../../core/contract/problems";
import { NAMESPACE } from "../../core/contract/settings";
import { readInventory } from "../../core/inventory/read";
import { SHARD_BY, SHARD_NAME, ShardBy, planShards } from "../../core/plan/shard";
import { loadInventory } from "../../core/program";
import { parseRateShare } from "../../core/rate-share";
import { ArgumentError, CommandContext, stackName } from "../command-contract";
import { configSourceOf, readStackConfig } from "./stack-config";
import { RateScopeOf, SharedManifest, sharedScopeProblems, shardShares, withShares } from "./shard-share";

/** A stack's share when its config sets none: the whole of each scope's budget. */
const WHOLE_BUDGET = 1;

/** The base stack's own share (its `rateShare`, the whole budget when unset): the shards split that. */
function baseRateShare(values: Readonly<Record<string, string>>, stack: string | undefined): number {
    const text = values[`${NAMESPACE}:rateShare`];
    if (text === undefined) return WHOLE_BUDGET;
    const share = parseRateShare(text);
    if (share === undefined)
        throw new InputError([
            {
                file: `Pulumi.${stack}.yaml`,
                field: `${NAMESPACE}:rateShare`,
                message: `${JSON.stringify(text)} is not a share of the scopes' request budgets: a decimal or a fraction greater than 0 and at most 1, e.g. 0.25 or 1/4`,
            },
        ]);
    return share;
}

/** What `npm run shard` was asked for, each value as typed. */
export interface ShardCommandArgs {
    /** The incident's inventory file (from where the command was started). */
    inventory?: string;
    /** The most VMs one shard carries: a whole number. */
    maxVms?: string;
    /** cloud, region (default) or account. */
    by?: string;
    /** VMs in the canary shard (default 1). */
    canary?: string;
    /** The shard set's name (default: the inventory file's). */
    name?: string;
    /** The stack whose settings the shards copy. */
    stack?: string;
    /** The project folder to write into (default: this one). */
    out?: string;
    /** Refuse to put one cloud scope's VMs in shards that run at once (instead of splitting its budget). */
    scopesApart?: boolean;
    json: boolean;
}

/** The arguments checked: every mistake an {@link ArgumentError} naming the flag, before anything is read or written. */
export function shardArgs(args: ShardCommandArgs): {
    inventory: string;
    maxVms: number;
    by: ShardBy;
    canary: number;
    name: string;
    stack?: string;
    out?: string;
    scopesApart: boolean;
    json: boolean;
} {
    const inventory = args.inventory;
    if (!inventory) throw new ArgumentError("--inventory is required: the incident's inventory file");
    if (args.maxVms === undefined) throw new ArgumentError("--max-vms is required: the most VMs one shard (one stack) carries");
    const whole = (flag: string, text: string, min: number, max: number) => {
        if (!/^\d{1,7}$/.test(text) || Number(text) < min || Number(text) > max)
            throw new ArgumentError(`${flag}: ${JSON.stringify(text)} must be a whole number from ${min} to ${max}`);
        return Number(text);
    };
    const maxVms = whole("--max-vms", args.maxVms, 1, 100_000);
    const canary = args.canary === undefined ? 1 : whole("--canary", args.canary, 0, maxVms);
    const by = (args.by ?? "region") as ShardBy;
    if (!SHARD_BY.includes(by)) throw new ArgumentError(`--by: ${JSON.stringify(by)} must be one of ${SHARD_BY.join(", ")}`);
    const name = args.name ?? path.basename(inventory).replace(/\.(ya?ml|csv)$/i, "");
    if (!SHARD_NAME.test(name))
        throw new ArgumentError(`--name: ${JSON.stringify(name)} is not a stack name (letters, digits, _ . -; at most 61)`);
    const stack = args.stack === undefined ? undefined : stackName("--stack", args.stack);
    return { inventory, maxVms, by, canary, name, stack, out: args.out, scopesApart: args.scopesApart ?? false, json: args.json };
}

/**
 * Splits the inventory and writes the shards (never over a file it did not write: that is an
 * InputError naming the file), then says what to run: the manifest as JSON with `json`.
 */
export function runShardCommand(
    given: ShardCommandArgs,
    context: CommandContext,
    clouds: { identities: readonly CloudIdentity[]; paths: readonly CloudPath[]; rateScopeOf: RateScopeOf },
): "ok" {
    const args = shardArgs(given);
    // As `npm run plan -- --inventory`: a path relative to where the command was typed.
    const inventoryPath = path.resolve(context.cwd, args.inventory);
    const base = args.stack ? readStackConfig(context.projectDir, args.stack) : { values: {}, secretKeys: [] };
    const file = path.basename(inventoryPath);
    const vms = loadInventory(file, path.dirname(inventoryPath), clouds.identities, clouds.paths, configSourceOf(base));
    const raw = readInventory(file, path.dirname(inventoryPath));

    const outDir = args.out ? path.resolve(context.cwd, args.out) : context.projectDir;
    if (!fs.existsSync(outDir)) throw new InputError([{ file: args.out!, message: "--out: no such folder" }]);
    const stacksDir = path.join(outDir, "stacks");
    const manifestFile = path.join(stacksDir, `${args.name}.shards.json`);
    const previous = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, "utf8")) as SharedManifest) : undefined;
    const planned = planShards(vms, clouds.identities, args, previous);

    // Shards that run at once and share a scope split its budget (or, --scopes-apart, are refused).
    const baseShare = baseRateShare(base.values, args.stack);
    const arithmetic = shardShares(planned, vms, clouds.identities, clouds.rateScopeOf, baseShare, previous);
    if (args.scopesApart) {
        const problems = sharedScopeProblems(arithmetic, args.inventory);
        if (problems.length > 0) throw new InputError(problems);
    }
    const manifest = withShares(planned, arithmetic.shares, previous);

    // Never overwrite a file this tool did not write.
    const ours = new Set(
        (previous?.shards ?? []).flatMap((s) => [path.join(stacksDir, `${s.name}.yaml`), path.join(outDir, `Pulumi.${s.name}.yaml`)]),
    );
    const targets = manifest.shards.flatMap((s) => [path.join(stacksDir, `${s.name}.yaml`), path.join(outDir, `Pulumi.${s.name}.yaml`)]);
    const clash = targets.filter((t) => fs.existsSync(t) && !ours.has(t));
    if (clash.length > 0)
        throw new InputError(
            clash.map((t) => ({
                file: path.relative(outDir, t),
                message: "exists and was not written by npm run shard; move it away or choose another --name",
            })),
        );

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
        // Its share of the budgets of the scopes it shares with shards that run at the same time.
        if (shard.rateShare !== undefined) values[`${NAMESPACE}:rateShare`] = shard.rateShare;
        fs.writeFileSync(
            path.join(outDir, `Pulumi.${shard.name}.yaml`),
            `# Written by npm run shard from ${args.stack ? `Pulumi.${args.stack}.yaml` : "default settings"}.\n` +
                stringify({ config: values }),
        );
    }
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");

    const secrets = base.secretKeys;
    if (args.json) {
        context.stdout.write(
            JSON.stringify({ ...manifest, manifest: path.relative(outDir, manifestFile), secretsToSet: secrets }, null, 2) + "\n",
        );
        return "ok";
    }
    const lines = [
        `${vms.length} VMs in ${manifest.shards.length} shards of at most ${args.maxVms} (by ${args.by}); manifest ${path.relative(outDir, manifestFile)}`,
    ];
    for (const s of manifest.shards)
        lines.push(
            `  ${s.name.padEnd(24)} ${String(s.vms.length).padStart(6)} VMs  ${s.canary ? "canary: run first, alone" : s.group}${s.rateShare ? `  rateShare ${s.rateShare}` : ""}  (stacks/${s.name}.yaml, Pulumi.${s.name}.yaml)`,
        );
    const shared = [...arithmetic.scopes].filter(([, shards]) => shards.length > 1);
    if (shared.length > 0)
        lines.push(
            "",
            `${shared.length} scope${shared.length === 1 ? " is" : "s are"} shared by shards that run at once; each such shard spends its rateShare of their request budgets:`,
            ...shared.slice(0, 10).map(([scope, shards]) => `  ${scope}: ${shards.length} shards`),
            ...(shared.length > 10 ? [`  and ${shared.length - 10} more (the manifest lists every shard's share)`] : []),
        );
    const canary = manifest.shards.find((s) => s.canary);
    lines.push(
        "",
        canary
            ? `CI: run ${canary.name} first; when it succeeded, the other ${manifest.shards.length - 1} in parallel, one job per stack.`
            : "CI: run the shards in parallel, one job per stack.",
    );
    if (secrets.length > 0)
        lines.push(
            `Secrets are encrypted per stack and were not copied: set ${secrets.join(", ")} in each shard (pulumi config set --secret --stack <shard> KEY < FILE: the value on standard input, never an argument).`,
        );
    context.stdout.write(lines.join("\n") + "\n");
    return "ok";
}
