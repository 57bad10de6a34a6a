import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SECRET_ARN } from "../../components/aws/identity";
import { awsScript } from "../../components/aws/scripts";
import { InputError } from "../../components/core/contract/problems";
import { PlannedResource } from "../../components/tools/offline/capture";
import { assertRestoreLookup, planInventory } from "../helpers/lab-run";
import { commandLineText } from "../helpers/commands";
import { rescueTools } from "../../rescue/payload";
import { TOOLS_DELIVERY_SECONDS } from "../../components/aws/rescue";
import { toolsDeliveryKey, toolsPartDocuments } from "../../components/aws/tools";
import { LINUX_BOOT_MARKER } from "../../components/core/contract/vm";
import { RestoreListings } from "../../components/core/restore-listings";

function inventory(vms: { id: string; region?: string; az?: string; account?: string; extra?: string }[]): string {
    return (
        "vms:\n" +
        vms
            .map((v) => {
                const region = v.region ?? "us-east-1";
                return (
                    `  - cloud: aws\n    region: ${region}\n    instanceId: ${v.id}\n` +
                    (v.az ? `    availabilityZone: ${v.az}\n` : "") +
                    (v.account ? `    accountId: "${v.account}"\n` : "") +
                    (v.extra ?? "")
                );
            })
            .join("")
    );
}

const id = (i: number) => `i-${i.toString(16).padStart(17, "0")}`;
const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/dev/web-1-Ab12Cd";

const plan = (inv: string, config: Record<string, string> = {}, secretKeys: string[] = []) => planInventory(inv, config, secretKeys);

/** The AWS settings a lookup is given in these tests. */
const LOOKUP_CONFIG = {
    rescueAmis: {},
    rescueInstanceType: "m6i.large",
    rescueSubnetIds: {},
    assumeRoleArns: {},
    bootMarker: "x",
    linuxBootMarker: "login:",
    tags: {},
};

