import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startApiFront } from "../../sandbox/api/start";

/** Waits (at most 10 s) until `file` exists. */
async function until(file: string): Promise<void> {
    for (let i = 0; i < 500 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
}

describe("the sandbox's stand-in API front (sandbox/api/front.js)", () => {
    it("answers on the loopback, logs each stand-in call it makes, and on its way out writes the CPU it and its stand-ins spent", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-front-"));
        const world = path.join(dir, "gcloud-world.json");
        fs.writeFileSync(world, JSON.stringify({ instances: {} }));
        const front = startApiFront({ ...process.env, FAKE_GCLOUD_STATE: world, FAKE_GCLOUD_LOG: path.join(dir, "gcloud-calls.log") }, dir);
        try {
            const base = front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE;
            assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\//);
            // Without the stand-in's token the front refuses, as Compute Engine does (401), before any stand-in call.
            const refused = await fetch(`${base}projects/p/zones/z/instances`);
            assert.equal(refused.status, 401);
            const missing = await fetch(base.replace(/\/gcp\/.*$/, "/nowhere"));
            assert.equal(missing.status, 404);
        } finally {
            front.stop();
        }
        const cpuFile = path.join(dir, "api-front-cpu.json");
        await until(cpuFile);
        const cpu = JSON.parse(fs.readFileSync(cpuFile, "utf8")) as { self: number; children: number; requests: number };
        assert.equal(cpu.requests, 2);
        assert.ok(cpu.self > 0 && cpu.children >= 0, JSON.stringify(cpu));
        assert.equal(fs.readFileSync(front.apiLog, "utf8"), "", "no stand-in call was made");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs the stand-in inside its own process: each request one call, logged and spent from the world's budget, and no child process", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-front-"));
        const world = path.join(dir, "gcloud-world.json");
        const log = path.join(dir, "gcloud-calls.log");
        const instance = { status: "RUNNING", zone: "us-central1-a", disks: [{ source: "web-1-boot", boot: true }], serial: "" };
        fs.writeFileSync(world, JSON.stringify({ instances: { "web-1": instance }, disks: {} }));
        fs.writeFileSync(log, "");
        const front = startApiFront({ ...process.env, FAKE_GCLOUD_STATE: world, FAKE_GCLOUD_LOG: log }, dir);
        try {
            const base = front.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE;
            for (let k = 0; k < 5; k++) {
                const r = await fetch(`${base}projects/my-project/zones/us-central1-a/instances/web-1`, {
                    headers: { authorization: "Bearer ya29.stand-in-token" },
                });
                assert.equal(r.status, 200, await r.clone().text());
                assert.equal(((await r.json()) as { status: string }).status, "RUNNING");
            }
            const gone = await fetch(`${base}projects/my-project/zones/us-central1-a/instances/web-9`, {
                headers: { authorization: "Bearer ya29.stand-in-token" },
            });
            assert.equal(gone.status, 404);
        } finally {
            front.stop();
        }
        const cpuFile = path.join(dir, "api-front-cpu.json");
        await until(cpuFile);
        const cpu = JSON.parse(fs.readFileSync(cpuFile, "utf8")) as { self: number; children: number; requests: number };
        assert.equal(cpu.requests, 6);
        // A stand-in process costs tens of ms of CPU, counted here once reaped: none was started.
        assert.equal(cpu.children, 0, JSON.stringify(cpu));
        const apiCalls = fs.readFileSync(front.apiLog, "utf8").trim().split("\n");
        assert.equal(apiCalls.length, 6);
        assert.deepEqual(
            fs
                .readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((l) => (JSON.parse(l) as string[]).slice(0, 4)),
            [
                ...Array.from({ length: 5 }, () => ["compute", "instances", "describe", "web-1"]),
                ["compute", "instances", "describe", "web-9"],
            ],
        );
        const counts = (
            JSON.parse(fs.readFileSync(world, "utf8")) as {
                budget: { counts: Record<string, Record<string, Record<string, { requests: number }>>> };
            }
        ).budget.counts.gcp["my-project/us-central1"];
        assert.equal(counts.read.requests, 6);
        assert.equal(fs.existsSync(`${world}.lock`), false);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
