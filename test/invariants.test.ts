import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planInventory } from "./helpers/lab-run";
import { REPEAT_PREVIOUS_OUTPUT } from "../components/core/script-text";
import { waveOfGate } from "../components/core/contract/chain-steps";
import { assertRunsOnce, commandLineText } from "./helpers/commands";

// The invariants of ../shared/DESIGN.md, checked on one inventory that mixes every built cloud.
const MIXED = `vms:
  - cloud: aws
    region: us-east-1
    instanceId: i-0123456789abcdef0
  - cloud: azure
    subscriptionId: 11111111-2222-3333-4444-555555555555
    resourceGroup: rg-app
    vmName: app-01
    bitlockerKey: app01-key
  - cloud: gcp
    project: my-project
    zone: us-central1-a
    instance: web-1
`;
// Each block a multiple of 11 below 720896, and none occurs anywhere else in the plan.
const KEY = "123453-246906-370359-493812-617265-012342-135795-259248";
const plan = () => planInventory(MIXED, { "bootloop-rescue:app01-key": KEY }, ["bootloop-rescue:app01-key"]);

/** Every string anywhere in a value, except label and tag values (names, not references). */
function strings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value && typeof value === "object")
        return Object.entries(value)
            .filter(([k]) => k !== "labels" && k !== "tags")
            .flatMap(([, v]) => strings(v));
    return [];
}

