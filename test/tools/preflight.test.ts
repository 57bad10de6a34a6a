import { strict as assert } from "assert";
import * as path from "path";
import { identities, paths } from "../../components/registry/clouds";
import { runOffline } from "../../components/tools/offline/run";
import { programNodeArgs } from "../../components/tools/node-args";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { DiscoveryGate } from "../../components/tools/discovery/cli";
import { PreflightGate } from "../../components/tools/preflight/cli";
import { errorLine } from "../../components/tools/preflight/error-line";
import { cloudWatches } from "../../components/registry/watchers";
import { preflightOutcome, preflightVms, renderPreflight, runPreflight } from "../../components/tools/preflight/run";
import { PreflightCli, PreflightFinding, PreflightNeed, PreflightVm } from "../../components/tools/preflight/types";
import { CliError } from "../../components/gate/types";
import { preflights } from "../../components/registry/preflights";
import { deployerAllows } from "../../components/aws/preflight";
import { deployerRole } from "../../components/azure/preflight";
import { deployerPermissions } from "../../components/gcp/preflight";
import { World, answer, cliError, testIamPermissions } from "../fixtures/preflight/clouds";
import { Cli, notAccepted, realCliOrSkip, replayThroughRealClis } from "../helpers/real-cli";

const root = path.resolve(__dirname, "../..");

/** Answers from the fixtures; records every call. `fail` makes one op fail the way the CLI would. */
class FixtureCli implements PreflightCli {
    readonly calls: { command: string; args: string[]; op: string; scope: string }[] = [];
    readonly fetches: { url: string; token: string; body: unknown }[] = [];
    constructor(
        private readonly world: World,
        private readonly fail: Record<string, string> = {},
        private readonly answers: Record<string, string> = {},
    ) {}
    run(call: { cloud: string; scope: string; op: string; command: string; args: string[] }): Promise<string> {
        this.calls.push(call);
        if (this.fail[call.op]) return Promise.reject(new CliError(this.fail[call.op], false));
        if (call.op in this.answers) return Promise.resolve(this.answers[call.op]);
        // The fixture's error (a signed-out world) rejects the promise, as the CLI's would, rather than throwing here.
        return new Promise((resolve) => resolve(answer(call.command, call.args, this.world)));
    }
    fetchJson(call: { url: string; token: string; body?: unknown }): Promise<unknown> {
        this.fetches.push({ url: call.url, token: call.token, body: call.body });
        return Promise.resolve(testIamPermissions(call.body as { permissions: string[] }, this.world));
    }
}

let needs: Map<string, PreflightNeed>;
before(async function () {
    this.timeout(120_000);
    const config = readStackConfig(root, "dev");
    const run = await runOffline({ stack: "dev", config, baseDir: root, identities, paths, details: false });
    needs = new Map(
        [...preflightVms(run)].map(([cloud, vms]) => [
            cloud,
            { config: paths.find((p) => p.identity.cloud === cloud)!.configure(configSourceOf(config), "Pulumi.dev.yaml"), vms },
        ]),
    );
});

const line = (f: PreflightFinding) => `${f.verdict} ${f.cloud} ${f.check} ${f.scope}: ${f.message}`;
const failures = (findings: PreflightFinding[]) => findings.filter((f) => f.verdict === "fail").map(line);

