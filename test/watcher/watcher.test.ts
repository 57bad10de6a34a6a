import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Gate } from "../../components/gate/gate";
import { Semaphore, TokenBucket, backoffMs } from "../../components/gate/limits";
import { parseLine, serve } from "../../components/watcher/server";
import { CloudWatch, Observation, WaitRequest } from "../../components/watcher/types";
import { CliError, CloudRunner } from "../../components/gate/types";
import { Waiter } from "../../components/watcher/waiter";
import { tempDir } from "../helpers/lab-run";

/** A cloud whose observations a test scripts: `state` per id, failures to throw, calls counted. */
function labWatch() {
    const state = new Map<string, string>();
    const calls: string[][] = [];
    let failures: CliError[] = [];
    const slow = { ms: 0 };
    const cloud: CloudWatch = {
        cloud: "lab",
        kinds: ["machine"],
        scopeOf: (f) => f.site,
        batchKey: (w) => w.fields.site,
        batchSize: () => 3,
        async observe(waits: WaitRequest[]) {
            calls.push(waits.map((w) => w.id));
            if (slow.ms > 0) await new Promise((r) => setTimeout(r, slow.ms));
            const f = failures.shift();
            if (f) throw f;
            const seen = new Map<WaitRequest, Observation>();
            for (const w of waits) {
                if (w.id === "gone") throw new CliError(`machine ${w.id} not found`, false);
                const s = state.get(w.id) ?? "off";
                seen.set(w, { met: w.want === "any" || s === w.want, fields: { state: s } });
            }
            return seen;
        },
        rateClass: (op) => (op.startsWith("read") ? "read" : "write"),
        rates: {
            read: { perSecond: 1000, burst: 1000 },
            write: { perSecond: 1000, burst: 1000 },
            default: { perSecond: 1000, burst: 1000 },
        },
        transient: (stderr) => /throttled|busy/.test(stderr),
        throttling: (stderr) => /throttled/.test(stderr),
    };
    return { cloud, state, calls, slow, fail: (...f: CliError[]) => (failures = f) };
}

function waiter(cloud: CloudWatch, pollMs = 30, blindGraceMs = 400) {
    const gate = new Gate(new Map([[cloud.cloud, cloud]]), new Semaphore(4), 1);
    return { gate, waiter: new Waiter(gate, { pollMs, batchWindowMs: 10, blindGraceMs, backoffCapMs: 60 }) };
}

function wait(w: Waiter, id: string, want: string, timeoutMs: number) {
    const now = Date.now();
    return w.wait("lab", { kind: "machine", id, want, fields: { site: "hq" }, received: now, deadline: now + timeoutMs, memo: {} });
}

