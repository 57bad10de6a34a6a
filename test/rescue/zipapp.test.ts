// The repair engine ships to rescue VMs as one file: a zipapp of rescue/engine/ built by the
// TypeScript side (rescue/zipapp.ts), byte for byte the same from the same sources on every
// machine. Here: what the archive holds, that Python and unzip read it, that it follows its
// sources, and that it runs the same engine as the launcher rescue/repair-disk (a real dry run on
// a disk image, through the hive worker, which the zipapp starts again by its own path).
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineZipapp, packageSources, zipArchive } from "../../rescue/zipapp";
import { ENGINE, LAUNCHER, buildHive, buildImage, requireDiskLab, runEngine, skipDiskLab } from "./disk-lab";

const ENGINE_DIR = path.join(__dirname, "../../rescue/engine");

/** The names in a zip archive, as Python's zipfile reads them (the reader zipimport shares). */
function listing(file: string): { name: string; size: number; date: number[] }[] {
    const script =
        "import json, sys, zipfile\n" +
        "z = zipfile.ZipFile(sys.argv[1])\n" +
        "assert z.testzip() is None\n" +
        "print(json.dumps([{'name': i.filename, 'size': i.file_size, 'date': list(i.date_time)} for i in z.infolist()]))";
    return JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8" }));
}

/** Evidence without what differs from run to run (times, durations). */
function stable(evidence: Record<string, unknown>): unknown {
    return JSON.parse(
        JSON.stringify(evidence, (k, v) => (["startedAt", "finishedAt", "durationMs", "timingsMs"].includes(k) ? undefined : v)),
    );
}

describe("the engine's zipapp (rescue/zipapp.ts)", function () {
    this.timeout(120_000);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "zipapp-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("holds __main__.py and every source of rescue/engine/, nothing else, with fixed dates; Python and unzip read it", () => {
        const file = path.join(dir, "repair-disk");
        fs.writeFileSync(file, engineZipapp(), { mode: 0o755 });
        const entries = listing(file);
        const sources = packageSources(ENGINE_DIR, "engine").map((e) => e.name);
        assert.deepEqual(
            entries.map((e) => e.name),
            ["__main__.py", ...sources],
        );
        assert.ok(sources.includes("engine/cli.py") && sources.includes("engine/windows/ntfs.py"), sources.join(" "));
        assert.ok(!sources.some((s) => /__pycache__|\.pyc$|test/.test(s)), sources.join(" "));
        assert.ok(entries.every((e) => e.date.join(",") === "1980,1,1,0,0,0"));
        assert.equal(
            fs.readFileSync(path.join(ENGINE_DIR, "__main__.py"), "utf8"),
            execFileSync("unzip", ["-p", file, "__main__.py"], { encoding: "utf8" }),
        );
        // What python prints for --help is the engine's own help, run from the archive.
        const help = execFileSync(file, ["--help"], { encoding: "utf8" });
        assert.match(help, /^usage: repair-disk/);
        assert.equal(help, execFileSync(LAUNCHER, ["--help"], { encoding: "utf8" }));
    });

    it("is the same bytes every time, and follows a change of any source", () => {
        assert.ok(engineZipapp().equals(engineZipapp()));
        const copy = path.join(dir, "engine");
        fs.cpSync(ENGINE_DIR, copy, { recursive: true, filter: (src) => !src.includes("__pycache__") });
        assert.ok(engineZipapp(copy).equals(engineZipapp()));
        fs.appendFileSync(path.join(copy, "windows", "ntfs.py"), "\n# changed\n");
        assert.ok(!engineZipapp(copy).equals(engineZipapp()));
    });

    it("refuses names that could leave the archive's folder, and duplicates", () => {
        const data = Buffer.from("x");
        for (const name of ["../x.py", "/abs.py", "a//b.py", "a/./b.py", ""])
            assert.throws(() => zipArchive([{ name, data }]), /zip entry name/, name);
        assert.throws(
            () =>
                zipArchive([
                    { name: "a.py", data },
                    { name: "a.py", data },
                ]),
            /given twice/,
        );
    });

    (skipDiskLab() ? it.skip : it)("runs the same engine as the launcher: the same evidence for a dry run that reads the registry", () => {
        requireDiskLab();
        const img = buildImage(
            "gpt",
            [
                { kind: "efi", sizeMiB: 8 },
                {
                    kind: "windows",
                    sizeMiB: 48,
                    files: [
                        {
                            path: "Windows/System32/drivers/CrowdStrike/C-00000291-00000000-00000032.sys",
                            mtime: "2024-07-19T04:09:30Z",
                            content: "faulty channel file 291",
                        },
                        {
                            path: "Windows/System32/config/SYSTEM",
                            source: buildHive("SYSTEM", {
                                Select: { Current: { dword: 1 } },
                                "ControlSet001\\Services\\CSAgent": { Start: { dword: 0 }, Type: { dword: 1 } },
                            }),
                        },
                    ],
                },
            ],
            64,
        );
        const zipped = runEngine(["--disk", img.image, "--dry-run"], {}, img.image);
        assert.equal(zipped.code, 0, zipped.stderr);
        assert.equal(zipped.evidence.outcome, "would-repair");
        // The hive worker ran from the zipapp (it is started again by the engine's own path).
        assert.equal(zipped.evidence.volumes[0].registry.controlSet, "ControlSet001", JSON.stringify(zipped.evidence.volumes[0].registry));
        const launched = spawnSync(LAUNCHER, ["--disk", img.image, "--dry-run"], { encoding: "utf8" });
        assert.equal(launched.status, 0, launched.stderr);
        assert.deepEqual(stable(JSON.parse(launched.stdout)), stable(zipped.evidence));
        assert.notEqual(ENGINE, LAUNCHER);
    });
});
