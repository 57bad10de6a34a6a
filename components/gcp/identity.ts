import type { ScaleGroup } from "../core/contract/scale-group";
import { CloudIdentity } from "../core/contract/identity";

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Secret Manager secret, optionally one version of it (a project id or number; the default version is latest). */
export const SECRET_NAME =
    /^projects\/([a-z][-a-z0-9]{4,28}[a-z0-9]|[0-9]{1,20})\/secrets\/[A-Za-z0-9_-]{1,255}(\/versions\/(latest|[1-9][0-9]{0,9}))?$/;

/** How a Compute Engine instance is named in the inventory. */
export const gcpIdentity: CloudIdentity = {
    cloud: "gcp",
    fields: [
        {
            name: "project",
            required: true,
            pattern: /^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/,
            expected: "a project id: 6-30 lowercase letters, digits and hyphens, starting with a letter",
        },
        { name: "zone", required: true, pattern: /^[a-z]+-[a-z]+\d{1,2}-[a-z]$/, expected: "a zone such as us-central1-a" },
        {
            name: "instance",
            required: true,
            pattern: NAME,
            expected: "an instance name: 1-63 lowercase letters, digits and hyphens, starting with a letter",
        },
        { name: "bootDisk", required: false, pattern: NAME, expected: "the name of the boot disk the lookup must find" },
        {
            name: "bitlockerSecret",
            required: false,
            pattern: SECRET_NAME,
            expected:
                "a Secret Manager secret, projects/PROJECT/secrets/NAME or projects/PROJECT/secrets/NAME/versions/VERSION (a number or latest), holding the boot disk's BitLocker recovery passwords or BEK",
        },
        {
            name: "subnetwork",
            required: false,
            pattern: /^projects\/[-a-z0-9.:]+\/regions\/[-a-z0-9]+\/subnetworks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
            expected: "projects/PROJECT/regions/REGION/subnetworks/NAME for this zone's rescue instance",
        },
    ],
    restoreFrom: {
        pattern: /^(projects\/([a-z][-a-z0-9.:]{4,61}[a-z0-9])\/global\/snapshots\/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
        expected: "a snapshot name, or projects/PROJECT/global/snapshots/NAME",
    },
    key: (f) => `${f.project}/${f.zone}/${f.instance}`.toLowerCase(),
    label: (f) => `gcp ${f.project}/${f.zone}/${f.instance}`,
    shortName: (f) => f.instance,
    placement: (f) => ({ scope: f.project, region: f.zone.replace(/-[a-z]$/, ""), zone: f.zone }),
    sample: (i) => ({ project: `rescue-demo-${i % 2}`, zone: `us-central1-${"abc"[i % 3]}`, instance: `web-${i}` }),
};

/** A managed instance group, and how a member leaves it (the chain's lookup and discovery say the same). */
export function managedGroup(name: string): ScaleGroup {
    return {
        name: `managed instance group ${name}`,
        leave: "abandon it from the group (gcloud compute instance-groups managed abandon-instances) first",
    };
}
