"use strict";
// A wave gate's check, run by its command (components/core/wave-gate.ts) once every VM of the wave
// before it ended: the rollout goes on while the VMs of that wave recorded failed are within the
// wave's failure budget, and stops (exit 1, naming every failed VM and what to do) beyond it.
// Everything comes from the environment, never as code: WAVE (the wave before), WAVE_SIZE, BUDGET
// (failed VMs allowed), NEXT_WAVE, FAILED_COUNT (VMs of the wave that did not come back, failed or
// of an unknown status), and FAILED, one line for each of the first 50 of them: its label, a tab,
// its reason (labels and reasons are inventory and guest text: printed, never run); TEARDOWN=1
// passes without a check. Prints one JSON report.

const env = process.env;
const whole = (name) => {
    const text = env[name] ?? "";
    if (!/^\d{1,9}$/.test(text)) {
        process.stderr.write(`bootloop-rescue: wave gate: ${name} is ${JSON.stringify(text)}, not a whole number\n`);
        process.exit(2);
    }
    return Number(text);
};
const wave = whole("WAVE");
const size = whole("WAVE_SIZE");
const budget = whole("BUDGET");
const next = whole("NEXT_WAVE");
const count = whole("FAILED_COUNT");
if (env.TEARDOWN === "1") {
    // Teardown runs no chain: nothing to count, and the rescue fleet's removal is never blocked.
    process.stdout.write(JSON.stringify({ wave, size, failed: count, budget, nextWave: next, passed: true, teardown: true }));
    process.exit(0);
}
// Control characters a guest may have put in a reason never reach the terminal.
const clean = (text) => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
const failed = (env.FAILED ?? "")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
        const tab = line.indexOf("\t");
        return tab < 0 ? { vm: clean(line), reason: "" } : { vm: clean(line.slice(0, tab)), reason: clean(line.slice(tab + 1)) };
    });

const report = { wave, size, failed: count, budget, nextWave: next, passed: count <= budget };
if (report.passed) {
    if (count > 0) {
        process.stderr.write(
            `wave ${wave}: ${count} of ${size} VMs failed, within its failure budget of ${budget}; wave ${next} goes on (the failed VMs need a person: npm run report)\n`,
        );
    }
    process.stdout.write(JSON.stringify(report));
    process.exit(0);
}
const shown = failed.map((f) => `  - ${f.vm}${f.reason ? `: ${f.reason}` : ""}`);
if (count > shown.length) shown.push(`  … and ${count - shown.length} more (npm run watch's status page, or the stack's state, lists them all)`);
process.stderr.write(
    [
        `wave ${wave}: ${count} of ${size} VMs failed, over its failure budget of ${budget}: the rollout stops before wave ${next}.`,
        ...shown,
        "Every VM of the waves so far kept its record; nothing of the later waves was changed. Find the cause from the reasons and the evidence (npm run evidence),",
        "then fix what failed and run up again (a VM recorded failed runs again only with retry: raised in its inventory entry), or raise bootloop-rescue:failureBudget, or roll the failed VMs back (bootloop-rescue:rollback).",
    ].join("\n") + "\n",
);
process.stdout.write(JSON.stringify(report));
process.exit(1);
