// Project metadata items in the GCP stand-in provider (gcp:compute/projectMetadataItem): one key of
// a project's common instance metadata each, kept in the world's projectMetadata, where a rescue
// instance's startup script reads the rescue tools from (instances.ts). Compute Engine's limits
// hold: a value of at most 256 KiB, all of a project's metadata under 512 KB.
import { StandInResource } from "../host";
import { GcpWorld } from "../../world/gcp-world";
import { attempt, googleApiError, required, text } from "./google-api";
import { inWorld } from "./store";

/** A metadata value's limit, and a project's (compute v1 Metadata.items). */
const VALUE_MAX_BYTES = 262_144;
const PROJECT_MAX_BYTES = 512 * 1024;

/** Sets `key` of `project` to `value` in the world, refusing what Compute Engine refuses. */
function setItem(w: GcpWorld, project: string, key: string, value: string): void {
    if (!/^[a-zA-Z0-9_-]{1,128}$/.test(key))
        throw new Error(googleApiError(400, `Invalid value for field 'resource.items[].key': '${key}'.`, "invalid"));
    if (Buffer.byteLength(value) > VALUE_MAX_BYTES)
        throw new Error(
            googleApiError(400, `Invalid value for field 'resource.items[].value': the value of '${key}' exceeds 262144 bytes.`, "invalid"),
        );
    const items = { ...(w.projectMetadata[project] ?? {}), [key]: value };
    const total = Object.entries(items).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (total > PROJECT_MAX_BYTES)
        throw new Error(
            googleApiError(400, `Metadata of project '${project}' would be ${total} bytes: it must be less than 512 KB.`, "invalid"),
        );
    w.projectMetadata[project] = items;
}

/** The id the provider gives an item: its key (the provider's own project is the item's project). */
const keyOf = (id: string) => id;

/**
 * One project metadata item. Creating a key the project has already fails, as the provider's create
 * does ("key … already present in metadata for project …"); deleting one that is gone is done.
 */
export const projectMetadataItem: StandInResource = {
    // ForceNew in google_compute_project_metadata_item's schema (hashicorp/terraform-provider-google,
    // google/services/compute/resource_compute_project_metadata_item.go): key and project; the value updates in place.
    replaceOn: ["key", "project"],
    create(inputs) {
        const project = required(inputs, "project");
        const key = required(inputs, "key");
        const value = typeof inputs.value === "string" ? inputs.value : "";
        inWorld((w) =>
            attempt("Error creating ProjectMetadataItem", () => {
                if (w.projectMetadata[project]?.[key] !== undefined)
                    throw new Error(
                        `key ${key} already present in metadata for project ${project}. Use \`terraform import\` to manage it with Terraform`,
                    );
                setItem(w, project, key, value);
            }),
        );
        return { id: key };
    },
    read(id, props) {
        const project = text(props, "project") ?? "";
        return inWorld((w) => {
            const value = w.projectMetadata[project]?.[keyOf(id)];
            return value === undefined ? undefined : { ...props, value };
        });
    },
    update(id, _olds, news) {
        const project = required(news, "project");
        inWorld((w) =>
            attempt(`Error updating ProjectMetadataItem "${id}"`, () => {
                if (w.projectMetadata[project]?.[keyOf(id)] === undefined)
                    throw new Error(googleApiError(404, `The metadata key '${id}' of project '${project}' was not found.`, "notFound"));
                setItem(w, project, keyOf(id), typeof news.value === "string" ? news.value : "");
            }),
        );
    },
    delete(id, props) {
        const project = text(props, "project") ?? "";
        inWorld((w) => {
            if (w.projectMetadata[project]) delete w.projectMetadata[project][keyOf(id)];
        });
    },
};
