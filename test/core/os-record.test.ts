// A VM's guest OS (#31) flows from its inventory entry (`os: linux`) into its record in the stack's
// `vms` output (absent for Windows, the default, so Windows records stay as they were), into the
// report, the watch's failure lines, the status page and its Markdown, and the offline plan.
import { strict as assert } from "assert";
import { planDocument, renderSummary } from "../../components/tools/offline/render";
import { FleetProgress, watchPlanOf } from "../../components/tools/progress/progress";
import { failureLines } from "../../components/tools/progress/render";
import { VmRecordValues, renderReport } from "../../components/tools/report/render";
import { statusMarkdown } from "../../components/tools/status/markdown";
import { StatusRecorder } from "../../components/tools/status/model";
import { statusPageHtml } from "../../components/tools/status/page";
import { labInventory, recordOf, runLab } from "../helpers/lab-run";

/** m1 a Windows guest (no `os:`), m2 a Linux one. */
const INVENTORY = labInventory([{ machine: "m1" }, { machine: "m2" }]).replace(/(machine: m2\n)/, "$1    os: linux\n");

const record = (label: string, os?: string): VmRecordValues => ({
    key: `hq/${label}`,
    cloud: "lab",
    label: `lab hq/${label}`,
    strategy: "repair",
    wave: 0,
    status: "failed",
    note: "the repair found no Linux root",
    nextStep: "look at the evidence",
    ...(os ? { os } : {}),
});

describe("a VM's guest OS in its record, the report, the watch, the status page and the plan", function () {
    this.timeout(120_000);

    it("the record in the vms output carries os: linux for a Linux guest and nothing for a Windows one", async () => {
        const run = await runLab(INVENTORY);
        const [windows, linux] = ["m1", "m2"].map((m) => run.result.plan.vms.find((v) => v.fields.machine === m)!);
        assert.equal(linux.os, "linux");
        const [w, l] = await Promise.all([recordOf(run, windows.key), recordOf(run, linux.key)]);
        assert.equal(l.os, "linux");
        assert.ok(!("os" in w), "a Windows record has no os field (the default): its state is unchanged");

        // The offline plan: the guests counted, a Linux example chain of its own, and os in --json.
        const text = renderSummary(run, "test");
        assert.match(text, /^VMs: 2 \(lab 2\); strategies: repair 2; guests: windows 1, linux 1$/m);
        assert.match(text, /^Steps per VM with strategy repair \(Linux guest\), e\.g\. lab hq\/m2 \(wave \d+\):$/m);
        assert.match(text, /^Steps per VM with strategy repair, e\.g\. lab hq\/m1 \(wave \d+\):$/m);
        const doc = planDocument(run, "test") as { vms: { label: string; os?: string }[] };
        assert.deepEqual(
            doc.vms.map((v) => [v.label, v.os]),
            [
                ["lab hq/m1", undefined],
                ["lab hq/m2", "linux"],
            ],
        );
        const windowsOnly = renderSummary(await runLab(labInventory([{ machine: "m1" }])), "test");
        assert.doesNotMatch(windowsOnly, /guests:|Linux guest/, "a Windows-only plan reads as before");

        // The watch's plan carries it; a failed Linux VM's line is marked.
        const watch = watchPlanOf(run);
        assert.deepEqual(
            watch.vms.map((v) => [v.label, v.os]),
            [
                ["lab hq/m1", undefined],
                ["lab hq/m2", "linux"],
            ],
        );
        const fake = Object.assign(Object.create(FleetProgress.prototype) as FleetProgress, {
            failures: () => watch.vms.map((vm) => ({ vm, step: "repair", reason: "exit 3" })),
            otherFailures: () => [],
        });
        assert.deepEqual(failureLines(fake), [
            "  FAILED lab hq/m1 (wave 0, step repair): exit 3",
            "  FAILED lab hq/m2 (linux) (wave 1, step repair): exit 3",
        ]);
    });

    it("the report, the status page and its Markdown mark a Linux VM's name; a Windows VM's is unmarked", () => {
        const vms = { a: record("win-1"), b: record("lin-1", "linux") };
        const report = renderReport({ vms }, "x", new Date(0));
        assert.match(report, /^\| lab \| lab hq\/lin-1 \(Linux\) \| repair \| failed \|/m);
        assert.match(report, /^\| lab \| lab hq\/win-1 \| repair \| failed \|/m);
        assert.match(report, /^- \*\*lab hq\/lin-1 \(Linux\)\*\* \(lab, wave 0\)/m);
        assert.match(report, /^- \*\*lab hq\/win-1\*\* \(lab, wave 0\)/m);

        const snapshot = StatusRecorder.fromRecords("dev", vms).snapshot(new Date(0));
        assert.deepEqual(
            snapshot.vms.map((v) => [v.label, v.os]),
            [
                ["lab hq/lin-1", "linux"],
                ["lab hq/win-1", undefined],
            ],
        );
        assert.deepEqual(
            snapshot.failures.map((f) => [f.label, f.os]),
            [
                ["lab hq/lin-1", "linux"],
                ["lab hq/win-1", undefined],
            ],
        );
        const page = statusPageHtml(snapshot);
        assert.match(page, /<th scope="row">lab hq\/lin-1 \(linux\)<\/th>/);
        assert.match(page, /<th scope="row">lab hq\/win-1<\/th>/);
        assert.ok(page.includes('"lab hq/lin-1 (linux)"'), "the timeline's row for the Linux VM is marked");
        const markdown = statusMarkdown(snapshot);
        assert.match(markdown, /^- \*\*lab hq\/lin-1 \(linux\)\*\* \(lab, wave 0\)/m);
        assert.match(markdown, /^- \*\*lab hq\/win-1\*\* \(lab, wave 0\)/m);

        // Only the one value marks: any other text in a record's os (a doctored file) shows nothing.
        const odd = renderReport({ vms: { c: record("odd-1", "<b>x</b>") } }, "x", new Date(0));
        assert.doesNotMatch(odd, /<b>|\(Linux\)/);
    });
});
