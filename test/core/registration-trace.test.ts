import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { KEPT_REGISTRATION_FRAMES, trimRegistrationTraces } from "../../components/core/registration-trace";

type Frame = { uri?: string; line?: number; column?: number } | undefined;
/** The SDK's own registration stack, as `new Resource` takes it (skipping its own four frames). */
const registrationStack = (): Frame[] => (pulumi.Resource as unknown as { stackTrace(skip: number): Frame[] }).stackTrace(4);

/** Calls `f` from `depth` nested frames of this file (named functions, so every frame has a position). */
function nested<T>(depth: number, f: () => T): T {
    return depth === 0 ? f() : nestedAgain(depth - 1, f);
}
function nestedAgain<T>(depth: number, f: () => T): T {
    return nested(depth, f);
}

describe("registration stacks kept in the state", () => {
    before(() => trimRegistrationTraces());

    it("keep only the frames that declared the resource, however deep the program's call stack", () => {
        // stackTrace(4) from here drops callsites, stackTrace and the three frames after it, as a
        // registration does: the rest is what the engine would keep.
        const deep = nested(40, registrationStack);
        assert.equal(deep.length, KEPT_REGISTRATION_FRAMES);
        for (const frame of deep) assert.match(frame?.uri ?? "", /registration-trace\.test\.ts$/);
    });

    it("leaves every other stack as it was: errors keep their frames and positions", () => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 30;
        try {
            const stack = nested(40, () => new Error("boom").stack ?? "");
            assert.match(stack, /^Error: boom\n/);
            // 40 nested frames deep: all 30 frames V8 was asked for are there, each with its position.
            assert.equal(stack.split("\n").filter((l) => /registration-trace\.test\.ts:\d+:\d+\)?$/.test(l)).length, 30);
        } finally {
            Error.stackTraceLimit = limit;
        }
    });

    it("is installed once, however often it is called", () => {
        const installed = () => Reflect.get(Error, "prepareStackTrace") as unknown;
        const before = installed();
        trimRegistrationTraces();
        assert.equal(installed(), before);
    });
});
