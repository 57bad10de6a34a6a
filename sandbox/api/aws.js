// STAND-IN (for the tests and for `npm run sandbox`) for the AWS APIs the watcher calls through
// the AWS SDK (components/aws/api.ts): EC2 and STS in the Query protocol (a form-encoded POST,
// `Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=…`, answered in XML whose lists are
// `…Set`/`item`), Systems Manager in JSON 1.1 (`X-Amz-Target: AmazonSSM.ListCommandInvocations`,
// JSON both ways). Each request becomes the stand-in CLI call that answers the same question
// (sandbox/cli/aws/aws: one world, one budget, one call log, the CLI-shaped call the tests read),
// run as the account whose access key signed the request (the SigV4 Authorization header's
// Credential=AKID/…: an assumed role's key ASIA<12 digits> names its account). The CLI's JSON is
// turned into the API's wire format, its error (`An error occurred (CODE) …`) into the API's
// error with the HTTP status the service sends. Only the fields the watcher reads are sent.
// Wire formats: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html,
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html,
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html. The steps' EC2 writes the
// watcher makes for them (StopInstances, StartInstances, RebootInstances, AttachVolume,
// DetachVolume, CreateTags: components/aws/actions.ts) become the very CLI call the script would
// have run (EC2_WRITES).
"use strict";
const crypto = require("crypto");

const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** The sandbox's own key pair: no account anywhere has it, so a request that reached AWS itself would fail. */
const SANDBOX_KEY = { id: "AKIASANDBOXNOTREAL00", secret: "sandbox-key-not-a-secret-reaches-nothing" };

const escape = (text) =>
    String(text).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
/** An XML element; `children` is text, an array of elements, or undefined (then it is left out). */
const el = (name, children) =>
    children === undefined ? "" : `<${name}>${Array.isArray(children) ? children.join("") : escape(children)}</${name}>`;
const items = (name, list, item) =>
    el(
        name,
        list.map((x) => el("item", item(x))),
    );
const requestId = () => crypto.randomUUID();

/** EC2's instance state codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceState.html). */
const STATE_CODES = { pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80 };

/** Numbered members of a Query request: `Prefix.1`, `Prefix.2`, … in order. */
function numbered(params, prefix) {
    const out = [];
    for (let n = 1; params.has(`${prefix}.${n}`); n++) out.push(params.get(`${prefix}.${n}`));
    return out;
}

/** `Filter.N.Name` / `Filter.N.Value.M` as the CLI's `--filters Name=x,Values=a,b …`. */
function filterArgs(params) {
    const out = [];
    for (let n = 1; params.has(`Filter.${n}.Name`); n++) {
        out.push(`Name=${params.get(`Filter.${n}.Name`)},Values=${numbered(params, `Filter.${n}.Value`).join(",")}`);
    }
    return out.length ? ["--filters", ...out] : [];
}

/** Each EC2 action the watcher calls: its CLI call, and its answer's XML body from the CLI's JSON. */
const EC2 = {
    DescribeInstances: {
        argv: (p) => [
            "describe-instances",
            ...filterArgs(p),
            ...(numbered(p, "InstanceId").length ? ["--instance-ids", ...numbered(p, "InstanceId")] : []),
        ],
        xml: (o) =>
            items("reservationSet", o.Reservations || [], (r) => [
                items("instancesSet", r.Instances || [], (i) => [
                    el("instanceId", i.InstanceId),
                    el("instanceState", [el("code", String(STATE_CODES[i.State.Name] ?? 0)), el("name", i.State.Name)]),
                    el("rootDeviceName", i.RootDeviceName),
                    items("blockDeviceMapping", i.BlockDeviceMappings || [], (m) => [
                        el("deviceName", m.DeviceName),
                        el("ebs", [el("volumeId", m.Ebs.VolumeId), el("status", "attached")]),
                    ]),
                ]),
            ]),
    },
    DescribeInstanceStatus: {
        argv: (p) => [
            "describe-instance-status",
            ...filterArgs(p),
            ...(numbered(p, "InstanceId").length ? ["--instance-ids", ...numbered(p, "InstanceId")] : []),
            ...(p.get("IncludeAllInstances") === "true" ? ["--include-all-instances"] : []),
        ],
        xml: (o) =>
            items("instanceStatusSet", o.InstanceStatuses || [], (s) => [
                el("instanceId", s.InstanceId),
                el("instanceState", [el("code", String(STATE_CODES[s.InstanceState.Name] ?? 0)), el("name", s.InstanceState.Name)]),
                el("systemStatus", s.SystemStatus && [el("status", s.SystemStatus.Status)]),
                el("instanceStatus", s.InstanceStatus && [el("status", s.InstanceStatus.Status)]),
            ]),
    },
    DescribeVolumes: {
        argv: (p) => [
            "describe-volumes",
            ...filterArgs(p),
            ...(numbered(p, "VolumeId").length ? ["--volume-ids", ...numbered(p, "VolumeId")] : []),
        ],
        // A volume's state is `status` on the wire.
        xml: (o) => items("volumeSet", o.Volumes || [], (v) => [el("volumeId", v.VolumeId), el("status", v.State)]),
    },
    GetConsoleOutput: {
        argv: (p) => [
            "get-console-output",
            "--instance-id",
            p.get("InstanceId") || "",
            ...(p.get("Latest") === "true" ? ["--latest"] : []),
        ],
        // The API sends the output base64-encoded; the CLI decoded it.
        xml: (o) => [
            el("instanceId", o.InstanceId),
            el("timestamp", new Date().toISOString()),
            el("output", o.Output === undefined ? undefined : Buffer.from(o.Output, "utf8").toString("base64")),
        ],
    },
};

