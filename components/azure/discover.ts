import {
    BUGCHECK,
    CloudDiscovery,
    consoleVerdict,
    DiscoveryCli,
    DiscoveryScope,
    ListedVm,
    OptionError,
    OutputRead,
    ScopeRequest,
    unreadable,
} from "../tools/discovery/types";
import { LINUX_BOOT_MARKER } from "../core/contract/vm";
import { parseJson } from "../gate/types";
import { scaleSetOf } from "./identity";

/**
 * Azure discovery, per subscription:
 *   az account list                the subscriptions the login can read, and their names (once)
 *   az vm list                     every VM's model (OS type, zone, scale set, boot diagnostics), one call
 *   az rest … virtualMachines?statusOnly=true   every VM's power state and VM agent status, one
 *                                  call per page; VMs whose view lacks the agent are read with
 *   az vm get-instance-view --ids  up to 50 VMs a call
 *   az vm boot-diagnostics get-boot-log   per VM, only where the listing and the Falcon export leave
 *                                  a question and boot diagnostics are on: a stop error in the serial log
 */
const SUBSCRIPTION = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP = /^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$/;
const API_VERSION = "2024-07-01";
/** Instance views read per `get-instance-view --ids` call. */
const VIEW_BATCH = 50;

type Model = {
    id: string;
    name: string;
    resourceGroup?: string;
    location?: string;
    zones?: string[];
    vmId?: string;
    storageProfile?: { osDisk?: { osType?: string; managedDisk?: { id?: string } | null; diffDiskSettings?: unknown } };
    osProfile?: { computerName?: string } | null;
    virtualMachineScaleSet?: { id?: string } | null;
    diagnosticsProfile?: { bootDiagnostics?: { enabled?: boolean } } | null;
    securityProfile?: { securityType?: string } | null;
    resources?: { id?: string }[] | null;
};
type View = { statuses?: { code?: string }[]; vmAgent?: { statuses?: { displayStatus?: string; message?: string }[] } };

const lower = (s: string | undefined) => (s ?? "").toLowerCase();

/** Runs `az <op> args…`; `rest get` is `az rest --method get`, rated as a read. */
export function azCall(cli: DiscoveryCli, subscription: string, op: string, args: string[]): Promise<string> {
    const words = op === "rest get" ? ["rest"] : op.split(" ");
    return cli.run({
        cloud: "azure",
        scope: lower(subscription),
        op,
        command: "az",
        args: [...words, ...args, "--output", "json", "--only-show-errors"],
    });
}

async function scopes(request: ScopeRequest, cli: DiscoveryCli): Promise<DiscoveryScope[]> {
    const readable = parseJson<{ id: string; name?: string; state?: string }[]>(await azCall(cli, "", "account list", []), []).filter(
        (s) => !s.state || s.state === "Enabled",
    );
    // `az account list` lists a subscription once per login that reaches it: each is scanned once.
    const byId = new Map<string, { id: string; name?: string }>();
    for (const s of readable) if (!byId.has(lower(s.id))) byId.set(lower(s.id), s);
    const wanted = request.options["--subscriptions"];
    for (const id of wanted ?? []) {
        if (!byId.has(lower(id)))
            throw new OptionError(
                `--subscriptions: subscription ${id} is not one this login can read (az account list), or it is not enabled`,
            );
    }
    const groups = (request.options["--resource-groups"] ?? []).join(",");
    const ids = [...new Set((wanted ?? [...byId.keys()]).map(lower))];
    return ids.map((id) => ({
        cloud: "azure",
        scope: id,
        scopeName: byId.get(id)?.name ?? "",
        region: "",
        fields: { resourceGroups: groups, guests: (request.guests ?? ["windows"]).join(",") },
    }));
}

/** The instance views of every VM of a subscription, by lowercase id: one call per page of the statusOnly listing. */
async function instanceViews(cli: DiscoveryCli, subscription: string): Promise<Map<string, View>> {
    const views = new Map<string, View>();
    let url: string | undefined =
        `/subscriptions/${subscription}/providers/Microsoft.Compute/virtualMachines?api-version=${API_VERSION}&statusOnly=true`;
    for (let page = 0; url && page < 1000; page++) {
        const body: { value?: { id?: string; properties?: { instanceView?: View } }[]; nextLink?: string } = parseJson(
            await azCall(cli, subscription, "rest get", ["--method", "get", "--url", url]),
            {},
        );
        for (const v of body.value ?? []) if (v.id) views.set(lower(v.id), v.properties?.instanceView ?? {});
        url = body.nextLink;
    }
    return views;
}

