// The sandbox's stand-in for the `gcp` provider (@pulumi/gcp 9.37.0): the resource types and
// lookups components/gcp declares and calls, served against the simulated GCP's world (the file
// FAKE_GCLOUD_STATE names, which the gcloud stand-in the step scripts call reads too).
// `node -r ts-node/register/transpile-only sandbox/providers/gcp.ts` serves it and prints its port.
import { StandInProvider, serve } from "./host";
import { attachedDisk, disk, snapshot } from "./gcp/disks";
import { firewall, instance } from "./gcp/instances";
import { projectMetadataItem } from "./gcp/metadata";
import { account, secretIamMember } from "./gcp/iam";
import { meter } from "./gcp/budget";
import { getDisk, getInstance } from "./gcp/lookups";

/** What the GCP path declares (steps.ts, rescue.ts) and looks up (lookups.ts), by token. */
export const gcpStandIn: StandInProvider = {
    name: "gcp",
    version: "9.37.0",
    resources: {
        "gcp:compute/snapshot:Snapshot": snapshot,
        "gcp:compute/disk:Disk": disk,
        "gcp:compute/attachedDisk:AttachedDisk": attachedDisk,
        "gcp:compute/instance:Instance": instance,
        "gcp:compute/firewall:Firewall": firewall,
        "gcp:compute/projectMetadataItem:ProjectMetadataItem": projectMetadataItem,
        "gcp:serviceaccount/account:Account": account,
        "gcp:secretmanager/secretIamMember:SecretIamMember": secretIamMember,
    },
    meter,
    invokes: {
        "gcp:compute/getInstance:getInstance": getInstance,
        "gcp:compute/getDisk:getDisk": getDisk,
    },
};

if (require.main === module) void serve(gcpStandIn);
