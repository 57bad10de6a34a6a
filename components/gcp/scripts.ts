import * as path from "path";
import { scriptText } from "../core/script-text";

/** The GCP command steps, each a bash script run where `pulumi up` runs. */
export type GcpScript = "repair" | "swap" | "reboot" | "rollback" | "restore-points";

/** The full text of a step's script, as the command's `create`. */
export function gcpScript(name: GcpScript): string {
    return scriptText(path.join(__dirname, "scripts"), name);
}
