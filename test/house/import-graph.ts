// The project's import graph, read from the sources: what each TypeScript or JavaScript file imports (relative
// files, resolved to repository paths, and packages by name), static and dynamic, type-only
// imports included. The layout tests check the rules of the house against it.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/** The repository's root folder. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The folders whose TypeScript the graph covers (tests and fixtures are not part of the house). */
const SOURCE_FOLDERS = ["components", "cli", "bench", "rescue", "policy", "scripts", "sandbox"];

/** One file's imports: repository-relative paths of project files, and package names. */
export interface FileImports {
    files: string[];
    packages: string[];
    /** The packages it loads when it runs (`import type` and `export type` load nothing). */
    loadedPackages: string[];
    /** The project files it loads when it runs. */
    loadedFiles: string[];
}

/** A module specifier, and whether it is named for types only. */
export interface Specifier {
    text: string;
    typeOnly: boolean;
}

/** The TypeScript and JavaScript files (no .d.ts) under the repository's `folders`, repository-relative; node_modules left out. */
export function codeFiles(folders: readonly string[]): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
        for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const rel = path.posix.join(dir, entry.name);
            if (entry.isDirectory()) {
                if (entry.name !== "node_modules") walk(rel);
            } else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(rel);
        }
    };
    for (const folder of folders) if (fs.existsSync(path.join(ROOT, folder))) walk(folder);
    return out;
}

function sourceFiles(): string[] {
    const out = codeFiles(SOURCE_FOLDERS);
    if (fs.existsSync(path.join(ROOT, "index.ts"))) out.push("index.ts");
    return out.sort();
}

/** Every module specifier a file names: import/export ... from, import(), require(), import x = require(). */
export function specifiers(text: string, fileName: string): Specifier[] {
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
    const found: Specifier[] = [];
    const visit = (node: ts.Node): void => {
        if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
            found.push({ text: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly ?? false });
        } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
            found.push({ text: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
        } else if (
            ts.isImportEqualsDeclaration(node) &&
            ts.isExternalModuleReference(node.moduleReference) &&
            ts.isStringLiteral(node.moduleReference.expression)
        ) {
            found.push({ text: node.moduleReference.expression.text, typeOnly: node.isTypeOnly });
        } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
            const callee = node.expression;
            if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require"))
                found.push({ text: node.arguments[0].text, typeOnly: false });
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

function resolveRelative(from: string, spec: string): string | undefined {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    for (const candidate of [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`]) {
        const full = path.join(ROOT, candidate);
        if (fs.existsSync(full) && fs.statSync(full).isFile()) return candidate;
    }
    return undefined;
}

/** A package's name from a specifier: `@pulumi/aws/ec2` → `@pulumi/aws`, `fs` → `fs`. */
export function packageName(spec: string): string {
    const parts = spec.replace(/^node:/, "").split("/");
    return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

let cached: Map<string, FileImports> | undefined;

/** The import graph of the house, by repository-relative path. */
export function importGraph(): Map<string, FileImports> {
    if (cached) return cached;
    const graph = new Map<string, FileImports>();
    for (const file of sourceFiles()) {
        const imports: FileImports = { files: [], packages: [], loadedPackages: [], loadedFiles: [] };
        for (const spec of specifiers(fs.readFileSync(path.join(ROOT, file), "utf8"), file)) {
            if (spec.text.startsWith(".")) {
                const target = resolveRelative(file, spec.text);
                if (!target) throw new Error(`${file}: imports ${spec.text}, which is no file`);
                imports.files.push(target);
                if (!spec.typeOnly) imports.loadedFiles.push(target);
            } else {
                imports.packages.push(packageName(spec.text));
                if (!spec.typeOnly) imports.loadedPackages.push(packageName(spec.text));
            }
        }
        graph.set(file, imports);
    }
    cached = graph;
    return graph;
}

/** The files `start` loads when it runs, itself included, following project imports that load code. */
export function loadedBy(start: string, graph = importGraph()): Set<string> {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length) {
        const file = stack.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const next of graph.get(file)?.loadedFiles ?? []) stack.push(next);
    }
    return seen;
}

/** Every import circle, each as the files around it (Tarjan's strongly connected components). */
export function importCircles(graph = importGraph()): string[][] {
    let index = 0;
    const indices = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const circles: string[][] = [];
    const connect = (v: string): void => {
        indices.set(v, index);
        low.set(v, index);
        index++;
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v)?.files ?? []) {
            if (!indices.has(w)) {
                connect(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
        }
        if (low.get(v) === indices.get(v)) {
            const component: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                component.push(w);
            } while (w !== v);
            if (component.length > 1 || (graph.get(v)?.files ?? []).includes(v)) circles.push(component.sort());
        }
    };
    for (const v of graph.keys()) if (!indices.has(v)) connect(v);
    return circles;
}
