import { BuiltCloud } from "../core/contract/cloud-path";
import { GCP_STEP_WAITS } from "./step-waits";
import { STRATEGIES } from "../core/contract/remedies";
import { gcpIdentity } from "./identity";

/** What an inventory of gcp VMs is validated against: this version's gcp path, without its SDK. */
export const gcpBuilt: BuiltCloud = {
    stepWaits: GCP_STEP_WAITS,
    identity: gcpIdentity,
    strategies: STRATEGIES,
    bitlocker: {
        stackConfig:
            "on gcp, BitLocker keys never pass through the deployer or instance metadata: put them in a Secret Manager secret and name it in bitlockerSecret (the rescue instance reads it with its own service account), or let `npm run import-keys` do both",
        secretField: "bitlockerSecret",
    },
};
