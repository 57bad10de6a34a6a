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
// Exit codes: cli/command/exit-codes.ts (ci:stacks).
import { runCiStacksCommand } from "../components/tools/ci/stacks-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "ci:stacks",
    usage: "usage: npm run ci:stacks -- (--changed-since REF | --files FILE | --stacks A,B | --all) [--github-output]",
    flags: { values: ["--changed-since", "--files", "--stacks"], switches: ["--all", "--github-output"] },
    run: ({ values, switches }, context) =>
        runCiStacksCommand(
            {
                changedSince: values["--changed-since"],
                files: values["--files"],
                stacks: values["--stacks"],
                all: switches.has("--all"),
                githubOutput: switches.has("--github-output"),
            },
            context,
        ),
});
