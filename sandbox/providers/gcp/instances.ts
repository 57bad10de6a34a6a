// Compute Engine instances and firewall rules in the GCP stand-in provider. An instance's insert
// is an operation (PROVISIONING, STAGING, then RUNNING when the provider's create returns); one
// whose startup script installs the bootloop-rescue agent, with guest attributes on, runs the
// agent in the gcloud stand-in (which repairs the `br-…` disks attached to it).
import { createHash } from "crypto";
import { Props, StandInResource } from "../host";
import { COMPUTE, GcpInstance, GcpWorld, nameOf, paths, pathOf, regionOf } from "../../world/gcp-world";
import {
    added,
    attempt,
    alreadyExists,
    autoName,
    computeTimestamp,
    etag,
    googleApiError,
    inUse,
    notFound,
    numericId,
    object,
    objects,
    required,
    stringMap,
    text,
} from "./google-api";
import { newDisk } from "./disks";
import { pollOperation } from "./budget";
import { global, inWorld, instanceIn, stepByStep, zonal } from "./store";

/** The marks of the rescue agent in a startup script (rescue.ts installs rescue-agent.sh as a systemd service). */
const AGENT = /rescue-agent\.sh/;
/** The rescue tools a startup script reads from project metadata (components/gcp/tools.ts): the items' keys and their SHA-256. */
const TOOLS_KEYS = /^\s*for key in ((?:bootloop-rescue-tools-[0-9a-z-]+ ?)+); do$/m;
const TOOLS_SHA = /\bsha=([0-9a-f]{64})\b/;

/**
 * Whether a startup script gets the rescue tools it names, as it would at first boot: every item
 * it reads is in the project's metadata and together they have the SHA-256 it checks. A script
 * that names none (an older one, or a test's) gets what it carries.
 */
function toolsDelivered(w: GcpWorld, project: string, script: string): boolean {
    const keys = TOOLS_KEYS.exec(script)?.[1].trim().split(" ");
    if (!keys) return true;
    const items = w.projectMetadata[project] ?? {};
    if (keys.some((k) => items[k] === undefined)) return false;
    const bundle = Buffer.from(keys.map((k) => items[k]).join(""), "base64");
    return createHash("sha256").update(bundle).digest("hex") === TOOLS_SHA.exec(script)?.[1];
}

/** The subnetwork (and its network) a network interface names, as paths, or Compute Engine's 404. */
function placeNic(w: GcpWorld, nic: Props, project: string, zone: string): { network: string; subnetwork: string } {
    const sub = text(nic, "subnetwork");
    const net = text(nic, "network");
    if (sub) {
        const path = /^projects\//.test(pathOf(sub))
            ? pathOf(sub)
            : paths.subnetwork(text(nic, "subnetworkProject") ?? project, regionOf(zone), nameOf(sub));
        const found = w.subnetworks[path];
        if (!found) throw new Error(notFound(path));
        return { network: found.network, subnetwork: path };
    }
    const network = net
        ? /^projects\//.test(pathOf(net))
            ? pathOf(net)
            : paths.network(project, nameOf(net))
        : paths.network(project, "default");
    if (!w.networks[network]) throw new Error(notFound(network));
    const subnetwork = Object.entries(w.subnetworks).find(([, s]) => s.network === network && s.region === regionOf(zone))?.[0];
    if (!subnetwork)
        throw new Error(googleApiError(400, `Network '${network}' has no subnetwork in region '${regionOf(zone)}'`, "invalid"));
    return { network, subnetwork };
}

/** The boot disk a new instance gets: the disk `bootDisk.source` names, or a new one from its image named after it. */
function bootDiskOf(w: GcpWorld, boot: Props, at: { project: string; zone: string; name: string }): string {
    const source = text(boot, "source");
    if (source) {
        const ref = zonal(source, at.project, at.zone);
        const d = w.disks[ref.name];
        if (!d || d.project !== ref.project || d.zone !== ref.zone) throw new Error(notFound(paths.disk(ref.project, ref.zone, ref.name)));
        if (d.attachedTo)
            throw new Error(inUse(paths.disk(ref.project, ref.zone, ref.name), paths.instance(d.project, d.zone, d.attachedTo)));
        return ref.name;
    }
    const init = object(boot, "initializeParams");
    const image = { image: text(init, "image") ?? "debian-cloud/debian-12", size: init.size, type: init.type, labels: init.labels };
    newDisk(w, image, at.name, at.project, at.zone).status = "READY";
    return at.name;
}

