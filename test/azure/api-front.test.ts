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
import { ORIGINAL, RESCUE_ID, SCRATCH, SUB, world } from "./run-script";

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
});
