import { CloudWatch, Observation, WaitRequest, followUp } from "../watcher/types";
import { CliRunner, CloudRunner, Fields, cloudMs, parseJson } from "../gate/types";
import { awsAction } from "./actions";
import { scopeOf, through } from "./scope";
import {
    AwsScope,
    consoleOutput,
    describeInstanceInformation,
    describeInstanceStatus,
    describeInstances,
    describeVolumes,
    listCommandInvocations,
    roleScope,
} from "./api";

/**
 * What the AWS steps wait for, observed in batches per account (role) and region, by requests of
 * the EC2 and Systems Manager APIs made in the watcher's own process (components/aws/api.ts; an
 * instance in another account through its role, assumed with STS AssumeRole and kept until 5
 * minutes before it expires). Each request (each page of a listing) passes the gate under the
 * name of the CLI operation it replaces (`ec2 describe-instance-status`): the same rate class and budget.
 *   instance     DescribeInstances, up to 100 ids a request: state, and the volume at `device`
 *   status       DescribeInstanceStatus, up to 100 ids: state and both status checks; then, only
 *                for instances whose checks pass, their console output for `marker` (GetConsoleOutput,
 *                at most once a minute each)
 *   volume       DescribeVolumes, up to 100 ids: state
 *   ssm-online   DescribeInstanceInformation, up to 50 ids: the agent's ping status
 *   ssm-command  ListCommandInvocations, once per rescue instance for all its commands
 *   ssm-sent     the same listing over the last 14 days: the latest repair of volume `id` sent to
 *                rescue instance `instance` with document `document` (by the comment the repair
 *                sends), so that a re-run takes it over instead of sending it again
 * Errors are the CLI's words (its stderr) or the API client's (`RequestLimitExceeded (HTTP 503): …`);
 * any HTTP 5xx is worth another try, HTTP 429 is throttling.
 */
const TRANSIENT =
    /Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|ServiceUnavailable|Unavailable|InternalError|InternalFailure|RequestTimeout|Could not connect to the endpoint|Connection was closed|Read timeout|EndpointConnectionError|\(HTTP (5\d\d|429)\)/;
const THROTTLING = /Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|\(HTTP 429\)/;
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

const credentials = new Map<string, { env: Record<string, string>; until: number }>();

function call(
    cli: CliRunner,
    f: Fields,
    env: Record<string, string> | undefined,
    op: string,
    args: string[],
    timeoutMs?: number,
): Promise<string> {
    const [service, action] = op.split(" ");
    return cli.run({
        cloud: "aws",
        scope: scopeOf(f),
        op,
        command: "aws",
        args: ["--region", f.region, "--output", "json", service, action, ...args],
        env,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
}

/** The longest a credentials call (`sts assume-role`, a token helper) may take: a hung one must not stall a scope. */
export const CREDENTIALS_TIMEOUT_MS = 120_000;

/**
 * The CLI's environment for a role (an assumed role's credentials, by `aws sts assume-role`),
 * cached until 5 minutes before they expire: for `npm run discover`'s CLI calls. The watcher's
 * own requests assume roles through the API ({@link roleScope}).
 */
async function scopeEnv(f: Fields, cli: CliRunner): Promise<Record<string, string>> {
    if (!f.role) return {};
    const cached = credentials.get(f.role);
    if (cached && cached.until > Date.now()) return cached.env;
    const out = parseJson<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration?: string } }>(
        await call(
            cli,
            f,
            undefined,
            "sts assume-role",
            ["--role-arn", f.role, "--role-session-name", "bootloop-rescue-watcher"],
            CREDENTIALS_TIMEOUT_MS,
        ),
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

async function observe(waits: WaitRequest[], runner: CloudRunner): Promise<Map<WaitRequest, Observation>> {
    const f = waits[0].fields;
    const api = through(runner, f);
    const scope: AwsScope = await roleScope(f.region, f.role || undefined, api);
    const seen = new Map<WaitRequest, Observation>();
    const ids = [...new Set(waits.map((w) => w.id))];
    switch (waits[0].kind) {
        case "instance": {
            const byId = new Map((await describeInstances(scope, api, ids)).map((i) => [i.id, i]));
            for (const w of waits) {
                const i = byId.get(w.id);
                if (!i) {
                    seen.set(w, { met: false, fields: {}, gone: `instance ${w.id} does not exist in ${f.region}` });
                    continue;
                }
                const root = i.volumes[w.fields.device] ?? "none";
                seen.set(w, { met: w.want === "any" || i.state === w.want, fields: { state: i.state, root } });
            }
            return seen;
        }
        case "status": {
            const byId = new Map((await describeInstanceStatus(scope, api, ids)).map((s) => [s.id, s]));
            await Promise.all(
                waits.map(async (w) => {
                    const s = byId.get(w.id);
                    const state = s?.state ?? "stopped";
                    const checks = s ? `${s.instanceStatus ?? "none"} ${s.systemStatus ?? "none"}` : "none none";
                    let marker = String(w.memo.marker ?? "unchecked");
                    // The console at most once a minute; but past the deadline, a marker read
                    // before it is read again: a timeout is judged on fresh output only.
                    const markerAt = Number(w.memo.markerAt ?? 0);
                    const stale = Date.now() >= w.deadline && markerAt < w.deadline;
                    if (state === "running" && checks === "ok ok" && (Date.now() >= Number(w.memo.nextConsole ?? 0) || stale)) {
                        // Only now, with both checks passing, is the console worth reading.
                        const read = await followUp(() => consoleOutput(scope, api, w.id));
                        if (read.gone) return seen.set(w, { met: false, fields: {}, gone: read.gone });
                        if (!("value" in read)) return; // not observed this round
                        w.memo.nextConsole = Date.now() + cloudMs(60);
                        w.memo.markerAt = Date.now();
                        const output = read.value;
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
            const byId = await describeVolumes(scope, api, ids);
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
            const byId = await describeInstanceInformation(scope, api, ids);
            for (const w of waits) {
                const ping = byId.get(w.id) ?? "unregistered";
                seen.set(w, { met: ping === "Online", fields: { ping } });
            }
            return seen;
        }
        case "ssm-command": {
            const since = new Date(Math.min(...waits.map((w) => w.received)) - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
            const byId = new Map((await listCommandInvocations(scope, api, f.instance, since)).map((c) => [c.commandId, c.status]));
            for (const w of waits) {
                const status = byId.get(w.id) ?? "Pending";
                seen.set(w, { met: TERMINAL.has(status), fields: { status } });
            }
            return seen;
        }
        case "ssm-sent": {
            const since = new Date(Date.now() - SENT_WINDOW_MS).toISOString().replace(/\.\d+Z$/, "Z");
            const invocations = await listCommandInvocations(scope, api, f.instance, since);
            for (const w of waits) {
                const sent = invocations
                    .filter((c) => c.comment === repairComment(w.id, w.fields.attempt) && c.documentName === w.fields.document)
                    .sort((a, b) => String(a.requested ?? "").localeCompare(String(b.requested ?? "")))
                    .pop();
                seen.set(w, { met: true, fields: { command: sent?.commandId ?? "none", status: sent?.status ?? "none" } });
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
    // The steps' EC2 writes of known shapes, made here as requests of the API (components/aws/actions.ts).
    action: awsAction,
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