/** Writes a new instance into the world (PROVISIONING), with its boot disk attached. */
function newInstance(w: GcpWorld, inputs: Props, at: { project: string; zone: string; name: string }): void {
    const { project, zone, name } = at;
    if (w.instances[name]) throw new Error(alreadyExists(paths.instance(project, zone, name)));
    const id = numericId();
    const nics = objects(inputs, "networkInterfaces").map((nic, n) => ({
        ...placeNic(w, nic, project, zone),
        networkIp: `10.128.0.${10 + ((Number(id.slice(-2)) + n) % 240)}`,
    }));
    if (nics.length === 0) throw new Error(googleApiError(400, "At least one network interface is required.", "invalid"));
    const account = text(object(inputs, "serviceAccount"), "email");
    if (account && !w.serviceAccounts[account])
        throw new Error(
            googleApiError(
                400,
                `Invalid value for field 'resource.serviceAccounts[0].email': '${account}'. The user does not have access to service account '${account}'.`,
                "invalid",
            ),
        );
    const boot = object(inputs, "bootDisk");
    const bootDisk = bootDiskOf(w, boot, at);
    w.disks[bootDisk].attachedTo = name;
    const metadata = stringMap(inputs, "metadata");
    const script = text(inputs, "metadataStartupScript") ?? metadata["startup-script"] ?? "";
    w.instances[name] = {
        project,
        zone,
        id,
        status: "PROVISIONING",
        disks: [
            {
                source: bootDisk,
                boot: true,
                deviceName: text(boot, "deviceName") ?? "persistent-disk-0",
                mode: "READ_WRITE",
                autoDelete: !text(boot, "source"),
            },
        ],
        serial: "",
        windows: w.disks[bootDisk].windows ?? false,
        machineType: text(inputs, "machineType") ?? "n1-standard-1",
        networkInterfaces: nics,
        metadata,
        labels: stringMap(inputs, "labels"),
        tags: Array.isArray(inputs.tags) ? inputs.tags.map(String) : [],
        serviceAccount: account,
        agent: AGENT.test(script) && metadata["enable-guest-attributes"]?.toUpperCase() === "TRUE" && toolsDelivered(w, project, script),
        stopPolls: 1,
        bootPolls: 1,
        creationTimestamp: computeTimestamp(),
    };
}

/** The outputs of an instance the world holds. */
function instanceOutputs(i: GcpInstance): Props {
    return { currentStatus: i.status, instanceId: i.id };
}

/** A Compute Engine instance. Deleting it deletes its auto-delete disks (its boot disk) and detaches the others. */
export const instance: StandInResource = {
    // ForceNew in google_compute_instance's schema (hashicorp/terraform-provider-google at e03b7622a2,
    // google/services/compute/resource_compute_instance.go), as the Pulumi SDK names them, and
    // metadataStartupScript, which its CustomizeDiff forces new on any change
    // (isGracefulMetadataStartupSwitch). Metadata, labels, tags, machine type and service account
    // change in place (the last two stop the instance, with allowStoppingForUpdate).
    replaceOn: [
        "bootDisk",
        "name",
        "networkInterfaces",
        "networkPerformanceConfig",
        "guestAccelerators",
        "params",
        "project",
        "scratchDisks",
        "confidentialInstanceConfig",
        "zone",
        "hostname",
        "reservationAffinity",
        "keyRevocationActionType",
        "instanceEncryptionKey",
        "metadataStartupScript",
    ],
    async create(inputs) {
        const project = required(inputs, "project");
        const zone = required(inputs, "zone");
        const name = required(inputs, "name");
        const made = await stepByStep(
            [
                (w) => attempt("Error creating instance", () => void newInstance(w, inputs, { project, zone, name })),
                (w) => void (w.instances[name].status = "STAGING"),
            ],
            (w) => {
                const i = w.instances[name];
                i.status = "RUNNING";
                i.serial += "Booting Linux...\nGCEGuestAgent: Started\nGCEMetadataScripts: Starting startup scripts.\n";
                return i;
            },
            () => pollOperation(inputs),
        );
        return {
            id: paths.instance(project, zone, name),
            outs: added(inputs, {
                instanceId: made.id,
                selfLink: `${COMPUTE}${paths.instance(project, zone, name)}`,
                currentStatus: made.status,
                creationTimestamp: made.creationTimestamp,
                cpuPlatform: "Intel Broadwell",
                metadataFingerprint: etag(),
                tagsFingerprint: etag(),
                labelFingerprint: etag(),
                effectiveLabels: made.labels,
                pulumiLabels: made.labels,
            }),
        };
    },
    read(id) {
        const { project, zone, name } = zonal(id, "", "");
        return inWorld((w) => {
            const i = w.instances[name];
            return i && i.project === project && i.zone === zone ? instanceOutputs(i) : undefined;
        });
    },
    update(id, olds, news) {
        const { project, zone, name } = zonal(id, "", "");
        return inWorld((w) =>
            attempt(`Error updating instance ${name}`, () => {
                const i = instanceIn(w, project, zone, name);
                const stops =
                    text(news, "machineType") !== text(olds, "machineType") ||
                    JSON.stringify(news.serviceAccount) !== JSON.stringify(olds.serviceAccount);
                if (stops && news.allowStoppingForUpdate !== true)
                    throw new Error(
                        'Changing the machine_type, min_cpu_platform, service_account, enable_display, shielded_instance_config, scheduling.node_affinities or network_interface.[#d].(network/subnetwork/subnetwork_project) or advanced_machine_features on a started instance requires stopping it. To acknowledge this, please set allow_stopping_for_update = true in your config. You can also stop it by setting desired_status = "TERMINATED", but the instance will not be restarted after the update.',
                    );
                i.metadata = stringMap(news, "metadata");
                i.labels = stringMap(news, "labels");
                i.tags = Array.isArray(news.tags) ? news.tags.map(String) : [];
                i.machineType = text(news, "machineType") ?? i.machineType;
                i.serviceAccount = text(object(news, "serviceAccount"), "email") ?? i.serviceAccount;
                return { ...instanceOutputs(i), effectiveLabels: i.labels, pulumiLabels: i.labels, metadataFingerprint: etag() };
            }),
        );
    },
    delete(id) {
        const { project, zone, name } = zonal(id, "", "");
        inWorld((w) => {
            const i = w.instances[name];
            if (!i || i.project !== project || i.zone !== zone) return;
            for (const d of i.disks) {
                if (d.autoDelete) delete w.disks[d.source];
                else if (w.disks[d.source]?.attachedTo === name) delete w.disks[d.source].attachedTo;
            }
            delete w.instances[name];
            delete w.guestAttributes[name];
        });
    },
};