/** `Tag.N.Key` / `Tag.N.Value` as the CLI's `--tags Key=K,Value=V …`. */
function tagArgs(params) {
    const out = [];
    for (let n = 1; params.has(`Tag.${n}.Key`); n++)
        out.push(`Key=${params.get(`Tag.${n}.Key`)},Value=${params.get(`Tag.${n}.Value`) ?? ""}`);
    return out;
}

/** An instance's state change as StopInstances and StartInstances list it (`instancesSet`, InstanceStateChange). */
const stateChanges = (list) =>
    items("instancesSet", list || [], (c) => [
        el("instanceId", c.InstanceId),
        el("currentState", [el("code", String(STATE_CODES[c.CurrentState.Name] ?? 0)), el("name", c.CurrentState.Name)]),
        el(
            "previousState",
            c.PreviousState && [el("code", String(STATE_CODES[c.PreviousState.Name] ?? 0)), el("name", c.PreviousState.Name)],
        ),
    ]);

/**
 * The steps' EC2 writes the watcher makes (components/aws/actions.ts): each becomes the CLI call the
 * script would have run, with the same arguments (the world, its budget, faults and call log see the
 * same call). Answers as the API sends them:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html (instancesSet of
 * InstanceStateChange; StartInstances the same), …/API_RebootInstances.html and
 * …/API_CreateTags.html (`return`), …/API_AttachVolume.html and …/API_DetachVolume.html (the
 * VolumeAttachment's fields at the top level).
 */
const EC2_WRITES = {
    StopInstances: {
        argv: (p) => ["stop-instances", "--instance-ids", ...numbered(p, "InstanceId"), ...(p.get("Force") === "true" ? ["--force"] : [])],
        xml: (o) => stateChanges(o.StoppingInstances),
    },
    StartInstances: {
        argv: (p) => ["start-instances", "--instance-ids", ...numbered(p, "InstanceId")],
        xml: (o) => stateChanges(o.StartingInstances),
    },
    RebootInstances: {
        argv: (p) => ["reboot-instances", "--instance-ids", ...numbered(p, "InstanceId")],
        xml: () => el("return", "true"),
    },
    AttachVolume: {
        argv: (p) => [
            "attach-volume",
            "--volume-id",
            p.get("VolumeId") || "",
            "--instance-id",
            p.get("InstanceId") || "",
            "--device",
            p.get("Device") || "",
        ],
        // The stand-in CLI leaves out the instance id and the time: the request names the one, the other is now.
        xml: (o, p) => [
            el("volumeId", o.VolumeId),
            el("instanceId", o.InstanceId || p.get("InstanceId")),
            el("device", o.Device),
            el("status", o.State),
            el("attachTime", o.AttachTime || new Date().toISOString()),
        ],
    },
    DetachVolume: {
        argv: (p) => ["detach-volume", "--volume-id", p.get("VolumeId") || "", "--instance-id", p.get("InstanceId") || ""],
        xml: (o, p) => [
            el("volumeId", o.VolumeId),
            el("instanceId", o.InstanceId || p.get("InstanceId")),
            el("device", o.Device),
            el("status", o.State),
            el("attachTime", o.AttachTime),
        ],
    },
    CreateTags: {
        argv: (p) => ["create-tags", "--resources", ...numbered(p, "ResourceId"), "--tags", ...tagArgs(p)],
        xml: () => el("return", "true"),
    },
};
Object.assign(EC2, EC2_WRITES);