describe("the watcher (batched waits, limits, wire protocol)", () => {
    it("answers many waiting steps from one call per batch, never one call per VM", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 1000);
        const ids = ["a", "b", "c", "d", "e"];
        const answers = ids.map((id) => wait(w, id, "on", 5000).answer);
        await new Promise((r) => setTimeout(r, 80));
        assert.equal(lab.calls.length, 2, "five waits, one poll: two calls");
        assert.deepEqual(lab.calls[0], ["a", "b", "c"], "batches of the cloud's size");
        assert.deepEqual(lab.calls[1], ["d", "e"]);
        for (const id of ids) lab.state.set(id, "on");
        const got = await Promise.all(answers);
        assert.ok(got.every((a) => a.outcome === "ok" && a.fields.state === "on"));
    });

    it("a poll that could not be made (throttled) never counts against a wait, even past its deadline", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 20, 5000);
        lab.fail(...Array.from({ length: 5 }, () => new CliError("throttled", true)));
        // The state is reached from the start, but the first five polls are throttled, the later
        // ones past the 30 ms deadline (backoff is at least 10 + 20 + 30 ms): whenever the sixth
        // poll comes, it is the first observation made, and it decides. (A state flipped on a
        // timer raced the random backoff and read "off" past the deadline: a timeout, rightly.)
        lab.state.set("a", "on");
        const { answer } = wait(w, "a", "on", 30);
        const got = await answer;
        assert.equal(got.outcome, "ok", "the first observation that could be made decides");
        assert.ok(lab.calls.length >= 6);
    });

    it("times out only on an observation made at or after the deadline that still shows the state unreached", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 40);
        const started = Date.now();
        const got = await wait(w, "a", "on", 100).answer;
        assert.equal(got.outcome, "timeout");
        assert.equal(got.fields.state, "off", "with what the cloud showed");
        assert.ok(Date.now() - started >= 100);
    });

    it("a stale 'not yet' (data seen before the deadline, reused) is no timeout: only a fresh one is", async () => {
        const lab = labWatch();
        const stale = { until: Date.now() + 250 };
        const observe = lab.cloud.observe.bind(lab.cloud);
        // Until `until`, the module reuses a read made at the start (as a console read is reused).
        const readAt = Date.now();
        lab.cloud.observe = async (waits, gate) => {
            const seen = await observe(waits, gate);
            if (Date.now() < stale.until) for (const [w, o] of seen) seen.set(w, { ...o, asOf: readAt });
            return seen;
        };
        const { waiter: w } = waiter(lab.cloud, 20);
        const started = Date.now();
        const got = await wait(w, "a", "on", 60).answer;
        assert.equal(got.outcome, "timeout");
        assert.ok(Date.now() - started >= 240, `judged only once the data was fresh (after ${Date.now() - started} ms)`);
    });

    it("a permanent error of one object fails its wait alone, with the cloud's message", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud);
        lab.state.set("a", "on");
        const [gone, fine] = [wait(w, "gone", "on", 1000).answer, wait(w, "a", "on", 1000).answer];
        assert.deepEqual(await gone, { outcome: "error", fields: { message: "machine gone not found" } });
        assert.equal((await fine).outcome, "ok");
    });

    it("a step that goes away before its group's poll leaves the watcher running and the other steps answered", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 20);
        const crashes: unknown[] = [];
        const record = (reason: unknown) => crashes.push(reason);
        process.on("unhandledRejection", record);
        try {
            // The only wait of its group is withdrawn (a customTimeout, Ctrl-C) before the poll is due.
            wait(w, "a", "on", 1000).cancel();
            await new Promise((r) => setTimeout(r, 60));
            assert.deepEqual(crashes, [], "an emptied group is no error");
            assert.equal(lab.calls.length, 0, "no call for a group nobody waits in");
            assert.equal(w.open, 0);
            // The same group, and an unrelated one, still get answers.
            lab.state.set("b", "on");
            const b = wait(w, "b", "on", 1000);
            const gone = wait(w, "c", "on", 1000);
            gone.cancel();
            assert.equal((await b.answer).outcome, "ok");
            await new Promise((r) => setTimeout(r, 60));
            assert.deepEqual(crashes, []);
        } finally {
            process.off("unhandledRejection", record);
        }
    });

    it("a cloud module whose poll itself throws (a defect) still answers its waits once past the deadline, and keeps the watcher up", async () => {
        const lab = labWatch();
        lab.cloud.batchSize = () => {
            throw new TypeError("defect in the cloud module");
        };
        const { waiter: w } = waiter(lab.cloud, 20, 100);
        const got = await wait(w, "a", "on", 10).answer;
        assert.equal(got.outcome, "error");
        assert.match(got.fields.message, /no observation could be made since the deadline passed .*defect in the cloud module/);
        assert.equal(w.open, 0);
    });

    it("says so when no observation could be made long after the deadline (an error, not a timeout)", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 20, 150);
        lab.fail(...Array.from({ length: 100 }, () => new CliError("An error occurred (throttled)", true)));
        const got = await wait(w, "a", "on", 10).answer;
        assert.equal(got.outcome, "error");
        assert.match(got.fields.message, /no observation could be made since the deadline passed .*throttled/);
    });

    it("a wait that joined while a slow observation ran is not failed as unobservable: it was never tried", async () => {
        const lab = labWatch();
        const { waiter: w } = waiter(lab.cloud, 20, 100);
        lab.slow.ms = 400;
        const first = wait(w, "a", "any", 5000);
        await new Promise((r) => setTimeout(r, 50));
        // A fresh look (`observe`: deadline now), asked while the group's call is under way.
        const late = wait(w, "b", "any", 0);
        lab.slow.ms = 0;
        assert.equal((await first.answer).outcome, "ok");
        const got = await late.answer;
        assert.equal(got.outcome, "ok", JSON.stringify(got));
    });

    it("bounds the CLI processes alive at once, and keeps each scope under its rate", async () => {
        const lab = labWatch();
        lab.cloud.rates.write = { perSecond: 20, burst: 2 };
        const gate = new Gate(new Map([["lab", lab.cloud]]), new Semaphore(3), 1);
        const started = Date.now();
        await Promise.all(
            Array.from({ length: 12 }, () => gate.run({ cloud: "lab", scope: "hq", op: "write x", command: "sleep", args: ["0.05"] })),
        );
        assert.equal(gate.stats.peakProcesses, 3);
        assert.equal(gate.stats.calls.lab, 12);
        assert.ok(Date.now() - started >= 450, "10 calls beyond the burst at 20/s take half a second");
    });

    it("a throttled scope slows down; backoff is jittered and capped", async () => {
        const bucket = new TokenBucket({ perSecond: 100, burst: 1 });
        await bucket.take();
        bucket.slowDown(200);
        const t = Date.now();
        await bucket.take();
        assert.ok(Date.now() - t >= 190, "paused after throttling");
        const delays = Array.from({ length: 50 }, (_, i) => backoffMs(1 + (i % 8), 2000, 60_000));
        assert.ok(delays.every((d) => d >= 1000 && d <= 60_000));
        assert.ok(new Set(delays).size > 10, "jittered");
        assert.ok(backoffMs(20, 2000, 60_000) <= 60_000 && backoffMs(20, 2000, 60_000) >= 30_000);
    });

    describe("wire protocol (loopback, token)", () => {
        const open: { sockets: net.Socket[]; servers: { close(): void }[] } = { sockets: [], servers: [] };
        afterEach(() => {
            for (const socket of open.sockets.splice(0)) socket.destroy();
            for (const s of open.servers.splice(0)) s.close();
        });

        async function server(cloud: CloudWatch, waitScale?: number) {
            const dir = tempDir({});
            const gate = new Gate(new Map([["lab", cloud]]), new Semaphore(2), 1000);
            const s = await serve({
                dir,
                gate,
                waiter: new Waiter(gate, { pollMs: 20, batchWindowMs: 5, blindGraceMs: 1000, backoffCapMs: 50 }),
                idleMs: 60_000,
                timeScale: 1000,
                waitScale,
            });
            const [port, token] = fs.readFileSync(path.join(dir, "endpoint"), "utf8").trim().split(" ");
            assert.equal(fs.statSync(path.join(dir, "endpoint")).mode & 0o777, 0o600, "only the runner's user reads the token");
            const talk = (lines: string[], keepOpen = false) =>
                new Promise<{ answers: string[]; socket: net.Socket }>((resolve) => {
                    const socket = net.connect(Number(port), "127.0.0.1");
                    open.sockets.push(socket);
                    const answers: string[] = [];
                    let buffer = "";
                    socket.setEncoding("utf8");
                    // One line, then the next once the watcher answered (as the steps do).
                    const queue = [...lines];
                    socket.on("data", (d: string) => {
                        buffer += d;
                        const parts = buffer.split("\n");
                        buffer = parts.pop()!;
                        answers.push(...parts);
                        if (parts.length > 0 && queue.length > 0) socket.write(`${queue.shift()}\n`);
                        if (keepOpen && answers.length > 0) resolve({ answers, socket });
                    });
                    socket.on("close", () => resolve({ answers, socket }));
                    socket.write(`${token}\t${queue.shift()}\n`);
                });
            open.servers.push(s);
            return { s, talk, port: Number(port) };
        }

        it("answers with the token, and closes on anyone without it", async () => {
            const { s, talk, port } = await server(labWatch().cloud);
            assert.deepEqual((await talk(["ping"])).answers, ["pong"]);
            const stranger = await new Promise<string>((resolve) => {
                const socket = net.connect(port, "127.0.0.1");
                let got = "";
                socket.on("data", (d) => (got += d.toString()));
                socket.on("close", () => resolve(got));
                socket.write(`${"0".repeat(48)}\tping\n`);
            });
            assert.equal(stranger, "");
            s.close();
        });

        it("a call: `go`, then the step's result decides: retry after a jittered delay, or fail at once", async () => {
            const { s, talk } = await server(labWatch().cloud);
            const future = Date.now() / 1000 + 600;
            const retried = await talk([
                `call\tcloud=lab\top=write x\tattempt=1\tdeadline=${future}`,
                "done\tcode=1\terror=throttled: slow down",
            ]);
            assert.equal(retried.answers[0], "go");
            assert.match(retried.answers[1], /^retry\tdelay=[0-9.]+$/);
            const failed = await talk([`call\tcloud=lab\top=write x\tattempt=1\tdeadline=${future}`, "done\tcode=1\terror=AccessDenied"]);
            assert.deepEqual(failed.answers, ["go", "fail\treason=permanent error"]);
            const late = await talk([
                `call\tcloud=lab\top=write x\tattempt=9\tdeadline=${Date.now() / 1000 - 1}`,
                "done\tcode=1\terror=busy",
            ]);
            assert.match(late.answers[1], /^fail\treason=the step's deadline/);
            // The deadline the step has when its call ended (moved by its time queued at the gate) decides, not the one it asked with.
            const moved = await talk([
                `call\tcloud=lab\top=write x\tattempt=1\tdeadline=${Date.now() / 1000 - 1}`,
                `done\tcode=1\tdeadline=${future}\terror=busy`,
            ]);
            assert.match(moved.answers[1], /^retry\tdelay=[0-9.]+$/);
            s.close();
        });

        it("a call of a shape the cloud knows is made here as API requests: `api` with its output, its retry or its failure", async () => {
            const lab = labWatch();
            const made: string[][] = [];
            const answers: (string | CliError)[] = [
                '{"Stopping":["m1"]}',
                new CliError("throttled: slow down", true),
                new CliError("AccessDenied: no", false),
            ];
            lab.cloud.action = (call) =>
                call.command === "labctl" && call.args[0] === "stop"
                    ? {
                          run: (runner) =>
                              runner.api({ cloud: "lab", scope: call.fields.site, op: call.op }, () => {
                                  made.push([...call.args]);
                                  const a = answers.shift()!;
                                  return a instanceof CliError ? Promise.reject(a) : Promise.resolve(a);
                              }),
                      }
                    : undefined;
            const { s, talk } = await server(lab.cloud);
            const future = Date.now() / 1000 + 600;
            const call = `call\tcloud=lab\top=write stop\tattempt=1\tdeadline=${future}\tsite=hq\tcommand=labctl\ta0=stop\ta1=m1=x\targc=2`;
            assert.deepEqual((await talk([call])).answers, ['api\tcode=0\tqueued=0\tout={"Stopping":["m1"]}']);
            assert.deepEqual(made, [["stop", "m1=x"]], "every argument, '=' kept");
            assert.match((await talk([call])).answers[0], /^api\tcode=1\tqueued=0\terror=throttled: slow down\tretry=[0-9.]+$/);
            assert.deepEqual((await talk([call])).answers, ["api\tcode=1\tqueued=0\terror=AccessDenied: no\treason=permanent error"]);
            assert.equal(lab.calls.length, 0, "no observation was made for a call");
            // A shape it does not know (or a call not sent whole: an argument missing) is the step's to run: `go`.
            assert.deepEqual((await talk([call.replace("a0=stop", "a0=start"), "done\tcode=0"])).answers, ["go", "ok"]);
            assert.deepEqual((await talk([call.replace("\ta1=m1=x", ""), "done\tcode=0"])).answers, ["go", "ok"]);
            assert.equal(made.length, 3);
            s.close();
        });

        it("a call whose answer was lost with a watcher that died making it is made again only when repeatable; else its outcome is unknown", async () => {
            const lab = labWatch();
            let made = 0;
            const action = (repeatable: boolean) => ({
                run: (runner: CloudRunner) =>
                    runner.api({ cloud: "lab", scope: "hq", op: "write stop" }, () => Promise.resolve(String(++made))),
                repeatable,
            });
            lab.cloud.action = (call) => action(call.args[0] === "stop");
            const { s, talk } = await server(lab.cloud);
            const future = Date.now() / 1000 + 600;
            const call = (verb: string) =>
                `call\tcloud=lab\top=write ${verb}\tattempt=2\tdeadline=${future}\tsite=hq\tcommand=labctl\ta0=${verb}\targc=1\tlost=1`;
            assert.deepEqual(
                (await talk([call("stop")])).answers,
                ["api\tcode=0\tqueued=0\tout=1"],
                "a stop made twice changes nothing more",
            );
            const [unknown] = (await talk([call("reboot")])).answers;
            assert.match(
                unknown,
                /^api\tcode=1\tqueued=0\terror=the watcher that was making write reboot went away before answering.*\treason=outcome unknown$/,
            );
            assert.equal(made, 1, "the reboot was not made again");
            // Without the step's deadline, no action: the step runs the CLI (its retries have an end there).
            assert.deepEqual((await talk([call("stop").replace(`deadline=${future}`, "deadline="), "done\tcode=0"])).answers, ["go", "ok"]);
            s.close();
        });

        it("a defect while judging a step's result ends that step's connection with an error, and the watcher serves on", async () => {
            const cloud = labWatch().cloud;
            cloud.transient = () => {
                throw new TypeError("defect in the cloud module");
            };
            const { s, talk } = await server(cloud);
            const future = Date.now() / 1000 + 600;
            const broken = await talk([`call\tcloud=lab\top=write x\tattempt=1\tdeadline=${future}`, "done\tcode=1\terror=boom"]);
            assert.deepEqual(broken.answers, ["go", "error\tmessage=defect in the cloud module"]);
            assert.deepEqual((await talk(["ping"])).answers, ["pong"], "the watcher still answers");
            s.close();
        });

        it("a wait's timeout is the step's, unless a wait scale shortens it (the sandbox's)", async () => {
            const asked = Math.floor(Date.now() / 1000);
            const line = `wait\tcloud=lab\tkind=machine\tid=a\twant=on\tsite=hq\tasked=${asked}\ttimeout=60`;
            const scaled = await server(labWatch().cloud, 60);
            const started = Date.now();
            const answer = (await scaled.talk([line])).answers[0];
            assert.match(answer, /^timeout\b/);
            assert.ok(Date.now() - started < 10_000, "60 s of wait in about one");
            scaled.s.close();
            const plain = await server(labWatch().cloud);
            const pending = plain.talk([line]);
            const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r("still waiting"), 3000))]);
            assert.equal(first, "still waiting");
            plain.s.close();
        });

        it("grants no locks: a restarted watcher could not know their holders (steps lock through the file system)", async () => {
            const { s, talk } = await server(labWatch().cloud);
            assert.deepEqual((await talk(["lock\tkey=rescue-1"])).answers, ["error\tmessage=unknown verb lock"]);
            s.close();
        });

        it("parses and keeps values with '=' in them (evidence, filters)", () => {
            assert.deepEqual(parseLine("t\twait\tid=a\tevidence=gzip-base64:H4sI==\n"), {
                token: "t",
                verb: "wait",
                fields: { id: "a", evidence: "gzip-base64:H4sI==" },
            });
        });
    });
});
