import { strict as assert } from "assert";
import { gcpWatch } from "../../components/gcp/watch";
import { WaitRequest } from "../../components/watcher/types";
import { CliRunner } from "../../components/gate/types";

/** A runner for one RUNNING instance; `serial` is what its port 1 shows from now on. */
function runner(serial: () => string): CliRunner & { ops: string[] } {
    const ops: string[] = [];
    return {
        ops,
        run(call) {
            ops.push(call.op);
            if (call.op === "instances list")
                return Promise.resolve(
                    JSON.stringify([{ name: "web-1", status: "RUNNING", disks: [{ boot: true, source: "x/web-1-fixed" }] }]),
                );
            if (call.op === "instances get-serial-port-output") return Promise.resolve(JSON.stringify({ contents: serial(), next: 10 }));
            return Promise.reject(new Error(`unexpected ${call.op}`));
        },
    };
}

describe("GCP watch: serial port 1 for the boot marker", () => {
    it("past the deadline, serial output read before it is read again at once: a timeout is judged on fresh output only", async () => {
        const now = Date.now();
        const w: WaitRequest = {
            kind: "instance",
            id: "web-1",
            want: "booted",
            fields: { project: "p", zone: "us-central1-a", marker: "Windows is ready" },
            received: now - 10 * 60_000,
            deadline: now + 60_000,
            memo: {},
        };
        let booted = false;
        const cli = runner(() => (booted ? "GCEGuestAgent: Windows is ready\n" : "still booting\n"));
        const serialReads = () => cli.ops.filter((o) => o === "instances get-serial-port-output").length;
        const first = (await gcpWatch.observe([w], cli)).get(w)!;
        assert.equal(first.fields.marker, "missing");
        // Before the deadline, within 75 s: the read is reused, and says when it was seen.
        const reused = (await gcpWatch.observe([w], cli)).get(w)!;
        assert.equal(serialReads(), 1);
        assert.ok(reused.asOf! < w.deadline);
        // The deadline passes (the VM booted meanwhile): the next round reads the port again.
        await new Promise((resolve) => setTimeout(resolve, 5));
        w.deadline = Date.now() - 1;
        booted = true;
        const fresh = (await gcpWatch.observe([w], cli)).get(w)!;
        assert.equal(serialReads(), 2);
        assert.equal(fresh.met, true);
    });
});
