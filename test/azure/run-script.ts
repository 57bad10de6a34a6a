import * as path from "path";
import { azureScript, AzureScript } from "../../components/azure/scripts";
import * as zlib from "zlib";
import { StandInRun, runWithStandIn } from "../helpers/stand-in";

export const STAND_IN = path.join(__dirname, "../../sandbox/cli/azure");
export const SUB = "11111111-2222-3333-4444-555555555555";
export const disk = (rg: string, n: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${n}`;
export const ORIGINAL = disk("rg-app", "app-01_OsDisk_1");
export const FIXED = disk("rg-app", "app-01-fixed");
export const SCRATCH = disk("rg-app", "app-01-scratch");
export const RESCUE_ID = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/rescue-azure-1-0`;
export const REPAIR_RUN_COMMAND_ID = `${RESCUE_ID}/runCommands/app-01-repair-5f2a`;
/** What the repair Run Command printed: its log, then the evidence, gzip-base64 (as on-rescue.sh sends it). */
export const REPAIR_OUTPUT = `repair-disk: partition 3: Windows found\ngzip-base64:${zlib.gzipSync('{"outcome":"repaired"}').toString("base64")}`;

export function world(): any {
    return {
        vms: {
            "rg-app/app-01": { power: "running", osDisk: ORIGINAL, agent: "", stopPolls: 2, bootPolls: 2 },
            "rg-app/rescue-azure-1-0": { power: "running", osDisk: disk("rg-app", "rescue-os"), agent: "Ready", dataDisks: {} },
        },
        disks: {
            [ORIGINAL.toLowerCase()]: { boots: false, attachedTo: "rg-app/app-01" },
            [FIXED.toLowerCase()]: {},
            [SCRATCH.toLowerCase()]: {},
            [disk("rg-app", "other").toLowerCase()]: {},
            [disk("rg-app", "rescue-os").toLowerCase()]: { attachedTo: "rg-app/rescue-azure-1-0" },
        },
        runCommands: { "rg-app/rescue-azure-1-0/app-01-repair-5f2a": REPAIR_OUTPUT },
    };
}

export function run(script: AzureScript, env: Record<string, string>, w: any): StandInRun {
    return runWithStandIn({
        script: azureScript(script),
        env,
        world: w,
        standInDir: STAND_IN,
        stateVar: "FAKE_AZ_STATE",
        logVar: "FAKE_AZ_LOG",
    });
}

/** The command words of a call: `vm disk attach`, `disk update`. */
export const op = (call: string[]) =>
    call
        .slice(
            0,
            call.findIndex((a) => a.startsWith("-")),
        )
        .join(" ");
export const MUTATING = /^(vm (deallocate|update|start)|vm disk (attach|detach)|disk update)$/;
export const swapEnv = {
    SUBSCRIPTION_ID: SUB,
    RESOURCE_GROUP: "rg-app",
    VM_NAME: "app-01",
    ORIGINAL_DISK_ID: ORIGINAL,
    FIXED_DISK_ID: FIXED,
    VM_LABEL: "azure rg-app/app-01",
    BOOT_TIMEOUT_SECONDS: "30",
    REPAIR_RUN_COMMAND_ID,
};
export const attachEnv = { RESCUE_VM_ID: RESCUE_ID, DISK_ID: SCRATCH, LUN: "3", VM_LABEL: "azure rg-app/app-01" };

/** A VM already swapped onto its fixed disk, running healthy (for rollbacks). */
export function swapped(): any {
    const w = world();
    Object.assign(w.vms["rg-app/app-01"], { power: "running", osDisk: FIXED, agent: "Ready" });
    w.disks[ORIGINAL.toLowerCase()] = { boots: false, tags: { "bootloop-rescue-role": "original-os" } };
    w.disks[FIXED.toLowerCase()] = {
        attachedTo: "rg-app/app-01",
        tags: { "bootloop-rescue-role": "fixed", "bootloop-rescue-vm": "app-01", "bootloop-rescue-original": ORIGINAL },
    };
    return w;
}
