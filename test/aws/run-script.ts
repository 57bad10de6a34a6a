import * as path from "path";
import { awsScript, AwsScript } from "../../components/aws/scripts";
import { StandInRun, runWithStandIn } from "../helpers/stand-in";

const STAND_IN = path.join(__dirname, "../../sandbox/cli/aws");
export const INSTANCE = "i-0123456789abcdef0";
export const RESCUE = "i-0aaaaaaaaaaaaaaaa";
export const ORIGINAL = "vol-0111111111111111a";
export const FIXED = "vol-0222222222222222b";
export const SCRATCH = "vol-0333333333333333c";

/** A world where the instance boot-loops on its original root volume. */
export function world(over: Record<string, any> = {}): any {
    return {
        instances: {
            [INSTANCE]: {
                state: "running",
                rootDeviceName: "/dev/sda1",
                blockDevices: { "/dev/sda1": ORIGINAL },
                stopPolls: 2,
                bootPolls: 2,
            },
        },
        volumes: { [ORIGINAL]: { state: "in-use", boots: false }, [FIXED]: { state: "available" }, [SCRATCH]: { state: "in-use" } },
        consoleOnBoot: "2024/07/19 09:01:02Z: EC2Launch: Windows is Ready to use\n",
        ssm: {
            instances: { [RESCUE]: { onlineAfterPolls: 1 } },
            commands: {},
            evidence: { [SCRATCH]: { tool: "bootloop-rescue/repair-disk", outcome: "repaired", exitCode: 0, message: "ok" } },
        },
        ...over,
    };
}

export function run(script: AwsScript, env: Record<string, string>, w: any): StandInRun {
    return runWithStandIn({
        script: awsScript(script),
        env: { AWS_REGION: "us-east-1", ...env },
        world: w,
        standInDir: STAND_IN,
        stateVar: "FAKE_AWS_STATE",
        logVar: "FAKE_AWS_LOG",
    });
}

/** The command words of a call (`ec2 describe-instances`), past the global options and their values. */
export const op = (call: string[]) =>
    call
        .filter((a, i) => !a.startsWith("-") && !["--region", "--output", "--query"].includes(call[i - 1]))
        .slice(0, 2)
        .join(" ");
export const MUTATING = /^(ec2 (stop-instances|start-instances|detach-volume|attach-volume|create-tags)|ssm send-command)$/;

export const swapEnv = {
    INSTANCE_ID: INSTANCE,
    ORIGINAL_VOLUME_ID: ORIGINAL,
    FIXED_VOLUME_ID: FIXED,
    ROOT_DEVICE: "/dev/sda1",
    VM_LABEL: "aws us-east-1/i-0123456789abcdef0",
    BOOT_TIMEOUT_SECONDS: "30",
    BOOT_MARKER: "Windows is Ready to use",
};
export const repairEnv = {
    RESCUE_INSTANCE_ID: RESCUE,
    VOLUME_ID: SCRATCH,
    DOCUMENT_NAME: "bootloop-rescue-repair-abc",
    VM_LABEL: "aws us-east-1/i-0123456789abcdef0",
    REPAIR_TIMEOUT_SECONDS: "30",
};

export const rollbackEnv = {
    INSTANCE_ID: INSTANCE,
    ORIGINAL_VOLUME_ID: ORIGINAL,
    ROOT_DEVICE: "/dev/sda1",
    VM_LABEL: "aws us-east-1/i-0123456789abcdef0",
};

/** A world where the instance runs healthy on the fixed volume, as a finished swap leaves it. */
export function swapped(): any {
    const w = world();
    w.instances[INSTANCE] = {
        state: "running",
        rootDeviceName: "/dev/sda1",
        blockDevices: { "/dev/sda1": FIXED },
        bootedFrom: FIXED,
        checkPolls: 0,
        consoleOutput: "Windows is Ready to use",
        stopPolls: 1,
    };
    w.volumes[ORIGINAL] = { state: "available", boots: false, tags: { "bootloop-rescue:role": "original-root" } };
    w.volumes[FIXED] = {
        state: "in-use",
        tags: { "bootloop-rescue:role": "fixed", "bootloop-rescue:instance": INSTANCE, "bootloop-rescue:original": ORIGINAL },
    };
    return w;
}
