import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { count, duration, headline } from "../../components/tools/status/format";
import { htmlText, scriptJson } from "../../components/tools/status/html-text";
import { appendJobSummary, statusMarkdown } from "../../components/tools/status/markdown";
import { StatusRecorder, StatusSnapshot } from "../../components/tools/status/model";
import { evidenceCommand, shellWord } from "../../components/tools/status/next-step";
import { statusPageHtml, writeStatusPage } from "../../components/tools/status/page";
import { timelineText } from "../../components/tools/status/timeline-text";
import { HOSTILE_LABEL, HOSTILE_LABEL_2, HOSTILE_REASON, generatedRun } from "./generated-run";

/** 13 failures, every one on a repair-strategy VM (index mod 10 below 7), at its repair or swap. */
const FAILURES = Array.from({ length: 13 }, (_, k) => ({
    index: 20 + k * 100 + (k % 5),
    step: k % 2 ? ("repair" as const) : ("swap" as const),
    reason: k === 0 ? HOSTILE_REASON : `reason number ${k}`,
}));

function snapshotOf(run: ReturnType<typeof generatedRun>, withOutputs = true): StatusSnapshot {
    const r = new StatusRecorder(run.stack, run.plan);
    for (const e of run.events) r.event(e);
    if (withOutputs) r.outputs(run.vms);
    return r.snapshot(new Date("2024-07-19T12:00:00Z"));
}

describe("status: numbers and the headline", () => {
    it("formats counts with separators and durations as a person reads them", () => {
        assert.equal(count(1987), "1,987");
        assert.equal(count(2_000_000), "2,000,000");
        assert.equal(duration(11_532), "3 h 12 min");
        assert.equal(duration(725), "12 min 5 s");
        assert.equal(duration(600), "10 min");
        assert.equal(duration(45), "45 s");
        assert.equal(duration(-3), "0 s");
    });

    it("says the run in one sentence: ended, running, not started; singular and plural", () => {
        const base = {
            total: 2000,
            recovered: 1987,
            needPerson: 13,
            inFlight: 0,
            waiting: 0,
            running: false,
            started: true,
            elapsedSeconds: 11_532,
        };
        assert.equal(headline(base), "1,987 of 2,000 VMs recovered in 3 h 12 min; 13 need a person");
        assert.equal(headline({ ...base, recovered: 1999, needPerson: 1 }), "1,999 of 2,000 VMs recovered in 3 h 12 min; 1 needs a person");
        assert.equal(
            headline({ ...base, recovered: 2000, needPerson: 0 }),
            "2,000 of 2,000 VMs recovered in 3 h 12 min; none needs a person",
        );
        assert.equal(
            headline({ ...base, recovered: 412, needPerson: 3, inFlight: 120, waiting: 1465, running: true, elapsedSeconds: 3720 }),
            "412 of 2,000 VMs recovered so far (running 1 h 2 min); 3 need a person; 120 in flight, 1,465 waiting",
        );
        assert.equal(
            headline({ ...base, total: 1, recovered: 0, needPerson: 0, running: true, started: false }),
            "0 of 1 VM recovered: the update has not started yet",
        );
        assert.equal(headline({ ...base, elapsedSeconds: undefined }), "1,987 of 2,000 VMs recovered; 13 need a person");
    });
});

