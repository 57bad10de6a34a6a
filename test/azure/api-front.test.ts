// The sandbox's Resource Manager (sandbox/api/azure.js on the API front) against the watcher's own
// client: the same world the stand-in az answers from, the requests logged and spent as its calls,
// its errors in ARM's shape (so the client's error path runs in the script tests and the sandbox).
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ArmClient, armEndpoint } from "../../components/azure/api";
import { ArmTokens } from "../../components/azure/arm-token";
import { azureWatch, useArmClient } from "../../components/azure/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { CliError } from "../../components/gate/types";
import { wait } from "./wait-request";
import { ApiFront, startApiFront } from "../../sandbox/api/start";
import { FIXED, ORIGINAL, RESCUE_ID, SCRATCH, SUB, world } from "./run-script";
import { azureAction } from "../../components/azure/actions";

const AZ = path.join(__dirname, "../../sandbox/cli/azure/az");
const APP = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01`;

/** The real gate; its CLI calls go to the stand-in az on the test's world. */
class StandInGate extends Gate {
    constructor(private readonly env: Record<string, string>) {
        super(new Map([["azure", azureWatch]]), new Semaphore(4), 1000);
    }

    override run(call: { command: string; args: string[] }): Promise<string> {
        assert.equal(call.command, "az");
        return new Promise((resolve, reject) =>
            execFile(process.execPath, [AZ, ...call.args], { env: { ...process.env, ...this.env } }, (err, stdout, stderr) =>
                err ? reject(new CliError(stderr, azureWatch.transient(stderr))) : resolve(stdout),
            ),
        );
    }
}

describe("the sandbox's Resource Manager (sandbox/api/azure.js) answers the watcher's client from the stand-in's world", () => {
    let dir: string;
    let env: Record<string, string>;
    let front: ApiFront;
    let gate: StandInGate;
    const calls = () =>
        fs
            .readFileSync(env.FAKE_AZ_LOG, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as string[]);
    const worldNow = () => JSON.parse(fs.readFileSync(env.FAKE_AZ_STATE, "utf8"));

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "az-front-"));
        env = { FAKE_AZ_STATE: path.join(dir, "world.json"), FAKE_AZ_LOG: path.join(dir, "calls.log") };
        const w = world();
        w.vms["rg-app/rescue-azure-1-0"].dataDisks = { 3: SCRATCH };
        fs.writeFileSync(env.FAKE_AZ_STATE, JSON.stringify(w));
        fs.writeFileSync(env.FAKE_AZ_LOG, "");
        front = startApiFront({ ...process.env, ...env }, dir);
        gate = new StandInGate(env);
        useArmClient(new ArmClient(armEndpoint(front.env), new ArmTokens()));
    });
    afterEach(() => {
        useArmClient(undefined);
        front.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("points the client at the front with ARM's audience; a VM's instance view and a rescue VM's disks come back in ARM's shape", async () => {
        assert.match(front.env.AZURE_RESOURCE_MANAGER_ENDPOINT, /^http:\/\/127\.0\.0\.1:\d+\/azure$/);
        assert.equal(front.env.AZURE_RESOURCE_MANAGER_AUDIENCE, "https://management.azure.com/");
        const vm = wait("vm", APP, "running");
        const disks = wait("data-disks", RESCUE_ID, "attached", { lun: "3", disk: SCRATCH });
        assert.deepEqual((await azureWatch.observe([vm], gate)).get(vm), {
            met: true,
            fields: { power: "running", agent: "none", osdisk: ORIGINAL },
        });
        assert.deepEqual((await azureWatch.observe([disks], gate)).get(disks), { met: true, fields: { atlun: SCRATCH.toLowerCase() } });
        // The stand-in's log shows each request as the CLI call that answers it, one VM each, after one token.
        assert.deepEqual(calls(), [
            [
                "account",
                "get-access-token",
                "--resource",
                "https://management.azure.com/",
                "--subscription",
                SUB,
                "--output",
                "json",
                "--only-show-errors",
            ],
            ["vm", "get-instance-view", "--ids", APP, "--output", "json", "--only-show-errors"],
            ["vm", "show", "--ids", RESCUE_ID, "--output", "json", "--only-show-errors"],
        ]);
        assert.equal(worldNow().tokensIssued, 1);
    });

    it("a VM the world lacks: 404 ResourceNotFound, gone; a scripted throttle: 429 with Retry-After, transient and throttling", async () => {
        const missing = wait("vm", APP.replace("app-01", "app-99"), "running");
        assert.match(
            (await azureWatch.observe([missing], gate)).get(missing)?.gone ?? "",
            /was not found \(Status: 404 Not Found, ResourceNotFound: /,
        );
        fs.writeFileSync(env.FAKE_AZ_STATE, JSON.stringify({ ...worldNow(), throttle: { "vm get-instance-view": 1 } }));
        const err = await azureWatch.observe([wait("vm", APP, "running")], gate).catch((e: unknown) => e);
        assert.ok(err instanceof CliError && err.transient && azureWatch.throttling(err.message), String(err));
        assert.match(err.message, /^Status: 429 Too Many Requests, TooManyRequests: .*\(Retry-After: 1 s\)$/);
        assert.equal((await azureWatch.observe([wait("vm", APP, "running")], gate)).size, 1, "the next look goes through");
    });

    it("refuses a request without the stand-in's token (401 as ARM answers), and a path it does not serve (400), asking the stand-in nothing", async () => {
        const base = front.env.AZURE_RESOURCE_MANAGER_ENDPOINT;
        const anonymous = await fetch(`${base}${APP}?api-version=2024-07-01`);
        assert.equal(anonymous.status, 401);
        assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, "AuthenticationFailed");
        const forged = await fetch(`${base}${APP}?api-version=2024-07-01`, { headers: { authorization: "Bearer not-issued" } });
        assert.equal(forged.status, 401);
        const token = JSON.parse(
            await gate.run({ command: "az", args: ["account", "get-access-token", "--subscription", SUB, "--output", "json"] }),
        ) as { accessToken: string };
        const other = await fetch(
            `${base}/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/d?api-version=2024-07-01`,
            {
                headers: { authorization: `Bearer ${token.accessToken}` },
            },
        );
        assert.equal(other.status, 400);
        const noVersion = await fetch(`${base}${APP}`, { headers: { authorization: `Bearer ${token.accessToken}` } });
        assert.equal(((await noVersion.json()) as { error: { code: string } }).error.code, "MissingApiVersionParameter");
        assert.deepEqual(
            calls().map((c) => c.slice(0, 2).join(" ")),
            ["account get-access-token"],
        );
    });

    describe("the steps' calls the watcher makes (components/azure/actions.ts)", () => {
        const VM = ["--subscription", SUB, "-g", "rg-app", "-n", "app-01"];
        const TAIL = ["--output", "json", "--only-show-errors"];
        const act = (args: string[]) =>
            azureAction({ command: "az", op: args.slice(0, 2).join(" "), args, fields: { subscription: SUB } })!.run(
                gate,
                Date.now() + 600_000,
            );
        const mutating = () => calls().filter((c) => c[0] === "vm" && c[1] !== "get-instance-view" && c[1] !== "show");

        it("deallocate, the OS disk swap, start, restart: each the very az call the script sends, on the same world", async () => {
            const shapes = [
                ["vm", "deallocate", ...VM, "--no-wait", ...TAIL],
                ["vm", "update", ...VM, "--os-disk", FIXED, "--no-wait", ...TAIL],
                ["vm", "start", ...VM, "--no-wait", ...TAIL],
                ["vm", "restart", ...VM, "--no-wait", ...TAIL],
            ];
            assert.equal(await act(shapes[0]), "");
            assert.equal(worldNow().vms["rg-app/app-01"].power, "deallocating");
            // The stand-in deallocates after its stopPolls looks.
            for (let look = 0; look < 5 && worldNow().vms["rg-app/app-01"].power !== "deallocated"; look++)
                await azureWatch.observe([wait("vm", APP, "deallocated")], gate);
            assert.equal(await act(shapes[1]), "");
            assert.equal(worldNow().vms["rg-app/app-01"].osDisk, FIXED);
            assert.equal(await act(shapes[2]), "");
            assert.equal(worldNow().vms["rg-app/app-01"].power, "starting");
            await azureWatch.observe([wait("vm", APP, "running")], gate);
            assert.equal(await act(shapes[3]), "");
            assert.equal(worldNow().vms["rg-app/app-01"].restarts, 1);
            assert.deepEqual(mutating(), shapes);
            const logged = fs
                .readFileSync(front.apiLog, "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as { cli: string; argv: string[] });
            assert.deepEqual(
                logged.filter((l) => shapes.some((s) => s[1] === l.argv[1])),
                shapes.map((argv) => ({ cli: "az", argv })),
                "the front made them",
            );
        });

        it("the world's refusals come back in ARM's shape: a swap of a running VM (409 OperationNotAllowed), a scripted throttle (429), a denied start (403)", async () => {
            const swap = await act(["vm", "update", ...VM, "--os-disk", FIXED, "--no-wait", ...TAIL]).catch((e: unknown) => e);
            assert.ok(swap instanceof CliError, String(swap));
            assert.match(swap.message, /^Status: 409, OperationNotAllowed: The OS disk can only be swapped when the VM is deallocated\.$/);
            assert.equal(worldNow().vms["rg-app/app-01"].osDisk, ORIGINAL, "nothing swapped");
            fs.writeFileSync(
                env.FAKE_AZ_STATE,
                JSON.stringify({ ...worldNow(), throttle: { "vm deallocate": 1 }, deny: { "vm start": true } }),
            );
            const throttled = await act(["vm", "deallocate", ...VM, "--no-wait", ...TAIL]).catch((e: unknown) => e);
            assert.ok(throttled instanceof CliError && throttled.transient && azureWatch.throttling(throttled.message), String(throttled));
            assert.match(throttled.message, /^Status: 429 Too Many Requests, TooManyRequests: .*\(Retry-After: 1 s\)$/);
            const denied = await act(["vm", "start", ...VM, "--no-wait", ...TAIL]).catch((e: unknown) => e);
            assert.ok(denied instanceof CliError && !denied.transient, String(denied));
            assert.match(denied.message, /^Status: 403 Forbidden, AuthorizationFailed: /);
            assert.equal(await act(["vm", "deallocate", ...VM, "--no-wait", ...TAIL]), "", "the next try goes through");
        });

        it("refuses a PATCH that is not the OS disk swap alone, and a POST with a query or body az would not send (400), asking the stand-in nothing", async () => {
            const base = front.env.AZURE_RESOURCE_MANAGER_ENDPOINT;
            const token = JSON.parse(
                await gate.run({ command: "az", args: ["account", "get-access-token", "--subscription", SUB, "--output", "json"] }),
            ) as { accessToken: string };
            const headers = { authorization: `Bearer ${token.accessToken}`, "content-type": "application/json" };
            const osDisk = { managedDisk: { id: FIXED }, name: "app-01-fixed" };
            for (const [url, method, body] of [
                [`${APP}?api-version=2024-07-01`, "PATCH", { properties: { storageProfile: { osDisk: { ...osDisk, caching: "None" } } } }],
                [`${APP}?api-version=2024-07-01`, "PATCH", { tags: {}, properties: { storageProfile: { osDisk } } }],
                [`${APP}?api-version=2024-07-01`, "PATCH", { properties: { storageProfile: { osDisk: { ...osDisk, name: "other" } } } }],
                [`${APP}/deallocate?api-version=2024-07-01&hibernate=true`, "POST", undefined],
                [`${APP}/start?api-version=2024-07-01`, "POST", { x: 1 }],
                [`${APP}/powerOff?api-version=2024-07-01`, "POST", undefined],
            ] as const) {
                const res = await fetch(`${base}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
                assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(body)}`);
            }
            assert.deepEqual(
                calls().map((c) => c.slice(0, 2).join(" ")),
                ["account get-access-token"],
            );
        });
    });
});
