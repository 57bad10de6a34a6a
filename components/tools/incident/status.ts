// The status page of the incident (components/tools/status): one self-contained HTML file,
// rewritten atomically as the update goes (at most every few seconds, and at once when a VM fails
// or a wave ends) and at its end with the stack's records; in GitHub Actions the same status is
// appended to the job summary at the end.
import { Change, WatchPlan } from "../progress/progress";
import { VmRecordValues } from "../report/render";
import { StatusRecorder, StatusSnapshot, appendJobSummary, writeStatusPage } from "../status";

/** How often the page is rewritten at most while nothing fails and no wave ends (ms). */
export const PAGE_EVERY_MS = 5000;

/** The update's status page, kept as the engine's events come. */
export class IncidentStatus {
    private readonly recorder: StatusRecorder;
    private writtenAt = -Infinity;

    constructor(
        stack: string,
        plan: WatchPlan,
        /** The page's file (absolute). */
        readonly file: string,
        private readonly now: () => number = Date.now,
    ) {
        this.recorder = new StatusRecorder(stack, plan);
    }

    /** Writes the page now. */
    write(): StatusSnapshot {
        const snapshot = this.recorder.snapshot();
        writeStatusPage(this.file, snapshot);
        this.writtenAt = this.now();
        return snapshot;
    }

    /** Takes one engine event; rewrites the page when a VM failed or a wave ended, else at most every {@link PAGE_EVERY_MS}. */
    event(event: unknown): void {
        const changes: Change[] = this.recorder.event(event);
        const urgent = changes.some((c) => c.kind === "failed" || c.kind === "other-failure" || c.kind === "wave-done");
        if (changes.length > 0 && (urgent || this.now() - this.writtenAt >= PAGE_EVERY_MS)) this.write();
    }

    /**
     * The end of the update: the stack's records when it ran to its end, the page written, and the
     * job summary appended when `$GITHUB_STEP_SUMMARY` names a file. Returns the last snapshot and
     * the summary's file, if one was written.
     */
    finish(
        env: Readonly<Record<string, string | undefined>>,
        vms?: Record<string, VmRecordValues>,
    ): { snapshot: StatusSnapshot; summary?: string } {
        if (vms) this.recorder.outputs(vms);
        const snapshot = this.write();
        return { snapshot, summary: appendJobSummary(env, snapshot) };
    }
}
