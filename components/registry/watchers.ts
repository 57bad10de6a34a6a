import { awsWatch } from "../aws/watch";
import { azureWatch } from "../azure/watch";
import { gcpWatch } from "../gcp/watch";
import { CloudWatch } from "../watcher/types";

/** Each built cloud's part of the watcher. Kept apart from clouds.ts: the watcher loads no Pulumi SDK. */
export const cloudWatches: readonly CloudWatch[] = [awsWatch, azureWatch, gcpWatch];
