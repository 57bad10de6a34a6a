/**
 * The AWS APIs the watcher observes through, in its own process (no CLI process per call): EC2
 * (DescribeInstances, DescribeInstanceStatus, DescribeVolumes, GetConsoleOutput; and the steps' writes
 * StopInstances, StartInstances, RebootInstances, AttachVolume, DetachVolume, CreateTags:
 * components/aws/actions.ts), Systems Manager
 * (DescribeInstanceInformation, ListCommandInvocations) and STS (AssumeRole, for an instance in
 * another account), with the SDK's clients pinned in package.json.
 *
 * Every request passes the caller's {@link Through} (the gate's budget, under the CLI operation's
 * name), one page at a time: a listing of three pages is three requests, as AWS counts them. The
 * SDK never retries behind the budget's back (maxAttempts 1); a request that has no answer within
 * 30 s, or whose answer is larger than {@link MAX_RESPONSE_BYTES}, fails. A failure is an Error
 * whose message names the error code and the HTTP status (`RequestLimitExceeded (HTTP 503):
 * Request limit exceeded.`): what components/aws/watch.ts classifies.
 *
 * Endpoint and credentials are the SDK's: the real endpoints unless `AWS_ENDPOINT_URL` (or
 * `AWS_ENDPOINT_URL_<SERVICE>`) says otherwise (https, or plain http to the loopback only:
 * {@link checkEndpoints}), the default credential chain (environment, shared
 * config and SSO, credential process, web identity, container, instance metadata).
 */
import {
    AttachVolumeCommand,
    CreateTagsCommand,
    DescribeInstanceStatusCommand,
    DescribeInstancesCommand,
    DescribeVolumesCommand,
    DetachVolumeCommand,
    EC2Client,
    GetConsoleOutputCommand,
    RebootInstancesCommand,
    StartInstancesCommand,
    StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand, ListCommandInvocationsCommand, SSMClient, SendCommandCommand } from "@aws-sdk/client-ssm";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { boundBodies, callOf, MAX_RESPONSE_BYTES } from "./api-request";
import { CliError } from "../gate/types";

export { MAX_RESPONSE_BYTES };

/** Runs one request of the API (`send`) under the budget of the CLI operation `op` (e.g. `ec2 describe-instances`). */
export type Through = <T>(op: string, send: () => Promise<T>) => Promise<T>;

/** Temporary credentials of an assumed role. */
export interface RoleCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    /** When they expire (ms since the epoch). */
    expires: number;
}

/** Where requests go: a region, with the default credentials or an assumed role's. */
export interface AwsScope {
    region: string;
    credentials?: RoleCredentials;
}

/** An instance as DescribeInstances lists it (the fields the watcher reads). */
export interface ApiInstance {
    id: string;
    state: string;
    /** Device name → EBS volume id. */
    volumes: Record<string, string>;
}

/** An instance's status as DescribeInstanceStatus lists it. */
export interface ApiStatus {
    id: string;
    state: string;
    instanceStatus?: string;
    systemStatus?: string;
}

/** One command invocation as ListCommandInvocations lists it. */
export interface ApiInvocation {
    commandId: string;
    status: string;
    comment?: string;
    documentName?: string;
    /** ISO 8601, UTC. */
    requested?: string;
}

/** The variables that point the SDK's clients elsewhere (the sandbox's stand-in, a VPC endpoint). */
const ENDPOINT_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"];
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Refuses an endpoint override the signed requests (and an assumed role's credentials in STS's
 * answers) must not go to: not a URL, or plain http off the loopback. A permanent {@link CliError}
 * naming the variable: no try will do better.
 */
export function checkEndpoints(env: NodeJS.ProcessEnv = process.env): void {
    for (const name of ENDPOINT_VARIABLES) {
        const given = (env[name] ?? "").trim();
        if (!given) continue;
        let url: URL;
        try {
            url = new URL(given);
        } catch {
            throw new CliError(`${name}: not a URL: ${JSON.stringify(given.slice(0, 200))}`, false);
        }
        if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname)))
            throw new CliError(`${name}: https only (plain http to the loopback alone), not ${JSON.stringify(given.slice(0, 200))}`, false);
    }
}

const clients = new Map<string, { ec2: EC2Client; ssm: SSMClient; sts: STSClient }>();

/** The SDK's settings for every client: no retries of its own, bounded connection and request time. */
function settings(region: string) {
    return {
        region,
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    };
}

/**
 * The clients of a scope, made once per region and credentials and reused (an assumed role's
 * renewed credentials make new ones: {@link roleScope} closes the old).
 */
