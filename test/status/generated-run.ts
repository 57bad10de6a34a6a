// A generated run of many VMs for the status page's tests: a plan in the watch's shape, the engine
// events an update of it sends (each VM's steps with start and end times, wave after wave, some
// VMs failing with a reason), and the stack's `vms` output for the VMs that recovered. Deterministic
// (a seeded generator), and with hostile labels and reasons where the test asks for them.
import { ChainStep } from "../../components/core/contract/chain-steps";
import { WatchPlan, WatchedPool } from "../../components/tools/progress/progress";
import { VmRecordValues } from "../../components/tools/report/render";

/** Labels and a reason no page, summary or terminal may act on. */
export const HOSTILE_LABEL = `aws us-east-1/<script>window.__pwned=1</script>"q'&amp;`;
export const HOSTILE_LABEL_2 = 'azure rg/</script><img src=x onerror="window.__pwned=2">';
export const HOSTILE_REASON = "disk said </script><script>window.__pwned=3</script> | [link](http://evil.example) @team \u2028 done";

/** What the generator was asked for. */
export interface GeneratedRunArgs {
    vms: number;
    /** VM indexes that fail, each at its step with its reason. */
    failures: { index: number; step: ChainStep; reason: string }[];
    /** Give VMs 0 and 1 the hostile labels. */
    hostileLabels?: boolean;
    /** VM indexes whose last step reports the VM's own failure (status failed on stdout; the step succeeds). */
    reportedFailures?: { index: number; reason: string; nextStep: string }[];
    /** Stop the events after this many waves (the update still running); all waves by default. */
    waves?: number;
}

/** The generated run. */
export interface GeneratedRun {
    stack: string;
    plan: WatchPlan;
    events: Record<string, unknown>[];
    vms: Record<string, VmRecordValues>;
    /** Steps that started, over all VMs (one bar each on the timeline). */
    steps: number;
    /** The update's length in seconds. */
    seconds: number;
}

const CLOUDS = ["aws", "azure", "gcp"];
const STRATEGY_STEPS: Record<string, ChainStep[]> = {
    repair: ["backup", "scratch", "attach", "repair", "fixed", "swap"],
    reboot: ["reboot"],
    restore: ["restored", "swap"],
};

