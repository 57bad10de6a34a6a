// Measures what the watcher's observations cost through the clouds' APIs, and checks that they read
// the clouds' wire format right: run by scripts/measure-api-cost.sh as root inside `unshare -n -m`,
// like measure.ts (the clouds' host names point at fake clouds on the loopback; nothing can reach a
// cloud). The real `gcloud` and `az` mint the tokens (az logged in as a fake service principal),
// and api-observe.ts runs each cloud's real `observe` through the real gate in a process of its own
// that trusts the fake clouds' certificate. Writes OUT (JSON) even when a check failed, and exits 1
// then: an observation that reads a field where the API does not put it is a failure, never a figure.
//
//   node -r ts-node/register/transpile-only bench/cli-cost/api-measure.ts OUT.json AZ_BIN ROUNDS
//
// AZ_BIN `stub`: stand-ins mint the tokens instead of the real gcloud and az (the tests: CI has no
// current az); the observations and their checks are the same, the token calls are not the CLIs'.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApiObserveResult } from "./api-observe";
import { BATCH, IDS } from "./fake-clouds";
import { cliEnvs, fakeCloudsHere, loginAz } from "./fake-hosts";

/** What the measurement wrote. */
export interface ApiCostFile {
    measuredAt: string;
    commit: string;
    machine: { cores: number; name: string; loadAverage1m: { before: number; after: number } };
    method: string;
    rounds: number;
    clouds: ApiObserveResult[];
    /** Why the measurement could not run, when it could not. */
    error?: string;
}

function runChild(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/** A folder with `gcloud` and `az` that answer only the token requests (and az's cloud), as the real ones print them. */
function tokenStandIns(work: string): string {
    const bin = path.join(work, "token-bin");
    fs.mkdirSync(bin);
    const expiry = new Date(Date.now() + 3_600_000);
    const answer = (cases: [string, unknown][]) =>
        `#!/bin/sh\ncase "$*" in\n${cases.map(([argv, json]) => `  "${argv}"*) cat <<'EOF'\n${JSON.stringify(json)}\nEOF\n  ;;\n`).join("")}  *) echo "token stand-in: not answered: $*" >&2; exit 2 ;;\nesac\n`;
    fs.writeFileSync(
        path.join(bin, "gcloud"),
        answer([
            ["config config-helper", { credential: { access_token: "ya29.api-cost-token-not-real", token_expiry: expiry.toISOString() } }],
        ]),
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(bin, "az"),
        answer([
            // AzureCloud's endpoints, as `az cloud show --query` prints them.
            ["cloud show", { rm: "https://management.azure.com/", aud: "https://management.core.windows.net/" }],
            [
                "account get-access-token",
                {
                    accessToken: "api-cost-token-not-real",
                    expiresOn: expiry.toISOString().replace("T", " ").slice(0, 26),
                    expires_on: Math.floor(expiry.getTime() / 1000),
                    subscription: IDS.subscription,
                    tenant: IDS.tenant,
                    tokenType: "Bearer",
                },
            ],
        ]),
        { mode: 0o755 },
    );
    return bin;
}

async function main(): Promise<void> {
    const [outFile, azBin, roundsText] = process.argv.slice(2);
    const rounds = Number(roundsText);
    if (!outFile || !azBin || !(rounds >= 1)) throw new Error("usage: api-measure.ts OUT.json AZ_BIN ROUNDS");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "api-cost-home-"));
    const clouds = await fakeCloudsHere(work);
    const envs = cliEnvs(work, clouds.caFile);
    const stub = azBin === "stub";
    const bin = stub ? tokenStandIns(work) : path.dirname(azBin);
    const azLogin = stub ? undefined : await loginAz(azBin, envs.az);
    const loadBefore = os.loadavg()[0];
    // One environment for the three clouds (their variables do not overlap), the fake clouds'
    // certificate trusted by Node, and the az that logged in first on PATH.
    const env = {
        ...envs.aws,
        ...envs.gcloud,
        ...envs.az,
        PATH: `${bin}:${envs.aws.PATH}`,
        NODE_EXTRA_CA_CERTS: clouds.caFile,
    };
    const root = path.resolve(__dirname, "../..");
    const child = azLogin
        ? { code: 1, stdout: "", stderr: azLogin }
        : await runChild(["-r", "ts-node/register/transpile-only", path.join(__dirname, "api-observe.ts"), String(rounds)], {
              ...env,
              TS_NODE_PROJECT: path.join(root, "tsconfig.json"),
          });
    const loadAfter = os.loadavg()[0];
    await clouds.close();
    fs.rmSync(work, { recursive: true, force: true });
    let results: ApiObserveResult[] = [];
    let error: string | undefined;
    try {
        if (child.code !== 0) throw new Error(`api-observe exited ${child.code}: ${child.stderr.trim().slice(-800)}`);
        results = JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as ApiObserveResult[];
    } catch (err) {
        error = err instanceof Error ? err.message : String(err);
    }
    const file: ApiCostFile = {
        measuredAt: new Date().toISOString(),
        commit: process.env.CLI_COST_COMMIT ?? "unknown",
        machine: {
            cores: os.cpus().length,
            name: process.env.CLI_COST_MACHINE ?? os.hostname(),
            loadAverage1m: { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadAfter * 100) / 100 },
        },
        method: `${stub ? "TOKENS FROM STAND-INS (a check, not a measurement of the CLIs); " : ""}each cloud's observe (components/<cloud>/watch.ts) through the real gate on batches of ${BATCH} waits, ${rounds} rounds after one uncounted (module loading, the token minted by the real CLI, connections); CPU = process.cpuUsage() of that process; answered over HTTPS on the loopback by bench/cli-cost/fake-clouds.ts`,
        rounds,
        clouds: results,
        ...(error ? { error } : {}),
    };
    fs.writeFileSync(outFile, `${JSON.stringify(file, null, 2)}\n`);
    for (const c of results)
        process.stderr.write(
            `${c.cloud}: ${c.requestsPerRound} requests a round (${c.kinds.join(", ")}), ${typeof c.cpuMsPerRequest === "number" ? `${c.cpuMsPerRequest.toFixed(2)} ms` : "not measured:"} of CPU per request, ${c.wallMsPerRound.toFixed(0)} ms a round${c.cliCallsMeasured ? `, ${c.cliCallsMeasured} CLI calls in the measured rounds` : ""}${c.wrong.length ? `\n  WRONG: ${c.wrong.slice(0, 5).join("\n  WRONG: ")}` : ""}\n`,
        );
    const failed =
        error !== undefined ||
        results.length < 3 ||
        results.some((c) => c.wrong.length > 0 || c.cliCallsMeasured > 0 || !(c.requestsPerRound > 0));
    if (error) process.stderr.write(`api-measure: ${error}\n`);
    process.exit(failed ? 1 : 0);
}

if (require.main === module)
    main().catch((err: unknown) => {
        process.stderr.write(`api-measure: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
    });
