import { BuiltCloud } from "../core/contract/cloud-path";
import { AZURE_STEP_WAITS } from "./step-waits";
import { STRATEGIES } from "../core/contract/remedies";
import { azureIdentity } from "./identity";

/** What an inventory of azure VMs is validated against: this version's azure path, without its SDK. */
export const azureBuilt: BuiltCloud = {
    stepWaits: AZURE_STEP_WAITS,
    identity: azureIdentity,
    strategies: STRATEGIES,
    bitlocker: { stackConfig: true },
};
