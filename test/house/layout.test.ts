// The rules of the house, read from the sources: which wing may import which, no import circle,
// commands that load only what they need, step names from chain-steps. docs/design.md, "Layout".
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { CHAIN_STEPS } from "../../components/core/contract/chain-steps";
import { nodeFlagsFor } from "../helpers/program-node";
import { FileImports, ROOT, importCircles, importGraph, loadedBy, specifiers } from "./import-graph";

/** The wing a file belongs to: the contract, core, a cloud, another folder of components/, or its top folder. */
function wingOf(file: string): string {
    const parts = file.split("/");
    if (parts[0] !== "components") return parts.length === 1 ? parts[0].replace(/\.ts$/, "") : parts[0];
    if (parts[1] === "core") return parts[2] === "contract" ? "contract" : "core";
    return ["aws", "azure", "gcp"].includes(parts[1]) ? "cloud" : parts[1];
}

/**
 * Which wings each wing may import (its own always). Lower floors never import higher ones: the
 * contract nothing, core only the contract, the gate and the watcher nothing of the stack's
 * clouds, registries or commands; only registries (composition roots) and commands name clouds.
 * The gate may import core (gate/secret-lookup.ts runs the cloud scripts from core/script-text.ts's
 * project folder, PROJECT_DIR), and the bench may import test helpers (its stand-ins, such as the
 * disks test/rescue/disk-lab.ts builds).
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
    contract: [],
    core: ["contract"],
    gate: ["contract", "core"],
    watcher: ["contract", "core", "gate"],
    tools: ["contract", "core", "gate"],
    cloud: ["contract", "core", "gate", "watcher", "tools", "rescue"],
    rescue: [],
    registry: ["contract", "core", "gate", "watcher", "tools", "cloud"],
    cli: ["contract", "core", "gate", "watcher", "tools", "registry", "sandbox"],
    index: ["contract", "core", "registry"],
    policy: [],
    bench: ["contract", "core", "gate", "watcher", "tools", "cloud", "registry", "cli", "test", "sandbox"],
    sandbox: ["contract", "core", "tools", "registry", "index", "cloud"],
    scripts: [],
};

/** The Pulumi packages that bring a cloud's SDK or a provider. */
const CLOUD_SDKS = ["@pulumi/aws", "@pulumi/azure-native", "@pulumi/gcp", "@pulumi/command"];

/** Every import of a project file that MAY_IMPORT forbids, and every wing that has no rule there. */
export function wrongImports(graph: Map<string, FileImports>): string[] {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
        const from = wingOf(file);
        const allowed = MAY_IMPORT[from];
        if (!allowed) {
            wrong.push(`${file}: wing ${from} has no rule in MAY_IMPORT`);
            continue;
        }
        for (const target of imports.files) {
            const to = wingOf(target);
            if (to !== from && !allowed.includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
        }
    }
    return wrong;
}

