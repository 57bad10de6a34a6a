// The world files' lock (sandbox/cli/world-lock.js), as the stand-in CLIs and providers take it: a
// live holder's lock is never taken; a stale one (its holder dead, or held past STALE_SECONDS) is
// taken over and counted in the world (world.lockTakeovers), which the benches read to leave their
// budget not checked. No timed assertions: staleness is set up (a dead pid, an old mtime), not waited for.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DiscoveryCliName, standInDir } from "../../sandbox/cli/stand-ins";
import { readWorld, updateWorld } from "../../sandbox/world/world-file";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the plain JavaScript module the stand-in CLIs share
const worldLock = require("../../sandbox/cli/world-lock.js") as {
    STALE_SECONDS: number;
    acquire(lockDir: string): number;
    release(lockDir: string): void;
    isStale(lockDir: string, now?: number): boolean;
};

/** A pid that was a process and is no more. */
function deadPid(): number {
    const r = spawnSync("true");
    assert.equal(r.status, 0);
    return r.pid;
}

describe("sandbox: the world files' lock", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-lock-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A lock folder held by `pid` (none: its pid not written yet), `ageSeconds` old. */
    const heldLock = (file: string, pid: number | undefined, ageSeconds = 0): string => {
        const lock = `${file}.lock`;
        fs.mkdirSync(lock);
        if (pid !== undefined) fs.writeFileSync(path.join(lock, "pid"), String(pid));
        const t = new Date(Date.now() - ageSeconds * 1000);
        fs.utimesSync(lock, t, t);
        return lock;
    };

    it("calls a lock stale only when its holder is dead or it is older than STALE_SECONDS", () => {
        const file = path.join(dir, "w.json");
        const live = heldLock(file, process.pid);
        assert.equal(worldLock.isStale(live), false, "a live holder's lock");
        fs.rmSync(live, { recursive: true });
        const dead = heldLock(file, deadPid());
        assert.equal(worldLock.isStale(dead), true, "a dead holder's lock");
        fs.rmSync(dead, { recursive: true });
        const unwritten = heldLock(file, undefined);
        assert.equal(worldLock.isStale(unwritten), false, "a lock whose pid is not written yet");
        fs.rmSync(unwritten, { recursive: true });
        const old = heldLock(file, process.pid, worldLock.STALE_SECONDS + 5);
        assert.equal(worldLock.isStale(old), true, "a live holder's lock held past STALE_SECONDS");
        fs.rmSync(old, { recursive: true });
        assert.equal(worldLock.isStale(`${file}.lock`), false, "no lock");
    });

    it("takes over a dead holder's lock, says so, and writes its own pid; releases only its own", () => {
        const file = path.join(dir, "w.json");
        const lock = heldLock(file, deadPid());
        assert.equal(worldLock.acquire(lock), 1);
        assert.equal(fs.readFileSync(path.join(lock, "pid"), "utf8"), String(process.pid));
        worldLock.release(lock);
        assert.equal(fs.existsSync(lock), false);
        assert.equal(worldLock.acquire(lock), 0, "a free lock: no takeover");
        worldLock.release(lock);
        // A lock another live process holds now (this one's was taken over) is left to it.
        const other = heldLock(file, process.ppid);
        worldLock.release(other);
        assert.equal(fs.readFileSync(path.join(other, "pid"), "utf8"), String(process.ppid));
        // Only the lock's own folder name may be made: any other failure is an error naming it.
        assert.throws(
            () => worldLock.acquire(path.join(dir, "missing", "w.json.lock")),
            /missing\/w\.json\.lock: the world's lock could not be made/,
        );
    });

    it("a provider's update over a dead holder's lock counts the takeover in the world; a plain update counts none", () => {
        const file = path.join(dir, "w.json");
        fs.writeFileSync(file, JSON.stringify({ n: 0 }));
        updateWorld(file, (w) => (w.n = 1));
        assert.equal(readWorld(file).lockTakeovers, undefined);
        heldLock(file, deadPid());
        updateWorld(file, (w) => (w.n = 2));
        const w = readWorld(file);
        assert.deepEqual([w.n, w.lockTakeovers], [2, 1]);
        assert.equal(fs.existsSync(`${file}.lock`), false);
    });

    it("each stand-in CLI over a dead holder's lock answers, counts the takeover, and leaves no lock", () => {
        const calls: [DiscoveryCliName, string, unknown, string[]][] = [
            [
                "aws",
                "FAKE_AWS",
                { instances: { "i-1": { state: "running", rootDeviceName: "/dev/sda1", blockDevices: {} } }, volumes: {} },
                ["--region", "us-east-1", "ec2", "describe-instances", "--filters", "Name=instance-id,Values=i-1"],
            ],
            [
                "az",
                "FAKE_AZ",
                { vms: { "rg/vm-1": { power: "running", agent: "Ready", osDisk: "d" } }, disks: {} },
                ["vm", "get-instance-view", "-g", "rg", "-n", "vm-1", "--subscription", "11111111-2222-3333-4444-555555555555"],
            ],
            [
                "gcloud",
                "FAKE_GCLOUD",
                {
                    instances: { "web-1": { status: "RUNNING", zone: "us-central1-a", disks: [], serial: "" } },
                    disks: {},
                    projects: [{ projectId: "my-project", projectNumber: "424242424242" }],
                },
                ["compute", "instances", "describe", "web-1", "--zone", "us-central1-a", "--project", "my-project"],
            ],
        ];
        for (const [cli, prefix, world, args] of calls) {
            const file = path.join(dir, `${cli}.json`);
            fs.writeFileSync(file, JSON.stringify(world));
            const env = {
                ...process.env,
                [`${prefix}_STATE`]: file,
                [`${prefix}_LOG`]: path.join(dir, `${cli}.log`),
                BOOTLOOP_TIME_SCALE: "1000000",
            };
            const free = spawnSync(path.join(standInDir(cli), cli), args, { encoding: "utf8", env });
            assert.equal(free.status, 0, `${cli}: ${free.stderr}`);
            assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).lockTakeovers, undefined, cli);
            heldLock(file, deadPid());
            const r = spawnSync(path.join(standInDir(cli), cli), args, { encoding: "utf8", env });
            assert.equal(r.status, 0, `${cli}: ${r.stderr}`);
            assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).lockTakeovers, 1, cli);
            assert.equal(fs.existsSync(`${file}.lock`), false, cli);
        }
    });
});
