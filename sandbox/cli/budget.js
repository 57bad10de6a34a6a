// The simulated clouds' request budgets: token buckets at the clouds' published limits, kept in each
// cloud's world (world.budget), so every caller of one world (the stand-in CLIs, in processes of
// their own or inside the API front's, and the stand-in providers) spends from the same buckets under the world's lock; and a
// count of every API request per scope and class, throttled or not (what `npm run sandbox -- world
// --requests` and sandbox/world/requests.ts report).
//
// Time: buckets refill at the published rate times BOOTLOOP_RATE_SCALE per wall second (default
// BOOTLOOP_TIME_SCALE, itself 1 when unset), so a sandbox run that compresses cloud time 1000 times
// also refills 1000 times faster, and BOOTLOOP_RATE_SCALE=1 makes the limits real-time. The
// stand-in CLIs pass their call's environment (rateScale(env), objectScale(scale, env)): a call run
// inside the API front reads no process's variables.
//
// A request names the buckets it spends (each with a cost, e.g. StopInstances' resource bucket costs
// one token per instance); it passes only when every one of them holds its cost, and then takes it
// from each. A throttled request takes nothing (and is counted). Per-minute limits (Azure Compute,
// Compute Engine) are modelled as buckets refilling continuously at limit/60 per second.

/** Sources of the numbers below. */
const SOURCES = {
    ec2: "https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html",
    arm: "https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling",
    compute: "https://learn.microsoft.com/en-us/azure/virtual-machines/compute-throttling-limits",
    gce: "https://cloud.google.com/compute/docs/api-rate-limits",
};

const perMinute = (capacity, refillPerMinute, source) => ({ capacity, perSecond: refillPerMinute / 60, source });
const perSecond = (capacity, refill, source) => ({ capacity, perSecond: refill, source });

/** EC2 request buckets per account and region, by API category (each API has its own bucket of its category's size). */
const EC2 = {
    // SOURCES.ec2, "Request token bucket sizes and refill rates": Describe*/List*/Search*/Get* 100, 20/s.
    "non-mutating": perSecond(100, 20, SOURCES.ec2),
    // SOURCES.ec2: DescribeInstances, DescribeInstanceStatus, DescribeSnapshots, DescribeVolumes, … asked
    // with neither a filter nor pagination spend a smaller bucket: 50, 10/s.
    "unfiltered non-mutating": perSecond(50, 10, SOURCES.ec2),
    // SOURCES.ec2: every mutating action not otherwise listed: 50, 5/s.
    mutating: perSecond(50, 5, SOURCES.ec2),
    // SOURCES.ec2, "Uncategorized actions": StartInstances 5, 2/s; CreateTags 100, 10/s; CreateSnapshot,
    // CreateVolume, DeleteSnapshot, DeleteVolume, TerminateInstances 100, 5/s; RunInstances 5, 2/s.
    StartInstances: perSecond(5, 2, SOURCES.ec2),
    RunInstances: perSecond(5, 2, SOURCES.ec2),
    CreateTags: perSecond(100, 10, SOURCES.ec2),
    DeleteTags: perSecond(100, 10, SOURCES.ec2),
    CreateSnapshot: perSecond(100, 5, SOURCES.ec2),
    CreateVolume: perSecond(100, 5, SOURCES.ec2),
    DeleteSnapshot: perSecond(100, 5, SOURCES.ec2),
    DeleteVolume: perSecond(100, 5, SOURCES.ec2),
    TerminateInstances: perSecond(100, 5, SOURCES.ec2),
};

/** EC2 resource buckets per account and region: one token per instance a request acts on. */
const EC2_RESOURCE = {
    // SOURCES.ec2, "Resource token bucket sizes and refill rates".
    RunInstances: perSecond(1000, 2, SOURCES.ec2),
    TerminateInstances: perSecond(1000, 20, SOURCES.ec2),
    StartInstances: perSecond(1000, 2, SOURCES.ec2),
    StopInstances: perSecond(1000, 20, SOURCES.ec2),
};

/** The EC2 API category of an action (for its request bucket). */
function ec2Category(api, unfiltered) {
    if (EC2[api]) return api;
    if (/^(Describe|List|Search|Get)/.test(api))
        return unfiltered &&
            [
                "DescribeInstances",
                "DescribeInstanceStatus",
                "DescribeNetworkInterfaces",
                "DescribeSecurityGroups",
                "DescribeSnapshots",
                "DescribeSpotInstanceRequests",
                "DescribeVolumes",
            ].includes(api)
            ? "unfiltered non-mutating"
            : "non-mutating";
    return "mutating";
}

/**
 * An EC2 request of `api` in `scope` (account/region): its request bucket (per API, sized by its
 * category) and, for Run/Start/Stop/TerminateInstances, its resource bucket at one token per
 * instance. AWS counts a DescribeInstances of 20 ids as one request (one token): only the resource
 * buckets count per instance.
 */