function clientsOf(scope: AwsScope): { ec2: EC2Client; ssm: SSMClient; sts: STSClient } {
    const key = clientKey(scope.region, scope.credentials?.accessKeyId);
    const found = clients.get(key);
    if (found) return found;
    checkEndpoints();
    const c = scope.credentials;
    const credentials = c
        ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } }
        : {};
    const made = {
        ec2: new EC2Client({ ...settings(scope.region), ...credentials }),
        ssm: new SSMClient({ ...settings(scope.region), ...credentials }),
        sts: new STSClient({ ...settings(scope.region), ...credentials }),
    };
    boundBodies(made.ec2.middlewareStack, MAX_RESPONSE_BYTES);
    boundBodies(made.ssm.middlewareStack, MAX_RESPONSE_BYTES);
    boundBodies(made.sts.middlewareStack, MAX_RESPONSE_BYTES);
    clients.set(key, made);
    return made;
}

function clientKey(region: string, accessKeyId: string | undefined): string {
    return `${region}/${accessKeyId ?? "default"}`;
}

/** Closes and forgets the clients of one access key (credentials that were replaced). */
function dropClients(accessKeyId: string): void {
    for (const [key, c] of clients) {
        if (!key.endsWith(`/${accessKeyId}`)) continue;
        for (const client of [c.ec2, c.ssm, c.sts]) client.destroy();
        clients.delete(key);
    }
}

const roles = new Map<string, RoleCredentials>();
/** AssumeRole requests under way, by role: batches that need the same role at once share one. */
const assuming = new Map<string, Promise<RoleCredentials>>();

/** How long before they expire an assumed role's credentials are renewed. */
const RENEW_BEFORE_MS = 300_000;

/**
 * The scope of a region, through `role` when one is given (an instance in another account): its
 * credentials come from AssumeRole (through `through`, as `sts assume-role`; one request for all
 * the batches that need it at once), kept until 5 minutes before they expire.
 */
export async function roleScope(region: string, role: string | undefined, through: Through): Promise<AwsScope> {
    if (!role) return { region };
    const cached = roles.get(role);
    if (cached && cached.expires - RENEW_BEFORE_MS > Date.now()) return { region, credentials: cached };
    let pending = assuming.get(role);
    if (!pending) {
        pending = assumeRole(region, through, role, "bootloop-rescue-watcher").finally(() => assuming.delete(role));
        assuming.set(role, pending);
    }
    const fresh = await pending;
    if (roles.get(role) !== fresh) {
        roles.set(role, fresh);
        if (cached && cached.accessKeyId !== fresh.accessKeyId) dropClients(cached.accessKeyId);
    }
    return { region, credentials: fresh };
}

/** Closes every client made so far and forgets the assumed roles (tests; the watcher ends with its process). */
export function closeClients(): void {
    for (const c of clients.values()) for (const client of [c.ec2, c.ssm, c.sts]) client.destroy();
    clients.clear();
    roles.clear();
}

/**
 * Items per page asked of Systems Manager's listings: their most (DescribeInstanceInformation takes
 * 5 to 50, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html),
 * so that a batch of 50 instances is one request whatever the service's default page.
 */
const SSM_PAGE = 50;

/** The most pages one listing follows (as GCP's): a batch's ids fit in one or two. */
export const MAX_PAGES = 20;

/** Follows NextToken: one request per page, each through the budget, at most {@link MAX_PAGES}. */
async function pages<P extends { NextToken?: string }>(first: (token: string | undefined) => Promise<P>): Promise<P[]> {
    const out: P[] = [];
    let token: string | undefined;
    const seen = new Set<string>();
    do {
        if (out.length >= MAX_PAGES) throw new Error(`the listing has more than ${MAX_PAGES} pages: paging stopped`);
        const page = await first(token);
        out.push(page);
        token = page.NextToken || undefined;
        // A token seen before would page forever.
        if (token !== undefined && seen.has(token))
            throw new Error(`the listing's NextToken repeats (${token.slice(0, 40)}): paging stopped`);
        if (token !== undefined) seen.add(token);
    } while (token !== undefined);
    return out;
}

