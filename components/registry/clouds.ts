import { CloudPath } from "../core/contract/cloud-path";
import { awsPath } from "../aws/path";
import { azurePath } from "../azure/path";
import { gcpPath } from "../gcp/path";
import { identities } from "./inventory";

// The stack's composition root: every cloud's recovery path, with its Pulumi SDK.

export { identities };

/**
 * The cloud recovery paths built in this version. An inventory entry whose cloud is not here is
 * a validation error: the program never silently skips a VM.
 */
export const paths: readonly CloudPath[] = [awsPath, azurePath, gcpPath];