describe("preflight (npm run plan -- --preflight)", () => {
    it("reads from the plan what each VM's chain creates and where its rescue VM is", () => {
        const aws = needs.get("aws")!.vms;
        const repaired = aws.find((v) => v.fields.instanceId === "i-0123456789abcdef0")!;
        assert.deepEqual([repaired.snapshots, repaired.newDisks, repaired.rescue !== undefined], [1, 2, true]);
        const rebooted = needs.get("gcp")!.vms.find((v) => v.fields.instance === "web-3")!;
        assert.deepEqual([rebooted.snapshots, rebooted.newDisks, rebooted.rescue], [0, 0, undefined]);
        const restored = needs.get("azure")!.vms.find((v) => v.fields.vmName === "app-03")!;
        assert.deepEqual([restored.snapshots, restored.newDisks, restored.rescue], [0, 1, undefined]);
    });

    it("finds nothing to block in a world where quotas, tag policies and permissions fit", async () => {
        const findings = await runPreflight(preflights, needs, new FixtureCli("ready"));
        assert.deepEqual(failures(findings), []);
        for (const cloud of ["aws", "azure", "gcp"]) {
            for (const check of ["quota", "tags", "permissions"])
                assert.ok(
                    findings.some((f) => f.cloud === cloud && f.check === check && f.verdict === "ok"),
                    `${cloud} ${check}: ${findings.map(line).join("\n")}`,
                );
        }
        assert.match(renderPreflight(findings), /^Preflight: nothing blocks pulumi up/m);
    });

    it("names every shortfall with its figures and what to do, per cloud, scope and check", async () => {
        const findings = await runPreflight(preflights, needs, new FixtureCli("tight"));
        const failed = failures(findings);
        const expect = [
            // AWS: eu-west-1 has 2 standard vCPUs, all in use; one rescue m6i.large needs 2.
            /^fail aws quota 123456789012\/eu-west-1: on-demand Standard .* vCPUs \(1 × m6i\.large, 2 each\): the plan needs 2, 2 of 2 in use, 0 free; ask for an increase of at least 2/,
            /^fail aws tags 123456789012: the tag policy enforces the key's spelling Owner on ec2:ALL_SUPPORTED; the stack's tags spell it owner/,
            /^fail aws permissions 123456789012: arn:aws:iam::123456789012:role\/ops\/bootloop-deployer lacks 1 of \d+ actions the stack uses: ec2:DeleteVolume \(implicitDeny, statement DeleteOnlyScratchVolumes\)/,
            // Azure: one D4s_v5 rescue VM (4 vCPUs) against 2 left of the DSv5 family.
            /^fail azure quota 11111111-2222-3333-4444-555555555555\/eastus2: standardDSv5Family vCPUs: the plan needs 4, 8 of 10 in use, 2 free/,
            /^fail azure tags 11111111-2222-3333-4444-555555555555: assignment Require environment=prod requires environment=prod; the stack's tags lack it/,
            /^fail azure permissions 11111111-2222-3333-4444-555555555555\/rg-app: the deployer lacks 2 of \d+ actions .*Microsoft\.Compute\/disks\/delete, Microsoft\.KeyVault\/vaults\/keys\/unwrap\/action/,
            // GCP: two repaired VMs (100 and 200 GB, scratch and fixed each) and a 20 GB rescue boot disk.
            /^fail gcp quota my-project\/us-central1: SSD_TOTAL_GB: the plan needs 620 GB, 0 GB of 500 GB in use, 500 GB free/,
            /^fail gcp tags my-project: custom\.requireCostCenter \(ALLOW when .*\) tests labels data-class, which the stack's labels lack/,
            /^fail gcp permissions my-project: the caller lacks 1 of \d+ permissions the stack uses: compute\.snapshots\.create/,
        ];
        for (const re of expect)
            assert.ok(
                failed.some((f) => re.test(f)),
                `no finding like ${re}:\n${failed.join("\n")}`,
            );
        assert.equal(failed.length, expect.length, failed.join("\n"));
        // Tight but fitting is a warning: GCP's CPUS leave under 10 % after the rescue VM.
        assert.ok(
            findings.some(
                (f) => f.verdict === "warn" && /^CPUS \(1 × e2-standard-2, 2 each\): the plan needs 2, 20 of 24 in use/.test(f.message),
            ),
        );
        // A policy key the stack's tags carry as asked passes; one on resources the stack never creates is not reported.
        assert.ok(
            findings.some(
                (f) => f.cloud === "aws" && f.verdict === "ok" && /^cost-center fits the tag policy on ec2:volume$/.test(f.message),
            ),
        );
        assert.ok(!findings.some((f) => /\bproject\b.*rds:db/.test(f.message)));
        assert.match(renderPreflight(findings), /^Preflight: 9 check\(s\) failed/m);
    });

    it("says what it could not check and why, without stopping the other checks", async () => {
        const cli = new FixtureCli("ready", {
            "organizations describe-effective-policy":
                "An error occurred (AccessDeniedException) when calling the DescribeEffectivePolicy operation: not authorized",
            "policy assignment list": "ERROR: (AuthorizationFailed) The client does not have authorization",
        });
        const findings = await runPreflight(preflights, needs, cli);
        assert.ok(
            findings.some(
                (f) => f.cloud === "aws" && f.check === "tags" && f.verdict === "not-checked" && /AccessDeniedException/.test(f.message),
            ),
        );
        assert.ok(
            findings.some(
                (f) => f.cloud === "azure" && f.check === "tags" && f.verdict === "not-checked" && /AuthorizationFailed/.test(f.message),
            ),
        );
        assert.ok(findings.some((f) => f.cloud === "aws" && f.check === "quota" && f.verdict === "ok"));
        const orgless = await runPreflight(
            preflights,
            new Map([["aws", needs.get("aws")!]]),
            new FixtureCli("ready", { "organizations describe-effective-policy": "An error occurred (AWSOrganizationsNotInUseException)" }),
        );
        assert.ok(orgless.some((f) => f.check === "tags" && f.verdict === "ok" && /no tag policy applies/.test(f.message)));
    });

    it("never passes a check it could not make: a missing login is NOT CHECKED, exit 4, unless --allow-skipped accepts it", async () => {
        const findings = await runPreflight(preflights, needs, new FixtureCli("signed-out"));
        assert.ok(findings.length >= 3, findings.map(line).join("\n"));
        assert.deepEqual(findings.filter((f) => f.verdict !== "not-checked").map(line), []);
        for (const cloud of ["aws", "azure", "gcp"])
            assert.ok(
                findings.some((f) => f.cloud === cloud),
                cloud,
            );
        // Each quotes the line that says what went wrong, not the CLI's closing advice.
        assert.ok(
            findings.filter((f) => f.cloud === "aws").every((f) => /Unable to locate credentials/.test(f.message)),
            findings.map(line).join("\n"),
        );
        assert.ok(
            findings.filter((f) => f.cloud === "gcp").every((f) => /You do not currently have an active account selected/.test(f.message)),
            findings.map(line).join("\n"),
        );
        assert.ok(
            findings.some((f) => f.cloud === "azure" && /Please run 'az login' to setup account/.test(f.message)),
            findings.map(line).join("\n"),
        );
        assert.ok(
            findings.some(
                (f) =>
                    f.cloud === "azure" &&
                    f.check === "quota" &&
                    /could not be read: the CLI crashed: ModuleNotFoundError: No module named 'azure\.mgmt\.compute\.v2022_11_01'$/.test(
                        f.message,
                    ),
            ),
            findings.map(line).join("\n"),
        );
        assert.ok(
            !findings.some((f) => /az feedback|to select an already authenticated account|^[^:]*:\s*$/.test(f.message)),
            findings.map(line).join("\n"),
        );
        const text = renderPreflight(findings);
        assert.doesNotMatch(text, /nothing blocks pulumi up/);
        assert.match(text, /^ {2}NOT CHECKED aws permissions: the preflight could not run: Unable to locate credentials/m);
        assert.match(
            text,
            new RegExp(
                `^Preflight: not checked: ${findings.length} \\(0 ok, 0 warning\\(s\\)\\) — pulumi up is not cleared; .* pass --allow-skipped to accept\\.$`,
                "m",
            ),
        );
        assert.equal(preflightOutcome(findings).outcome, "notChecked");
        const accepted = preflightOutcome(findings, { allowNotChecked: true });
        assert.equal(accepted.outcome, "ok");
        assert.match(
            accepted.summary,
            new RegExp(`nothing failed \\(0 ok, 0 warning\\(s\\)\\); ${findings.length} not checked, accepted by --allow-skipped`),
        );
        // One check not made among passes still holds pulumi up back; a failure wins over it.
        const ready = await runPreflight(
            preflights,
            needs,
            new FixtureCli("ready", { "iam simulate-principal-policy": cliError("aws-expired-token") }),
        );
        assert.deepEqual(ready.filter((f) => f.verdict === "not-checked").map(line), [
            "not-checked aws permissions 123456789012: the permissions of arn:aws:iam::123456789012:role/ops/bootloop-deployer could not be simulated: An error occurred (ExpiredToken) when calling the GetCallerIdentity operation (reached max retries: 0): The security token included in the request is expired",
        ]);
        assert.equal(preflightOutcome(ready).outcome, "notChecked");
        assert.equal(
            preflightOutcome([...ready, { cloud: "gcp", scope: "p", check: "quota", verdict: "fail", message: "short" }]).outcome,
            "checkFailed",
        );
    });

    it("counts a quota the cloud does not report, or a disk it cannot size, as NOT CHECKED, never left out", async () => {
        const cli = new FixtureCli(
            "ready",
            {},
            {
                "vm list-usage": JSON.stringify([{ name: { value: "standardDSv5Family" }, currentValue: 0, limit: 10 }]),
                "compute regions describe": JSON.stringify({ name: "us-central1", quotas: [{ metric: "CPUS", limit: 24, usage: 0 }] }),
                "compute project-info describe": JSON.stringify({ quotas: [] }),
                "compute disks list": "[]",
                "auth print-access-token": "\n",
            },
        );
        const findings = await runPreflight(preflights, new Map([...needs].filter(([cloud]) => cloud !== "aws")), cli);
        const unchecked = findings.filter((f) => f.verdict === "not-checked").map(line);
        const expect = [
            /^not-checked azure quota 11111111-2222-3333-4444-555555555555\/eastus2: no total regional vCPU usage reported in eastus2: check it by hand \(4 vCPUs needed\)$/,
            /^not-checked gcp quota my-project\/us-central1: boot disk not found for 2 VM\(s\), not counted in disk quotas/,
            /^not-checked gcp quota my-project\/us-central1: no SSD_TOTAL_GB quota reported in us-central1: check it by hand \(20 GB needed\)$/,
            /^not-checked gcp quota my-project: no SNAPSHOTS quota reported/,
            /^not-checked gcp permissions my-project: no access token from gcloud: gcloud printed no token$/,
        ];
        for (const re of expect)
            assert.ok(
                unchecked.some((f) => re.test(f)),
                `no finding like ${re}:\n${unchecked.join("\n")}`,
            );
        assert.equal(unchecked.length, expect.length, unchecked.join("\n"));
        assert.equal(preflightOutcome(findings).outcome, "notChecked");
    });

    it("quotes the line of a CLI's error that says what went wrong, as the real CLIs print it", () => {
        // az 2.45's real crash (vm list-usage here): the last line is a footer, the first a header.
        assert.equal(
            errorLine(cliError("az-crash")),
            "the CLI crashed: ModuleNotFoundError: No module named 'azure.mgmt.compute.v2022_11_01'",
        );
        assert.equal(errorLine(cliError("az-not-logged-in")), "ERROR: Please run 'az login' to setup account.");
        assert.equal(
            errorLine(cliError("aws-no-credentials")),
            'Unable to locate credentials. You can configure credentials by running "aws configure".',
        );
        assert.equal(
            errorLine(cliError("aws-expired-token")),
            "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation (reached max retries: 0): The security token included in the request is expired",
        );
        assert.equal(
            errorLine(cliError("gcloud-no-account")),
            "ERROR: (gcloud.compute.regions.describe) You do not currently have an active account selected.",
        );
        assert.equal(
            errorLine(cliError("gcloud-token-no-account")),
            "ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected.",
        );
        // A warning before the error, a retry wrapper around it, and a bound on its length.
        assert.equal(
            errorLine("WARNING: deprecated\nERROR: (AuthorizationFailed) denied\nCode: AuthorizationFailed"),
            "ERROR: (AuthorizationFailed) denied",
        );
        assert.equal(
            errorLine("still throttled or busy after 10 minutes: An error occurred (Throttling)"),
            "still throttled or busy after 10 minutes: An error occurred (Throttling)",
        );
        assert.equal(errorLine(`ERROR: ${"x".repeat(400)}`).length, 300);
    });

    it('says why an HTTPS call could not be made, not just "fetch failed"', async () => {
        const offline: typeof fetch = () =>
            Promise.reject(
                new TypeError("fetch failed", {
                    cause: Object.assign(new Error("getaddrinfo ENOTFOUND cloudresourcemanager.googleapis.com"), { code: "ENOTFOUND" }),
                }),
            );
        const gate = new PreflightGate(new DiscoveryGate(cloudWatches, 1), offline, () => Promise.resolve());
        const call = {
            cloud: "gcp",
            scope: "p",
            op: "projects testIamPermissions",
            url: "https://cloudresourcemanager.googleapis.com/v1/projects/p:testIamPermissions",
            method: "POST" as const,
            token: "t",
        };
        await assert.rejects(
            gate.fetchJson(call),
            (err: Error) =>
                err instanceof CliError &&
                err.message === "projects testIamPermissions: fetch failed: getaddrinfo ENOTFOUND cloudresourcemanager.googleapis.com",
        );
    });

    it("shows the clouds' text on a terminal without its escape sequences", () => {
        const text = renderPreflight([
            {
                cloud: "azure",
                scope: "s",
                check: "tags",
                verdict: "not-checked",
                message: `policy assignments could not be read: ${errorLine("ERROR: \x1b]0;owned\x07denied\x1b[2J")}`,
            },
        ]);
        // eslint-disable-next-line no-control-regex -- ESC and BEL are what the shown text must not hold
        assert.doesNotMatch(text, /\x1b|\x07/);
        assert.match(text, /NOT CHECKED azure tags s: policy assignments could not be read: ERROR: denied/);
    });

    it("keeps its calls per scope, not per VM: 2,000 VMs in one region cost a handful more calls than 2", async () => {
        const aws = needs.get("aws")!;
        const many = (n: number): PreflightVm[] =>
            Array.from({ length: n }, (_, i) => ({
                label: `aws us-east-1/i-${i}`,
                fields: { region: "us-east-1", instanceId: `i-${i.toString(16).padStart(17, "0")}` },
                strategy: "repair",
                rescue: { member: `r-${Math.floor(i / 20)}`, capacity: 20 },
                snapshots: 1,
                newDisks: 2,
            }));
        const count = async (n: number) => {
            const cli = new FixtureCli("ready");
            await runPreflight(preflights, new Map([["aws", { ...aws, vms: many(n) }]]), cli);
            return cli.calls.length;
        };
        const [small, large] = [await count(2), await count(2000)];
        // describe-instances and describe-volumes take 200 ids a call: 10 more calls each.
        assert.ok(large - small <= 2 * Math.ceil(2000 / 200), `${small} calls for 2 VMs, ${large} for 2,000`);
    });

    it("makes only reads the shipped deployer roles grant (org policies on GCP need the viewer role the README names)", async () => {
        const cli = new FixtureCli("tight");
        await runPreflight(preflights, needs, cli);
        const ops = new Set(cli.calls.map((c) => `${c.command} ${c.op}`));
        const AZURE: Record<string, string | undefined> = {
            "vm list-usage": "Microsoft.Compute/locations/usages/read",
            "vm list-skus": "Microsoft.Compute/skus/read",
            "policy assignment list": "Microsoft.Authorization/policyAssignments/read",
            "vm list": "Microsoft.Compute/virtualMachines/read",
            // Every principal may read its own permissions.
            "rest get": undefined,
        };
        const GCP: Record<string, string | undefined> = {
            "compute instances list": "compute.instances.list",
            "compute disks list": "compute.disks.list",
            "compute regions describe": "compute.regions.get",
            "compute machine-types describe": "compute.machineTypes.get",
            "compute project-info describe": "compute.projects.get",
            "projects get-ancestors": "resourcemanager.projects.get",
            "auth print-access-token": undefined,
            "org-policies list": undefined,
            "org-policies describe-custom-constraint": undefined,
        };
        const role = deployerRole().Actions;
        const permissions = deployerPermissions();
        for (const op of ops) {
            const [command, ...words] = op.split(" ");
            const rest = words.join(" ");
            if (command === "aws") {
                const [service, action] = rest.split(" ");
                const name = `${service.replace("service-quotas", "servicequotas")}:${action
                    .split("-")
                    .map((w) => w[0].toUpperCase() + w.slice(1))
                    .join("")}`;
                assert.ok(/:(Describe|Get|List|Simulate)/.test(name), `${name} is not a read`);
                assert.ok(deployerAllows(name), `deployer-policy.json lacks ${name}`);
            } else if (command === "az") {
                assert.ok(rest in AZURE, `az ${rest}: unmapped`);
                if (AZURE[rest]) assert.ok(role.includes(AZURE[rest]), `deployer-role.json lacks ${AZURE[rest]}`);
            } else {
                assert.ok(rest in GCP, `gcloud ${rest}: unmapped`);
                if (GCP[rest]) assert.ok(permissions.includes(GCP[rest]), `deployer-role.yaml lacks ${GCP[rest]}`);
            }
        }
        assert.ok(ops.size >= 20, [...ops].join(", "));
    });

    it("sends GCP's token only as a bearer header, to the resource manager the environment names", async () => {
        const cli = new FixtureCli("ready");
        await runPreflight(preflights, new Map([["gcp", needs.get("gcp")!]]), cli);
        assert.equal(cli.fetches.length, 1);
        assert.match(cli.fetches[0].url, /^https:\/\/cloudresourcemanager\.googleapis\.com\/v1\/projects\/my-project:testIamPermissions$/);
        assert.equal(cli.fetches[0].token, "ya29.fixture-token");
        assert.ok(!cli.calls.some((c) => c.args.some((a) => a.includes("ya29"))));
    });

    describe("every call, against the real aws, gcloud and az (network namespace, loopback only)", function () {
        this.timeout(900_000);
        it("is accepted by the real CLI's parser", async function () {
            realCliOrSkip(this, ["aws", "gcloud", "az"]);
            const cli = new FixtureCli("tight");
            await runPreflight(preflights, needs, cli);
            const seen = new Set<string>();
            const spec: { cli: Cli; argv: string[] }[] = [];
            for (const c of cli.calls) {
                const key = `${c.command} ${c.op} ${c.args.filter((a) => a.startsWith("--")).join(" ")}`;
                if (!seen.has(key)) {
                    seen.add(key);
                    spec.push({ cli: c.command as Cli, argv: c.args });
                }
            }
            assert.ok(spec.length >= 20, `${spec.length} distinct calls`);
            assert.deepEqual(notAccepted(replayThroughRealClis(spec)), []);
        });
    });
});

