import { ConfigReader, TagRules, readTags } from "../core/config-values";
import { InputError } from "../core/contract/problems";
import { declareCloudConfigKeys } from "../core/settings";
import { ConfigSource } from "../core/contract/settings";
import { LINUX_BOOT_MARKER } from "../core/contract/vm";

/** The GCP path's own settings. */
export interface GcpConfig {
    /** Rescue instance image (family or image self link). */
    rescueImage: string;
    /** Rescue instance machine type. */
    rescueMachineType: string;
    /** Subnetwork self link per region for rescue instances; others use the affected instance's. */
    rescueSubnetworks: Record<string, string>;
    /** Extended regular expression marking a healthy Windows boot on serial port 1. */
    bootMarker: string;
    /** Extended regular expression marking a healthy Linux boot on serial port 1 (a login prompt, cloud-init finished). */
    linuxBootMarker: string;
    /** The user's labels, on everything the stack creates that takes labels (`gcpLabels`, else `tags`). */
    labels: Record<string, string>;
}

/** GCP labels: keys of 1-63 lowercase letters, digits, `_` and `-` starting with a letter; values of at most 63 of them. */
export const GCP_LABEL_RULES: TagRules = {
    noun: "label",
    key: /^[a-z][a-z0-9_-]{0,62}$/,
    value: /^[a-z0-9_-]{0,63}$/,
    expected: "a key of 1-63 lowercase letters, digits, _ and - starting with a letter, and a value of at most 63 of them",
    reservedPrefixes: ["goog"],
    ownKeys: [],
};

/** The GCP config keys and what they mean (docs/reference.md, messages); declared to core, which refuses keys no cloud reads. */
export const GCP_CONFIG_KEYS: Record<string, string> = declareCloudConfigKeys("gcp", {
    gcpRescueImage: "rescue instance image (default debian-cloud/debian-12)",
    gcpRescueMachineType: "rescue instance machine type (default e2-standard-2)",
    gcpRescueSubnetworks: "map region → subnetwork self link for rescue instances (default: the affected instance's subnetwork)",
    gcpLabels: "map of labels for everything the stack creates on gcp, instead of tags (default: tags, which must then be valid labels)",
    gcpBootMarker: "regular expression marking a healthy Windows boot on serial port 1 (default: GCE's Windows agent ready messages)",
    gcpLinuxBootMarker: `regular expression marking a healthy Linux boot (entries with os: linux) on serial port 1 (default: ${LINUX_BOOT_MARKER}, a login prompt or cloud-init's last line)`,
});

/** The serial-port text that marks this VM's healthy boot: its guest OS's marker. */
export function bootMarkerOf(config: Pick<GcpConfig, "bootMarker" | "linuxBootMarker">, vm: { os?: "linux" }): string {
    return vm.os === "linux" ? config.linuxBootMarker : config.bootMarker;
}

/** Reads and validates the GCP config keys; throws an InputError listing every bad value. */
export function readGcpConfig(config: ConfigSource, stackFile: string): GcpConfig {
    const r = new ConfigReader(config, stackFile);
    const gcp: GcpConfig = {
        rescueImage: r.text(
            "gcpRescueImage",
            /^[a-z0-9][-a-z0-9./]{2,200}$/,
            "an image such as debian-cloud/debian-12",
            "debian-cloud/debian-12",
        ),
        rescueMachineType: r.text(
            "gcpRescueMachineType",
            /^[a-z][a-z0-9-]{1,40}$/,
            "a machine type such as e2-standard-2",
            "e2-standard-2",
        ),
        rescueSubnetworks: r.map(
            "gcpRescueSubnetworks",
            /^[a-z]+-[a-z]+\d{1,2}$/,
            /^(https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/[-a-z0-9.:]+\/regions\/[-a-z0-9]+\/subnetworks\/[-a-z0-9]+$/,
            "region: projects/P/regions/R/subnetworks/NAME",
        ),
        labels: readTags(r, config, "tags", "gcpLabels", GCP_LABEL_RULES),
        bootMarker: r.regex(
            "gcpBootMarker",
            "Windows is ready|GCEGuestAgent.*(Started|Running)|GCEMetadataScripts.*Finished running startup scripts",
        ),
        linuxBootMarker: r.regex("gcpLinuxBootMarker", LINUX_BOOT_MARKER),
    };
    if (r.problems.length > 0) throw new InputError(r.problems);
    return gcp;
}
