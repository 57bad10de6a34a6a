import { GATE_QUEUE_ALLOWANCE_SECONDS, stepBudget } from "../../components/core/step-budget";
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { awsCommandLine } from "../../components/aws/scripts";
import { azureCommandLine } from "../../components/azure/scripts";
import { stepLab } from "../helpers/step-lab";

const root = path.resolve(__dirname, "../..");
const sh = (line: string, env: Record<string, string> = {}) =>
    spawnSync("/bin/bash", ["-c", line], { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH!, ...env } });

describe("steps run their scripts by path (components/core/scripts/run.sh)", () => {
    it("runs the text the command line names, from the project folder, and says when it changed since", () => {
        const line = awsCommandLine("swap");
        const ok = sh(line, { AWS_REGION: "us-east-1" });
        assert.equal(ok.status, 1);
        assert.match(ok.stderr, /internal: INSTANCE_ID is not set/, "the swap script itself ran (and refused: no instance given)");
        assert.doesNotMatch(ok.stderr, /running its current text/);
        const stale = sh(line.replace(/ [0-9a-f]{16}$/, " 0000000000000000"), { AWS_REGION: "us-east-1" });
        assert.match(stale.stderr, /aws\/swap: running its current text \(hash [0-9a-f]{16}; the stack recorded 0000000000000000\)/);
        assert.match(stale.stderr, /internal: INSTANCE_ID is not set/);
    });

    it("includes the libraries the line names, and only those", () => {
        assert.match(azureCommandLine("swap"), / vm-lib$/);
        assert.doesNotMatch(azureCommandLine("detach"), /vm-lib/);
    });

    it("one watcher per set of credentials: its folder changes with them, not with the region or the step", () => {
        const dirOf = (env: Record<string, string>) =>
            sh(`source ./components/core/scripts/base.sh; printf '%s' "$watch_dir"`, { HOME: "/nonexistent", ...env }).stdout;
        const plain = dirOf({});
        assert.match(plain, /\/bootloop-rescue-\d+-\d+-\d+$/);
        assert.equal(dirOf({ AWS_REGION: "eu-west-1", BOOTLOOP_TEARDOWN: "1", REBOOT_STATUS: "recovered" }), plain);
        for (const env of [
            { AWS_PROFILE: "prod" },
            { AZURE_CONFIG_DIR: "/x" },
            { CLOUDSDK_CONFIG: "/y" },
            { GOOGLE_APPLICATION_CREDENTIALS: "/z" },
        ] as Record<string, string>[])
            assert.notEqual(dirOf(env), plain, JSON.stringify(env));
        assert.equal(dirOf({ BOOTLOOP_WATCH_DIR: "/run/w" }), "/run/w");
    });

    it("refuses anything but a step's name", () => {
        for (const bad of ["../etc/passwd x", "aws/swap;id x", "aws/../../x y"]) {
            const r = sh(`exec /bin/bash ./components/core/scripts/run.sh ${JSON.stringify(bad.split(" ")[0])} x`);
            assert.equal(r.status, 2, bad);
            assert.match(r.stderr, /run\.sh: not a step/);
        }
    });
});

