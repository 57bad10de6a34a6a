import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { STEP_LOGGING } from "../components/core/script-text";
import { planInventory } from "./helpers/lab-run";

// Dependencies we can trust: every pin is an exact release, and every Pulumi provider package asks
// the engine for the plugin of its own version. A stray publish (`@pulumi/command` 4.5.0: version
// "v4.5.0", install script `resource command v4.5.0`, no such plugin upstream) makes a real
// `pulumi up` fail before its first step, however green the mocks are.

const ROOT = path.resolve(__dirname, "..");
const PLAIN_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

interface Manifest {
    name: string;
    version: string;
    scripts?: Record<string, string>;
    pulumi?: { resource?: boolean; name?: string; version?: string };
}

/**
 * What is wrong with a Pulumi provider package's manifest: a version that is not plain semver, or
 * a plugin version (install script, `pulumi.version`) other than the package's own.
 */
export function providerManifestProblems(m: Manifest): string[] {
    const problems: string[] = [];
    if (!PLAIN_SEMVER.test(m.version))
        problems.push(`${m.name}: version ${JSON.stringify(m.version)} is not plain semver (a stray publish?)`);
    const install = m.scripts?.install;
    if (install !== undefined) {
        const plugin = /install-pulumi-plugin\.js resource (\S+) (\S+)/.exec(install);
        if (!plugin) problems.push(`${m.name}: install script ${JSON.stringify(install)} names no plugin`);
        else if (plugin[2] !== m.version)
            problems.push(`${m.name}: install script asks for plugin ${plugin[1]} ${plugin[2]}, the package is ${m.version}`);
    }
    if (m.pulumi?.version !== undefined && m.pulumi.version !== m.version)
        problems.push(`${m.name}: pulumi.version ${m.pulumi.version} is not the package's ${m.version}`);
    return problems;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

describe("dependencies", () => {
    const pkg = readJson<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>(
        path.join(ROOT, "package.json"),
    );
    const lock = readJson<{ packages: Record<string, { version: string }> }>(path.join(ROOT, "package-lock.json"));
    const pins = { ...pkg.dependencies, ...pkg.devDependencies };

    it("every dependency is pinned to one exact release, and the lock file installs that release", () => {
        for (const [name, version] of Object.entries(pins)) {
            assert.match(version, PLAIN_SEMVER, `${name}: ${version} is not an exact version`);
            assert.equal(
                lock.packages[`node_modules/${name}`]?.version,
                version,
                `${name}: package-lock.json does not install the pinned ${version}`,
            );
        }
        assert.match(pins.typescript, /^5\./, "TypeScript stays on 5.x");
    });

    it("every installed Pulumi provider package is a real release that asks for its own plugin version", () => {
        const scope = path.join(ROOT, "node_modules", "@pulumi");
        const providers = fs
            .readdirSync(scope)
            .map((dir) => readJson<Manifest>(path.join(scope, dir, "package.json")))
            .filter((m) => m.pulumi?.resource === true);
        assert.deepEqual(providers.map((m) => m.name).sort(), ["@pulumi/aws", "@pulumi/azure-native", "@pulumi/command", "@pulumi/gcp"]);
        for (const m of providers) assert.deepEqual(providerManifestProblems(m), [], m.name);
    });

    it("the check refuses the stray publish the project once pinned (@pulumi/command 4.5.0)", () => {
        const stray: Manifest = {
            name: "@pulumi/command",
            version: "v4.5.0",
            scripts: { build: "tsc", install: "node scripts/install-pulumi-plugin.js resource command v4.5.0" },
            pulumi: { resource: true, name: "command" },
        };
        assert.equal(providerManifestProblems(stray).length, 1, providerManifestProblems(stray).join("\n"));
        assert.match(
            providerManifestProblems({ ...stray, version: "1.2.1" })[0],
            /asks for plugin command v4\.5\.0, the package is 1\.2\.1/,
        );
        assert.match(
            providerManifestProblems({ ...stray, version: "1.2.1", scripts: {}, pulumi: { resource: true, version: "1.2.0" } })[0],
            /pulumi\.version 1\.2\.0/,
        );
    });
});

describe("command provider 1.x inputs, as every step command declares them", () => {
    const MIXED = `vms:
  - cloud: aws
    region: us-east-1
    instanceId: i-0123456789abcdef0
  - cloud: azure
    subscriptionId: 11111111-2222-3333-4444-555555555555
    resourceGroup: rg-app
    vmName: app-01
  - cloud: gcp
    project: my-project
    zone: us-central1-a
    instance: web-1
    strategy: reboot-then-repair
`;

    let rs: Awaited<ReturnType<typeof planInventory>>["rs"];
    before(async () => void ({ rs } = await planInventory(MIXED)));

    it("a step streams only its stderr to the engine's log, and a change of that never re-runs it", () => {
        const steps = rs.filter((r) => r.type === "command:local:Command" && r.inputs.create);
        // aws repair, swap; azure attach, swap; gcp reboot, repair, swap.
        assert.ok(steps.length >= 7, String(steps.length));
        for (const c of steps) {
            assert.equal(c.inputs.logging, STEP_LOGGING, `${c.name}: logging`);
            assert.ok(c.ignoreChanges.includes("logging"), `${c.name}: a new logging choice would update the step`);
        }
        assert.equal(STEP_LOGGING, "stderr", "stdout holds reports and packed evidence: kept once, in state, not logged");
    });

    it("no command is replaced by a trigger or loses its previous output (the no-op update repeats it)", () => {
        for (const c of rs.filter((r) => r.type === "command:local:Command")) {
            assert.equal(c.inputs.triggers, undefined, `${c.name}: a trigger change replaces the command, which runs its create again`);
            assert.notEqual(c.inputs.addPreviousOutputInEnv, false, `${c.name}: the update's PULUMI_COMMAND_STDOUT would be empty`);
            assert.equal(c.inputs.stdin, undefined, c.name);
        }
    });
});
