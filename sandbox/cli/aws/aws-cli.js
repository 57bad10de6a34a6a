// STAND-IN (for the tests and for `npm run sandbox`) for the AWS CLI: answers the calls the AWS command scripts make from a JSON world
// (FAKE_AWS_STATE, rewritten after each call) and appends every call to FAKE_AWS_LOG. The world
// moves the way EC2 and Systems Manager do: stop → stopping → stopped, attach → in-use, start →
// pending → running → status checks initializing → ok (or impaired forever when neverBoots).
// Limits: every call spends its requests from the world's budget at EC2's published buckets
// (sandbox/cli/budget.js), RequestLimitExceeded when over. Faults: world.throttle["ec2 stop-instances"] = n fails the first n such calls with
// RequestLimitExceeded; world.deny["ec2 stop-instances"] fails them all with UnauthorizedOperation; world.instances[id].stopPolls: polls before a stop completes.
// Reboots: a root volume with boots=false boot-loops; world.instances[id].recoversAtReboot = k
// makes it boot healthy from the k-th reboot on (it picked up the reverted file).
//
// The call itself: run(argv, env) (./aws, the executable, is a thin wrapper of it; the API front,
// sandbox/api/front.js, runs it in its own process). It reads nothing of the process: its arguments
// and environment are the parameters, its answer and exit code the result (../call.js).
const fs = require("fs");
const budget = require("../budget.js");
const { openWorld, runCall } = require("../call.js");
const linuxGuest = require("../linux-guest.js");
const windowsGuest = require("../windows-guest.js");

