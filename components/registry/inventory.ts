import { awsBuilt } from "../aws/built";
import { awsIdentity } from "../aws/identity";
import { azureBuilt } from "../azure/built";
import { azureIdentity } from "../azure/identity";
import { BuiltCloud } from "../core/contract/cloud-path";
import { CloudIdentity } from "../core/contract/identity";
import { gcpBuilt } from "../gcp/built";
import { gcpIdentity } from "../gcp/identity";

// The inventory's composition root: what reading and validating an inventory needs of the clouds,
// and nothing more (no Pulumi SDK), for the commands that validate without declaring anything.

/** Every cloud the inventory format knows (its fields are validated even before its path is built). */
export const identities: readonly CloudIdentity[] = [awsIdentity, azureIdentity, gcpIdentity];

/**
 * The clouds whose recovery path this version builds, as validation knows them. An inventory entry
 * whose cloud is not here is a validation error: the program never silently skips a VM.
 */
export const builtClouds: readonly BuiltCloud[] = [awsBuilt, azureBuilt, gcpBuilt];
