import { ChainStep, KEPT_DISK_STEPS, SCRATCH_DISK_STEP, chainStepOf } from "../../core/contract/chain-steps";
import { terminalText } from "../display-text";
import type { OfflineRun } from "../offline/run";
import { errorLine } from "./error-line";
import { CloudPreflight, PreflightCli, PreflightFinding, PreflightNeed, PreflightVm, Verdict } from "./types";

/** The chain steps that make a disk (the backup is a snapshot; the other kept steps and the scratch step are disks). */
const DISK_STEPS: readonly ChainStep[] = [SCRATCH_DISK_STEP, ...KEPT_DISK_STEPS.filter((s) => s !== "backup")];

/** Each VM of an offline run with what its chain creates, grouped by cloud. */
export function preflightVms(run: OfflineRun): Map<string, PreflightVm[]> {
    const snapshots = new Map<string, number>();
    const disks = new Map<string, number>();
    for (const r of run.tree) {
        if (r.type.startsWith("command:")) continue;
        const at = chainStepOf(r.name);
        if (at?.step === "backup") snapshots.set(at.stem, (snapshots.get(at.stem) ?? 0) + 1);
        else if (at && DISK_STEPS.includes(at.step)) disks.set(at.stem, (disks.get(at.stem) ?? 0) + 1);
    }
    const capacity = new Map(run.result.plan.rescuePools.flatMap((p) => p.members.map((m) => [m.name, p.capacity] as const)));
    const byCloud = new Map<string, PreflightVm[]>();
    for (const vm of run.result.plan.vms) {
        const list = byCloud.get(vm.cloud) ?? [];
        list.push({
            label: vm.label,
            fields: vm.fields,
            strategy: vm.strategy,
            ...(vm.seat ? { rescue: { member: vm.seat.member, capacity: capacity.get(vm.seat.member) ?? 1 } } : {}),
            snapshots: snapshots.get(vm.slug) ?? 0,
            newDisks: disks.get(vm.slug) ?? 0,
        });
        byCloud.set(vm.cloud, list);
    }
    return byCloud;
}

/**
 * Runs every cloud's checks for its part of the plan, the clouds at once. A cloud whose checks
 * throw (its login is missing, its CLI crashed) gets one `not-checked` finding with the line of the
 * error that says why: the preflight itself never hides a cloud, and never passes one unchecked.
 */
export async function runPreflight(
    clouds: readonly CloudPreflight[],
    needs: ReadonlyMap<string, PreflightNeed>,
    cli: PreflightCli,
): Promise<PreflightFinding[]> {
    const runs = [...needs].map(async ([cloud, need]): Promise<PreflightFinding[]> => {
        const preflight = clouds.find((c) => c.cloud === cloud);
        if (!preflight) return [{ cloud, scope: "", check: "permissions", verdict: "not-checked", message: "this cloud has no preflight" }];
        try {
            return await preflight.check(need, cli);
        } catch (err) {
            return [
                {
                    cloud,
                    scope: "",
                    check: "permissions",
                    verdict: "not-checked",
                    message: `the preflight could not run: ${errorLine(err instanceof Error ? err.message : String(err))}`,
                },
            ];
        }
    });
    return (await Promise.all(runs)).flat();
}

/** How the preflight ends the plan, by name: cleared, a check failed, a check could not be made. */
export type PreflightVerdict = "ok" | "checkFailed" | "notChecked";

/** What the findings add up to: the outcome and the line that says it. */
export interface PreflightOutcome {
    /** `ok` cleared, `checkFailed` a check failed, `notChecked` a check could not be made (and `--allow-skipped` was not given). */
    outcome: PreflightVerdict;
    /** The report's last line. */
    summary: string;
}

/**
 * The preflight's verdict. A failed check wins (`checkFailed`); else a check that could not be
 * made (`notChecked`) unless `allowNotChecked` accepts it; only then is pulumi up cleared (`ok`).
 * The plan command exits with the outcome's code (cli/command/exit-codes.ts: 3, 4, 0). A check that could not be made is never counted as ok.
 */
export function preflightOutcome(findings: readonly PreflightFinding[], options: { allowNotChecked?: boolean } = {}): PreflightOutcome {
    const count = (v: Verdict) => findings.filter((f) => f.verdict === v).length;
    const [ok, warn, fail, notChecked] = [count("ok"), count("warn"), count("fail"), count("not-checked")];
    const unchecked = notChecked > 0 ? `, ${notChecked} not checked` : "";
    const ends = (outcome: PreflightVerdict, summary: string): PreflightOutcome => ({
        outcome,
        summary,
    });
    if (fail > 0)
        return ends(
            "checkFailed",
            `Preflight: ${fail} check(s) failed, ${warn} warning(s)${unchecked}: fix them before pulumi up (the first wave would stop on them).`,
        );
    if (notChecked > 0 && !options.allowNotChecked) {
        return ends(
            "notChecked",
            `Preflight: not checked: ${notChecked} (${ok} ok, ${warn} warning(s)) — pulumi up is not cleared; make the checks possible (each NOT CHECKED line says why), or pass --allow-skipped to accept.`,
        );
    }
    if (notChecked > 0)
        return ends(
            "ok",
            `Preflight: nothing failed (${ok} ok, ${warn} warning(s)); ${notChecked} not checked, accepted by --allow-skipped: pulumi up is cleared only for what was checked.`,
        );
    return ends("ok", `Preflight: nothing blocks pulumi up (${ok} ok, ${warn} warning(s)).`);
}

const MARK: Record<Verdict, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", "not-checked": "NOT CHECKED" };

/** The preflight's report: one line per finding (the clouds' text made terminal-safe), grouped by cloud and check, and the verdict. */
export function renderPreflight(findings: readonly PreflightFinding[], options: { allowNotChecked?: boolean } = {}): string {
    const lines = ["Preflight (read-only calls to the clouds):"];
    const order = ["quota", "tags", "permissions"];
    const sorted = [...findings].sort(
        (a, b) => a.cloud.localeCompare(b.cloud) || order.indexOf(a.check) - order.indexOf(b.check) || a.scope.localeCompare(b.scope),
    );
    for (const f of sorted)
        lines.push(terminalText(`  ${MARK[f.verdict]} ${f.cloud} ${f.check}${f.scope ? ` ${f.scope}` : ""}: ${f.message}`));
    lines.push(preflightOutcome(findings, options).summary);
    return lines.join("\n");
}
