import { strict as assert } from "assert";
import { azureDiscovery } from "../../components/azure/discover";
import { builtClouds, identities } from "../../components/registry/inventory";
import { gcpDiscovery } from "../../components/gcp/discover";
import { classify, needsRead } from "../../components/tools/discovery/classify";
import { consoleVerdict } from "../../components/tools/discovery/types";
import { discoverArgs, scopeFlags } from "../../components/tools/discovery/discover-command";
import { DiscoveryGate } from "../../components/tools/discovery/cli";
import { Discovery, NoScopeError, discover } from "../../components/tools/discovery/discover";
import { CHANNEL_FILE_291, falconTime, matchFalcon, parseFalconExport } from "../../components/tools/discovery/falcon";
import { inventoryText } from "../../components/tools/discovery/inventory-text";
import { DiscoveryCli, ListedVm, ScopeRequest, bootVerdict } from "../../components/tools/discovery/types";
import { InputError } from "../../components/core/contract/problems";
import { parseYamlInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { inventoryContext } from "../../components/core/inventory/context";
import { CloudWatch } from "../../components/watcher/types";
import { CliError } from "../../components/gate/types";

/** A listed AWS VM; `over` changes what the test is about. */
function vm(n: number, over: Partial<ListedVm> = {}): ListedVm {
    const id = `i-0${n.toString(16).padStart(16, "0")}`;
    return {
        cloud: "aws",
        fields: { region: "us-east-1", instanceId: id, accountId: "111111111111", availabilityZone: "us-east-1a" },
        scope: "111111111111",
        scopeName: "prod",
        region: "us-east-1",
        zone: "us-east-1a",
        name: `web-${n}`,
        hostnames: [`web-${n}`],
        instanceIds: [id],
        power: "running",
        powerState: "running",
        health: "failing",
        signals: ["instance status check impaired"],
        readable: true,
        memo: {},
        ...over,
    };
}

const HEADER = "Hostname,Last Seen,First Seen,Platform,Cloud Provider,Cloud Provider Account ID,Instance ID\n";

describe("discovery: the Falcon host export", () => {
    it("judges each host against the bad window: last seen inside it and not since is affected", () => {
        const csv = `${HEADER}WEB-1,2024-07-19T04:12:33Z,2023-01-01T00:00:00Z,Windows,AWS,111111111111,i-00000000000000001\nWEB-2,2024-07-19 06:40:00,2023-01-01,Windows,AWS,111111111111,\nLAPTOP-9,2024-07-18T22:00:00Z,2023-01-01,Windows,,,\n`;
        const hosts = parseFalconExport("hosts.csv", csv, CHANNEL_FILE_291).hosts;
        assert.deepEqual(
            hosts.map((h) => [h.line, h.hostname, h.provider, h.verdict]),
            [
                [2, "web-1", "aws", "affected"],
                [3, "web-2", "aws", "healthy"],
                [4, "laptop-9", "other", "offline"],
            ],
        );
        assert.equal(falconTime("2024-07-19 04:12 UTC"), Date.parse("2024-07-19T04:12:00Z"));
        assert.ok(Number.isNaN(falconTime("19/07/2024 04:12")));
    });

    it("a malformed row is reported by its line and field, never echoed, and nothing of the export is used", () => {
        const csv = `${HEADER}WEB-1,2024-07-19T04:12:33Z,,Windows,AWS,111111111111,i-00000000000000001\nWEB 2; rm -rf /,yesterday,,Windows,AWS,111111111111,\n,2024-07-19T04:12:33Z,,Windows,AWS,,\n`;
        assert.throws(
            () => parseFalconExport("hosts.csv", csv, CHANNEL_FILE_291),
            (err: unknown) => {
                assert.ok(err instanceof InputError);
                const text = err.message;
                assert.match(text, /hosts\.csv \(line 3\): Hostname: is not a hostname/);
                assert.match(text, /hosts\.csv \(line 3\): Last Seen: is not a timestamp/);
                assert.match(text, /hosts\.csv \(line 4\): Hostname: the row names no host/);
                assert.doesNotMatch(text, /rm -rf|yesterday/, "the row's content is not echoed");
                return true;
            },
        );
        assert.throws(
            () => parseFalconExport("hosts.csv", "Name,When\nx,y\n", CHANNEL_FILE_291),
            /needs a Last Seen column and a Hostname or Instance ID column/,
        );
        assert.throws(() => parseFalconExport("hosts.csv", `${HEADER}"WEB-1,2024\n`, CHANNEL_FILE_291), /hosts\.csv.*not valid CSV/);
    });

    it("matches rows by instance id, else by hostname (whole or first DNS label); ambiguous names are not guessed", () => {
        const a = vm(1, { hostnames: ["web-1", "ip-10-0-0-1.ec2.internal"] });
        const b = vm(2, { hostnames: ["web-2"] });
        const c = vm(3, { hostnames: ["web-2"], scope: "222222222222" });
        const csv = `${HEADER}WHATEVER,2024-07-19T04:12:33Z,,Windows,AWS,111111111111,i-00000000000000001\nip-10-0-0-1,2024-07-19T04:30:00Z,,Windows,AWS,,\nWEB-2,2024-07-19T04:12:33Z,,Windows,AWS,,\nWEB-2,2024-07-19T04:12:33Z,,Windows,AWS,222222222222,\nGHOST,2024-07-19T04:12:33Z,,Windows,AWS,111111111111,i-0000000000000beef\nGHOST-AZ,2024-07-19T04:12:33Z,,Windows,Azure,,\nHEALTHY-GONE,2024-07-19T08:00:00Z,,Windows,AWS,,\n`;
        const hosts = parseFalconExport("hosts.csv", csv, CHANNEL_FILE_291).hosts;
        const m = matchFalcon(hosts, [a, b, c], (provider) => provider === "aws");
        // Two rows name web-1 (by id and by DNS label): the later sighting wins.
        assert.equal(m.byVm.get(a)?.line, 3);
        assert.equal(m.byVm.get(c)?.line, 5, "the account column picks the right one of two web-2s");
        assert.equal(m.byVm.has(b), false);
        assert.deepEqual(
            m.ambiguous.map((x) => [x.host.line, x.vms.length]),
            [[4, 2]],
        );
        // Unmatched: only hosts that went down in the window, of a scanned cloud (not the Azure one, not the healthy one).
        assert.deepEqual(
            m.unmatched.map((h) => h.hostname),
            ["ghost"],
        );
    });
});

describe("discovery: what a VM is", () => {
    it("reads a console or serial output by its last event: a stop error after the last boot marker, or a boot after the last stop error", () => {
        const marker = /Windows is Ready to use/;
        assert.deepEqual(bootVerdict("Windows is Ready to use\n*** STOP: 0x00000050 csagent.sys", marker), {
            bugcheck: true,
            booted: false,
        });
        assert.deepEqual(bootVerdict("*** STOP: 0x00000050\nWindows is Ready to use\n", marker), { bugcheck: false, booted: true });
        assert.deepEqual(bootVerdict("booting", marker), { bugcheck: false, booted: false });
    });

    it("reads per VM only where the listing and the export leave a question", () => {
        const affected = { verdict: "affected" } as never;
        const healthy = { verdict: "healthy" } as never;
        assert.equal(needsRead(vm(1), undefined), true, "failing status, no export: confirm");
        assert.equal(needsRead(vm(1), affected), false, "failing status and the export agree");
        assert.equal(needsRead(vm(1, { health: "healthy" }), undefined), false);
        assert.equal(needsRead(vm(1, { health: "healthy" }), affected), true, "they disagree: look");
        assert.equal(needsRead(vm(1, { health: "unknown" }), healthy), false, "the export saw it after the window");
        assert.equal(needsRead(vm(1, { health: "unknown" }), affected), false, "the export says it went down and never came back");
        assert.equal(
            needsRead(vm(1, { health: "unknown" }), { verdict: "offline" } as never),
            true,
            "off in the window, silent since: look",
        );
        assert.equal(needsRead(vm(1, { health: "unknown" }), undefined), true);
        assert.equal(needsRead(vm(1, { power: "stopped" }), undefined), false);
        assert.equal(needsRead(vm(1, { noRescuePath: "instance store" }), undefined), false);
        assert.equal(needsRead(vm(1, { readable: false }), undefined), false);
    });

    it("grades confidence, keeps stopped VMs apart and scale-group members out", () => {
        const crash = { bugcheck: true, booted: false, signals: ["a Windows stop error"] };
        const quiet = { bugcheck: false, booted: false, signals: ["no boot marker"] };
        const booted = { bugcheck: false, booted: true, signals: [] };
        const affected = { verdict: "affected", line: 2, lastSeen: Date.parse("2024-07-19T04:12:00Z") } as never;
        const grade = (f: ReturnType<typeof classify>) => `${f.bucket}/${f.confidence ?? "-"}${f.notInFalcon ? "/not-in-falcon" : ""}`;
        assert.equal(grade(classify(vm(1), crash, undefined, false)), "candidate/high");
        assert.equal(grade(classify(vm(1), quiet, undefined, false)), "candidate/medium");
        assert.equal(grade(classify(vm(1), undefined, affected, true)), "candidate/high", "the cloud's signal and Falcon's");
        assert.equal(grade(classify(vm(1), quiet, undefined, true)), "candidate/medium/not-in-falcon");
        assert.equal(grade(classify(vm(1, { health: "unknown" }), undefined, affected, true)), "candidate/medium", "Falcon alone");
        assert.equal(grade(classify(vm(1, { health: "healthy" }), booted, affected, true)), "falcon-but-healthy/-");
        assert.equal(grade(classify(vm(1, { health: "unknown" }), { ...quiet, agent: false }, undefined, false)), "review/low");
        assert.equal(grade(classify(vm(1, { health: "unknown" }), { ...quiet, agent: true }, undefined, false)), "healthy/-");
        assert.equal(grade(classify(vm(1, { power: "stopped", powerState: "stopped" }), undefined, affected, true)), "stopped/-");
        const member = classify(
            vm(1, { scaleGroup: { name: "Auto Scaling group web", leave: "detach it first" } }),
            crash,
            undefined,
            false,
        );
        assert.equal(grade(member), "scale-group/high");
        assert.match(
            member.reasons.join("; "),
            /member of Auto Scaling group web: the group would replace it while its disk is swapped; to recover it with the stack, detach it first/,
        );
        assert.equal(
            grade(classify(vm(1, { noRescuePath: "its root device is an instance store" }), undefined, undefined, false)),
            "no-rescue-path/medium",
        );
    });
});

describe("discovery: the inventory it writes", () => {
    const discovery = (findings: ReturnType<typeof classify>[]): Discovery => ({
        findings,
        falconUnmatched: [],
        falconAmbiguous: [],
        scopes: [],
        reads: 0,
    });
    const write = (d: Discovery) =>
        inventoryText(d, { at: "2026-11-22T00:00:00Z", scanned: "Scanned: aws.", scopeLabels: new Map([["aws", "account"]]), identities });
    const validate = (text: string) =>
        validateInventory(
            parseYamlInventory("found.yaml", text),
            inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
        );

    it("puts one VM of the zone with the most candidates first, the most certain one, and passes the validator unchanged", () => {
        const crash = { bugcheck: true, booted: false, signals: ["stop error"] };
        const findings = [
            classify(vm(1, { zone: "us-east-1a" }), undefined, undefined, false),
            classify(
                vm(2, { zone: "us-east-1b", fields: { ...vm(2).fields, availabilityZone: "us-east-1b" } }),
                undefined,
                undefined,
                false,
            ),
            classify(vm(3, { zone: "us-east-1b", fields: { ...vm(3).fields, availabilityZone: "us-east-1b" } }), crash, undefined, false),
            classify(vm(4, { power: "stopped", powerState: "stopped" }), undefined, undefined, false),
        ];
        const out = write(discovery(findings));
        const entries = validate(out.text!);
        assert.deepEqual(
            entries.map((e) => e.fields.instanceId),
            [vm(3).fields.instanceId, vm(1).fields.instanceId, vm(2).fields.instanceId],
        );
        assert.deepEqual(entries[0].labels, { account: "111111111111", accountName: "prod", discovered: "high" });
        assert.match(out.text!, /^ {2}# canary\. confidence high: web-3 /m);
        // The stopped VM is there for review, commented out, never an entry.
        assert.match(out.text!, /^#\s+- cloud: aws\n#\s+region: us-east-1\n#\s+instanceId: i-00000000000000004$/m);
    });

    it("keeps whatever a cloud name holds inside its comment line: a hostile name cannot add an entry", () => {
        const evil = vm(5, { name: "x\nvms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0ffffffffffffffff\u2028" });
        const out = write(discovery([classify(evil, undefined, undefined, false)]));
        assert.deepEqual(
            validate(out.text!).map((e) => e.fields.instanceId),
            [vm(5).fields.instanceId],
        );
        assert.doesNotMatch(out.text!, /^\s*- cloud: aws\n\s*region: us-east-1\n\s*instanceId: i-0ffffffffffffffff/m);
    });

    it("writes no inventory when nothing boot-loops, and lists a VM whose fields the format cannot hold apart", () => {
        assert.equal(write(discovery([classify(vm(1, { health: "healthy", signals: [] }), undefined, undefined, false)])).text, undefined);
        const odd = classify(vm(6, { fields: { ...vm(6).fields, instanceId: "i-NOT-AN-ID" } }), undefined, undefined, false);
        const out = write(discovery([classify(vm(1), undefined, undefined, false), odd]));
        assert.equal(validate(out.text!).length, 1);
        assert.deepEqual(out.unwritable, [odd]);
        assert.match(out.text!, /cannot be written as inventory fields[^]*web-6/);
    });
});

describe("discovery: calls to the clouds", () => {
    const cloud = {
        cloud: "test",
        rates: { default: { perSecond: 1000, burst: 1000 } },
        rateClass: () => "default",
        transient: (e: string) => /Throttling/.test(e),
        throttling: (e: string) => /Throttling/.test(e),
    } as unknown as CloudWatch;
    /** A CLI that is throttled the first `n` times (counted in `file`), then answers ok. */
    const busyFor = (n: number, file: string) => [
        "-c",
        `k=$(cat "$1" 2>/dev/null || echo 0); echo $((k+1)) > "$1"; if [ "$k" -lt ${n} ]; then echo "Throttling: Rate exceeded" >&2; exit 1; fi; echo ok`,
        "cli",
        file,
    ];

    it("retries throttling with backoff until it answers, and fails a permanent error at once with the cloud's message", async () => {
        const sleeps: number[] = [];
        const gate = new DiscoveryGate([cloud], 2, 60_000, (ms) => {
            sleeps.push(ms);
            return Promise.resolve();
        });
        const out = await gate.run({
            cloud: "test",
            scope: "s",
            op: "list",
            command: "bash",
            args: busyFor(2, `/tmp/discover-gate-${process.pid}-${Date.now()}`),
        });
        assert.equal(out.trim(), "ok");
        assert.equal(gate.calls["test list"], 3);
        assert.equal(sleeps.length, 2);
        await assert.rejects(
            gate.run({
                cloud: "test",
                scope: "s",
                op: "get",
                command: "bash",
                args: ["-c", "echo 'AccessDenied: not authorized to perform ec2:DescribeInstances' >&2; exit 254"],
            }),
            (err: unknown) => err instanceof CliError && !err.transient && /AccessDenied: not authorized/.test(err.message),
        );
        assert.equal(gate.calls["test get"], 1, "a permanent error is not retried");
    });

    it("gives up on a cloud that stays busy past the call's deadline, saying so", async () => {
        const gate = new DiscoveryGate([cloud], 2, 0, () => Promise.resolve());
        await assert.rejects(
            gate.run({ cloud: "test", scope: "s", op: "list", command: "bash", args: ["-c", "echo 'Throttling' >&2; exit 1"] }),
            /still throttled or busy after 0 minutes/,
        );
    });
});

/** A DiscoveryCli answering each `op` from a table (JSON, or a function of the args that returns it), recording the calls. */
function fakeCli(answers: Record<string, unknown>): DiscoveryCli & { calls: { op: string; args: string[] }[] } {
    const calls: { op: string; args: string[] }[] = [];
    return {
        calls,
        run(call) {
            calls.push({ op: call.op, args: call.args });
            const a = answers[call.op];
            if (a === undefined) return Promise.reject(new CliError(`no answer for ${call.op}`, false));
            return Promise.resolve(JSON.stringify(typeof a === "function" ? (a as (args: string[]) => unknown)(call.args) : a));
        },
    };
}
const noConfig: ScopeRequest = { options: {}, config: { get: () => undefined, kind: () => "missing" }, stackFile: "" };

describe("discovery: scopes", () => {
    it("a login that reaches no subscription is an error, not 'no boot-looping VM found'", async () => {
        const cli = fakeCli({ "account list": [] });
        await assert.rejects(
            discover({ clouds: [{ cloud: azureDiscovery, request: noConfig }], cli, progress: () => undefined }),
            (err: unknown) =>
                err instanceof NoScopeError &&
                /azure: the login reaches no subscription to scan, so nothing of azure was checked/.test(err.message),
        );
        assert.deepEqual(
            cli.calls.map((c) => c.op),
            ["account list"],
            "nothing listed",
        );
    });
});

describe("discovery: Azure subscriptions", () => {
    const SUB = "11111111-2222-3333-4444-555555555555";
    it("scans a subscription once when az account list lists it for two logins (or --subscriptions names it in two spellings)", async () => {
        const cli = fakeCli({
            "account list": [
                { id: SUB, name: "prod", state: "Enabled" },
                { id: SUB.toUpperCase(), name: "prod", state: "Enabled" },
            ],
        });
        assert.deepEqual(
            (await azureDiscovery.scopes(noConfig, cli)).map((s) => [s.scope, s.scopeName]),
            [[SUB, "prod"]],
        );
        const named = await azureDiscovery.scopes({ ...noConfig, options: { "--subscriptions": [SUB, SUB.toUpperCase()] } }, cli);
        assert.deepEqual(
            named.map((s) => s.scope),
            [SUB],
        );
    });
    it("with --guests linux, lists Linux VMs as os: linux, and one with Azure Disk Encryption for Linux apart (the engine cannot open dm-crypt)", async () => {
        const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/${name}`;
        const model = (name: string, osType: string, extension?: string) => ({
            id: vmId(name),
            name,
            resourceGroup: "rg-app",
            location: "eastus2",
            storageProfile: { osDisk: { osType, managedDisk: { id: `${vmId(name)}-os` } } },
            diagnosticsProfile: { bootDiagnostics: { enabled: true } },
            ...(extension ? { resources: [{ id: `${vmId(name)}/extensions/${extension}` }] } : {}),
        });
        const view = { statuses: [{ code: "PowerState/running" }], vmAgent: { statuses: [{ displayStatus: "Not Ready" }] } };
        const cli = fakeCli({
            "vm list": [model("app-01", "Windows"), model("db-01", "Linux"), model("db-02", "Linux", "AzureDiskEncryptionForLinux")],
            "rest get": { value: ["app-01", "db-01", "db-02"].map((n) => ({ id: vmId(n), properties: { instanceView: view } })) },
        });
        const scope = {
            cloud: "azure",
            scope: SUB,
            scopeName: "prod",
            region: "",
            fields: { resourceGroups: "", guests: "windows,linux" },
        };
        const { vms } = await azureDiscovery.list(scope, cli);
        assert.deepEqual(
            vms.map((v) => [v.name, v.os, v.noRescuePath]),
            [
                ["rg-app/app-01", undefined, undefined],
                ["rg-app/db-01", "linux", undefined],
                [
                    "rg-app/db-02",
                    "linux",
                    "its OS disk has Azure Disk Encryption for Linux (dm-crypt), which the repair engine cannot open",
                ],
            ],
        );
        const windowsOnly = await azureDiscovery.list({ ...scope, fields: { resourceGroups: "" } }, cli);
        assert.deepEqual(
            windowsOnly.vms.map((v) => v.name),
            ["rg-app/app-01"],
        );
    });
});

describe("discovery: a Falcon row that matches by hostname alone", () => {
    const crash = "GCEGuestAgent: Started\nA fatal error occurred. Stop code: PAGE_FAULT_IN_NONPAGED_AREA (csagent.sys)\n";
    const booted = "GCEGuestAgent: Started\nWindows is ready\n";
    const instance = (name: string, id: string) => ({
        id,
        name,
        zone: "https://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a",
        status: "RUNNING",
        disks: [{ boot: true, guestOsFeatures: [{ type: "WINDOWS" }] }],
    });
    const serial: Record<string, string> = { "win-3": booted, "win-7": crash };
    const cli = () =>
        fakeCli({
            "projects list": [{ projectId: "web-prod", name: "Web Prod", lifecycleState: "ACTIVE" }],
            "instances list": [instance("win-3", "5000000000000000003"), instance("win-7", "5000000000000000007")],
            "instances get-serial-port-output": (args: string[]) => ({
                contents: serial[args[args.indexOf("get-serial-port-output") + 1]],
            }),
            "instances get-guest-attributes": [],
        });
    // No provider and no account column: a laptop named WIN-3 would look the same.
    const falcon = parseFalconExport(
        "hosts.csv",
        "Hostname,Last Seen\nWIN-3.corp.example.com,2024-07-19T04:20:00Z\nWIN-7.corp.example.com,2024-07-19T04:20:00Z\n",
        CHANNEL_FILE_291,
    );

    it("reads the VM instead of proposing it: a healthy one stays out, and an entry keeps the cloud's own name", async () => {
        const c = cli();
        const d = await discover({ clouds: [{ cloud: gcpDiscovery, request: noConfig }], falcon, cli: c, progress: () => undefined });
        assert.deepEqual(
            c.calls
                .filter((x) => x.op === "instances get-serial-port-output")
                .map((x) => x.args[x.args.indexOf("get-serial-port-output") + 1])
                .sort(),
            ["win-3", "win-7"],
            "both read",
        );
        const bucket = (name: string) => d.findings.find((f) => f.vm.name === name)!;
        assert.equal(bucket("win-3").bucket, "falcon-but-healthy", "its serial port shows it booted");
        assert.equal(`${bucket("win-7").bucket}/${bucket("win-7").confidence}`, "candidate/high", "its serial port shows the stop error");
        assert.match(bucket("win-7").reasons.join("; "), /matched by hostname alone: the row names no account/);
        const out = inventoryText(d, {
            at: "2026-11-22T00:00:00Z",
            scanned: "Scanned: gcp.",
            scopeLabels: new Map([["gcp", "project"]]),
            identities,
        });
        const entries = validateInventory(
            parseYamlInventory("found.yaml", out.text!),
            inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
        );
        assert.deepEqual(
            entries.map((e) => [e.fields.instance, e.hostname]),
            [["win-7", undefined]],
            "not the Falcon hostname import-keys would match keys by",
        );
    });

    it("alone, such a row makes a VM nothing more than one to review", () => {
        const gcpVm = vm(9, { cloud: "gcp", health: "unknown", signals: [] });
        const weak = { ...falcon.hosts[0] };
        const quiet = { bugcheck: false, booted: false, agent: false, signals: ["nothing on serial port 1"] };
        assert.equal(needsRead(gcpVm, weak, true), true);
        assert.equal(needsRead(gcpVm, weak, false), false, "the same row by instance id settles it");
        assert.equal(classify(gcpVm, quiet, weak, true, true).bucket, "review");
        assert.equal(
            classify({ ...gcpVm, readable: false }, undefined, weak, true, true).bucket,
            "review",
            "nor dropped when the VM cannot be read",
        );
        assert.equal(
            classify(vm(9), undefined, weak, true, true).confidence,
            "medium",
            "a failing status check, not confirmed by a matching account",
        );
    });
});

/** Text a terminal acts on: escape sequences (7- and 8-bit), BEL, bidi overrides and isolates. */
const HOSTILE = "\x1b]0;owned\x07web\x1b[2J\x1b[31m-\x9b31m1\u202e\u2066x\x07\x1bc";
// eslint-disable-next-line no-control-regex -- control characters are what the output must not hold
const TERMINAL_ACTS_ON = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

describe("discovery: names from the clouds in the inventory", () => {
    it("comments and labels carry no escape sequence, BEL or bidi character, and the file stays a valid inventory", () => {
        const f = classify(vm(7, { name: `${HOSTILE} (i-07)`, scopeName: `prod${HOSTILE}` }), undefined, undefined, false);
        const out = inventoryText(
            { findings: [f], falconUnmatched: [], falconAmbiguous: [], scopes: [], reads: 0 },
            { at: "2026-11-22T00:00:00Z", scanned: `Scanned: ${HOSTILE}.`, scopeLabels: new Map([["aws", "account"]]), identities },
        );
        assert.doesNotMatch(out.text!, TERMINAL_ACTS_ON);
        const entries = validateInventory(
            parseYamlInventory("found.yaml", out.text!),
            inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
        );
        assert.equal(entries[0].labels.accountName, "prodweb-1x");
        assert.match(out.text!, /# canary\. confidence medium: web-1x \(i-07\) /);
    });
});

describe("discovery: Linux guests (--guests linux)", () => {
    const login = /login:|Cloud-init v\. [^ ]+ finished/;

    it("reads a Linux console by its last event: a kernel panic, emergency mode or a dracut shell after the last login prompt is a boot loop", () => {
        const loops = [
            "[    2.913482] Kernel panic - not syncing: Fatal exception in interrupt",
            'You are in emergency mode. After logging in, type "journalctl -xb" to view system logs',
            "[  OK  ] Reached target Emergency Mode.",
            "[  188.524112] dracut-initqueue[436]: Warning: dracut-initqueue timeout - starting timeout scripts",
            "Starting Dracut Emergency Shell...",
            "dracut:/# ",
        ];
        for (const line of loops) {
            const v = consoleVerdict(`web-1 login: \nreboot\n${line}\n`, "linux", login, "on serial port 1");
            assert.equal(v.bugcheck, true, line);
            assert.equal(v.booted, false, line);
            assert.match(v.signals[0], /^a Linux boot failure \(kernel panic, emergency mode or a dracut shell\) on serial port 1 \(/);
        }
        // Booted since: a login prompt, or cloud-init finishing, after the panic.
        const panicked = "Kernel panic - not syncing: VFS: Unable to mount root fs\n";
        assert.deepEqual(consoleVerdict(`${panicked}Ubuntu 22.04.4 LTS web-1 ttyS0\n\nweb-1 login: `, "linux", login, "x"), {
            bugcheck: false,
            booted: true,
            signals: [],
        });
        assert.equal(
            consoleVerdict(
                `${panicked}cloud-init[812]: Cloud-init v. 24.1.3-0ubuntu1~22.04.1 finished at Fri, 19 Jul 2024 06:01:02 +0000.`,
                "linux",
                login,
                "x",
            ).booted,
            true,
        );
        // A Windows stop error means nothing on a Linux guest, and a panic nothing on a Windows one.
        assert.deepEqual(consoleVerdict("*** STOP: 0x00000050 csagent.sys\n", "linux", login, "in the console output"), {
            bugcheck: false,
            booted: false,
            signals: ["no boot marker in the console output"],
        });
        assert.equal(consoleVerdict(panicked, "windows", /Windows is Ready/, "x").bugcheck, false);
        assert.deepEqual(consoleVerdict("", "linux", login, "on serial port 1").signals, ["nothing on serial port 1"]);
    });

    it("finds boot-looping Linux instances by their serial port, reports them os: linux, and leaves Linux alone without --guests", async () => {
        const instance = (name: string, windows: boolean) => ({
            id: `50000000000000000${name.length}${name.charCodeAt(name.length - 1)}`,
            name,
            zone: "https://www.googleapis.com/compute/v1/projects/web-prod/zones/us-central1-a",
            status: "RUNNING",
            disks: [{ boot: true, guestOsFeatures: windows ? [{ type: "WINDOWS" }] : [{ type: "UEFI_COMPATIBLE" }] }],
        });
        const serial: Record<string, string> = {
            "win-1": "A fatal error occurred. Stop code: PAGE_FAULT_IN_NONPAGED_AREA (csagent.sys)\n",
            "rhel-1": "[    3.1] falcon_lsm_serviceable: loading\n[    3.2] Kernel panic - not syncing: Fatal exception\n",
            "rhel-2": "Red Hat Enterprise Linux 9.4 (Plow)\nrhel-2 login: ",
            "deb-1": 'You are in emergency mode. After logging in, type "journalctl -xb"\n',
        };
        const cli = () =>
            fakeCli({
                "projects list": [{ projectId: "web-prod", name: "Web Prod", lifecycleState: "ACTIVE" }],
                "instances list": [instance("win-1", true), instance("rhel-1", false), instance("rhel-2", false), instance("deb-1", false)],
                "instances get-serial-port-output": (args: string[]) => ({
                    contents: serial[args[args.indexOf("get-serial-port-output") + 1]],
                }),
                "instances get-guest-attributes": [],
            });
        const run = async (guests?: ("windows" | "linux")[]) => {
            const c = cli();
            const d = await discover({
                clouds: [{ cloud: gcpDiscovery, request: { ...noConfig, guests } }],
                cli: c,
                progress: () => undefined,
            });
            return { d, c };
        };
        const windowsOnly = await run();
        assert.deepEqual(
            windowsOnly.d.findings.map((f) => f.vm.name),
            ["win-1"],
        );
        assert.ok(!windowsOnly.c.calls.some((x) => x.args.includes("rhel-1")), "no Linux instance is read without --guests linux");

        const both = await run(["windows", "linux"]);
        const finding = (name: string) => both.d.findings.find((f) => f.vm.name === name)!;
        assert.equal(`${finding("rhel-1").bucket}/${finding("rhel-1").confidence}`, "candidate/high");
        assert.match(
            finding("rhel-1").reasons.join("; "),
            /Linux boot failure .* on serial port 1 \(Kernel panic - not syncing: Fatal exception\)/,
        );
        assert.equal(`${finding("deb-1").bucket}/${finding("deb-1").confidence}`, "candidate/high");
        assert.equal(finding("rhel-2").bucket, "healthy", "its serial port reached a login prompt");
        assert.equal(finding("win-1").vm.os, undefined);
        assert.equal(finding("rhel-1").vm.os, "linux");
        assert.deepEqual(
            both.d.scopes.map((s) => [s.windows, s.linux]),
            [[1, 3]],
        );
        // The written inventory says os: linux, and the stack takes it unchanged.
        const out = inventoryText(both.d, {
            at: "2026-11-22T00:00:00Z",
            scanned: "Scanned: gcp.",
            scopeLabels: new Map([["gcp", "project"]]),
            identities,
        });
        assert.match(out.text!, /1 Windows, 3 Linux/);
        const entries = validateInventory(
            parseYamlInventory("found.yaml", out.text!),
            inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
        );
        assert.deepEqual(entries.map((e) => [e.fields.instance, e.os]).sort(), [
            ["deb-1", "linux"],
            ["rhel-1", "linux"],
            ["win-1", undefined],
        ]);
        const linuxOnly = await run(["linux"]);
        assert.deepEqual(linuxOnly.d.findings.map((f) => f.vm.name).sort(), ["deb-1", "rhel-1", "rhel-2"]);
    });

    it("--guests takes windows, linux or both, and refuses anything else naming the option", () => {
        const args = (guests?: string) =>
            discoverArgs({ values: { "--cloud": "gcp", ...(guests ? { "--guests": guests } : {}) }, force: false, json: false }, [
                gcpDiscovery,
            ]);
        assert.deepEqual(args().guests, ["windows"]);
        assert.deepEqual(args("linux, windows").guests, ["linux", "windows"]);
        assert.throws(() => args("linux,bsd"), /--guests: "bsd" is not valid; expected windows, linux or both/);
        assert.ok(scopeFlags([gcpDiscovery]).includes("--guests"), "the command takes it (its flags are scopeFlags')");
    });
});