describe("status: the model of a generated 2,000-VM run", () => {
    const run = generatedRun({ vms: 2000, failures: FAILURES, hostileLabels: true });
    const s = snapshotOf(run);

    it("counts every VM once: 1,987 recovered, 13 need a person, per wave and cloud too", () => {
        assert.equal(s.total, 2000);
        assert.deepEqual(s.counts, { waiting: 0, backup: 0, repairing: 0, swapping: 0, recovered: 1987, "needs-person": 13 });
        assert.equal(s.run, "failed");
        assert.equal(s.headline, `1,987 of 2,000 VMs recovered in ${duration(run.seconds)}; 13 need a person`);
        const byWave = s.waves.reduce((n, w) => n + w.clouds.reduce((m, c) => m + c.counts.recovered + c.counts["needs-person"], 0), 0);
        assert.equal(byWave, 2000);
        assert.ok(s.waves.every((w) => w.done));
        assert.equal(s.waves[0].wave, 0);
        assert.equal(s.waves[0].counts.recovered + s.waves[0].counts["needs-person"], 10, "the canary wave holds 10 VMs");
    });

    it("lists each failure with its step, the engine's reason, the next step and where its evidence is", () => {
        assert.equal(s.failures.length, 13);
        for (const f of FAILURES) {
            const vm = run.plan.vms[f.index];
            const listed = s.failures.find((x) => x.key === vm.key);
            assert.ok(listed, vm.label);
            assert.equal(listed.step, f.step);
            assert.ok(listed.reason.includes(f.reason.replace(/\u2028/, "").slice(0, 20)), listed.reason);
            assert.match(listed.nextStep, f.step === "swap" ? /roll the VM back/ : /repair engine stopped/);
            if (f.step === "swap") {
                // The repair ran and ended: its full evidence is in the stack's state.
                assert.equal(listed.evidenceCommand, `npm run evidence -- --stack gen --vm ${vm.key}`);
            } else {
                assert.equal(listed.evidenceCommand, undefined);
                assert.match(listed.evidence, new RegExp(`under the resource ${vm.resourceName}-repair`));
            }
        }
    });

    it("keeps one timeline bar per step that started, with times from the run's start, and the failed one marked", () => {
        assert.equal(
            s.vms.reduce((n, v) => n + v.steps.length, 0),
            run.steps,
        );
        const failed = s.vms.filter((v) => v.steps.some((st) => st.failed));
        assert.equal(failed.length, 13);
        for (const v of s.vms)
            for (const st of v.steps) {
                assert.ok(
                    st.start !== undefined && st.end !== undefined && st.start <= st.end && st.end <= run.seconds,
                    JSON.stringify(st),
                );
            }
        const last = s.recoveries[s.recoveries.length - 1];
        assert.deepEqual([last.recovered, last.needPerson], [1987, 13]);
        assert.ok(
            s.recoveries.every((p, i) => i === 0 || (p.at >= s.recoveries[i - 1].at && p.recovered >= s.recoveries[i - 1].recovered)),
        );
    });

    it("shows the rescue fleet with each rescue VM's state from the events", () => {
        assert.equal(s.fleet.length, 3);
        assert.ok(s.fleet.every((p) => p.members.length > 0 && p.members.every((m) => m.state === "up")));
    });

    it("while the update runs: VMs in flight and waiting, 'so far', and no VM counted unfinished", () => {
        const running = generatedRun({ vms: 2000, failures: FAILURES, waves: 2 });
        const r = new StatusRecorder(running.stack, running.plan);
        for (const e of running.events) r.event(e);
        const now = r.snapshot();
        assert.equal(now.run, "running");
        assert.ok(now.counts.waiting > 0);
        assert.match(
            now.headline,
            /^[\d,]+ of 2,000 VMs recovered so far \(running [^)]+\); \d+ needs? a person; [\d,]+ in flight, [\d,]+ waiting$/,
        );

        // Cut in the middle of a wave: steps started and not ended (drawn up to now), VMs in flight; the page reloads itself.
        const mid = new StatusRecorder(run.stack, run.plan);
        for (const e of run.events.slice(0, Math.floor(run.events.length * 0.6))) mid.event(e);
        const midway = mid.snapshot();
        assert.ok(midway.counts.backup + midway.counts.repairing + midway.counts.swapping > 0, JSON.stringify(midway.counts));
        assert.ok(midway.vms.some((v) => v.steps.some((st) => st.start !== undefined && st.end === undefined)));
        assert.match(statusPageHtml(midway), /<meta http-equiv="refresh" content="30">/);
        assert.doesNotMatch(statusPageHtml(s), /http-equiv="refresh"/);
    });

    it("an update that ended early leaves the VMs it never finished as they were (not failed), and the headline says to run it again", () => {
        const running = generatedRun({ vms: 30, failures: [], waves: 1 });
        const r = new StatusRecorder(running.stack, running.plan);
        for (const e of running.events) r.event(e);
        r.event({ timestamp: 1_721_399_999, cancelEvent: {} });
        const end = r.snapshot();
        assert.equal(end.run, "cancelled");
        assert.equal(end.counts.recovered, 10);
        assert.equal(end.counts["needs-person"], 0);
        assert.equal(end.counts.waiting, 20, "never started: still waiting, nothing wrong with them");
        assert.deepEqual(end.failures, []);
        assert.match(
            end.headline,
            /^10 of 30 VMs recovered in .+; none needs a person; 20 VMs not finished: the update ended before them, run it again to finish them$/,
        );
        const unfinished = end.waves.filter((w) => w.counts.waiting > 0);
        assert.ok(unfinished.length > 0 && unfinished.every((w) => !w.done), "a wave with unfinished VMs is not done");
    });

    it("a VM its chain recorded as failed (its own failure, the fleet went on) needs a person, in its record's words", () => {
        const r = new StatusRecorder(run.stack, run.plan);
        for (const e of run.events) r.event(e);
        const recs = { ...run.vms };
        const vm = run.plan.vms[40];
        recs[vm.key!] = {
            ...recs[vm.key!],
            status: "failed",
            note: "the repair found no Windows installation <b>",
            nextStep: "check the inventory names the right VM",
        };
        r.outputs(recs);
        const after = r.snapshot();
        assert.equal(after.counts["needs-person"], 14);
        const listed = after.failures.find((f) => f.key === vm.key)!;
        assert.equal(listed.reason, "the repair found no Windows installation <b>");
        assert.equal(listed.nextStep, "check the inventory names the right VM");
        assert.equal(listed.evidenceCommand, `npm run evidence -- --stack gen --vm ${vm.key}`);
        assert.ok(statusPageHtml(after).includes("the repair found no Windows installation &#60;b&#62;"));
    });

    it("while it runs, a VM whose last step reported its own failure (status failed on stdout) needs a person at once", () => {
        const reported = generatedRun({
            vms: 30,
            failures: [],
            reportedFailures: [{ index: 12, reason: "the repair found no Windows installation", nextStep: "check the inventory entry" }],
        });
        const r = new StatusRecorder(reported.stack, reported.plan);
        for (const e of reported.events) r.event(e);
        const live = r.snapshot();
        assert.equal(live.counts["needs-person"], 1);
        const f = live.failures[0];
        assert.deepEqual(
            [f.key, f.reason, f.nextStep],
            [reported.plan.vms[12].key, "the repair found no Windows installation", "check the inventory entry"],
        );
        assert.equal(
            f.evidenceCommand,
            `npm run evidence -- --stack gen --vm ${reported.plan.vms[12].key}`,
            "its repair ran: the evidence is in the state",
        );
    });

    it("from the records alone (no events): recovered or needs a person by each record, and no time", () => {
        const recs = { ...run.vms };
        const first = Object.values(recs)[0];
        recs[first.key] = { ...first, status: "rolled-back", note: "runs on its original disk" };
        const only = StatusRecorder.fromRecords("gen", recs).snapshot();
        assert.equal(only.run, "records-only");
        assert.equal(only.total, Object.keys(recs).length);
        assert.equal(only.counts["needs-person"], 1);
        assert.equal(only.elapsedSeconds, undefined);
        assert.equal(only.headline, `${count(only.total - 1)} of ${count(only.total)} VMs recovered; 1 needs a person`);
        assert.match(only.failures[0].nextStep, /safe mode/);
        assert.equal(timelineText(only), undefined);
    });
});

