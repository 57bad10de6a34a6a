// STAND-IN (for the tests and for `npm run sandbox`) for the gcloud CLI: answers the `gcloud compute` calls the GCP command scripts make
// from a JSON world (FAKE_GCLOUD_STATE, rewritten after each call) and appends every call to
// FAKE_GCLOUD_LOG. Instances move the way Compute Engine does: stop → STOPPING → TERMINATED,
// start → STAGING → RUNNING, and once running a bootable boot disk writes the Windows boot marker
// to serial port 1 after bootPolls looks. Limits: every compute call spends its requests from the
// world's budget at Compute Engine's per-minute quotas (sandbox/cli/budget.js). Faults: world.throttle["instances stop"] = n fails the
// first n such calls with a rate-limit error. Resets: a boot disk with boots=false boot-loops;
// world.instances[name].recoversAtReboot = k makes it boot from the k-th reset on.
// world.snapshots: name → {sourceDisk, creationTimestamp, status}. A rescue instance with `agent`
// runs the bootloop-rescue agent on its br-… disks when its guest attributes are read (runAgent).
//
// The call itself: run(argv, env) (./gcloud, the executable, is a thin wrapper of it; the API front,
// sandbox/api/front.js, runs it in its own process). It reads nothing of the process: its arguments
// and environment are the parameters, its answer and exit code the result (../call.js).
const fs = require("fs");
const budget = require("../budget.js");
const { openWorld, runCall } = require("../call.js");
const linuxGuest = require("../linux-guest.js");

