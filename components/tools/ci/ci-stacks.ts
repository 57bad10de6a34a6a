// Which stacks a CI run previews or updates, and in what order: from the files a change touched.
// A stack is `Pulumi.<stack>.yaml` in the project folder; its inventory is its `inventory` setting;
// shards (npm run shard) are listed in `stacks/<name>.shards.json`, the canary shard marked.
import * as fs from "fs";
import * as path from "path";
import { InputError, Problem } from "../../core/contract/problems";
import { readStackConfig } from "../offline/stack-config";
import { NAMESPACE } from "../../core/contract/settings";
import { STACK_NAME_TEXT } from "../command-contract";
import { ShardManifest } from "../../core/plan/shard";

/** The stacks of one CI run. */
export interface CiStacks {
    /** Every stack the change touches: previewed side by side. */
    preview: string[];
    /** Updated first, side by side: canary shards and stacks that belong to no shard set. */
    first: string[];
    /** Updated once every `first` stack succeeded: the other shards. */
    then: string[];
    /** Touched files that name a stack or inventory no longer there, with why they were skipped. */
    skipped: string[];
}

const STACK_FILE = new RegExp(`^Pulumi\\.(${STACK_NAME_TEXT})\\.yaml$`);
const MANIFEST_FILE = /^stacks\/([^/]+)\.shards\.json$/;

/** Every stack of the project folder, with the inventory its config names (relative, `/`-separated). */
export function projectStacks(projectDir: string): Map<string, string | undefined> {
    const stacks = new Map<string, string | undefined>();
    for (const file of fs.readdirSync(projectDir).sort()) {
        const m = STACK_FILE.exec(file);
        if (!m) continue;
        const inventory = readStackConfig(projectDir, m[1]).values[`${NAMESPACE}:inventory`];
        stacks.set(m[1], inventory === undefined ? undefined : path.posix.normalize(inventory.split(path.sep).join("/")));
    }
    return stacks;
}

/** The shard sets of the project: every manifest under stacks/. */
function shardManifests(projectDir: string): { file: string; manifest: ShardManifest }[] {
    const dir = path.join(projectDir, "stacks");
    if (!fs.existsSync(dir)) return [];
    const out: { file: string; manifest: ShardManifest }[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
        if (!name.endsWith(".shards.json")) continue;
        const file = `stacks/${name}`;
        let manifest: ShardManifest;
        try {
            manifest = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as ShardManifest;
        } catch (err) {
            throw new InputError([{ file, message: `not a shard manifest: ${(err as Error).message.split("\n")[0]}` }]);
        }
        if (!Array.isArray(manifest?.shards) || manifest.shards.some((s) => typeof s?.name !== "string" || typeof s.canary !== "boolean")) {
            throw new InputError([
                { file, message: "not a shard manifest: expected shards: [{ name, canary }] as npm run shard writes it" },
            ]);
        }
        out.push({ file, manifest });
    }
    return out;
}

/**
 * The stacks a change touches, from the paths it changed (relative to the project folder, `/`):
 * a stack file names its stack; an inventory names every stack whose `inventory` is that file; a
 * shard manifest names all its shards. `all` takes every stack. Stacks are sorted; canary shards
 * and stacks outside any shard set come first, the other shards after them.
 */
export function ciStacks(projectDir: string, changed: readonly string[] | "all"): CiStacks {
    const stacks = projectStacks(projectDir);
    const manifests = shardManifests(projectDir);
    const canaryOf = new Map<string, boolean>();
    const problems: Problem[] = [];
    for (const { file, manifest } of manifests) {
        for (const shard of manifest.shards) {
            if (!stacks.has(shard.name))
                problems.push({ file, message: `shard ${shard.name}: Pulumi.${shard.name}.yaml is missing; run npm run shard again` });
            canaryOf.set(shard.name, shard.canary);
        }
    }
    if (problems.length) throw new InputError(problems);

    const touched = new Set<string>();
    const skipped: string[] = [];
    for (const raw of changed === "all" ? [...stacks.keys()].map((s) => `Pulumi.${s}.yaml`) : changed) {
        const file = path.posix.normalize(raw.trim());
        if (!file) continue;
        const stack = STACK_FILE.exec(file)?.[1];
        if (stack !== undefined) {
            if (stacks.has(stack)) touched.add(stack);
            else skipped.push(`${file}: no such stack file any more (a stack removed from the project is not previewed or updated)`);
            continue;
        }
        const manifest = MANIFEST_FILE.exec(file);
        if (manifest) {
            const set = manifests.find((m) => m.file === file);
            if (set) for (const s of set.manifest.shards) touched.add(s.name);
            else skipped.push(`${file}: no such shard manifest any more`);
            continue;
        }
        if (!file.startsWith("stacks/")) continue;
        const users = [...stacks].filter(([, inventory]) => inventory === file).map(([s]) => s);
        if (users.length) for (const s of users) touched.add(s);
        else skipped.push(`${file}: no stack names it as its inventory`);
    }
    const preview = [...touched].sort();
    return {
        preview,
        first: preview.filter((s) => canaryOf.get(s) !== false),
        then: preview.filter((s) => canaryOf.get(s) === false),
        skipped,
    };
}