/** One call of the stand-in aws: `argv` its arguments, `env` its environment; writes and exits through `io` (../call.js). */
function call(argv, env, io) {
    const { world, scale, perObjectScale, save, out } = openWorld("aws", "FAKE_AWS_STATE", "FAKE_AWS_LOG", argv, env, io);

    // Options as the CLI takes them: flags, options with several values, and one value otherwise.
    const FLAGS = new Set(["force", "latest", "include-all-instances", "no-cli-pager"]);
    const MULTI = new Set(["tags", "filters", "owner-ids", "snapshot-ids", "instance-ids", "volume-ids"]);
    const opts = {};
    const positional = [];
    for (let i = 0; i < argv.length; i++) {
        if (!argv[i].startsWith("--")) {
            positional.push(argv[i]);
            continue;
        }
        const key = argv[i].slice(2);
        if (FLAGS.has(key)) opts[key] = true;
        else if (MULTI.has(key)) {
            const values = [];
            while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) values.push(argv[++i]);
            opts[key] = values;
        } else opts[key] = argv[++i];
    }
    const [service, op] = positional;
    // Filters Name=x,Values=a,b (EC2) and Key=x,Values=a,b (SSM), as a map of name → values.
    const filters = Object.fromEntries(
        [].concat(opts.filters || []).map((f) => {
            const m = /^(?:Name|Key|key)=([^,]+),(?:Values|value)=(.*)$/.exec(f);
            return m ? [m[1], m[2].split(",")] : [f, []];
        }),
    );
    const one = (k) => [].concat(opts[k] || [])[0];
    const name = `${service} ${op}`;
    // peek: an answer that changes nothing in the world's resources (the discovery listings); like every answer,
    // it saves the world (../call.js openWorld's out).
    const peek = out;
    const error = (code, message) => {
        save();
        io.stderr(`\nAn error occurred (${code}) when calling the ${op} operation: ${message}\n`);
        io.exit(254);
    };

    // The request's budget (sandbox/cli/budget.js): EC2's request bucket of its API in the caller's
    // account and region (the smaller one when asked with neither a filter nor pagination), plus the
    // resource bucket at one token per instance for StartInstances and StopInstances; other services'
    // requests are counted under no bucket. Over the budget, the CLI's own error after its retries.
    const apiName = String(op || "")
        .split("-")
        .map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w))
        .join("");
    const callerAccountOf = () => (/^ASIA(\d{12})$/.exec(env.AWS_ACCESS_KEY_ID || "") || [])[1] || world.account || "123456789012";
    const budgetScope = `${callerAccountOf()}/${opts.region || "us-east-1"}`;
    const request =
        service === "ec2"
            ? budget.ec2Request(budgetScope, apiName, {
                  unfiltered: !opts.filters && !opts["max-results"] && !opts["page-size"] && !opts["starting-token"],
                  instances: [].concat(opts["instance-ids"] || []).length,
              })
            : budget.awsOtherRequest(budgetScope, `${service} ${apiName}`);
    world.throttle = world.throttle || {};
    if (world.throttle[name] > 0) {
        world.throttle[name]--;
        budget.countThrottled(world, request, Date.now(), scale);
        error("RequestLimitExceeded", "Request limit exceeded.");
    }
    if (!budget.spend(world, request, Date.now(), scale, perObjectScale).ok) {
        save();
        io.stderr(
            `\nAn error occurred (RequestLimitExceeded) when calling the ${apiName} operation (reached max retries: 2): Request limit exceeded.\n`,
        );
        io.exit(254);
    }
    if (world.deny && world.deny[name]) error("UnauthorizedOperation", "You are not authorized to perform this operation.");

    const inst = (id) => world.instances[id] || error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
    const vol = (id) => world.volumes[id] || error("InvalidVolume.NotFound", `The volume '${id}' does not exist.`);
    const tick = (i) => {
        // One poll passes: transitions advance.
        if (i.state === "stopping" && --i.stopPolls <= 0) i.state = "stopped";
        if (i.state === "pending") {
            i.state = "running";
            i.checkPolls = i.bootPolls ?? 1;
        }
    };

    // Secrets Manager (npm run import-keys): world.secrets: name → { arn, versions: [text] }. A
    // --secret-string file://PATH is read from the file, as the CLI does.
    // The mode of the last key file read is kept (world.keyFileModes), for the test that checks it is the owner's alone.
    const secretText = (v) => {
        if (!String(v).startsWith("file://")) return String(v);
        const file = String(v).slice(7);
        world.keyFileModes = [...(world.keyFileModes || []), (fs.statSync(file).mode & 0o777).toString(8)];
        return fs.readFileSync(file, "utf8");
    };
    const secretArn = (n) =>
        `arn:aws:secretsmanager:${opts.region || "us-east-1"}:123456789012:secret:${n}-${(Object.keys(world.secrets || {}).length + 100000).toString(36).slice(-6).padStart(6, "x")}`;

    // Discovery (npm run discover): listings across accounts and regions. world.account is the ambient
    // credentials' account; an assumed role's credentials carry the role's account (ASIA + 12 digits).
    // world.instances[id] may carry account, region (default us-east-1), availabilityZone, platform
    // ("windows"), tags, instanceStatus/systemStatus (default ok), asg, rootDeviceType, xen (no --latest).
    const callerAccount = callerAccountOf();
    const here = (i) => (i.region || "us-east-1") === opts.region && (i.account || world.account || "123456789012") === callerAccount;
    const listing = !filters["instance-id"] && !opts["instance-ids"];
    const tagList = (tags) => Object.entries(tags || {}).map(([Key, Value]) => ({ Key, Value }));

    switch (name) {
        case "sts get-caller-identity":
            peek({ UserId: "AIDAFAKE", Account: callerAccount, Arn: `arn:aws:iam::${callerAccount}:user/discoverer` });
        case "iam list-account-aliases":
            peek({ AccountAliases: (world.aliases || {})[callerAccount] || [], IsTruncated: false });
        case "ec2 describe-regions":
            peek({
                Regions: (world.regions || ["us-east-1"]).map((r) => ({
                    RegionName: r,
                    Endpoint: `ec2.${r}.amazonaws.com`,
                    OptInStatus: "opt-in-not-required",
                })),
            });
        case "autoscaling describe-auto-scaling-instances":
            peek({
                AutoScalingInstances: Object.entries(world.instances)
                    .filter(([, i]) => here(i) && i.asg)
                    .map(([id, i]) => ({
                        InstanceId: id,
                        AutoScalingGroupName: i.asg,
                        AvailabilityZone: i.availabilityZone,
                        LifecycleState: "InService",
                        HealthStatus: "HEALTHY",
                        ProtectedFromScaleIn: false,
                    })),
            });
        case "ec2 describe-instances":
            if (!listing) break;
            peek({
                Reservations: Object.entries(world.instances)
                    .filter(
                        ([, i]) =>
                            here(i) &&
                            (!filters.platform || filters.platform.includes(i.platform || "")) &&
                            (!filters["instance-state-name"] || filters["instance-state-name"].includes(i.state)),
                    )
                    .map(([id, i]) => ({
                        Instances: [
                            {
                                InstanceId: id,
                                State: { Name: i.state },
                                Placement: { AvailabilityZone: i.availabilityZone },
                                Platform: i.platform,
                                RootDeviceType: i.rootDeviceType || "ebs",
                                PrivateDnsName: i.privateDnsName,
                                Tags: tagList(i.tags),
                            },
                        ],
                    })),
            });
        case "ec2 describe-instance-status":
            if (!listing) break;
            peek({
                InstanceStatuses: Object.entries(world.instances)
                    .filter(([, i]) => here(i) && i.state === "running")
                    .map(([id, i]) => ({
                        InstanceId: id,
                        AvailabilityZone: i.availabilityZone,
                        InstanceState: { Name: "running" },
                        InstanceStatus: {
                            Status: i.instanceStatus || "ok",
                            Details: [{ Name: "reachability", Status: i.instanceStatus === "impaired" ? "failed" : "passed" }],
                        },
                        SystemStatus: { Status: i.systemStatus || "ok", Details: [{ Name: "reachability", Status: "passed" }] },
                    })),
            });
        case "ec2 get-console-output":
            if (opts.latest && inst(opts["instance-id"]).xen)
                error(
                    "UnsupportedOperation",
                    "The requested operation is not supported for this instance type: --latest needs a Nitro instance.",
                );
            break;
    }

    // The sandbox's worlds (world.ssm.repairEngine: {version}): a repair whose volume has no evidence
    // listed is run, when its command finishes, by a simulated repair engine on the volume as it is
    // attached to the rescue instance, once the rescue tools of its document's version are there. A volume that boot-loops (boots=false: the faulty channel file)
    // has that file quarantined, and boots from then on; one that boots has nothing to do. A BitLocker
    // volume (bitlocker.secretArn) is opened with the keys of the secret the command names, read as
    // fetch-key reads it: with the rescue instance's role, which needs an inline policy allowing
    // secretsmanager:GetSecretValue on that secret. A volume not attached there is not found. The
    // evidence is kept as world.ssm.evidence[volumeId], which the answers below read.
    const utcNow = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const hashOf = (text) => require("crypto").createHash("sha256").update(text).digest("hex");
    const onRescueError = (message) => ({ tool: "bootloop-rescue/on-rescue", outcome: "error", exitCode: 6, message });
    // Whether the instance's role (through its instance profile) has an inline policy allowing GetSecretValue on `arn`.
    const roleOfInstance = (i) => ((world.iam || {}).instanceProfiles || {})[i.iamInstanceProfile]?.role;
    const roleMayRead = (role, arn) =>
        Object.values((((world.iam || {}).roles || {})[role] || {}).inlinePolicies || {}).some((text) =>
            []
                .concat(JSON.parse(text).Statement || [])
                .some(
                    (st) =>
                        st.Effect === "Allow" &&
                        [].concat(st.Action).includes("secretsmanager:GetSecretValue") &&
                        [].concat(st.Resource).includes(arn),
                ),
        );
    // The rescue tools the repair document waits for (its TOOLS_VERSION): a rescue instance has them
    // once every part's association ran there (the stand-in provider records it in world.ssm.tools);
    // without them the document prints on-rescue's "cannot run" evidence after its wait, as
    // components/aws/tools.ts writes it.
    const toolsOf = (c) => {
        const d = (world.ssm.documents || {})[c.document];
        const m = d && /TOOLS_VERSION=([0-9a-f]{16})/.exec(d.versions[d.versions.length - 1]);
        if (!m) return "the repair document names no rescue tools version";
        if (!((world.ssm.tools || {})[c.instance] || []).includes(m[1]))
            return `rescue tools ${m[1]} were not delivered to this rescue instance within 300 s (one State Manager association per part delivers them: see the association history of this instance)`;
        return undefined;
    };
    // The rule set the repair document runs (its RULE_SET=…, a constant of the document).
    const ruleSetOf = (c) => {
        const d = (world.ssm.documents || {})[c.document];
        const m = d && /RULE_SET=([a-z0-9-]+)/.exec(d.versions[d.versions.length - 1]);
        return m ? m[1] : "crowdstrike-291";
    };
    const repairEvidence = (engine, c) => {
        const missing = toolsOf(c);
        if (missing) return onRescueError(missing);
        const v = world.volumes[c.volumeId];
        const i = world.instances[c.instance];
        const device = i && Object.keys(i.blockDevices).find((d) => i.blockDevices[d] === c.volumeId);
        if (!v || !device) return onRescueError("find-disk did not find the attached disk on the rescue VM (or refused it as in use)");
        const startedAt = utcNow();
        const bytes = (v.size || 64) * 2 ** 30;
        const ruleSet = ruleSetOf(c);
        const path = `/dev/nvme${Object.keys(i.blockDevices).indexOf(device)}n1`;
        const fault = faultOf(c.volumeId);
        // What the engine wrote, between its common fields (windows-guest.js).
        const written = (body) =>
            windowsGuest.repairDiskEvidence(
                {
                    version: engine.version,
                    startedAt,
                    finishedAt: utcNow(),
                    durationMs: 2000 + (parseInt(hashOf(c.volumeId).slice(0, 4), 16) % 6000),
                },
                body,
            );
        // A Linux guest's disk (seeded os: linux; its copies lead back to it): the Linux engine's evidence.
        if (lineageOf(c.volumeId, "guest") === "linux") {
            const earlier = v.repaired ? windowsGuest.quarantineOf(startedAt) : undefined;
            const { boots, evidence } = linuxGuest.repairLinux({
                ruleSet,
                loops: v.boots === false && !v.repaired && fault !== "repair-finds-nothing",
                earlier,
                sizeBytes: bytes,
                path,
                at: startedAt,
            });
            if (boots) {
                if (fault !== "never-boots") v.boots = true;
                v.repaired = true;
            }
            return written(evidence);
        }
        const layout = windowsGuest.windowsLayout({
            rules: [windowsGuest.RULE_291],
            path,
            sizeBytes: bytes,
            bitlocker: Boolean(v.bitlocker),
        });
        if (v.bitlocker) {
            const locked = (message) => written(windowsGuest.lockedEvidence(layout, message));
            if (!c.keySecret)
                return locked("partition(s) 3 are BitLocker-encrypted and no key was given (--bitlocker-key-file, --bitlocker-bek-file)");
            const role = roleOfInstance(i);
            if (!roleMayRead(role, c.keySecret))
                return onRescueError(
                    `Secrets Manager denied role ${role} secretsmanager:GetSecretValue on ${c.keySecret} (the stack grants it to this rescue instance's role; a secret encrypted with a customer-managed KMS key also needs kms:Decrypt, which the stack grants through Secrets Manager, unless the key policy forbids it)`,
                );
            const secret = Object.values(world.secrets || {}).find((s) => s.arn === c.keySecret);
            if (!secret || !secret.versions.length)
                return onRescueError(`Secrets Manager has no secret ${c.keySecret} (or it has no current version)`);
            if (v.bitlocker.secretArn !== c.keySecret)
                return locked(
                    "BitLocker: none of the 1 keys tried unlocked the volume (BitLocker: recovery password did not unlock the volume)",
                );
            const keyId = secret.versions[secret.versions.length - 1].split(/\s+/)[0];
            windowsGuest.unlock(layout, { protector: "recovery-password", keyId, tries: 1 }, [
                { type: "recovery-password", id: keyId },
                { type: "tpm", id: hashOf(`tpm ${c.volumeId}`).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5") },
            ]);
        }
        // A sandbox fault of the VM (seeded from its inventory label sandbox-fault, kept on its
        // original root volume): the scratch volume's snapshot leads back to it. A Linux rule set
        // has no rule for a Windows disk: nothing it may change. A disk repaired before (a request
        // sent again) lists that repair's quarantine, as the engine does.
        const findsNothing = fault === "repair-finds-nothing" || linuxGuest.LINUX_RULE_SETS.includes(ruleSet);
        const { repaired, evidence } = windowsGuest.repairWindows(layout, {
            loops: v.boots === false && !v.repaired && !findsNothing,
            earlier: v.repaired && !(v.boots === false && findsNothing) ? windowsGuest.quarantineOf(startedAt) : undefined,
            at: startedAt,
            sha256: hashOf(`faulty ${c.volumeId}`),
        });
        if (repaired) {
            // A disk that never boots gets its faulty file moved all the same, and still loops.
            if (fault !== "never-boots") v.boots = true;
            v.repaired = true;
        }
        return written(evidence);
    };
    /** A property of the VM a volume came from (its sandbox fault, its guest OS): its own, or that of the volume its snapshot was taken of. */
    const lineageOf = (volumeId, key) => {
        let v = world.volumes[volumeId];
        for (let hops = 0; v && hops < 8; hops++) {
            if (v[key]) return v[key];
            const snapshot = v.snapshotId && (world.snapshots || {})[v.snapshotId];
            if (!snapshot) return undefined;
            v = world.volumes[snapshot.volumeId];
        }
        return undefined;
    };
    /** The sandbox fault of the VM a volume came from. */
    const faultOf = (volumeId) => lineageOf(volumeId, "fault");
    // Whether the repair document ends Success with this evidence: on-rescue.sh exits 0 for the
    // engine's codes 3, 4 and 5 (no Windows, locked, unsafe: the VM's own disk) off Azure, as it does
    // for 0, since the evidence (which carries the code) comes back whole; any other code fails it.
    const endsSuccess = (evidence) => Boolean(evidence) && [0, 3, 4, 5].includes(evidence.exitCode);
    const simulateRepair = (c) => {
        const engine = world.ssm.repairEngine;
        if (!engine || c.ran || c.part || (world.ssm.outputs || {})[c.volumeId]) return;
        c.ran = true;
        // A repair sent again after one that repaired the volume reports that repair's evidence (as on-rescue.sh does).
        const earlier = world.ssm.evidence[c.volumeId];
        if (earlier && earlier.outcome === "repaired" && earlier.exitCode === 0) return;
        world.ssm.evidence[c.volumeId] = repairEvidence(engine, c);
    };

    switch (name) {
        case "secretsmanager list-secrets": {
            const names = filters.name || [];
            out({
                SecretList: Object.entries(world.secrets || {})
                    .filter(([n]) => names.some((p) => n.startsWith(p)))
                    .map(([n, s]) => ({ ARN: s.arn, Name: n })),
            });
        }
        case "secretsmanager create-secret": {
            world.secrets = world.secrets || {};
            if (world.secrets[opts.name])
                error("ResourceExistsException", `The operation failed because the secret ${opts.name} already exists.`);
            const arn = secretArn(opts.name);
            world.secrets[opts.name] = { arn, versions: [secretText(opts["secret-string"])], tags: opts.tags };
            out({ ARN: arn, Name: opts.name, VersionId: "00000000-0000-0000-0000-000000000001" });
        }
        case "secretsmanager put-secret-value": {
            const [n, s] =
                Object.entries(world.secrets || {}).find(([n, s]) => s.arn === opts["secret-id"] || n === opts["secret-id"]) ||
                error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
            s.versions.push(secretText(opts["secret-string"]));
            out({
                ARN: s.arn,
                Name: n,
                VersionId: `00000000-0000-0000-0000-00000000000${s.versions.length}`,
                VersionStages: ["AWSCURRENT"],
            });
        }
        case "ec2 describe-instances": {
            const ids = filters["instance-id"] || [].concat(opts["instance-ids"] || []);
            const found = ids.filter((id) => world.instances[id]);
            if (!filters["instance-id"] && found.length < ids.length) inst(ids.find((id) => !world.instances[id]));
            for (const id of found) tick(world.instances[id]);
            out({
                Reservations: found.map((id) => {
                    const i = world.instances[id];
                    return {
                        Instances: [
                            {
                                InstanceId: id,
                                State: { Name: i.state },
                                RootDeviceName: i.rootDeviceName,
                                BlockDeviceMappings: Object.entries(i.blockDevices).map(([d, v]) => ({
                                    DeviceName: d,
                                    Ebs: { VolumeId: v },
                                })),
                            },
                        ],
                    };
                }),
            });
        }
        case "ec2 stop-instances": {
            const i = inst(one("instance-ids"));
            if (i.state === "running" || i.state === "pending") {
                i.state = "stopping";
                i.stopPolls = opts.force ? 1 : (i.stopPolls ?? 1);
                if (i.stuckUnlessForced && !opts.force) i.stopPolls = 1e9;
            } else if (i.state === "stopping" && opts.force) i.stopPolls = 1; // a forced stop ends a hung shutdown
            out({ StoppingInstances: [{ InstanceId: one("instance-ids"), CurrentState: { Name: i.state } }] });
        }
        case "ec2 start-instances": {
            const i = inst(one("instance-ids"));
            if (i.state !== "stopped")
                error("IncorrectInstanceState", `The instance '${one("instance-ids")}' is not in a state from which it can be started.`);
            if (!i.blockDevices[i.rootDeviceName]) error("IncorrectInstanceState", "The instance has no root volume.");
            i.state = "pending";
            i.consoleOutput = "";
            i.bootedFrom = i.blockDevices[i.rootDeviceName];
            out({ StartingInstances: [{ InstanceId: one("instance-ids"), CurrentState: { Name: "pending" } }] });
        }
        case "ec2 describe-instance-status": {
            const ids = [].concat(opts["instance-ids"]);
            for (const id of ids) inst(id);
            const statuses = [];
            for (const id of ids) {
                const i = world.instances[id];
                tick(i);
                let status = "initializing";
                if (i.state === "running") {
                    const good =
                        (world.volumes[i.bootedFrom || i.blockDevices[i.rootDeviceName]]?.boots !== false ||
                            (i.recoversAtReboot && (i.reboots || 0) >= i.recoversAtReboot)) &&
                        !i.neverBoots;
                    if (!good) status = "impaired";
                    else if ((i.checkPolls ?? 0) > 0) i.checkPolls--;
                    else {
                        status = "ok";
                        // A Linux instance's own boot text (a login prompt), else the world's (Windows').
                        i.consoleOutput = i.consoleOutput || i.consoleOnBoot || world.consoleOnBoot || "";
                    }
                }
                if (i.state !== "stopped")
                    statuses.push({
                        InstanceId: id,
                        InstanceState: { Name: i.state },
                        InstanceStatus: { Status: status },
                        SystemStatus: { Status: i.state === "running" ? "ok" : "initializing" },
                    });
            }
            out({ InstanceStatuses: statuses });
        }
        case "ec2 get-console-output": {
            const i = inst(opts["instance-id"]);
            peek({ InstanceId: opts["instance-id"], Output: i.consoleOutput || undefined });
        }
        case "ec2 describe-volumes": {
            const ids = filters["volume-id"] || [].concat(opts["volume-ids"] || []);
            if (!filters["volume-id"]) for (const id of ids) vol(id);
            const found = ids.filter((id) => world.volumes[id]);
            for (const id of found) {
                const v = world.volumes[id];
                if (v.state === "detaching") v.state = "available";
                if (v.state === "attaching") v.state = "in-use";
                // A volume being created (the sandbox's provider makes them) is available after its polls.
                if (v.state === "creating" && --v.pollsToAvailable <= 0) {
                    v.state = "available";
                    delete v.pollsToAvailable;
                }
            }
            out({
                Volumes: found.map((id) => ({
                    VolumeId: id,
                    State: world.volumes[id].state,
                    Tags: Object.entries(world.volumes[id].tags || {}).map(([Key, Value]) => ({ Key, Value })),
                })),
            });
        }
        case "ec2 reboot-instances": {
            const i = inst(one("instance-ids"));
            if (i.state !== "running") error("IncorrectState", "The instance is not running.");
            i.reboots = (i.reboots || 0) + 1;
            i.state = "pending";
            i.consoleOutput = "";
            out({});
        }
        case "ec2 describe-snapshots": {
            // A pending snapshot (the sandbox's provider takes them) completes after its polls.
            for (const s of Object.values(world.snapshots || {}))
                if (s.state === "pending" && s.pollsToComplete !== undefined && --s.pollsToComplete <= 0) {
                    s.state = "completed";
                    s.progress = "100%";
                    delete s.pollsToComplete;
                }
            // A region's snapshots only, as EC2 lists them (a snapshot of another region is NotFound by id too).
            const inRegion = (s) => (s.region || "us-east-1") === (opts.region || "us-east-1");
            const all = Object.entries(world.snapshots || {})
                .filter(([, s]) => inRegion(s))
                .map(([id, s]) => ({
                    SnapshotId: id,
                    VolumeId: s.volumeId,
                    StartTime: s.startTime,
                    State: s.state || "completed",
                    OwnerId: s.ownerId || world.account || "123456789012",
                }));
            if (opts["snapshot-ids"]) {
                const wanted = [].concat(opts["snapshot-ids"]);
                for (const id of wanted)
                    if (!world.snapshots?.[id] || !inRegion(world.snapshots[id]))
                        error("InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`);
                out({ Snapshots: all.filter((s) => wanted.includes(s.SnapshotId)) });
            }
            const volume = (/^Name=volume-id,Values=(.*)$/.exec([].concat(opts.filters || []).join(" ")) || [])[1];
            // `--owner-ids self`: the caller's own snapshots (an assumed role's account is the role's).
            out({
                Snapshots: all.filter((s) => (!volume || s.VolumeId === volume) && (!opts["owner-ids"] || s.OwnerId === callerAccount)),
            });
        }
        case "ec2 detach-volume": {
            const v = vol(opts["volume-id"]);
            const i = inst(opts["instance-id"]);
            if (i.state !== "stopped") error("IncorrectState", "Unable to detach root volume from a running instance.");
            for (const [d, id] of Object.entries(i.blockDevices)) if (id === opts["volume-id"]) delete i.blockDevices[d];
            v.state = "detaching";
            out({ VolumeId: opts["volume-id"], State: "detaching" });
        }
        case "ec2 attach-volume": {
            const v = vol(opts["volume-id"]);
            const i = inst(opts["instance-id"]);
            if (v.state !== "available") error("VolumeInUse", `vol ${opts["volume-id"]} is already attached to an instance`);
            if (i.blockDevices[opts.device])
                error(
                    "InvalidParameterValue",
                    `Invalid value '${opts.device}' for unixDevice. Attachment point ${opts.device} is already in use`,
                );
            i.blockDevices[opts.device] = opts["volume-id"];
            v.state = "attaching";
            out({ VolumeId: opts["volume-id"], Device: opts.device, State: "attaching" });
        }
        case "ec2 create-tags": {
            const ids = [].concat(opts.resources);
            for (const id of ids) {
                const v = vol(id);
                v.tags = v.tags || {};
                for (const t of [].concat(opts.tags)) {
                    const m = /^Key=([^,]+),Value=(.*)$/.exec(t);
                    v.tags[m[1]] = m[2];
                }
            }
            out({});
        }
        case "ssm describe-instance-information": {
            const list = [];
            for (const id of filters.InstanceIds || []) {
                const r = world.ssm.instances[id];
                if (r && r.onlineAfterPolls > 0) {
                    r.onlineAfterPolls--;
                    list.push({ InstanceId: id, PingStatus: "ConnectionLost" });
                } else if (r) list.push({ InstanceId: id, PingStatus: "Online" });
            }
            out({ InstanceInformationList: list });
        }
        case "ssm send-command": {
            // --parameters volumeId=vol-…[,evidencePart=N] (the CLI's shorthand for a map of lists), or
            // the JSON form {"volumeId":["vol-…"],"keySecret":["arn…"]}; the document's patterns hold.
            const text = String(opts.parameters);
            const params = text.startsWith("{")
                ? Object.fromEntries(Object.entries(JSON.parse(text)).map(([k, v]) => [k, v[0]]))
                : Object.fromEntries(text.split(",").map((kv) => kv.split("=")));
            const keySecretOk = (v) =>
                v === undefined ||
                v === "" ||
                /^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/.test(v);
            if (
                !/^vol-[0-9a-f]+$/.test(params.volumeId || "") ||
                !keySecretOk(params.keySecret) ||
                Object.keys(params).some((k) => !["volumeId", "evidencePart", "keySecret"].includes(k))
            )
                error("InvalidParameters", `bad --parameters ${opts.parameters}`);
            if (world.ssm.repairEngine && !(world.ssm.documents || {})[opts["document-name"]])
                error("InvalidDocument", `Document with name ${opts["document-name"]} does not exist.`);
            const volumeId = params.volumeId;
            const part = Number(params.evidencePart || 0);
            const id = `0000000${Object.keys(world.ssm.commands).length}-1111-2222-3333-444455556666`.slice(-36);
            world.ssm.commands[id] = {
                instance: one("instance-ids"),
                document: opts["document-name"],
                volumeId,
                keySecret: params.keySecret,
                part,
                comment: opts.comment,
                polls: 1,
                timeoutSeconds: opts["timeout-seconds"],
            };
            out({ Command: { CommandId: id } });
        }
        case "ssm list-command-invocations": {
            const list = [];
            for (const [id, c] of Object.entries(world.ssm.commands)) {
                if (c.instance !== opts["instance-id"]) continue;
                // world.ssm.commands[id]: {instance, document, volumeId, comment?, polls, status?}; a
                // command listed before the step ran (an earlier run's) may give its status outright.
                const about = {
                    CommandId: id,
                    InstanceId: c.instance,
                    DocumentName: c.document,
                    Comment: c.comment ?? `bootloop-rescue repair of ${c.volumeId}`,
                    RequestedDateTime: `2024-07-19T06:00:${String(id.slice(6, 8)).padStart(2, "0")}Z`,
                };
                if (c.status) {
                    list.push({ ...about, Status: c.status });
                    continue;
                }
                if (c.polls-- > 0) {
                    list.push({ ...about, Status: "InProgress" });
                    continue;
                }
                simulateRepair(c);
                const evidence = world.ssm.evidence[c.volumeId];
                list.push({
                    ...about,
                    Status: (world.ssm.outputs || {})[c.volumeId] || endsSuccess(evidence) ? "Success" : "Failed",
                });
            }
            out({ CommandInvocations: list });
        }
        case "ssm get-command-invocation": {
            // world.ssm.outputs[volumeId][part]: what the command of that part printed (a long
            // evidence in parts); otherwise world.ssm.evidence[volumeId], printed as one JSON line.
            const c = world.ssm.commands[opts["command-id"]];
            if (!c) error("InvocationDoesNotExist", "");
            if (c.polls <= 0) simulateRepair(c);
            const outputs = (world.ssm.outputs || {})[c.volumeId];
            const evidence = world.ssm.evidence[c.volumeId];
            const output = outputs ? (outputs[c.part || 0] ?? "") + "\n" : evidence ? JSON.stringify(evidence) + "\n" : "";
            const invocation = {
                CommandId: opts["command-id"],
                Status: outputs || endsSuccess(evidence) ? "Success" : "Failed",
                StandardOutputContent: output.slice(0, 24000),
            };
            if (opts.query === "StandardOutputContent" && opts.output === "text") {
                save();
                io.stdout(`${invocation.StandardOutputContent}\n`);
                io.exit(0);
            }
            if (opts.query !== undefined) error("InvalidArgument", "the stand-in knows only --query StandardOutputContent --output text");
            out(invocation);
        }
        case "sts assume-role": {
            // The credentials carry the role's account, as the listings above read it.
            const account = (/^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(opts["role-arn"] || "") || [])[1] || "123456789012";
            if ((world.unassumable || []).includes(opts["role-arn"]))
                error("AccessDenied", `User is not authorized to perform: sts:AssumeRole on resource: ${opts["role-arn"]}`);
            out({
                Credentials: {
                    AccessKeyId: `ASIA${account}`,
                    SecretAccessKey: "fake-secret",
                    SessionToken: "fake-token",
                    Expiration: "2099-01-01T00:00:00Z",
                },
            });
        }
        default:
            error("InvalidAction", `the stand-in does not know ${name}`);
    }
}

/** Runs one call of the stand-in aws in this process: `{ code, stdout, stderr }`, as the executable would end. */
function run(argv, env) {
    return runCall("aws", call, argv.map(String), env);
}

module.exports = { run };
