import * as pulumi from "@pulumi/pulumi";
import * as local from "@pulumi/command/local";
import { waveGateName } from "./contract/chain-steps";
import { Wave } from "./contract/plan";
import { VmRecord } from "./vm-chain";
import { STEP_LOGGING } from "./script-text";

/** The status a chain records when its VM cannot be recovered for a reason of its own. */
export const FAILED_STATUS = "failed";

/**
 * The statuses a gate lets pass: the VM is back, or was put back on its original disk at the
 * operator's request. Any other status (failed, unknown: a report that could not be read) counts
 * against the budget: the gate fails closed.
 */
export const PASSING_STATUSES: readonly string[] = ["recovered", "recovered-by-reboot", "rolled-back", "not-swapped"];

/** Failed VMs the gate's environment names (label and reason); the rest are counted (an environment string has 128 KiB at most). */
export const GATE_LISTED_MAX = 50;

/** What a wave gate needs: the wave before it, its VMs' records and ends, and the wave it opens. */
export interface WaveGateArgs {
    /** The wave whose outcomes the gate reads, with its failure budget. */
    previous: Wave;
    /** The records of that wave's VMs (their status and, when failed, the reason). */
    records: readonly VmRecord[];
    /** The resources that end that wave's chains: the gate starts after all of them. */
    ends: readonly pulumi.Resource[];
    /** The wave the gate opens. */
    next: number;
    /** The recovery component (the gate's parent). */
    parent: pulumi.Resource;
    /** Teardown: nothing of the chains runs, so the gate checks nothing and passes (it must never block the rescue fleet's removal). */
    teardown: boolean;
}

/**
 * Declares the gate of wave `next`: a command that runs once every chain of the wave before it
 * ended, reads their statuses and stops the rollout (fails, naming every failed VM) when more of
 * them failed than that wave's budget allows. Within the budget, the next wave starts. Its
 * environment carries the failed VMs only (label and reason), so a wave of thousands that all
 * recovered costs the state a few bytes; an update (a VM retried, a budget raised) checks again.
 */
export function declareWaveGate(args: WaveGateArgs): local.Command {
    const failed = pulumi
        .all(args.records.map((r) => pulumi.all([r.status, r.note ?? pulumi.output("")])))
        .apply((outcomes) =>
            outcomes.flatMap(([status, note], i) =>
                PASSING_STATUSES.includes(status)
                    ? []
                    : [
                          `${oneLine(args.records[i].label)}\t${oneLine(status === FAILED_STATUS ? note : `status ${status || "none"}`).slice(0, 500)}\n`,
                      ],
            ),
        );
    return new local.Command(
        waveGateName(args.next),
        {
            create: "exec node ./components/core/scripts/gate.js",
            environment: {
                WAVE: String(args.previous.wave),
                WAVE_SIZE: String(args.previous.vms.length),
                BUDGET: String(args.previous.failureBudget),
                NEXT_WAVE: String(args.next),
                FAILED_COUNT: failed.apply((lines) => String(lines.length)),
                FAILED: failed.apply((lines) => lines.slice(0, GATE_LISTED_MAX).join("")),
                ...(args.teardown ? { TEARDOWN: "1" } : {}),
            },
            logging: STEP_LOGGING,
        },
        // A new logging choice is no reason to check again; a new budget or outcome is.
        { parent: args.parent, dependsOn: [...args.ends], ignoreChanges: ["logging"] },
    );
}

/** A label or reason on one line of the gate's list. */
function oneLine(text: string): string {
    return text.replace(/[\t\r\n\u2028\u2029]+/g, " ");
}