/** A VPC firewall rule (global), on a network the world has. */
export const firewall: StandInResource = {
    // ForceNew in google_compute_firewall's schema (hashicorp/terraform-provider-google at e03b7622a2,
    // google/services/compute/resource_compute_firewall.go); the network and the rules update in place.
    replaceOn: ["name", "direction", "params", "project"],
    create(inputs, urn) {
        const project = required(inputs, "project");
        const name = text(inputs, "name") ?? autoName(urn);
        const ref = required(inputs, "network");
        const network = /^projects\//.test(pathOf(ref)) ? pathOf(ref) : paths.network(project, nameOf(ref));
        const id = numericId();
        inWorld((w) =>
            attempt("Error creating Firewall", () => {
                if (w.firewalls[name]) throw new Error(alreadyExists(paths.firewall(project, name)));
                if (!w.networks[network]) throw new Error(notFound(network));
                w.firewalls[name] = { project, id, network, ...rules(inputs) };
            }),
        );
        return {
            id: paths.firewall(project, name),
            outs: added(inputs, { name, selfLink: `${COMPUTE}${paths.firewall(project, name)}`, creationTimestamp: computeTimestamp() }),
        };
    },
    read(id) {
        const { project, name } = global(id, "");
        return inWorld((w) => (w.firewalls[name]?.project === project ? {} : undefined));
    },
    update(id, _olds, news) {
        const { project, name } = global(id, "");
        inWorld((w) =>
            attempt(`Error updating Firewall "${id}"`, () => {
                const f = w.firewalls[name];
                if (!f || f.project !== project) throw new Error(notFound(id));
                Object.assign(f, rules(news));
            }),
        );
    },
    delete(id) {
        const { project, name } = global(id, "");
        inWorld((w) => {
            if (w.firewalls[name]?.project === project) delete w.firewalls[name];
        });
    },
};

/** What a firewall rule says, from its inputs. */
function rules(inputs: Props) {
    return {
        direction: text(inputs, "direction") ?? "INGRESS",
        priority: typeof inputs.priority === "number" ? inputs.priority : 1000,
        denies: objects(inputs, "denies"),
        allows: objects(inputs, "allows"),
        sourceRanges: Array.isArray(inputs.sourceRanges) ? inputs.sourceRanges.map(String) : [],
        targetTags: Array.isArray(inputs.targetTags) ? inputs.targetTags.map(String) : [],
        description: text(inputs, "description"),
    };
}
