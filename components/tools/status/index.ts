// The status of a run, for the status page, Markdown (a ticket, the GitHub job summary) and the
// report. What the incident command and `npm run watch` call:
//
//   const recorder = new StatusRecorder(stack, watchPlanOf(offlineRun));   // plan: VMs, waves, fleet
//   recorder.event(engineEvent);          // every event of the update, as it comes (returns the watch's Changes)
//   recorder.outputs(vms);                // at the end: the stack's `vms` output, values resolved
//   const snapshot = recorder.snapshot(); // plain JSON
//   writeStatusPage("status.html", snapshot);          // atomic rewrite, any time
//   appendJobSummary(process.env, snapshot);           // at the end, in GitHub Actions
//   statusMarkdown(snapshot);  snapshot.headline;  timelineText(snapshot);
export {
    StatusRecorder,
    StatusSnapshot,
    StatusVm,
    StatusFailure,
    StatusOtherFailure,
    StatusWave,
    StatusPool,
    VM_STATES,
    VmState,
} from "./model";
export { statusPageHtml, writeStatusPage } from "./page";
export { statusMarkdown, appendJobSummary } from "./markdown";
export { timelineText } from "./timeline-text";
export { headline, count, duration } from "./format";
