import { Finding, classify, needsRead } from "./classify";
import { FalconExport, FalconHost, matchFalcon } from "./falcon";
import { CloudDiscovery, DiscoveryCli, DiscoveryScope, ListedVm, OutputRead, ScopeRequest } from "./types";

/** What one scope's scan found, for the progress line and the summary. */
export interface ScopeSummary {
    cloud: string;
    scope: string;
    scopeName: string;
    region: string;
    /** VMs listed, Windows or not (undefined where the listing asked for Windows VMs only). */
    vms?: number;
    /** Windows VMs among them. */
    windows: number;
    /** Linux VMs among them (`--guests linux`; absent when none). */
    linux?: number;
    /** Boot-looping candidates written under `vms:`, per zone (`REGION (no zone)` for VMs without one). */
    candidatesByZone: Record<string, number>;
    /** Windows VMs not running. */
    stopped: number;
    /** Boot-looping VMs listed apart: in a scale group, without a rescue path, or low confidence. */
    apart: number;
}

/** Everything a discovery run found. */
export interface Discovery {
    /** Every Windows VM's finding, healthy ones included, in a stable order. */
    findings: Finding[];
    /** Export rows in the window that named no scanned VM. */
    falconUnmatched: FalconHost[];
    /** Export rows whose hostname fits several VMs (not guessed). */
    falconAmbiguous: { host: FalconHost; vms: string[] }[];
    /** Per scope, in scan order. */
    scopes: ScopeSummary[];
    /** Per-VM reads made (console, serial, boot log). */
    reads: number;
}

/** What to scan. */
export interface DiscoverOptions {
    /** The clouds to scan, each with its scope request. */
    clouds: { cloud: CloudDiscovery; request: ScopeRequest }[];
    /** The Falcon host export, if given. */
    falcon?: FalconExport;
    /** Calls to the clouds. */
    cli: DiscoveryCli;
    /** Receives one progress line per scope, as it finishes. */
    progress(line: string): void;
}

/**
 * Finds the boot-looping Windows VMs of the scopes: every scope's batched listing at once (the
 * CLI runner bounds the processes and each scope's rate), then, only for VMs the listing and the
 * Falcon export leave in doubt, one read of their console, serial port or boot log.
 */
