// Measures what one call of each real CLI costs, per call shape: run by scripts/measure-cli-cost.sh
// as root inside `unshare -n -m` (loopback only, a mount namespace of its own). The clouds' API
// hosts are pointed at 127.0.0.1 through a bind-mounted /etc/hosts and answered over HTTPS by
// fake-clouds.ts with a certificate made for this run, so each CLI runs exactly as on a runner
// (TLS, signing, its own token handling, response parsing), and nothing can reach a real cloud:
// the namespace has no route out.
//
//   node -r ts-node/register/transpile-only bench/cli-cost/measure.ts OUT.json AZ_BIN REPETITIONS
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliCost, CliCostFile, MeasuredCall } from "../fleet/cli-cost-prices";
import { cliEnvs, fakeCloudsHere, loginAz } from "./fake-hosts";
import { SHAPES, Shape } from "./shapes";

/** One run of a CLI under GNU time: its exit code, stderr and the process tree's rusage. */
interface Run {
    code: number;
    stderr: string;
    wallSeconds: number;
    cpuSeconds: number;
    peakRssMb: number;
}

function timed(command: string, args: string[], env: Record<string, string>): Promise<Run> {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cli-cost-")), "time");
    return new Promise((resolve) => {
        // GNU time waits for the CLI, so its rusage covers every process of the tree it reaped.
        const child = spawn("/usr/bin/time", ["-o", out, "-f", "%e %U %S %M", command, ...args], { env });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.stdout.on("data", () => {});
        const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            const line = fs.existsSync(out) ? fs.readFileSync(out, "utf8").trim().split("\n").pop()! : "";
            fs.rmSync(path.dirname(out), { recursive: true, force: true });
            const [e, u, s, m] = line.split(" ").map(Number);
            resolve({ code: code ?? -1, stderr, wallSeconds: e, cpuSeconds: u + s, peakRssMb: m / 1024 });
        });
    });
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x: number, digits: number): number {
    const f = 10 ** digits;
    return Math.round(x * f) / f;
}

function version(command: string, args: string[], env: Record<string, string>): string {
    try {
        return execFileSync(command, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 })
            .split("\n")[0]
            .trim();
    } catch (e) {
        return `unknown (${String((e as Error).message).split("\n")[0]})`;
    }
}

async function main(): Promise<void> {
    const [outFile, azBin, repsText] = process.argv.slice(2);
    const repetitions = Number(repsText);
    if (!outFile || !azBin || !(repetitions >= 1)) throw new Error("usage: measure.ts OUT.json AZ_BIN REPETITIONS");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cli-cost-home-"));
    // The clouds' hosts resolve to the loopback, for this namespace only.
    const clouds = await fakeCloudsHere(work);
    const env = cliEnvs(work, clouds.caFile);
    const commandOf: Record<Shape["cli"], string> = { aws: "/usr/bin/aws", gcloud: "gcloud", az: azBin };
    const versions = {
        aws: version("/usr/bin/aws", ["--version"], env.aws),
        gcloud: version("gcloud", ["--version"], env.gcloud),
        az: version(azBin, ["version", "--query", '"azure-cli"', "--output", "tsv"], env.az),
    };
    const azLogin = await loginAz(azBin, env.az);
    // The runner is shared: the load around the measurement says how busy its cores were.
    const loadBefore = os.loadavg()[0];
    const calls: MeasuredCall[] = [];
    for (const shape of SHAPES) {
        const samples: Run[] = [];
        let error = shape.cli === "az" ? azLogin : undefined;
        // One call first, not counted: Python compiles and caches on a runner's first call only.
        for (let i = 0; !error && i <= repetitions; i++) {
            const before = clouds.requests.length;
            const run = await timed(commandOf[shape.cli], shape.argv, env[shape.cli]);
            const seen = clouds.requests.slice(before);
            if (run.code !== 0) error = `exit ${run.code}: ${run.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 600)}`;
            else if (!seen.some((r) => shape.expect.test(`${r.method} ${r.host}${r.url}`)))
                error = `exit 0 but the fake cloud saw no request matching ${shape.expect} (saw: ${seen.map((r) => `${r.method} ${r.host}${r.url}`).join(", ") || "none"})`;
            else if (i > 0) samples.push(run);
        }
        const call: MeasuredCall = error
            ? { cloud: shape.cloud, shape: shape.key, argv: shape.argv, ok: false, error }
            : {
                  cloud: shape.cloud,
                  shape: shape.key,
                  argv: shape.argv,
                  ok: true,
                  cpuSeconds: round(median(samples.map((s) => s.cpuSeconds)), 3),
                  peakRssMb: round(median(samples.map((s) => s.peakRssMb)), 1),
                  wallSeconds: round(median(samples.map((s) => s.wallSeconds)), 3),
              };
        calls.push(call);
        process.stderr.write(`${shape.key}: ${call.ok ? `${call.cpuSeconds} s CPU` : `FAILED ${call.error}`}\n`);
    }
    await clouds.close();
    // The fake login, its token cache and the certificate's key go with the run.
    fs.rmSync(work, { recursive: true, force: true });
    const file: CliCostFile = {
        measuredAt: new Date().toISOString(),
        commit: process.env.CLI_COST_COMMIT ?? "unknown",
        machine: {
            cores: os.cpus().length,
            memoryMb: Math.round(os.totalmem() / 2 ** 20),
            name: process.env.CLI_COST_MACHINE ?? os.hostname(),
            loadAverage1m: { before: round(loadBefore, 2), after: round(os.loadavg()[0], 2) },
        },
        repetitions,
        method: "median of the repetitions after one uncounted call; CPU = user + sys of the CLI's process tree and peak RSS from GNU time; each call answered over HTTPS on the loopback by bench/cli-cost/fake-clouds.ts",
        versions,
        calls,
    };
    fs.writeFileSync(outFile, `${JSON.stringify(file, null, 2)}\n`);
    const cost: CliCost = CliCost.parse(file, "cli-cost.json");
    process.stdout.write(`${cost.table()}\n`);
    process.exit(calls.every((c) => c.ok) ? 0 : 1);
}

main().catch((e: Error) => {
    process.stderr.write(`measure-cli-cost: ${e.stack ?? e.message}\n`);
    process.exit(2);
});