/** DescribeInstances of up to 200 ids by the `instance-id` filter (an id that does not exist is left out, not an error). */
export async function describeInstances(scope: AwsScope, through: Through, ids: string[]): Promise<ApiInstance[]> {
    const { ec2 } = clientsOf(scope);
    const all = await pages((NextToken) =>
        through("ec2 describe-instances", () =>
            callOf("DescribeInstances", (signal) =>
                ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: ids }], NextToken }), {
                    abortSignal: signal,
                }),
            ),
        ),
    );
    return all
        .flatMap((p) => p.Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .map((i) => ({
            id: i.InstanceId ?? "",
            state: i.State?.Name ?? "unknown",
            volumes: Object.fromEntries(
                (i.BlockDeviceMappings ?? []).filter((m) => m.DeviceName && m.Ebs?.VolumeId).map((m) => [m.DeviceName!, m.Ebs!.VolumeId!]),
            ),
        }));
}

/** DescribeInstanceStatus of up to 100 ids, stopped instances included (IncludeAllInstances). */
export async function describeInstanceStatus(scope: AwsScope, through: Through, ids: string[]): Promise<ApiStatus[]> {
    const { ec2 } = clientsOf(scope);
    const all = await pages((NextToken) =>
        through("ec2 describe-instance-status", () =>
            callOf("DescribeInstanceStatus", (signal) =>
                ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ids, IncludeAllInstances: true, NextToken }), {
                    abortSignal: signal,
                }),
            ),
        ),
    );
    return all
        .flatMap((p) => p.InstanceStatuses ?? [])
        .map((s) => ({
            id: s.InstanceId ?? "",
            state: s.InstanceState?.Name ?? "unknown",
            instanceStatus: s.InstanceStatus?.Status,
            systemStatus: s.SystemStatus?.Status,
        }));
}

/** DescribeVolumes of up to 200 ids by the `volume-id` filter: volume id → state. */
export async function describeVolumes(scope: AwsScope, through: Through, ids: string[]): Promise<Map<string, string>> {
    const { ec2 } = clientsOf(scope);
    const all = await pages((NextToken) =>
        through("ec2 describe-volumes", () =>
            callOf("DescribeVolumes", (signal) =>
                ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: "volume-id", Values: ids }], NextToken }), { abortSignal: signal }),
            ),
        ),
    );
    return new Map(all.flatMap((p) => p.Volumes ?? []).map((v) => [v.VolumeId ?? "", String(v.State ?? "unknown")]));
}

/** GetConsoleOutput, the latest output (Latest: true): the text, decoded; undefined when there is none yet. */
export async function consoleOutput(scope: AwsScope, through: Through, id: string): Promise<string | undefined> {
    const { ec2 } = clientsOf(scope);
    const out = await through("ec2 get-console-output", () =>
        callOf("GetConsoleOutput", (signal) =>
            ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }), { abortSignal: signal }),
        ),
    );
    // The API sends the output base64-encoded (the CLI decodes it).
    return out.Output ? Buffer.from(out.Output, "base64").toString("utf8") : undefined;
}

/** DescribeInstanceInformation of up to 50 instance ids: instance id → the agent's ping status. */
export async function describeInstanceInformation(scope: AwsScope, through: Through, ids: string[]): Promise<Map<string, string>> {
    const { ssm } = clientsOf(scope);
    const all = await pages((NextToken) =>
        through("ssm describe-instance-information", () =>
            callOf("DescribeInstanceInformation", (signal) =>
                ssm.send(
                    new DescribeInstanceInformationCommand({
                        Filters: [{ Key: "InstanceIds", Values: ids }],
                        MaxResults: SSM_PAGE,
                        NextToken,
                    }),
                    {
                        abortSignal: signal,
                    },
                ),
            ),
        ),
    );
    return new Map(all.flatMap((p) => p.InstanceInformationList ?? []).map((i) => [i.InstanceId ?? "", String(i.PingStatus ?? "unknown")]));
}

/** ListCommandInvocations of one instance, those invoked after `since` (ISO 8601). */
export async function listCommandInvocations(
    scope: AwsScope,
    through: Through,
    instanceId: string,
    since: string,
): Promise<ApiInvocation[]> {
    const { ssm } = clientsOf(scope);
    const all = await pages((NextToken) =>
        through("ssm list-command-invocations", () =>
            callOf("ListCommandInvocations", (signal) =>
                ssm.send(
                    new ListCommandInvocationsCommand({
                        InstanceId: instanceId,
                        Filters: [{ key: "InvokedAfter", value: since }],
                        MaxResults: SSM_PAGE,
                        NextToken,
                    }),
                    { abortSignal: signal },
                ),
            ),
        ),
    );
    return all
        .flatMap((p) => p.CommandInvocations ?? [])
        .map((c) => ({
            commandId: c.CommandId ?? "",
            status: String(c.Status ?? "unknown"),
            comment: c.Comment,
            documentName: c.DocumentName,
            requested: c.RequestedDateTime?.toISOString(),
        }));
}

