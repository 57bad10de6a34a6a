// The engine keeps in the state, for every resource, the program's call stack at the moment the
// resource was registered (`stackTrace`). @pulumi/pulumi's Node.js SDK sends every frame of it: it
// raises Error.stackTraceLimit to Infinity for that one stack. Measured on the real engine, that is
// 0.9–1 KiB per resource, about a fifth of a VM chain's state, written again at every checkpoint.
// Only the frames that declared the resource say anything to a reader (the first is also the
// resource's `sourcePosition`), so the program keeps those and drops the rest.
//
// The SDK also takes a stack for every promise it makes (`debuggablePromise`: three or four per
// Output, an Output per property of every resource) and keeps it as text on the promise, which
// lives as long as its Output: with ts-node's source-map support each one is formatted through
// the source maps. Measured with the real engine at 300 VMs, those texts were 207 MB of the
// program's 630 MB heap (about 0.7 MB per VM), and at 1,000 VMs the program ran out of its 2 GB
// heap (a 7 GB runner's default). They are read only when PULUMI_DEBUG_PROMISE_LEAKS is set (the
// SDK then prints each leaked promise's stack at exit); otherwise the program keeps one line.
// Every other stack in the process (errors included) is left exactly as V8 and the installed
// source-map support make it.

/** Frames of a registration stack the SDK itself takes and drops: callsites, stackTrace, and three constructors. */
const SDK_FRAMES = 5;

/** The program's own frames kept per resource: the one that declared it and its caller. */
export const KEPT_REGISTRATION_FRAMES = 2;

type PrepareStackTrace = (error: Error, stack: NodeJS.CallSite[]) => unknown;

/** Whether V8 is building the stack `Resource.callsites` of @pulumi/pulumi asked for (a registration's). */
export function isRegistrationStack(stack: readonly NodeJS.CallSite[]): boolean {
    const [first, second] = stack;
    const file = first?.getFileName() ?? "";
    return (
        first?.getFunctionName() === "callsites" &&
        second?.getFunctionName() === "stackTrace" &&
        /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/.test(file)
    );
}

/** Whether V8 is building the stack `debuggablePromise` of @pulumi/pulumi takes for a promise it makes. */
export function isDebuggablePromiseStack(stack: readonly NodeJS.CallSite[]): boolean {
    const first = stack[0];
    return (
        first?.getFunctionName() === "debuggablePromise" &&
        /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/.test(first.getFileName() ?? "")
    );
}

/** Whether `error` is what `new Error()` makes: an Error itself (no subclass) without a message. */
function isBareError(error: Error): boolean {
    return Object.getPrototypeOf(error) === Error.prototype && error.message === "";
}

/** What a debuggable promise keeps instead of its stack, unless PULUMI_DEBUG_PROMISE_LEAKS asks for stacks. */
export const PROMISE_STACK_NOT_KEPT = "Error: (the promise's stack is not kept: set PULUMI_DEBUG_PROMISE_LEAKS=1 to keep it)";

/** V8's own text of a stack (what `error.stack` is when nothing is installed). */
function v8Text(error: Error, stack: readonly NodeJS.CallSite[]): string {
    const head = Error.prototype.toString.call(error);
    return stack.length ? `${head}\n    at ${stack.map(String).join("\n    at ")}` : head;
}

let installed = false;

/**
 * Makes the SDK's registration stacks end KEPT_REGISTRATION_FRAMES after its own frames, and its
 * debuggable promises keep one line instead of their stacks (unless PULUMI_DEBUG_PROMISE_LEAKS),
 * for the rest of this process; whatever formats stacks now (ts-node's source-map support) still
 * formats the rest. Idempotent. Call it before the program declares anything.
 */
export function trimRegistrationTraces(): void {
    if (installed) return;
    installed = true;
    // V8 calls it as a method of Error; the wrapper passes that `this` on.
    const previous = Reflect.get(Error, "prepareStackTrace") as PrepareStackTrace | undefined;
    const format: PrepareStackTrace = previous ?? v8Text;
    // Read once, as the SDK reads it (runtime/debuggable.js): set before the program starts.
    const keepPromiseStacks = !!process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    Error.prepareStackTrace = (error: Error, stack: NodeJS.CallSite[]) => {
        // Only the SDK's own `new Error().stack` (a bare Error, no message): an error thrown inside
        // debuggablePromise (an SDK fault) keeps its type, message and stack.
        if (!keepPromiseStacks && isBareError(error) && isDebuggablePromiseStack(stack)) return PROMISE_STACK_NOT_KEPT;
        return format.call(Error, error, isRegistrationStack(stack) ? stack.slice(0, SDK_FRAMES + KEPT_REGISTRATION_FRAMES) : stack);
    };
}
