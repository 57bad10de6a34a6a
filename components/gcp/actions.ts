import { CloudAction, StepCall } from "../watcher/types";
import { ComputeApi, defaultComputeApi } from "./api";

/**
 * The GCP steps' gcloud calls that the watcher makes itself, as Compute Engine REST v1 requests
 * (./api.ts) in its own process, each under the op the step named (a read before a write under
 * its own read op; each operation wait under `operations wait`). Only these exact shapes (the
 * arguments after `gcloud`, as `gc` in scripts/common.sh sends them; `…` is always
 * `--project P --zone Z --format json --quiet`, P the step's project):
 *
 *   compute instances stop NAME [--async] …   POST …/instances/NAME/stop, then (no --async) the
 *   compute instances start NAME [--async] …  POST …/start      zone operation waited for
 *   compute instances reset NAME …            POST …/reset      (POST …/operations/OP/wait)
 *   compute instances detach-disk NAME --disk DISK …
 *                                             GET …/instances/NAME (the disk's deviceName; op
 *                                             `instances describe`), POST …/detachDisk?deviceName=D, wait
 *   compute instances attach-disk NAME --disk DISK --boot …
 *                                             POST …/attachDisk {source: …/disks/DISK, boot: true,
 *                                             mode: READ_WRITE, type: PERSISTENT}, wait
 *   compute disks add-labels DISK --labels k=v,… …
 *                                             GET …/disks/DISK (labels, labelFingerprint; op
 *                                             `disks describe`), POST …/disks/DISK/setLabels with the
 *                                             merged labels and the fingerprint (none when nothing
 *                                             changes), one wait even when DONE (as gcloud's poller)
 *   compute instances get-serial-port-output NAME --port 1 --start S …
 *                                             GET …/instances/NAME/serialPort?port=1&start=S
 *
 * The requests are the ones gcloud 528 sends for the same commands (test/gcp/real-gcloud.test.ts
 * compares them, method, path, query and body), except: no `alt=json` (the API's default); the
 * reads ask only for the `fields` they need; and after a change it waited for, gcloud reads the
 * instance once more to print it, which the action does not (no script reads that output).
 *
 * Once Compute Engine accepted a change, its operation waits are the action's own: a wait that
 * fails transiently (throttled, 5xx, no answer) is asked again with backoff, and an operation not
 * DONE by the step's deadline fails the action for good, naming it. A failure of the change
 * request itself, or the operation's own error, is passed on as the cloud's rules judge it: only
 * then may the step send the change again (a second attach of a disk the first one attached fails
 * "already in use"; a second reset resets twice).
 *
 * Each prints "" (the scripts discard the output) except the serial read, which prints
 * `{"start":"S","next":"N"}` (common.sh's serial_next reads `next`; the output's contents, up to
 * 1 MB, are left out: no script reads them). Any other call (another flag, order, format or
 * value, a name Compute Engine cannot have, a project other than the step's) is `undefined`:
 * the step runs gcloud. References: https://cloud.google.com/compute/docs/reference/rest/v1/instances/stop,
 * …/instances/start, …/instances/reset, …/instances/attachDisk, …/instances/detachDisk,
 * …/disks/setLabels, …/zoneOperations/wait, …/instances/getSerialPortOutput.
 */
export function gcpAction(call: StepCall, api: ComputeApi = defaultComputeApi): CloudAction | undefined {
    return parse(api, call);
}

/** Names of instances and disks, zones and projects as common.sh admits them. */
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]{1,2}-[a-z]$/;
const PROJECT = /^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
/** Compute Engine's label keys and values (https://cloud.google.com/compute/docs/labeling-resources#requirements). */
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const OFFSET = /^[0-9]{1,18}$/;

function parse(api: ComputeApi, call: StepCall): CloudAction | undefined {
    const a = call.args;
    if (call.command !== "gcloud" || a.length < 11 || a[0] !== "compute") return undefined;
    const tail = a.slice(-7);
    const [, project, , zone] = tail;
    if (tail.join("\u0000") !== ["--project", project, "--zone", zone, "--format", "json", "--quiet"].join("\u0000")) return undefined;
    if (!PROJECT.test(project) || !ZONE.test(zone) || call.fields.project !== project) return undefined;
    const [, resource, verb, name] = a;
    const op = `${resource} ${verb}`;
    if (call.op !== op || !NAME.test(name)) return undefined;
    const mid = a.slice(4, -7);
    const is = (...want: string[]) => mid.length === want.length && mid.every((m, i) => want[i] === "*" || m === want[i]);
    if (resource === "instances" && (verb === "stop" || verb === "start" || verb === "reset")) {
        const async = verb !== "reset" && is("--async");
        if (!async && !is()) return undefined;
        return {
            run: (runner, deadline) => api.instanceChange(runner, op, project, zone, name, verb, !async, deadline).then(() => ""),
            // A stop or start made twice changes nothing more; a reset would reset again.
            repeatable: verb !== "reset",
        };
    }
    if (resource === "instances" && verb === "detach-disk" && is("--disk", "*") && NAME.test(mid[1])) {
        const disk = mid[1];
        return {
            run: (runner, deadline) => api.detachDisk(runner, "instances describe", op, project, zone, name, disk, deadline).then(() => ""),
        };
    }
    if (resource === "instances" && verb === "attach-disk" && is("--disk", "*", "--boot") && NAME.test(mid[1])) {
        const disk = mid[1];
        return { run: (runner, deadline) => api.attachDisk(runner, op, project, zone, name, disk, true, deadline).then(() => "") };
    }
    if (resource === "disks" && verb === "add-labels" && is("--labels", "*")) {
        const labels = parseLabels(mid[1]);
        if (!labels) return undefined;
        return {
            run: (runner, deadline) =>
                api.addDiskLabels(runner, "disks describe", op, project, zone, name, labels, deadline).then(() => ""),
            repeatable: true,
        };
    }
    if (resource === "instances" && verb === "get-serial-port-output" && is("--port", "1", "--start", "*") && OFFSET.test(mid[3])) {
        const start = mid[3];
        return {
            run: async (runner) => {
                const out = await api.serialPortOutput(runner, project, zone, name, start);
                const next = String(out.next ?? "");
                if (!OFFSET.test(next))
                    throw new Error(`instances.getSerialPortOutput ${project}/${zone}/${name}: no usable 'next' offset in the answer`);
                return JSON.stringify({ start: String(out.start ?? start), next });
            },
            // A read.
            repeatable: true,
        };
    }
    return undefined;
}

/** `k=v,k=v` as gcloud's --labels takes it (each key once, each valid), or `undefined`. */
function parseLabels(text: string): Record<string, string> | undefined {
    const out: Record<string, string> = {};
    for (const kv of text.split(",")) {
        const eq = kv.indexOf("=");
        if (eq <= 0) return undefined;
        const k = kv.slice(0, eq);
        const v = kv.slice(eq + 1);
        if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v) || Object.prototype.hasOwnProperty.call(out, k)) return undefined;
        out[k] = v;
    }
    return out;
}
