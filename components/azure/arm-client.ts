import { CliError } from "../gate/types";
import { ArmClient } from "./api";

/**
 * The watcher's one Resource Manager client (./api.ts), shared by its observations (./watch.ts) and
 * the steps' calls it makes (./actions.ts): its endpoint read once, its tokens held across requests.
 */
let client: ArmClient | undefined;

/** Requests use `replacement` from now on (a test's endpoint and tokens); undefined: the environment's again. */
export function useArmClient(replacement: ArmClient | undefined): void {
    client = replacement;
}

/** The client (made on first use from the environment); a misconfigured endpoint is a permanent error. */
export function armClient(): ArmClient {
    try {
        client ??= new ArmClient();
    } catch (err) {
        // No try will do better: the message names the variable.
        throw new CliError(err instanceof Error ? err.message : String(err), false);
    }
    return client;
}
