import * as path from "path";
import { scriptCommandLine, scriptText } from "../core/script-text";

/** The Azure command scripts, each a bash script run where `pulumi up` runs. */
export type AzureScript = "attach" | "detach" | "swap" | "reboot" | "rollback" | "restore-points" | "ade-key";

/** Scripts that act on the affected VM itself: only they carry the VM helpers (vm-lib.sh). */
const ACTS_ON_VM: readonly AzureScript[] = ["swap", "reboot", "rollback"];

/** The full text of a script, as a command's `create` or `delete`. */
export function azureScript(name: AzureScript): string {
    return scriptText(path.join(__dirname, "scripts"), name, ACTS_ON_VM.includes(name) ? ["vm-lib"] : []);
}

/** The command line a command step runs: the script by path, with the hash of its text. */
export function azureCommandLine(name: AzureScript): string {
    return scriptCommandLine(path.join(__dirname, "scripts"), name, ACTS_ON_VM.includes(name) ? ["vm-lib"] : []);
}
