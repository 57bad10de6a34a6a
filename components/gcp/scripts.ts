import * as path from "path";
import { scriptCommandLine, scriptText } from "../core/script-text";

/** The GCP command steps, each a bash script run where `pulumi up` runs. */
export type GcpScript = "repair" | "swap" | "reboot" | "rollback" | "restore-points" | "store-key";

/** The full text of a step's script, as the command's `create`. */
export function gcpScript(name: GcpScript): string {
    return scriptText(path.join(__dirname, "scripts"), name);
}

/** The command line a command step runs: the script by path, with the hash of its text. */
export function gcpCommandLine(name: GcpScript): string {
    return scriptCommandLine(path.join(__dirname, "scripts"), name);
}
