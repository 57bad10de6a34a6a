/**
 * The AWS steps' EC2 writes that the watcher makes itself, as requests of the EC2 API in its own
 * process (components/watcher/types.ts `CloudAction`), instead of an `aws` process each. Only the
 * exact argument lists the scripts send (`aws_json` in scripts/common.sh: `--region R --output
 * json` first) are taken; any other (an unknown or extra argument, a missing value, another output
 * format, another region than the step's scope, a value the CLI would read otherwise than as the
 * literal id) is `undefined`, and the step runs the CLI as it wrote it.
 *
 *   ec2 stop-instances --instance-ids ID [--force]   StopInstances (InstanceId.1, Force=true)
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html
 *   ec2 start-instances --instance-ids ID            StartInstances (InstanceId.1)
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StartInstances.html
 *   ec2 reboot-instances --instance-ids ID           RebootInstances (InstanceId.1)
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RebootInstances.html
 *   ec2 attach-volume --volume-id V --instance-id I --device D   AttachVolume
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html
 *   ec2 detach-volume --volume-id V --instance-id I  DetachVolume
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachVolume.html
 *   ec2 create-tags --resources V --tags Key=K,Value=X …   CreateTags (ResourceId.1, Tag.N.Key/Value)
 *       https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html
 *   ssm send-command --instance-ids ID --document-name D --parameters JSON --timeout-seconds N --comment C
 *       SendCommand, the parameters in their JSON form only, exactly as JSON.stringify writes them
 *       (repair.sh's repair; its evidence parts' shorthand form runs as the CLI)
 *       https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
 *       Its answer is read (repair.sh takes `"CommandId": "…"` from it).
 *
 * Each is one request under the op the step named (`ec2 stop-instances`: its rate class and budget),
 * as the role of the step's scope when it names one (STS AssumeRole, as the observations do). None
 * waits for the change to finish: the AWS CLI does not either (the scripts wait through the watcher).
 * The step gets the API's answer as one line of JSON without `$metadata` (the structure the CLI
 * prints; timestamps as ISO 8601 with milliseconds, where the CLI prints `+00:00`), or nothing for
 * an action whose answer has no fields (RebootInstances, CreateTags: the CLI prints nothing). The
 * scripts discard it (`>/dev/null`).
 */
import { CloudRunner } from "../gate/types";
import { CloudAction, StepCall } from "../watcher/types";
import { Ec2Write, SsmSend, ec2Write, roleScope, ssmSendCommand } from "./api";
import { through } from "./scope";

/** A region as scripts/common.sh accepts AWS_REGION (it names the endpoint's host). */
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;
/** A role as scripts/common.sh accepts ASSUME_ROLE_ARN. */
const ROLE = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@/_-]{1,512}$/;
const INSTANCE = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const VOLUME = /^vol-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
/** A device name as EC2 takes them (`/dev/sda1`, `xvdf`). */
const DEVICE = /^(?:\/dev\/)?[a-z][a-z0-9]{1,15}$/;
/**
 * One tag in the CLI's shorthand, `Key=K,Value=X`, with nothing the shorthand would read otherwise:
 * no commas, brackets, braces, quotes, `=` or whitespace in K or X (the characters EC2 allows in
 * tags: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions).
 */
const TAG = /^Key=([A-Za-z0-9_.:/+\-@]{1,128}),Value=([A-Za-z0-9_.:/+\-@]{1,256})$/;
/** The most tags one CreateTags request may set on a resource (a resource holds at most 50). */
const MAX_TAGS = 50;

/** The EC2 write an argument list after `ec2 ACTION` stands for, or undefined when it is not of a known shape. */
function ec2WriteOf(action: string, rest: readonly string[]): Ec2Write | undefined {
    const [f0, v0, f1, v1, f2, v2] = rest;
    switch (action) {
        case "stop-instances":
            if (f0 !== "--instance-ids" || !INSTANCE.test(v0 ?? "")) return undefined;
            if (rest.length === 2) return { action: "StopInstances", instanceId: v0, force: false };
            if (rest.length === 3 && f1 === "--force") return { action: "StopInstances", instanceId: v0, force: true };
            return undefined;
        case "start-instances":
        case "reboot-instances":
            if (rest.length !== 2 || f0 !== "--instance-ids" || !INSTANCE.test(v0 ?? "")) return undefined;
            return { action: action === "start-instances" ? "StartInstances" : "RebootInstances", instanceId: v0 };
        case "attach-volume":
            if (rest.length !== 6 || f0 !== "--volume-id" || f1 !== "--instance-id" || f2 !== "--device") return undefined;
            if (!VOLUME.test(v0) || !INSTANCE.test(v1) || !DEVICE.test(v2)) return undefined;
            return { action: "AttachVolume", volumeId: v0, instanceId: v1, device: v2 };
        case "detach-volume":
            if (rest.length !== 4 || f0 !== "--volume-id" || f1 !== "--instance-id") return undefined;
            if (!VOLUME.test(v0) || !INSTANCE.test(v1)) return undefined;
            return { action: "DetachVolume", volumeId: v0, instanceId: v1 };
        case "create-tags": {
            if (rest.length < 4 || rest.length > 3 + MAX_TAGS || f0 !== "--resources" || !VOLUME.test(v0) || f1 !== "--tags")
                return undefined;
            const tags: { Key: string; Value: string }[] = [];
            for (const t of rest.slice(3)) {
                const m = TAG.exec(t);
                if (!m) return undefined;
                tags.push({ Key: m[1], Value: m[2] });
            }
            // The same key twice: which one the CLI or EC2 keeps is theirs to say; let the CLI run it.
            if (new Set(tags.map((t) => t.Key)).size !== tags.length) return undefined;
            return { action: "CreateTags", resourceId: v0, tags };
        }
    }
    return undefined;
}