describe("AWS path under Pulumi mocks", () => {
    it("declares the chain per instance with the right types, parent and dependencies", async () => {
        const { run, byName } = await plan(inventory([{ id: id(1), az: "us-east-1a" }]));
        const slug = run.result.plan.vms[0].slug;
        const steps: [string, string][] = [
            ["backup", "aws:ebs/snapshot:Snapshot"],
            ["scratch", "aws:ebs/volume:Volume"],
            ["attach", "aws:ec2/volumeAttachment:VolumeAttachment"],
            ["repair", "command:local:Command"],
            ["fixed", "aws:ebs/volumeCopy:VolumeCopy"],
            ["swap", "command:local:Command"],
        ];
        const zone = byName.get(`${slug}-backup`)!.parent!;
        assert.equal(byName.get(zone)!.type, "bootloop-rescue:core:Zone");
        for (const [i, [step, type]] of steps.entries()) {
            const r = byName.get(`${slug}-${step}`)!;
            assert.equal(r.type, type, step);
            assert.equal(r.parent, zone);
            if (i > 0) assert.ok(r.dependsOn.includes(`${slug}-${steps[i - 1][0]}`), `${step} depends on ${steps[i - 1][0]}`);
        }
        const scratch = byName.get(`${slug}-scratch`)!;
        assert.equal(scratch.inputs.snapshotId, `${slug}-backup-id`, "scratch volume made from the backup");
        assert.equal(scratch.inputs.availabilityZone, "us-east-1a");
        assert.equal(scratch.inputs.encrypted, true);
        assert.equal(scratch.inputs.type, "gp3");
        assert.equal(
            byName.get(`${slug}-fixed`)!.inputs.sourceVolumeId,
            `${slug}-scratch-id`,
            "fixed volume copied from the repaired scratch volume",
        );
        const root = run.result.plan.vms[0].originalDiskId;
        assert.equal(byName.get(`${slug}-backup`)!.inputs.volumeId, root);
        assert.equal((byName.get(`${slug}-swap`)!.inputs.environment as any).ORIGINAL_VOLUME_ID, root);
    });

    it("keeps backups and fixed volumes on delete; nothing else", async () => {
        const { rs } = await plan(inventory([{ id: id(1) }, { id: id(2) }]));
        assert.deepEqual(
            rs
                .filter((r) => r.retainOnDelete)
                .map((r) => r.type)
                .sort(),
            ["aws:ebs/snapshot:Snapshot", "aws:ebs/snapshot:Snapshot", "aws:ebs/volumeCopy:VolumeCopy", "aws:ebs/volumeCopy:VolumeCopy"],
        );
    });

    it("rescue instances: no public IP, IMDSv2 required, an SSM-only role, a security group with no inbound rule", async () => {
        const { ofType } = await plan(inventory([{ id: id(1) }]));
        const [instance] = ofType("aws:ec2/instance:Instance");
        assert.equal(instance.inputs.associatePublicIpAddress, false);
        assert.equal((instance.inputs.metadataOptions as any).httpTokens, "required");
        assert.match(String(instance.inputs.userData), /^#cloud-config[\s\S]*ntfs-3g[\s\S]*dislocker/);
        // Pinned for the life of the pool: a newer AMI (looked up on every run) or new user data
        // never stops or replaces an instance with repairs in flight.
        assert.deepEqual(instance.ignoreChanges, ["ami", "userData"]);
        const [group] = ofType("aws:ec2/securityGroup:SecurityGroup");
        assert.deepEqual(group.inputs.ingress, []);
        assert.deepEqual((group.inputs.egress as any[]).map((e) => e.toPort).sort(), [443, 80]);
        const [attachment] = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
        assert.equal(ofType("aws:iam/rolePolicy:RolePolicy").length, 0, "no other permission");
    });

    it("pools rescue instances per AZ, with distinct device names under the Nitro limit", async () => {
        const vms = [...Array(25).keys()].map((i) => ({ id: id(i + 1), az: "us-east-1a" })).concat([{ id: id(100), az: "us-east-1b" }]);
        const { ofType, run } = await plan(inventory(vms));
        assert.equal(
            ofType("aws:ec2/instance:Instance").length,
            3,
            "25 disks at 20 per rescue instance → 2 in us-east-1a, 1 in us-east-1b",
        );
        const byRescue = new Map<string, string[]>();
        for (const a of ofType("aws:ec2/volumeAttachment:VolumeAttachment")) {
            const list = byRescue.get(String(a.inputs.instanceId)) ?? [];
            list.push(String(a.inputs.deviceName));
            byRescue.set(String(a.inputs.instanceId), list);
        }
        for (const [rescue, devices] of byRescue) {
            assert.equal(new Set(devices).size, devices.length, `device names unique on ${rescue}`);
            assert.ok(devices.every((d) => /^\/dev\/sd[b-z]$/.test(d) && d !== "/dev/sda"));
        }
        assert.deepEqual(
            run.result.plan.rescuePools.map((p) => p.placement.zone),
            ["us-east-1a", "us-east-1b"],
        );
    });

    it("honours disksPerRescue up to its maximum, and rejects more", async () => {
        const { ofType } = await plan(inventory([1, 2, 3].map((i) => ({ id: id(i), az: "us-east-1a" }))), {
            "bootloop-rescue:disksPerRescue": '{"aws": 1}',
        });
        assert.equal(ofType("aws:ec2/instance:Instance").length, 3);
        await assert.rejects(
            plan(inventory([{ id: id(1) }]), { "bootloop-rescue:disksPerRescue": '{"aws": 25}' }),
            /disksPerRescue: 25 for aws must be a whole number from 1 to 24/,
        );
    });

    it("gates the second wave on the canary's verified boot", async () => {
        const { run, byName } = await plan(inventory([{ id: id(1) }, { id: id(2) }, { id: id(3) }]));
        const [canary, ...rest] = run.result.plan.waves
            .flatMap((w) => w.vms)
            .map((k) => run.result.plan.vms.find((v) => v.key === k)!.slug);
        const gate = byName.get("wave-1-gate")!;
        assert.deepEqual(gate.dependsOn, [`${canary}-swap`]);
        for (const slug of rest) assert.deepEqual(byName.get(`${slug}-backup`)!.dependsOn, ["wave-1-gate"]);
    });

    it("teardown: no rescue instance, scratch volume or attachment; retained resources and commands keep their names", async () => {
        const inv = inventory([{ id: id(1) }, { id: id(2) }]);
        const live = await plan(inv);
        const down = await plan(inv, { "bootloop-rescue:teardown": "true" });
        for (const t of ["aws:ec2/instance:Instance", "aws:ebs/volume:Volume", "aws:ec2/volumeAttachment:VolumeAttachment"])
            assert.equal(down.ofType(t).length, 0, t);
        const kept = (rs: PlannedResource[]) =>
            rs
                .filter((r) => /-(backup|fixed|repair|swap)$/.test(r.name))
                .map((r) => `${r.type} ${r.name} ${r.parent}`)
                .sort();
        assert.deepEqual(kept(down.rs), kept(live.rs));
        const repair = down.rs.find((r) => r.type === "command:local:Command" && r.name.endsWith("-repair"))!;
        assert.equal((repair.inputs.environment as any).BOOTLOOP_TEARDOWN, "1");
        // Shared pieces the commands still use stay too (the document, providers).
        assert.equal(down.ofType("aws:ssm/document:Document").length, 1);
    });

    it("inventory values never reach a shell as code: every command's script is the same text, values come as environment", async () => {
        const { ofType, run } = await plan(
            inventory([
                { id: id(1), az: "us-east-1a" },
                { id: id(2), region: "eu-west-1" },
            ]),
        );
        const volumes = run.result.plan.vms.map((v) => v.originalDiskId);
        const commands = ofType("command:local:Command").filter((c) => c.inputs.create);
        const repairs = new Set(commands.filter((c) => c.name.endsWith("-repair")).map((c) => c.inputs.create));
        const swaps = new Set(commands.filter((c) => c.name.endsWith("-swap")).map((c) => c.inputs.create));
        assert.equal(repairs.size, 1);
        assert.equal(swaps.size, 1);
        for (const line of [...repairs, ...swaps]) {
            const text = commandLineText(String(line));
            for (const value of [id(1), id(2), "us-east-1", "eu-west-1", ...volumes])
                assert.ok(!text.includes(value), `script text contains ${value}`);
        }
        // No interpreter in state: the provider's /bin/sh runs the line, which execs bash (a wave's
        // gate, core's check, execs node).
        for (const c of commands)
            assert.ok(
                !("interpreter" in c.inputs) &&
                    String(c.inputs.create).startsWith(/-gate$/.test(c.name) ? "exec node " : "exec /bin/bash "),
                c.name,
            );
    });

    it("the repair document takes only a volume id, a key secret's ARN and an evidence part number, each matching a strict pattern, and runs the tools of its version", async () => {
        const { ofType } = await plan(inventory([{ id: id(1) }]));
        const [doc] = ofType("aws:ssm/document:Document").filter((d) => d.name.endsWith("-repair-doc"));
        const content = JSON.parse(String(doc.inputs.content));
        assert.deepEqual(Object.keys(content.parameters), ["volumeId", "keySecret", "evidencePart"]);
        const keySecret = new RegExp(content.parameters.keySecret.allowedPattern);
        assert.equal(content.parameters.keySecret.default, "");
        for (const ok of ["", SECRET]) assert.ok(keySecret.test(ok), ok);
        for (const bad of [
            `${SECRET}' ; reboot '`,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:partial",
            "111111-222222-333333-444444-555555-666666-777777-888888",
        ])
            assert.ok(!keySecret.test(bad), bad);
        // repair.sh checks the same pattern before it sends anything.
        // (bash spells the name's run `+` with a length limit: see expect in base.sh.)
        assert.ok(
            fs
                .readFileSync(path.join(__dirname, "../../components/aws/scripts/repair.sh"), "utf8")
                .includes(SECRET_ARN.source.slice(1, -1).replace("{1,512}", "+")),
            "repair.sh and the inventory agree on what an ARN is",
        );
        assert.equal(content.parameters.volumeId.allowedPattern, "^vol-([0-9a-f]{8}|[0-9a-f]{17})$");
        assert.equal(content.parameters.evidencePart.allowedPattern, "^([1-9][0-9]{0,3})?$");
        assert.equal(content.parameters.evidencePart.default, "");
        const script = content.mainSteps[0].inputs.runCommand.join("\n");
        assert.ok(!/base64 -d/.test(script), "no tools inline: they come in parts (test/aws/tools.test.ts)");
        const version = rescueTools().version;
        assert.match(
            script,
            new RegExp(
                `^export BOOTLOOP_RESCUE_LIB="\\$tools" TOOLS_VERSION=${version} DISK_HANDLE_KIND=aws-volume-id DISK_HANDLE='\\{\\{ volumeId \\}\\}' KEY_SECRET_KIND=aws-secretsmanager KEY_SECRET='\\{\\{ keySecret \\}\\}' EVIDENCE_ENCODING=gzip-base64 EVIDENCE_MAX_CHARS=20000 EVIDENCE_PART='\\{\\{ evidencePart \\}\\}' RULE_SET=crowdstrike-291$`,
                "m",
            ),
        );
        assert.match(script, new RegExp(`^tools="\\$lib/tools/${version}"$`, "m"));
        // The stack's ruleSet is the document's (one per account and region), not a parameter.
        const txr = await plan(inventory([{ id: id(1) }]), { "bootloop-rescue:ruleSet": "crowdstrike-291-txr" });
        assert.match(
            JSON.parse(
                String(txr.ofType("aws:ssm/document:Document").find((d) => d.name.endsWith("-repair-doc"))!.inputs.content),
            ).mainSteps[0].inputs.runCommand.join("\n"),
            / RULE_SET=crowdstrike-291-txr$/m,
        );
    });

    it("a Linux VM is repaired by the Linux repair document (the stack's linuxRuleSet) and its boot is the Linux console marker; a Windows-only stack has no Linux document", async () => {
        const { ofType, byName, run } = await plan(inventory([{ id: id(1) }, { id: id(2), extra: "    os: linux\n" }]));
        const docs = ofType("aws:ssm/document:Document").filter((d) => /-repair-(linux-)?doc$/.test(d.name));
        assert.equal(docs.length, 2);
        const linuxDoc = docs.find((d) => d.name.endsWith("-repair-linux-doc"))!;
        const windowsDoc = docs.find((d) => d.name.endsWith("-repair-doc"))!;
        const script = (d: PlannedResource) => JSON.parse(String(d.inputs.content)).mainSteps[0].inputs.runCommand.join("\n");
        assert.match(script(linuxDoc), / RULE_SET=falcon-linux-2024$/m);
        assert.match(script(windowsDoc), / RULE_SET=crowdstrike-291$/m);
        assert.match(JSON.parse(String(linuxDoc.inputs.content)).description, /one attached Linux disk/);
        const [windows, linux] = run.result.plan.vms;
        assert.equal(linux.os, "linux");
        const env = (name: string) => byName.get(name)!.inputs.environment as Record<string, string>;
        // Each repair sends its own document (DOCUMENT_NAME, its name: an input, so a dependency).
        const sends = (vm: string) => byName.get(`${vm}-repair`)!.dependsOn.filter((d) => /-repair-(linux-)?doc$/.test(d));
        assert.deepEqual(sends(linux.slug), [linuxDoc.name]);
        assert.deepEqual(sends(windows.slug), [windowsDoc.name]);
        assert.equal(env(`${linux.slug}-swap`).BOOT_MARKER, LINUX_BOOT_MARKER);
        assert.equal(env(`${windows.slug}-swap`).BOOT_MARKER, "Windows is Ready to use");
        // The stack's awsLinuxBootMarker wins for Linux VMs only.
        const custom = await plan(inventory([{ id: id(2), extra: "    os: linux\n    strategy: reboot\n" }]), {
            "bootloop-rescue:awsLinuxBootMarker": "myhost login:",
        });
        const reboot = custom.ofType("command:local:Command").find((c) => c.name.endsWith("-reboot"))!;
        assert.equal((reboot.inputs.environment as Record<string, string>).BOOT_MARKER, "myhost login:");
        const windowsOnly = await plan(inventory([{ id: id(1) }]));
        assert.equal(windowsOnly.ofType("aws:ssm/document:Document").filter((d) => d.name.endsWith("-repair-linux-doc")).length, 0);
    });

    it("the tools reach each rescue instance once: a part document per account and region, an association per part and instance, which its repairs wait for", async () => {
        const vms = [1, 2, 3].map((i) => ({ id: id(i), az: "us-east-1a" })).concat([{ id: id(4), az: "us-east-1b" }]);
        const { ofType, rs, byName, run } = await plan(inventory(vms), { "bootloop-rescue:disksPerRescue": '{"aws": 2}' });
        const parts = toolsPartDocuments();
        const docs = ofType("aws:ssm/document:Document").filter((d) => /-tools-/.test(d.name));
        assert.deepEqual(
            docs.map((d) => d.inputs.content),
            parts.map((p) => p.content),
            "one set of part documents for the region",
        );
        for (const d of docs) assert.ok(d.name.includes(`-tools-${toolsDeliveryKey(parts)}-`), `${d.name}: named from its content`);
        const instances = ofType("aws:ec2/instance:Instance");
        assert.equal(instances.length, 3);
        const associations = ofType("aws:ssm/association:Association");
        assert.equal(associations.length, instances.length * parts.length);
        for (const instance of instances) {
            const mine = associations.filter((a) => (a.inputs.targets as any[])[0].values[0] === `${instance.name}-id`);
            // (Under mocks a document's auto-name is unknown: its association is told apart by its own name.)
            assert.deepEqual(
                mine.map((a) => a.name),
                parts.map((p) => `${instance.name}-tools-${toolsDeliveryKey(parts)}-${p.index}of${p.count}`),
                `${instance.name}: each part once`,
            );
            for (const a of mine) {
                assert.deepEqual((a.inputs.targets as any[])[0].key, "InstanceIds");
                assert.equal(a.inputs.waitForSuccessTimeoutSeconds, TOOLS_DELIVERY_SECONDS);
                assert.equal(a.inputs.scheduleExpression, undefined, "applied once, not on a schedule");
            }
        }
        for (const vm of run.result.plan.vms) {
            const repair = byName.get(`${vm.slug}-repair`)!;
            const instance = (repair.inputs.environment as any).RESCUE_INSTANCE_ID as string;
            const waited = associations.filter((a) => (a.inputs.targets as any[])[0].values[0] === instance).map((a) => a.name);
            assert.equal(waited.length, parts.length);
            for (const a of waited) assert.ok(repair.dependsOn.includes(a), `${vm.slug}-repair waits for ${a}`);
        }
        assert.ok(rs.length > 0);
    });

    it("one provider per account; another account's role is assumed by the provider and the commands", async () => {
        const role = "arn:aws:iam::222222222222:role/bootloop-rescue";
        const { ofType, rs } = await plan(inventory([{ id: id(1) }, { id: id(2), account: "222222222222" }]), {
            "bootloop-rescue:awsAssumeRoleArns": JSON.stringify({ "222222222222": role }),
        });
        const providers = ofType("pulumi:providers:aws");
        assert.equal(providers.length, 2);
        const other = providers.find((p) => p.name === "aws-222222222222")!;
        // Provider settings reach the engine JSON-encoded.
        const decode = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);
        assert.deepEqual(decode(other.inputs.allowedAccountIds), ["222222222222"]);
        assert.equal(decode(other.inputs.assumeRoles)[0].roleArn, role);
        const swap = rs.find((r) => r.name.endsWith("-swap") && (r.inputs.environment as any).INSTANCE_ID === id(2))!;
        assert.equal((swap.inputs.environment as any).ASSUME_ROLE_ARN, role);
    });

    it("rejects bad AWS settings and BitLocker entries before anything is declared", async () => {
        const err = await plan(inventory([{ id: id(1) }]), {
            "bootloop-rescue:awsRescueAmis": '{"us-east-1": "ami-nope"}',
            "bootloop-rescue:awsRescueInstanceType": "big; rm",
        }).then(
            () => assert.fail("expected rejection"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof InputError);
        assert.deepEqual(err.problems.map((p) => p.field).sort(), [
            "bootloop-rescue:awsRescueAmis",
            "bootloop-rescue:awsRescueInstanceType",
        ]);
        await assert.rejects(
            plan(inventory([{ id: id(1), extra: "    bitlockerKey: k\n" }]), { "bootloop-rescue:k": "x" }, ["bootloop-rescue:k"]),
            /bitlockerKey: on aws, BitLocker keys never pass through the deployer or Systems Manager: put them in a Secrets Manager secret and name its ARN in bitlockerSecret/,
        );
    });

    it("BitLocker keys in Secrets Manager: the repair names the secret, its rescue instance gets a role of its own, under the boundary, that reads exactly its disks' secrets", async () => {
        const other = SECRET.replace("Ab12Cd", "Zz98Yx");
        const vms = [
            { id: id(1), az: "us-east-1a", extra: `    bitlockerSecret: ${SECRET}\n` },
            { id: id(2), az: "us-east-1a", extra: `    bitlockerSecret: ${other}\n` },
            { id: id(3), az: "us-east-1a", extra: `    bitlockerSecret: ${SECRET}\n    strategy: reboot\n` },
            { id: id(4), az: "us-east-1b" },
        ];
        const { run, ofType, byName } = await plan(inventory(vms));
        const vm = (i: number) => run.result.plan.vms.find((v) => v.fields.instanceId === id(i))!;
        assert.equal((byName.get(`${vm(1).slug}-repair`)!.inputs.environment as any).KEY_SECRET, SECRET);
        assert.equal((byName.get(`${vm(4).slug}-repair`)!.inputs.environment as any).KEY_SECRET, "");
        const [policy] = ofType("aws:iam/rolePolicy:RolePolicy");
        assert.equal(ofType("aws:iam/rolePolicy:RolePolicy").length, 1, "one inline policy: the us-east-1a instance's");
        const doc = JSON.parse(String(policy.inputs.policy));
        assert.deepEqual(doc.Statement[0], {
            Sid: "ReadTheDisksKeys",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [SECRET, other].sort(),
        });
        assert.deepEqual(doc.Statement[1].Condition, {
            StringEquals: { "kms:ViaService": ["secretsmanager.us-east-1.amazonaws.com"] },
            "ForAnyValue:StringEquals": { "kms:EncryptionContext:SecretARN": [SECRET, other].sort() },
        });
        const member = vm(1).seat!.member;
        const role = byName.get(`${member}-role`)!;
        assert.equal(role.inputs.permissionsBoundary, "arn:aws:iam::123456789012:policy/bootloop-rescue-rescue-boundary");
        assert.equal(policy.name, `${member}-secrets`);
        const instances = ofType("aws:ec2/instance:Instance");
        const served = instances.find((i) => i.name === member)!;
        // (The profile's name is unknown in a plan: its use shows as a dependency.)
        assert.ok(served.dependsOn.includes(`${member}-profile`), "the instance has its own profile");
        assert.ok(served.dependsOn.includes(`${member}-secrets`), "the instance starts once its role can read the secrets");
        // The other zone's instance keeps the account's shared SSM-only role.
        const plain = instances.find((i) => i.name === vm(4).seat!.member)!;
        const shared = plain.dependsOn.filter((d) => /^rescue-aws-[0-9a-f]{8}-profile$/.test(d));
        assert.equal(shared.length, 1, plain.dependsOn.join());
        assert.ok(!plain.dependsOn.some((d) => d.endsWith("-secrets")));
        assert.equal(byName.get(shared[0].replace(/-profile$/, "-role"))!.inputs.permissionsBoundary, undefined);
        assert.deepEqual(run.result.keySources, { [vm(1).key]: ["secret store"], [vm(2).key]: ["secret store"] });
        // At teardown the rescue instances go, and with them the roles that could read the secrets.
        const down = await plan(inventory(vms), { "bootloop-rescue:teardown": "true" });
        assert.equal(down.ofType("aws:iam/rolePolicy:RolePolicy").length, 0);
        assert.equal(down.ofType("aws:iam/role:Role").length, 0);
    });

    it("a key secret of another account, or a partial ARN, stops that VM before anything is declared", async () => {
        const elsewhere = SECRET.replace("123456789012", "999999999999");
        const err = await plan(
            inventory([
                { id: id(1), extra: `    bitlockerSecret: ${elsewhere}\n` },
                { id: id(2), extra: "    bitlockerSecret: arn:aws:secretsmanager:us-east-1:123456789012:secret:web\n" },
            ]),
        ).then(
            () => assert.fail("expected rejection"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof InputError);
        assert.match(
            err.message,
            /bitlockerSecret.*the full ARN of a Secrets Manager secret in the VM's account, with its 6-character suffix/,
        );
        // The VM states its account: offline, an unstated account is a placeholder, and a real
        // secret's account is never refused because of one.
        const other = await plan(inventory([{ id: id(1), account: "123456789012", extra: `    bitlockerSecret: ${elsewhere}\n` }])).then(
            () => assert.fail("expected rejection"),
            (e: unknown) => e,
        );
        assert.match(
            String(other),
            /lookup failed: its bitlockerSecret is in account 999999999999, the instance in 123456789012: the rescue instance's role may read only secrets of its own account/,
        );
    });
});

describe("AWS lookups and what the inventory pins", () => {
    it("a pinned subnet places the zone's rescue instance; a pinned root volume is the one backed up", async () => {
        const vol = "vol-0abcabcabcabcabca";
        const { ofType } = await plan(
            inventory([{ id: id(1), az: "us-east-1a", extra: `    rootVolumeId: ${vol}\n    subnetId: subnet-0123456789abcdef0\n` }]),
        );
        assert.equal(ofType("aws:ec2/instance:Instance")[0].inputs.subnetId, "subnet-0123456789abcdef0");
        assert.equal(ofType("aws:ebs/snapshot:Snapshot")[0].inputs.volumeId, vol);
    });

    /** The lookup of instance 1, with getInstance answering `instance` (its root volume and zone given). */
    async function lookUp(fields: Record<string, string>, instance: Record<string, unknown> = {}) {
        const pulumi = await import("@pulumi/pulumi");
        const aws = await import("@pulumi/aws");
        const { lookUpInstance } = await import("../../components/aws/lookups");
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) =>
                c.token.endsWith("getInstance")
                    ? {
                          availabilityZone: "us-east-1a",
                          subnetId: "subnet-1",
                          rootBlockDevices: [{ volumeId: "vol-0111111111111111a", deviceName: "/dev/sda1" }],
                          ...instance,
                      }
                    : { vpcId: "vpc-1" },
        });
        const entry = {
            index: 0,
            cloud: "aws",
            key: "k",
            label: "aws x",
            slug: "s",
            strategy: "repair" as const,
            labels: {},
            fields: { region: "us-east-1", instanceId: id(1), ...fields },
        };
        const config = LOOKUP_CONFIG;
        return lookUpInstance(entry, new aws.Provider("p", { region: "us-east-1" }), Promise.resolve("1"), config, new RestoreListings());
    }

    it("refuses a pinned root volume or device the instance does not have", async () => {
        await assert.rejects(
            lookUp({ rootVolumeId: "vol-0222222222222222b" }),
            /rootVolumeId is vol-0111111111111111a, not vol-0222222222222222b/,
        );
        await assert.rejects(lookUp({ rootDeviceName: "/dev/xvda" }), /rootDeviceName is \/dev\/sda1, not \/dev\/xvda/);
    });

    it("refuses a member of an Auto Scaling group: the group would replace it mid-swap", async () => {
        await assert.rejects(
            lookUp({}, { tags: { Name: "web", "aws:autoscaling:groupName": "web-asg" } }),
            /member of Auto Scaling group web-asg, which would replace it while its OS disk is swapped; detach it from the group/,
        );
    });
});

