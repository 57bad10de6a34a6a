import { strict as assert } from "assert";
import * as path from "path";
import { PlannedResource } from "../../components/tools/offline/capture";
import { rebootLogBytes } from "../../components/tools/offline/fleet";
import { REPEAT_PREVIOUS_OUTPUT, scriptHash, scriptText } from "../../components/core/script-text";

/**
 * A command step runs once: a changed script (a new hash in its command line) or environment is an
 * update that only repeats the earlier output. Azure's attach may run again (it is idempotent and
 * changes nothing once attached), so its script text is ignored instead.
 */
export function assertRunsOnce(c: PlannedResource): void {
    if (c.name.endsWith("-attach")) {
        assert.ok(c.ignoreChanges.includes("create"), `${c.name} re-runs on new script text`);
        return;
    }
    assert.equal(c.inputs.update, REPEAT_PREVIOUS_OUTPUT, `${c.name}: an update must only repeat the earlier output`);
    for (const field of ["environment", "interpreter"]) assert.ok(c.ignoreChanges.includes(field), `${c.name} re-diffs its ${field}`);
}

/** The script text a command line (`exec /bin/bash ./components/core/scripts/run.sh CLOUD/NAME HASH [LIB…]`) runs, checked against its hash. */
export function commandLineText(line: string): string {
    const m = /^exec \/bin\/bash \.\/components\/core\/scripts\/run\.sh ([a-z0-9]+)\/([a-z0-9-]+) ([0-9a-f]{16})((?: [a-z0-9-]+)*)$/.exec(
        line,
    );
    assert.ok(m, `not a step command line: ${line}`);
    const text = scriptText(
        path.resolve(__dirname, "..", "..", "components", m[1], "scripts"),
        m[2],
        m[4].trim() ? m[4].trim().split(" ") : [],
    );
    assert.equal(scriptHash(text), m[3], `${line}: the hash is the script's`);
    return text;
}

/**
 * A reboot step's log (kept in state) is what the plan's state estimate counts for it, or a
 * little less: every restart failed, the worst case it estimates.
 */
export function assertLogWithinEstimate(stderr: string, restarts: number, label: string): void {
    const estimate = rebootLogBytes(restarts, label);
    const bytes = Buffer.byteLength(stderr);
    assert.ok(
        bytes <= estimate && bytes >= 0.75 * estimate,
        `the log of ${restarts} failed restarts is ${bytes} bytes; the state estimate counts ${estimate}:\n${stderr}`,
    );
}
