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
});
