import { BuiltCloud } from "../core/contract/cloud-path";
import { AWS_STEP_WAITS } from "./step-waits";
import { STRATEGIES } from "../core/contract/remedies";
import { awsIdentity } from "./identity";

/** What an inventory of aws VMs is validated against: this version's aws path, without its SDK. */
export const awsBuilt: BuiltCloud = {
    stepWaits: AWS_STEP_WAITS,
    identity: awsIdentity,
    strategies: STRATEGIES,
    bitlocker: {
        stackConfig:
            "on aws, BitLocker keys never pass through the deployer or Systems Manager: put them in a Secrets Manager secret and name its ARN in bitlockerSecret (the rescue instance reads it with its own role), or let `npm run import-keys` do both",
        secretField: "bitlockerSecret",
    },
};
