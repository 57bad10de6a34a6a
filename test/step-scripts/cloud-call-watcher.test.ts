// base.sh's cloud_call against watchers a test controls: the exact lines it logs when a call is to
// be tried again (from the watcher's API answer or after the step's own CLI try), and what it sends
// and does when the watcher that was making its call dies before answering.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StepCall } from "../../components/watcher/types";
import { tempDir } from "../helpers/lab-run";
import { labWatcher } from "../helpers/lab-watcher";
import { ScriptedWatcher, scriptedWatcher } from "../helpers/scripted-watcher";
import { runStep } from "../helpers/step-lab";

const root = path.resolve(__dirname, "../..");

/** The fields of a request line (`verb<TAB>key=value…`). */
function fieldsOf(line: string): Record<string, string> {
    return Object.fromEntries(
        line
            .split("\t")
            .slice(1)
            .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
}

describe("cloud_call (base.sh) against watchers the test controls", function () {
    this.timeout(120_000);
    let watchDir = "";
    let marks = "";
    const cleanups: (() => unknown)[] = [];
    /** Runs `script` after sourcing base.sh, its watcher folder `watchDir` ($M: `marks`), in the lab cloud's scope; ended after the test if still running. */
    const step = (watchDir: string, marks: string, script: string) => {
        const s = runStep(`WATCH_CLOUD=lab WATCH_SCOPE=$'\\tsite=hq'\n${script}`, { M: marks, BOOTLOOP_WATCH_DIR: watchDir });
        cleanups.push(() => s.child.exitCode === null && s.child.signalCode === null && s.child.kill("SIGTERM"));
        return s;
    };
    beforeEach(() => {
        watchDir = path.join(tempDir({}), "w");
        fs.mkdirSync(watchDir, { mode: 0o700 });
        marks = tempDir({});
    });
    afterEach(async () => {
        for (const c of cleanups.splice(0).reverse()) await c();
        // Our own process wrote watcher.pid (the in-process watcher): nothing to stop by it.
        fs.rmSync(path.dirname(watchDir), { recursive: true, force: true });
        fs.rmSync(marks, { recursive: true, force: true });
    });

    describe("the retry log line: one line, the same bytes, whether the watcher made the call or the step ran the CLI", () => {
        let watcher: ScriptedWatcher;

        it("logs each retry with its try and delay, the watcher's error after the API's (empty when it gave none), none after the CLI's", async () => {
            watcher = await scriptedWatcher(watchDir, [
                // The watcher makes `write stop` itself: throttled with the cloud's error, then with none, then done.
                ["api\tcode=1\tqueued=0\terror=Throttling: slow down\tretry=0"],
                ["api\tcode=1\tqueued=0\tretry=0"],
                ["api\tcode=0\tqueued=0\tout=stopped"],
                // The step runs `read list` as its CLI: busy once (the watcher says retry), then done.
                ["go", "retry\tdelay=0"],
                ["go", "ok"],
            ]);
            cleanups.push(watcher.close);
            const once = `[[ -e $M/tried ]] || { touch "$M/tried"; echo "busy, try later" >&2; exit 1; }; echo listed`;
            const r = await step(
                watchDir,
                marks,
                `a=$(cloud_call "write stop" labctl stop m1) && b=$(cloud_call "read list" bash -c '${once}') && printf '%s %s' "$a" "$b"`,
            ).done;
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, "stopped listed");
            assert.equal(
                r.stderr,
                "bootloop-rescue: write stop was throttled or busy (try 1); retrying in 0s: Throttling: slow down\n" +
                    "bootloop-rescue: write stop was throttled or busy (try 2); retrying in 0s: \n" +
                    "bootloop-rescue: read list was throttled or busy (try 1); retrying in 0s\n",
            );
            // The tries as sent: attempts counted, the CLI's error reported to the watcher.
            assert.deepEqual(
                watcher.received.map((c) =>
                    c.map((l) =>
                        l.startsWith("call\t")
                            ? `call attempt=${fieldsOf(l).attempt} op=${fieldsOf(l).op}`
                            : l.split("\t").slice(0, 2).join(" "),
                    ),
                ),
                [
                    ["call attempt=1 op=write stop"],
                    ["call attempt=2 op=write stop"],
                    ["call attempt=3 op=write stop"],
                    ["call attempt=1 op=read list", "done code=1"],
                    ["call attempt=2 op=read list", "done code=0"],
                ],
            );
        });
    });

    describe("a watcher lost mid-call: its successor is told (lost=1) and decides by whether the call may be made twice", () => {
        /**
         * Starts a lab watcher of its own process that never answers a call, runs `verb` through it,
         * and once it is making the call starts a successor in this process (its endpoint replaces
         * the first's) and kills the first. The step's end, the request each saw, and the calls the
         * successor made.
         */
        async function lostMidCall(verb: string, repeatable: boolean) {
            const first = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "test/helpers/lab-watcher.ts", watchDir], {
                cwd: root,
                stdio: ["ignore", "ignore", "pipe"],
            });
            let firstErr = "";
            first.stderr.setEncoding("utf8").on("data", (d: string) => (firstErr += d));
            cleanups.push(() => first.exitCode === null && first.signalCode === null && first.kill("SIGKILL"));
            const until = async (what: string, ready: () => boolean) => {
                for (let i = 0; !ready(); i++) {
                    if (i > 3000 || first.exitCode !== null) throw new Error(`never: ${what} (first watcher: ${firstErr})`);
                    await new Promise((r) => setTimeout(r, 20));
                }
            };
            await until("the first watcher is up", () => fs.existsSync(path.join(watchDir, "endpoint")));
            const s = step(watchDir, marks, `out=$(cloud_call "write ${verb}" labctl ${verb} m1) || exit 7; printf '%s' "$out"`);
            await until("the first watcher is making the call", () => fs.existsSync(path.join(watchDir, "making")));
            const asked: Record<string, string>[] = [];
            let made = 0;
            const second = await labWatcher(watchDir, (call: StepCall) => {
                asked.push({ ...call.fields });
                return {
                    run: (runner) =>
                        runner.api({ cloud: "lab", scope: call.fields.site, op: call.op }, () => Promise.resolve(`made ${++made}`)),
                    repeatable,
                };
            });
            cleanups.push(() => second.close());
            first.kill("SIGKILL");
            const end = await s.done;
            const firstAsked = JSON.parse(fs.readFileSync(path.join(watchDir, "making"), "utf8")) as Record<string, string>;
            return { end, firstAsked, asked, made };
        }

        const sent = (f: Record<string, string>) => ({
            op: f.op,
            attempt: f.attempt,
            command: f.command,
            a0: f.a0,
            a1: f.a1,
            argc: f.argc,
            lost: f.lost,
        });

        it("a repeatable call (a stop) is made again by the successor: the step gets its answer and succeeds", async () => {
            const { end, firstAsked, asked, made } = await lostMidCall("stop", true);
            assert.equal(end.code, 0, end.stderr);
            assert.equal(end.stdout, "made 1");
            assert.deepEqual(sent(firstAsked), {
                op: "write stop",
                attempt: "1",
                command: "labctl",
                a0: "stop",
                a1: "m1",
                argc: "2",
                lost: undefined,
            });
            assert.deepEqual(asked.map(sent), [{ ...sent(firstAsked), lost: "1" }], "the same call, sent again with lost=1");
            assert.equal(made, 1);
        });

        it("a call not to make twice (a reboot) fails the step, its outcome unknown; the successor does not make it", async () => {
            const { end, firstAsked, asked, made } = await lostMidCall("reboot", false);
            assert.equal(end.code, 7, end.stderr);
            assert.equal(end.stdout, "");
            assert.match(
                end.stderr,
                /bootloop-rescue: write reboot failed: the watcher that was making write reboot went away before answering, so whether the cloud took it is not known/,
            );
            assert.equal(firstAsked.lost, undefined);
            assert.deepEqual(asked.map(sent), [{ ...sent(firstAsked), lost: "1" }]);
            assert.equal(made, 0, "not made again");
        });
    });
});
