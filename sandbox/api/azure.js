// STAND-IN (for the tests and for `npm run sandbox`) for Azure Resource Manager's REST API, as the
// watcher reads it (components/azure/api.ts): a front.js translator. A GET of a VM by id becomes
// the stand-in az call that answers the same question on the same world (its call log, budget and
// faults stay the CLI's), and the CLI's answer becomes the REST API's:
//   GET /subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/virtualMachines/N?$expand=instanceView
//       → az vm get-instance-view --ids ID   (the request that command makes: the VM with properties.instanceView)
//   GET …/virtualMachines/N/instanceView     → az vm get-instance-view --ids ID   (the instance view alone)
//   GET …/virtualMachines/N                  → az vm show --ids ID
// The CLI flattens a resource's `properties`; the REST API keeps them (learn.microsoft.com/rest/api/compute/virtual-machines/get).
// Errors come back as ARM sends them: {"error": {"code", "message"}} with the status of the code
// (429 with Retry-After for throttling, 404 for ResourceNotFound, 403, 409, 400), 500 when the
// stand-in said nothing we know. The steps' calls the watcher makes (components/azure/actions.ts)
// become the very az calls the scripts would have run (the same argv: the world's budget, faults
// and call log are the CLI's):
//   POST …/virtualMachines/N/restart|start|deallocate → az vm restart|start|deallocate --subscription S -g G -n N --no-wait …
//       202 Accepted, no body (learn.microsoft.com/rest/api/compute/virtual-machines/restart, …/start, …/deallocate)
//   PATCH …/virtualMachines/N {"properties":{"storageProfile":{"osDisk":{"managedDisk":{"id":D},"name":…}}}}
//       → az vm update --subscription S -g G -n N --os-disk D --no-wait …   200 with the VM
//       (learn.microsoft.com/rest/api/compute/virtual-machines/update); any other body is refused (400).
// Auth: a bearer token the stand-in az issued
// (`az account get-access-token`: standin-arm.<expiry>.<random>), else 401 as ARM answers.
const PREFIX = "/azure";
const VM_PATH =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)(\/instanceView)?$/i;
const VM_ACTION_PATH =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/(restart|start|deallocate)$/i;
/** What the stand-in az appends to every call the scripts make (az_json). */
const AZ_TAIL = ["--output", "json", "--only-show-errors"];

/** The HTTP status ARM answers an error code with. */
function statusOf(code) {
    if (/^(TooManyRequests|(Subscription|Tenant|Resource)RequestsThrottled)$/.test(code)) return 429;
    if (/NotFound$/.test(code)) return 404;
    if (/^(AuthorizationFailed|Forbidden|LinkedAuthorizationFailed)$/.test(code)) return 403;
    if (/^(Conflict|OperationNotAllowed)$/.test(code)) return 409;
    if (/^(InvalidCommand|BadRequest|InvalidArgument|InvalidParameter|BadParameter)$/.test(code)) return 400;
    return 500;
}

/** A JSON answer. */
function json(status, body, headers) {
    return {
        status,
        headers: { "content-type": "application/json; charset=utf-8", ...(headers || {}) },
        body: JSON.stringify(body),
    };
}

/** ARM's error answer. */
function armError(status, code, message, headers) {
    return json(status, { error: { code, message } }, headers);
}

/** The stand-in CLI's failure (stderr "ERROR: (Code) message\nCode: Code") as ARM's error answer. */
function fromCliError(result) {
    const m = /ERROR: \(([A-Za-z]+)\) ([^\n]*)/.exec(result.stderr || "");
    if (!m) return armError(500, "InternalServerError", `the stand-in az failed (exit ${result.code}): ${(result.stderr || "").trim()}`);
    const status = statusOf(m[1]);
    const retry = /try again after '(\d+)' seconds/.exec(m[2]);
    return armError(status, m[1], m[2], status === 429 ? { "retry-after": retry ? retry[1] : "1" } : undefined);
}

/** The caller's token, as ARM checks it: present, issued by the stand-in az, not expired. */
function unauthorized(headers) {
    const auth = headers.authorization || "";
    if (!auth) return armError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
    const m = /^Bearer standin-arm\.(\d+)\.[0-9a-f]+$/.exec(auth);
    if (!m) return armError(401, "InvalidAuthenticationToken", "The access token is invalid.");
    if (Number(m[1]) * 1000 <= Date.now())
        return armError(
            401,
            "ExpiredAuthenticationToken",
            `The access token expiry UTC time '${new Date(Number(m[1]) * 1000).toUTCString()}' is earlier than current UTC time '${new Date().toUTCString()}'.`,
        );
    return undefined;
}

/** The VM a path names: its subscription, group and name, decoded. */
function vmOf(m) {
    return { sub: decodeURIComponent(m[1]), group: decodeURIComponent(m[2]), name: decodeURIComponent(m[3]) };
}

/** A request's query beyond api-version (none of these requests takes one: `hibernate` would not be az's call). */
function extraQuery(req) {
    const extra = [...req.query.keys()].filter((k) => k !== "api-version");
    return extra.length ? armError(400, "InvalidParameter", `the stand-in Resource Manager takes no ${extra.join(", ")} here`) : undefined;
}