async function list(scope: DiscoveryScope, cli: DiscoveryCli): Promise<{ vms: ListedVm[]; notWindows: number }> {
    const groups = new Set(scope.fields.resourceGroups.split(",").filter(Boolean).map(lower));
    const models = parseJson<Model[]>(await azCall(cli, scope.scope, "vm list", ["--subscription", scope.scope]), []).filter(
        (m) => groups.size === 0 || groups.has(lower(m.resourceGroup)),
    );
    // Windows VMs (the default); with --guests linux, Linux VMs too (their OS disk's osType).
    const guests = (scope.fields.guests ?? "windows").split(",");
    const osOf = (m: Model) => lower(m.storageProfile?.osDisk?.osType);
    const windows = models.filter((m) => guests.includes(osOf(m)));
    if (windows.length === 0) return { vms: [], notWindows: models.length };
    const views = await instanceViews(cli, scope.scope);
    // A view without the agent's status (the listing may leave it out): read those VMs' full views.
    const power = (v: View | undefined) =>
        (v?.statuses ?? []).find((s) => (s.code ?? "").startsWith("PowerState/"))?.code?.slice(11) ?? "unknown";
    const missing = windows.filter((m) => power(views.get(lower(m.id))) === "running" && !views.get(lower(m.id))?.vmAgent);
    for (let i = 0; i < missing.length; i += VIEW_BATCH) {
        const ids = missing.slice(i, i + VIEW_BATCH).map((m) => m.id);
        const got = parseJson<({ id?: string; instanceView?: View } | null)[] | { id?: string; instanceView?: View }>(
            await azCall(cli, scope.scope, "vm get-instance-view", ["--ids", ...ids]),
            [],
        );
        for (const v of Array.isArray(got) ? got : [got])
            if (v?.id) views.set(lower(v.id), { ...v.instanceView, vmAgent: v.instanceView?.vmAgent ?? { statuses: [] } });
    }
    const vms = windows.map((m): ListedVm => {
        const view = views.get(lower(m.id));
        const state = power(view);
        const agent = view?.vmAgent?.statuses?.[0]?.displayStatus ?? "";
        const signals: string[] = [];
        let health: ListedVm["health"] = "unknown";
        if (state === "running") {
            if (agent === "Ready") health = "healthy";
            else {
                health = "failing";
                signals.push(agent ? `running, VM agent ${agent}` : "running, VM agent not reporting");
            }
        }
        const osDisk = m.storageProfile?.osDisk;
        const noRescuePath = !osDisk?.managedDisk?.id
            ? "its OS disk is an unmanaged VHD"
            : osDisk.diffDiskSettings
              ? "its OS disk is ephemeral"
              : /confidential/i.test(m.securityProfile?.securityType ?? "")
                ? "it is a confidential VM (its disk is bound to the VM's keys)"
                : (m.resources ?? []).some((r) => /\/extensions\/AzureDiskEncryptionForLinux$/i.test(r.id ?? ""))
                  ? "its OS disk has Azure Disk Encryption for Linux (dm-crypt), which the repair engine cannot open"
                  : undefined;
        const ade = (m.resources ?? []).some((r) => /\/extensions\/AzureDiskEncryption$/i.test(r.id ?? ""));
        const zone = (m.zones ?? [])[0] ?? "";
        const computerName = m.osProfile?.computerName ?? undefined;
        return {
            cloud: "azure",
            ...(osOf(m) === "linux" ? { os: "linux" as const } : {}),
            fields: {
                subscriptionId: scope.scope,
                resourceGroup: m.resourceGroup ?? m.id.split("/")[4] ?? "",
                vmName: m.name,
                ...(m.location ? { location: m.location } : {}),
                ...(zone ? { zone } : {}),
                ...(ade ? { diskEncryption: "ade" } : {}),
            },
            scope: scope.scope,
            scopeName: scope.scopeName,
            region: m.location ?? "",
            // Zone numbers mean something only within a location: "eastus2-1".
            zone: zone ? `${m.location ?? ""}-${zone}` : "",
            name: `${m.resourceGroup ?? ""}/${m.name}`,
            computerName,
            hostnames: [m.name, computerName ?? ""].filter(Boolean).map(lower),
            instanceIds: [m.name, m.vmId ?? "", m.id].filter(Boolean).map(lower),
            power: state === "running" ? "running" : state === "stopped" || state === "deallocated" ? "stopped" : "other",
            powerState: state,
            ...(m.virtualMachineScaleSet?.id ? { scaleGroup: scaleSetOf(m.virtualMachineScaleSet.id) } : {}),
            ...(noRescuePath ? { noRescuePath } : {}),
            health,
            signals,
            readable: m.diagnosticsProfile?.bootDiagnostics?.enabled === true,
            memo: { id: m.id },
        };
    });
    return { vms, notWindows: models.length - windows.length };
}

async function read(vm: ListedVm, scope: DiscoveryScope, cli: DiscoveryCli): Promise<OutputRead> {
    let log: string;
    try {
        log = await azCall(cli, scope.scope, "vm boot-diagnostics get-boot-log", ["--ids", vm.memo.id]);
    } catch (err) {
        return unreadable("serial log", err);
    }
    // A Linux guest's serial log: a panic, emergency mode or a dracut shell after its last login prompt.
    if (vm.os === "linux") return consoleVerdict(log, "linux", new RegExp(LINUX_BOOT_MARKER), "in the serial log");
    const bugcheck = BUGCHECK.test(log);
    return { bugcheck, booted: false, signals: [bugcheck ? "a Windows stop error in the serial log" : "no stop error in the serial log"] };
}

export const azureDiscovery: CloudDiscovery = {
    cloud: "azure",
    scopeLabel: "subscription",
    options: [
        {
            flag: "--subscriptions",
            pattern: SUBSCRIPTION,
            expected: "subscription GUIDs",
            help: "Azure subscriptions (default: every enabled one the login can read)",
        },
        {
            flag: "--resource-groups",
            pattern: RESOURCE_GROUP,
            expected: "resource group names",
            help: "only these resource groups of each subscription",
        },
    ],
    readActions: [
        "Microsoft.Resources/subscriptions/read",
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Compute/virtualMachines/instanceView/read",
        "Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action",
    ],
    scopes,
    list,
    read,
};