describe("AWS lookups after a swap, and of restore points", () => {
    const entry = {
        index: 0,
        cloud: "aws",
        key: "k",
        label: "aws x",
        slug: "s",
        labels: {},
        fields: { region: "us-east-1", instanceId: id(1) },
    };
    const config = LOOKUP_CONFIG;
    async function lookUp(
        rootTags: Record<string, string> | "no root",
        strategy: "repair" | "restore" = "repair",
        snapshots: unknown[] = [],
        restoreFrom?: string,
        tagged: { id: string; tags: Record<string, string> }[] = [],
    ) {
        const pulumi = await import("@pulumi/pulumi");
        const aws = await import("@pulumi/aws");
        const { lookUpInstance } = await import("../../components/aws/lookups");
        const runs: Record<string, string>[] = [];
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getInstance"))
                    return {
                        availabilityZone: "us-east-1a",
                        subnetId: "subnet-1",
                        rootBlockDevices:
                            rootTags === "no root" ? [] : [{ volumeId: "vol-0222222222222222b", deviceName: "/dev/sda1", tags: rootTags }],
                    };
                if (c.token === "aws:ebs/getEbsVolumes:getEbsVolumes") {
                    const want = Object.fromEntries(
                        (c.inputs.filters as { name: string; values: string[] }[]).map((f) => [f.name.replace(/^tag:/, ""), f.values[0]]),
                    );
                    return { ids: tagged.filter((v) => Object.entries(want).every(([k, x]) => v.tags[k] === x)).map((v) => v.id) };
                }
                if (c.token === "aws:ebs/getVolume:getVolume") {
                    const v = tagged.find((t) => t.id === (c.inputs.filters as { values: string[] }[])[0].values[0])!;
                    return {
                        id: v.id,
                        volumeType: "gp3",
                        iops: 3000,
                        throughput: 125,
                        encrypted: true,
                        kmsKeyId: "",
                        availabilityZone: "us-east-1a",
                        tags: v.tags,
                    };
                }
                if (c.token === "command:local:run") {
                    assert.equal(
                        c.inputs.command,
                        awsScript("restore-points"),
                        "the lookup runs the fixed script text; values come as environment",
                    );
                    runs.push(c.inputs.environment);
                    return { stdout: JSON.stringify(snapshots), stderr: "" };
                }
                return { vpcId: "vpc-1" };
            },
        });
        const resolved = await lookUpInstance(
            { ...entry, strategy, restoreFrom },
            new aws.Provider("p", { region: "us-east-1" }),
            Promise.resolve("1"),
            config,
            new RestoreListings(),
            strategy === "restore" ? { before: "2024-07-19T04:09:00Z" } : undefined,
        );
        return { resolved, runs };
    }

    it("an instance running on our fixed volume: the original is the one the fixed volume names", async () => {
        const { resolved } = await lookUp({ "bootloop-rescue:role": "fixed", "bootloop-rescue:original": "vol-0111111111111111a" });
        assert.equal(resolved.originalDiskId, "vol-0111111111111111a");
        assert.equal(resolved.facts.currentRootVolumeId, "vol-0222222222222222b");
    });

    it("an instance left without a root volume by an interrupted swap: the original tagged for it lets the swap or rollback finish", async () => {
        const original = {
            id: "vol-0111111111111111a",
            tags: {
                "bootloop-rescue:role": "original-root",
                "bootloop-rescue:instance": entry.fields.instanceId,
                "bootloop-rescue:device": "/dev/xvda",
            },
        };
        const other = {
            id: "vol-0333333333333333c",
            tags: { "bootloop-rescue:role": "original-root", "bootloop-rescue:instance": "i-0fffffffffffffff0" },
        };
        const { resolved } = await lookUp("no root", "repair", [], undefined, [original, other]);
        assert.equal(resolved.originalDiskId, "vol-0111111111111111a");
        assert.equal(resolved.facts.currentRootVolumeId, "none");
        assert.equal(resolved.facts.rootDeviceName, "/dev/xvda", "the device the swap noted");
        assert.equal(resolved.facts.volumeType, "gp3");
        // Tagged by an earlier version (no device noted): Windows on EC2 boots from /dev/sda1.
        const { resolved: older } = await lookUp("no root", "repair", [], undefined, [
            { id: original.id, tags: { ...original.tags, "bootloop-rescue:device": undefined as unknown as string } },
        ]);
        assert.equal(older.facts.rootDeviceName, "/dev/sda1");
    });

    it("an instance without a root volume and no original of ours is refused, naming why; two candidates are refused too", async () => {
        await assert.rejects(
            lookUp("no root"),
            /has no EBS root volume \(instance-store roots cannot be repaired offline\), and no original root volume detached by bootloop-rescue is tagged for it/,
        );
        const tags = { "bootloop-rescue:role": "original-root", "bootloop-rescue:instance": entry.fields.instanceId };
        await assert.rejects(
            lookUp("no root", "repair", [], undefined, [
                { id: "vol-0111111111111111a", tags },
                { id: "vol-0444444444444444d", tags },
            ]),
            /several volumes are tagged as its original root \(vol-0111111111111111a, vol-0444444444444444d\)/,
        );
    });

    it("a volume of someone else's is the original; one of ours that names no original is refused", async () => {
        assert.equal((await lookUp({ "bootloop-rescue:role": "something" })).resolved.originalDiskId, "vol-0222222222222222b");
        await assert.rejects(lookUp({ "bootloop-rescue:role": "restored" }), /does not name the original root volume/);
    });

    it("strategy restore: lists the snapshots of the original and takes the newest before the cutoff", async () => {
        const original = "vol-0111111111111111a";
        const snapshots = [
            { id: "snap-0000000000000000a", createdAt: "2024-07-18T02:00:00.000Z", state: "ready", source: original },
            { id: "snap-0000000000000000b", createdAt: "2024-07-19T03:00:00.000Z", state: "ready", source: original },
            { id: "snap-0000000000000000c", createdAt: "2024-07-19T05:00:00.000Z", state: "ready", source: original },
            { id: "snap-0000000000000000d", createdAt: "2024-07-19T03:30:00.000Z", state: "ready", source: "vol-0999999999999999f" },
        ];
        const found = await lookUp({ "bootloop-rescue:role": "restored", "bootloop-rescue:original": original }, "restore", snapshots);
        assertRestoreLookup(found, {
            restorePoint: { id: "snap-0000000000000000b", createdAt: "2024-07-19T03:00:00Z" },
            why: "of the original, even after a swap: another volume's newer snapshot is not its",
            listings: [
                { AWS_REGION: "us-east-1", ACCOUNT_ID: "1", RESTORE_BEFORE: "2024-07-19T04:09:00Z", BOOTLOOP_LOOKUP: "aws-restore-points" },
            ],
            listingsWhy: "the account's listing in the region: no volume named",
        });
        await assert.rejects(
            lookUp({}, "restore", [snapshots[2]]),
            /no backup of its OS disk vol-0222222222222222b was taken before restoreBefore/,
        );
        await assert.rejects(
            lookUp({}, "restore", snapshots, "snap-0000000000000000c"),
            /restoreFrom snap-0000000000000000c was taken at 2024-07-19T05:00:00Z, not before restoreBefore/,
        );
    });

    it("an instance already on its restored volume keeps the restore point the volume names, without searching again", async () => {
        const tags = {
            "bootloop-rescue:role": "restored",
            "bootloop-rescue:original": "vol-0111111111111111a",
            "bootloop-rescue:restored-from": "snap-0000000000000000a",
            "bootloop-rescue:restore-point-taken": "2024-07-18t02-00-00z",
        };
        const { resolved, runs } = await lookUp(tags, "restore", []);
        assert.deepEqual(resolved.restorePoint, { id: "snap-0000000000000000a", createdAt: "2024-07-18T02:00:00Z" });
        assert.equal(runs.length, 0, "the backup may be gone by now (retention): it is not looked for");
    });
});
