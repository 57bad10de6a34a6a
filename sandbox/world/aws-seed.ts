// The simulated AWS cloud a sandbox stack starts from: each of the inventory's EC2 instances
// running and boot-looping on its original root volume (the volume does not boot: the faulty
// channel file), in a subnet and VPC of its zone, launched from a Windows AMI; the Ubuntu AMIs the
// rescue instances are looked up from; the BitLocker key secrets the inventory names, and the
// permissions boundary their rescue roles are created under; backups taken before the incident for
// the VMs restored from one. Systems Manager runs repairs with the CLI stand-in's simulated
// engine. Everything is derived from the inventory alone: the same inventory gives the same world.
import { sandboxFaultOf } from "./faults";
import { createHash } from "crypto";
import { VmEntry } from "../../components/core/contract/vm";
import { RESCUE_BOUNDARY_POLICY } from "../../components/aws/rescue";
import boundaryPolicy from "../../components/aws/iam/rescue-boundary-policy.json";
import { AwsWorld, DEFAULT_ACCOUNT, awsManagedEbsKey } from "./aws-world";
import { World } from "./world-file";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-in CLIs' own module (plain JavaScript)
const linuxGuest = require("../cli/linux-guest.js") as { BOOT_LOOP: string; BOOTED: string };

/** Canonical's account: the owner of the Ubuntu AMIs. */
const CANONICAL = "099720109477";
/** Amazon's account that owns the Windows AMIs. */
const AMAZON_WINDOWS = "801119661308";
/** The repair engine's version the simulated repairs report (rescue/repair-disk's VERSION). */
const ENGINE_VERSION = "1.0.0";
/** What a Windows instance's console shows once it booted healthy (EC2Launch v2). */
const CONSOLE_ON_BOOT = "2024/07/19 09:01:02Z: EC2Launch: Windows is Ready to use\n";
/** What the console of a boot-looping instance shows. */
const CONSOLE_BOOT_LOOP =
    "2024/07/19 04:11:37Z: Windows boot: the computer has rebooted from a bugcheck. The bugcheck was: 0x00000050 (PAGE_FAULT_IN_NONPAGED_AREA) csagent.sys\n";
/** A backup service's snapshot description. */
const BACKUP_DESCRIPTION = "This snapshot is created by the AWS Backup service.";

/** Hex digits of a text's SHA-256. */
const hex = (text: string, digits: number) => createHash("sha256").update(text).digest("hex").slice(0, digits);
/** An EC2 id (`vol-0…`, 17 hex digits) derived from a text. */
const ec2Id = (prefix: string, text: string) => `${prefix}-0${hex(text, 16)}`;
/** A number from a text, below `n`. */
const pick = (text: string, n: number) => parseInt(hex(text, 8), 16) % n;