/** A chain step's name suffix spelled in a file: `${stem}-swap` (template text right after a substitution) or "-swap". */
export function spelledStepNames(fileName: string, text: string): string[] {
    const step = new RegExp(`^-(${CHAIN_STEPS.join("|")})$`);
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
    const found: string[] = [];
    const line = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    const visit = (node: ts.Node): void => {
        if ((ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) && step.test(node.text))
            found.push(`${fileName}:${line(node)} \`…${node.text}\``);
        if (ts.isStringLiteral(node) && step.test(node.text)) found.push(`${fileName}:${line(node)} "${node.text}"`);
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

/** A graph of project files only, from each file's imports (all of them loading code). */
function fakeGraph(edges: Record<string, string[]>): Map<string, FileImports> {
    return new Map(Object.entries(edges).map(([file, files]) => [file, { files, packages: [], loadedPackages: [], loadedFiles: files }]));
}

describe("the house (layout rules)", () => {
    const graph = importGraph();

    it("has no import circle anywhere (type-only imports included)", () => {
        assert.deepEqual(importCircles(graph), []);
    });

    it("every file imports only its own wing and the wings MAY_IMPORT allows it (core only the contract, the contract nothing)", () => {
        assert.deepEqual(wrongImports(graph), []);
    });

    it("a cloud imports of the tools only the contracts it implements (types and offline placeholders)", () => {
        const wrong = [...graph].flatMap(([file, imports]) =>
            wingOf(file) === "cloud"
                ? imports.files
                      .filter((t) => wingOf(t) === "tools" && !/\/(types|placeholders)\.ts$/.test(t))
                      .map((t) => `${file} imports ${t}`)
                : [],
        );
        assert.deepEqual(wrong, []);
    });

    it("core and its contract import no cloud SDK (@pulumi/aws, azure-native, gcp; the command provider is allowed)", () => {
        const wrong = [...graph].flatMap(([file, imports]) =>
            ["core", "contract"].includes(wingOf(file))
                ? imports.packages
                      .filter((p) => CLOUD_SDKS.filter((s) => s !== "@pulumi/command").includes(p))
                      .map((p) => `${file} imports ${p}`)
                : [],
        );
        assert.deepEqual(wrong, []);
    });

    for (const command of ["cli/discover.ts", "cli/watcher.ts"]) {
        it(`${command} loads no Pulumi cloud SDK or provider (read from its imports)`, () => {
            const loaded = [...loadedBy(command, graph)].flatMap((f) =>
                graph
                    .get(f)!
                    .loadedPackages.filter((p) => CLOUD_SDKS.includes(p))
                    .map((p) => `${f} loads ${p}`),
            );
            assert.deepEqual(loaded, []);
        });
    }

    it("discover --help exits 0 and the watcher without its folder exits 1, each having loaded its registry and command code but no Pulumi cloud SDK or provider (measured: the modules node loaded)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "house-"));
        try {
            const report = path.join(dir, "loaded.json");
            const preload = path.join(dir, "report-modules.js");
            fs.writeFileSync(
                preload,
                `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
            );
            /** Runs a command; checks its exit status and that the files it must load were loaded; gives the cloud SDK modules it loaded. */
            const run = (args: string[], status: number, mustLoad: string[]): string[] => {
                const what = args.join(" ");
                fs.rmSync(report, { force: true });
                const result = spawnSync(
                    process.execPath,
                    [...nodeFlagsFor(args[0]), "-r", preload, "-r", require.resolve("ts-node/register/transpile-only"), ...args],
                    {
                        cwd: ROOT,
                        encoding: "utf8",
                        timeout: 120_000,
                        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
                    },
                );
                assert.ifError(result.error);
                assert.equal(result.status, status, `${what}: exit status (signal ${result.signal}); stderr:\n${result.stderr}`);
                const modules = JSON.parse(fs.readFileSync(report, "utf8")) as string[];
                const missing = mustLoad.filter((file) => !modules.some((m) => m.endsWith(path.sep + file.split("/").join(path.sep))));
                assert.deepEqual(missing, [], `${what}: these files were not loaded`);
                return modules.filter((m) =>
                    CLOUD_SDKS.some((sdk) => m.includes(`${path.sep}node_modules${path.sep}${sdk.replace("/", path.sep)}${path.sep}`)),
                );
            };
            assert.deepEqual(
                run(["cli/discover.ts", "--help"], 0, [
                    "cli/discover.ts",
                    "components/registry/discoveries.ts",
                    "components/tools/discovery/discover-command.ts",
                ]),
                [],
                "npm run discover --help",
            );
            assert.deepEqual(
                run(["cli/watcher.ts"], 1, ["cli/watcher.ts", "components/registry/watchers.ts", "components/watcher/server.ts"]),
                [],
                "the watcher, started without its folder (it loads every module, then refuses)",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the inventory, watcher and discovery registries load no Pulumi cloud SDK or provider (read from their imports)", () => {
        for (const registry of [
            "components/registry/inventory.ts",
            "components/registry/watchers.ts",
            "components/registry/discoveries.ts",
        ]) {
            const loaded = [...loadedBy(registry, graph)].flatMap((f) =>
                graph.get(f)!.loadedPackages.filter((p) => CLOUD_SDKS.includes(p)),
            );
            assert.deepEqual(loaded, [], registry);
        }
    });

    it('no file but chain-steps.ts and the bench spells a chain step\'s name suffix (`${stem}-swap`, "-swap"): names come from chainStepName and chainStepOf', () => {
        const wrong = [...graph.keys()]
            .filter((file) => file.endsWith(".ts") && file !== "components/core/contract/chain-steps.ts" && !file.startsWith("bench/"))
            .flatMap((file) => spelledStepNames(file, fs.readFileSync(path.join(ROOT, file), "utf8")));
        assert.deepEqual(wrong, []);
    });

    it('the step-name scan finds planted spellings (`${stem}-swap`, endsWith("-backup")) and passes names that only look alike', () => {
        const planted = ["const swap = `${stem}-swap`;", 'const isBackup = name.endsWith("-backup");'].join("\n");
        assert.deepEqual(spelledStepNames("planted.ts", planted), ["planted.ts:1 `…-swap`", 'planted.ts:2 "-backup"']);
        const clean = [
            'const reason = "recovered-by-reboot";',
            'const swap = chainStepName(stem, "swap");',
            "const done = `${a}-swapped`;",
        ].join("\n");
        assert.deepEqual(spelledStepNames("clean.ts", clean), []);
    });

    it("the circle and wing checks catch planted faults (a circle; core → tools, contract → core, tool → cli) and pass a graph that obeys", () => {
        const circle = fakeGraph({
            "components/core/a.ts": ["components/core/b.ts"],
            "components/core/b.ts": ["components/core/a.ts"],
        });
        assert.deepEqual(importCircles(circle), [["components/core/a.ts", "components/core/b.ts"]]);

        const upward = fakeGraph({
            "components/core/settings.ts": ["components/tools/display-text.ts"],
            "components/core/contract/problems.ts": ["components/core/settings.ts"],
            "components/tools/discovery/cli.ts": ["cli/discover.ts"],
        });
        assert.deepEqual(wrongImports(upward), [
            "components/core/settings.ts (core) imports components/tools/display-text.ts (tools)",
            "components/core/contract/problems.ts (contract) imports components/core/settings.ts (core)",
            "components/tools/discovery/cli.ts (tools) imports cli/discover.ts (cli)",
        ]);

        const obeying = fakeGraph({
            "cli/discover.ts": ["components/registry/discoveries.ts", "components/tools/discovery/discover-command.ts"],
            "components/registry/discoveries.ts": ["components/aws/discover.ts"],
            "components/aws/discover.ts": ["components/tools/discovery/types.ts", "components/core/settings.ts"],
            "components/tools/discovery/types.ts": ["components/gate/types.ts"],
            "components/gate/secret-lookup.ts": ["components/core/script-text.ts"],
            "components/core/settings.ts": ["components/core/contract/settings.ts"],
            "components/core/contract/settings.ts": ["components/core/contract/nearest.ts"],
            "bench/bench-engine.ts": ["test/rescue/disk-lab.ts"],
        });
        assert.deepEqual(wrongImports(obeying), []);
        assert.deepEqual(importCircles(obeying), []);
    });

    it("specifiers() finds every way to name a module, type-only ones marked", () => {
        const snippet = [
            'import type { A } from "./a";',
            'import { B } from "./b";',
            'export { C } from "./c";',
            'export type { D } from "./d";',
            'const e = require("./e");',
            'await import("./f");',
            'import g = require("./g");',
        ].join("\n");
        assert.deepEqual(specifiers(snippet, "snippet.ts"), [
            { text: "./a", typeOnly: true },
            { text: "./b", typeOnly: false },
            { text: "./c", typeOnly: false },
            { text: "./d", typeOnly: true },
            { text: "./e", typeOnly: false },
            { text: "./f", typeOnly: false },
            { text: "./g", typeOnly: false },
        ]);
    });

    it("the graph covers the project (more than 100 files)", () => {
        assert.ok(graph.size > 100, `the graph has ${graph.size} files`);
    });
});
