import { CloudWatch, Observation, WaitRequest, followUp } from "../watcher/types";
import { CliRunner, Fields, cloudMs, parseJson } from "../gate/types";

/**
 * What the AWS steps wait for, observed in batches per account (role) and region:
 *   instance     describe-instances, up to 100 ids a call: state, and the volume at `device`
 *   status       describe-instance-status, up to 100 ids: state and both status checks; then, only
 *                for instances whose checks pass, their console output for `marker` (at most once
 *                a minute each)
 *   volume       describe-volumes, up to 100 ids: state
 *   ssm-online   describe-instance-information, up to 50 ids: the agent's ping status
 *   ssm-command  list-command-invocations, once per rescue instance for all its commands
 *   ssm-sent     the same listing over the last 14 days: the latest repair of volume `id` sent to
 *                rescue instance `instance` with document `document` (by the comment the repair
 *                sends), so that a re-run takes it over instead of sending it again
 */
const TRANSIENT =
    /Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|ServiceUnavailable|Unavailable|InternalError|InternalFailure|RequestTimeout|Could not connect to the endpoint|Connection was closed|Read timeout|EndpointConnectionError/;
const THROTTLING = /Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown/;
const TERMINAL = new Set([
    "Success",
    "Failed",
    "Cancelled",
    "TimedOut",
    "Undeliverable",
    "Terminated",
    "DeliveryTimedOut",
    "ExecutionTimedOut",
]);

/** How far back a re-run looks for a repair an earlier run sent (Systems Manager keeps 30 days). */
const SENT_WINDOW_MS = 14 * 86_400_000;

/**
 * The comment a repair command is sent with: how a re-run recognises it, by volume and attempt (a
 * retry's `, attempt N`, so it never takes over the first attempt's command). Keep in step with repair.sh.
 */
function repairComment(volumeId: string, attempt: string | undefined): string {
    return !attempt || attempt === "1"
        ? `bootloop-rescue repair of ${volumeId}`
        : `bootloop-rescue repair of ${volumeId}, attempt ${attempt}`;
}

type Instance = { InstanceId: string; State: { Name: string }; BlockDeviceMappings?: { DeviceName: string; Ebs?: { VolumeId: string } }[] };
type Status = {
    InstanceId: string;
    InstanceState: { Name: string };
    InstanceStatus?: { Status: string };
    SystemStatus?: { Status: string };
};

const credentials = new Map<string, { env: Record<string, string>; until: number }>();

function call(cli: CliRunner, f: Fields, env: Record<string, string> | undefined, op: string, args: string[]): Promise<string> {
    const [service, action] = op.split(" ");
    return cli.run({
        cloud: "aws",
        scope: scopeOf(f),
        op,
        command: "aws",
        args: ["--region", f.region, "--output", "json", service, action, ...args],
        env,
    });
}

function scopeOf(f: Fields): string {
    return `${f.role || "default"}/${f.region}`;
}

async function scopeEnv(f: Fields, cli: CliRunner): Promise<Record<string, string>> {
    if (!f.role) return {};
    const cached = credentials.get(f.role);
    if (cached && cached.until > Date.now()) return cached.env;
    const out = parseJson<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration?: string } }>(
        await call(cli, f, undefined, "sts assume-role", ["--role-arn", f.role, "--role-session-name", "bootloop-rescue-watcher"]),
        { Credentials: { AccessKeyId: "", SecretAccessKey: "", SessionToken: "" } },
    );
    const c = out.Credentials;
    const env = {
        AWS_ACCESS_KEY_ID: c.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
        AWS_SESSION_TOKEN: c.SessionToken,
        AWS_PROFILE: "",
    };
    const expires = c.Expiration ? Date.parse(c.Expiration) : Date.now() + 3_600_000;
    credentials.set(f.role, { env, until: expires - 300_000 });
    return env;
}

