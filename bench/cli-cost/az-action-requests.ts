// The requests the real az sends for the Azure steps' calls the watcher now makes itself
// (components/azure/actions.ts), captured against the fake clouds: run as root inside
// `unshare -n -m` (nothing can reach a cloud), prints one JSON line per command with the
// requests az made and those the action makes.
//
//   unshare -n -m node -r ts-node/register/transpile-only bench/cli-cost/az-action-requests.ts AZ_BIN
//
// azure-cli 2.91.0 (2026-12-07): restart, start, deallocate --no-wait each send one POST
// …/virtualMachines/N/{restart|start|deallocate} without a body (api-version 2022-11-01, 2022-11-01,
// 2025-11-01), as the actions do (they send 2024-07-01, the watcher's Compute version); `vm update
// --os-disk --no-wait` sends a GET and a PUT of the whole VM (2026-04-01) where the action sends one
// PATCH of the OS disk's managedDisk.id and name (by design: see actions.ts).
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IDS } from "./fake-clouds";
import { cliEnvs, fakeCloudsHere, loginAz } from "./fake-hosts";

async function main(): Promise<void> {
    const az = process.argv[2];
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "az-action-requests-"));
    const clouds = await fakeCloudsHere(work);
    try {
        const env = cliEnvs(work, clouds.caFile).az;
        const why = await loginAz(az, env);
        if (why) throw new Error(why);
        const vm = ["--subscription", IDS.subscription, "-g", "rg-fleet", "-n", "vm0"];
        const tail = ["--output", "json", "--only-show-errors"];
        const disk = `${IDS.group}/providers/Microsoft.Compute/disks/vm0-fixed`;
        for (const args of [
            ["vm", "restart", ...vm, "--no-wait", ...tail],
            ["vm", "start", ...vm, "--no-wait", ...tail],
            ["vm", "deallocate", ...vm, "--no-wait", ...tail],
            ["vm", "update", ...vm, "--os-disk", disk, "--no-wait", ...tail],
        ]) {
            const from = clouds.requests.length;
            // Asynchronous: the fake clouds answer from this process.
            const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
                const child = spawn(az, args, { env, stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
                let stderr = "";
                child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                child.on("close", (status) => resolve({ status, stderr }));
            });
            const made = clouds.requests.slice(from).filter((q) => q.host === "management.azure.com");
            process.stdout.write(`${JSON.stringify({ argv: args.join(" "), code: r.status, stderr: r.stderr.slice(-300), made })}\n`);
        }
    } finally {
        await clouds.close();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
