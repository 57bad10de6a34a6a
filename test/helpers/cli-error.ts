// One assertion of the error a cloud call failed with, as the steps' logs and retries read it.
import { strict as assert } from "assert";
import { CliError } from "../../components/gate/types";

/** Asserts `e` is a CliError whose message matches `message` (a pattern, or the whole text) and which is transient or not, as given. */
export function assertCliError(e: unknown, message: RegExp | string, transient: boolean): asserts e is CliError {
    assert.ok(e instanceof CliError, `not a CliError: ${String(e)}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.transient, transient, `transient: ${e.message}`);
}
