/**
 * The offline tools register tens of thousands of resources, and Pulumi's SDK takes a stack trace
 * for each (for source positions and promise-leak reports). Through ts-node's source-map support
 * that was three quarters of a plan's time (1,000 VMs: 14 s → 4 s). The offline tools never show
 * those positions, so they switch stack traces off; errors they print are messages, not stacks.
 * Only the commands (cli/) call this: the Pulumi program itself and the tests keep full stack traces.
 */
export function disableStackTraces(): void {
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    Error.stackTraceLimit = 0;
}
