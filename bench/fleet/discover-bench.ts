// Discovery at incident size: `npm run discover` against the stand-in CLIs (test/*/stand-in) for a
// generated estate of N VMs across R regions, counting the CLI calls it makes and turning them into
// runner time with the measured cost of each real CLI call (bench/fleet/cli-cost.json, written by
// scripts/measure-cli-cost.sh: a call of a measured shape at its price, any other at its cloud's median).
//
//   npm run bench:discover -- [--vms N] [--regions R] [--cloud aws|azure|gcp|all] [--falcon] [--json]
//
// The estate, per cloud: 60 % Windows (the rest Linux); of the Windows VMs 20 % boot-loop (half show
// a stop error on their console or serial port), 10 % are stopped, 3 % belong to scale groups.
// --falcon adds a Falcon host export of the Windows VMs (the looping ones last seen in the window).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DiscoveryCliName, discoveryStandIns } from "../../sandbox/cli/stand-ins";
import { CliCost } from "./cli-cost-prices";

const ROOT = path.resolve(__dirname, "../..");
const CLOUDS = ["aws", "azure", "gcp"] as const;
type Cloud = (typeof CLOUDS)[number];
const CLI: Record<Cloud, DiscoveryCliName> = { aws: "aws", azure: "az", gcp: "gcloud" };
const AWS_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
    "me-south-1",
    "af-south-1",
];
const AZURE_LOCATIONS = [
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northcentralus",
    "southcentralus",
    "canadacentral",
    "brazilsouth",
    "northeurope",
    "westeurope",
    "uksouth",
    "francecentral",
    "germanywestcentral",
    "swedencentral",
    "japaneast",
    "koreacentral",
    "australiaeast",
    "southeastasia",
];
const GCP_REGIONS = [
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
    "us-west2",
    "northamerica-northeast1",
    "southamerica-east1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-north1",
    "europe-central2",
    "asia-east1",
    "asia-northeast1",
    "asia-south1",
    "asia-southeast1",
    "australia-southeast1",
    "me-west1",
    "africa-south1",
];
const CRASH = "Windows is Ready to use\nWindows is ready\n*** STOP: 0x00000050 PAGE_FAULT_IN_NONPAGED_AREA csagent.sys\n";

/** What VM `i` of the estate is. */
function kind(i: number): { windows: boolean; looping: boolean; crashShown: boolean; stopped: boolean; group: boolean } {
    const windows = i % 5 < 3;
    const w = Math.floor(i / 5) * 3 + (i % 5); // index among the Windows VMs
    return {
        windows,
        looping: windows && w % 5 === 0,
        crashShown: windows && w % 10 === 0,
        stopped: windows && w % 10 === 3,
        group: windows && w % 33 === 7,
    };
}

function awsWorld(n: number, regions: number): unknown {
    const instances: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
        const k = kind(i);
        const region = AWS_REGIONS[Math.floor(i / 7) % regions];
        instances[`i-0${(0x100000 + i).toString(16).padStart(16, "0")}`] = {
            region,
            availabilityZone: `${region}${"abc"[Math.floor(i / regions) % 3]}`,
            ...(k.windows ? { platform: "windows" } : {}),
            state: k.stopped ? "stopped" : "running",
            tags: { Name: `host-${i}`, ...(k.group ? { "aws:autoscaling:groupName": "web-asg" } : {}) },
            ...(k.group ? { asg: "web-asg" } : {}),
            instanceStatus: k.looping ? "impaired" : "ok",
            consoleOutput: k.crashShown ? CRASH : "",
        };
    }
    return { account: "111111111111", aliases: { "111111111111": ["prod"] }, regions: AWS_REGIONS.slice(0, regions), instances };
}

function azureWorld(n: number, regions: number): unknown {
    const subs = [
        "11111111-2222-3333-4444-555555555555",
        "22222222-2222-3333-4444-555555555555",
        "33333333-2222-3333-4444-555555555555",
        "44444444-2222-3333-4444-555555555555",
    ];
    const vms: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
        const k = kind(i);
        vms[`rg-${i % 40}/host-${i}`] = {
            subscription: subs[i % subs.length],
            location: AZURE_LOCATIONS[Math.floor(i / 7) % regions],
            zones: [String(1 + (i % 3))],
            osType: k.windows ? "Windows" : "Linux",
            power: k.stopped ? "deallocated" : "running",
            agent: k.stopped ? "" : k.looping ? "Not Ready" : "Ready",
            osDisk: `/subscriptions/${subs[i % subs.length]}/resourceGroups/rg/providers/Microsoft.Compute/disks/host-${i}`,
            computerName: `HOST-${i}`,
            bootDiagnostics: i % 2 === 0,
            bootLog: k.crashShown ? CRASH : "",
            ...(k.group ? { vmss: "web-vmss" } : {}),
            frozen: true,
        };
    }
    return { accounts: subs.map((id, j) => ({ id, name: `sub-${j}`, state: "Enabled" })), statusPage: 1000, vms };
}