/** Each Systems Manager action the watcher calls: its CLI call, and its JSON answer from the CLI's. */
const SSM = {
    DescribeInstanceInformation: {
        argv: (b) => [
            "describe-instance-information",
            ...((b.Filters || []).length
                ? ["--filters", ...b.Filters.map((f) => `Key=${f.Key},Values=${(f.Values || []).join(",")}`)]
                : []),
        ],
        json: (o) => ({
            InstanceInformationList: (o.InstanceInformationList || []).map((i) => ({ InstanceId: i.InstanceId, PingStatus: i.PingStatus })),
        }),
    },
    // The repair the watcher sends for repair.sh (components/aws/actions.ts): the CLI call with the
    // parameters in the JSON form the script wrote (the action takes that form only, written as
    // JSON.stringify writes it, so this is the same text). The answer's Command as SendCommand
    // returns it (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html):
    // the stand-in CLI names the id; the rest is the request's.
    SendCommand: {
        argv: (b) => [
            "send-command",
            "--instance-ids",
            ...(b.InstanceIds || []),
            "--document-name",
            String(b.DocumentName ?? ""),
            "--parameters",
            JSON.stringify(b.Parameters || {}),
            "--timeout-seconds",
            String(b.TimeoutSeconds ?? ""),
            "--comment",
            String(b.Comment ?? ""),
        ],
        json: (o, b) => ({
            Command: {
                CommandId: o.Command && o.Command.CommandId,
                DocumentName: b.DocumentName,
                Comment: b.Comment,
                InstanceIds: b.InstanceIds,
                Parameters: b.Parameters,
                TimeoutSeconds: b.TimeoutSeconds,
                Status: "Pending",
                RequestedDateTime: Date.now() / 1000,
            },
        }),
    },
    ListCommandInvocations: {
        argv: (b) => [
            "list-command-invocations",
            ...(b.InstanceId ? ["--instance-id", b.InstanceId] : []),
            ...(b.CommandId ? ["--command-id", b.CommandId] : []),
            ...((b.Filters || []).length ? ["--filters", ...b.Filters.map((f) => `key=${f.key},value=${f.value}`)] : []),
        ],
        // Timestamps in JSON 1.1 are epoch seconds.
        json: (o) => ({
            CommandInvocations: (o.CommandInvocations || []).map((c) => ({
                CommandId: c.CommandId,
                InstanceId: c.InstanceId,
                DocumentName: c.DocumentName,
                Comment: c.Comment,
                Status: c.Status,
                ...(c.RequestedDateTime ? { RequestedDateTime: Date.parse(c.RequestedDateTime) / 1000 } : {}),
            })),
        }),
    },
};

/** The CLI's error (`An error occurred (CODE) when calling the X operation…: message`) as code and message. */
function cliError(result) {
    const m = /An error occurred \(([^)]+)\) when calling the [\w-]+ operation[^:]*: ?(.*)/s.exec(result.stderr);
    if (m) return { code: m[1], message: m[2].trim() };
    return { code: "InternalError", message: `the stand-in aws exited ${result.code}: ${result.stderr.trim().slice(0, 500)}` };
}

/** The HTTP status EC2 answers an error code with (errors-overview.html: client errors 4xx, server errors 5xx). */
function ec2Status(code) {
    if (code === "RequestLimitExceeded" || code === "Unavailable") return 503;
    if (code === "InternalError") return 500;
    if (code === "UnauthorizedOperation") return 403;
    if (code === "AuthFailure") return 401;
    return 400;
}

const xmlAnswer = (status, body) => ({
    status,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});
const ec2Error = (code, message) =>
    xmlAnswer(
        ec2Status(code),
        `<Response>${el("Errors", [el("Error", [el("Code", code), el("Message", message)])])}${el("RequestID", requestId())}</Response>`,
    );
const stsError = (status, code, message) =>
    xmlAnswer(
        status,
        `<ErrorResponse xmlns="${STS_NS}">${el("Error", [el("Type", status >= 500 ? "Receiver" : "Sender"), el("Code", code), el("Message", message)])}${el("RequestId", requestId())}</ErrorResponse>`,
    );
const ssmAnswer = (status, object) => ({ status, headers: { "content-type": "application/x-amz-json-1.1" }, body: JSON.stringify(object) });
const ssmError = (code, message) =>
    ssmAnswer(code === "InternalServerError" || code === "InternalError" ? 500 : 400, { __type: `com.amazonaws.ssm#${code}`, message });

/** The signer of a request: access key id, region and service of its SigV4 credential scope. */
function signer(headers) {
    const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(headers.authorization || "");
    return m ? { key: m[1], region: m[2], service: m[3] } : undefined;
}

