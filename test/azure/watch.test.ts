// The watcher's Azure observations: requests of Resource Manager's REST API made in its own process
// (components/azure/api.ts, watch.ts), against a local HTTP server that answers in ARM's wire format,
// through the real gate (its budget, its error rules); only the token comes from a CLI call.
import { strict as assert } from "assert";
import {
    ArmClient,
    CLOUD_SHOW_OP,
    CLOUD_SHOW_TIMEOUT_MS,
    MAX_RESPONSE_BYTES,
    armEndpoint,
    azCloudEndpoint,
    endpointFromEnv,
    parseVmId,
} from "../../components/azure/api";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ArmTokens, REFRESH_BEFORE_MS, TOKEN_TIMEOUT_MS, expiryOf } from "../../components/azure/arm-token";
import { CONCURRENT, azureWatch, useArmClient } from "../../components/azure/watch";
import { ApiCall, CliError, NoObservationError } from "../../components/gate/types";
import { wait } from "./wait-request";
import { Answer, ERRORS, FakeArm, TokenGate, fakeArmForTests } from "./fake-arm";

const SUB = "11111111-2222-3333-4444-555555555555";
const vmId = (name: string, group = "myResourceGroup") =>
    `/subscriptions/${SUB}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`;
const diskId = (name: string) => `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/disks/${name}`;

/**
 * A VM as `GET …/virtualMachines/{vmName}?$expand=instanceView&api-version=2024-07-01` answers: the
 * model of the REST reference's "Get a virtual machine" example with `properties.instanceView` as
 * its "Get Virtual Machine Instance View" example gives it (fields the watcher does not read
 * trimmed). https://learn.microsoft.com/rest/api/compute/virtual-machines/get and
 * https://learn.microsoft.com/rest/api/compute/virtual-machines/instance-view (examples
 * VirtualMachine_Get.json, VirtualMachine_Get_InstanceView.json of azure-rest-api-specs,
 * specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01).
 */
