import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import * as ts from "typescript";
import { commandOutcome, Command, CliCommandName } from "../../cli/command/command";
import { COMMAND_EXITS, CommandExits, EXIT, EXIT_CODES, SIGNAL_EXIT_BASE } from "../../cli/command/exit-codes";
import { InputError } from "../../components/core/contract/problems";
import { ArgumentError, CommandContext, CommandError, Outcome } from "../../components/tools/command-contract";
import { STOP_SIGNALS, signalExitCode } from "../../components/tools/keys/key-folder";
import { preflightOutcome } from "../../components/tools/preflight/run";
import { importGraph } from "../house/import-graph";

// One exit-code table (cli/command/exit-codes.ts): every command's exit goes through it, it says
// what docs/reference.md "Exit codes of the commands" says, and it knows every npm command that
// runs a cli/ file. The command layer (cli/command/command.ts) turns tools' outcomes and errors
// into those codes.

const ROOT = path.resolve(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const TABLE: Record<string, CommandExits> = COMMAND_EXITS;

/** The TypeScript files under a folder of the repository, repository-relative. */
function tsFiles(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.posix.join(dir, e.name);
        return e.isDirectory() ? tsFiles(rel) : e.name.endsWith(".ts") ? [rel] : [];
    });
}

/** Where a file writes an exit number itself: `process.exit(3)`, `process.exitCode = 3`, `return 3` (with `returns`). */
function literalExits(file: string, returns: boolean): string[] {
    const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
    const found: string[] = [];
    const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${node.getText(source)}`;
    const numeric = (node: ts.Node | undefined): boolean =>
        !!node &&
        (ts.isNumericLiteral(node) ||
            (ts.isParenthesizedExpression(node) && numeric(node.expression)) ||
            (ts.isConditionalExpression(node) && (numeric(node.whenTrue) || numeric(node.whenFalse))));
    const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && node.expression.getText(source) === "process.exit" && numeric(node.arguments[0]))
            found.push(at(node));
        if (
            ts.isBinaryExpression(node) &&
            node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
            /exitCode$/.test(node.left.getText(source)) &&
            numeric(node.right)
        )
            found.push(at(node));
        if (returns && ts.isReturnStatement(node) && numeric(node.expression)) found.push(at(node));
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

/** The command name a cli/ file declares (`runCommand({ name: "plan", … })`), if it declares one. */
function declaredName(file: string): string | undefined {
    const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
    let name: string | undefined;
    const visit = (node: ts.Node): void => {
        if (
            ts.isCallExpression(node) &&
            node.expression.getText(source) === "runCommand" &&
            node.arguments[0] &&
            ts.isObjectLiteralExpression(node.arguments[0])
        ) {
            for (const p of node.arguments[0].properties)
                if (ts.isPropertyAssignment(p) && p.name.getText(source) === "name" && ts.isStringLiteral(p.initializer))
                    name = p.initializer.text;
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return name;
}

/** docs/reference.md, "Exit codes of the commands": the table's codes per command, and the section's text. */
function documentedExits(): { codes: Map<string, number[]>; text: string } {
    const doc = read("docs/reference.md");
    const start = doc.indexOf("\n## Exit codes of the commands\n");
    assert.ok(start >= 0, "docs/reference.md has a section 'Exit codes of the commands'");
    const end = doc.indexOf("\n## ", start + 1);
    const text = doc.slice(start, end < 0 ? undefined : end);
    const cells = (line: string) =>
        line
            .trim()
            .replace(/^\||\|$/g, "")
            .split(/(?<!\\)\|/)
            .map((c) => c.trim());
    const lines = text.split("\n");
    const header = lines.findIndex((l) => /^\|\s*command\s*\|/.test(l));
    assert.ok(header >= 0, "the section has a table whose first column is the command");
    const columns = cells(lines[header]).slice(1).map(Number);
    assert.ok(
        columns.every((c) => Number.isInteger(c)),
        `the table's columns are exit codes: ${lines[header]}`,
    );
    const codes = new Map<string, number[]>();
    for (const line of lines.slice(header + 2)) {
        if (!line.startsWith("|")) break;
        const [command, ...meanings] = cells(line);
        codes.set(
            command.replace(/`/g, ""),
            columns.filter((_, i) => (meanings[i] ?? "") !== ""),
        );
    }
    return { codes, text };
}

describe("the exit-code table (cli/command/exit-codes.ts)", () => {
    it("names every code once, 0 to 4, each with its meaning", () => {
        assert.deepEqual(
            Object.values(EXIT_CODES).map((c) => c.code),
            [0, 1, 2, 3, 4],
        );
        for (const [name, c] of Object.entries(EXIT_CODES)) {
            assert.ok(c.meaning.length > 10, name);
            assert.equal(EXIT[name as Outcome], c.code, name);
        }
    });

    it("has the commands and codes of docs/reference.md, 'Exit codes of the commands'", () => {
        const { codes } = documentedExits();
        assert.deepEqual(Object.keys(TABLE).sort(), [...codes.keys()].sort(), "the same commands");
        for (const [command, exits] of Object.entries(TABLE)) {
            const used = Object.keys(exits.codes)
                .map((o) => EXIT[o as Outcome])
                .sort();
            assert.deepEqual(used, codes.get(command), `${command}: the same codes`);
            for (const [outcome, meaning] of Object.entries(exits.codes))
                assert.ok(meaning && meaning.length > 3, `${command} ${outcome}: a meaning`);
            for (const o of [exits.invalidInput, exits.unexpected])
                if (o) assert.ok(o in exits.codes, `${command}: ends with ${o}, which it does not list`);
        }
    });

    it("import-keys' signal exits are 128 + the signal's number, as the docs say and the key folder exits", () => {
        const { text } = documentedExits();
        const signals = TABLE["import-keys"].signals ?? [];
        assert.deepEqual([...signals].sort(), [...STOP_SIGNALS].sort());
        const documented = /`import-keys` stopped by ([^.]*?) exits ([\d, or]+)/.exec(text.replace(/\s+/g, " "));
        assert.ok(documented, "the docs name import-keys' signal exits");
        const named = documented[1].match(/SIG[A-Z]+/g)!;
        const numbers = documented[2].match(/\d+/g)!.map(Number);
        assert.deepEqual(
            named.map((s) => SIGNAL_EXIT_BASE + os.constants.signals[s as NodeJS.Signals]),
            numbers,
        );
        for (const s of STOP_SIGNALS) assert.equal(signalExitCode(s), SIGNAL_EXIT_BASE + os.constants.signals[s], s);
    });

    it("knows every npm script that runs a cli/ file, by the file it runs", () => {
        const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
        const runsCli = Object.entries(scripts).flatMap(([name, line]) => {
            const file = /(?:^|\s)(cli\/[\w./-]+\.ts)(?:\s|$)/.exec(line)?.[1];
            return file ? [[name, file] as const] : [];
        });
        assert.ok(runsCli.length >= 9, JSON.stringify(runsCli));
        for (const [name, file] of runsCli) assert.equal(TABLE[name]?.file, file, `npm run ${name}`);
        for (const [name, exits] of Object.entries(TABLE))
            if (exits.file.startsWith("cli/")) assert.ok(scripts[name]?.includes(exits.file), `${name}: package.json runs ${exits.file}`);
    });

    it("the preflight's verdicts are outcomes of the table, with plan's meaning for each", () => {
        const finding = (verdict: "ok" | "fail" | "not-checked") => ({
            cloud: "aws",
            scope: "s",
            check: "quota" as const,
            verdict,
            message: "m",
        });
        for (const findings of [[finding("ok")], [finding("fail")], [finding("not-checked")]]) {
            const o = preflightOutcome(findings);
            assert.ok(COMMAND_EXITS.plan.codes[o.outcome], `${o.outcome}: ${o.summary}`);
        }
    });
});

describe("every exit goes through the table", () => {
    const commandFiles = tsFiles("cli").filter((f) => !f.startsWith("cli/command/"));

    it("no cli/ file writes an exit number (process.exit(N), exitCode = N, return N)", () => {
        assert.deepEqual(
            tsFiles("cli").flatMap((f) => literalExits(f, true)),
            [],
        );
    });

    it("no tool writes an exit number, and no command tool returns one", () => {
        const tools = tsFiles("components/tools");
        assert.deepEqual(
            tools.flatMap((f) => literalExits(f, /-command\.ts$/.test(f))),
            [],
        );
    });

    it("every command file declares its command through runCommand, under the name the table gives its file", () => {
        for (const file of commandFiles) {
            if (file === "cli/watcher.ts") continue; // the watcher daemon, started by base.sh: no npm command
            const name = declaredName(file);
            assert.ok(name, `${file}: runCommand({ name, … })`);
            assert.equal(TABLE[name]?.file, file, `${file} declares ${name}`);
        }
        for (const exits of Object.values(TABLE))
            if (exits.file.startsWith("cli/")) assert.ok(commandFiles.includes(exits.file), exits.file);
    });

    it("a command file only declares and calls its tool: no fs or child_process, no function of its own, about 40 lines", () => {
        const graph = importGraph();
        for (const file of commandFiles) {
            if (file === "cli/watcher.ts") continue;
            const text = read(file);
            const packages = graph.get(file)!.packages;
            assert.deepEqual(
                packages.filter((p) => ["fs", "child_process", "os"].includes(p)),
                [],
                file,
            );
            assert.doesNotMatch(text, /\bfunction\b|process\.(argv|env|stdout|stderr|stdin|cwd)/, file);
            const code = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("//"));
            assert.ok(code.length <= 40, `${file}: ${code.length} lines of code`);
        }
    });

    it("no tool imports from cli/", () => {
        const wrong = [...importGraph()].flatMap(([file, imports]) =>
            file.startsWith("components/") ? imports.files.filter((t) => t.startsWith("cli/")).map((t) => `${file} imports ${t}`) : [],
        );
        assert.deepEqual(wrong, []);
    });
});

describe("the command layer (cli/command/command.ts)", () => {
    /** A context whose streams are collected. */
    function context(): CommandContext & { out: () => string; err: () => string } {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let out = "";
        let err = "";
        stdout.on("data", (d) => (out += d));
        stderr.on("data", (d) => (err += d));
        return {
            cwd: ROOT,
            projectDir: ROOT,
            stackDir: ROOT,
            env: {},
            stdin: new PassThrough(),
            stdout,
            stderr,
            out: () => out,
            err: () => err,
        };
    }
    const command = <C extends CliCommandName>(name: C, run: Command<C>["run"]): Command<C> => ({
        name,
        usage: `usage: npm run ${name} -- --stack NAME`,
        flags: { values: ["--stack"], switches: ["--json"] },
        run,
    });

    it("--help prints the usage on stdout and ends ok, without running the command", async () => {
        const c = context();
        let ran = false;
        assert.equal(
            await commandOutcome(
                command("plan", () => ((ran = true), "ok")),
                ["--stack", "x", "-h"],
                c,
            ),
            "ok",
        );
        assert.equal(c.out(), "usage: npm run plan -- --stack NAME\n");
        assert.equal(ran, false);
    });

    it("hands the tool the flags read; a bad flag, or an ArgumentError of the tool's, is badArguments with the usage", async () => {
        const c = context();
        let given: unknown;
        assert.equal(
            await commandOutcome(
                command("report", (flags) => ((given = flags), "ok")),
                ["--stack=dev", "--json"],
                c,
            ),
            "ok",
        );
        assert.deepEqual(given, { values: { "--stack": "dev" }, switches: new Set(["--json"]) });
        assert.equal(
            await commandOutcome(
                command("report", () => "ok"),
                ["--stak", "dev"],
                c,
            ),
            "badArguments",
        );
        assert.equal(
            await commandOutcome(
                command("shard", () => Promise.reject(new ArgumentError("--stack: \x1b]0;x\x07bad"))),
                [],
                c,
            ),
            "badArguments",
        );
        assert.equal(
            c.err(),
            'npm run report: unknown argument "--stak" (did you mean --stack?)\nusage: npm run report -- --stack NAME\nnpm run shard: --stack: bad\nusage: npm run shard -- --stack NAME\n',
        );
    });

    it("a CommandError ends with its outcome, said without the usage", async () => {
        const c = context();
        assert.equal(
            await commandOutcome(
                command("report", () => {
                    throw new CommandError("badArguments", "file x: not JSON");
                }),
                [],
                c,
            ),
            "badArguments",
        );
        assert.equal(c.err(), "npm run report: file x: not JSON\n");
    });

    it("the reference says, per command, what invalid input and an unexpected error end with, as the table does", () => {
        const reference = fs.readFileSync(path.join(ROOT, "docs/reference.md"), "utf8").replace(/\s+/g, " ");
        const said = Object.entries(COMMAND_EXITS as Record<string, CommandExits>)
            .map(([name, e]) => `\`${name}\` ${e.invalidInput ? EXIT[e.invalidInput] : "–"} / ${EXIT[e.unexpected ?? "failed"]}`)
            .join(", ");
        assert.ok(reference.includes(`(invalid input / unexpected error): ${said}.`), said);
    });

    it("a CommandError whose outcome the command's row does not list ends as the command's unexpected error", async () => {
        const c = context();
        // report uses 0, 1 and 2: a tool saying "notChecked" (4) is a defect, not a code report may end with.
        assert.equal(
            await commandOutcome(
                command("report", () => {
                    throw new CommandError("notChecked", "could not look");
                }),
                [],
                c,
            ),
            COMMAND_EXITS.report.unexpected ?? "failed",
        );
        assert.equal(c.err(), "npm run report: could not look\n");
    });

    it("an invalid input, and an error no tool named, end as the table says for the command", async () => {
        const problems = () => new InputError([{ file: "Pulumi.x.yaml", message: "no such stack file" }]);
        const cases: [CliCommandName, Error, Outcome][] = [
            ["plan", problems(), "failed"],
            ["watch", problems(), "badArguments"],
            ["plan", new Error("boom"), "failed"],
            ["discover", new Error("boom"), "checkFailed"],
            ["watch", new Error("boom"), "checkFailed"],
            ["ci:stacks", new Error("boom"), "badArguments"],
            ["shard", new Error("boom"), "badArguments"],
            ["ci:comment", new Error("boom"), "checkFailed"],
            ["evidence", new Error("boom"), "failed"],
        ];
        for (const [name, error, outcome] of cases) {
            const c = context();
            assert.equal(
                await commandOutcome(
                    command(name, () => {
                        throw error;
                    }),
                    [],
                    c,
                ),
                outcome,
                `${name}: ${error.message}`,
            );
            assert.equal(
                outcome,
                TABLE[name][error instanceof InputError ? "invalidInput" : "unexpected"] ?? TABLE[name].unexpected ?? "failed",
            );
            assert.equal(c.err(), error instanceof InputError ? `${error.message}\n` : `npm run ${name}: boom\n`);
        }
    });
});
