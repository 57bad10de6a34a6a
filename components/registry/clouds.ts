import { CloudIdentity } from "../core/contract/identity";
import { CloudPath } from "../core/contract/cloud-path";
import { awsIdentity } from "../aws/identity";
import { awsPath } from "../aws/path";
import { azureIdentity } from "../azure/identity";
import { azurePath } from "../azure/path";
import { gcpIdentity } from "../gcp/identity";
import { gcpPath } from "../gcp/path";

/** Every cloud the inventory format knows (its fields are validated even before its path is built). */
export const identities: readonly CloudIdentity[] = [awsIdentity, azureIdentity, gcpIdentity];

/**
 * The cloud recovery paths built in this version. An inventory entry whose cloud is not here is
 * a validation error: the program never silently skips a VM.
 */
export const paths: readonly CloudPath[] = [awsPath as CloudPath, azurePath as CloudPath, gcpPath as CloudPath];
