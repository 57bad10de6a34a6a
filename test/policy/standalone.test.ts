import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as core from "../../components/core/contract/chain-steps";
import * as pack from "../../policy/chain-names";

const root = path.resolve(__dirname, "../..");
const policyDir = path.join(root, "policy");

/** The pack's own files (what `pulumi policy publish` archives), without any node_modules. */
function packFiles(dir = policyDir, at = ""): string[] {
    return fs.readdirSync(path.join(dir, at), { withFileTypes: true }).flatMap((e) => {
        if (e.name === "node_modules") return [];
        const rel = path.join(at, e.name);
        return e.isDirectory() ? packFiles(dir, rel) : [rel];
    });
}

/** Every module a TypeScript or JavaScript file imports or requires. */
function specifiers(text: string): string[] {
    const out: string[] = [];
    const patterns = [
        /\bimport\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/g,
        /\bexport\s+(?:\*|\{[^}]*\})\s+from\s+["']([^"']+)["']/g,
        /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
        /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    ];
    for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
    return out;
}

describe("policy pack: loads on its own (publishable for server-side enforcement)", () => {
    it("nothing under policy/ imports outside policy/, and every package it imports is its own dependency", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(policyDir, "package.json"), "utf8")) as {
            dependencies?: Record<string, string>;
        };
        const deps = Object.keys(manifest.dependencies ?? {});
        const sources = packFiles().filter((f) => /\.(ts|js|mjs|cjs)$/.test(f));
        assert.ok(sources.includes("index.ts") && sources.includes("rules.ts"), sources.join(", "));
        for (const file of sources) {
            for (const spec of specifiers(fs.readFileSync(path.join(policyDir, file), "utf8"))) {
                if (spec.startsWith(".")) {
                    const target = path.resolve(policyDir, path.dirname(file), spec);
                    assert.ok(target.startsWith(policyDir + path.sep), `policy/${file} imports ${spec}, outside policy/`);
                } else {
                    const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                    assert.ok(deps.includes(pkg), `policy/${file} imports ${spec}, which is not a dependency in policy/package.json`);
                }
            }
        }
    });

    it("its dependencies are the versions the project installs", () => {
        const project = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
            devDependencies?: Record<string, string>;
        };
        const manifest = JSON.parse(fs.readFileSync(path.join(policyDir, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
        };
        assert.deepEqual(Object.keys(manifest.dependencies).sort(), ["@pulumi/policy", "@pulumi/pulumi"]);
        for (const [name, version] of Object.entries(manifest.dependencies)) {
            assert.equal(version, project.dependencies[name] ?? project.devDependencies?.[name], `policy/package.json ${name}`);
        }
    });

    it("copied alone into an empty folder with only its dependencies, Pulumi's policy runner loads it and it serves", async function () {
        this.timeout(120_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"));
        try {
            for (const f of packFiles()) {
                fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
                fs.copyFileSync(path.join(policyDir, f), path.join(dir, f));
            }
            fs.mkdirSync(path.join(dir, "node_modules", "@pulumi"), { recursive: true });
            for (const dep of ["policy", "pulumi"])
                fs.symlinkSync(path.join(root, "node_modules", "@pulumi", dep), path.join(dir, "node_modules", "@pulumi", dep), "dir");
            // What the Pulumi CLI runs for a Node.js pack: run-policy-pack <engine address> <pack dir>,
            // from the pack's folder. It compiles the pack (type-checked) and, once PolicyPack is
            // constructed, prints the port of the analyzer it serves.
            const child = spawn(process.execPath, [path.join(dir, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", dir], {
                cwd: dir,
                stdio: ["ignore", "pipe", "pipe"],
            });
            let stdout = "";
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += String(d)));
            const served = await new Promise<string>((resolve) => {
                child.stdout.on("data", (d) => {
                    stdout += String(d);
                    if (stdout.includes("\n")) resolve(stdout);
                });
                child.on("exit", (code) => resolve(`exited ${code}`));
            });
            child.kill();
            assert.match(served.trim(), /^\d+$/, `the pack did not load alone: ${served}\n${stderr}`);
            assert.equal(stderr, "");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the names it shares with the program (chain steps, kept and scratch disk steps, wave gates) are the program's", () => {
        assert.deepEqual([...pack.CHAIN_STEPS], [...core.CHAIN_STEPS]);
        assert.deepEqual([...pack.KEPT_DISK_STEPS], [...core.KEPT_DISK_STEPS]);
        assert.equal(pack.SCRATCH_DISK_STEP, core.SCRATCH_DISK_STEP);
        const names = [
            ...core.CHAIN_STEPS.flatMap((s) => [
                `vm-a-${s}`,
                `x-${s}`,
                `-${s}`,
                `vm-${s}x`,
                s,
                `vm-a-${s}2`,
                `vm-a-${s}1`,
                `vm-a-${s}100`,
                `vm-a-${s}1000`,
                `vm-a-${s}02`,
            ]),
            "vm-a",
            "",
            "wave-",
            "wave-x-gate",
            "wave-1234567-gate",
        ];
        for (let w = 0; w < 12; w++) names.push(core.waveGateName(w), `${core.waveGateName(w)}x`);
        for (const n of names) {
            assert.deepEqual(pack.chainStepOf(n), core.chainStepOf(n), n);
            assert.equal(pack.waveOfGate(n), core.waveOfGate(n), n);
        }
        for (let w = 0; w < 12; w++) assert.equal(pack.waveOfGate(core.waveGateName(w)), w);
        // A retried step's name carries its attempt, and reads back as the same VM and step.
        assert.deepEqual(core.chainStepOf(core.chainStepName("vm-a-1", "swap", 3)), { stem: "vm-a-1", step: "swap", attempt: 3 });
        assert.deepEqual(core.chainStepOf(core.chainStepName("vm-a-1", "swap")), { stem: "vm-a-1", step: "swap", attempt: 1 });
        assert.equal(core.chainStepOf("vm-a-swap1"), undefined, "attempt 1 has no number");
    });
});