describe("npm run plan -- --preflight, end to end", function () {
    this.timeout(300_000);
    /** Runs the plan script with stand-in CLIs on PATH and a local resource manager; resolves with its exit code and output. */
    async function planWithPreflight(
        world: World,
        extra: string[] = [],
    ): Promise<{ code: number | null; stdout: string; calls: string[] }> {
        const http = await import("http");
        const { spawn } = await import("child_process");
        const fs = await import("fs");
        const os = await import("os");
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-bin-"));
        for (const cli of ["aws", "az", "gcloud"]) fs.symlinkSync(path.join(root, "test/fixtures/preflight/cli.js"), path.join(bin, cli));
        const log = path.join(bin, "calls.log");
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                const ok =
                    req.headers.authorization === "Bearer ya29.fixture-token" &&
                    /\/v1\/projects\/my-project:testIamPermissions$/.test(req.url ?? "");
                res.writeHead(ok ? 200 : 403, { "content-type": "application/json" });
                res.end(JSON.stringify(ok ? testIamPermissions(JSON.parse(body), world) : { error: { message: "denied" } }));
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as { port: number }).port;
        try {
            return await new Promise((resolve) => {
                const child = spawn(
                    process.execPath,
                    [
                        ...programNodeArgs(),
                        "-r",
                        "ts-node/register/transpile-only",
                        path.join(root, "cli/plan.ts"),
                        "--stack",
                        "dev",
                        "--preflight",
                        ...extra,
                    ],
                    {
                        cwd: root,
                        env: {
                            ...process.env,
                            PATH: `${bin}:${process.env.PATH}`,
                            PREFLIGHT_WORLD: world,
                            PREFLIGHT_LOG: log,
                            CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER: `http://127.0.0.1:${port}/`,
                        },
                    },
                );
                let stdout = "";
                child.stdout.on("data", (d) => (stdout += d));
                child.on("close", (code) =>
                    resolve({ code, stdout, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] }),
                );
            });
        } finally {
            server.close();
        }
    }

    it("prints the plan, then the preflight's report, and exits 3 when a check fails (0 when none does)", async () => {
        const tight = await planWithPreflight("tight");
        assert.equal(tight.code, 3, tight.stdout);
        assert.match(tight.stdout, /^Preflight \(read-only calls to the clouds\):$/m);
        assert.match(tight.stdout, /^ {2}FAIL gcp permissions my-project: the caller lacks 1 of/m);
        assert.match(tight.stdout, /^Preflight: 9 check\(s\) failed/m);
        assert.ok(tight.calls.length > 20);
        const ready = await planWithPreflight("ready");
        assert.equal(ready.code, 0, ready.stdout);
        assert.match(ready.stdout, /^Preflight: nothing blocks pulumi up/m);
    });

    it("exits 4 when no login lets a check run, quoting each CLI's error; --allow-skipped accepts that with exit 0", async () => {
        const out = await planWithPreflight("signed-out");
        assert.equal(out.code, 4, out.stdout);
        assert.doesNotMatch(out.stdout, /nothing blocks pulumi up|^ {2}ok /m);
        assert.match(out.stdout, /^ {2}NOT CHECKED aws permissions: the preflight could not run: Unable to locate credentials\./m);
        assert.match(out.stdout, /^ {2}NOT CHECKED azure quota .*: the CLI crashed: ModuleNotFoundError: /m);
        assert.match(
            out.stdout,
            /^ {2}NOT CHECKED gcp permissions my-project: no access token from gcloud: ERROR: \(gcloud\.auth\.print-access-token\) You do not currently have an active account selected\.$/m,
        );
        assert.match(out.stdout, /^Preflight: not checked: \d+ \(0 ok, 0 warning\(s\)\) — pulumi up is not cleared; .*--allow-skipped/m);
        const accepted = await planWithPreflight("signed-out", ["--allow-skipped"]);
        assert.equal(accepted.code, 0, accepted.stdout);
        assert.match(accepted.stdout, /^Preflight: nothing failed \(0 ok, 0 warning\(s\)\); \d+ not checked, accepted by --allow-skipped/m);
    });
});
