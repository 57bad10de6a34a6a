// The watcher's observations through the clouds' APIs, against the fake clouds the real CLIs are
// measured on: run by api-measure.ts inside its network namespace (the clouds' host names point at
// the loopback; NODE_EXTRA_CA_CERTS trusts the fake clouds' certificate; the real `gcloud` and `az`
// mint the tokens, logged in against the fake token endpoints). Each cloud's real `observe`
// (components/<cloud>/watch.ts) runs through the real gate, as in the watcher, on a batch of waits
// whose objects the fake clouds answer for; the answers are the wire format the real CLIs parse, so
// a field our client reads where the API does not put it shows here as a wrong observation.
//
//   node -r ts-node/register/transpile-only bench/cli-cost/api-observe.ts ROUNDS   (prints one JSON line)
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { Fields } from "../../components/gate/types";
import { cloudWatches } from "../../components/registry/watchers";
import { CloudWatch, Observation, WaitRequest } from "../../components/watcher/types";
import { BATCH, IDS } from "./fake-clouds";

/** One batch of waits of one kind, and what each observation must say (the fake clouds' answers). */
export interface Probe {
    cloud: string;
    kind: string;
    waits: WaitRequest[];
    /** The fields each observation must carry, by wait id. */
    expect(w: WaitRequest): Fields;
}

/** What one cloud's probes measured. */
export interface ApiObserveResult {
    cloud: string;
    /** Kinds observed, each a batch of waits. */
    kinds: string[];
    /** API requests per round (every probe of the cloud once). */
    requestsPerRound: number;
    /** CPU of this process per API request, ms (rounds after the first, which also minted the token). */
    cpuMsPerRequest: number;
    /** Wall time per round, ms. */
    wallMsPerRound: number;
    /** CLI processes during the measured rounds (a token minted again would show here). */
    cliCallsMeasured: number;
    /** Observations that were not what the fake clouds answered (empty when every one was). */
    wrong: string[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function wait(kind: string, id: string, want: string, fields: Fields): WaitRequest {
    const now = Date.now();
    // Received long ago and due now: a per-object read (console, serial) is made at once, as at a deadline.
    return { kind, id, want, fields, received: now - 3_600_000, deadline: now, memo: {} };
}

export function probes(): Probe[] {
    const aws = { region: "us-east-1" };
    const instances = range(BATCH).map((i) => `i-0${String(i).padStart(16, "0")}`);
    const volumes = range(BATCH).map((i) => `vol-0${String(i).padStart(16, "0")}`);
    const gcp = { project: IDS.project, zone: "us-central1-a" };
    const vm = (i: number) => `${IDS.group}/providers/Microsoft.Compute/virtualMachines/vm${i}`;
    const azure = { subscription: IDS.subscription };
    return [
        {
            cloud: "aws",
            kind: "instance",
            waits: instances.map((id) => wait("instance", id, "any", { ...aws, device: "/dev/sda1" })),
            expect: (w) => ({ state: "stopped", root: volumes[instances.indexOf(w.id)] }),
        },
        {
            cloud: "aws",
            kind: "status",
            waits: instances.map((id) => wait("status", id, "healthy", { ...aws, marker: "Windows is Ready to use" })),
            // Both checks pass, so the console is read: it shows the boot under way, not the marker.
            expect: () => ({ state: "running", marker: "missing" }),
        },
        {
            cloud: "aws",
            kind: "volume",
            waits: volumes.map((id) => wait("volume", id, "any", aws)),
            expect: () => ({ state: "in-use" }),
        },
        {
            cloud: "gcp",
            kind: "instance",
            waits: range(BATCH).map((i) => wait("instance", `vm${i}`, "booted", { ...gcp, marker: "Windows is ready" })),
            expect: (w) => ({ status: "RUNNING", boot: `${w.id}-boot`, marker: "missing" }),
        },
        {
            cloud: "azure",
            kind: "vm",
            waits: range(BATCH).map((i) => wait("vm", vm(i), "any", azure)),
            expect: () => ({ power: "running", agent: "Ready" }),
        },
    ];
}

/** Where an observation differs from what it must say, or "" when it does not. */
export function wrongness(p: Probe, w: WaitRequest, o: Observation | undefined): string {
    if (!o) return `${p.cloud} ${p.kind} ${w.id}: no observation`;
    if (o.gone) return `${p.cloud} ${p.kind} ${w.id}: gone (${o.gone})`;
    const off = Object.entries(p.expect(w)).filter(([k, v]) => o.fields[k] !== v);
    return off.length
        ? `${p.cloud} ${p.kind} ${w.id}: ${off.map(([k, v]) => `${k} ${JSON.stringify(o.fields[k])}, not ${JSON.stringify(v)}`).join("; ")}`
        : "";
}

async function round(gate: Gate<CloudWatch>, cloud: CloudWatch, list: Probe[], wrong: string[]): Promise<void> {
    for (const p of list) {
        // A fresh memo each round: every round makes the same requests (the per-object reads too).
        const waits = p.waits.map((w) => ({ ...w, memo: {} }));
        const seen = await cloud.observe(waits, gate);
        for (const w of waits) {
            const why = wrongness(p, w, seen.get(w));
            if (why && !wrong.includes(why)) wrong.push(why);
        }
    }
}

/** A cloud whose first round failed: nothing measured. */
function failed(cloud: string, list: Probe[]): ApiObserveResult {
    return {
        cloud,
        kinds: list.map((p) => p.kind),
        requestsPerRound: 0,
        cpuMsPerRequest: NaN,
        wallMsPerRound: 0,
        cliCallsMeasured: 0,
        wrong: [],
    };
}

async function main(): Promise<void> {
    const rounds = Number(process.argv[2]);
    if (!(rounds >= 1)) throw new Error("usage: api-observe.ts ROUNDS");
    // The real gate, its buckets refilled fast enough never to pace a measurement.
    const gate = new Gate(new Map(cloudWatches.map((c) => [c.cloud, c])), new Semaphore(8), { timeScale: 1, rateScale: 1000 });
    const all = probes();
    const out: ApiObserveResult[] = [];
    for (const cloud of cloudWatches) {
        const list = all.filter((p) => p.cloud === cloud.cloud);
        if (list.length === 0) continue;
        const wrong: string[] = [];
        try {
            // The first round loads the client, mints the token, opens the connections: not counted.
            await round(gate, cloud, list, wrong);
        } catch (err) {
            out.push({ ...failed(cloud.cloud, list), wrong: [`observe failed: ${err instanceof Error ? err.message : String(err)}`] });
            continue;
        }
        const requestsBefore = gate.stats.api[cloud.cloud] ?? 0;
        const callsBefore = gate.stats.calls[cloud.cloud] ?? 0;
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        for (let i = 0; i < rounds; i++) await round(gate, cloud, list, wrong);
        const spent = process.cpuUsage(cpu);
        const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
        const requests = (gate.stats.api[cloud.cloud] ?? 0) - requestsBefore;
        out.push({
            cloud: cloud.cloud,
            kinds: list.map((p) => p.kind),
            requestsPerRound: requests / rounds,
            cpuMsPerRequest: requests > 0 ? (spent.user + spent.system) / 1000 / requests : NaN,
            wallMsPerRound: wallMs / rounds,
            cliCallsMeasured: (gate.stats.calls[cloud.cloud] ?? 0) - callsBefore,
            wrong,
        });
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (require.main === module)
    main().then(
        () => process.exit(0),
        (err: unknown) => {
            process.stderr.write(`api-observe: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(1);
        },
    );
