// jq_node (base.sh) takes its place at the watcher's gate only once its input has ended. Fed by a
// pipeline (`cloud_call … | jq_node …`, as the azure and gcp restore-point lookups were), a helper
// that held a place while the call feeding it waited for one waited for ever; with every place so
// held (8 of 8 in a 300-VM sandbox run), every step and lookup of the runner waited for ever, and
// `pulumi up` hung at its start. Steps against a watcher with ONE place (test/helpers/step-lab.ts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { stepLab } from "../helpers/step-lab";

/** The command names (comm) of a process and all its descendants. */
function commandsUnder(pid: number): string[] {
    const names: string[] = [];
    const pids = [pid];
    for (let i = 0; i < pids.length; i++) {
        try {
            names.push(fs.readFileSync(`/proc/${pids[i]}/comm`, "utf8").trim());
            const kids = fs.readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim();
            if (kids) pids.push(...kids.split(/\s+/).map(Number));
        } catch {
            /* gone */
        }
    }
    return names;
}

describe("jq_node takes a place at the gate only once its input has ended (base.sh)", () => {
    const lab = stepLab();
    const { step, mark, until } = lab;

    it("a jq_node waiting for its pipeline's input holds no place: another step gets the only one meanwhile", async () => {
        // The pipeline's left side ends only when the test says so (or the lab releases its steps after a failure).
        const fed = step(
            `{ until [[ -e $M/input || -e $M/release ]]; do sleep 0.02; done; echo '{"a":"x"}'; } | jq_node 'o.a' >"$M/out"; touch "$M/fed.done"`,
        );
        // Either jq_node reads its input (cat) or its helper already runs (node, holding the place).
        await until("jq_node waits for its input", () => commandsUnder(fed.pid).some((c) => c === "cat" || c === "node"));
        const other = step(`local_slot touch "$M/other.ran"`);
        await until("another step got the only place while jq_node's input was still open", () => mark("other.ran"));
        assert.equal((await other.done).code, 0);
        assert.equal(mark("fed.done"), false, "the pipeline has not ended yet");
        fs.writeFileSync(path.join(lab.marks, "input"), "");
        const end = await fed.done;
        assert.equal(end.code, 0, end.stderr);
        assert.equal(fs.readFileSync(path.join(lab.marks, "out"), "utf8"), "x");
    });

    it("a cloud call piped into jq_node ends with one place, behind a step that held it", async () => {
        const holder = step(`local_slot bash -c 'touch "$M/holds"; until [[ -e $M/release ]]; do sleep 0.02; done'`);
        await until("the first step holds the only place", () => mark("holds"));
        const piped = step(
            `WATCH_CLOUD=aws WATCH_SCOPE=$'\\tregion=us-east-1'; cloud_call "ec2 describe-instances" echo '{"a":[1,2]}' | jq_node 'o.a.length'`,
            { STEP_TIMEOUT_SECONDS: "600" },
        );
        await until("jq_node waits for its input", () => commandsUnder(piped.pid).some((c) => c === "cat" || c === "node"));
        fs.writeFileSync(path.join(lab.marks, "release"), "");
        assert.equal((await holder.done).code, 0);
        // Bounded: a helper holding the place its call waits for would wait for ever.
        let ended = false;
        void piped.done.then(() => (ended = true));
        await until("the piped call and its jq_node ended", () => ended);
        const end = await piped.done;
        assert.equal(end.code, 0, end.stderr);
        assert.equal(end.stdout, "2");
    });

    it("reads empty or blank input as null, and JSON as before", async () => {
        const r = await step(
            `a=$(jq_node 'o === null ? "null" : "not null"' </dev/null); b=$(jq_node 'o === null ? "null" : "not null"' <<<"  "); c=$(jq_node 'o.k' <<<'{"k":{"n":1}}'); echo "$a|$b|$c"`,
        ).done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), 'null|null|{"n":1}');
    });
});