async function observe(waits: WaitRequest[], cli: CliRunner): Promise<Map<WaitRequest, Observation>> {
    const f = waits[0].fields;
    const env = await scopeEnv(f, cli);
    const seen = new Map<WaitRequest, Observation>();
    const ids = [...new Set(waits.map((w) => w.id))];
    switch (waits[0].kind) {
        case "instance": {
            const out = parseJson<{ Reservations: { Instances: Instance[] }[] }>(
                await call(cli, f, env, "ec2 describe-instances", ["--filters", `Name=instance-id,Values=${ids.join(",")}`]),
                { Reservations: [] },
            );
            const byId = new Map(out.Reservations.flatMap((r) => r.Instances).map((i) => [i.InstanceId, i]));
            for (const w of waits) {
                const i = byId.get(w.id);
                if (!i) {
                    seen.set(w, { met: false, fields: {}, gone: `instance ${w.id} does not exist in ${f.region}` });
                    continue;
                }
                const root = (i.BlockDeviceMappings ?? []).find((m) => m.DeviceName === w.fields.device)?.Ebs?.VolumeId ?? "none";
                seen.set(w, { met: w.want === "any" || i.State.Name === w.want, fields: { state: i.State.Name, root } });
            }
            return seen;
        }
        case "status": {
            const out = parseJson<{ InstanceStatuses: Status[] }>(
                await call(cli, f, env, "ec2 describe-instance-status", ["--instance-ids", ...ids, "--include-all-instances"]),
                { InstanceStatuses: [] },
            );
            const byId = new Map(out.InstanceStatuses.map((s) => [s.InstanceId, s]));
            await Promise.all(
                waits.map(async (w) => {
                    const s = byId.get(w.id);
                    const state = s?.InstanceState.Name ?? "stopped";
                    const checks = s ? `${s.InstanceStatus?.Status ?? "none"} ${s.SystemStatus?.Status ?? "none"}` : "none none";
                    let marker = String(w.memo.marker ?? "unchecked");
                    // The console at most once a minute; but past the deadline, a marker read
                    // before it is read again: a timeout is judged on fresh output only.
                    const markerAt = Number(w.memo.markerAt ?? 0);
                    const stale = Date.now() >= w.deadline && markerAt < w.deadline;
                    if (state === "running" && checks === "ok ok" && (Date.now() >= Number(w.memo.nextConsole ?? 0) || stale)) {
                        // Only now, with both checks passing, is the console worth reading.
                        const read = await followUp(() => call(cli, f, env, "ec2 get-console-output", ["--instance-id", w.id, "--latest"]));
                        if (read.gone) return seen.set(w, { met: false, fields: {}, gone: read.gone });
                        if (read.value === undefined) return; // not observed this round
                        w.memo.nextConsole = Date.now() + cloudMs(60);
                        w.memo.markerAt = Date.now();
                        const output = parseJson<{ Output?: string }>(read.value, {}).Output;
                        marker = !output
                            ? "unavailable"
                            : new RegExp(w.fields.marker || "Windows is Ready to use").test(output)
                              ? "found"
                              : "missing";
                        w.memo.marker = marker;
                    }
                    const healthy = state === "running" && checks === "ok ok" && (marker === "found" || marker === "unavailable");
                    // With the checks passing, the marker decides: it was seen when it was read.
                    const asOf = state === "running" && checks === "ok ok" ? { asOf: Number(w.memo.markerAt ?? 0) } : {};
                    return seen.set(w, {
                        met: w.want === "any" || healthy,
                        fields: { state, checks: checks.replace(" ", "/"), marker },
                        ...asOf,
                    });
                }),
            );
            return seen;
        }
        case "volume": {
            const out = parseJson<{ Volumes: { VolumeId: string; State: string }[] }>(
                await call(cli, f, env, "ec2 describe-volumes", ["--filters", `Name=volume-id,Values=${ids.join(",")}`]),
                { Volumes: [] },
            );
            const byId = new Map(out.Volumes.map((v) => [v.VolumeId, v.State]));
            for (const w of waits) {
                const state = byId.get(w.id);
                seen.set(
                    w,
                    state === undefined
                        ? { met: false, fields: {}, gone: `volume ${w.id} does not exist in ${f.region}` }
                        : { met: w.want === "any" || state === w.want, fields: { state } },
                );
            }
            return seen;
        }
        case "ssm-online": {
            const out = parseJson<{ InstanceInformationList: { InstanceId: string; PingStatus: string }[] }>(
                await call(cli, f, env, "ssm describe-instance-information", ["--filters", `Key=InstanceIds,Values=${ids.join(",")}`]),
                { InstanceInformationList: [] },
            );
            const byId = new Map(out.InstanceInformationList.map((i) => [i.InstanceId, i.PingStatus]));
            for (const w of waits) {
                const ping = byId.get(w.id) ?? "unregistered";
                seen.set(w, { met: ping === "Online", fields: { ping } });
            }
            return seen;
        }
        case "ssm-command": {
            const since = new Date(Math.min(...waits.map((w) => w.received)) - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
            const out = parseJson<{ CommandInvocations: { CommandId: string; Status: string }[] }>(
                await call(cli, f, env, "ssm list-command-invocations", [
                    "--instance-id",
                    f.instance,
                    "--filters",
                    `key=InvokedAfter,value=${since}`,
                ]),
                { CommandInvocations: [] },
            );
            const byId = new Map(out.CommandInvocations.map((c) => [c.CommandId, c.Status]));
            for (const w of waits) {
                const status = byId.get(w.id) ?? "Pending";
                seen.set(w, { met: TERMINAL.has(status), fields: { status } });
            }
            return seen;
        }
        case "ssm-sent": {
            const since = new Date(Date.now() - SENT_WINDOW_MS).toISOString().replace(/\.\d+Z$/, "Z");
            const out = parseJson<{
                CommandInvocations: {
                    CommandId: string;
                    Status: string;
                    Comment?: string;
                    DocumentName?: string;
                    RequestedDateTime?: string;
                }[];
            }>(
                await call(cli, f, env, "ssm list-command-invocations", [
                    "--instance-id",
                    f.instance,
                    "--filters",
                    `key=InvokedAfter,value=${since}`,
                ]),
                { CommandInvocations: [] },
            );
            for (const w of waits) {
                const sent = out.CommandInvocations.filter(
                    (c) => c.Comment === repairComment(w.id, w.fields.attempt) && c.DocumentName === w.fields.document,
                )
                    .sort((a, b) => String(a.RequestedDateTime ?? "").localeCompare(String(b.RequestedDateTime ?? "")))
                    .pop();
                seen.set(w, { met: true, fields: { command: sent?.CommandId ?? "none", status: sent?.Status ?? "none" } });
            }
            return seen;
        }
    }
    throw new Error(`aws cannot watch ${waits[0].kind}`);
}

export const awsWatch: CloudWatch = {
    cloud: "aws",
    kinds: ["instance", "status", "volume", "ssm-online", "ssm-command", "ssm-sent"],
    scopeOf,
    batchKey: (w) => (w.kind === "ssm-command" || w.kind === "ssm-sent" ? `${scopeOf(w.fields)}/${w.fields.instance}` : scopeOf(w.fields)),
    batchSize: (kind) => (kind === "ssm-online" ? 50 : 100),
    // A repair takes minutes and a Windows boot several: no need to look every 10 s.
    pollFactor: (kind) => ({ "ssm-command": 3, status: 1.5 })[kind] ?? 1,
    observe,
    rateClass: (op) =>
        op === "ec2 start-instances"
            ? "start"
            : /^ec2 (describe|get)-/.test(op)
              ? "describe"
              : op.startsWith("ec2 ")
                ? "mutate"
                : op.split(" ")[0],
    regionalLimits: true,
    // EC2's published refill rates per account and region: describe calls 20/s, mutating calls 5/s,
    // StartInstances 2/s (bursts kept below the published buckets). Systems Manager publishes no
    // per-API figure: ssm and default are the watcher's own pace.
    rates: {
        describe: { perSecond: 20, burst: 20 },
        mutate: { perSecond: 5, burst: 5 },
        start: { perSecond: 2, burst: 2 },
        ssm: { perSecond: 5, burst: 10 },
        default: { perSecond: 5, burst: 5 },
    },
    // Per VM chain (offline repair), counted: one real-engine sandbox up of 4 repair VMs in one
    // account, region and zone at e3eb972 (bench/engine/provider-requests-run.ts, the simulated
    // cloud's counts in test/fixtures/provider-requests/counted.json; test/bench/provider-requests
    // holds the table to them), rounded up. Providers, outside the gate: CreateSnapshot,
    // CreateVolume, CopyVolumes and AttachVolume, and the VM's share of its zone's rescue instance
    // and security group (4.5 mutating); a read after each and their waiters' polls (11.75
    // describes). Steps, through it: the swap's create-tags, stop, detach and attach (4 mutating);
    // the console reads, the status checks and the VM's share of batched describes (7.75 to 8 in
    // two runs). So the watcher leaves the providers 5/9 of the mutating budget and 12/20 of the
    // describes. StartInstances: the steps' alone.
    providerRequests: { mutate: { providers: 5, steps: 4 }, describe: { providers: 12, steps: 8 } },
    transient: (stderr) => TRANSIENT.test(stderr),
    throttling: (stderr) => THROTTLING.test(stderr),
    scopeEnv,
};
