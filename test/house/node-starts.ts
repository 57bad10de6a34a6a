// Where the project's code starts node on a project file through ts-node, read from the sources,
// and which of those starts may run a host of the program without the program's Node.js flags:
// node-args.test.ts holds every start to them. A start is an array of node's arguments holding
// ts-node's register hook (`"ts-node/register/…"` or `require.resolve("ts-node/register/…")`); the
// argument after the hook is the file it runs. The start is flagged when it spreads
// `programNodeArgs()` or `nodeFlagsFor(…)` before the hook. A command line in one string
// (`node -r ts-node/register/… sandbox/run.ts`, for a shell) must carry the flags in its text.
import * as path from "path";
import * as ts from "typescript";

/** The functions whose spread gives a start the program's flags (components/tools/node-args.ts, test/helpers/program-node.ts). */
const FLAG_SOURCES = new Set(["programNodeArgs", "nodeFlagsFor"]);

/** One start that may run a host of the program without its flags: where, and why. */
export interface UnflaggedStart {
    /** `file:line`. */
    at: string;
    /** What it starts and why it counts. */
    why: string;
}

/** The text of a string literal, or undefined for anything else. */
function literal(node: ts.Node): string | undefined {
    return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) ? node.text : undefined;
}

/** Whether `node` is ts-node's register hook as node's `-r` argument. */
function isRegisterHook(node: ts.Expression): boolean {
    const direct = literal(node);
    if (direct !== undefined) return direct.startsWith("ts-node/register");
    return (
        ts.isCallExpression(node) &&
        node.expression.getText() === "require.resolve" &&
        node.arguments.length === 1 &&
        (literal(node.arguments[0]) ?? "").startsWith("ts-node/register")
    );
}

/** The file a start runs, as its source names it (`path.join(x, "cli/plan.ts")` names "cli/plan.ts"), or undefined when the source does not name it. */
function entryOf(node: ts.Expression | undefined): string | undefined {
    if (node === undefined) return undefined;
    const direct = literal(node);
    if (direct !== undefined) return direct;
    if (ts.isCallExpression(node) && /^path\.(join|resolve)$/.test(node.expression.getText()) && node.arguments.length > 0)
        return literal(node.arguments[node.arguments.length - 1]);
    return undefined;
}

/** Whether the path `named` (as a source names it) is one of `hosts` (project-relative files). */
function namesHost(named: string, hosts: readonly string[]): boolean {
    const clean = path.posix.normalize(named);
    return hosts.some((h) => clean === h || clean.endsWith(`/${h}`));
}

/** Whether an argument list spreads one of FLAG_SOURCES' calls. */
function spreadsFlags(args: readonly ts.Expression[]): boolean {
    return args.some(
        (a) =>
            ts.isSpreadElement(a) &&
            ts.isCallExpression(a.expression) &&
            ts.isIdentifier(a.expression.expression) &&
            FLAG_SOURCES.has(a.expression.expression.text),
    );
}

/**
 * The starts in one source text that run one of `hosts`, or a file the source does not name,
 * without the program's flags (`flags`, for a command line in one string).
 */
export function unflaggedStarts(file: string, text: string, hosts: readonly string[], flags: readonly string[]): UnflaggedStart[] {
    const source = ts.createSourceFile(
        file,
        text,
        ts.ScriptTarget.Latest,
        true,
        file.endsWith(".js") ? ts.ScriptKind.JS : ts.ScriptKind.TS,
    );
    const out: UnflaggedStart[] = [];
    const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
        if (ts.isArrayLiteralExpression(node)) {
            const args = node.elements;
            const hook = args.findIndex(isRegisterHook);
            if (hook >= 0 && !spreadsFlags(args.slice(0, hook))) {
                const entry = entryOf(args[hook + 1]);
                if (entry === undefined)
                    out.push({
                        at: at(node),
                        why: `runs ${args[hook + 1]?.getText() ?? "nothing named"}: a file the source does not name`,
                    });
                else if (namesHost(entry, hosts)) out.push({ at: at(node), why: `runs ${entry}, a host of the program` });
            }
        }
        const line = literal(node) ?? (ts.isTemplateExpression(node) ? node.getText() : undefined);
        if (line !== undefined && line.includes("ts-node") && hosts.some((h) => line.includes(h)) && !flags.every((f) => line.includes(f)))
            out.push({ at: at(node), why: `a command line that runs a host of the program: ${line.trim().split("\n")[0]}` });
        ts.forEachChild(node, visit);
    };
    visit(source);
    return out;
}
