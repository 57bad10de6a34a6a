// Repair-engine benchmark on real disk images: seconds per disk (mount, repair, unmount) and the
// wall time of 16 disks repaired in parallel. Needs root. Prints figures; it is not a timed test.
//   npm run bench:engine
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HiveValue, buildHive, buildImage, requireDiskLab } from "../test/rescue/disk-lab";

const ENGINE = path.resolve(__dirname, "../rescue/repair-disk");
const CS = "Windows/System32/drivers/CrowdStrike";
const PARALLEL = 16;

/**
 * Registry hives like a Windows Server's in what the engine reads: a SYSTEM hive with 600 services
 * (100 boot-start drivers, one of them in the rule's folder) and a SOFTWARE hive with its build and
 * 5,000 other keys. Built once; every disk gets a copy.
 */
function benchHives(): { system: string; software: string } {
    const services: Record<string, Record<string, HiveValue>> = { Select: { Current: { dword: 1 } } };
    for (let i = 0; i < 600; i++) {
        const image = i === 0 ? "\\SystemRoot\\System32\\drivers\\CrowdStrike\\csagent.sys" : `System32\\drivers\\drv${i}.sys`;
        services[`ControlSet001\\Services\\svc${i}`] = {
            Start: { dword: i % 6 === 0 ? 0 : 3 },
            Type: { dword: 1 },
            ImagePath: { expand: image },
        };
    }
    const software: Record<string, Record<string, HiveValue>> = {
        "Microsoft\\Windows NT\\CurrentVersion": { CurrentBuildNumber: { sz: "20348" }, UBR: { dword: 2527 } },
    };
    for (let i = 0; i < 5000; i++) software[`Classes\\g${i % 50}\\k${i}`] = { Value: { sz: `value ${i}` } };
    return { system: buildHive("SYSTEM", services), software: buildHive("SOFTWARE", software) };
}

let hives: { system: string; software: string } | undefined;

function brokenDisk() {
    hives ??= benchHives();
    return buildImage(
        "gpt",
        [
            { kind: "efi", sizeMiB: 8 },
            { kind: "msr", sizeMiB: 8 },
            {
                kind: "windows",
                sizeMiB: 64,
                files: [
                    { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:13Z", size: 40960, content: "faulty" },
                    { path: `${CS}/C-00000291-00000000-00000033.sys`, mtime: "2024-07-19T05:27:04Z", size: 40960, content: "good" },
                    { path: "Windows/System32/config/SYSTEM", source: hives.system },
                    { path: "Windows/System32/config/SOFTWARE", source: hives.software },
                ],
            },
            { kind: "recovery", sizeMiB: 16 },
        ],
        128,
    );
}

/** What the engine prints on stdout (the fields the benchmark reads). */
interface EngineEvidence {
    outcome?: string;
    message?: string;
    volumes: { timingsMs: Record<string, number | undefined>; registry: { windowsBuild?: string; bootStartDrivers?: number } }[];
}

/** One disk repaired: its wall time in seconds and the engine's evidence. */
interface Repaired {
    wall: number;
    evidence: EngineEvidence;
}

function repair(image: string): Promise<Repaired> {
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
        const child = spawn(ENGINE, ["--disk", image], { stdio: ["ignore", "pipe", "ignore"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.on("close", (code) => {
            const wall = Number(process.hrtime.bigint() - started) / 1e9;
            const evidence = JSON.parse(out) as EngineEvidence;
            if (code !== 0 || evidence.outcome !== "repaired") reject(new Error(`${image}: ${evidence.outcome}: ${evidence.message}`));
            else resolve({ wall, evidence });
        });
    });
}

async function main() {
    requireDiskLab();
    console.log(
        `repair-engine benchmark: GPT disks (EFI, MSR, 64 MiB Windows, Recovery) with one faulty and one good channel file and SYSTEM and SOFTWARE hives; ${os.cpus().length} cores`,
    );
    const single: Repaired[] = [];
    for (let i = 0; i < 5; i++) single.push(await repair(brokenDisk().image));
    const avg = (f: (r: Repaired) => number) => single.reduce((s, r) => s + f(r), 0) / single.length / 1000;
    const t = (k: string) => (r: Repaired) => r.evidence.volumes[0].timingsMs[k] ?? 0;
    const wallPerDisk = single.reduce((s, r) => s + r.wall, 0) / single.length;
    console.log(
        `one disk at a time (mean of ${single.length}): ${wallPerDisk.toFixed(2)} s per disk  (target < 2 s: ${wallPerDisk < 2 ? "ok" : "MISSED"})`,
    );
    console.log(
        `  read-only pass: mount ${avg(t("readOnlyMount")).toFixed(3)} s, examine ${avg(t("examine")).toFixed(3)} s, registry ${avg(t("registry")).toFixed(3)} s, unmount ${avg(t("readOnlyUnmount")).toFixed(3)} s`,
    );
    const registry = single[0].evidence.volumes[0].registry;
    if (registry.windowsBuild !== "20348" || registry.bootStartDrivers !== 100)
        throw new Error(`the hives were not read: ${JSON.stringify(registry)}`);
    console.log(
        `  repair pass:    mount ${avg(t("readWriteMount")).toFixed(3)} s, quarantine ${avg(t("quarantine")).toFixed(3)} s, unmount ${avg(t("readWriteUnmount")).toFixed(3)} s`,
    );
    const images = Array.from({ length: PARALLEL }, () => brokenDisk().image);
    const started = process.hrtime.bigint();
    const all = await Promise.all(images.map(repair));
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
        `${PARALLEL} disks in parallel: ${wall.toFixed(2)} s wall, slowest disk ${Math.max(...all.map((r) => r.wall)).toFixed(2)} s  (target < 10 s: ${wall < 10 ? "ok" : "MISSED"})`,
    );
    for (const i of images) fs.rmSync(i, { force: true });
}

main().catch((err) => {
    console.error(`bench-engine: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