function ec2Request(scope, api, { unfiltered = false, instances = 0 } = {}) {
    const category = ec2Category(api, unfiltered);
    const buckets = [{ key: `${scope}|${api}${category === "unfiltered non-mutating" ? " (unfiltered)" : ""}`, ...EC2[category], cost: 1 }];
    if (EC2_RESOURCE[api]) buckets.push({ key: `${scope}|${api} instances`, ...EC2_RESOURCE[api], cost: Math.max(1, instances) });
    return { cloud: "aws", scope, api, cls: category === api ? api : `${api} (${category})`, buckets };
}

/** An AWS request outside EC2 (Systems Manager, STS, IAM, Secrets Manager): counted, under no bucket (none found published for the calls made). */
function awsOtherRequest(scope, api) {
    return { cloud: "aws", scope, api, cls: api, buckets: [] };
}

/** Azure Resource Manager per subscription (and principal): SOURCES.arm, the token-bucket table. */
const ARM = {
    read: perSecond(250, 25, SOURCES.arm),
    write: perSecond(200, 10, SOURCES.arm),
    delete: perSecond(200, 10, SOURCES.arm),
};

/** Compute's policies for virtual machines (SOURCES.compute, "Throttling limits for Virtual Machines"), per VM and per subscription, per minute. */
const COMPUTE = {
    "Put VM": { vm: perMinute(12, 4, SOURCES.compute), subscription: perMinute(1500, 500, SOURCES.compute) },
    "Update VM": { vm: perMinute(12, 4, SOURCES.compute), subscription: perMinute(1500, 500, SOURCES.compute) },
    "Delete VM": { vm: perMinute(12, 4, SOURCES.compute), subscription: perMinute(1500, 500, SOURCES.compute) },
    "Low Cost Get VM": { vm: perMinute(36, 12, SOURCES.compute), subscription: perMinute(24000, 8000, SOURCES.compute) },
    "High Cost Get VM": { subscription: perMinute(900, 300, SOURCES.compute) },
    "Get Operation": { vm: perMinute(45, 15, SOURCES.compute), subscription: perMinute(15000, 5000, SOURCES.compute) },
};

/**
 * An Azure request in subscription `scope`: Resource Manager's read, write or delete bucket of the
 * subscription, and, for a Compute VM policy, that policy's buckets for the VM (`vm`, its id or
 * group/name) and for the subscription.
 */
function armRequest(scope, api, kind, policy, vm) {
    const buckets = [{ key: `${scope}|ARM ${kind}s`, ...ARM[kind], cost: 1 }];
    const p = policy && COMPUTE[policy];
    if (p && p.subscription) buckets.push({ key: `${scope}|Compute ${policy}`, ...p.subscription, cost: 1 });
    // One VM's own bucket is paced by that VM's operations, which wait on the cloud: it refills in
    // cloud time (objectScale), where a scope's buckets refill in the bench's real time.
    if (p && p.vm && vm)
        buckets.push({ key: `${scope}|Compute ${policy} vm ${String(vm).toLowerCase()}`, ...p.vm, cost: 1, perObject: true });
    return { cloud: "azure", scope, api, cls: policy ? `${policy} (ARM ${kind})` : `ARM ${kind}`, buckets };
}

/** An Azure request outside Resource Manager (Key Vault's data plane, the tenant's listings): counted, under no bucket here. */
function azureOtherRequest(scope, api) {
    return { cloud: "azure", scope, api, cls: api, buckets: [] };
}

/**
 * Compute Engine's rate quotas per project (SOURCES.gce). The page as it stands publishes no
 * default values for its simplified and regional metrics; the defaults it last published were
 * 1,500 requests a minute per project for each of queries (mutations), read requests (*.get), list
 * requests (*.list) and operation read requests. Regional and zonal methods count per project and
 * region since the move to regional metrics, so each region gets these here.
 */
const GCE = {
    // SOURCES.gce: QueriesPerMinute (default_per_region): regional/zonal create, modify, delete, and
    // instances.getGuestAttributes, which counts here too. 1,500/min.
    mutation: perMinute(1500, 1500, SOURCES.gce),
    // SOURCES.gce: ReadRequestsPerMinute (*.get): 1,500/min.
    read: perMinute(1500, 1500, SOURCES.gce),
    // SOURCES.gce: ListRequestsPerMinute (*.list): 1,500/min.
    list: perMinute(1500, 1500, SOURCES.gce),
    // SOURCES.gce: OperationReadRequestsPerMinute (zoneOperations.get, regionOperations.get): 1,500/min.
    "operation read": perMinute(1500, 1500, SOURCES.gce),
};

/** The quota metric and limit names Compute Engine's error gives, per class. */
const GCE_NAMES = {
    mutation: ["Queries", "Queries per minute per region"],
    read: ["Read requests", "Read requests per minute per region"],
    list: ["List requests", "List requests per minute per region"],
    "operation read": ["Operation read requests", "Operation read requests per minute per region"],
};

/** The region of a zone (`us-central1-a` → `us-central1`). */
const regionOfZone = (zone) => String(zone || "us-central1-a").replace(/-[a-z]$/, "");

/**
 * A Compute Engine request in project `project` and zone (or region, or "global"): its quota
 * metric's bucket for the project and region. A class without a published default (serial port
 * output, a quota of its own) is counted under no bucket.
 */
