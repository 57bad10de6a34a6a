// The Azure steps' calls the watcher makes itself (components/azure/actions.ts): the exact argv
// shapes the scripts send are taken, any other is left to the CLI; the requests each makes, against
// a local Resource Manager through the real gate (its budget, its error rules).
import { strict as assert } from "assert";
import { azureAction } from "../../components/azure/actions";
import { azureWatch } from "../../components/azure/watch";
import { CliError } from "../../components/gate/types";
import { StepCall } from "../../components/watcher/types";
import { ERRORS, TokenGate, fakeArmForTests } from "./fake-arm";
import { FIXED, SUB } from "./run-script";

const VM = ["--subscription", SUB, "-g", "rg-app", "-n", "app-01"];
const TAIL = ["--output", "json", "--only-show-errors"];
const PATH = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01`;
/** A call as cloud_call sends it (az_json's op: the command's first two words). */
const call = (args: string[], fields: Record<string, string> = { subscription: SUB }): StepCall => ({
    command: "az",
    op: args.slice(0, 2).join(" "),
    args,
    fields: { cloud: "azure", op: args.slice(0, 2).join(" "), ...fields },
});
/** The shapes the scripts send (scripts/vm-lib.sh, reboot.sh, swap.sh, rollback.sh). */
const SHAPES: Record<string, string[]> = {
    restart: ["vm", "restart", ...VM, "--no-wait", ...TAIL],
    start: ["vm", "start", ...VM, "--no-wait", ...TAIL],
    deallocate: ["vm", "deallocate", ...VM, "--no-wait", ...TAIL],
    update: ["vm", "update", ...VM, "--os-disk", FIXED, "--no-wait", ...TAIL],
};

describe("Azure: the steps' calls the watcher makes (components/azure/actions.ts)", () => {
    describe("the shapes it takes", () => {
        it("takes each shape the scripts send", () => {
            for (const [name, args] of Object.entries(SHAPES)) assert.ok(azureAction(call(args)), name);
        });

        it("leaves any other call to the CLI: a flag missing, extra, unknown or moved, another output, a bad value, another command or scope", () => {
            const without = (args: string[], flag: string, values = 1) => {
                const i = args.indexOf(flag);
                return [...args.slice(0, i), ...args.slice(i + 1 + values)];
            };
            const others: [string, StepCall][] = [];
            for (const [name, args] of Object.entries(SHAPES)) {
                const variants: [string, string[]][] = [
                    ["no --no-wait (az would wait)", without(args, "--no-wait", 0)],
                    ["no --subscription", without(args, "--subscription")],
                    ["no -g", without(args, "-g")],
                    ["no --only-show-errors", without(args, "--only-show-errors", 0)],
                    ["--output tsv", args.map((a) => (a === "json" ? "tsv" : a))],
                    ["an extra argument", [...args, "--verbose"]],
                    ["an extra value", [...args, "x"]],
                    ["an unknown flag", [...args.slice(0, 8), "--hibernate", "true", ...args.slice(8)]],
                    ["flags in another order", [args[0], args[1], ...args.slice(4, 6), ...args.slice(2, 4), ...args.slice(6)]],
                    ["--name for -n", args.map((a) => (a === "-n" ? "--name" : a))],
                    ["a group that is no group", args.map((a) => (a === "rg-app" ? "rg/../x" : a))],
                    ["a VM name that is no name", args.map((a) => (a === "app-01" ? "app-01?x" : a))],
                    ["a subscription that is no id", args.map((a) => (a === SUB ? "default" : a))],
                ];
                for (const [what, changed] of variants) others.push([`${name}: ${what}`, call(changed)]);
                others.push([`${name}: another command`, { ...call(args), command: "gcloud" }]);
                others.push([`${name}: another op named`, { ...call(args), op: "vm show" }]);
                others.push([`${name}: another scope`, call(args, { subscription: "99999999-2222-3333-4444-555555555555" })]);
                others.push([`${name}: no scope`, call(args, {})]);
            }
            others.push(["update: no --os-disk", call(["vm", "update", ...VM, "--no-wait", ...TAIL])]);
            others.push(["update: a disk that is no disk id", call(SHAPES.update.map((a) => (a === FIXED ? `${FIXED}/../x` : a)))]);
            others.push(["update: a VM id for a disk", call(SHAPES.update.map((a) => (a === FIXED ? PATH : a)))]);
            others.push(["update: --set", call(["vm", "update", ...VM, "--set", "tags.a=b", "--no-wait", ...TAIL])]);
            others.push(["stop", call(["vm", "stop", ...VM, "--no-wait", ...TAIL])]);
            others.push(["disk update (left to the CLI)", call(["disk", "update", "--ids", FIXED, "--set", "tags.a=b", ...TAIL])]);
            others.push([
                "vm disk attach (left to the CLI)",
                call(["vm", "disk", "attach", ...VM.slice(0, 4), "--vm-name", "app-01", "--name", FIXED, "--lun", "3", ...TAIL]),
            ]);
            for (const [what, c] of others) assert.equal(azureAction(c), undefined, what);
        });
    });

    describe("its requests, against a local Resource Manager", () => {
        let gate: TokenGate;
        const arm = fakeArmForTests((g) => (gate = g));
        const far = () => Date.now() + 600_000;

        it("restart, start, deallocate: one POST each under the step's op (202 Accepted, not waited for); nothing printed", async () => {
            arm.answer = () => ({ status: 202, headers: { "azure-asyncoperation": `${arm.base}/op/1` }, body: undefined });
            for (const verb of ["restart", "start", "deallocate"])
                assert.equal(await azureAction(call(SHAPES[verb]))!.run(gate, far()), "");
            assert.deepEqual(
                gate.apiOps,
                ["vm restart", "vm start", "vm deallocate"],
                "one request each through the gate, under the step's op",
            );
            assert.deepEqual(
                arm.seen.map((r) => [r.method, r.path, [...r.query].join("&"), r.body, r.auth]),
                ["restart", "start", "deallocate"].map((v) => ["POST", `${PATH}/${v}`, "api-version,2024-07-01", "", "Bearer tok-1"]),
            );
            assert.deepEqual(
                gate.cliCalls.map((c) => c.slice(1, 3).join(" ")),
                ["account get-access-token"],
                "the token alone came from az",
            );
        });

        it("update --os-disk: one PATCH of the OS disk's managedDisk.id and name (200, not waited for)", async () => {
            arm.answer = () => ({ status: 200, body: { id: PATH, properties: { provisioningState: "Updating" } } });
            assert.equal(await azureAction(call(SHAPES.update))!.run(gate, far()), "");
            assert.equal(arm.seen.length, 1);
            assert.deepEqual(gate.apiOps, ["vm update"]);
            assert.equal(arm.seen[0].method, "PATCH");
            assert.equal(arm.seen[0].path, PATH);
            assert.equal(arm.seen[0].query.get("api-version"), "2024-07-01");
            assert.deepEqual(JSON.parse(arm.seen[0].body), {
                properties: { storageProfile: { osDisk: { managedDisk: { id: FIXED }, name: "app-01-fixed" } } },
            });
        });

        it("throttled (429) or unavailable (503): a transient CliError naming ARM's code, as the step's log shows it", async () => {
            for (const [answer, code, throttling] of [
                [ERRORS.armThrottled, "SubscriptionRequestsThrottled", true],
                [ERRORS.computeThrottled, "OperationNotAllowed", true],
                [ERRORS.unavailable, "ServiceUnavailable", false],
            ] as const) {
                arm.answer = () => answer;
                const err = await azureAction(call(SHAPES.deallocate))!
                    .run(gate, far())
                    .catch((e: unknown) => e);
                assert.ok(err instanceof CliError && err.transient, String(err));
                assert.match(err.message, new RegExp(`^Status: ${answer.status} [A-Za-z ]+, ${code}: `));
                assert.equal(azureWatch.throttling(err.message), throttling, err.message);
            }
        });

        it("refused (403 AuthorizationFailed, 404 the VM gone): a permanent CliError with ARM's code and message", async () => {
            const refusals = [
                {
                    status: 403,
                    body: {
                        error: {
                            code: "AuthorizationFailed",
                            message:
                                "The client 'x' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/start/action'.",
                        },
                    },
                },
                ERRORS.notFound("app-01"),
            ];
            for (const answer of refusals) {
                arm.answer = () => answer;
                const err = await azureAction(call(SHAPES.start))!
                    .run(gate, far())
                    .catch((e: unknown) => e);
                assert.ok(err instanceof CliError && !err.transient, String(err));
                assert.match(
                    err.message,
                    new RegExp(
                        `^Status: ${answer.status} [A-Za-z ]+, ${answer.body.error.code}: ${answer.body.error.message.slice(0, 20)}`,
                    ),
                );
                assert.doesNotMatch(err.message, /tok-/, "no token in the message");
            }
        });
    });
});
