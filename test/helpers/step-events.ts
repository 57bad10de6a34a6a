// A command step's engine events (`pulumi up --json`'s resourcePreEvent and its end), for the
// engine bench's tests that time steps against their customTimeouts and read the gate's queue
// lines from the step's stderr (test/bench/engine-bench.test.ts, test/bench/engine-shards.test.ts).

/** The resource type of every step these events name. */
const COMMAND = "command:local:Command";

/** Builders of one stack's command-step events: `urnPrefix` is the URN up to the step's name (`…::command:local:Command`). */
export interface StepEvents {
    /** The step starts at `at` (its sequence and timestamp), its deadline STEP_TIMEOUT_SECONDS `deadline`, if given. */
    pre: (name: string, at: number, deadline?: number) => Record<string, unknown>;
    /** The step ends at `at`: failed (resOpFailedEvent) or done (resOutputsEvent), with `stderr` in its outputs if given. */
    done: (name: string, at: number, end?: { failed?: boolean; stderr?: string }) => Record<string, unknown>;
}

/** The builders of command-step events under `urnPrefix`. */
export function stepEvents(urnPrefix: string): StepEvents {
    const metadata = (name: string) => ({ op: "create", urn: `${urnPrefix}::${name}`, type: COMMAND });
    return {
        pre: (name, at, deadline) => ({
            sequence: at,
            timestamp: at,
            resourcePreEvent: {
                metadata: {
                    ...metadata(name),
                    new: { inputs: { environment: deadline ? { STEP_TIMEOUT_SECONDS: String(deadline) } : {} } },
                },
            },
        }),
        done: (name, at, end = {}) => ({
            sequence: at,
            timestamp: at,
            [end.failed ? "resOpFailedEvent" : "resOutputsEvent"]: {
                metadata: { ...metadata(name), ...(end.stderr === undefined ? {} : { new: { outputs: { stderr: end.stderr } } }) },
            },
        }),
    };
}
