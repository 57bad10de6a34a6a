// STAND-IN (for the tests and for `npm run sandbox`) for the Azure CLI: answers the calls the Azure command scripts make from a JSON
// world (FAKE_AZ_STATE, rewritten after each call) and appends every call to FAKE_AZ_LOG. It moves
// the way Azure does: deallocate → deallocating → deallocated; start → starting → running, then
// the VM agent turns Ready after bootPolls looks (never, when the OS disk does not boot).
// Limits: every call spends its requests from the world's budget at Resource Manager's and
// Compute's published buckets (sandbox/cli/budget.js), a 429 when over.
// Faults: world.throttle["vm deallocate"] = n fails the first n such calls with HTTP 429;
// world.deny["vm start"] fails them all with AuthorizationFailed.
// Reboots: an OS disk with boots=false boot-loops; world.vms[key].recoversAtReboot = k makes it
// boot healthy from the k-th restart on. world.snapshots: id → {source, timeCreated, state}.
//
// The call itself: run(argv, env) (./az, the executable, is a thin wrapper of it; the API front,
// sandbox/api/front.js, runs it in its own process). It reads nothing of the process: its arguments
// and environment are the parameters, its answer and exit code the result (../call.js).
const fs = require("fs");
const budget = require("../budget.js");
const { openWorld, runCall } = require("../call.js");
const worldLock = require("../world-lock.js");

