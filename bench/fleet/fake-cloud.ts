// The fleet benchmark's fake cloud: one in-memory world of AWS, Azure and GCP VMs that moves in
// compressed time the way the clouds do (a stop takes a minute, a Windows boot five), answering
// the calls of the real step scripts and of the watcher through the stand-in CLIs in bin/ on the
// loopback. It injects throttling on a share of calls and has VMs whose fixed disk never boots.
// Not a test double for correctness (the per-cloud stand-ins under test/ are): it is built to
// carry thousands of VMs at once and to count calls.
import * as net from "net";
import * as zlib from "zlib";

/** How long things take, in cloud seconds. */
export const DURATIONS = { stop: 60, start: 20, boot: 300, detach: 5, attach: 10, repair: 180 };
/** The last line a repair prints on the rescue side: its evidence, gzip-base64 (as on-rescue.sh sends it). */
const EVIDENCE_LINE = `gzip-base64:${zlib.gzipSync(JSON.stringify({ tool: "bootloop-rescue/repair-disk", outcome: "repaired", exitCode: 0, message: "1 file quarantined", volumes: [] })).toString("base64")}`;

/** What the world is made of, per VM. */
export interface FleetVm {
    cloud: "aws" | "azure" | "gcp";
    /** Index in the fleet. */
    n: number;
    /** Its fixed disk never boots (a VM made to fail). */
    neverBoots: boolean;
}

interface Instance {
    state: "running" | "stopping" | "stopped" | "pending";
    /** Cloud ms when the current transition ends. */
    until: number;
    /** Root/OS/boot disk id, or "" (none). */
    root: string;
    bootedFrom: string;
    startedAt: number;
    serial: string;
    rescueDisks?: Record<string, string>;
}

interface Disk {
    state: "in-use" | "available" | "attaching" | "detaching";
    until: number;
    boots: boolean;
    tags: Record<string, string>;
}

