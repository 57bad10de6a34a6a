// Repair-engine benchmark on real disk images: seconds per disk (mount, repair, unmount) and the
// wall time of 16 disks repaired in parallel. Needs root. Prints figures; it is not a timed test.
//   npm run bench:engine
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { buildImage, requireDiskLab } from "../test/rescue/disk-lab";

const ENGINE = path.resolve(__dirname, "../rescue/repair-disk");
const CS = "Windows/System32/drivers/CrowdStrike";
const PARALLEL = 16;

function brokenDisk() {
    return buildImage("gpt", [
        { kind: "efi", sizeMiB: 8 },
        { kind: "msr", sizeMiB: 8 },
        { kind: "windows", sizeMiB: 64, files: [
            { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:13Z", size: 40960, content: "faulty" },
            { path: `${CS}/C-00000291-00000000-00000033.sys`, mtime: "2024-07-19T05:27:04Z", size: 40960, content: "good" },
        ] },
        { kind: "recovery", sizeMiB: 16 },
    ], 128);
}

function repair(image: string): Promise<{ wall: number; evidence: any }> {
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
        const child = spawn(ENGINE, ["--disk", image], { stdio: ["ignore", "pipe", "ignore"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.on("close", (code) => {
            const wall = Number(process.hrtime.bigint() - started) / 1e9;
            const evidence = JSON.parse(out);
            if (code !== 0 || evidence.outcome !== "repaired") reject(new Error(`${image}: ${evidence.outcome}: ${evidence.message}`));
            else resolve({ wall, evidence });
        });
    });
}

async function main() {
    requireDiskLab();
    console.log(`repair-engine benchmark: GPT disks (EFI, MSR, 64 MiB Windows, Recovery) with one faulty and one good channel file; ${require("os").cpus().length} cores`);
    const single: { wall: number; evidence: any }[] = [];
    for (let i = 0; i < 5; i++) single.push(await repair(brokenDisk().image));
    const avg = (f: (r: any) => number) => single.reduce((s, r) => s + f(r), 0) / single.length / 1000;
    const t = (k: string) => (r: any) => r.evidence.volumes[0].timingsMs[k] ?? 0;
    const wallPerDisk = single.reduce((s, r) => s + r.wall, 0) / single.length;
    console.log(`one disk at a time (mean of ${single.length}): ${wallPerDisk.toFixed(2)} s per disk  (target < 2 s: ${wallPerDisk < 2 ? "ok" : "MISSED"})`);
    console.log(`  read-only pass: mount ${avg(t("readOnlyMount")).toFixed(3)} s, examine ${avg(t("examine")).toFixed(3)} s, unmount ${avg(t("readOnlyUnmount")).toFixed(3)} s`);
    console.log(`  repair pass:    mount ${avg(t("readWriteMount")).toFixed(3)} s, quarantine ${avg(t("quarantine")).toFixed(3)} s, unmount ${avg(t("readWriteUnmount")).toFixed(3)} s`);
    const images = Array.from({ length: PARALLEL }, () => brokenDisk().image);
    const started = process.hrtime.bigint();
    const all = await Promise.all(images.map(repair));
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`${PARALLEL} disks in parallel: ${wall.toFixed(2)} s wall, slowest disk ${Math.max(...all.map((r) => r.wall)).toFixed(2)} s  (target < 10 s: ${wall < 10 ? "ok" : "MISSED"})`);
    for (const i of images) fs.rmSync(i, { force: true });
}

main().catch((err) => {
    console.error(`bench-engine: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
