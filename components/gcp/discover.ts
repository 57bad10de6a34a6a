import {
    bootVerdict,
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
import { CliError, parseJson } from "../gate/types";
import { readGcpConfig } from "./config";
import { managedGroup } from "./identity";

/**
 * GCP discovery, per project:
 *   gcloud projects list / projects describe   the projects and their names (once)
 *   gcloud compute instances list   every instance of every zone (or of --zones), one call: status,
 *                                   boot disk licences and guest OS features (Windows), the managed
 *                                   instance group that created it
 *   gcloud compute instances get-serial-port-output   per running Windows instance the Falcon export
 *                                   does not settle: a stop error or the boot marker on port 1
 *   gcloud compute instances get-guest-attributes     only where the serial port shows neither
 * Compute Engine shows no guest health in a listing, so without an export every running Windows
 * instance costs one serial read.
 */
const PROJECT = /^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const ZONE = /^[a-z]+-[a-z]+\d{1,2}-[a-z]$/;

type Instance = {
    id?: string;
    name: string;
    zone?: string;
    status?: string;
    hostname?: string;
    disks?: { boot?: boolean; type?: string; licenses?: string[]; guestOsFeatures?: { type?: string }[] }[];
    metadata?: { items?: { key: string; value?: string }[] };
    confidentialInstanceConfig?: { enableConfidentialCompute?: boolean };
};

function call(cli: DiscoveryCli, project: string, op: string, args: string[]): Promise<string> {
    const command = op.startsWith("projects ") ? op.split(" ") : ["compute", ...op.split(" ")];
    return cli.run({
        cloud: "gcp",
        scope: project,
        op,
        command: "gcloud",
        args: [
            ...command,
            ...args,
            ...(project && !op.startsWith("projects ") ? ["--project", project] : []),
            "--format",
            "json",
            "--quiet",
        ],
    });
}

async function scopes(request: ScopeRequest, cli: DiscoveryCli): Promise<DiscoveryScope[]> {
    const { bootMarker, linuxBootMarker } = readGcpConfig(request.config, request.stackFile);
    const guests = (request.guests ?? ["windows"]).join(",");
    const zones = (request.options["--zones"] ?? []).join(",");
    const wanted = request.options["--projects"];
    let projects: { projectId: string; name?: string }[];
    if (wanted) {
        projects = await Promise.all(
            wanted.map(async (p) => {
                try {
                    return parseJson<{ projectId: string; name?: string }>(await call(cli, p, "projects describe", [p]), { projectId: p });
                } catch (err) {
                    if (err instanceof CliError && !err.transient)
                        throw new OptionError(
                            `--projects: project ${p} cannot be read by this login: ${err.message.split("\n").filter(Boolean).pop()}`,
                        );
                    throw err;
                }
            }),
        );
    } else {
        projects = parseJson<{ projectId: string; name?: string; lifecycleState?: string }[]>(
            await call(cli, "", "projects list", []),
            [],
        ).filter((p) => !p.lifecycleState || p.lifecycleState === "ACTIVE");
    }
    return projects
        .filter((p) => PROJECT.test(p.projectId))
        .map((p) => ({
            cloud: "gcp",
            scope: p.projectId,
            scopeName: p.name ?? "",
            region: "",
            fields: { zones, marker: bootMarker, linuxMarker: linuxBootMarker, guests },
        }));
}

function isWindows(i: Instance): boolean {
    const boot = (i.disks ?? []).find((d) => d.boot);
    return (
        (boot?.licenses ?? []).some((l) => /\/projects\/windows-cloud\/global\/licenses\//.test(l)) ||
        (boot?.guestOsFeatures ?? []).some((f) => f.type === "WINDOWS")
    );
}

async function list(scope: DiscoveryScope, cli: DiscoveryCli): Promise<{ vms: ListedVm[]; notWindows: number }> {
    const zones = scope.fields.zones;
    const all = parseJson<Instance[]>(await call(cli, scope.scope, "instances list", zones ? ["--zones", zones] : []), []);
    // Windows instances (the default); with --guests linux, the others too, as Linux guests.
    const guests = (scope.fields.guests ?? "windows").split(",");
    const found = all.filter((i) => guests.includes(isWindows(i) ? "windows" : "linux"));
    const vms = found.map((i): ListedVm => {
        const zone = (i.zone ?? "").split("/").pop() ?? "";
        const createdBy = (i.metadata?.items ?? []).find((m) => m.key === "created-by")?.value ?? "";
        const mig = /\/instanceGroupManagers\/([^/]+)$/.exec(createdBy)?.[1];
        const status = i.status ?? "UNKNOWN";
        return {
            cloud: "gcp",
            ...(isWindows(i) ? {} : { os: "linux" as const }),
            fields: { project: scope.scope, zone, instance: i.name },
            scope: scope.scope,
            scopeName: scope.scopeName,
            region: zone.replace(/-[a-z]$/, ""),
            zone,
            name: i.name,
            hostnames: [i.name, i.hostname ?? ""].filter(Boolean).map((h) => h.toLowerCase()),
            instanceIds: [i.name, i.id ?? ""].filter(Boolean).map((h) => h.toLowerCase()),
            power:
                status === "RUNNING"
                    ? "running"
                    : status === "TERMINATED" || status === "STOPPED" || status === "SUSPENDED"
                      ? "stopped"
                      : "other",
            powerState: status,
            ...(mig ? { scaleGroup: managedGroup(mig) } : {}),
            ...(i.confidentialInstanceConfig?.enableConfidentialCompute
                ? { noRescuePath: "it is a Confidential VM (its disk is bound to the VM's keys)" }
                : {}),
            health: "unknown",
            signals: [],
            readable: true,
            memo: {},
        };
    });
    return { vms, notWindows: all.length - found.length };
}

async function read(vm: ListedVm, scope: DiscoveryScope, cli: DiscoveryCli): Promise<OutputRead> {
    const where = [vm.fields.instance, "--zone", vm.fields.zone];
    let contents: string;
    try {
        contents =
            parseJson<{ contents?: string }>(
                await call(cli, scope.scope, "instances get-serial-port-output", [...where, "--port", "1"]),
                {},
            ).contents ?? "";
    } catch (err) {
        return unreadable("serial port 1", err);
    }
    // A Linux guest: its serial port alone (a panic, emergency mode, a dracut shell, or a login).
    if (vm.os === "linux") return consoleVerdict(contents, "linux", new RegExp(scope.fields.linuxMarker), "on serial port 1");
    const { bugcheck, booted } = bootVerdict(contents, new RegExp(scope.fields.marker));
    if (bugcheck) return { bugcheck, booted, signals: ["a Windows stop error on serial port 1 after its last boot marker"] };
    if (booted) return { bugcheck, booted, signals: [] };
    // Neither: does the guest agent show signs of life? (Guest attributes off, or none: no.)
    let agent: boolean | undefined;
    try {
        agent = parseJson<unknown[]>(await call(cli, scope.scope, "instances get-guest-attributes", where), []).length > 0;
    } catch (err) {
        // Guest attributes switched off answer with an error: no sign of the agent either.
        agent = err instanceof CliError && err.transient ? undefined : false;
    }
    const agentSignal =
        agent === undefined ? ["guest attributes not readable (busy)"] : agent ? [] : ["no guest attributes from the agent"];
    return {
        bugcheck,
        booted,
        agent,
        signals: [contents ? "no boot marker on serial port 1 since the last start" : "nothing on serial port 1", ...agentSignal],
    };
}

export const gcpDiscovery: CloudDiscovery = {
    cloud: "gcp",
    scopeLabel: "project",
    options: [
        {
            flag: "--projects",
            pattern: PROJECT,
            expected: "project ids",
            help: "GCP projects (default: every active project the login can list)",
        },
        {
            flag: "--zones",
            pattern: ZONE,
            expected: "zones such as us-central1-a",
            help: "only these zones of each project (default: every zone)",
        },
    ],
    readActions: [
        "resourcemanager.projects.get",
        "compute.instances.list",
        "compute.instances.getSerialPortOutput",
        "compute.instances.getGuestAttributes",
    ],
    scopes,
    list,
    read,
};
