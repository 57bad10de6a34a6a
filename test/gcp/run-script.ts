import * as path from "path";
import { gcpScript, GcpScript } from "../../components/gcp/scripts";
import { StandInRun, runWithStandIn } from "../helpers/stand-in";

const STAND_IN = path.join(__dirname, "../../sandbox/cli/gcp");

export function world(): any {
    return {
        instances: {
            "web-1": {
                status: "RUNNING",
                disks: [{ source: "web-1", boot: true }],
                serial: "old boot: GCEGuestAgent: Windows is ready\nSTOP 0x0000007E\n",
                stopPolls: 2,
                bootPolls: 2,
            },
            "rescue-1": { status: "RUNNING", disks: [{ source: "rescue-1", boot: true }], serial: "" },
        },
        disks: { "web-1": { boots: false, attachedTo: "web-1" }, "web-1-fixed": {}, other: {} },
        guestAttributes: {},
    };
}

export function run(script: GcpScript, env: Record<string, string>, w: any): StandInRun {
    return runWithStandIn({
        script: gcpScript(script),
        env,
        world: w,
        standInDir: STAND_IN,
        stateVar: "FAKE_GCLOUD_STATE",
        logVar: "FAKE_GCLOUD_LOG",
    });
}

export const op = (call: string[]) => call.slice(1, 3).join(" ");
export const MUTATING = /^(instances (stop|start|detach-disk|attach-disk)|disks add-labels)$/;
export const swapEnv = {
    PROJECT: "my-project",
    ZONE: "us-central1-a",
    INSTANCE: "web-1",
    ORIGINAL_DISK: "web-1",
    FIXED_DISK: "web-1-fixed",
    VM_LABEL: "gcp my-project/us-central1-a/web-1",
    BOOT_TIMEOUT_SECONDS: "30",
    BOOT_MARKER: "Windows is ready",
};
export const repairEnv = {
    PROJECT: "my-project",
    ZONE: "us-central1-a",
    RESCUE_INSTANCE: "rescue-1",
    DEVICE_NAME: "br-web-1-abc123",
    VM_LABEL: "gcp my-project/us-central1-a/web-1",
    REPAIR_TIMEOUT_SECONDS: "30",
};

/** A VM already swapped onto its fixed disk, running healthy (for rollbacks). */
export function swapped(): any {
    const w = world();
    w.instances["web-1"] = {
        status: "RUNNING",
        disks: [{ source: "web-1-fixed", boot: true }],
        serial: "GCEGuestAgent: Windows is ready\n",
        stopPolls: 1,
        bootPolls: 1,
    };
    w.disks["web-1"] = { boots: false, labels: { "bootloop-rescue-role": "original-boot" } };
    w.disks["web-1-fixed"] = {
        attachedTo: "web-1",
        labels: { "bootloop-rescue-role": "fixed", "bootloop-rescue-instance": "web-1", "bootloop-rescue-original": "web-1" },
    };
    return w;
}