export async function discover(opts: DiscoverOptions): Promise<Discovery> {
    const scopesOf = await Promise.all(
        opts.clouds.map(async ({ cloud, request }) => ({ cloud, scopes: await cloud.scopes(request, opts.cli) })),
    );
    // A cloud with nothing to scan was not checked: "no boot-looping VM" would be a false green.
    for (const { cloud, scopes } of scopesOf) if (scopes.length === 0) throw new NoScopeError(cloud);
    const listed: { cloud: CloudDiscovery; scope: DiscoveryScope; vms: ListedVm[]; notWindows?: number }[] = [];
    await Promise.all(
        scopesOf.flatMap(({ cloud, scopes }) =>
            scopes.map(async (scope) => {
                const { vms, notWindows } = await cloud.list(scope, opts.cli);
                listed.push({ cloud, scope, vms, notWindows });
                opts.progress(
                    `${scopeTitle(scope)}: ${notWindows === undefined ? "" : `${vms.length + notWindows} VMs, `}${vms.filter((v) => v.os !== "linux").length} Windows${vms.some((v) => v.os === "linux") ? `, ${vms.filter((v) => v.os === "linux").length} Linux` : ""} (${vms.filter((v) => v.health === "failing").length} failing status, ${vms.filter((v) => v.power !== "running").length} not running)`,
                );
            }),
        ),
    );
    // Scan order is the order scopes finished in; results are not: sort for a stable file.
    listed.sort((a, b) => scopeKey(a.scope).localeCompare(scopeKey(b.scope)));
    const all = listed.flatMap((l) => l.vms.map((vm) => ({ vm, cloud: l.cloud, scope: l.scope })));

    const scannedClouds = new Set(opts.clouds.map((c) => c.cloud.cloud));
    const scannedScopes = new Set(listed.map((l) => `${l.scope.cloud}\n${l.scope.scope.toLowerCase()}`));
    const matches = opts.falcon
        ? matchFalcon(
              opts.falcon.hosts,
              all.map((a) => a.vm),
              (provider, account) =>
                  (provider === "" || scannedClouds.has(provider)) &&
                  (account === "" || provider === "" || scannedScopes.has(`${provider}\n${account}`)),
          )
        : undefined;

    const byName = (vm: ListedVm) => matches?.byName.has(vm) ?? false;
    const toRead = all.filter((a) => needsRead(a.vm, matches?.byVm.get(a.vm), byName(a.vm)));
    const reads = new Map<ListedVm, OutputRead>();
    let done = 0;
    await Promise.all(
        toRead.map(async (a) => {
            reads.set(a.vm, await a.cloud.read(a.vm, a.scope, opts.cli));
            done++;
            if (done % 100 === 0 || done === toRead.length)
                opts.progress(`per-VM reads (console, serial, boot log): ${done} of ${toRead.length}`);
        }),
    );

    const findings = all.map((a) => classify(a.vm, reads.get(a.vm), matches?.byVm.get(a.vm), opts.falcon !== undefined, byName(a.vm)));
    const findingOf = new Map(findings.map((f) => [f.vm, f]));
    const scopes = listed.map((l) =>
        summarise(
            l.scope,
            l.notWindows === undefined ? undefined : l.vms.length + l.notWindows,
            l.vms.map((vm) => findingOf.get(vm)!),
        ),
    );
    return {
        findings,
        falconUnmatched: matches?.unmatched ?? [],
        falconAmbiguous: (matches?.ambiguous ?? []).map((a) => ({ host: a.host, vms: a.vms.map((v) => v.name) })),
        scopes,
        reads: reads.size,
    };
}

/**
 * A cloud whose login reaches no scope (no account, subscription or project it can read): nothing
 * of it was scanned, so discovery cannot say that none of its VMs boot-loops.
 */
export class NoScopeError extends Error {
    constructor(cloud: CloudDiscovery) {
        const flag = cloud.options[0]?.flag;
        super(
            `${cloud.cloud}: the login reaches no ${cloud.scopeLabel} to scan, so nothing of ${cloud.cloud} was checked; log in with an identity that can read the VMs${flag ? ` (or name them with ${flag})` : ""}`,
        );
    }
}

/** `aws 111111111111 (prod) us-east-1`, `gcp my-project`. */
export function scopeTitle(s: { cloud: string; scope: string; scopeName: string; region: string }): string {
    return [s.cloud, s.scope, s.scopeName && s.scopeName !== s.scope ? `(${s.scopeName})` : "", s.region].filter(Boolean).join(" ");
}

function scopeKey(s: DiscoveryScope): string {
    return `${s.cloud}\n${s.scope}\n${s.region}`;
}

function summarise(scope: DiscoveryScope, vms: number | undefined, findings: Finding[]): ScopeSummary {
    const candidatesByZone: Record<string, number> = {};
    for (const f of findings) {
        const zone = f.vm.zone || `${f.vm.region || "global"} (no zone)`;
        if (f.bucket === "candidate") candidatesByZone[zone] = (candidatesByZone[zone] ?? 0) + 1;
    }
    return {
        cloud: scope.cloud,
        scope: scope.scope,
        scopeName: scope.scopeName,
        region: scope.region,
        vms,
        windows: findings.filter((f) => f.vm.os !== "linux").length,
        ...(findings.some((f) => f.vm.os === "linux") ? { linux: findings.filter((f) => f.vm.os === "linux").length } : {}),
        candidatesByZone,
        stopped: findings.filter((f) => f.bucket === "stopped").length,
        apart: findings.filter((f) => f.bucket === "scale-group" || f.bucket === "no-rescue-path" || f.bucket === "review").length,
    };
}
