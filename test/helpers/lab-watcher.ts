// A real watcher (components/watcher/server.ts) of one stand-in cloud, "lab", whose calls the
// watcher makes itself as actions (CloudAction): for tests of a watcher lost mid-call. Started in
// the test's process (`labWatcher`), or as a process of its own that a test can kill mid-call:
//   node -r ts-node/register/transpile-only test/helpers/lab-watcher.ts DIR
// which serves DIR and, for each call, writes DIR/making (the call's fields as JSON), then never answers.
import * as fs from "fs";
import * as path from "path";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CloudAction, CloudWatch, StepCall } from "../../components/watcher/types";
import { serve } from "../../components/watcher/server";
import { Waiter } from "../../components/watcher/waiter";

/** The lab cloud: scope `site`, no observations, every call of `labctl` made by `action`. */
export function labCloud(action: (call: StepCall) => CloudAction | undefined): CloudWatch {
    const rate = { perSecond: 1000, burst: 1000 };
    return {
        cloud: "lab",
        kinds: [],
        scopeOf: (f) => f.site,
        batchKey: (w) => w.fields.site,
        batchSize: () => 1,
        observe: () => Promise.reject(new Error("the lab cloud has nothing to observe")),
        rateClass: () => "default",
        rates: { default: rate },
        transient: () => false,
        throttling: () => false,
        action: (call) => (call.command === "labctl" ? action(call) : undefined),
    };
}

/** Serves the lab cloud from `dir` (writing its endpoint there) until `close()`. */
export async function labWatcher(dir: string, action: (call: StepCall) => CloudAction | undefined): Promise<{ close(): void }> {
    const cloud = labCloud(action);
    const gate = new Gate(new Map([["lab", cloud]]), new Semaphore(2), 1000);
    return serve({
        dir,
        gate,
        waiter: new Waiter(gate, { pollMs: 20, batchWindowMs: 5, blindGraceMs: 1000, backoffCapMs: 50 }),
        // Never idle out: the test closes it (an idle watcher exits its process).
        idleMs: 24 * 3_600_000,
        timeScale: 1000,
    });
}

if (require.main === module) {
    const dir = process.argv[2];
    labWatcher(dir, (call) => ({
        run: (runner) =>
            runner.api({ cloud: "lab", scope: call.fields.site, op: call.op }, () => {
                fs.writeFileSync(path.join(dir, "making"), JSON.stringify(call.fields));
                return new Promise<string>(() => undefined);
            }),
    })).catch((err: unknown) => {
        process.stderr.write(`lab watcher: ${String(err)}\n`);
        process.exit(1);
    });
}