/** One call of the stand-in gcloud: `argv` its arguments, `env` its environment; writes and exits through `io` (../call.js). */
function call(argv, env, io) {
    const { world, scale, perObjectScale, save, out } = openWorld("gcloud", "FAKE_GCLOUD_STATE", "FAKE_GCLOUD_LOG", argv, env, io);

    const FLAGS = new Set(["boot", "quiet", "async"]);
    const opts = {};
    const positional = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("--")) {
            positional.push(a);
            continue;
        }
        const [k, inline] = a.slice(2).split(/=(.*)/s);
        if (inline !== undefined) opts[k] = inline;
        else if (FLAGS.has(k)) opts[k] = true;
        else opts[k] = argv[++i];
    }
    const [group, resource, verb, target] = positional; // compute instances describe NAME
    const name = `${resource} ${verb}`;
    // peek: an answer that changes nothing in the world's resources (the discovery reads); like every answer,
    // it saves the world (../call.js openWorld's out).
    const peek = out;
    const error = (message) => {
        save();
        io.stderr(`ERROR: (gcloud.compute.${resource}.${verb}) ${message}\n`);
        io.exit(1);
    };

    // Secret Manager (npm run import-keys): world.secrets: id → { project, versions: [text], labels }.
    if (group === "secrets") {
        const [, what, sub] = positional; // secrets list | secrets create ID | secrets versions add ID
        world.secrets = world.secrets || {};
        const fail = (message) => {
            save();
            io.stderr(`ERROR: (gcloud.secrets.${what}) ${message}\n`);
            io.exit(1);
        };
        if (what === "list") {
            const m = /^name ~ \/secrets\/(.+)\$$/.exec(opts.filter || "");
            out(
                Object.entries(world.secrets)
                    .filter(([id, s]) => s.project === opts.project && (!m || id === m[1]))
                    .map(([id]) => ({ name: `projects/${opts.project}/secrets/${id}`, replication: { automatic: {} } })),
            );
        }
        if (what === "create") {
            const id = positional[2];
            if (world.secrets[id])
                fail(
                    `Resource in projects [${opts.project}] is the subject of a conflict: Secret [projects/123/secrets/${id}] already exists.`,
                );
            world.secrets[id] = {
                project: opts.project,
                versions: [fs.readFileSync(opts["data-file"], "utf8")],
                labels: opts.labels,
                replication: opts["replication-policy"],
            };
            out({ name: `projects/${opts.project}/secrets/${id}`, replication: { automatic: {} }, createTime: "2024-07-19T09:00:00Z" });
        }
        if (what === "versions" && sub === "add") {
            const id = positional[3];
            const s = world.secrets[id] || fail(`NOT_FOUND: Secret [projects/${opts.project}/secrets/${id}] not found or has no versions.`);
            s.versions.push(fs.readFileSync(opts["data-file"], "utf8"));
            out({
                name: `projects/${opts.project}/secrets/${id}/versions/${s.versions.length}`,
                state: "ENABLED",
                createTime: "2024-07-19T09:00:00Z",
            });
        }
        fail(`the stand-in does not know gcloud secrets ${what}`);
    }
    // Discovery (npm run discover): world.projects: [{projectId, name, lifecycleState}];
    // world.instances[name] may carry project (default my-project), zone (default us-central1-a), id,
    // windows (a Windows licence on the boot disk), mig (the managed group that created it), confidential.
    if (group === "projects") {
        const projects = world.projects || [{ projectId: "my-project", name: "My Project", lifecycleState: "ACTIVE" }];
        if (resource === "list") out(projects);
        const p = projects.find((x) => x.projectId === verb);
        if (resource === "describe" && p) out(p);
        save();
        io.stderr(
            `ERROR: (gcloud.projects.${resource}) User [discoverer@example.com] does not have permission to access projects instance [${verb}] (or it may not exist): The caller does not have permission\n`,
        );
        io.exit(1);
    }
    // The watcher's token for its Compute Engine requests (components/gcp/token.ts): gcloud's helper
    // for external tools, a token good for an hour (the API front's translator, sandbox/api/gcp.js,
    // accepts this one only). No Compute Engine request: nothing is spent from the world's budget.
    if (group === "config" && resource === "config-helper") {
        const expiry = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
        io.stdout(
            JSON.stringify({
                configuration: { active_configuration: "default", properties: { core: { project: "my-project" } } },
                credential: { access_token: "ya29.stand-in-token", token_expiry: expiry },
                sentinels: { config_sentinel: "/tmp/stand-in/config_sentinel" },
            }),
        );
        io.exit(0);
    }
    if (group !== "compute") error(`the stand-in only knows gcloud compute, not ${group}`);
    // The Compute Engine requests a call makes, and their budget (sandbox/cli/budget.js): the quota
    // metric of each, per project and region (the instance's zone, else --zone; snapshots are global).
    // A change is polled once when gcloud waits for its operation (no --async; the simulated one ends at
    // once). `instances list --filter name=( … )` is one list request however many names it has.
    const requestsOf = () => {
        const project = opts.project || "my-project";
        const zone =
            (world.instances[target] || {}).zone || opts.zone || (world.disks && (world.disks[target] || {}).zone) || "us-central1-a";
        const call = (api, cls, where = zone) => budget.gceRequest(project, where, api, cls);
        const change = (api) => [call(api, "mutation"), ...(opts.async ? [] : [call("zoneOperations.get", "operation read")])];
        switch (name) {
            case "instances describe":
                return [call("instances.get", "read")];
            case "instances list":
                return opts.filter
                    ? [call("instances.list", "list", opts.zones || zone)]
                    : [call("instances.aggregatedList", "heavy-weight read", "global")];
            case "instances get-serial-port-output":
                return [call("instances.getSerialPortOutput", "serial port output")];
            case "instances get-guest-attributes":
                // Counted as a mutation by Compute Engine (the page lists it under the per-region queries).
                return [call("instances.getGuestAttributes", "mutation")];
            case "disks describe":
                return [call("disks.get", "read")];
            case "snapshots list":
                return [call("snapshots.list", "list", "global")];
            case "snapshots describe":
                return [call("snapshots.get", "read", "global")];
            default:
                return change(`${resource}.${verb}`);
        }
    };
    const requests = requestsOf();
    world.throttle = world.throttle || {};
    if (world.throttle[name] > 0) {
        world.throttle[name]--;
        budget.countThrottled(world, requests[0], Date.now(), scale);
        error("Rate Limit Exceeded: rateLimitExceeded");
    }
    // Over a quota: Compute Engine's error as gcloud prints it, naming the quota metric and limit.
    for (const request of requests) {
        const verdict = budget.spend(world, request, Date.now(), scale, perObjectScale);
        if (verdict.ok) continue;
        const [metric, limit] = budget.GCE_NAMES[request.cls];
        const number = ((world.projects || []).find((p) => p.projectId === request.scope.split("/")[0]) || {}).projectNumber;
        error(
            `Could not fetch resource:\n - Quota exceeded for quota metric '${metric}' and limit '${limit}' of service 'compute.googleapis.com' for consumer '${number ? `project_number:${number}` : `project:${request.scope.split("/")[0]}`}'.`,
        );
    }
    // world.deny["instances start"] fails every such call, as Compute Engine refuses an operation.
    if (world.deny && world.deny[name])
        error(`Could not fetch resource:\n - Required 'compute.instances.${verb}' permission for 'projects/p/zones/z/instances/${target}'`);

    const inst = () =>
        world.instances[target] || error(`Could not fetch resource: The resource 'projects/p/zones/z/instances/${target}' was not found`);
    const bootOf = (i) => (i.disks.find((d) => d.boot) || {}).source;
    const tick = (i) => {
        if (i.status === "STOPPING" && --i.stopPolls <= 0) i.status = "TERMINATED";
        if (i.status === "STAGING") {
            i.status = "RUNNING";
            i.markerPolls = i.bootPolls ?? 1;
        }
        const boots = world.disks[bootOf(i)]?.boots !== false || (i.recoversAtReboot && (i.resets || 0) >= i.recoversAtReboot);
        if (i.status === "RUNNING" && i.markerPolls !== undefined && boots && --i.markerPolls <= 0) {
            // A Linux guest boots to a login prompt; Windows reports its agent ready.
            i.serial += i.guest === "linux" ? linuxGuest.BOOTED + "\n" : "GCEGuestAgent: Windows is ready\n";
            delete i.markerPolls;
        }
    };

    const view = (n, i) => ({
        name: n,
        status: i.status,
        disks: i.disks.map((d) => ({
            source: `https://www.googleapis.com/compute/v1/projects/p/zones/z/disks/${d.source}`,
            boot: !!d.boot,
        })),
    });

    // The bootloop-rescue agent of a rescue instance (world.instances[name].agent: the sandbox's stand-in
    // provider sets it when the startup script installs the agent and guest attributes are on), as
    // components/gcp/rescue-agent.sh works: each disk attached with a device name br-… is repaired
    // once and its evidence published as guest attributes (namespace bootloop-rescue: the line
    // gzip-base64 in chunks of 240, then <device>-code and <device>-chunks); a device that went away
    // is forgotten. It runs when its guest attributes are read: a repair is published at the
    // agentPolls-th read after the attach (default 1, so the first read finds nothing yet). A disk
    // with boots=false (the faulty file on it) is repaired and boots from then on; a disk that boots
    // needs nothing; a BitLocker disk (bitlocker) needs the secret the instance's metadata names for
    // it (bootloop-rescue-secret-<slug>), readable by the instance's service account.
    const AGENT_NS = "bootloop-rescue";
    /** A property of the VM a disk came from (its sandbox fault, its guest OS): its own, or that of the disk its snapshot (or source disk) was taken of. */
    const lineageOf = (disk, key) => {
        const last = (path) =>
            String(path || "")
                .split("/")
                .pop();
        for (let d = disk, hops = 0; d && hops < 8; hops++) {
            if (d[key]) return d[key];
            if (d.sourceSnapshot) {
                const snapshot = (world.snapshots || {})[last(d.sourceSnapshot)];
                d = snapshot && world.disks[last(snapshot.sourceDisk)];
            } else d = d.sourceDisk ? world.disks[last(d.sourceDisk)] : undefined;
        }
        return undefined;
    };
    const faultOf = (disk) => lineageOf(disk, "fault");
    const utcNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    // The rule set the agent runs for a device (components/gcp/rescue-agent.sh): the instance's Linux
    // rule set for a device named …-linux, else its rule set; the engine's default without one.
    const ruleSetFor = (i, device) => {
        const key = /-linux$/.test(device) ? "bootloop-rescue-linux-rule-set" : "bootloop-rescue-rule-set";
        const value = ((i.metadata || {})[key] || "").trim();
        return /^[a-z0-9-]{1,64}$/.test(value) ? value : "crowdstrike-291";
    };
    const repairOf = (rescue, i, device, disk) => {
        const started = utcNow();
        const base = { tool: "bootloop-rescue/repair-disk", version: "1.0.0", startedAt: started, dryRun: false };
        const diskPart = {
            path: `/dev/disk/by-id/google-${device}`,
            kind: "block-device",
            sizeBytes: (disk.sizeGb || 64) * 2 ** 30,
            logicalSectorSize: 512,
            readOnly: false,
            partitionTable: "gpt",
        };
        const done = (doc) => ({ ...base, disk: diskPart, ...doc, finishedAt: utcNow(), durationMs: 195 });
        if (disk.bitlocker) {
            const slug = device.slice(3).replace(/-[^-]*$/, "");
            const name = ((i.metadata || {})[`bootloop-rescue-secret-${slug}`] || "").trim();
            const m = /^projects\/([a-z0-9-]{1,30})\/secrets\/([A-Za-z0-9_-]{1,255})(\/versions\/(latest|[1-9][0-9]{0,9}))?$/.exec(name);
            if (!m)
                return done({
                    outcome: "locked",
                    exitCode: 4,
                    message: "partition(s) 3 are BitLocker-encrypted and no key was given (--bitlocker-key-file, --bitlocker-bek-file)",
                    volumes: [{ partition: 3, outcome: "locked", matches: [], message: "BitLocker-encrypted and no key given" }],
                });
            const version = m[3] ? name : `${name}/versions/latest`;
            const numberOf = (p) => ((world.projects || []).find((x) => x.projectId === p) || {}).projectNumber;
            const secret = (world.secrets || {})[m[2]];
            if (!secret || (secret.project !== m[1] && numberOf(secret.project) !== m[1]))
                return { tool: "bootloop-rescue/on-rescue", outcome: "error", exitCode: 6, message: `Secret Manager has no ${version}` };
            const member = `serviceAccount:${i.serviceAccount || ""}`;
            if (!(secret.iam || []).some((b) => b.member === member && /^roles\/(secretmanager\.secretAccessor|owner)$/.test(b.role)))
                return {
                    tool: "bootloop-rescue/on-rescue",
                    outcome: "error",
                    exitCode: 6,
                    message: `Secret Manager denied the rescue instance's service account secretmanager.versions.access on ${version} (the stack grants roles/secretmanager.secretAccessor on the secret to it)`,
                };
        }
        // A sandbox fault of the VM (seeded from its inventory label sandbox-fault on its original boot
        // disk): the repaired disk's snapshot leads back to it.
        const fault = faultOf(disk);
        const ruleSet = ruleSetFor(i, device);
        // A Linux guest's disk: the Linux engine's evidence, by the rule set the agent gave it.
        if (lineageOf(disk, "guest") === "linux") {
            const { boots, evidence } = linuxGuest.repairLinux({
                ruleSet,
                loops: disk.boots === false && !disk.repaired && fault !== "repair-finds-nothing",
                earlier: disk.repaired ? `bootloop-rescue/quarantine/${started.replace(/[-:]/g, "")}` : undefined,
                sizeBytes: diskPart.sizeBytes,
                path: diskPart.path,
                at: started,
            });
            if (boots) {
                if (fault !== "never-boots") disk.boots = true;
                disk.repaired = true;
            }
            return done(evidence);
        }
        const stamp = started.replace(/[-:]/g, "");
        const folder = `bootloop-rescue/quarantine/${stamp}`;
        // A Linux rule set has no rule for a Windows disk: nothing it may change.
        if (disk.boots !== false || disk.repaired || fault === "repair-finds-nothing" || linuxGuest.LINUX_RULE_SETS.includes(ruleSet))
            return done({
                outcome: "nothing-to-do",
                exitCode: 0,
                message: "no file matched a rule; nothing was changed",
                // A disk repaired before (a request sent again) lists that repair's quarantine, as the engine does.
                volumes: [{ partition: 3, outcome: "nothing-to-do", matches: [], earlierQuarantines: disk.repaired ? [folder] : [] }],
            });
        const file = "Windows/System32/drivers/CrowdStrike/C-00000291-00000000-00000032.sys";
        const sha256 = require("crypto").createHash("sha256").update(`faulty ${rescue} ${device}`).digest("hex");
        // A disk that never boots gets its faulty file moved all the same, and still loops.
        if (fault !== "never-boots") disk.boots = true;
        disk.repaired = true;
        return done({
            outcome: "repaired",
            exitCode: 0,
            message: "faulty files moved to quarantine; the volume was unmounted cleanly",
            volumes: [
                {
                    partition: 3,
                    outcome: "repaired",
                    quarantineFolder: folder,
                    matches: [
                        {
                            rule: "crowdstrike-channel-file-291",
                            path: file,
                            sizeBytes: 23,
                            modifiedAt: "2024-07-19T04:09:13Z",
                            sha256,
                            action: "quarantined",
                            quarantinedTo: `${folder}/${file}`,
                        },
                    ],
                },
            ],
        });
    };
    // Returns whether the agent changed the world (a result published, a device forgotten, a repair under way).
    const runAgent = (rescue) => {
        const i = world.instances[rescue];
        if (!i || !i.agent || i.status !== "RUNNING") return false;
        world.guestAttributes = world.guestAttributes || {};
        const attrs = world.guestAttributes[rescue] || [];
        const devices = i.disks
            .filter((d) => !d.boot && /^br-[a-z0-9-]{1,59}$/.test(d.deviceName || "") && !/-part[0-9]+$/.test(d.deviceName))
            .map((d) => d.deviceName);
        const runs = (i.agentRuns = i.agentRuns || {});
        const deviceOf = (key) => (/^(br-[a-z0-9-]+)-(c[0-9]+|code|chunks|attempt)$/.exec(key) || [])[1];
        // The attempt the stack asks for a device's disk (a retried VM: the instance's metadata
        // bootloop-rescue-attempt-<slug>), as the real agent reads it; 1 without one.
        const attemptOf = (device) => {
            const slug = device
                .slice(3)
                .replace(/-linux$/, "")
                .replace(/-[^-]*$/, "");
            const value = String((i.metadata || {})[`bootloop-rescue-attempt-${slug}`] || "");
            return /^[1-9][0-9]{0,2}$/.test(value) ? value : "1";
        };
        const published = (device) => (kept.find((a) => a.namespace === AGENT_NS && a.key === `${device}-attempt`) || {}).value || "1";
        let changed = false;
        const kept = attrs.filter((a) => a.namespace !== AGENT_NS || !deviceOf(a.key) || devices.includes(deviceOf(a.key)));
        if (kept.length !== attrs.length) changed = true;
        for (const gone of Object.keys(runs).filter((d) => !devices.includes(d))) {
            delete runs[gone];
            changed = true;
        }
        for (const device of devices) {
            const attempt = attemptOf(device);
            if (kept.some((a) => a.namespace === AGENT_NS && a.key === `${device}-chunks`)) {
                if (Number(attempt) <= Number(published(device))) continue;
                // A later attempt (a retry): the earlier result is withdrawn and the disk repaired again.
                for (let n = kept.length - 1; n >= 0; n--)
                    if (kept[n].namespace === AGENT_NS && deviceOf(kept[n].key) === device) kept.splice(n, 1);
            }
            if (runs[device] === undefined) runs[device] = i.agentPolls ?? 1;
            changed = true;
            if (runs[device]-- > 0) continue;
            delete runs[device];
            const source = i.disks.find((d) => d.deviceName === device).source;
            const evidence = repairOf(rescue, i, device, world.disks[source] || {});
            const line = `gzip-base64:${require("zlib").gzipSync(JSON.stringify(evidence)).toString("base64")}`;
            const chunks = line.match(/.{1,240}/g);
            chunks.forEach((c, n) => kept.push({ namespace: AGENT_NS, key: `${device}-c${n}`, value: c }));
            kept.push({ namespace: AGENT_NS, key: `${device}-attempt`, value: attempt });
            kept.push({ namespace: AGENT_NS, key: `${device}-code`, value: String(evidence.exitCode) });
            kept.push({ namespace: AGENT_NS, key: `${device}-chunks`, value: String(chunks.length) });
        }
        if (changed) world.guestAttributes[rescue] = kept;
        return changed;
    };

    switch (name) {
        case "instances describe": {
            const i = inst();
            tick(i);
            out(view(target, i));
        }
        case "instances list": {
            if (!opts.filter) {
                // Discovery: every instance of the project (of --zones, when given).
                const zones = opts.zones ? opts.zones.split(",") : undefined;
                peek(
                    Object.entries(world.instances)
                        .filter(
                            ([, i]) =>
                                (i.project || "my-project") === opts.project && (!zones || zones.includes(i.zone || "us-central1-a")),
                        )
                        .map(([n, i]) => {
                            const zone = `https://www.googleapis.com/compute/v1/projects/${opts.project}/zones/${i.zone || "us-central1-a"}`;
                            const licenses = i.windows
                                ? ["https://www.googleapis.com/compute/v1/projects/windows-cloud/global/licenses/windows-server-2022-dc"]
                                : ["https://www.googleapis.com/compute/v1/projects/debian-cloud/global/licenses/debian-12-bookworm"];
                            return {
                                id: i.id || String(1000 + n.length),
                                name: n,
                                zone,
                                status: i.status,
                                disks: (i.disks || [{ source: n, boot: true }]).map((d) => ({
                                    source: `${zone}/disks/${d.source}`,
                                    boot: !!d.boot,
                                    licenses: d.boot ? licenses : [],
                                    guestOsFeatures: d.boot && i.windows ? [{ type: "WINDOWS" }, { type: "UEFI_COMPATIBLE" }] : [],
                                })),
                                metadata: {
                                    items: i.mig
                                        ? [
                                              {
                                                  key: "created-by",
                                                  value: `projects/123456789012/zones/${i.zone || "us-central1-a"}/instanceGroupManagers/${i.mig}`,
                                              },
                                          ]
                                        : [],
                                },
                                ...(i.confidential ? { confidentialInstanceConfig: { enableConfidentialCompute: true } } : {}),
                            };
                        }),
                );
            }
            // --zones Z --filter=name=( a b c ): the named instances of the zone that exist.
            const names = ((/^name=\(\s*(.*?)\s*\)$/.exec(opts.filter || "") || [])[1] || "").split(/\s+/).filter((n) => n);
            const found = names.filter((n) => world.instances[n]);
            for (const n of found) tick(world.instances[n]);
            out(found.map((n) => view(n, world.instances[n])));
        }
        case "instances stop": {
            const i = inst();
            if (i.status === "RUNNING") {
                i.status = "STOPPING";
                i.stopPolls = i.stopPolls ?? 1;
            }
            out([]);
        }
        case "instances start": {
            const i = inst();
            if (i.status !== "TERMINATED") error("instance is not stopped");
            if (!bootOf(i)) error("The instance has no boot disk.");
            i.status = "STAGING";
            out([]);
        }
        case "instances reset": {
            const i = inst();
            if (i.status !== "RUNNING") error("instance is not running");
            i.resets = (i.resets || 0) + 1;
            i.serial += "Resetting...\n";
            i.status = "STAGING";
            out([]);
        }
        case "disks describe": {
            const d =
                world.disks[target] || error(`Could not fetch resource: The resource 'projects/p/zones/z/disks/${target}' was not found`);
            out({ name: target, labels: d.labels || {} });
        }
        case "snapshots list":
        case "snapshots describe": {
            if (opts.zone) error("unrecognized arguments: --zone");
            const all = Object.entries(world.snapshots || {})
                .filter(([, s]) => (s.project || "my-project") === opts.project)
                .map(([n, s]) => ({
                    name: n,
                    creationTimestamp: s.creationTimestamp,
                    status: s.status || "READY",
                    sourceDisk: s.sourceDisk,
                }));
            if (verb === "list") out(all);
            out(
                all.find((s) => s.name === target) ||
                    error(`Could not fetch resource: The resource 'projects/${opts.project}/global/snapshots/${target}' was not found`),
            );
        }
        case "instances detach-disk": {
            const i = inst();
            if (i.status !== "TERMINATED" && i.disks.find((d) => d.source === opts.disk)?.boot)
                error("Boot disk can only be detached from a stopped instance.");
            i.disks = i.disks.filter((d) => d.source !== opts.disk);
            world.disks[opts.disk].attachedTo = undefined;
            out([]);
        }
        case "instances attach-disk": {
            const i = inst();
            const d = world.disks[opts.disk] || error(`disk ${opts.disk} not found`);
            if (d.attachedTo) error(`The disk resource '${opts.disk}' is already being used`);
            if (opts.boot && bootOf(i)) error("The instance already has a boot disk.");
            i.disks.push({ source: opts.disk, boot: !!opts.boot });
            d.attachedTo = target;
            out([]);
        }
        case "instances get-serial-port-output": {
            const i = inst();
            const start = Number(opts.start || 0);
            const serial = i.serial || "";
            peek({ contents: serial.slice(start), start, next: serial.length });
        }
        case "instances get-guest-attributes": {
            const agentChanged = runAgent(target);
            const attrs = ((world.guestAttributes || {})[target] || []).filter(
                (a) => opts["query-path"] === undefined || `${a.namespace}/`.startsWith(opts["query-path"]),
            );
            if (attrs.length === 0) error("The resource was not found: guest attributes");
            (agentChanged ? out : peek)(attrs);
        }
        case "disks add-labels": {
            const d = world.disks[target] || error("disk not found");
            d.labels = Object.fromEntries(opts.labels.split(",").map((kv) => kv.split("=")));
            out([]);
        }
        default:
            error(`the stand-in does not know 'gcloud compute ${name}'`);
    }
}

/** Runs one call of the stand-in gcloud in this process: `{ code, stdout, stderr }`, as the executable would end. */
function run(argv, env) {
    return runCall("gcloud", call, argv.map(String), env);
}

module.exports = { run };