/** A BitLocker recovery password (8 groups of 6 digits, each a multiple of 11) and its key id, from a text. */
function recoveryKey(text: string): string {
    const h = hex(`recovery ${text}`, 64);
    const groups = Array.from({ length: 8 }, (_, i) => String((parseInt(h.slice(i * 4, i * 4 + 4), 16) % 65536) * 11).padStart(6, "0"));
    const id = hex(`key id ${text}`, 32);
    return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)} ${groups.join("-")}\n`;
}

/**
 * The ambient credentials' account: the account of the bitlockerSecret ARNs of the VMs that name no
 * accountId, when that is one account (the program refuses a secret of another account than its
 * instance's), else the CLI stand-in's default.
 */
function ambientAccount(vms: readonly VmEntry[]): string {
    const accounts = new Set(
        vms.filter((v) => !v.fields.accountId && v.fields.bitlockerSecret).map((v) => v.fields.bitlockerSecret.split(":")[4]),
    );
    return accounts.size === 1 ? [...accounts][0] : DEFAULT_ACCOUNT;
}

/** The world's network of an account's zone: its VPC (one per region), subnet (one per zone) and default security group. */
function network(world: AwsWorld, account: string, region: string, zone: string): { vpcId: string; subnetId: string; groupId: string } {
    const vpcId = ec2Id("vpc", `vpc ${account} ${region}`);
    const subnetId = ec2Id("subnet", `subnet ${account} ${zone}`);
    const groupId = ec2Id("sg", `default sg ${vpcId}`);
    world.subnets![subnetId] ??= {
        vpcId,
        availabilityZone: zone,
        region,
        cidrBlock: `10.${pick(`cidr ${vpcId}`, 200)}.${"abcdef".indexOf(zone.slice(-1)) * 16}.0/20`,
        account,
        tags: { Name: `private-${zone}` },
    };
    world.securityGroups![groupId] ??= {
        name: "default",
        description: "default VPC security group",
        vpcId,
        region,
        ownerId: account,
        ingress: [],
        egress: [],
    };
    return { vpcId, subnetId, groupId };
}

/** A region's AMIs: the Windows Server image the VMs run, and Canonical's Ubuntu 24.04 images (amd64 and arm64, two releases). */
function images(world: AwsWorld, region: string): string {
    const windows = ec2Id("ami", `windows ${region}`);
    world.images![windows] = {
        name: "Windows_Server-2022-English-Full-Base-2024.07.10",
        ownerId: AMAZON_WINDOWS,
        region,
        architecture: "x86_64",
        creationDate: "2024-07-10T21:23:55.000Z",
        description: "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon",
        platform: "windows",
        rootDeviceName: "/dev/sda1",
    };
    for (const [arch, tag] of [
        ["x86_64", "amd64"],
        ["arm64", "arm64"],
    ])
        for (const release of ["20240701", "20240715"])
            world.images![ec2Id("ami", `ubuntu ${region} ${arch} ${release}`)] = {
                name: `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${tag}-server-${release}`,
                ownerId: CANONICAL,
                region,
                architecture: arch,
                creationDate: `${release.slice(0, 4)}-${release.slice(4, 6)}-${release.slice(6)}T08:12:40.000Z`,
                description: `Canonical, Ubuntu, 24.04, ${tag} noble image`,
                rootDeviceName: "/dev/sda1",
            };
    return windows;
}

/** A VM's BitLocker key secret (named by its ARN, less the 6-character suffix), and the boundary its rescue role goes under. */
function keySecret(world: AwsWorld, vm: VmEntry): void {
    const arn = vm.fields.bitlockerSecret;
    const [, partition, , , account, , rest] = arn.split(":");
    const name = rest.replace(/-[A-Za-z0-9]{6}$/, "");
    world.secrets![name] = {
        arn,
        versions: [recoveryKey(vm.key)],
        tags: [{ Key: "bootloop-rescue:managed-by", Value: "bootloop-rescue" }],
    };
    world.iam!.policies![`arn:${partition}:iam::${account}:policy/${RESCUE_BOUNDARY_POLICY}`] = {
        name: RESCUE_BOUNDARY_POLICY,
        document: JSON.stringify(boundaryPolicy),
    };
}

/** Backups of a restored VM's root volume: daily ones before the incident (they boot) and one after it (it does not). */
function backups(world: AwsWorld, vm: VmEntry, volumeId: string, account: string): void {
    const v = world.volumes[volumeId];
    const snapshot = (id: string, startTime: string, boots: boolean, of = volumeId) => {
        world.snapshots![id] = {
            volumeId: of,
            startTime,
            state: "completed",
            progress: "100%",
            ownerId: account,
            boots,
            region: v.region,
            size: v.size,
            encrypted: v.encrypted,
            kmsKeyId: v.kmsKeyId,
            description: BACKUP_DESCRIPTION,
            tags: { "aws:backup:source-resource": volumeId },
            ...(v.bitlocker ? { bitlocker: { ...v.bitlocker } } : {}),
        };
    };
    for (const day of ["2024-07-17", "2024-07-18"]) snapshot(ec2Id("snap", `backup ${vm.key} ${day}`), `${day}T02:00:00.000Z`, true);
    snapshot(ec2Id("snap", `backup ${vm.key} 2024-07-19`), "2024-07-19T06:00:00.000Z", false);
    // The backup the entry names: of its disk, or (restoreFromOtherDisk) of a golden image's.
    if (vm.restoreFrom)
        snapshot(
            vm.restoreFrom,
            "2024-07-18T03:00:00.000Z",
            true,
            vm.restoreFromOtherDisk ? ec2Id("vol", `golden ${vm.restoreFrom}`) : volumeId,
        );
}

/** One inventory VM: its instance, boot-looping on its original root volume, and what it needs around it. */
function seedVm(world: AwsWorld, vm: VmEntry, ambient: string): void {
    const region = vm.fields.region;
    const account = vm.fields.accountId ?? ambient;
    const zone = vm.fields.availabilityZone ?? `${region}${"abc"[pick(`zone ${vm.key}`, 3)]}`;
    const net = network(world, account, region, zone);
    if (vm.fields.subnetId)
        world.subnets![vm.fields.subnetId] ??= {
            ...world.subnets![net.subnetId],
            cidrBlock: `10.${pick(`cidr ${vm.fields.subnetId}`, 200)}.240.0/24`,
        };
    const imageId = images(world, region);
    const volumeId = vm.fields.rootVolumeId ?? ec2Id("vol", `root ${vm.key}`);
    const device = vm.fields.rootDeviceName ?? "/dev/sda1";
    const fault = sandboxFaultOf(vm);
    const linux = vm.os === "linux";
    world.volumes[volumeId] = {
        ...(vm.fields.accountId ? { account } : {}),
        state: "in-use",
        boots: false,
        region,
        availabilityZone: zone,
        size: [50, 64, 128][pick(`size ${vm.key}`, 3)],
        type: "gp3",
        iops: 3000,
        throughput: 125,
        encrypted: true,
        kmsKeyId: awsManagedEbsKey(region, account),
        snapshotId: "",
        createTime: "2024-03-04T10:15:00.000Z",
        tags: {},
        ...(vm.fields.bitlockerSecret ? { bitlocker: { secretArn: vm.fields.bitlockerSecret } } : {}),
        ...(fault ? { fault } : {}),
        // A Linux guest's disk: the stand-in repair reads it as one (and its copies, by their lineage).
        ...(linux ? { guest: "linux" } : {}),
    };
    const privateIp = `10.${pick(`cidr ${net.vpcId}`, 200)}.${"abcdef".indexOf(zone.slice(-1)) * 16 + pick(`ip ${vm.key}`, 15)}.${10 + pick(`host ${vm.key}`, 240)}`;
    world.instances[vm.fields.instanceId] = {
        state: "running",
        rootDeviceName: device,
        blockDevices: { [device]: volumeId },
        bootedFrom: volumeId,
        region,
        ...(vm.fields.accountId ? { account } : {}),
        availabilityZone: zone,
        // A Linux instance has no platform (EC2 names only Windows), panics at boot, and boots to a login prompt once repaired.
        ...(linux ? { consoleOnBoot: linuxGuest.BOOTED } : { platform: "windows" }),
        tags: { Name: vm.hostname ?? `${linux ? "lnx" : "win"}-${vm.slug}` },
        instanceStatus: "impaired",
        systemStatus: "ok",
        stopPolls: 2,
        bootPolls: 1,
        consoleOutput: linux ? linuxGuest.BOOT_LOOP : CONSOLE_BOOT_LOOP,
        // Restarts help only the VMs whose remedy is restarting alone: they pick up the reverted file.
        // (A VM with a sandbox fault never does.)
        ...(vm.strategy === "reboot" && !fault ? { recoversAtReboot: 3 } : {}),
        subnetId: net.subnetId,
        vpcId: net.vpcId,
        imageId: linux ? ec2Id("ami", `ubuntu ${region} x86_64 20240715`) : imageId,
        instanceType: "m5.xlarge",
        privateIp,
        privateDnsName: `ip-${privateIp.replace(/\./g, "-")}.${region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`}`,
        securityGroupIds: [net.groupId],
        launchTime: "2024-03-04T10:15:00.000Z",
    };
    if (vm.fields.bitlockerSecret) keySecret(world, vm);
    if (vm.strategy === "restore") backups(world, vm, volumeId, account);
}

/** The initial AWS world for the inventory's AWS VMs (entries of other clouds are left out). */
export function seedAwsWorld(vms: readonly VmEntry[]): World {
    const mine = vms.filter((vm) => vm.cloud === "aws");
    const ambient = ambientAccount(mine);
    const world: AwsWorld = {
        account: ambient,
        regions: [...new Set(["us-east-1", ...mine.map((vm) => vm.fields.region)])].sort(),
        consoleOnBoot: CONSOLE_ON_BOOT,
        instances: {},
        volumes: {},
        snapshots: {},
        subnets: {},
        images: {},
        secrets: {},
        securityGroups: {},
        iam: { roles: {}, instanceProfiles: {}, policies: {} },
        ssm: { instances: {}, commands: {}, evidence: {}, documents: {}, repairEngine: { version: ENGINE_VERSION } },
    };
    for (const vm of mine) seedVm(world, vm, ambient);
    return world;
}