/** Runs the stand-in CLI as the signer's account; the common options as the watcher's CLI calls had them. */
function runAs(standIn, who, service, argv) {
    return standIn(["--region", who.region, "--output", "json", service, ...argv], { AWS_ACCESS_KEY_ID: who.key });
}

async function handleEc2(params, who, standIn) {
    const action = params.get("Action");
    const known = EC2[action];
    if (!known)
        return ec2Error(
            "InvalidAction",
            `The action ${action} is not valid for this web service (the stand-in knows ${Object.keys(EC2).join(", ")}).`,
        );
    const result = await runAs(standIn, who, "ec2", known.argv(params));
    if (result.code !== 0) {
        const e = cliError(result);
        return ec2Error(e.code, e.message);
    }
    const out = result.stdout.trim() ? JSON.parse(result.stdout) : {};
    return xmlAnswer(
        200,
        `<${action}Response xmlns="${EC2_NS}">${el("requestId", requestId())}${[].concat(known.xml(out, params)).join("")}</${action}Response>`,
    );
}

async function handleSts(params, who, standIn) {
    const action = params.get("Action");
    if (action !== "AssumeRole")
        return stsError(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15 (the stand-in knows AssumeRole).`);
    const result = await runAs(standIn, who, "sts", [
        "assume-role",
        "--role-arn",
        params.get("RoleArn") || "",
        "--role-session-name",
        params.get("RoleSessionName") || "",
    ]);
    if (result.code !== 0) {
        const e = cliError(result);
        return stsError(e.code === "AccessDenied" ? 403 : e.code === "InternalError" ? 500 : 400, e.code, e.message);
    }
    const c = JSON.parse(result.stdout).Credentials;
    const account = (/^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/.exec(params.get("RoleArn") || "") || []).slice(1);
    return xmlAnswer(
        200,
        `<AssumeRoleResponse xmlns="${STS_NS}">${el("AssumeRoleResult", [
            el("AssumedRoleUser", [
                el("AssumedRoleId", `AROASANDBOX:${params.get("RoleSessionName")}`),
                el(
                    "Arn",
                    `arn:aws:sts::${account[0] || "123456789012"}:assumed-role/${account[1] || "role"}/${params.get("RoleSessionName")}`,
                ),
            ]),
            el("Credentials", [
                el("AccessKeyId", c.AccessKeyId),
                el("SecretAccessKey", c.SecretAccessKey),
                el("SessionToken", c.SessionToken),
                el("Expiration", c.Expiration),
            ]),
        ])}${el("ResponseMetadata", [el("RequestId", requestId())])}</AssumeRoleResponse>`,
    );
}

async function handleSsm(target, body, who, standIn) {
    const action = String(target).replace(/^AmazonSSM\./, "");
    const known = SSM[action];
    if (!known) return ssmError("UnknownOperationException", `the stand-in does not know ${target}`);
    let request;
    try {
        request = body.trim() ? JSON.parse(body) : {};
    } catch {
        return ssmError("SerializationException", "the request body is not JSON");
    }
    const result = await runAs(standIn, who, "ssm", known.argv(request));
    if (result.code !== 0) {
        const e = cliError(result);
        return ssmError(e.code === "RequestLimitExceeded" ? "ThrottlingException" : e.code, e.message);
    }
    return ssmAnswer(200, known.json(result.stdout.trim() ? JSON.parse(result.stdout) : {}, request));
}

module.exports = {
    prefix: "/aws",
    /** The SDK's endpoint for every service, and the sandbox's key pair for it (never a real one). */
    endpointEnv(base) {
        return { AWS_ENDPOINT_URL: base, AWS_ACCESS_KEY_ID: SANDBOX_KEY.id, AWS_SECRET_ACCESS_KEY: SANDBOX_KEY.secret };
    },
    SANDBOX_KEY,
    async handle(req, standIn) {
        const who = signer(req.headers);
        const target = req.headers["x-amz-target"];
        if (!who) {
            // AWS refuses an unsigned request before anything else.
            return target
                ? ssmAnswer(400, { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" })
                : ec2Error("AuthFailure", "AWS was not able to validate the provided access credentials (no SigV4 Authorization header).");
        }
        if (req.method !== "POST") return ec2Error("InvalidHttpRequest", `the stand-in takes POST requests only, not ${req.method}`);
        if (target) return handleSsm(target, req.body, who, standIn);
        const params = new URLSearchParams(req.body);
        if (who.service === "sts") return handleSts(params, who, standIn);
        return handleEc2(params, who, standIn);
    },
};