describe("status: hostile text stays text", () => {
    const run = generatedRun({ vms: 40, failures: [{ index: 1, step: "repair", reason: HOSTILE_REASON }], hostileLabels: true });
    const s = snapshotOf(run);

    it("escapes HTML and makes JSON inert inside <script>", () => {
        assert.equal(htmlText(`<a href="x">'&'</a>`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
        const value = { a: "</script><!-- \u2028\u2029 & >" };
        const json = scriptJson(value);
        assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
        assert.deepEqual(JSON.parse(json), value);
    });

    it("the page holds its two script elements and no other: the labels and reasons are text", () => {
        const html = statusPageHtml(s);
        assert.equal(html.match(/<script/gi)?.length, 2, "the timeline's data and the page's script");
        assert.equal(html.match(/<\/script/gi)?.length, 2);
        assert.doesNotMatch(html, /<img/i);
        assert.doesNotMatch(html, /window\.__pwned=1<\/script>/);
        assert.ok(html.includes(`<th scope="row">${htmlText(HOSTILE_LABEL_2)}</th>`), "the failed VM's label is shown, escaped");
        assert.ok(!html.includes(HOSTILE_LABEL) && html.includes(scriptJson(HOSTILE_LABEL)), "the other is in the timeline's JSON, inert");
        assert.doesNotMatch(html, /[\u2028\u2029]/);
        assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
    });

    it("a label with U+2028 in a snapshot made elsewhere parses back from the page's JSON unchanged", () => {
        const odd = { ...s, vms: [{ ...s.vms[0], label: "a\u2028b</script>c" }, ...s.vms.slice(1)] };
        const html = statusPageHtml(odd);
        const data = /<script type="application\/json" id="timeline-data">([^<]*)<\/script>/.exec(html);
        assert.ok(data);
        assert.equal((JSON.parse(data[1]) as { rows: unknown[][] }).rows[0][0], "a\u2028b</script>c");
    });

    it("Markdown: HTML, links, mentions and table pipes from guests are inert; the evidence command is quoted for a shell", () => {
        const md = statusMarkdown(s);
        assert.doesNotMatch(md, /<script|<img|\]\(http|@team/);
        assert.ok(md.includes('**azure rg/&lt;/script&gt;&lt;img src=x onerror="window.\\_\\_pwned=2"&gt;**'), md);
        assert.ok(md.includes("disk said &lt;/script&gt;&lt;script&gt;"), "the reason is shown, escaped");
        assert.ok(md.includes("\\|"), "a pipe in a reason cannot end a table cell");
        assert.equal(shellWord("a b'c"), "'a b'\\''c'");
        assert.equal(evidenceCommand("prod", "us-east-1/i-0123"), "npm run evidence -- --stack prod --vm us-east-1/i-0123");
    });
});

describe("status: files", () => {
    const run = generatedRun({ vms: 20, failures: [] });
    const s = snapshotOf(run);

    it("writes the page atomically (no temporary file left) and replaces the old one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-"));
        const file = path.join(dir, "status.html");
        fs.writeFileSync(file, "old");
        writeStatusPage(file, s);
        assert.match(fs.readFileSync(file, "utf8"), /^<!doctype html>/);
        assert.deepEqual(fs.readdirSync(dir), ["status.html"]);
        fs.rmSync(dir, { recursive: true });
    });

    it("appends the Markdown to $GITHUB_STEP_SUMMARY when it is set, and does nothing when not", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-"));
        const file = path.join(dir, "summary.md");
        fs.writeFileSync(file, "before\n");
        assert.equal(appendJobSummary({ GITHUB_STEP_SUMMARY: file }, s), file);
        const text = fs.readFileSync(file, "utf8");
        assert.ok(text.startsWith("before\n# bootloop-rescue gen: status"));
        assert.ok(text.includes(`**${s.headline}.**`.replace(/[()]/g, (c) => `\\${c}`)) || text.includes(s.headline.replace(/,/g, ",")));
        assert.equal(appendJobSummary({}, s), undefined);
        fs.rmSync(dir, { recursive: true });
    });

    it("the text timeline has one line per wave, numbers and shades only", () => {
        const picture = timelineText(s)!;
        const lines = picture.split("\n");
        assert.equal(lines.length, 1 + s.waves.length + 1);
        assert.match(lines[1], /^wave 0 +[ ░▒▓█x]{48} {2}10\/10 recovered$/);
    });
});