/** A document name as SendCommand takes it, beginning with a letter or digit (never an option, never `file://`: no `//`). */
const DOCUMENT = /^[A-Za-z0-9](?:[A-Za-z0-9_.:-]|\/(?!\/)){2,127}$/;
/** A parameter's name in the JSON form. */
const PARAMETER = /^[A-Za-z0-9]{1,64}$/;
/** A comment: up to 100 characters, no control characters, nothing the CLI reads otherwise (an option, a file or URL to load). */
const COMMENT = /^(?!-)(?!(?:file|fileb|https?):\/\/).{1,100}$/;
/** Whether `text` holds a control character (a comment or parameter value never does). */
const hasControl = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * The command `ssm send-command …` sends, or undefined when it is not the repair's exact shape: the
 * parameters a JSON object of lists of strings, written as JSON.stringify writes it (so the CLI
 * could read it no other way, and the stand-in front gives the CLI the very same text).
 */
function ssmSendOf(rest: readonly string[]): SsmSend | undefined {
    const flags = ["--instance-ids", "--document-name", "--parameters", "--timeout-seconds", "--comment"];
    if (rest.length !== 10 || flags.some((f, i) => rest[2 * i] !== f)) return undefined;
    const [instanceId, documentName, text, timeout, comment] = [1, 3, 5, 7, 9].map((i) => rest[i]);
    if (!INSTANCE.test(instanceId) || !DOCUMENT.test(documentName) || !COMMENT.test(comment) || hasControl(comment)) return undefined;
    if (!/^[1-9][0-9]{1,6}$/.test(timeout) || Number(timeout) < 30 || Number(timeout) > 2_592_000) return undefined;
    if (!text.startsWith("{")) return undefined;
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || JSON.stringify(parsed) !== text) return undefined;
    const parameters: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(parsed)) {
        if (!PARAMETER.test(k) || !Array.isArray(v) || !v.every((x) => typeof x === "string" && !hasControl(x))) return undefined;
        parameters[k] = v as string[];
    }
    if (Object.keys(parameters).length === 0) return undefined;
    return { instanceId, documentName, parameters, timeoutSeconds: Number(timeout), comment };
}

/** What the CLI prints for an answer: its JSON, or nothing when it has no fields. */
function printed(out: Record<string, unknown>): string {
    return Object.keys(out).length ? JSON.stringify(out) : "";
}

/**
 * The watcher's action for a step's `aws` call of one of the shapes above, or `undefined` (the
 * step runs the CLI). Pure: it reads the call only; the action makes the request when run.
 */
export function awsAction(call: StepCall): CloudAction | undefined {
    if (call.command !== "aws") return undefined;
    const a = call.args;
    if (a.length < 6 || a[0] !== "--region" || a[2] !== "--output" || a[3] !== "json") return undefined;
    const region = a[1];
    // The request goes where the step's scope says, under the op the step named: both must be this call's.
    if (!REGION.test(region) || region !== call.fields.region || call.op !== `${a[4]} ${a[5]}`) return undefined;
    const role = call.fields.role || undefined;
    if (role !== undefined && !ROLE.test(role)) return undefined;
    const fields = { region, ...(role ? { role } : {}) };
    const scoped = async (runner: CloudRunner) => {
        const api = through(runner, fields);
        return { api, scope: await roleScope(region, role, api) };
    };
    if (a[4] === "ssm" && a[5] === "send-command") {
        const send = ssmSendOf(a.slice(6));
        if (!send) return undefined;
        return {
            async run(runner) {
                const { api, scope } = await scoped(runner);
                return printed(await ssmSendCommand(scope, api, call.op, send));
            },
        };
    }
    const write = a[4] === "ec2" ? ec2WriteOf(a[5], a.slice(6)) : undefined;
    if (!write) return undefined;
    return {
        async run(runner) {
            const { api, scope } = await scoped(runner);
            return printed(await ec2Write(scope, api, call.op, write));
        },
        // A stop, a start or a tag made twice changes nothing more; a reboot, attach or detach would.
        repeatable: write.action === "StopInstances" || write.action === "StartInstances" || write.action === "CreateTags",
    };
}
