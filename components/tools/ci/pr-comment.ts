// The pull-request comment CI posts for one stack: the outcome and the counts first, then the
// offline plan and `pulumi preview` in folded blocks, cut to fit GitHub's comment limit (the full
// texts go in the run's artifact). One comment per stack, found again by a marker and edited.

/** GitHub refuses a comment body longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** What a stack's comment is built from. */
export interface PrCommentArgs {
    /** The stack previewed. */
    stack: string;
    /** `npm run plan -- --stack S` as printed. */
    plan: string;
    /** `pulumi preview` as printed (stdout and stderr). */
    preview: string;
    /** The preview step's outcome: success, failure, cancelled or skipped. */
    outcome: string;
    /** The artifact that holds both texts in full, if the run uploads one. */
    artifact?: string;
    /** Longest body allowed (GitHub's limit unless a test says otherwise). */
    limit?: number;
}

/** The hidden first line that identifies a stack's comment, so a new push edits it instead of adding one. */
export function commentMarker(stack: string): string {
    return `<!-- bootloop-rescue preview: ${stack} -->`;
}

/** Lines of `text` from a line matching `start` to the next blank line. */
function block(lines: string[], start: RegExp): string[] {
    const at = lines.findIndex((l) => start.test(l));
    if (at < 0) return [];
    const end = lines.findIndex((l, i) => i > at && l.trim() === "");
    return lines.slice(at, end < 0 ? undefined : end);
}

/** The lines a reviewer needs first: the preview's counts, policy violations, errors; the plan's scope. */
function summaryLines(planText: string, preview: string): { plan: string[]; preview: string[] } {
    const previewLines = preview.split("\n");
    const errors = previewLines.filter((l) => /\berror:|\bmandatory\b/i.test(l)).slice(0, 10);
    const planLines = planText.split("\n");
    // The plan's scope lines, each kind once (a plan prints each once; a pasted one could repeat).
    const kinds = [/^VMs:/, /^ {2}wave 0 /, /^In flight:/, /^Run: pulumi up/, /^State:/, /^Resources: /];
    const scope = kinds.map((k) => planLines.find((l) => k.test(l))).filter((l): l is string => l !== undefined);
    return {
        preview: [
            ...block(previewLines, /^Resources:/).slice(0, 12),
            ...block(previewLines, /^Policy Violations:|^Policies:/).slice(0, 20),
            ...errors,
        ],
        plan: scope.map((l) => (l.length > 300 ? `${l.slice(0, 297)}...` : l)),
    };
}

/** A fence longer than any run of backticks in `text`, so nothing in it can close the block. */
function fence(text: string): string {
    const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
    return "`".repeat(longest + 1);
}

/** `text` cut to at most `budget` characters at a line end, saying how many lines were left out. */
function cut(text: string, budget: number, where: string): string {
    if (text.length <= budget) return text;
    const lines = text.split("\n");
    const kept: string[] = [];
    let used = 0;
    const note = (n: number) => `… ${n} more lines: ${where}`;
    for (const line of lines) {
        if (used + line.length + 1 + note(lines.length).length + 1 > budget) break;
        kept.push(line);
        used += line.length + 1;
    }
    return [...kept, note(lines.length - kept.length)].join("\n");
}

function folded(title: string, text: string): string {
    const f = fence(text);
    return `<details><summary>${title}</summary>\n\n${f}text\n${text}\n${f}\n</details>`;
}

/** The comment body: never longer than the limit, however long the plan and the preview are. */
export function prComment(args: PrCommentArgs): string {
    const limit = args.limit ?? GITHUB_COMMENT_LIMIT;
    const where = args.artifact ? `see the artifact ${args.artifact} of this run` : "see the job's log";
    const sum = summaryLines(args.plan, args.preview);
    const verdict = args.outcome === "success" ? "preview succeeded" : `preview ${args.outcome === "failure" ? "FAILED" : args.outcome}`;
    const head = [
        commentMarker(args.stack),
        `### bootloop-rescue \`${args.stack}\`: ${verdict}`,
        "",
        ...(sum.plan.length ? ["**Offline plan**", "", ...sum.plan.map((l) => `    ${l}`), ""] : []),
        ...(sum.preview.length ? ["**pulumi preview**", "", ...sum.preview.map((l) => `    ${l}`), ""] : []),
        `Full texts: ${where}.`,
        "",
    ].join("\n");
    // The fixed parts: the head (cut too if it alone is too long), two folds' markup and fences.
    const headPart = cut(head, Math.floor(limit / 4), where);
    const overhead = headPart.length + folded("Offline plan (npm run plan)", "").length + folded("pulumi preview", "").length + 2 * 64 + 16;
    let budget = Math.max(0, limit - overhead);
    // The preview gets what the plan leaves, and at least half when both are long.
    const planBudget = Math.min(args.plan.length, Math.max(Math.floor(budget / 2), budget - args.preview.length));
    const plan = cut(args.plan, planBudget, where);
    budget -= plan.length;
    const preview = cut(args.preview, budget, where);
    const body = `${headPart}\n${folded("Offline plan (npm run plan)", plan)}\n\n${folded("pulumi preview", preview)}\n`;
    if (body.length > limit) throw new Error(`internal: comment of ${body.length} characters over ${limit}`);
    return body;
}

/** Where and as whom to post: the values GitHub Actions sets. */
export interface GitHubTarget {
    /** REST API root (GITHUB_API_URL). */
    api: string;
    /** owner/name (GITHUB_REPOSITORY). */
    repository: string;
    /** The pull request's number (from GITHUB_EVENT_PATH). */
    pr: number;
    /** A token that may write the pull request's comments (GITHUB_TOKEN). */
    token: string;
}

/** Edits the stack's comment on the pull request, or adds it if there is none. Returns its URL. */
export async function upsertComment(target: GitHubTarget, stack: string, body: string, fetchFn: typeof fetch = fetch): Promise<string> {
    const base = `${target.api.replace(/\/+$/, "")}/repos/${target.repository}`;
    const headers = {
        authorization: `Bearer ${target.token}`,
        accept: "application/vnd.github+json",
        "content-type": "application/json",
        "x-github-api-version": "2022-11-28",
    };
    const call = async (method: string, url: string, payload?: unknown) => {
        const res = await fetchFn(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
        if (!res.ok)
            throw new Error(`GitHub ${method} ${url.slice(base.length) || "/"}: ${res.status} ${(await res.text()).slice(0, 300)}`);
        return res.json();
    };
    const marker = commentMarker(stack);
    for (let page = 1; page <= 30; page++) {
        const comments = (await call("GET", `${base}/issues/${target.pr}/comments?per_page=100&page=${page}`)) as {
            id: number;
            body?: string;
        }[];
        const ours = comments.find((c) => c.body?.startsWith(marker));
        if (ours) return ((await call("PATCH", `${base}/issues/comments/${ours.id}`, { body })) as { html_url: string }).html_url;
        if (comments.length < 100) break;
    }
    return ((await call("POST", `${base}/issues/${target.pr}/comments`, { body })) as { html_url: string }).html_url;
}
