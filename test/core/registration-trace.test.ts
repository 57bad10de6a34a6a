import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { KEPT_REGISTRATION_FRAMES, PROMISE_STACK_NOT_KEPT, trimRegistrationTraces } from "../../components/core/registration-trace";

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

    it("has the SDK's promises keep one line instead of their stacks, and whole stacks with PULUMI_DEBUG_PROMISE_LEAKS", () => {
        // Each case in a process of its own: the setting is read once, when the trimming is installed.
        const script = `
            require(${JSON.stringify(path.resolve(__dirname, "../../components/core/registration-trace.ts"))}).trimRegistrationTraces();
            const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable");
            const p = Promise.resolve(1);
            function declaredHere() { return debuggablePromise(p, "a test promise"); }
            declaredHere();
            let fault = "";
            try { debuggablePromise({}, "not a promise"); } catch (e) { fault = e.stack; }
            // The thing it took for a promise is no leak of the process's.
            require("@pulumi/pulumi/runtime/state").getStore().leakCandidates.clear();
            process.stdout.write(JSON.stringify({ kept: p._debugStackTrace, error: new Error("boom").stack, fault }));
        `;
        const run = (env: NodeJS.ProcessEnv) => {
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
                cwd: path.resolve(__dirname, "../.."),
                env,
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            return JSON.parse(r.stdout) as { kept: string; error: string; fault: string };
        };
        const plain = { ...process.env };
        delete plain.PULUMI_DEBUG_PROMISE_LEAKS;
        const trimmed = run(plain);
        assert.equal(trimmed.kept, PROMISE_STACK_NOT_KEPT);
        assert.match(trimmed.error, /^Error: boom\n\s+at /, "other stacks are whole");
        assert.match(
            trimmed.fault,
            /^TypeError: .*then.*\n\s+at .*debuggablePromise/,
            "an error thrown inside the SDK's helper keeps its type, message and stack",
        );
        const debugging = run({ ...plain, PULUMI_DEBUG_PROMISE_LEAKS: "1" });
        assert.match(debugging.kept, /^Error\n\s+at .*debuggablePromise/);
        assert.match(debugging.kept, /declaredHere/, "the stack names the code that made the promise");
    });
});