function gceRequest(project, where, api, cls) {
    const region = where === "global" ? "global" : regionOfZone(where);
    const scope = `${project}/${region}`;
    const limit = GCE[cls];
    return { cloud: "gcp", scope, api, cls, buckets: limit ? [{ key: `${scope}|${cls}`, ...limit, cost: 1 }] : [] };
}

/** Wall seconds per cloud second of refill: BOOTLOOP_RATE_SCALE, else BOOTLOOP_TIME_SCALE, else 1. */
function rateScale(env = process.env) {
    for (const v of [env.BOOTLOOP_RATE_SCALE, env.BOOTLOOP_TIME_SCALE]) {
        const n = Number(v);
        if (v !== undefined && v !== "" && Number.isFinite(n) && n > 0) return n;
    }
    return 1;
}

/**
 * Wall seconds per cloud second of refill for a bucket of ONE object (an Azure VM's own Compute
 * policy): BOOTLOOP_TIME_SCALE, else the rate scale. Its requests follow that object's operations, each of which
 * waits on the cloud, and those waits run compressed; were it refilled at the rate scale, a VM
 * restarted every (compressed) five minutes would look throttled where the cloud would not be.
 */
function objectScale(scale, env = process.env) {
    const n = Number(env.BOOTLOOP_TIME_SCALE);
    return env.BOOTLOOP_TIME_SCALE !== undefined && env.BOOTLOOP_TIME_SCALE !== "" && Number.isFinite(n) && n > 0 ? n : scale;
}

/** Cloud seconds over which the peak rate is measured (fixed windows). */
const PEAK_WINDOW_SECONDS = 10;

/** The budget kept in a world, made when missing. */
function budgetOf(world) {
    world.budget = world.budget || {};
    world.budget.buckets = world.budget.buckets || {};
    world.budget.counts = world.budget.counts || {};
    return world.budget;
}

/** Counts one request (throttled or not) under its cloud, scope and class, with its peak rate. */
function count(world, request, throttled, now, scale) {
    const counts = budgetOf(world).counts;
    const byScope = (counts[request.cloud] = counts[request.cloud] || {});
    const byClass = (byScope[request.scope] = byScope[request.scope] || {});
    const c = (byClass[request.cls] = byClass[request.cls] || {
        requests: 0,
        throttled: 0,
        peakPerSecond: 0,
        windowStart: now,
        windowCount: 0,
        buckets: request.buckets.map((b) => ({ key: b.key, capacity: b.capacity, perSecond: b.perSecond, source: b.source })),
    });
    c.requests++;
    if (throttled) c.throttled++;
    const windowMs = (PEAK_WINDOW_SECONDS * 1000) / scale;
    if (now - c.windowStart >= windowMs) {
        c.windowStart = now - ((now - c.windowStart) % windowMs);
        c.windowCount = 0;
    }
    c.windowCount++;
    c.peakPerSecond = Math.max(c.peakPerSecond, c.windowCount / PEAK_WINDOW_SECONDS);
}

/** A bucket as it is at `now` (wall ms), refilled since it was last touched. */
function bucketAt(world, b, now, scale, perObjectScale) {
    const buckets = budgetOf(world).buckets;
    const held = buckets[b.key] || { tokens: b.capacity, at: now };
    const pace = b.perObject ? perObjectScale : scale;
    const tokens = Math.min(b.capacity, held.tokens + (Math.max(0, now - held.at) / 1000) * b.perSecond * pace);
    return (buckets[b.key] = { tokens, at: now });
}

/**
 * Spends `request` from the world's buckets at wall time `now`: `{ ok: true }`, or `{ ok: false,
 * retryAfterSeconds, bucket }` naming the first bucket that lacked tokens and the cloud seconds
 * until it holds the request's cost. Either way the request is counted.
 */
function spend(world, request, now = Date.now(), scale = rateScale(), perObjectScale = objectScale(scale)) {
    let refused;
    for (const b of request.buckets) {
        const held = bucketAt(world, b, now, scale, perObjectScale);
        const need = Math.min(b.cost, b.capacity);
        if (held.tokens < need && !refused)
            refused = { bucket: b.key, retryAfterSeconds: Math.max(1, Math.ceil((need - held.tokens) / b.perSecond)) };
    }
    if (!refused) for (const b of request.buckets) budgetOf(world).buckets[b.key].tokens -= Math.min(b.cost, b.capacity);
    count(world, request, Boolean(refused), now, scale);
    return refused ? { ok: false, ...refused } : { ok: true };
}

/** Counts a request the world's scripted faults (world.throttle) refused, as throttled. */
function countThrottled(world, request, now = Date.now(), scale = rateScale()) {
    count(world, request, true, now, scale);
}

module.exports = {
    SOURCES,
    EC2,
    EC2_RESOURCE,
    ARM,
    COMPUTE,
    GCE,
    GCE_NAMES,
    PEAK_WINDOW_SECONDS,
    objectScale,
    ec2Request,
    awsOtherRequest,
    armRequest,
    azureOtherRequest,
    gceRequest,
    regionOfZone,
    rateScale,
    spend,
    countThrottled,
};
