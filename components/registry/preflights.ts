import { awsPreflight } from "../aws/preflight";
import { azurePreflight } from "../azure/preflight";
import { CloudPreflight } from "../tools/preflight/types";
import { gcpPreflight } from "../gcp/preflight";

/** Each cloud's part of `npm run plan -- --preflight`. */
export const preflights: readonly CloudPreflight[] = [awsPreflight, azurePreflight, gcpPreflight];