function vmBody(name: string, o: { power?: string; agent?: string; osDisk?: string; dataDisks?: [number, string][]; view?: boolean } = {}) {
    const instanceView = {
        platformUpdateDomain: 1,
        platformFaultDomain: 1,
        computerName: name,
        osName: "Windows Server 2016 Datacenter",
        osVersion: "Microsoft Windows NT 10.0.14393.0",
        ...(o.agent === undefined
            ? {}
            : {
                  vmAgent: {
                      vmAgentVersion: "2.7.41491.949",
                      statuses: [
                          {
                              code: "ProvisioningState/succeeded",
                              level: "Info",
                              displayStatus: o.agent,
                              message: "GuestAgent is running and accepting new configurations.",
                              time: "2019-10-14T23:11:22+00:00",
                          },
                      ],
                  },
              }),
        disks: [
            {
                name: "myOsDisk",
                statuses: [{ code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Provisioning succeeded" }],
            },
        ],
        hyperVGeneration: "V1",
        statuses: [
            {
                code: "ProvisioningState/succeeded",
                level: "Info",
                displayStatus: "Provisioning succeeded",
                time: "2019-10-14T21:30:12.8051917+00:00",
            },
            { code: `PowerState/${o.power ?? "running"}`, level: "Info", displayStatus: `VM ${o.power ?? "running"}` },
        ],
    };
    return {
        name,
        id: vmId(name),
        type: "Microsoft.Compute/virtualMachines",
        location: "West US",
        tags: { myTag1: "tagValue1" },
        etag: '"1"',
        properties: {
            vmId: "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1",
            hardwareProfile: { vmSize: "Standard_DS3_v2" },
            storageProfile: {
                imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2016-Datacenter", version: "latest" },
                osDisk: {
                    osType: "Windows",
                    name: "myOsDisk",
                    createOption: "FromImage",
                    caching: "ReadWrite",
                    managedDisk: { storageAccountType: "Premium_LRS", id: o.osDisk ?? diskId("myOsDisk") },
                    diskSizeGB: 30,
                },
                dataDisks: (o.dataDisks ?? []).map(([lun, id]) => ({
                    lun,
                    name: id.split("/").pop(),
                    createOption: "Attach",
                    caching: "ReadWrite",
                    managedDisk: { storageAccountType: "Premium_LRS", id },
                    diskSizeGB: 100,
                })),
            },
            osProfile: { computerName: name, adminUsername: "admin", windowsConfiguration: { provisionVMAgent: true }, secrets: [] },
            networkProfile: {
                networkInterfaces: [
                    { id: `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/networkInterfaces/nic` },
                ],
            },
            provisioningState: "Succeeded",
            timeCreated: "2021-06-27T01:02:38.3138469+00:00",
            ...(o.view === false ? {} : { instanceView }),
        },
    };
}

describe("Azure observations through Resource Manager's REST API", () => {
    let gate: TokenGate;
    const arm = fakeArmForTests((g) => (gate = g));

    it("vm: one GET with $expand=instanceView per VM, rated as vm get-instance-view; power, agent and OS disk read from ARM's shape", async () => {
        const fixed = diskId("fixed");
        arm.answer = (r) => {
            const name = r.path.split("/").pop()!;
            if (name === "app-1") return { status: 200, body: vmBody(name, { power: "running", agent: "Ready", osDisk: fixed }) };
            if (name === "app-2") return { status: 200, body: vmBody(name, { power: "deallocated" }) };
            return { status: 200, body: vmBody(name, { power: "running", agent: "Not Ready" }) };
        };
        const w1 = wait("vm", vmId("app-1"), "healthy", { disk: fixed.toUpperCase() });
        const w2 = wait("vm", vmId("app-2"), "deallocated");
        const w3 = wait("vm", vmId("app-3"), "ready");
        const seen = await azureWatch.observe([w1, w2, w3], gate);
        assert.deepEqual(seen.get(w1), { met: true, fields: { power: "running", agent: "Ready", osdisk: fixed } });
        assert.deepEqual(seen.get(w2), { met: true, fields: { power: "deallocated", agent: "none", osdisk: diskId("myOsDisk") } });
        assert.deepEqual(seen.get(w3), { met: false, fields: { power: "running", agent: "Not Ready", osdisk: diskId("myOsDisk") } });
        assert.deepEqual(
            arm.seen.map((r) => r.path).sort(),
            ["app-1", "app-2", "app-3"].map((n) => vmId(n)),
        );
        for (const r of arm.seen) {
            assert.equal(r.method, "GET");
            assert.deepEqual([...r.query.entries()].sort(), [
                ["$expand", "instanceView"],
                ["api-version", "2024-07-01"],
            ]);
            assert.equal(r.auth, "Bearer tok-1");
        }
        assert.equal(gate.stats.api.azure, 3, "each VM one request of the gate's budget");
        // The one CLI call: the token (the gate's `run` is this test's, so no process).
        assert.deepEqual(gate.cliCalls, [
            [
                "az",
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
        ]);
    });

    it("the token is fetched once per subscription and kept across observations; a 401 fetches a new one and tries once more", async () => {
        let expireNext = false;
        arm.answer = (r) => {
            if (expireNext && r.auth === "Bearer tok-1") return ERRORS.expired;
            return { status: 200, body: vmBody(r.path.split("/").pop()!, { agent: "Ready" }) };
        };
        const w = wait("vm", vmId("app-1"), "ready");
        for (let i = 0; i < 3; i++) assert.equal((await azureWatch.observe([w], gate)).get(w)?.met, true);
        assert.equal(gate.cliCalls.length, 1);
        expireNext = true;
        assert.equal((await azureWatch.observe([w], gate)).get(w)?.met, true, "observed with the new token");
        assert.equal(gate.cliCalls.length, 2);
        assert.deepEqual(
            arm.seen.slice(-2).map((r) => r.auth),
            ["Bearer tok-1", "Bearer tok-2"],
        );
        assert.equal(gate.stats.api.azure, 4, "the retry after a 401 stays within its request's place");
    });

    it("a token refused twice (401) is no VM's fault: the batch rejects (transient), no VM is gone; ARM's words, never the token's", async () => {
        arm.answer = () => ERRORS.expired;
        const w = wait("vm", vmId("app-1"), "ready");
        const err = await azureWatch.observe([w], gate).catch((e: unknown) => e);
        assert.ok(err instanceof NoObservationError, String(err));
        assert.equal(err.transient, true, "the waiter backs off, then fails the wait as unobservable, with this reason");
        assert.match(err.message, /refused twice .*Status: 401 Unauthorized, ExpiredAuthenticationToken: The access token expiry/);
        assert.doesNotMatch(err.message, /tok-/);
    });

    it("a token az cannot give is no VM's fault: the batch rejects (transient), no VM is gone; az has a time limit", async () => {
        arm.answer = (r) => ({ status: 200, body: vmBody(r.path.split("/").pop()!, { agent: "Ready" }) });
        const asked: { timeoutMs?: number }[] = [];
        const noLogin = Object.assign(new TokenGate(), {
            run: (call: { timeoutMs?: number }) => {
                asked.push(call);
                return Promise.reject(new CliError("ERROR: Please run 'az login' to setup account.", false));
            },
        });
        const waits = [wait("vm", vmId("app-1"), "ready"), wait("vm", vmId("app-2"), "ready")];
        const err = await azureWatch.observe(waits, noLogin).catch((e: unknown) => e);
        assert.ok(err instanceof NoObservationError, String(err));
        assert.equal(err.transient, true);
        assert.match(err.message, /^no Resource Manager token from az \(subscription 1111.*\): ERROR: Please run 'az login'/);
        assert.equal(arm.seen.length, 0, "no request without a token");
        assert.equal(asked.length, 1, "one az call for the batch, before any read");
        assert.equal(asked[0].timeoutMs, TOKEN_TIMEOUT_MS);
        assert.equal(TOKEN_TIMEOUT_MS, 120_000);
    });

    it("data-disks: a GET of the VM's model (no instance view), rated as vm show; the disk at the LUN", async () => {
        const scratch = diskId("scratch");
        arm.answer = () => ({
            status: 200,
            body: vmBody("rescue", {
                view: false,
                dataDisks: [
                    [0, diskId("other")],
                    [3, scratch],
                ],
            }),
        });
        const attached = wait("data-disks", vmId("rescue"), "attached", { lun: "3", disk: scratch.toLowerCase() });
        const elsewhere = wait("data-disks", vmId("rescue"), "attached", { lun: "1", disk: scratch });
        const seen = await azureWatch.observe([attached, elsewhere], gate);
        assert.deepEqual(seen.get(attached), { met: true, fields: { atlun: scratch.toLowerCase() } });
        assert.deepEqual(seen.get(elsewhere), { met: false, fields: { atlun: "none" } });
        assert.equal(arm.seen.length, 1, "one request for two waits on one VM");
        assert.deepEqual([...arm.seen[0].query.entries()], [["api-version", "2024-07-01"]]);
    });

    it("404 ResourceNotFound: that VM is gone, the others observed", async () => {
        arm.answer = (r) => {
            const name = r.path.split("/").pop()!;
            return name === "gone-1" ? ERRORS.notFound(name) : { status: 200, body: vmBody(name, { agent: "Ready" }) };
        };
        const gone = wait("vm", vmId("gone-1"), "ready");
        const here = wait("vm", vmId("app-1"), "ready");
        const seen = await azureWatch.observe([gone, here], gate);
        assert.match(
            seen.get(gone)?.gone ?? "",
            /^VM \/subscriptions\/.*\/gone-1 was not found \(Status: 404 Not Found, ResourceNotFound: /,
        );
        assert.equal(seen.get(here)?.met, true);
        assert.equal(azureWatch.transient(seen.get(gone)!.gone!), false);
    });

    for (const [what, answer] of [
        ["Resource Manager's 429 (SubscriptionRequestsThrottled)", ERRORS.armThrottled],
        ["Compute's 429 (OperationNotAllowed, TooManyRequests)", ERRORS.computeThrottled],
    ] as const) {
        it(`${what}: no observation of that VM this round; throttling slows the subscription down; all throttled: the batch fails, transient`, async () => {
            arm.answer = (r) => {
                const name = r.path.split("/").pop()!;
                return name === "busy" ? answer : { status: 200, body: vmBody(name, { agent: "Ready" }) };
            };
            const busy = wait("vm", vmId("busy"), "ready");
            const here = wait("vm", vmId("app-1"), "ready");
            const seen = await azureWatch.observe([busy, here], gate);
            assert.equal(seen.has(busy), false, "a throttled VM is not observed (never a negative observation)");
            assert.equal(seen.get(here)?.met, true);
            assert.equal(gate.stats.throttled.azure, 1);
            const err = await azureWatch.observe([busy], gate).then(
                () => undefined,
                (e: unknown) => e,
            );
            assert.ok(err instanceof CliError && err.transient, String(err));
            assert.ok(azureWatch.throttling(err.message), err.message);
            assert.match(err.message, /^Status: 429 Too Many Requests, /);
            assert.match(err.message, /Retry-After: \d+ s/);
        });
    }

    it("5xx and a refused connection are transient: no observation, the batch fails and is tried again", async () => {
        for (const answer of [ERRORS.unavailable, ERRORS.internal]) {
            arm.answer = () => answer;
            const err = await azureWatch.observe([wait("vm", vmId("app-1"), "ready")], gate).catch((e: unknown) => e);
            assert.ok(err instanceof CliError && err.transient, String(err));
            assert.match(err.message, new RegExp(`^Status: ${answer.status} `));
        }
        const closed = new FakeArm();
        await closed.start();
        const base = closed.base;
        await closed.stop();
        useArmClient(new ArmClient({ base, audience: "https://management.azure.com/" }, new ArmTokens()));
        const err = await azureWatch.observe([wait("vm", vmId("app-1"), "ready")], gate).catch((e: unknown) => e);
        assert.ok(err instanceof CliError && err.transient, String(err));
        assert.match(err.message, /connection failed/);
    });

    it("an answer larger than the bound is refused, and one that is not JSON: permanent, named", async () => {
        arm.answer = () => ({ raw: Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x20) });
        const w = wait("vm", vmId("app-1"), "ready");
        assert.match((await azureWatch.observe([w], gate)).get(w)?.gone ?? "", /more than the 4194304 bytes read/);
        arm.answer = () => ({ raw: "<html>proxy</html>" });
        assert.match((await azureWatch.observe([w], gate)).get(w)?.gone ?? "", /answered 200 with a body that is not JSON/);
    });

    it(`a batch of 20 VMs: ${CONCURRENT} requests at once at most, every VM observed`, async () => {
        const held: (() => void)[] = [];
        let answered = 0;
        const total = 20;
        arm.answer = (r) =>
            new Promise<Answer>((resolve) => {
                held.push(() => resolve({ status: 200, body: vmBody(r.path.split("/").pop()!, { agent: "Ready" }) }));
                // Release the held ones once as many as allowed are waiting, or all that are left.
                if (held.length === Math.min(CONCURRENT, total - answered)) {
                    answered += held.length;
                    held.splice(0).forEach((f) => f());
                }
            });
        const waits = Array.from({ length: total }, (_, i) => wait("vm", vmId(`app-${i}`), "ready"));
        const seen = await azureWatch.observe(waits, gate);
        assert.equal([...seen.values()].filter((o) => o.met).length, total);
        assert.equal(gate.maxInFlight, CONCURRENT, "requests sent at once");
        assert.equal(arm.maxInFlight, CONCURRENT, "requests the server held at once");
        assert.equal(gate.cliCalls.length, 1, "one token for the batch");
    });

    it("an id that is not a VM's never reaches a URL: that wait is gone", async () => {
        arm.answer = () => ({ status: 200, body: vmBody("x") });
        const bad = wait("vm", `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/..`, "ready");
        const o = (await azureWatch.observe([bad], gate)).get(bad);
        assert.match(o?.gone ?? "", /not a VM resource id/);
        assert.equal(arm.seen.length, 0);
    });
});

describe("Resource Manager's endpoint, VM ids and tokens", () => {
    it("without AZURE_RESOURCE_MANAGER_ENDPOINT, az's configured cloud: one `az cloud show` (timed, rated as a token call), kept; its audience asks the tokens", async () => {
        assert.equal(endpointFromEnv({}), undefined);
        assert.deepEqual(endpointFromEnv({ AZURE_RESOURCE_MANAGER_ENDPOINT: "https://management.chinacloudapi.cn" }), {
            base: "https://management.chinacloudapi.cn",
            audience: "https://management.chinacloudapi.cn/",
        });
        const calls: { op: string; args: string[]; timeoutMs?: number }[] = [];
        let cloud = JSON.stringify({ rm: "https://management.usgovcloudapi.net/", aud: "https://management.core.usgovcloudapi.net/" });
        const runner = {
            run: (call: { op: string; args: string[]; timeoutMs?: number }) => {
                calls.push(call);
                if (call.op === CLOUD_SHOW_OP) return Promise.resolve(cloud);
                return Promise.resolve(JSON.stringify({ accessToken: "tok-gov", expires_on: Math.floor(Date.now() / 1000) + 3600 }));
            },
            api: <T>(_call: ApiCall, send: () => Promise<T>) => send(),
        };
        const client = new ArmClient(undefined, new ArmTokens());
        const [a, b] = await Promise.all([client.endpoint(runner, SUB), client.endpoint(runner, SUB)]);
        assert.deepEqual(a, { base: "https://management.usgovcloudapi.net", audience: "https://management.core.usgovcloudapi.net/" });
        assert.equal(b, a);
        await client.token(runner, SUB, SUB);
        assert.deepEqual(
            calls.map((c) => c.op),
            [CLOUD_SHOW_OP, "account get-access-token"],
            "one cloud show for both callers and after",
        );
        assert.deepEqual(calls[0].args.slice(0, 4), [
            "cloud",
            "show",
            "--query",
            "{rm: endpoints.resourceManager, aud: endpoints.activeDirectoryResourceId}",
        ]);
        assert.equal(calls[0].timeoutMs, CLOUD_SHOW_TIMEOUT_MS);
        assert.ok(calls[1].args.includes("https://management.core.usgovcloudapi.net/"), "the token for the cloud's audience");
        assert.equal(azureWatch.rateClass(CLOUD_SHOW_OP), "token");
        // A cloud whose endpoint is plain http off the loopback, or az failing: no observation (asked again next time).
        cloud = JSON.stringify({ rm: "http://management.example.com/", aud: "x" });
        const err = await new ArmClient(undefined, new ArmTokens()).endpoint(runner, SUB).catch((e: unknown) => e);
        assert.ok(err instanceof NoObservationError && err.transient, String(err));
        assert.match(err.message, /^az cloud show: AZURE_RESOURCE_MANAGER_ENDPOINT: https only/);
    });

    it("the stand-in az answers `az cloud show` with AzureCloud's endpoints", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "az-cloud-"));
        try {
            fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify({ vms: {} }));
            const standIn = path.join(__dirname, "../../sandbox/cli/azure/az");
            const runner = {
                run: (call: { args: string[] }) =>
                    Promise.resolve(
                        execFileSync(standIn, call.args, {
                            encoding: "utf8",
                            env: { ...process.env, FAKE_AZ_STATE: path.join(dir, "world.json"), FAKE_AZ_LOG: path.join(dir, "calls.log") },
                        }),
                    ),
                api: <T>(_call: ApiCall, send: () => Promise<T>) => send(),
            };
            assert.deepEqual(await azCloudEndpoint(runner, SUB), {
                base: "https://management.azure.com",
                audience: "https://management.core.windows.net/",
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the public cloud by default; AZURE_RESOURCE_MANAGER_ENDPOINT (and _AUDIENCE) override; http only to the loopback", () => {
        assert.deepEqual(armEndpoint({}), { base: "https://management.azure.com", audience: "https://management.azure.com/" });
        assert.deepEqual(armEndpoint({ AZURE_RESOURCE_MANAGER_ENDPOINT: "https://management.usgovcloudapi.net/" }), {
            base: "https://management.usgovcloudapi.net",
            audience: "https://management.usgovcloudapi.net/",
        });
        assert.deepEqual(
            armEndpoint({
                AZURE_RESOURCE_MANAGER_ENDPOINT: "http://127.0.0.1:8080/azure",
                AZURE_RESOURCE_MANAGER_AUDIENCE: "https://management.azure.com/",
            }),
            { base: "http://127.0.0.1:8080/azure", audience: "https://management.azure.com/" },
        );
        assert.throws(
            () => armEndpoint({ AZURE_RESOURCE_MANAGER_ENDPOINT: "http://arm.example.com" }),
            /AZURE_RESOURCE_MANAGER_ENDPOINT: https only/,
        );
        assert.throws(
            () => armEndpoint({ AZURE_RESOURCE_MANAGER_ENDPOINT: "management.azure.com" }),
            /AZURE_RESOURCE_MANAGER_ENDPOINT: not a URL/,
        );
        assert.throws(
            () => armEndpoint({ AZURE_RESOURCE_MANAGER_ENDPOINT: "https://u:p@arm.example.com" }),
            /without query, fragment or credentials/,
        );
    });

    it("a VM id's parts, or none: no dot segments, slashes or queries", () => {
        assert.deepEqual(parseVmId(vmId("app-01", "rg.(prod)")), { subscription: SUB, group: "rg.(prod)", name: "app-01" });
        for (const bad of [
            vmId(".."),
            vmId("a", ".."),
            vmId("a?b"),
            `${vmId("a")}/extensions/x`,
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a",
            vmId("a").replace("virtualMachines", "disks"),
        ])
            assert.equal(parseVmId(bad), undefined, bad);
    });

    it("az's expiry: expires_on (POSIX seconds) first, else expiresOn (local time)", () => {
        assert.equal(expiryOf({ expires_on: 1_800_000_000, expiresOn: "2001-01-01 00:00:00.000000" }), 1_800_000_000_000);
        assert.equal(expiryOf({ expires_on: "1800000000" }), 1_800_000_000_000);
        assert.equal(expiryOf({ expiresOn: "2026-12-07 13:04:05.000000" }), new Date(2026, 11, 7, 13, 4, 5).getTime());
        assert.equal(expiryOf({}), undefined);
    });

    it("a token is used until 5 minutes before it expires, then fetched anew; concurrent callers share one fetch", async () => {
        let now = 1_000_000_000_000;
        const runs: string[][] = [];
        const cli = {
            run: (call: { args: string[] }) => {
                runs.push(call.args);
                return Promise.resolve(JSON.stringify({ accessToken: `t${runs.length}`, expires_on: now / 1000 + 3600 }));
            },
        };
        const tokens = new ArmTokens(() => now);
        const got = await Promise.all([1, 2, 3].map(() => tokens.get(cli, SUB, SUB, "https://management.azure.com/")));
        assert.deepEqual(got, ["t1", "t1", "t1"]);
        now += 3600_000 - REFRESH_BEFORE_MS - 1;
        assert.equal(await tokens.get(cli, SUB, SUB, "https://management.azure.com/"), "t1");
        now += 2;
        assert.equal(await tokens.get(cli, SUB, SUB, "https://management.azure.com/"), "t2");
        assert.equal(
            await tokens.get(cli, "other", "22222222-2222-3333-4444-555555555555", "https://management.azure.com/"),
            "t3",
            "per subscription",
        );
        assert.deepEqual(runs[2].slice(0, 6), [
            "account",
            "get-access-token",
            "--resource",
            "https://management.azure.com/",
            "--subscription",
            "22222222-2222-3333-4444-555555555555",
        ]);
    });

    it("what az printed that is no token is no VM's fault (NoObservationError, transient) and never quotes the output", async () => {
        for (const stdout of ['{"accessToken": "secret-in-broken', '{"expires_on": 1}', "[]"]) {
            const tokens = new ArmTokens();
            const err = await tokens
                .get({ run: () => Promise.resolve(stdout) }, SUB, SUB, "https://management.azure.com/")
                .catch((e: unknown) => e);
            assert.ok(err instanceof NoObservationError && err.transient, String(err));
            assert.doesNotMatch(err.message, /secret/);
            assert.match(err.message, /az account get-access-token \(subscription 1111.*\) printed no (JSON|accessToken)/);
        }
    });
});
