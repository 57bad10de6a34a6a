// The call shapes the watcher's AWS actions take, as the step scripts send them: one table for the
// parser's tests (actions.test.ts) and the real-CLI comparison (actions-real-cli.test.ts).
import { StepCall } from "../../components/watcher/types";
import { FIXED, INSTANCE, ORIGINAL, RESCUE, SCRATCH } from "./run-script";

/** The region of every shape and of the step's scope. */
export const REGION = "us-east-1";

/** swap.sh's tags on the original root volume (the shorthand Key=…,Value=…). */
export const TAGS: readonly string[] = [
    "Key=bootloop-rescue:role,Value=original-root",
    `Key=bootloop-rescue:instance,Value=${INSTANCE}`,
    `Key=bootloop-rescue:replaced-by,Value=${FIXED}`,
    "Key=bootloop-rescue:device,Value=/dev/sda1",
];

/** Every EC2 shape the scripts send (common.sh stop_instance, reboot.sh, swap.sh, rollback.sh), without the global options. */
export const SHAPES: readonly string[][] = [
    ["ec2", "stop-instances", "--instance-ids", INSTANCE],
    ["ec2", "stop-instances", "--instance-ids", INSTANCE, "--force"],
    ["ec2", "start-instances", "--instance-ids", INSTANCE],
    ["ec2", "reboot-instances", "--instance-ids", INSTANCE],
    ["ec2", "attach-volume", "--volume-id", FIXED, "--instance-id", INSTANCE, "--device", "/dev/sda1"],
    ["ec2", "detach-volume", "--volume-id", ORIGINAL, "--instance-id", INSTANCE],
    ["ec2", "create-tags", "--resources", ORIGINAL, "--tags", ...TAGS],
];

/** repair.sh's repair (ssm send-command), the parameters in their JSON form; by default without a key secret, first attempt. */
export const SEND = (
    parameters = `{"volumeId":["${SCRATCH}"],"keySecret":[""]}`,
    comment = `bootloop-rescue repair of ${SCRATCH}`,
): string[] => [
    "ssm",
    "send-command",
    "--instance-ids",
    RESCUE,
    "--document-name",
    "bootloop-rescue-repair-abc",
    "--parameters",
    parameters,
    "--timeout-seconds",
    "30",
    "--comment",
    comment,
];

/** The send-command shapes: first attempt without a key secret; a later attempt with one. */
export const SENDS: readonly string[][] = [
    SEND(),
    SEND(
        `{"volumeId":["${SCRATCH}"],"keySecret":["arn:aws:secretsmanager:us-east-1:111122223333:secret:bootloop-rescue/dev/web=1+a-AbCdEf"]}`,
        `bootloop-rescue repair of ${SCRATCH}, attempt 2`,
    ),
];

/** A shape with the global options cloud_call puts first for `aws_json OP…` (scripts/common.sh). */
export const withGlobals = (args: readonly string[]): string[] => ["--region", REGION, "--output", "json", ...args];

/** The step's call as cloud_call sends it for `aws_json OP…`, in the step's scope. */
export function stepCall(args: readonly string[], scope: Record<string, string> = { region: REGION }): StepCall {
    return { command: "aws", op: `${args[0]} ${args[1]}`, args: withGlobals(args), fields: { ...scope } };
}
