// Offline-plan benchmark: synthetic inventories of 100, 1,000 and 5,000 VMs mixing the clouds
// whose recovery path is built, each planned in its own process so peak RSS is per size.
// Prints figures; it is not a timed test.
//
//   npm run bench                  all sizes
//   npm run bench -- 100 1000      chosen sizes
//   npm run bench -- --mixed 1000  every strategy in turn (repair, reboot, reboot-then-repair, restore)
//   npm run bench -- --fleet N [--engine] [--runner 2x7|4x16] [--bad K] [--json]
//                                  ONE real-engine `up` of N sandbox VMs in a runner-sized cgroup, each
//                                  CLI call spending the real CLI's cost: CPU and memory measured (bench/engine;
//                                  `--engine` is the default and may be left out)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { identities, paths } from "../components/registry/clouds";
import { disableStackTraces } from "../cli/command/fast-stacks";
import { engineMain } from "./engine/main";
import { programNodeArgs } from "../components/tools/node-args";

const projectDir = path.resolve(__dirname, "..");
const benchDir = path.join(projectDir, ".bench");

/** Targets from the foundation issue, for the three built cloud paths. */
const TARGETS: Record<number, { seconds: number; mb: number }> = { 1000: { seconds: 15, mb: 1536 }, 5000: { seconds: 60, mb: 4096 } };
const MAX_RESOURCES_PER_VM = 7;

const STRATEGIES = ["repair", "reboot", "reboot-then-repair", "restore"];

function inventory(n: number, mixed: boolean): string {
    const clouds = paths.map((p) => p.identity.cloud);
    const lines = ["# synthetic benchmark inventory", "vms:"];
    for (let i = 0; i < n; i++) {
        const cloud = clouds[i % clouds.length];
        const identity = identities.find((x) => x.cloud === cloud)!;
        lines.push(`  - cloud: ${cloud}`);
        for (const [k, v] of Object.entries(identity.sample(i))) lines.push(`    ${k}: "${v}"`);
        // Strategies cycle across clouds too: i / clouds so every cloud gets every strategy.
        if (mixed) lines.push(`    strategy: ${STRATEGIES[Math.floor(i / clouds.length) % STRATEGIES.length]}`);
    }
    return lines.join("\n") + "\n";
}

function child(file: string): void {
    // Runs in the child process: plan one inventory, print one JSON line.
    const started = process.hrtime.bigint();
    disableStackTraces();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only the child loads the offline runner, after the clock starts and stack traces are off, so its figures include loading it
    const { runOffline } = require("../components/tools/offline/run") as typeof import("../components/tools/offline/run");
    runOffline({
        stack: "bench",
        // Three tags, as an organisation's tag policies typically ask for: they are in every resource's state.
        config: {
            values: {
                "bootloop-rescue:inventory": path.basename(file),
                "bootloop-rescue:acceptDataLoss": "true",
                "bootloop-rescue:tags": JSON.stringify({ "cost-center": "cc-4711", owner: "platform-team", environment: "production" }),
            },
            secretKeys: [],
        },
        baseDir: path.dirname(file),
        identities,
        paths,
        details: false,
    }).then(
        (run) => {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            process.stdout.write(
                JSON.stringify({
                    vms: run.result.plan.vms.length,
                    resources: run.resourceCount,
                    seconds,
                    peakMb: process.resourceUsage().maxRSS / 1024,
                }) + "\n",
            );
            process.exit(0);
        },
        (err) => {
            process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
        },
    );
}

function main(): void {
    if (process.argv[2] === "--child") return child(process.argv[3]);
    // The engine bench is the only fleet bench: the model one (the step scripts and the watcher
    // against a fake cloud, CPU priced) could not follow the watcher to the clouds' APIs.
    if (process.argv.includes("--fleet")) return engineMain(process.argv.slice(2));
    if (paths.length === 0) {
        console.log("No cloud recovery path is built yet, so there is nothing to plan: the benchmark runs once one is.");
        return;
    }
    const mixed = process.argv.includes("--mixed");
    const sizes = process.argv
        .slice(2)
        .map(Number)
        .filter((n) => n > 0);
    fs.mkdirSync(benchDir, { recursive: true });
    console.log(
        `clouds: ${paths.map((p) => p.identity.cloud).join(", ")}; strategies: ${mixed ? STRATEGIES.join(", ") : "repair"}; node ${process.version}`,
    );
    console.log("     VMs  resources  per VM  wall s  peak MB  targets");
    for (const n of sizes.length ? sizes : [100, 1000, 5000]) {
        const file = path.join(benchDir, `inventory-${n}.yaml`);
        fs.writeFileSync(file, inventory(n, mixed));
        const started = Date.now();
        const out = spawnSync(
            process.execPath,
            [...programNodeArgs(), "-r", "ts-node/register/transpile-only", __filename, "--child", file],
            { cwd: projectDir, encoding: "utf8", maxBuffer: 1 << 24 },
        );
        const wall = (Date.now() - started) / 1000;
        if (out.status !== 0) {
            console.log(`${String(n).padStart(8)}  failed: ${out.stderr.trim().split("\n").slice(0, 3).join(" / ")}`);
            process.exitCode = 1;
            continue;
        }
        const r = JSON.parse(out.stdout.trim().split("\n").pop()!) as { vms: number; resources: number; seconds: number; peakMb: number };
        const perVm = r.resources / r.vms;
        const t = TARGETS[n];
        const verdict = [
            perVm <= MAX_RESOURCES_PER_VM ? `≤${MAX_RESOURCES_PER_VM}/VM ok` : `>${MAX_RESOURCES_PER_VM}/VM MISSED`,
            t ? (wall < t.seconds ? `<${t.seconds}s ok` : `<${t.seconds}s MISSED`) : "",
            t ? (r.peakMb < t.mb ? `<${t.mb}MB ok` : `<${t.mb}MB MISSED`) : "",
        ]
            .filter((x) => x)
            .join(", ");
        console.log(
            `${String(r.vms).padStart(8)} ${String(r.resources).padStart(10)} ${perVm.toFixed(2).padStart(7)} ${wall.toFixed(1).padStart(7)} ${r.peakMb.toFixed(0).padStart(8)}  ${verdict}`,
        );
    }
    console.log("wall s: whole process (start-up, validation, lookups, plan, registration under mocks); peak MB: max RSS of that process.");
}

main();