describe("a watcher restart never fails a step nor grants a lock twice (base.sh with_lock, local_slot)", () => {
    const lab = stepLab();
    const { step, mark, until } = lab;
    /** Whether a step is blocked asking: a connection to the watcher open, or a helper (flock) running. */
    function asking(pid: number): boolean {
        try {
            const fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
            return fds.some((l) => l.startsWith("socket:")) || fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim() !== "";
        } catch {
            return false;
        }
    }
    function killWatcher(): void {
        process.kill(Number(fs.readFileSync(path.join(lab.watchDir, "watcher.pid"), "utf8")), "SIGKILL");
        fs.rmSync(path.join(lab.watchDir, "watcher.pid"));
    }
    const holder = `bash -c 'touch "$M/a.holds"; until [[ -e $M/release ]]; do sleep 0.02; done; touch "$M/a.done"'`;

    // Where there is no flock command (macOS), perl's flock holds the key the same way.
    for (const [how, prelude] of [
        ["flock", ""],
        ["perl", 'lock_fd() { lock_fd_perl "$@"; }\n'],
    ]) {
        it(`with_lock (${how}): the watcher killed while one step holds the key and another waits; the second runs only after the first, neither fails`, async () => {
            const first = step(`${prelude}local_slot true; with_lock "azure-attach vm-1" ${holder}`);
            await until("the first step holds the key", () => mark("a.holds"));
            const second = step(
                `${prelude}with_lock "azure-attach vm-1" bash -c '[[ -e $M/a.done ]] || touch "$M/overlap"; touch "$M/b.ran"'`,
            );
            await until("the second step waits for the key", () => asking(second.pid));
            killWatcher();
            // A new watcher, started by the next step that needs one.
            const other = await step("local_slot true").done;
            assert.equal(other.code, 0, other.stderr);
            assert.ok(fs.existsSync(path.join(lab.watchDir, "watcher.pid")), "a new watcher runs");
            assert.equal(mark("b.ran") || mark("overlap"), false, "the second step did not run while the first holds the key");
            fs.writeFileSync(path.join(lab.marks, "release"), "");
            const [a, b] = await Promise.all([first.done, second.done]);
            assert.equal(a.code, 0, a.stderr);
            assert.equal(b.code, 0, b.stderr);
            assert.ok(mark("b.ran"));
            assert.equal(mark("overlap"), false, "never both at once");
        });
    }

    it("with_lock: a step still waiting for the key at its deadline fails saying so, and never runs its command", async () => {
        const first = step(`with_lock "azure-attach vm-1" ${holder}`);
        await until("the first step holds the key", () => mark("a.holds"));
        const late = await step(`STEP_DEADLINE=$((EPOCHSECONDS + 1)); VM_LABEL=app-01; with_lock "azure-attach vm-1" touch "$M/b.ran"`)
            .done;
        assert.equal(late.code, 1);
        assert.match(late.stderr, /app-01: another step held the lock azure-attach vm-1 until this step's deadline; nothing done/);
        assert.equal(mark("b.ran"), false);
        fs.writeFileSync(path.join(lab.marks, "release"), "");
        assert.equal((await first.done).code, 0);
    });

    it("with_lock: a lock tool that fails is said so, not blamed on another step's lock", async () => {
        fs.mkdirSync(path.join(lab.marks, "bin"));
        fs.writeFileSync(
            path.join(lab.marks, "bin", "flock"),
            '#!/bin/sh\n[ "$1" = --version ] && { echo "flock from util-linux 2.38"; exit 0; }\necho "flock: bad file descriptor" >&2\nexit 64\n',
            { mode: 0o755 },
        );
        const r = await step(`PATH="$M/bin:$PATH"; VM_LABEL=app-01; with_lock "azure-attach vm-1" touch "$M/ran"`).done;
        assert.equal(r.code, 1);
        assert.match(
            r.stderr,
            /app-01: could not take the lock azure-attach vm-1 \(the lock tool failed with status 64, above\); nothing done/,
        );
        assert.doesNotMatch(r.stderr, /another step held/);
        assert.equal(mark("ran"), false);
    });

    it("cloud_call: a call that failed while the watcher went away is tried again through its successor, not failed", async () => {
        // The first try kills the watcher and fails as a throttled call does; the second succeeds.
        const once = `if [[ ! -e $M/tried ]]; then touch "$M/tried"; kill -9 "$(<"$BOOTLOOP_WATCH_DIR/watcher.pid")"; echo "An error occurred (RequestLimitExceeded)" >&2; exit 1; fi; echo fine`;
        const r = await step(
            `WATCH_CLOUD=aws WATCH_SCOPE=$'\\tregion=us-east-1'; out=$(cloud_call "ec2 describe-instances" bash -c '${once}'); [[ $out == fine ]]`,
        ).done;
        assert.equal(r.code, 0, r.stderr);
        assert.ok(mark("tried"));
    });

    it("cloud_call: a watcher that answers and refuses a call fails it at once with the watcher's reason, starting no other watcher", async () => {
        const r = await step(
            `STEP_DEADLINE=$((EPOCHSECONDS + 30)); WATCH_CLOUD=bogus WATCH_SCOPE=$'\\tregion=us-east-1'; cloud_call "ec2 describe-instances" touch "$M/ran"`,
        ).done;
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /ec2 describe-instances was refused by the watcher: /);
        assert.equal(mark("ran"), false);
        assert.equal((r.stderr.match(/went away/g) ?? []).length, 0, r.stderr);
    });

    it("cloud_call: a watcher that dies on every call is not restarted past the step's deadline", async () => {
        const started = Date.now();
        const r = await step(
            `STEP_DEADLINE=$((EPOCHSECONDS + 3)); WATCH_CLOUD=aws WATCH_SCOPE=$'\\tregion=us-east-1'; cloud_call "ec2 describe-instances" bash -c 'kill -9 "$(<"$BOOTLOOP_WATCH_DIR/watcher.pid")"; exit 1'`,
        ).done;
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /ec2 describe-instances: the watcher went away and the step's deadline has passed/);
        assert.ok(Date.now() - started < 120_000, "ends near its deadline, not after an hour");
    });

    it("cloud_call: time queued at the gate moves the step's deadline, so a throttled call queued past the deadline it asked with is still retried", async () => {
        // The only CLI place is held; the call waits ~6 s for it, past its step's 3 s deadline.
        const first = step(`local_slot ${holder}`);
        await until("the first step holds the only place", () => mark("a.holds"));
        const once = `if [[ ! -e $M/tried ]]; then touch "$M/tried"; echo "An error occurred (RequestLimitExceeded)" >&2; exit 1; fi; echo fine`;
        const second = step(
            `STEP_DEADLINE=$((EPOCHSECONDS + 3)); WATCH_CLOUD=aws WATCH_SCOPE=$'\\tregion=us-east-1'; out=$(cloud_call "ec2 describe-instances" bash -c '${once}'); [[ $out == fine ]]`,
        );
        await until("the call waits for a place", () => asking(second.pid));
        await new Promise((r) => setTimeout(r, 6000));
        fs.writeFileSync(path.join(lab.marks, "release"), "");
        const b = await second.done;
        assert.equal(b.code, 0, b.stderr);
        assert.ok(mark("tried"), "the first try was throttled, and retried");
        assert.match(b.stderr, /ec2 describe-instances was throttled or busy \(try 1\); retrying/);
        assert.equal((await first.done).code, 0);
    });

    it("gate_queued: the time a step queued moves its deadline by as much, up to the allowance in all, which Pulumi's customTimeout includes", async () => {
        const r = await step(
            `STEP_DEADLINE=1000; GATE_QUEUE_ALLOWANCE_SECONDS=100; gate_queued $((EPOCHSECONDS - 60)); echo "$STEP_DEADLINE" >&2; gate_queued $((EPOCHSECONDS - 60)); echo "$STEP_DEADLINE" >&2; gate_queued $((EPOCHSECONDS - 60)); echo "$STEP_DEADLINE" >&2`,
        ).done;
        assert.equal(r.code, 0, r.stderr);
        const deadlines = r.stderr.split("\n").filter((l) => /^\d+$/.test(l));
        assert.deepEqual(deadlines, ["1060", "1100", "1100"]);
        assert.match(r.stderr, /waited 100s in all at the watcher's gate; more waiting there counts against its deadline/);
        const base = fs.readFileSync(path.join(root, "components/core/scripts/base.sh"), "utf8");
        assert.equal(
            Number(/^GATE_QUEUE_ALLOWANCE_SECONDS=(\d+)$/m.exec(base)?.[1]),
            GATE_QUEUE_ALLOWANCE_SECONDS,
            "base.sh and step-budget.ts agree",
        );
        const budget = stepBudget([{ bound: "X", what: "a wait", seconds: 60 }]);
        assert.ok(budget.minutes * 60 >= budget.stepTimeoutSeconds + GATE_QUEUE_ALLOWANCE_SECONDS);
    });

    it("local_slot: a step waiting for a place when the watcher dies asks its successor instead of failing", async () => {
        const first = step(`local_slot ${holder}`);
        await until("the first step holds the only place", () => mark("a.holds"));
        const second = step(`local_slot bash -c 'touch "$M/b.ran"'`);
        await until("the second step waits for a place", () => asking(second.pid));
        killWatcher();
        const b = await second.done;
        assert.equal(b.code, 0, b.stderr);
        assert.ok(mark("b.ran"));
        fs.writeFileSync(path.join(lab.marks, "release"), "");
        const a = await first.done;
        assert.equal(a.code, 0, a.stderr);
    });
});
