import { strict as assert } from "assert";
import { SpawnSyncReturns, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { identities, paths as builtPaths } from "../../components/registry/clouds";
import { runOffline, OfflineRun } from "../../components/tools/offline/run";
import { CloudPath } from "../../components/core/contract/cloud-path";
import { RestorePoint } from "../../components/core/contract/vm";
import { labIdentity, labPath } from "../fixtures/lab-cloud";
import { nodeFlagsFor } from "./program-node";

const projectRoot = path.resolve(__dirname, "../..");

/**
 * Runs one of the project's commands (`cli/<name>.ts`) as `npm run` would from `cwd`: through
 * ts-node, with its npm script's Node.js flags (the program's, for `plan` and `incident`), with
 * INIT_CWD set to `cwd`, and the environment given on top of this one.
 */
export function runProjectScript(
    name: string,
    args: string[],
    cwd = projectRoot,
    env: Record<string, string> = {},
): SpawnSyncReturns<string> {
    return spawnSync(
        process.execPath,
        [
            ...nodeFlagsFor(`cli/${name}.ts`),
            "-r",
            require.resolve("ts-node/register/transpile-only"),
            path.join(projectRoot, "cli", `${name}.ts`),
            ...args,
        ],
        {
            cwd,
            encoding: "utf8",
            env: { ...process.env, INIT_CWD: cwd, TS_NODE_PROJECT: path.join(projectRoot, "tsconfig.json"), ...env },
        },
    );
}

/** Writes files into a fresh temporary folder and returns it. */
export function tempDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-test-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

/** A lab inventory of `n` machines on site `s` spread over racks r1/r2, as YAML. */
export function labInventory(
    machines: {
        machine: string;
        rack?: string;
        wave?: number;
        bitlockerKey?: string;
        keySecret?: string;
        strategy?: string;
        restoreFrom?: string;
        retry?: number;
    }[],
): string {
    return (
        "vms:\n" +
        machines
            .map(
                (m) =>
                    `  - cloud: lab\n    site: hq\n    rack: ${m.rack ?? "r1"}\n    machine: ${m.machine}\n` +
                    (m.wave !== undefined ? `    wave: ${m.wave}\n` : "") +
                    (m.bitlockerKey ? `    bitlockerKey: ${m.bitlockerKey}\n` : "") +
                    (m.keySecret ? `    keySecret: ${m.keySecret}\n` : "") +
                    (m.strategy ? `    strategy: ${m.strategy}\n` : "") +
                    (m.retry !== undefined ? `    retry: ${m.retry}\n` : "") +
                    (m.restoreFrom ? `    restoreFrom: ${m.restoreFrom}\n` : ""),
            )
            .join("")
    );
}

/** Runs the real program offline on an inventory text with the lab cloud path and extra config. */
export async function runLab(
    inventory: string,
    config: Record<string, string> = {},
    options: { secretKeys?: string[]; paths?: CloudPath[]; details?: boolean } = {},
): Promise<OfflineRun> {
    const dir = tempDir({ "inv.yaml": inventory });
    return runOffline({
        stack: "test",
        config: { values: { "bootloop-rescue:inventory": "inv.yaml", ...config }, secretKeys: options.secretKeys ?? [] },
        baseDir: dir,
        identities: [...identities, labIdentity],
        paths: options.paths ?? [labPath()],
        details: options.details ?? true,
    });
}

/**
 * Runs the program on an inventory that must fail, and counts what reached the engine (the mocks)
 * before it did: the "nothing was declared" guarantee.
 */
export async function registrationsBeforeFailure(
    inventory: string,
    config: Record<string, string> = {},
    paths: CloudPath[] = [labPath()],
): Promise<{ error: unknown; registered: string[] }> {
    const pulumi = await import("@pulumi/pulumi");
    const { recover } = await import("../../components/core/program");
    const registered: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (r) => {
                registered.push(`${r.type} ${r.name}`);
                return { id: `${r.name}-id`, state: r.inputs };
            },
            call: (c) => ({ machine: c.inputs.machine, disk: "d" }),
        },
        "bootloop-rescue",
        "test",
        true,
    );
    const values: Record<string, string> = { "bootloop-rescue:inventory": "inv.yaml", ...config };
    const dir = tempDir({ "inv.yaml": inventory });
    try {
        await recover({
            identities: [...identities, labIdentity],
            paths,
            config: { get: (k) => values[k], kind: (k) => (values[k] === undefined ? "missing" : "plain") },
            stackFile: "Pulumi.test.yaml",
            baseDir: dir,
            secret: (k) => pulumi.secret(values[k]),
        });
    } catch (error) {
        await new Promise((r) => setTimeout(r, 50));
        return { error, registered };
    }
    throw new Error("expected the program to fail");
}

/** The real program's offline plan of an inventory text with the built cloud paths, with lookup helpers. */
export async function planInventory(inventory: string, config: Record<string, string> = {}, secretKeys: string[] = []) {
    const run = await runOffline({
        stack: "test",
        config: { values: { "bootloop-rescue:inventory": "inv.yaml", ...config }, secretKeys },
        baseDir: tempDir({ "inv.yaml": inventory }),
        identities,
        paths: builtPaths,
        details: true,
    });
    const rs = run.resources!;
    return { run, rs, byName: new Map(rs.map((r) => [r.name, r])), ofType: (t: string) => rs.filter((r) => r.type === t) };
}

/** The cloud resource types (no components, providers or commands) a plan of the inventory declares. */
export async function cloudResourceTypes(inventory: string): Promise<string[]> {
    const { rs } = await planInventory(inventory);
    return [...new Set(rs.map((r) => r.type))].filter(
        (t) => !t.startsWith("bootloop-rescue:") && !t.startsWith("pulumi:providers:") && !t.startsWith("command:"),
    );
}

/** A VM's record from an offline run's outputs, its Outputs resolved to their values. */
export async function recordOf(run: OfflineRun, key: string): Promise<Record<string, unknown>> {
    const pulumi = await import("@pulumi/pulumi");
    const record = run.outputs.vms[key] as unknown as Record<string, unknown>;
    const entries = await Promise.all(
        Object.entries(record).map(
            async ([k, v]) => [k, pulumi.Output.isInstance(v) ? await new Promise((resolve) => v.apply(resolve)) : v] as const,
        ),
    );
    return Object.fromEntries(entries);
}

/** What a cloud's restore lookup, run under mocks, found (its VM's resolved facts) and ran (each restore listing's environment, in order). */
export interface RestoreLookupRun {
    resolved: { restorePoint?: RestorePoint };
    runs: readonly Record<string, string>[];
}

/**
 * Asserts a restore lookup's outcome: the restore point it took (`why` says why that one), and the
 * restore listings it ran, each one's whole environment in order (`listingsWhy` says why those).
 */
export function assertRestoreLookup(
    found: RestoreLookupRun,
    want: { restorePoint: RestorePoint; why: string; listings: Record<string, string>[]; listingsWhy: string },
): void {
    assert.deepEqual(found.resolved.restorePoint, want.restorePoint, want.why);
    assert.deepEqual(found.runs, want.listings, want.listingsWhy);
}
