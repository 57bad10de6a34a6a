// The pull-request comment for one stack's preview (see examples/ci/github-actions): summary first,
// the offline plan and the preview folded and cut to GitHub's 65,536-character limit.
//
//   npm run ci:comment -- --stack S --plan FILE --preview FILE --outcome success|failure|cancelled|skipped
//                         [--artifact NAME] [--post]
//
// --outcome is the preview step's (steps.<id>.outcome): required, since only the step knows; a
// preview file that was never written cannot have succeeded, and that is refused.
// Without --post it prints the body. With --post it edits the stack's comment on the pull request
// (or adds it), as GitHub Actions runs it: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN and the
// pull request from GITHUB_EVENT_PATH. Exit codes: cli/command/exit-codes.ts (ci:comment).
import { runCiCommentCommand } from "../components/tools/ci/comment-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "ci:comment",
    usage: "usage: npm run ci:comment -- --stack S --plan FILE --preview FILE --outcome success|failure|cancelled|skipped [--artifact NAME] [--post]",
    flags: { values: ["--stack", "--plan", "--preview", "--outcome", "--artifact"], switches: ["--post"] },
    run: ({ values: v, switches }, context) =>
        runCiCommentCommand(
            {
                stack: v["--stack"],
                plan: v["--plan"],
                preview: v["--preview"],
                outcome: v["--outcome"],
                artifact: v["--artifact"],
                post: switches.has("--post"),
            },
            context,
        ),
});