/** Cloud names of a fleet VM's objects. */
export function names(vm: FleetVm) {
    const h = (prefix: string, width: number) => `${prefix}${(0x10000000 + vm.n).toString(16).padStart(width, "0")}`;
    switch (vm.cloud) {
        case "aws":
            return {
                instance: h("i-0", 16),
                original: h("vol-0", 16),
                fixed: h("vol-1", 16),
                scratch: h("vol-2", 16),
                rescue: `i-0${(0xa0000000 + Math.floor(vm.n / 24)).toString(16).padStart(16, "0")}`,
            };
        case "azure": {
            const sub = "11111111-2222-3333-4444-555555555555";
            const rg = `rg-${Math.floor(vm.n / 500)}`;
            const disk = (name: string) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${name}`;
            const vmId = (name: string) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
            const rescueName = `rescue-${Math.floor(vm.n / 16)}`;
            return {
                subscription: sub,
                resourceGroup: rg,
                vmName: `vm-${vm.n}`,
                vmId: vmId(`vm-${vm.n}`),
                original: disk(`vm-${vm.n}-os`),
                fixed: disk(`vm-${vm.n}-fixed`),
                scratch: disk(`vm-${vm.n}-scratch`),
                rescueName,
                rescue: vmId(rescueName),
                lun: String(vm.n % 16),
            };
        }
        case "gcp":
            return {
                project: "fleet-project",
                zone: `us-central1-${"abc"[Math.floor(vm.n / 700) % 3]}`,
                instance: `win-${vm.n}`,
                original: `win-${vm.n}`,
                fixed: `win-${vm.n}-fixed`,
                rescue: `rescue-${Math.floor(vm.n / 64)}`,
                device: `br-win-${vm.n}`,
            };
    }
}

type Answer = { code: number; out: string; err: string };

/** The fake cloud: a world, a clock in cloud time, and counters. */
export class FakeCloud {
    private readonly instances = new Map<string, Instance>();
    private readonly disks = new Map<string, Disk>();
    private readonly commands = new Map<string, { instance: string; volume: string; done: number }>();
    private readonly guest = new Map<string, Map<string, string>>();
    private readonly started = Date.now();
    private random: () => number;
    /** Calls answered per CLI and operation (`aws ec2 stop-instances`). */
    readonly byOp: Record<string, number> = {};
    /** Calls answered, per CLI (aws, az, gcloud), throttled ones included. */
    readonly calls: Record<string, number> = { aws: 0, az: 0, gcloud: 0 };
    /** Calls failed with throttling, per CLI. */
    readonly throttled: Record<string, number> = { aws: 0, az: 0, gcloud: 0 };
    /** Requests of the clouds' APIs answered (the watcher's observations; bench/fleet/api-front.ts), per CLI they stand for, and those throttled. */
    readonly api = {
        requests: { aws: 0, az: 0, gcloud: 0 } as Record<string, number>,
        throttled: { aws: 0, az: 0, gcloud: 0 } as Record<string, number>,
    };
    /** Stand-in processes talking to it at once, and the most there were. */
    open = 0;
    peakOpen = 0;

    constructor(
        readonly vms: readonly FleetVm[],
        private readonly opts: { timeScale: number; throttleShare: number; seed: number },
    ) {
        let s = opts.seed >>> 0 || 1;
        this.random = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
        for (const vm of vms) this.add(vm);
    }

    /** Cloud time now (ms). */
    now(): number {
        return (Date.now() - this.started) * this.opts.timeScale;
    }

    private add(vm: FleetVm): void {
        const n = names(vm) as unknown as Record<string, string>;
        const t = this.now();
        this.disks.set(n.original.toLowerCase(), { state: "in-use", until: 0, boots: false, tags: {} });
        this.disks.set(n.fixed.toLowerCase(), { state: "available", until: 0, boots: !vm.neverBoots, tags: {} });
        this.instances.set(this.vmKey(vm.cloud, n), {
            state: "running",
            until: 0,
            root: n.original,
            bootedFrom: n.original,
            startedAt: t,
            serial: "boot loop\n",
        });
        if (vm.cloud === "aws") {
            this.disks.set(n.scratch, { state: "in-use", until: 0, boots: false, tags: {} });
            if (!this.instances.has(n.rescue))
                this.instances.set(n.rescue, { state: "running", until: 0, root: "", bootedFrom: "", startedAt: t, serial: "" });
        }
        if (vm.cloud === "azure") {
            this.disks.set(n.scratch.toLowerCase(), { state: "available", until: 0, boots: false, tags: {} });
            const key = n.rescue.toLowerCase();
            if (!this.instances.has(key))
                this.instances.set(key, {
                    state: "running",
                    until: 0,
                    root: "",
                    bootedFrom: "",
                    startedAt: t,
                    serial: "",
                    rescueDisks: {},
                });
        }
        if (vm.cloud === "gcp") {
            // The scratch disk is attached when the chain starts: the agent publishes its result a repair later.
            const attrs = this.guest.get(n.rescue) ?? new Map<string, string>();
            this.guest.set(n.rescue, attrs);
        }
    }

    private vmKey(cloud: string, n: Record<string, string>): string {
        return cloud === "aws" ? n.instance : cloud === "azure" ? n.vmId.toLowerCase() : `${n.zone}/${n.instance}`;
    }

    /** A chain starts (its scratch disk was just attached by the provider): the GCP agent begins its repair. */
    chainStarted(vm: FleetVm): void {
        if (vm.cloud !== "gcp") return;
        const n = names(vm) as unknown as Record<string, string>;
        const done = this.now() + DURATIONS.repair * 1000;
        this.guest.get(n.rescue)!.set(`${n.device}@`, String(done));
    }

    private advance(i: Instance): void {
        const t = this.now();
        if (i.until > t) return;
        if (i.state === "stopping") i.state = "stopped";
        if (i.state === "pending") {
            i.state = "running";
            i.startedAt = i.until;
        }
    }

    private disk(id: string): Disk | undefined {
        const d = this.disks.get(id.toLowerCase());
        if (d && d.until <= this.now()) {
            if (d.state === "attaching") d.state = "in-use";
            if (d.state === "detaching") d.state = "available";
        }
        return d;
    }

    private booted(i: Instance): boolean {
        const d = this.disks.get(i.bootedFrom.toLowerCase());
        return i.state === "running" && !!d?.boots && this.now() >= i.startedAt + DURATIONS.boot * 1000;
    }

    private stop(i: Instance): void {
        if (i.state === "running" || i.state === "pending")
            Object.assign(i, { state: "stopping", until: this.now() + DURATIONS.stop * 1000 });
    }

    private start(i: Instance): string | undefined {
        this.advance(i);
        if (i.state !== "stopped") return "IncorrectInstanceState";
        if (!i.root) return "no root disk";
        Object.assign(i, { state: "pending", until: this.now() + DURATIONS.start * 1000, bootedFrom: i.root, serial: "" });
        return undefined;
    }

    private swapRoot(i: Instance, disk: string, attach: boolean): void {
        const d = this.disks.get(disk.toLowerCase())!;
        Object.assign(
            d,
            attach
                ? { state: "attaching", until: this.now() + DURATIONS.attach * 1000 }
                : { state: "detaching", until: this.now() + DURATIONS.detach * 1000 },
        );
        i.root = attach ? disk : "";
    }

    /** Answers one CLI call, or (`via` "api") the API request that stands for it: counted apart, never priced as a CLI call. */
    answer(cli: string, argv: string[], via: "cli" | "api" = "cli"): Answer {
        const { positional, opts } = parse(argv);
        const op = positional.join(" ");
        const opKey = `${cli} ${positional.slice(0, cli === "gcloud" ? 3 : 2).join(" ")}`;
        if (via === "api") this.api.requests[cli] = (this.api.requests[cli] ?? 0) + 1;
        else {
            this.calls[cli] = (this.calls[cli] ?? 0) + 1;
            this.byOp[opKey] = (this.byOp[opKey] ?? 0) + 1;
        }
        const ok = (o: unknown): Answer => ({ code: 0, out: JSON.stringify(o), err: "" });
        const fail = (message: string, code = 1): Answer => ({ code, out: "", err: message + "\n" });
        // Reads and writes alike may be throttled: the scripts and the watcher must ride it out.
        if (this.random() < this.opts.throttleShare) {
            const throttled = via === "api" ? this.api.throttled : this.throttled;
            throttled[cli] = (throttled[cli] ?? 0) + 1;
            if (cli === "aws")
                return fail(
                    `\nAn error occurred (RequestLimitExceeded) when calling the ${positional[1]} operation (reached max retries: 2): Request limit exceeded.`,
                    254,
                );
            if (cli === "az") return fail("ERROR: (TooManyRequests) The request is being throttled. Status: 429");
            return fail("ERROR: (gcloud.compute) Rate Limit Exceeded: rateLimitExceeded");
        }
        const t = this.now();
        const list = (k: string): string[] => {
            const v = opts[k];
            return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
        };
        const filterValues = () => list("filters").flatMap((f) => (/(?:Values|value)=(.*)$/.exec(f)?.[1] ?? "").split(","));
        if (cli === "aws") {
            switch (op) {
                case "ec2 describe-instances":
                    return ok({
                        Reservations: filterValues()
                            .filter((id) => this.instances.has(id))
                            .map((id) => {
                                const i = this.instances.get(id)!;
                                this.advance(i);
                                return {
                                    Instances: [
                                        {
                                            InstanceId: id,
                                            State: { Name: i.state },
                                            BlockDeviceMappings: i.root ? [{ DeviceName: "/dev/sda1", Ebs: { VolumeId: i.root } }] : [],
                                        },
                                    ],
                                };
                            }),
                    });
                case "ec2 describe-instance-status":
                    return ok({
                        InstanceStatuses: list("instance-ids")
                            .filter((id) => this.instances.get(id)?.state !== "stopped")
                            .map((id) => {
                                const i = this.instances.get(id)!;
                                this.advance(i);
                                const up = this.booted(i);
                                return {
                                    InstanceId: id,
                                    InstanceState: { Name: i.state },
                                    InstanceStatus: {
                                        Status:
                                            i.state === "running"
                                                ? up
                                                    ? "ok"
                                                    : t > i.startedAt + DURATIONS.boot * 1000
                                                      ? "impaired"
                                                      : "initializing"
                                                : "initializing",
                                    },
                                    SystemStatus: { Status: i.state === "running" ? "ok" : "initializing" },
                                };
                            }),
                    });
                case "ec2 get-console-output": {
                    const i = this.instances.get(String(opts["instance-id"]))!;
                    return ok({ Output: this.booted(i) ? "EC2Launch: Windows is Ready to use\n" : undefined });
                }
                case "ec2 describe-volumes":
                    return ok({
                        Volumes: filterValues()
                            .filter((id) => this.disk(id))
                            .map((id) => ({ VolumeId: id, State: this.disk(id)!.state })),
                    });
                case "ec2 stop-instances":
                    this.stop(this.instances.get(list("instance-ids")[0])!);
                    return ok({});
                case "ec2 start-instances": {
                    const e = this.start(this.instances.get(list("instance-ids")[0])!);
                    return e ? fail(`An error occurred (IncorrectInstanceState): ${e}`, 254) : ok({});
                }
                case "ec2 create-tags":
                    return ok({});
                case "ec2 detach-volume":
                    this.swapRoot(this.instances.get(String(opts["instance-id"]))!, String(opts["volume-id"]), false);
                    return ok({});
                case "ec2 attach-volume":
                    this.swapRoot(this.instances.get(String(opts["instance-id"]))!, String(opts["volume-id"]), true);
                    return ok({});
                case "ssm describe-instance-information":
                    return ok({ InstanceInformationList: filterValues().map((id) => ({ InstanceId: id, PingStatus: "Online" })) });
                case "ssm send-command": {
                    const id = `${String(this.commands.size).padStart(8, "0")}-1111-2222-3333-444455556666`;
                    this.commands.set(id, {
                        instance: list("instance-ids")[0],
                        volume: String(opts.parameters).replace("volumeId=", ""),
                        done: t + DURATIONS.repair * 1000,
                    });
                    return ok({ Command: { CommandId: id } });
                }
                case "ssm list-command-invocations":
                    return ok({
                        CommandInvocations: [...this.commands]
                            .filter(([, c]) => c.instance === opts["instance-id"])
                            .map(([id, c]) => ({ CommandId: id, Status: t >= c.done ? "Success" : "InProgress" })),
                    });
                case "ssm get-command-invocation":
                    // The repair reads the output alone (--query StandardOutputContent --output text).
                    return { code: 0, out: `${EVIDENCE_LINE}\n`, err: "" };
            }
        }
        if (cli === "az") {
            const byId = (id: string) => this.instances.get(id.toLowerCase());
            switch (op) {
                case "vm get-instance-view": {
                    const views = list("ids").map((id) => {
                        const i = byId(id)!;
                        this.advance(i);
                        return {
                            id,
                            storageProfile: { osDisk: { managedDisk: { id: i.root } } },
                            instanceView: {
                                statuses: [
                                    {
                                        code: `PowerState/${{ running: "running", stopping: "deallocating", stopped: "deallocated", pending: "starting" }[i.state]}`,
                                    },
                                ],
                                vmAgent: this.booted(i) ? { statuses: [{ displayStatus: "Ready" }] } : undefined,
                            },
                        };
                    });
                    return ok(views.length === 1 ? views[0] : views);
                }
                case "vm show": {
                    const models = list("ids").map((id) => ({
                        id,
                        storageProfile: {
                            dataDisks: Object.entries(byId(id)?.rescueDisks ?? {}).map(([lun, d]) => ({
                                lun: Number(lun),
                                managedDisk: { id: d },
                            })),
                        },
                    }));
                    return ok(models.length === 1 ? models[0] : models);
                }
                case "vm deallocate":
                case "vm start":
                case "vm update": {
                    const id = `/subscriptions/${String(opts.subscription)}/resourceGroups/${String(opts.g ?? opts["resource-group"])}/providers/Microsoft.Compute/virtualMachines/${String(opts.n ?? opts.name)}`;
                    const i = byId(id)!;
                    this.advance(i);
                    if (op === "vm deallocate") this.stop(i);
                    else if (op === "vm start") {
                        const e = this.start(i);
                        if (e) return fail(`ERROR: (OperationNotAllowed) ${e}`);
                    } else {
                        if (i.state !== "stopped")
                            return fail("ERROR: (OperationNotAllowed) The OS disk can only be swapped when the VM is deallocated.");
                        i.root = String(opts["os-disk"]);
                    }
                    return ok({});
                }
                case "disk update":
                    return ok({});
                case "vm run-command show":
                    // The swap reads the repair's output back (--query instanceView.output --output tsv).
                    return { code: 0, out: `repair-disk: partition 3: Windows found\n${EVIDENCE_LINE}\n`, err: "" };
                case "vm disk attach": {
                    const rescue = [...this.instances].find(
                        ([k]) =>
                            k.endsWith(`/virtualmachines/${String(opts["vm-name"]).toLowerCase()}`) &&
                            k.includes(`/resourcegroups/${String(opts.g).toLowerCase()}/`),
                    )![1];
                    rescue.rescueDisks![String(opts.lun)] = String(opts.name);
                    return ok({});
                }
            }
        }
        if (cli === "gcloud") {
            const sub = positional.slice(1).join(" ");
            const zone = String(opts.zone ?? opts.zones);
            switch (true) {
                case sub.startsWith("instances list"): {
                    const names = (/\(\s*(.*?)\s*\)/.exec(String(opts.filter)) ?? [])[1]?.split(/\s+/) ?? [];
                    return ok(
                        names
                            .filter((n) => this.instances.has(`${zone}/${n}`))
                            .map((n) => {
                                const i = this.instances.get(`${zone}/${n}`)!;
                                this.advance(i);
                                return {
                                    name: n,
                                    status: { running: "RUNNING", stopping: "STOPPING", stopped: "TERMINATED", pending: "STAGING" }[
                                        i.state
                                    ],
                                    disks: i.root ? [{ boot: true, source: `projects/p/zones/${zone}/disks/${i.root}` }] : [],
                                };
                            }),
                    );
                }
                case sub.startsWith("instances get-serial-port-output"): {
                    const i = this.instances.get(`${zone}/${positional[3]}`)!;
                    if (this.booted(i) && !i.serial.includes("Windows is ready")) i.serial += "GCEGuestAgent: Windows is ready\n";
                    const start = Number(opts.start ?? 0);
                    return ok({ contents: i.serial.slice(start), next: String(i.serial.length) });
                }
                case sub.startsWith("instances get-guest-attributes"): {
                    const attrs = this.guest.get(positional[3]) ?? new Map<string, string>();
                    const out: { key: string; value: string }[] = [];
                    for (const [k, v] of attrs)
                        if (k.endsWith("@") && t >= Number(v))
                            out.push(
                                { key: `${k.slice(0, -1)}-code`, value: "0" },
                                {
                                    key: `${k.slice(0, -1)}-c0`,
                                    value: JSON.stringify({ outcome: "repaired", exitCode: 0, message: "ok", volumes: [] }),
                                },
                                { key: `${k.slice(0, -1)}-chunks`, value: "1" },
                            );
                    return out.length
                        ? ok(out)
                        : fail("ERROR: (gcloud.compute.instances.get-guest-attributes) NOT_FOUND: The resource was not found");
                }
                case sub.startsWith("instances stop"):
                    this.stop(this.instances.get(`${zone}/${positional[3]}`)!);
                    return ok([]);
                case sub.startsWith("instances start"): {
                    const e = this.start(this.instances.get(`${zone}/${positional[3]}`)!);
                    return e ? fail(`ERROR: (gcloud.compute.instances.start) ${e}`) : ok([]);
                }
                case sub.startsWith("instances detach-disk"):
                    this.instances.get(`${zone}/${positional[3]}`)!.root = "";
                    return ok([]);
                case sub.startsWith("instances attach-disk"):
                    this.instances.get(`${zone}/${positional[3]}`)!.root = String(opts.disk);
                    return ok([]);
                case sub.startsWith("disks add-labels"):
                    return ok([]);
            }
        }
        return fail(`the fleet stand-in does not know ${cli} ${op}`, 2);
    }

    /** Serves the stand-in CLIs on the loopback; resolves with the port. */
    listen(): Promise<{ port: number; close(): void }> {
        const server = net.createServer((socket) => {
            this.open++;
            this.peakOpen = Math.max(this.peakOpen, this.open);
            let buffer = "";
            socket.setEncoding("utf8");
            socket.on("data", (chunk: string) => {
                buffer += chunk;
                const end = buffer.indexOf("\n");
                if (end < 0) return;
                const [cli, ...argv] = buffer.slice(0, end).split("\x1f");
                let a: Answer;
                try {
                    a = this.answer(cli, argv);
                } catch (err) {
                    a = { code: 2, out: "", err: `fake cloud: ${err instanceof Error ? err.message : String(err)}\n` };
                }
                socket.end(`${a.code} ${Buffer.byteLength(a.out)} ${Buffer.byteLength(a.err)}\n${a.out}${a.err}`);
            });
            socket.on("error", () => undefined);
            socket.on("close", () => this.open--);
        });
        return new Promise((resolve) =>
            server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() })),
        );
    }
}

/** Splits CLI arguments into positional words and options (`--k v`, `--k=v`, `-g v`, flags, lists). */
function parse(argv: string[]): { positional: string[]; opts: Record<string, string | string[] | true> } {
    const FLAGS = new Set(["force", "latest", "include-all-instances", "no-wait", "async", "boot", "quiet", "only-show-errors"]);
    const LISTS = new Set(["instance-ids", "ids", "filters", "tags", "set"]);
    const positional: string[] = [];
    const opts: Record<string, string | string[] | true> = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("-")) {
            positional.push(a);
            continue;
        }
        const [key, inline] = a.replace(/^-+/, "").split(/=(.*)/s);
        if (inline !== undefined) opts[key] = inline;
        else if (FLAGS.has(key)) opts[key] = true;
        else if (LISTS.has(key)) {
            const values: string[] = [];
            while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) values.push(argv[++i]);
            opts[key] = values;
        } else opts[key] = argv[++i];
    }
    return { positional, opts };
}
