// `npm run ci:stacks`: which stacks a CI run previews or updates, from the files a change touched
// (git history, a list, named stacks or all), printed and, for GitHub Actions, written as outputs.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { InputError, formatProblem } from "../../core/contract/problems";
import { ArgumentError, CommandContext, CommandError } from "../command-contract";
import { CiStacks, ciStacks, projectStacks } from "./ci-stacks";

/** What `npm run ci:stacks` was asked for: exactly one of `changedSince`, `files`, `stacks`, `all`. */
export interface CiStacksCommandArgs {
    /** Files changed from this commit to HEAD (git, in the stacks' folder). */
    changedSince?: string;
    /** A file listing the changed files, one per line; `-` for stdin. */
    files?: string;
    /** Stacks named, comma-separated (each must exist). */
    stacks?: string;
    /** Every stack. */
    all: boolean;
    /** Also append preview=, first=, then= (JSON arrays) to the file GITHUB_OUTPUT names. */
    githubOutput: boolean;
}

/**
 * Prints the stacks to preview, to update first (canary shards, unsharded stacks) and then (the
 * other shards). A ref git cannot compare with, or a list it cannot read, is a bad argument; an
 * invalid stack file or shard manifest, or GITHUB_OUTPUT unset, ends `failed`.
 */
export function runCiStacksCommand(args: CiStacksCommandArgs, context: CommandContext): "ok" {
    const changed = changedFiles(args, context);
    let result: CiStacks;
    try {
        result = ciStacks(context.stackDir, changed);
    } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new CommandError(
            "failed",
            `the project's stacks cannot be read:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`,
        );
    }
    context.stdout.write(`${render(result)}\n`);
    if (args.githubOutput) {
        const file = context.env.GITHUB_OUTPUT;
        if (!file) throw new CommandError("failed", "--github-output: GITHUB_OUTPUT is not set (GitHub Actions sets it)");
        fs.appendFileSync(
            file,
            `preview=${JSON.stringify(result.preview)}\nfirst=${JSON.stringify(result.first)}\nthen=${JSON.stringify(result.then)}\n`,
        );
    }
    return "ok";
}

/** The changed files the arguments name, relative to the stacks' folder; "all" for --all. */
function changedFiles(args: CiStacksCommandArgs, context: CommandContext): string[] | "all" {
    const given = [args.changedSince, args.files, args.stacks, args.all || undefined].filter((v) => v !== undefined);
    if (given.length !== 1) throw new ArgumentError("give one of --changed-since, --files, --stacks, --all");
    if (args.all) return "all";
    if (args.files !== undefined) return readList(args.files, context.cwd);
    if (args.stacks !== undefined) return namedStacks(args.stacks, context.stackDir);
    return gitChanged(args.changedSince!, context.stackDir);
}

/** The stack files of the stacks named, each checked to exist. */
function namedStacks(list: string, projectDir: string): string[] {
    const known = projectStacks(projectDir);
    const names = list
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length || !names.length)
        throw new ArgumentError(
            `--stacks: ${unknown.length ? `no stack ${unknown.map((n) => JSON.stringify(n)).join(", ")} (no Pulumi.<stack>.yaml)` : "no stack named"}`,
        );
    return names.map((n) => `Pulumi.${n}.yaml`);
}

/** The lines of `file` (from where the command was started), or of standard input for `-`. */
function readList(file: string, cwd: string): string[] {
    try {
        return fs.readFileSync(file === "-" ? 0 : path.resolve(cwd, file), "utf8").split("\n");
    } catch (err) {
        throw new ArgumentError(`--files: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

function gitChanged(ref: string, projectDir: string): string[] {
    // A ref is passed as one argument, never through a shell; a new branch's "before" is all zeros.
    if (!/^[A-Za-z0-9._/@^~-]{1,200}$/.test(ref) || /^0+$/.test(ref) || ref.startsWith("-")) {
        throw new ArgumentError(
            `--changed-since: ${JSON.stringify(ref)} is not a commit to compare with (a new branch has none: use --all)`,
        );
    }
    const out = spawnSync("git", ["diff", "--relative", "--name-only", "--no-renames", `${ref}`, "HEAD", "--"], {
        cwd: projectDir,
        encoding: "utf8",
    });
    if (out.status !== 0)
        throw new ArgumentError(
            `--changed-since ${ref}: git diff failed: ${(out.stderr || out.error?.message || "").trim().split("\n")[0]} (check out the history, e.g. fetch-depth: 0)`,
        );
    return out.stdout.split("\n");
}

function render(result: CiStacks): string {
    const line = (what: string, stacks: string[]) => `${what}: ${stacks.length ? stacks.join(", ") : "none"}`;
    return [
        line("preview", result.preview),
        line("update first (canary shards, unsharded stacks)", result.first),
        line("update then (the other shards, once every first one succeeded)", result.then),
        ...result.skipped.map((s) => `skipped ${s}`),
    ].join("\n");
}
