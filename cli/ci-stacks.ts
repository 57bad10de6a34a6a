// Which stacks a CI run previews or updates, from the files a change touched (see
// examples/ci/github-actions). Canary shards and stacks outside any shard set come first; the other
// shards of `npm run shard` only after every one of those succeeded.
//
//   npm run ci:stacks -- --changed-since REF   files changed from REF to HEAD (git, in this folder)
//   npm run ci:stacks -- --files FILE          files listed in FILE, one per line (- for stdin)
//   npm run ci:stacks -- --stacks A,B          the stacks named (each must exist)
//   npm run ci:stacks -- --all                 every stack
//   ... [--github-output]                      also append preview=, first=, then= (JSON arrays)
//                                              to the file $GITHUB_OUTPUT names
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CiStacks, ciStacks, projectStacks } from "../components/tools/ci/ci-stacks";
import { InputError, formatProblem } from "../components/core/contract/problems";
import { disableStackTraces } from "./command/fast-stacks";
import { ArgumentError, commandArguments, readFlags } from "./command/flags";

const USAGE = "usage: npm run ci:stacks -- (--changed-since REF | --files FILE | --stacks A,B | --all) [--github-output]";

/** The changed files the arguments name, relative to the project folder; "all" for --all. */
function changedFiles(argv: string[], projectDir: string): { changed: string[] | "all"; githubOutput: boolean } {
    const { values, switches } = readFlags(argv, { values: ["--changed-since", "--files", "--stacks"], switches: ["--all", "--github-output"] });
    const given = [...Object.keys(values), ...(switches.has("--all") ? ["--all"] : [])];
    if (given.length !== 1) throw new ArgumentError("give one of --changed-since, --files, --stacks, --all");
    const changed = switches.has("--all")
        ? "all"
        : values["--files"] !== undefined
          ? readList(values["--files"])
          : values["--stacks"] !== undefined
            ? namedStacks(values["--stacks"], projectDir)
            : gitChanged(values["--changed-since"], projectDir);
    return { changed, githubOutput: switches.has("--github-output") };
}

/** The stack files of the stacks named, each checked to exist. */
function namedStacks(list: string, projectDir: string): string[] {
    const known = projectStacks(projectDir);
    const names = list.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length || !names.length) throw new ArgumentError(`--stacks: ${unknown.length ? `no stack ${unknown.map((n) => JSON.stringify(n)).join(", ")} (no Pulumi.<stack>.yaml)` : "no stack named"}`);
    return names.map((n) => `Pulumi.${n}.yaml`);
}

function readList(file: string): string[] {
    const cwd = process.env.INIT_CWD ?? process.cwd();
    try {
        return fs.readFileSync(file === "-" ? 0 : path.resolve(cwd, file), "utf8").split("\n");
    } catch (err) {
        throw new ArgumentError(`--files: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

function gitChanged(ref: string, projectDir: string): string[] {
    // A ref is passed as one argument, never through a shell; a new branch's "before" is all zeros.
    if (!/^[A-Za-z0-9._/@^~-]{1,200}$/.test(ref) || /^0+$/.test(ref) || ref.startsWith("-")) {
        throw new ArgumentError(`--changed-since: ${JSON.stringify(ref)} is not a commit to compare with (a new branch has none: use --all)`);
    }
    const out = spawnSync("git", ["diff", "--relative", "--name-only", "--no-renames", `${ref}`, "HEAD", "--"], { cwd: projectDir, encoding: "utf8" });
    if (out.status !== 0) throw new ArgumentError(`--changed-since ${ref}: git diff failed: ${(out.stderr || out.error?.message || "").trim().split("\n")[0]} (check out the history, e.g. fetch-depth: 0)`);
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

function main(): number {
    disableStackTraces();
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const read = commandArguments("ci:stacks", USAGE, (argv) => changedFiles(argv, projectDir));
    if ("exit" in read) return read.exit;
    const args = read.args;
    const result = ciStacks(projectDir, args.changed);
    process.stdout.write(`${render(result)}\n`);
    if (args.githubOutput) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) throw new InputError([{ file: "GITHUB_OUTPUT", message: "--github-output: the variable is not set (GitHub Actions sets it)" }]);
        fs.appendFileSync(file, `preview=${JSON.stringify(result.preview)}\nfirst=${JSON.stringify(result.first)}\nthen=${JSON.stringify(result.then)}\n`);
    }
    return 0;
}

try {
    process.exitCode = main();
} catch (err) {
    process.stderr.write(err instanceof InputError ? `npm run ci:stacks:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}\n` : `error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof InputError ? 1 : 2;
}