/** One call of the stand-in az: `argv` its arguments, `env` its environment; writes and exits through `io` (../call.js). */
function call(argv, env, io) {
    const { statePath, world, scale, perObjectScale, save, out } = openWorld("az", "FAKE_AZ_STATE", "FAKE_AZ_LOG", argv, env, io);

    const FLAGS = new Set(["only-show-errors", "no-wait", "instance-view"]);
    const MULTI = new Set(["set", "ids"]);
    const opts = {};
    const positional = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("-")) {
            positional.push(a);
            continue;
        }
        const key = a.replace(/^-+/, "");
        const long = { g: "resource-group", n: "name", o: "output" }[key] || key;
        if (FLAGS.has(long)) opts[long] = true;
        else if (MULTI.has(long)) {
            const v = [];
            while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) v.push(argv[++i]);
            opts[long] = v;
        } else opts[long] = argv[++i];
    }
    const name = positional.join(" ");
    // peek: an answer that changes nothing in the world's resources (the discovery listings); like every answer,
    // it saves the world (../call.js openWorld's out).
    const peek = out;
    const error = (code, message) => {
        save();
        io.stderr(`ERROR: (${code}) ${message}\nCode: ${code}\n`);
        io.exit(1);
    };

    // The requests a call makes, and their budget (sandbox/cli/budget.js): Resource Manager's read or
    // write bucket of the subscription, and Compute's VM policy (per VM and per subscription) where one
    // applies. `--ids` of several VMs makes one request per VM (the CLI runs the command once per id);
    // `vm update` and `vm disk attach|detach` read the VM, then write it back; a long-running operation
    // waited for (no --no-wait) is polled once (the simulated one ends at once).
    const DEFAULT_SUBSCRIPTION = "11111111-2222-3333-4444-555555555555";
    const idParts = (id) => /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)/i.exec(id || "") || [];
    const requestsOf = () => {
        const named = [].concat(opts.ids || []);
        const targets = named.length
            ? named.map((id) => ({ subscription: idParts(id)[1] || DEFAULT_SUBSCRIPTION, vm: `${idParts(id)[2]}/${idParts(id)[3]}` }))
            : [
                  {
                      subscription: opts.subscription || world.subscription || DEFAULT_SUBSCRIPTION,
                      vm: `${opts["resource-group"]}/${opts["vm-name"] || opts.name}`,
                  },
              ];
        const each = (make) => targets.flatMap((t) => make(t.subscription, t.vm));
        const poll = (sub, vm) => (opts["no-wait"] ? [] : [budget.armRequest(sub, "operation status", "read", "Get Operation", vm)]);
        const read = (api, policy) => (sub, vm) => [budget.armRequest(sub, api, "read", policy, vm)];
        switch (name) {
            case "vm get-instance-view":
                return each(read("VirtualMachines.InstanceView", "Low Cost Get VM"));
            case "vm show":
            case "vm run-command show":
            case "vm boot-diagnostics get-boot-log":
                return each(read(`VirtualMachines ${name}`, "Low Cost Get VM"));
            case "vm deallocate":
                return each((sub, vm) => [
                    budget.armRequest(sub, "VirtualMachines.Deallocate", "write", "Delete VM", vm),
                    ...poll(sub, vm),
                ]);
            case "vm start":
            case "vm restart":
                return each((sub, vm) => [budget.armRequest(sub, `VirtualMachines ${name}`, "write", "Update VM", vm), ...poll(sub, vm)]);
            case "vm update":
            case "vm disk attach":
            case "vm disk detach":
                return each((sub, vm) => [
                    budget.armRequest(sub, "VirtualMachines.Get", "read", "Low Cost Get VM", vm),
                    budget.armRequest(sub, "VirtualMachines.CreateOrUpdate", "write", "Update VM", vm),
                    ...poll(sub, vm),
                ]);
            case "disk show":
            case "snapshot show":
            case "snapshot list":
                return each((sub) => [budget.armRequest(sub, name, "read")]);
            case "disk update":
                return each((sub) => [
                    budget.armRequest(sub, "Disks.Get", "read"),
                    budget.armRequest(sub, "Disks.CreateOrUpdate", "write"),
                    budget.armRequest(sub, "operation status", "read"),
                ]);
            case "vm list":
                return [budget.armRequest(opts.subscription || DEFAULT_SUBSCRIPTION, "VirtualMachines.List", "read", "High Cost Get VM")];
            case "rest": {
                const m = /\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\?/.exec(opts.url || "");
                if (m) return [budget.armRequest(m[1], "VirtualMachines.ListAll", "read", "High Cost Get VM")];
                return [
                    budget.azureOtherRequest(
                        (/^https:\/\/([^/.]+)\./.exec(opts.url || "") || [])[1] || "data-plane",
                        `${opts.method || "get"} data plane`,
                    ),
                ];
            }
            case "cloud show":
                return []; // az's local configuration: no request
            default:
                return [budget.azureOtherRequest("tenant", name)];
        }
    };
    const requests = requestsOf();
    world.throttle = world.throttle || {};
    if (world.throttle[name] > 0) {
        world.throttle[name]--;
        budget.countThrottled(world, requests[0], Date.now(), scale);
        error("TooManyRequests", "The request is being throttled. Status: 429");
    }
    // Over a budget: Compute's 429 (TooManyRequests, naming its policy) or Resource Manager's
    // (SubscriptionRequestsThrottled), each with the seconds its Retry-After gives, as az prints them.
    for (const request of requests) {
        const verdict = budget.spend(world, request, Date.now(), scale, perObjectScale);
        if (verdict.ok) continue;
        const policy = /\|Compute (.*?)(?: vm .*)?$/.exec(verdict.bucket);
        if (policy)
            error(
                "TooManyRequests",
                `The server rejected the request because too many requests have been received for this subscription. Operation group '${policy[1]}'${/ vm /.test(verdict.bucket) ? " for this virtual machine" : ""}: please try again after '${verdict.retryAfterSeconds}' seconds.`,
            );
        const kind = / ARM (\w+)s$/.exec(verdict.bucket)[1];
        error(
            "SubscriptionRequestsThrottled",
            `Number of '${kind}' requests for subscription '${request.scope}' exceeded. Please try again after '${verdict.retryAfterSeconds}' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling`,
        );
    }
    // world.deny["vm start"] fails every such call, as Azure refuses an operation (a policy, a lock).
    if (world.deny && world.deny[name]) error("AuthorizationFailed", `The client does not have authorization to perform ${name}.`);

    const vmKey = (rg, n) => `${rg}/${n}`.toLowerCase();
    const vm = () => {
        // `az vm disk attach|detach` name the VM with --vm-name (--name is the disk there).
        const v = world.vms[vmKey(opts["resource-group"], opts["vm-name"] || opts.name)];
        if (!v) error("ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/x' was not found.");
        if (world.subscriptions && !world.subscriptions.includes(opts.subscription))
            error("SubscriptionNotFound", "subscription not found");
        return v;
    };
    const tick = (v) => {
        if (v.power === "deallocating" && --v.stopPolls <= 0) v.power = "deallocated";
        if (v.power === "starting") {
            v.power = "running";
            v.agent = "";
            v.agentPolls = v.bootPolls ?? 1;
        }
        if (v.power === "running" && v.agent !== "Ready") {
            const boots =
                world.disks[v.osDisk.toLowerCase()]?.boots !== false || (v.recoversAtReboot && (v.restarts || 0) >= v.recoversAtReboot);
            if (boots && --v.agentPolls <= 0) v.agent = "Ready";
        }
    };
    // --ids: full resource ids, several for show and get-instance-view (then a list comes back).
    const ids = [].concat(opts.ids || []);
    const byId = (id) => {
        const m =
            /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(id) || [];
        const v = world.vms[vmKey(m[2], m[3])];
        if (!v)
            error(
                "ResourceNotFound",
                `The Resource 'Microsoft.Compute/virtualMachines/${m[3]}' under resource group '${m[2]}' was not found.`,
            );
        if (world.subscriptions && !world.subscriptions.includes(m[1])) error("SubscriptionNotFound", "subscription not found");
        return v;
    };
    const each = (make) => {
        const list = ids.map((id) => ({ id, ...make(byId(id)) }));
        out(list.length === 1 ? list[0] : list);
    };
    const model = (v) => ({
        storageProfile: {
            osDisk: { managedDisk: { id: v.osDisk } },
            dataDisks: Object.entries(v.dataDisks || {}).map(([lun, id]) => ({ lun: Number(lun), managedDisk: { id } })),
        },
    });

    // Discovery (npm run discover): world.accounts: [{id, name, state}]; world.vms[key] may carry
    // subscription (default world.subscription), location, zones, osType (Windows), computerName, vmId,
    // vmss (a scale set name), bootDiagnostics, bootLog (serial log text), unmanaged, ephemeral,
    // securityType, ade, and frozen (its power and agent stay as written). world.statusPage: VMs per page
    // of the statusOnly listing; world.statusWithoutAgent: that listing leaves out the agent.
    const subscriptionOf = (v) => v.subscription || world.subscription || "11111111-2222-3333-4444-555555555555";
    const armId = (key, v) =>
        `/subscriptions/${subscriptionOf(v)}/resourceGroups/${key.split("/")[0]}/providers/Microsoft.Compute/virtualMachines/${v.name || key.split("/")[1]}`;
    const listModel = ([key, v]) => ({
        id: armId(key, v),
        name: v.name || key.split("/")[1],
        resourceGroup: key.split("/")[0],
        location: v.location || "eastus2",
        zones: v.zones || null,
        vmId: v.vmId,
        storageProfile: {
            osDisk: {
                osType: v.osType || "Windows",
                managedDisk: v.unmanaged ? null : { id: v.osDisk },
                diffDiskSettings: v.ephemeral ? { option: "Local" } : null,
            },
        },
        osProfile: { computerName: v.computerName || null },
        virtualMachineScaleSet: v.vmss
            ? {
                  id: `/subscriptions/${subscriptionOf(v)}/resourceGroups/${key.split("/")[0]}/providers/Microsoft.Compute/virtualMachineScaleSets/${v.vmss}`,
              }
            : null,
        diagnosticsProfile: { bootDiagnostics: { enabled: Boolean(v.bootDiagnostics) } },
        securityProfile: v.securityType ? { securityType: v.securityType } : null,
        resources: v.ade ? [{ id: `${armId(key, v)}/extensions/AzureDiskEncryption` }] : [],
    });
    switch (name) {
        // The watcher's token for Resource Manager (components/azure/arm-token.ts): a fake one the API
        // stand-in (sandbox/api/azure.js) accepts until it expires, world.tokenSeconds (default an hour)
        // from now. Never in FAKE_OUT_LOG: a token goes to no log, fake or not.
        case "account get-access-token": {
            if (world.subscriptions && !world.subscriptions.includes(opts.subscription))
                error(
                    "SubscriptionNotFound",
                    `Subscription '${opts.subscription}' not found. Check the spelling and casing and try again.`,
                );
            const expires = Math.floor(Date.now() / 1000) + (world.tokenSeconds ?? 3600);
            world.tokensIssued = (world.tokensIssued || 0) + 1;
            save();
            const local = new Date(expires * 1000 - new Date().getTimezoneOffset() * 60000)
                .toISOString()
                .replace("T", " ")
                .replace("Z", "000");
            io.stdout(
                JSON.stringify({
                    accessToken: `standin-arm.${expires}.${require("crypto").randomBytes(12).toString("hex")}`,
                    expiresOn: local,
                    expires_on: expires,
                    subscription: opts.subscription || world.subscription || DEFAULT_SUBSCRIPTION,
                    tenant: "00000000-1111-2222-3333-444444444444",
                    tokenType: "Bearer",
                }),
            );
            io.exit(0);
        }
        // The watcher's endpoint when AZURE_RESOURCE_MANAGER_ENDPOINT is not set (components/azure/api.ts):
        // AzureCloud's, as az prints `cloud show --query "{rm: endpoints.resourceManager, aud:
        // endpoints.activeDirectoryResourceId}"`.
        case "cloud show":
            peek({ rm: "https://management.azure.com/", aud: "https://management.core.windows.net/" });
        case "account list":
            peek(world.accounts || [{ id: "11111111-2222-3333-4444-555555555555", name: "Default", state: "Enabled" }]);
        case "vm list":
            peek(
                Object.entries(world.vms)
                    .filter(([, v]) => subscriptionOf(v) === opts.subscription)
                    .map(listModel),
            );
        case "vm boot-diagnostics get-boot-log": {
            const v = byId(ids[0]);
            if (!v.bootDiagnostics) error("BootDiagnosticsNotEnabled", "Boot diagnostics is not enabled for this VM.");
            io.stdout(v.bootLog || "");
            io.exit(0);
        }
        case "rest": {
            const m =
                /^(?:https:\/\/management\.azure\.com)?\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\?api-version=[0-9-]+&statusOnly=true(?:&\$skiptoken=(\d+))?$/.exec(
                    opts.url || "",
                );
            if (!m) break;
            const all = Object.entries(world.vms).filter(([, v]) => subscriptionOf(v) === m[1]);
            const size = world.statusPage || 1000;
            const from = Number(m[2] || 0);
            const page = all.slice(from, from + size).map(([key, v]) => ({
                id: armId(key, v),
                name: v.name || key.split("/")[1],
                properties: {
                    instanceView: {
                        statuses: [{ code: "ProvisioningState/succeeded" }, { code: `PowerState/${v.power}` }],
                        ...(v.agent && !world.statusWithoutAgent ? { vmAgent: { statuses: [{ displayStatus: v.agent }] } } : {}),
                    },
                },
            }));
            peek({
                value: page,
                ...(from + size < all.length
                    ? {
                          nextLink: `https://management.azure.com/subscriptions/${m[1]}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true&$skiptoken=${from + size}`,
                      }
                    : {}),
            });
        }
    }

    switch (name) {
        case "vm show":
            if (ids.length) each(model);
            out(model(vm()));
        case "vm get-instance-view":
            each((v) => {
                if (!v.frozen) tick(v);
                return {
                    ...model(v),
                    instanceView: {
                        statuses: [{ code: "ProvisioningState/succeeded" }, { code: `PowerState/${v.power}` }],
                        vmAgent: v.agent ? { statuses: [{ displayStatus: v.agent }] } : undefined,
                    },
                };
            });
        case "vm deallocate": {
            const v = vm();
            if (v.power !== "deallocated") {
                v.power = "deallocating";
                v.stopPolls = v.stopPolls ?? 1;
                v.agent = "";
            }
            out({});
        }
        case "vm update": {
            const v = vm();
            if (opts["os-disk"]) {
                if (v.power !== "deallocated") error("OperationNotAllowed", "The OS disk can only be swapped when the VM is deallocated.");
                const d = world.disks[opts["os-disk"].toLowerCase()];
                if (!d) error("NotFound", "disk not found");
                if (d.attachedTo) error("OperationNotAllowed", "Disk is attached to another VM.");
                world.disks[v.osDisk.toLowerCase()].attachedTo = undefined;
                d.attachedTo = vmKey(opts["resource-group"], opts.name);
                v.osDisk = opts["os-disk"];
            }
            out(model(v));
        }
        case "vm restart": {
            const v = vm();
            if (v.power !== "running") error("OperationNotAllowed", "The VM is not running.");
            v.restarts = (v.restarts || 0) + 1;
            v.power = "starting";
            v.agent = "";
            out({});
        }
        case "disk show": {
            const d = world.disks[ids[0].toLowerCase()];
            if (!d) error("ResourceNotFound", "disk not found");
            out({ id: ids[0], tags: d.tags || {} });
        }
        case "snapshot list":
        case "snapshot show": {
            const all = Object.entries(world.snapshots || {}).map(([id, s]) => ({
                id,
                timeCreated: s.timeCreated,
                provisioningState: s.state || "Succeeded",
                creationData: { sourceResourceId: s.source },
            }));
            // `--subscription`: that subscription's snapshots only, as Resource Manager lists them.
            if (name === "snapshot list")
                out(all.filter((s) => !opts.subscription || (idParts(s.id)[1] || "").toLowerCase() === opts.subscription.toLowerCase()));
            const found = all.find((s) => s.id.toLowerCase() === ids[0].toLowerCase());
            if (!found) error("ResourceNotFound", `The Resource '${ids[0]}' was not found.`);
            out(found);
        }
        case "vm start": {
            const v = vm();
            if (v.power === "deallocated" || v.power === "stopped") v.power = "starting";
            out({});
        }
        case "vm disk attach": {
            let v = vm();
            if (v.busy > 0) {
                v.busy--;
                error("Conflict", "Operation 'attachDisk' is not allowed since another operation is in progress on the VM.");
            }
            if (v.updating) {
                world.conflicts = (world.conflicts || 0) + 1;
                error("Conflict", "Operation 'attachDisk' is not allowed since another operation is in progress on the VM.");
            }
            if (world.attachMs) {
                // The update takes a while, and Azure refuses another update of this VM meanwhile.
                v.updating = true;
                save();
                io.release();
                Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, world.attachMs);
                const again = io.acquire(`${statePath}.lock`);
                Object.assign(world, JSON.parse(fs.readFileSync(statePath, "utf8")));
                worldLock.countTakeovers(world, again);
                v = vm();
                delete v.updating;
            }
            const id = opts.name;
            const d = world.disks[id.toLowerCase()];
            if (!d) error("NotFound", "disk not found");
            if (d.attachedTo) error("OperationNotAllowed", "Disk is already attached.");
            v.dataDisks = v.dataDisks || {};
            if (v.dataDisks[opts.lun]) error("InvalidParameter", "A disk at LUN is already attached.");
            v.dataDisks[opts.lun] = id;
            d.attachedTo = vmKey(opts["resource-group"], opts["vm-name"]);
            out(model(v));
        }
        case "vm disk detach": {
            const v = vm();
            for (const [lun, id] of Object.entries(v.dataDisks || {}))
                if (id.toLowerCase().endsWith(`/${opts.name.toLowerCase()}`)) {
                    delete v.dataDisks[lun];
                    world.disks[id.toLowerCase()].attachedTo = undefined;
                }
            out(model(v));
        }
        case "disk update": {
            const d = world.disks[ids[0].toLowerCase()];
            if (!d) error("NotFound", "disk not found");
            d.tags = d.tags || {};
            for (const s of opts.set || []) {
                const m = /^tags\.([^=]+)=(.*)$/.exec(s);
                d.tags[m[1]] = m[2];
            }
            out({});
        }
        case "vm run-command show": {
            // world.runCommands: "<group>/<vm>/<name>" → the Run Command's stdout, or its instance view
            // as the sandbox's azure-native provider keeps it ({ output, error, exitCode, executionState }).
            // The swap reads the output alone, as the real CLI prints it with --query instanceView.output --output tsv.
            vm();
            const key = `${opts["resource-group"]}/${opts["vm-name"]}/${opts["run-command-name"]}`.toLowerCase();
            const entry = (world.runCommands || {})[key];
            if (entry === undefined)
                error(
                    "ResourceNotFound",
                    `The Resource 'Microsoft.Compute/virtualMachines/${opts["vm-name"]}/runCommands/${opts["run-command-name"]}' was not found.`,
                );
            const ran = typeof entry === "string" ? { output: entry } : entry;
            const output = ran.output;
            const view = {
                name: opts["run-command-name"],
                instanceView: opts["instance-view"]
                    ? { executionState: ran.executionState || "Succeeded", exitCode: ran.exitCode ?? 0, output, error: ran.error || "" }
                    : null,
            };
            if (opts.query === undefined) out(view);
            if (opts.query !== "instanceView.output" || opts.output !== "tsv")
                error("InvalidArgument", `the stand-in knows only --query instanceView.output --output tsv here`);
            save();
            io.stdout(`${view.instanceView ? view.instanceView.output : ""}\n`);
            io.exit(0);
        }
        case "rest": {
            // Key Vault's data plane, as the ADE key lookup reads it. world.keyVault: { secrets: { url →
            // { value, contentType, tags } }, keys: { url → { privateKey (PEM) } }, denied: [vault] }.
            const kv = world.keyVault || {};
            const url = new URL(opts.url);
            const vault = url.hostname.split(".")[0];
            if (url.searchParams.get("api-version") !== "7.4" || opts.resource !== `https://${url.hostname.split(".").slice(1).join(".")}`)
                error("BadRequest", "api-version or token audience unexpected");
            if ((kv.denied || []).includes(vault)) {
                save();
                io.stderr(
                    `ERROR: Forbidden({"error":{"code":"Forbidden","message":"The user, group or application 'appid=00000000-1111-2222-3333-444444444444' does not have ${opts.method === "get" ? "secrets get" : "keys unwrapKey"} permission on key vault '${vault};location=eastus'.","innererror":{"code":"AccessDenied"}}})\n`,
                );
                io.exit(1);
            }
            const base = `${url.origin}${url.pathname}`.toLowerCase();
            if (opts.method === "get") {
                const secret = (kv.secrets || {})[base];
                if (!secret) error("SecretNotFound", `A secret with (name/id) ${url.pathname} was not found in this key vault.`);
                out({ id: `${url.origin}${url.pathname}`, attributes: { enabled: true }, ...secret });
            }
            if (opts.method === "post" && base.endsWith("/unwrapkey")) {
                const keyUrl = base.slice(0, -"/unwrapkey".length);
                const key = (kv.keys || {})[keyUrl];
                if (!key) error("KeyNotFound", `A key with (name/id) ${keyUrl} was not found in this key vault.`);
                if (opts.headers !== "Content-Type=application/json" || !String(opts.body).startsWith("@"))
                    error("BadRequest", "the stand-in wants --headers Content-Type=application/json --body @FILE");
                const body = JSON.parse(fs.readFileSync(opts.body.slice(1), "utf8"));
                const crypto = require("crypto");
                let plain;
                try {
                    plain = crypto.privateDecrypt(
                        {
                            key: key.privateKey,
                            padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
                            oaepHash: body.alg === "RSA-OAEP-256" ? "sha256" : "sha1",
                        },
                        Buffer.from(body.value, "base64url"),
                    );
                } catch {
                    error("BadParameter", "Unwrap failed: the value does not decrypt with this key.");
                }
                out({ kid: keyUrl, value: plain.toString("base64url") });
            }
            error("BadRequest", `the stand-in does not know ${opts.method} ${url.pathname}`);
        }
        default:
            error("InvalidCommand", `the stand-in does not know 'az ${name}'`);
    }
}

/** Runs one call of the stand-in az in this process: `{ code, stdout, stderr }`, as the executable would end. */
function run(argv, env) {
    return runCall("az", call, argv.map(String), env);
}

module.exports = { run };
