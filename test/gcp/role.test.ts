import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { cloudResourceTypes } from "../helpers/lab-run";

const role = parse(fs.readFileSync(path.join(__dirname, "../../components/gcp/iam/deployer-role.yaml"), "utf8")) as {
    includedPermissions: string[];
};
const allowed = new Set(role.includedPermissions);
const granter = parse(fs.readFileSync(path.join(__dirname, "../../components/gcp/iam/key-granter-role.yaml"), "utf8")) as {
    includedPermissions: string[];
};

/** Permissions behind each `gcloud compute` call the command scripts make. */
const CLI_PERMISSIONS: Record<string, string[]> = {
    "instances describe": ["compute.instances.get"],
    "instances list": ["compute.instances.list"],
    "instances stop": ["compute.instances.stop"],
    "instances start": ["compute.instances.start"],
    "instances detach-disk": ["compute.instances.detachDisk"],
    "instances attach-disk": ["compute.instances.attachDisk", "compute.disks.use"],
    "instances get-serial-port-output": ["compute.instances.getSerialPortOutput"],
    "instances get-guest-attributes": ["compute.instances.getGuestAttributes"],
    "disks add-labels": ["compute.disks.setLabels", "compute.disks.get"],
    "disks describe": ["compute.disks.get"],
    "instances reset": ["compute.instances.reset"],
    "snapshots list": ["compute.snapshots.list"],
    "snapshots describe": ["compute.snapshots.get"],
};

/** Permissions behind each resource type the GCP path declares. */
const RESOURCE_PERMISSIONS: Record<string, string[]> = {
    "gcp:compute/snapshot:Snapshot": [
        "compute.snapshots.create",
        "compute.snapshots.get",
        "compute.disks.createSnapshot",
        "compute.snapshots.setLabels",
    ],
    "gcp:compute/disk:Disk": [
        "compute.disks.create",
        "compute.disks.get",
        "compute.disks.delete",
        "compute.snapshots.useReadOnly",
        "compute.disks.useReadOnly",
        "compute.disks.setLabels",
    ],
    "gcp:compute/attachedDisk:AttachedDisk": [
        "compute.instances.attachDisk",
        "compute.instances.detachDisk",
        "compute.disks.use",
        "compute.instances.get",
    ],
    "gcp:compute/instance:Instance": [
        "compute.instances.create",
        "compute.instances.delete",
        "compute.instances.get",
        "compute.instances.setMetadata",
        "compute.subnetworks.use",
        "compute.images.useReadOnly",
        "iam.serviceAccounts.actAs",
    ],
    "gcp:compute/firewall:Firewall": [
        "compute.firewalls.create",
        "compute.firewalls.get",
        "compute.firewalls.delete",
        "compute.networks.updatePolicy",
    ],
    "gcp:serviceaccount/account:Account": ["iam.serviceAccounts.create", "iam.serviceAccounts.get", "iam.serviceAccounts.delete"],
    "gcp:secretmanager/secretIamMember:SecretIamMember": ["secretmanager.secrets.getIamPolicy", "secretmanager.secrets.setIamPolicy"],
    "gcp:compute/projectMetadataItem:ProjectMetadataItem": ["compute.projects.get", "compute.projects.setCommonInstanceMetadata"],
};

describe("GCP least-privilege role (components/gcp/iam/deployer-role.yaml)", () => {
    it("covers every gcloud call the command scripts can make", () => {
        const dir = path.join(__dirname, "../../components/gcp/scripts");
        const text = fs
            .readdirSync(dir)
            .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
            .join("\n");
        // The watcher's observations (api.ts: Compute Engine requests under the gcloud call's op, "instances list", …) too.
        const api = fs.readFileSync(path.join(__dirname, "../../components/gcp/api.ts"), "utf8");
        const watched = [...api.matchAll(/"(instances [a-z-]+)",\n/g)].map((m) => m[1]);
        assert.ok(watched.includes("instances list") && watched.includes("instances get-guest-attributes"), watched.join(", "));
        const used = new Set([...[...text.matchAll(/\bgc(?:_global)? ((?:[a-z][a-z-]* ){2})/g)].map((m) => m[1].trim()), ...watched]);
        assert.ok(used.size >= 7, [...used].join(", "));
        for (const call of used) {
            assert.ok(CLI_PERMISSIONS[call], `no permission list for 'gcloud compute ${call}'`);
            for (const p of CLI_PERMISSIONS[call]) assert.ok(allowed.has(p), `gcloud compute ${call} needs ${p}`);
        }
    });

    it("covers every resource type the GCP path declares", async () => {
        const types = await cloudResourceTypes(
            "vms:\n  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1\n    bitlockerSecret: projects/my-project/secrets/web-1-keys\n",
        );
        assert.ok(types.includes("gcp:secretmanager/secretIamMember:SecretIamMember"));
        const both = new Set([...allowed, ...granter.includedPermissions]);
        for (const type of types) {
            assert.ok(RESOURCE_PERMISSIONS[type], `no list for ${type}: add it here and to the policy`);
            for (const p of RESOURCE_PERMISSIONS[type]) assert.ok(both.has(p), `${type} needs ${p}`);
        }
    });

    it("is least privilege: no wildcard, no snapshot deletion, no IAM policy changes", () => {
        for (const p of allowed) assert.match(p, /^[a-z]+\.[A-Za-z]+\.[A-Za-z]+$/);
        assert.ok(!allowed.has("compute.snapshots.delete"));
        assert.ok(![...allowed].some((p) => p.endsWith("setIamPolicy")));
    });

    it("the key granter role (granted on the key secrets alone) can bind who reads a secret, never read one", () => {
        assert.deepEqual([...granter.includedPermissions].sort(), [
            "secretmanager.secrets.get",
            "secretmanager.secrets.getIamPolicy",
            "secretmanager.secrets.setIamPolicy",
        ]);
        assert.ok(!granter.includedPermissions.includes("secretmanager.versions.access"));
    });
});
