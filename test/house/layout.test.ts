// The rules of the house, read from the sources: which wing may import which, no import circle,
// commands that load only what they need, step names from chain-steps. docs/design.md, "Layout".
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { CHAIN_STEPS } from "../../components/core/contract/chain-steps";
import { ROOT, importCircles, importGraph, loadedBy } from "./import-graph";

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
    cli: ["contract", "core", "gate", "watcher", "tools", "registry"],
    index: ["contract", "core", "registry"],
    policy: [],
    bench: ["contract", "core", "gate", "watcher", "tools", "cloud", "registry", "cli", "test"],
    scripts: [],
};

/** The Pulumi packages that bring a cloud's SDK or a provider. */
const CLOUD_SDKS = ["@pulumi/aws", "@pulumi/azure-native", "@pulumi/gcp", "@pulumi/command"];

describe("the house (layout rules)", () => {
    const graph = importGraph();

    it("has no import circle anywhere (type-only imports included)", () => {
        assert.deepEqual(importCircles(graph), []);
    });

    it("every wing imports only the wings below it: core only the contract, the contract nothing", () => {
        const wrong: string[] = [];
        for (const [file, imports] of graph) {
            const from = wingOf(file);
            const allowed = MAY_IMPORT[from];
            assert.ok(allowed, `${file}: wing ${from} has no rule in MAY_IMPORT`);
            for (const target of imports.files) {
                const to = wingOf(target);
                if (to !== from && !allowed.includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
            }
        }
        assert.deepEqual(wrong, []);
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

    it("core and its contract name no cloud, and core's stack files load no cloud SDK", () => {
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

    it("npm run discover and the watcher load no Pulumi cloud SDK or provider (measured: the modules node loaded)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "house-"));
        try {
            const report = path.join(dir, "loaded.json");
            const preload = path.join(dir, "report-modules.js");
            fs.writeFileSync(
                preload,
                `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
            );
            const run = (args: string[]) => {
                fs.rmSync(report, { force: true });
                spawnSync(process.execPath, ["-r", preload, "-r", require.resolve("ts-node/register/transpile-only"), ...args], {
                    cwd: ROOT,
                    encoding: "utf8",
                    timeout: 120_000,
                    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
                });
                const modules = JSON.parse(fs.readFileSync(report, "utf8")) as string[];
                assert.ok(
                    modules.some((m) => m.includes(`${path.sep}cli${path.sep}`)),
                    `${args.join(" ")}: its own files were not loaded`,
                );
                return modules.filter((m) =>
                    CLOUD_SDKS.some((sdk) => m.includes(`${path.sep}node_modules${path.sep}${sdk.replace("/", path.sep)}${path.sep}`)),
                );
            };
            assert.deepEqual(run(["cli/discover.ts", "--help"]), [], "npm run discover --help");
            assert.deepEqual(run(["cli/watcher.ts"]), [], "the watcher, started without its folder (it loads every module, then refuses)");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("each registry loads only its wing: the inventory's and the watcher's load no cloud SDK", () => {
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

    it("no file spells a chain step's resource name: names come from chainStepName and are read back with chainStepOf", () => {
        const step = new RegExp(`^-(${CHAIN_STEPS.join("|")})$`);
        const wrong: string[] = [];
        for (const file of graph.keys()) {
            if (!file.endsWith(".ts") || file === "components/core/contract/chain-steps.ts" || file.startsWith("bench/")) continue;
            const source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.ES2022, true);
            const visit = (node: ts.Node): void => {
                // `${stem}-swap` (a template's text right after a substitution), or "-swap" on its own (endsWith("-swap")).
                if ((ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) && step.test(node.text))
                    wrong.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} \`…${node.text}\``);
                if (ts.isStringLiteral(node) && step.test(node.text))
                    wrong.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} "${node.text}"`);
                ts.forEachChild(node, visit);
            };
            visit(source);
        }
        assert.deepEqual(wrong, []);
    });

    it("the rules read real imports (a deliberate circle and an upward import are caught)", () => {
        const fake = new Map([
            ["components/core/a.ts", { files: ["components/core/b.ts"], packages: [], loadedPackages: [], loadedFiles: [] }],
            [
                "components/core/b.ts",
                { files: ["components/core/a.ts", "components/tools/x.ts"], packages: [], loadedPackages: [], loadedFiles: [] },
            ],
        ]);
        assert.deepEqual(importCircles(fake), [["components/core/a.ts", "components/core/b.ts"]]);
        assert.ok(!MAY_IMPORT[wingOf("components/core/b.ts")].includes(wingOf("components/tools/x.ts")));
        assert.ok(graph.size > 100, "the graph covers the project");
    });
});
