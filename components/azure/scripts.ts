import * as path from "path";
import { scriptText } from "../core/script-text";

/** The Azure command scripts, each a bash script run where `pulumi up` runs. */
export type AzureScript = "attach" | "detach" | "swap" | "reboot" | "rollback" | "restore-points";

/** The full text of a script, as a command's `create` or `delete`. */
export function azureScript(name: AzureScript): string {
    return scriptText(path.join(__dirname, "scripts"), name);
}