/** POST …/restart|start|deallocate: the az call with --no-wait; 202 Accepted, no body. */
/** The script's own az call on a VM (vm-lib.sh's vm_args), `--no-wait`, as az_json ends it. */
function vmCall(verb, vm, more = []) {
    return ["vm", verb, "--subscription", vm.sub, "-g", vm.group, "-n", vm.name, ...more, "--no-wait", ...AZ_TAIL];
}

async function vmAction(req, standIn) {
    const m = VM_ACTION_PATH.exec(req.path);
    if (!m) return armError(400, "InvalidResourceType", `the stand-in Resource Manager does not know POST ${req.path}`);
    const refused = extraQuery(req);
    if (refused) return refused;
    if (req.body.trim()) return armError(400, "InvalidRequestContent", `POST ${m[4]} takes no body`);
    const result = await standIn(vmCall(m[4].toLowerCase(), vmOf(m)));
    if (result.code !== 0) return fromCliError(result);
    return { status: 202, headers: {}, body: "" };
}

/** PATCH of a VM: the OS disk swap alone (az vm update --os-disk, --no-wait); 200 with the VM. */
async function vmUpdate(req, standIn) {
    const m = VM_PATH.exec(req.path);
    if (!m || m[4]) return armError(400, "InvalidResourceType", `the stand-in Resource Manager does not know PATCH ${req.path}`);
    const refused = extraQuery(req);
    if (refused) return refused;
    let body;
    try {
        body = JSON.parse(req.body);
    } catch {
        return armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
    }
    const osDisk = body && body.properties && body.properties.storageProfile && body.properties.storageProfile.osDisk;
    const id = osDisk && osDisk.managedDisk && osDisk.managedDisk.id;
    const only =
        JSON.stringify(Object.keys(body || {})) === '["properties"]' &&
        JSON.stringify(Object.keys(body.properties)) === '["storageProfile"]' &&
        JSON.stringify(Object.keys(body.properties.storageProfile)) === '["osDisk"]' &&
        JSON.stringify(Object.keys(osDisk || {}).sort()) === '["managedDisk","name"]' &&
        JSON.stringify(Object.keys(osDisk.managedDisk || {})) === '["id"]' &&
        typeof id === "string" &&
        osDisk.name === id.split("/").pop();
    if (!only)
        return armError(
            400,
            "InvalidParameter",
            "the stand-in Resource Manager takes a PATCH of the OS disk's managedDisk.id and name alone",
        );
    const vm = vmOf(m);
    const result = await standIn(vmCall("update", vm, ["--os-disk", id]));
    if (result.code !== 0) return fromCliError(result);
    const flattened = JSON.parse(result.stdout);
    const vmId = `/subscriptions/${vm.sub}/resourceGroups/${vm.group}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
    return json(200, {
        id: vmId,
        name: vm.name,
        type: "Microsoft.Compute/virtualMachines",
        properties: { ...flattened, provisioningState: "Updating" },
    });
}

module.exports = {
    prefix: PREFIX,

    /** The watcher's Resource Manager is the front (components/azure/api.ts reads these); tokens are asked for ARM's audience. */
    endpointEnv(base) {
        return { AZURE_RESOURCE_MANAGER_ENDPOINT: base, AZURE_RESOURCE_MANAGER_AUDIENCE: "https://management.azure.com/" };
    },

    async handle(req, standIn) {
        const denied = unauthorized(req.headers);
        if (denied) return denied;
        if (!["GET", "POST", "PATCH"].includes(req.method))
            return armError(405, "MethodNotAllowed", `the stand-in Resource Manager answers GET, POST and PATCH only, not ${req.method}`);
        const version = req.query.get("api-version");
        if (!version)
            return armError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version))
            return armError(400, "InvalidApiVersionParameter", `The api-version '${version}' is invalid.`);
        if (req.method === "POST") return vmAction(req, standIn);
        if (req.method === "PATCH") return vmUpdate(req, standIn);
        const m = VM_PATH.exec(req.path);
        if (!m) return armError(400, "InvalidResourceType", `the stand-in Resource Manager does not know ${req.path}`);
        const [, sub, group, name, viewOnly] = m;
        const id = `/subscriptions/${decodeURIComponent(sub)}/resourceGroups/${decodeURIComponent(group)}/providers/Microsoft.Compute/virtualMachines/${decodeURIComponent(name)}`;
        const withView = Boolean(viewOnly) || /^instanceView$/i.test(req.query.get("$expand") || "");
        const result = await standIn([
            "vm",
            withView ? "get-instance-view" : "show",
            "--ids",
            id,
            "--output",
            "json",
            "--only-show-errors",
        ]);
        if (result.code !== 0) return fromCliError(result);
        const vm = JSON.parse(result.stdout);
        if (viewOnly) return json(200, vm.instanceView || {});
        const { id: _id, instanceView, ...flattened } = vm;
        return json(200, {
            id: vm.id || id,
            name: decodeURIComponent(name),
            type: "Microsoft.Compute/virtualMachines",
            properties: { ...flattened, provisioningState: "Succeeded", ...(withView && instanceView ? { instanceView } : {}) },
        });
    },
};
