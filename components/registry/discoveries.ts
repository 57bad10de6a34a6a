import { awsDiscovery } from "../aws/discover";
import { azureDiscovery } from "../azure/discover";
import { CloudDiscovery } from "../tools/discovery/types";
import { gcpDiscovery } from "../gcp/discover";

/** Each cloud's part of `npm run discover`. Kept apart from clouds.ts: discovery loads no Pulumi SDK. */
export const discoveries: readonly CloudDiscovery[] = [awsDiscovery, azureDiscovery, gcpDiscovery];