function gcpWorld(n: number, regions: number): unknown {
    const projects = ["web-prod-1", "web-prod-2"];
    const instances: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
        const k = kind(i);
        instances[`host-${i}`] = {
            project: projects[i % 2],
            zone: `${GCP_REGIONS[Math.floor(i / 7) % regions]}-${"abc"[Math.floor(i / regions) % 3]}`,
            id: String(5_000_000_000_000 + i),
            windows: k.windows,
            status: k.stopped ? "TERMINATED" : "RUNNING",
            serial: k.crashShown ? CRASH : k.looping ? "" : "GCEGuestAgent: Started\nWindows is ready\n",
            ...(k.group ? { mig: "web-mig" } : {}),
        };
    }
    return { projects: projects.map((p) => ({ projectId: p, name: p, lifecycleState: "ACTIVE" })), instances, guestAttributes: {} };
}

/** A Falcon host export of the estate's Windows VMs: the looping ones last seen in the window, the others after it. */
function falconCsv(n: number, cloud: Cloud): string {
    const lines = ["Hostname,Last Seen,Cloud Provider,Instance ID"];
    for (let i = 0; i < n; i++) {
        const k = kind(i);
        if (!k.windows) continue;
        const id =
            cloud === "aws"
                ? `i-0${(0x100000 + i).toString(16).padStart(16, "0")}`
                : cloud === "gcp"
                  ? String(5_000_000_000_000 + i)
                  : `host-${i}`;
        lines.push(
            `host-${i},${k.looping || k.stopped ? "2024-07-19T04:20:00Z" : "2024-07-19T09:00:00Z"},${{ aws: "AWS", azure: "Azure", gcp: "GCP" }[cloud]},${id}`,
        );
    }
    return lines.join("\n") + "\n";
}

interface Result {
    cloud: Cloud;
    vms: number;
    regions: number;
    falcon: boolean;
    candidates: number;
    calls: Record<string, number>;
    perVmReads: number;
    cliCpuSeconds: number;
    /** CPU seconds over the runner's cores: the time the CLI calls need on this runner. */
    cliMinutesOnRunner: number;
    wallSeconds: number;
}

function run(cost: CliCost, cloud: Cloud, n: number, regions: number, falcon: boolean): Result {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "discover-bench-"));
    const world = { aws: awsWorld, azure: azureWorld, gcp: gcpWorld }[cloud](n, regions);
    const standIns = discoveryStandIns(dir, { [CLI[cloud]]: world });
    const env: Record<string, string> = {
        ...(process.env as Record<string, string>),
        ...standIns.env,
        INIT_CWD: dir,
        HOME: dir,
        AWS_REGION: "us-east-1",
    };
    const args = ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli/discover.ts"), "--cloud", cloud, "--json"];
    if (falcon) {
        fs.writeFileSync(path.join(dir, "hosts.csv"), falconCsv(n, cloud));
        args.push("--falcon-csv", "hosts.csv");
    }
    const started = Date.now();
    const out = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 1 << 30 });
    const wallSeconds = Math.round((Date.now() - started) / 100) / 10;
    fs.rmSync(dir, { recursive: true, force: true });
    if (out.status !== 0) throw new Error(`discover failed for ${cloud}: ${out.stderr.slice(-2000)}`);
    const report = JSON.parse(out.stdout) as { calls: Record<string, number>; reads: number; candidates: unknown[] };
    const cpu = cost.cpuSecondsOf(cloud, report.calls, cloud);
    return {
        cloud,
        vms: n,
        regions,
        falcon,
        candidates: report.candidates.length,
        calls: report.calls,
        perVmReads: report.reads,
        cliCpuSeconds: Math.round(cpu),
        cliMinutesOnRunner: Math.round((cpu / os.cpus().length / 60) * 10) / 10,
        wallSeconds,
    };
}

function main(): void {
    const argv = process.argv.slice(2);
    const value = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
    const n = Number(value("--vms", "10000"));
    const regions = Math.min(20, Number(value("--regions", "20")));
    const which = value("--cloud", "all");
    const clouds = which === "all" ? [...CLOUDS] : [which as Cloud];
    if (!Number.isInteger(n) || n < 1 || !Number.isInteger(regions) || regions < 1 || clouds.some((c) => !CLOUDS.includes(c)))
        throw new Error("usage: npm run bench:discover -- [--vms N] [--regions 1-20] [--cloud aws|azure|gcp|all] [--falcon] [--json]");
    const cost = CliCost.load();
    const results = clouds.map((c) => run(cost, c, n, regions, argv.includes("--falcon")));
    if (argv.includes("--json")) {
        process.stdout.write(
            `${JSON.stringify({ cores: os.cpus().length, cliCost: cost.source(), cliCpuSecondsPerCall: Object.fromEntries(CLOUDS.map((c) => [c, cost.medianCpuSeconds(c)])), results }, null, 2)}\n`,
        );
        return;
    }
    process.stdout.write(`CLI calls priced from ${cost.source()}\n`);
    for (const r of results) {
        const calls = Object.values(r.calls).reduce((a, b) => a + b, 0);
        process.stdout.write(
            `${r.cloud}: ${r.vms} VMs in ${r.regions} regions${r.falcon ? " with a Falcon export" : ""}: ${r.candidates} candidates; ${calls} CLI calls (${r.perVmReads} per-VM reads); ` +
                `CLI CPU ${r.cliCpuSeconds} s = ${r.cliMinutesOnRunner} min on ${os.cpus().length} cores; stand-in run ${r.wallSeconds} s\n` +
                Object.entries(r.calls)
                    .sort((a, b) => b[1] - a[1])
                    .map(([op, k]) => `    ${String(k).padStart(6)}  ${op}\n`)
                    .join(""),
        );
    }
}

main();
