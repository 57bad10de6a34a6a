// A CLI call that hangs (a token helper waiting on a prompt or a network) must not stall its
// scope: the gate kills it, its whole process group, once its time is up (review of the watcher's
// API observations, item 1).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gcpWatch } from "../../components/gcp/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CliError, NoObservationError } from "../../components/gate/types";

/** Whether process `pid` still runs (a zombie, killed and not yet reaped, does not). */
function running(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/^\d+ \(.*\) Z/.test(stat);
    } catch {
        return false;
    }
}

describe("the gate's CLI calls with a time limit", () => {
    const gate = () => new Gate(new Map([["gcp", gcpWatch]]), new Semaphore(2), 1);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-timeout-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a call past its timeoutMs is killed with its children and fails, transient, 'timed out after N s'", async () => {
        const pidFile = path.join(dir, "child.pid");
        const g = gate();
        let err: unknown;
        try {
            await g.run({
                cloud: "gcp",
                scope: "p",
                op: "config config-helper",
                command: "bash",
                args: ["-c", `sleep 300 & echo $! > ${pidFile}; wait`],
                timeoutMs: 500,
            });
        } catch (e) {
            err = e;
        }
        assert.ok(err instanceof CliError, `a CliError, not ${String(err)}`);
        assert.equal(err.message, "bash config config-helper: timed out after 0.5 s (killed)");
        assert.equal(err.transient, true);
        const child = Number(fs.readFileSync(pidFile, "utf8"));
        assert.ok(child > 0);
        // SIGKILL went to the whole group: the grandchild dies with it (reaped by init soon after).
        for (let i = 0; i < 100 && running(child); i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(running(child), false, `the call's child ${child} was left running`);
        assert.equal(g.processes.inUse, 0, "its process place is given back");
    });

    it("a call within its timeoutMs answers as before; without one it is not limited", async () => {
        const g = gate();
        const out = await g.run({ cloud: "gcp", scope: "p", op: "x", command: "bash", args: ["-c", "echo ok"], timeoutMs: 60_000 });
        assert.equal(out, "ok\n");
        assert.equal(await g.run({ cloud: "gcp", scope: "p", op: "x", command: "bash", args: ["-c", "echo fine"] }), "fine\n");
    });

    it("an API request's NoObservationError (no token, TLS) passes the gate as it is, never judged by the cloud's rules", async () => {
        const g = gate();
        const thrown = new NoObservationError("no GCP access token from gcloud (asked for project p): not logged in");
        await assert.rejects(
            g.api({ cloud: "gcp", scope: "p", op: "instances list" }, () => Promise.reject(thrown)),
            (err: unknown) => err === thrown && (err as CliError).transient,
        );
    });
});
