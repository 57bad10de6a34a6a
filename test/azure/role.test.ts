import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { cloudResourceTypes } from "../helpers/lab-run";

const role = JSON.parse(fs.readFileSync(path.join(__dirname, "../../components/azure/iam/deployer-role.json"), "utf8")) as {
    Actions: string[];
    NotActions: string[];
    DataActions: string[];
    AssignableScopes: string[];
};
/** Key Vault's data plane is authorized by data actions; everything else by actions. */
const allowed = (action: string) =>
    /^Microsoft\.KeyVault\/vaults\/(secrets|keys)\//.test(action)
        ? role.DataActions.includes(action)
        : role.Actions.includes(action) && !role.NotActions.includes(action);

/** The Azure RBAC actions behind each CLI call the command scripts make. */
const CLI_ACTIONS: Record<string, string[]> = {
    "vm show": ["Microsoft.Compute/virtualMachines/read"],
    "vm get-instance-view": ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/instanceView/read"],
    "vm deallocate": ["Microsoft.Compute/virtualMachines/deallocate/action"],
    "vm update": ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/disks/read", "Microsoft.Compute/disks/write"],
    "vm start": ["Microsoft.Compute/virtualMachines/start/action"],
    "vm disk attach": ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/disks/read", "Microsoft.Compute/disks/write"],
    "vm disk detach": ["Microsoft.Compute/virtualMachines/write"],
    "disk update": ["Microsoft.Compute/disks/write"],
    "disk show": ["Microsoft.Compute/disks/read"],
    "vm restart": ["Microsoft.Compute/virtualMachines/restart/action"],
    "snapshot list": ["Microsoft.Compute/snapshots/read"],
    "snapshot show": ["Microsoft.Compute/snapshots/read"],
    "vm run-command show": ["Microsoft.Compute/virtualMachines/runCommands/read"],
    // `az rest` against Key Vault (ade-key.sh): data actions.
    "keyvault secret get": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
    "keyvault key unwrap": ["Microsoft.KeyVault/vaults/keys/unwrap/action"],
};

/** What each resource type the Azure path declares needs (create, read, update, delete). */
const RESOURCE_ACTIONS: Record<string, string[]> = {
    "azure-native:compute:Snapshot": [
        "Microsoft.Compute/snapshots/write",
        "Microsoft.Compute/snapshots/read",
        "Microsoft.Compute/disks/read",
    ],
    // A fixed disk with Azure Disk Encryption settings names their vault.
    "azure-native:compute:Disk": [
        "Microsoft.Compute/disks/write",
        "Microsoft.Compute/disks/read",
        "Microsoft.Compute/disks/delete",
        "Microsoft.Compute/snapshots/read",
        "Microsoft.KeyVault/vaults/read",
    ],
    "azure-native:compute:VirtualMachine": [
        "Microsoft.Compute/virtualMachines/write",
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Compute/virtualMachines/delete",
        "Microsoft.Network/networkInterfaces/join/action",
    ],
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": [
        "Microsoft.Compute/virtualMachines/runCommands/write",
        "Microsoft.Compute/virtualMachines/runCommands/read",
        "Microsoft.Compute/virtualMachines/runCommands/delete",
    ],
    "azure-native:network:NetworkInterface": [
        "Microsoft.Network/networkInterfaces/write",
        "Microsoft.Network/networkInterfaces/read",
        "Microsoft.Network/networkInterfaces/delete",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/networkSecurityGroups/join/action",
    ],
    "azure-native:network:NetworkSecurityGroup": [
        "Microsoft.Network/networkSecurityGroups/write",
        "Microsoft.Network/networkSecurityGroups/read",
        "Microsoft.Network/networkSecurityGroups/delete",
    ],
};

describe("Azure least-privilege role (components/azure/iam/deployer-role.json)", () => {
    it("covers every Azure CLI call the command scripts can make", () => {
        const scripts = fs
            .readdirSync(path.join(__dirname, "../../components/azure/scripts"))
            .map((f) => fs.readFileSync(path.join(__dirname, "../../components/azure/scripts", f), "utf8"))
            .join("\n");
        // The watcher's batched observations (watch.ts) too, requests of Resource Manager rated as the CLI
        // calls that make them: `readVms(waits, runner, "vm get-instance-view", …)`.
        const watch = fs.readFileSync(path.join(__dirname, "../../components/azure/watch.ts"), "utf8");
        const watched = [...watch.matchAll(/readVms\(waits, runner, "([a-z -]+)"/g)].map((m) => m[1]);
        assert.deepEqual(watched.sort(), ["vm get-instance-view", "vm show"]);
        // `az_json vm start …`, and calls made through the gate directly: `cloud_call "vm run-command show" az …`.
        const direct = [...scripts.matchAll(/cloud_call "([a-z -]+)" az /g)].map((m) => m[1]);
        assert.deepEqual(direct.sort(), ["keyvault key unwrap", "keyvault secret get", "vm run-command show"]);
        const used = new Set([...[...scripts.matchAll(/az_json ((?:[a-z][a-z-]* )+)/g)].map((m) => m[1].trim()), ...watched, ...direct]);
        assert.ok(used.size >= 7, [...used].join(", "));
        for (const call of used) {
            assert.ok(CLI_ACTIONS[call], `no action list for 'az ${call}': add it here and to the role`);
            for (const a of CLI_ACTIONS[call]) assert.ok(allowed(a), `az ${call} needs ${a}`);
        }
    });

    it("covers every resource type the Azure path declares, and its lookups", async () => {
        for (const type of await cloudResourceTypes(
            "vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg\n    vmName: vm1\n",
        )) {
            assert.ok(RESOURCE_ACTIONS[type], `no list for ${type}: add it here and to the policy`);
            for (const a of RESOURCE_ACTIONS[type]) assert.ok(allowed(a), `${type} needs ${a}`);
        }
        for (const a of [
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/disks/read",
            "Microsoft.Network/networkInterfaces/read",
        ])
            assert.ok(allowed(a), a);
    });

    it("is least privilege: no wildcard, and backups (snapshots) can never be deleted", () => {
        for (const a of role.Actions) assert.ok(!a.includes("*"), `wildcard ${a}`);
        // Key Vault: only reading a secret and unwrapping a key (never listing, setting or deleting them).
        assert.deepEqual(role.DataActions.sort(), [
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        ]);
        assert.ok(!allowed("Microsoft.Compute/snapshots/delete"));
        assert.ok(role.NotActions.includes("Microsoft.Compute/snapshots/delete"));
    });
});