/** AssumeRole with the default credentials, in the scope's region: the role's temporary credentials. */
export async function assumeRole(region: string, through: Through, roleArn: string, sessionName: string): Promise<RoleCredentials> {
    const { sts } = clientsOf({ region });
    const out = await through("sts assume-role", () =>
        callOf("AssumeRole", (signal) =>
            sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }), { abortSignal: signal }),
        ),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw new Error(`AssumeRole of ${roleArn} answered without credentials (AccessKeyId, SecretAccessKey, SessionToken)`);
    return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expires: c.Expiration ? c.Expiration.getTime() : Date.now() + 3_600_000,
    };
}

/**
 * One of the steps' EC2 writes (components/aws/actions.ts), as the request's parameters: each is
 * one request, sent once (no waiting: the AWS CLI does not wait for them either).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html,
 * …/API_StartInstances.html, …/API_RebootInstances.html, …/API_AttachVolume.html,
 * …/API_DetachVolume.html, …/API_CreateTags.html.
 */
export type Ec2Write =
    | { action: "StopInstances"; instanceId: string; force: boolean }
    | { action: "StartInstances"; instanceId: string }
    | { action: "RebootInstances"; instanceId: string }
    | { action: "AttachVolume"; volumeId: string; instanceId: string; device: string }
    | { action: "DetachVolume"; volumeId: string; instanceId: string }
    | { action: "CreateTags"; resourceId: string; tags: { Key: string; Value: string }[] };

/**
 * Sends one EC2 write under the budget of the CLI operation `op` (`ec2 stop-instances`): the SDK's
 * output without `$metadata` (what the CLI prints, `{}` for an action that answers nothing but
 * `return`), or an Error whose message names the error code and HTTP status, as {@link callOf} has them.
 */
export async function ec2Write(scope: AwsScope, through: Through, op: string, write: Ec2Write): Promise<Record<string, unknown>> {
    const { ec2 } = clientsOf(scope);
    const out: { $metadata?: unknown } = await through(op, () =>
        callOf(write.action, (signal) => {
            const options = { abortSignal: signal };
            switch (write.action) {
                case "StopInstances":
                    return ec2.send(
                        new StopInstancesCommand({ InstanceIds: [write.instanceId], ...(write.force ? { Force: true } : {}) }),
                        options,
                    );
                case "StartInstances":
                    return ec2.send(new StartInstancesCommand({ InstanceIds: [write.instanceId] }), options);
                case "RebootInstances":
                    return ec2.send(new RebootInstancesCommand({ InstanceIds: [write.instanceId] }), options);
                case "AttachVolume":
                    return ec2.send(
                        new AttachVolumeCommand({ VolumeId: write.volumeId, InstanceId: write.instanceId, Device: write.device }),
                        options,
                    );
                case "DetachVolume":
                    return ec2.send(new DetachVolumeCommand({ VolumeId: write.volumeId, InstanceId: write.instanceId }), options);
                case "CreateTags":
                    return ec2.send(new CreateTagsCommand({ Resources: [write.resourceId], Tags: write.tags }), options);
            }
        }),
    );
    const rest: Record<string, unknown> = { ...out };
    delete rest.$metadata;
    return rest;
}

/** A Systems Manager command to send (SendCommand): one instance, a document, its parameters, a delivery timeout, a comment. */
export interface SsmSend {
    instanceId: string;
    documentName: string;
    parameters: Record<string, string[]>;
    timeoutSeconds: number;
    comment: string;
}

/**
 * SendCommand (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html),
 * one request under the budget of `op` (`ssm send-command`): the SDK's output without `$metadata`
 * (`{Command: {CommandId, …}}`, as the CLI prints it).
 */
export async function ssmSendCommand(scope: AwsScope, through: Through, op: string, send: SsmSend): Promise<Record<string, unknown>> {
    const { ssm } = clientsOf(scope);
    const out: { $metadata?: unknown } = await through(op, () =>
        callOf("SendCommand", (signal) =>
            ssm.send(
                new SendCommandCommand({
                    InstanceIds: [send.instanceId],
                    DocumentName: send.documentName,
                    Parameters: send.parameters,
                    TimeoutSeconds: send.timeoutSeconds,
                    Comment: send.comment,
                }),
                { abortSignal: signal },
            ),
        ),
    );
    const rest: Record<string, unknown> = { ...out };
    delete rest.$metadata;
    return rest;
}
