import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApiCostFile } from "../../bench/cli-cost/api-measure";
import { probes, wrongness } from "../../bench/cli-cost/api-observe";
import { fakeCloudsHere } from "../../bench/cli-cost/fake-hosts";

const ROOT = path.resolve(__dirname, "../..");

describe("the watcher's observations through the clouds' APIs, against the fake clouds the real CLIs parse (npm run measure:cli-cost -- --api)", function () {
    this.timeout(300_000);

    it("the fake clouds are set up only inside namespaces of their own: on the machine's network, nothing is mounted over /etc/hosts", async () => {
        const hostsBefore = fs.readFileSync("/etc/hosts", "utf8");
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "fake-hosts-"));
        try {
            await assert.rejects(fakeCloudsHere(work), /besides the loopback; run it inside `unshare -n -m`/);
            assert.equal(fs.readFileSync("/etc/hosts", "utf8"), hostsBefore);
            assert.deepEqual(fs.readdirSync(work), [], "nothing was written");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("every cloud's observe reads what the fake clouds answered over HTTPS at the clouds' own host names, with no CLI process once the token is minted", () => {
        assert.equal(process.getuid?.(), 0, "needs root: unshare -n -m and a bind-mounted /etc/hosts (CI runs as root)");
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "api-cost-")), "api-cost.json");
        // `stub`: stand-ins mint the tokens (CI has no current az); the requests and their answers are the real ones.
        const run = spawnSync(
            "unshare",
            ["-n", "-m", process.execPath, "-r", "ts-node/register/transpile-only", "bench/cli-cost/api-measure.ts", out, "stub", "2"],
            {
                cwd: ROOT,
                encoding: "utf8",
            },
        );
        assert.equal(run.status, 0, run.stderr);
        const file = JSON.parse(fs.readFileSync(out, "utf8")) as ApiCostFile;
        fs.rmSync(path.dirname(out), { recursive: true, force: true });
        assert.match(file.method, /^TOKENS FROM STAND-INS/);
        assert.deepEqual(file.clouds.map((c) => c.cloud).sort(), ["aws", "azure", "gcp"]);
        for (const c of file.clouds) {
            assert.deepEqual(c.wrong, [], c.cloud);
            assert.equal(c.cliCallsMeasured, 0, c.cloud);
            // A batched listing per kind, and the per-object reads (console, serial) of the instances that look booted.
            assert.ok(c.requestsPerRound >= c.kinds.length, `${c.cloud}: ${c.requestsPerRound} requests a round`);
            assert.ok(c.cpuMsPerRequest > 0, `${c.cloud}: ${c.cpuMsPerRequest} ms`);
        }
    });

    it("an observation that differs from the fake clouds' answer, or a gone object, is reported, naming the field", () => {
        const p = probes().find((x) => x.cloud === "aws" && x.kind === "instance")!;
        const w = p.waits[3];
        assert.equal(wrongness(p, w, { met: true, fields: { state: "stopped", root: "vol-00000000000000003" } }), "");
        assert.match(
            wrongness(p, w, { met: true, fields: { state: "running", root: "vol-00000000000000003" } }),
            /state "running", not "stopped"/,
        );
        assert.match(wrongness(p, w, { met: false, fields: {}, gone: "not found" }), /gone \(not found\)/);
        assert.match(wrongness(p, w, undefined), /no observation/);
    });
});