describe("design invariants, on every built cloud", () => {
    it("1. backups and fixed disks survive pulumi destroy (retainOnDelete); the original disk is only ever read", async () => {
        const { rs, run } = await plan();
        for (const vm of run.result.plan.vms) {
            for (const step of ["backup", "fixed"])
                assert.equal(rs.find((r) => r.name === `${vm.slug}-${step}`)!.retainOnDelete, true, `${vm.label} ${step}`);
            const original = vm.originalDiskId;
            assert.ok(original, vm.label);
            const users = rs.filter((r) => strings(r.inputs).includes(original)).map((r) => r.name.replace(`${vm.slug}-`, ""));
            assert.deepEqual(
                users.sort(),
                ["backup", "swap"],
                `${vm.label}: only the backup (reads) and the swap (detaches, keeps) name the original disk`,
            );
        }
    });

    it("2. a finished step never re-runs because its script text changed", async () => {
        const { rs } = await plan();
        const commands = rs.filter((r) => r.type === "command:local:Command" && r.inputs.create);
        const steps = commands.filter((c) => waveOfGate(c.name) === undefined);
        assert.ok(steps.length >= 6);
        for (const c of steps) assertRunsOnce(c);
        // A wave gate is a check, not a step: it changes nothing, so a changed input (a VM retried,
        // a budget raised) checks again.
        const gates = commands.filter((c) => waveOfGate(c.name) !== undefined);
        assert.ok(gates.length >= 1);
        for (const g of gates) {
            assert.equal(g.inputs.create, "exec node ./components/core/scripts/gate.js", g.name);
            assert.equal(g.inputs.update, undefined, `${g.name} checks again on an update`);
        }
        // What such an update runs: it repeats the step's earlier output (its report, its evidence)
        // and calls nothing (no PATH at all here).
        const stdout = execFileSync("/bin/bash", ["-c", REPEAT_PREVIOUS_OUTPUT], {
            env: { PATH: "/nonexistent", PULUMI_COMMAND_STDOUT: '{"status":"recovered"}' },
            encoding: "utf8",
        });
        assert.equal(stdout, '{"status":"recovered"}');
    });

    it("3. inventory values never reach a shell as code: each script is one text for every VM, values come as environment", async () => {
        const { rs, run } = await planInventory(
            MIXED +
                `  - cloud: aws
    region: eu-west-1
    instanceId: i-0fedcba9876543210
  - cloud: azure
    subscriptionId: 11111111-2222-3333-4444-555555555555
    resourceGroup: rg-two
    vmName: app-02
  - cloud: gcp
    project: other-project
    zone: europe-west4-b
    instance: db-2
`,
            { "bootloop-rescue:app01-key": KEY },
            ["bootloop-rescue:app01-key"],
        );
        const cloudOf = new Map(run.result.plan.vms.map((v) => [v.slug, v.cloud]));
        const scripts = new Map<string, Set<string>>();
        const add = (kind: string, text: unknown) => {
            if (typeof text === "string") scripts.set(kind, (scripts.get(kind) ?? new Set()).add(text));
        };
        for (const r of rs) {
            const slug = r.name.replace(/-[a-z]+$/, "");
            if (!cloudOf.has(slug)) continue;
            const kind = `${cloudOf.get(slug)} ${r.type} ${r.name.replace(/^.*-/, "")}`;
            // Steps run their script by path: check the text the command line runs.
            const expand = (line: unknown) =>
                typeof line === "string" && line.startsWith("exec /bin/bash ./components/") ? commandLineText(line) : line;
            add(`${kind} create`, expand(r.inputs.create));
            add(`${kind} delete`, expand(r.inputs.delete));
            add(`${kind} script`, (r.inputs.source as { script?: string } | undefined)?.script);
        }
        assert.ok(scripts.size >= 8, [...scripts.keys()].join(", "));
        const values = run.result.plan.vms.flatMap((v) => Object.values(v.fields)).filter((v) => v.length > 3);
        for (const [kind, texts] of scripts) {
            assert.equal(texts.size, 1, `${kind}: one script text for every VM`);
            for (const value of values) assert.ok(![...texts][0].includes(value), `${kind} contains the inventory value ${value}`);
        }
    });

    it("4. secrets stay secrets: the BitLocker password appears nowhere in plaintext", async () => {
        const { rs } = await plan();
        const text = JSON.stringify(rs);
        for (const block of KEY.split("-")) assert.ok(!text.includes(block), block);
        assert.ok(text.includes("[secret]"));
    });

    it("5. no input depends on the machine: no local paths, and two plans are identical", async () => {
        const a = await plan();
        const text = JSON.stringify(a.rs);
        for (const local of [process.cwd(), os.homedir(), os.tmpdir(), path.resolve(__dirname, "..")])
            assert.ok(!text.includes(local), `an input contains ${local}`);
        const b = await plan();
        assert.deepEqual(b.rs, a.rs);
    });

    it("6. deleting a command resource never undoes a recovery: no delete script, but the stated detach of a scratch disk", async () => {
        const { rs } = await plan();
        const withDelete = rs.filter((r) => r.type === "command:local:Command" && r.inputs.delete);
        assert.deepEqual(
            withDelete.map((r) => r.name.replace(/^.*-/, "")),
            ["attach"],
        );
        const detach = commandLineText(String(withDelete[0].inputs.delete));
        assert.match(detach, /az_json vm disk detach/);
        assert.ok(!detach.match(/vm (deallocate|update|start)|disk delete/), "the detach never touches the affected VM");
    });

    it("7. no script's regex holds a long bounded repetition: bash expands {1,N} into N states, held by every waiting script (or every repair on a rescue VM)", () => {
        const root = path.join(__dirname, "..");
        const scripts = execFileSync("git", ["ls-files", "*.sh", "rescue/on-rescue.sh"], { cwd: root, encoding: "utf8" })
            .trim()
            .split("\n");
        assert.ok(scripts.length > 20, scripts.join());
        const found: string[] = [];
        for (const file of scripts) {
            for (const [i, line] of fs.readFileSync(path.join(root, file), "utf8").split("\n").entries()) {
                if (line.trim().startsWith("#")) continue;
                for (const m of line.matchAll(/\{(\d+),(\d+)\}/g)) if (Number(m[2]) > 256) found.push(`${file}:${i + 1}: ${m[0]}`);
            }
        }
        assert.deepEqual(found, [], "write the run as + with expect's length limit");
        // What the limit is for: {1,512} costs a bash process megabytes, + does not.
        const hwm = (re: string) =>
            Number(
                /VmHWM:\s+(\d+)/.exec(
                    execFileSync("bash", ["-c", '[[ abc =~ $1 ]]; s=$(</proc/$$/status); echo "$s"', "_", re], { encoding: "utf8" }),
                )![1],
            );
        assert.ok(
            hwm("^[A-Za-z0-9/_+=.@-]{1,512}$") > hwm("^[A-Za-z0-9/_+=.@-]+$") + 2048,
            "a bounded repetition of 512 costs more than 2 MB",
        );
    });
});