/** A run of `vms` VMs: a canary wave of 10, then waves of 500. */
export function generatedRun(args: GeneratedRunArgs): GeneratedRun {
    const stack = "gen";
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const failing = new Map(args.failures.map((f) => [f.index, f]));
    const vms = Array.from({ length: args.vms }, (_, i) => {
        const cloud = CLOUDS[i % 3];
        const strategy = i % 10 === 7 ? "reboot" : i % 10 === 8 ? "restore" : "repair";
        const label =
            args.hostileLabels && i === 0
                ? HOSTILE_LABEL
                : args.hostileLabels && i === 1
                  ? HOSTILE_LABEL_2
                  : `${cloud} region-${i % 7}/vm-${String(i).padStart(5, "0")}`;
        return {
            label,
            cloud,
            wave: i < 10 ? 0 : 1 + Math.floor((i - 10) / 500),
            resourceName: `vm-${String(i).padStart(5, "0")}-${(i * 2654435761).toString(16).slice(-8)}`,
            key: `scope-${i % 5}/vm-${String(i).padStart(5, "0")}`,
            strategy,
        };
    });
    const pools: WatchedPool[] = CLOUDS.map((cloud, c) => ({
        cloud,
        scope: `scope-${c}`,
        region: `region-${c}`,
        zone: `zone-${c}a`,
        capacity: 20,
        members: Array.from({ length: Math.ceil(vms.filter((v) => v.cloud === cloud).length / 20) }, (_, n) => ({
            name: `rescue-${cloud}-zone-${c}a-${n}`,
            vms: [],
        })),
    }));
    const resources = [
        ...pools.flatMap((p) => p.members.map((m) => m.name)),
        ...vms.flatMap((v) => STRATEGY_STEPS[v.strategy].map((s) => `${v.resourceName}-${s}`)),
    ];
    const plan: WatchPlan = { vms, resources, rescuePools: pools };

    const start = 1_721_370_000;
    const events: Record<string, unknown>[] = [];
    const urn = (name: string) => `urn:pulumi:${stack}::bootloop-rescue::command:local:Command::${name}`;
    const timed: { at: number; order: number; event: Record<string, unknown> }[] = [];
    let order = 0;
    const at = (t: number, event: Record<string, unknown>) => timed.push({ at: t, order: order++, event });
    for (const p of pools)
        for (const m of p.members) {
            at(start + 1, { resourcePreEvent: { metadata: { op: "create", urn: urn(m.name), type: "aws:ec2/instance:Instance" } } });
            at(start + 40, { resOutputsEvent: { metadata: { op: "create", urn: urn(m.name), type: "aws:ec2/instance:Instance" } } });
        }
    let steps = 0;
    let waveStart = start + 45;
    const records: Record<string, VmRecordValues> = {};
    const waves = [...new Set(vms.map((v) => v.wave))].sort((a, b) => a - b).slice(0, args.waves);
    let end = waveStart;
    for (const wave of waves) {
        let waveEnd = waveStart;
        vms.forEach((v, i) => {
            if (v.wave !== wave) return;
            let t = waveStart + Math.floor(random() * 600);
            const fail = failing.get(i);
            for (const step of STRATEGY_STEPS[v.strategy]) {
                const took =
                    step === "repair"
                        ? 60 + Math.floor(random() * 240)
                        : step === "reboot"
                          ? 300 + Math.floor(random() * 900)
                          : 5 + Math.floor(random() * 90);
                const meta = { op: "create", urn: urn(`${v.resourceName}-${step}`), type: "command:local:Command" };
                at(t, { resourcePreEvent: { metadata: meta } });
                steps++;
                t += took;
                if (fail && fail.step === step) {
                    at(t, { diagnosticEvent: { urn: meta.urn, severity: "error", message: `error: ${fail.reason}\n` } });
                    at(t, { resOpFailedEvent: { metadata: meta, status: 1, steps: 1 } });
                    break;
                }
                const reported = args.reportedFailures?.find((r) => r.index === i);
                const outputs =
                    step === "swap" || step === "reboot"
                        ? {
                              new: {
                                  outputs: {
                                      stdout: JSON.stringify(
                                          reported
                                              ? { status: "failed", reason: reported.reason, nextStep: reported.nextStep }
                                              : { status: "recovered" },
                                      ),
                                  },
                              },
                          }
                        : {};
                at(t, { resOutputsEvent: { metadata: { ...meta, ...outputs } } });
            }
            waveEnd = Math.max(waveEnd, t);
            if (!fail)
                records[v.key] = {
                    key: v.key,
                    cloud: v.cloud,
                    label: v.label,
                    strategy: v.strategy,
                    wave: v.wave,
                    status: v.strategy === "reboot" ? "recovered-by-reboot" : "recovered",
                    evidence:
                        v.strategy === "repair"
                            ? JSON.stringify({ outcome: "repaired", exitCode: 0, message: "ok", durationMs: 1000 })
                            : "",
                    timings: { totalSeconds: 30 },
                };
        });
        waveStart = waveEnd + 5;
        end = waveEnd;
    }
    timed.sort((a, b) => a.at - b.at || a.order - b.order);
    events.push({ sequence: 0, timestamp: start, preludeEvent: { config: {} } });
    for (const t of timed) events.push({ sequence: events.length, timestamp: t.at, ...t.event });
    const all = !args.waves || args.waves >= new Set(vms.map((v) => v.wave)).size;
    if (all) {
        const failed = args.failures.length > 0;
        events.push({
            sequence: events.length,
            timestamp: end + 1,
            summaryEvent: { durationSeconds: end + 1 - start, result: failed ? "failed" : "succeeded" },
        });
        events.push({ sequence: events.length, timestamp: end + 1, cancelEvent: {} });
    }
    return { stack, plan, events, vms: records, steps, seconds: end + 1 - start };
}
