// Azure Disk Encryption: the settings the lookup reads (adeOf) and the key lookup script
// (ade-key.sh) against the stand-in az's Key Vault, with a real RSA key-encryption key.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/azure-native/provider";
import { adeKeys, adeOf } from "../../components/azure/ade";
import { lookUpVm } from "../../components/azure/lookups";
import { planInventory } from "../helpers/lab-run";
import { withStandInEnv } from "../helpers/stand-in";
import { STAND_IN, run } from "./run-script";
import { BEK, KEK_URL, SECRET_URL, VAULT, VAULT_ID, env, vaultWorld } from "./ade-world";
import { RestoreListings } from "../../components/core/restore-listings";

/** Nothing of the key (plain, base64 or base64url) in the calls' arguments or on stderr. */
function assertNoKey(r: { calls: string[][]; stderr: string }) {
    const forms = [BEK.toString("base64"), BEK.toString("base64url"), BEK.toString("hex")];
    for (const f of forms) {
        assert.ok(!r.stderr.includes(f), "the key is not on stderr");
        for (const c of r.calls) assert.ok(!c.join(" ").includes(f), `the key is in no argument: ${c.join(" ")}`);
    }
}

describe("Azure Disk Encryption: the settings of an OS disk", () => {
    const single = (kek: boolean) => ({
        enabled: true,
        encryptionSettingsVersion: "1.1",
        encryptionSettings: [
            {
                diskEncryptionKey: { secretUrl: SECRET_URL, sourceVault: { id: VAULT_ID } },
                ...(kek ? { keyEncryptionKey: { keyUrl: KEK_URL, sourceVault: { id: VAULT_ID } } } : {}),
            },
        ],
    });

    it("single-pass ADE gives the keys to fetch and the settings the fixed disk keeps", () => {
        const ade = adeOf({ disk: single(true) })!;
        assert.deepEqual(ade, single(true));
        assert.deepEqual(adeKeys(ade), [{ secretUrl: SECRET_URL, kekUrl: KEK_URL }]);
        assert.deepEqual(adeKeys(adeOf({ disk: single(false) })!), [{ secretUrl: SECRET_URL }]);
    });

    it("no ADE: no settings, nothing to fetch", () => {
        assert.equal(adeOf({}), undefined);
        assert.equal(adeOf({ disk: { enabled: false } }), undefined);
    });

    it("dual-pass ADE (settings on the VM, or version 1.0) and settings without a secret are refused with the reason", () => {
        assert.throws(() => adeOf({ vmOsDisk: { enabled: true }, disk: single(false) }), /dual-pass Azure Disk Encryption \(ADE 1\.0/);
        assert.throws(() => adeOf({ disk: { ...single(false), encryptionSettingsVersion: "1.0" } }), /dual-pass/);
        assert.throws(() => adeOf({ disk: { enabled: true, encryptionSettings: [] } }), /with 0 keys/);
        assert.throws(() => adeOf({ disk: { enabled: true, encryptionSettings: [{}] } }), /entry 1\) name no Key Vault secret/);
    });
});

describe("Azure Disk Encryption: the key lookup (ade-key.sh, stand-in az and Key Vault)", () => {
    it("reads an unwrapped BEK from its secret: one call, the key only on stdout", () => {
        const r = run("ade-key", env(), vaultWorld(false));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), BEK.toString("base64"));
        assert.deepEqual(
            r.calls.map((c) => `${c[0]} ${c[2]}`),
            ["rest get"],
        );
        assert.ok(
            r.calls[0].includes(`${SECRET_URL}?api-version=7.4`) && r.calls[0].includes("https://vault.azure.net"),
            r.calls[0].join(" "),
        );
        assertNoKey(r);
    });

    it("unwraps a BEK wrapped by a key-encryption key through Key Vault (RSA-OAEP); the request body is gone afterwards", () => {
        const r = run("ade-key", env(KEK_URL), vaultWorld(true));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), BEK.toString("base64"));
        assert.deepEqual(
            r.calls.map((c) => `${c[0]} ${c[2]}`),
            ["rest get", "rest post"],
        );
        const post = r.calls[1];
        assert.ok(post.includes(`${KEK_URL}/unwrapkey?api-version=7.4`), post.join(" "));
        const body = post[post.indexOf("--body") + 1];
        assert.ok(body.startsWith("@") && !fs.existsSync(body.slice(1)), "the body file was removed");
        assertNoKey(r);
    });

    it("a vault that denies the deployer stops the lookup naming the vault and the permission it needs", () => {
        const denied = run("ade-key", env(KEK_URL), vaultWorld(true, { denied: [VAULT] }));
        assert.equal(denied.code, 1);
        assert.match(denied.stderr, new RegExp(`key vault ${VAULT} did not let the deployer read the BEK secret`));
        assert.match(denied.stderr, /Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action .*access policy permission secrets: get/);
        assert.equal(denied.calls.length, 1, "a permanent error is not retried");
        assert.equal(denied.stdout, "");

        // The secret is readable but the KEK's vault denies the unwrap.
        const w = vaultWorld(true);
        const otherKek = KEK_URL.replace(VAULT, "kv-central-keys");
        w.keyVault.denied = ["kv-central-keys"];
        const unwrapDenied = run("ade-key", env(otherKek), w);
        assert.equal(unwrapDenied.code, 1);
        assert.match(
            unwrapDenied.stderr,
            /key vault kv-central-keys did not let the deployer unwrap the BEK .*Microsoft\.KeyVault\/vaults\/keys\/unwrap\/action .*keys: unwrapKey/,
        );
        assertNoKey(unwrapDenied);
    });

    it("refuses a wrapped BEK without a key-encryption key, a value that is no key file, and URLs that are not Key Vault's", () => {
        const noKek = run("ade-key", env(), vaultWorld(true));
        assert.equal(noKek.code, 1);
        assert.match(noKek.stderr, /is wrapped, but the disk's encryption settings name no key-encryption key/);

        const w = vaultWorld(false);
        w.keyVault.secrets[SECRET_URL.toLowerCase()].value = Buffer.from("short").toString("base64");
        const tiny = run("ade-key", env(), w);
        assert.equal(tiny.code, 1);
        assert.match(tiny.stderr, /is not a BitLocker key file/);

        for (const bad of [
            "https://evil.example.com/secrets/x/0123456789abcdef0123456789abcdef",
            `${SECRET_URL}; rm -rf /`,
            SECRET_URL.replace(/\/[0-9a-f]{32}$/, ""),
        ]) {
            const r = run("ade-key", { ...env(), SECRET_URL: bad }, vaultWorld(false));
            assert.equal(r.code, 1);
            assert.match(r.stderr, /SECRET_URL has an unexpected value; refusing to run/);
            assert.equal(r.calls.length, 0);
        }
        const badKek = run(
            "ade-key",
            env("https://kv.vault.azure.net/secrets/not-a-key/0123456789abcdef0123456789abcdef"),
            vaultWorld(true),
        );
        assert.match(badKek.stderr, /KEK_URL has an unexpected value/);
        assert.equal(badKek.calls.length, 0);
    });
});

/** Runs `body` with the stand-in az answering from `w` for the program's own child processes. */
const withStandIn = <T>(w: unknown, body: () => Promise<T>) =>
    withStandInEnv({ world: w, standInDir: STAND_IN, stateVar: "FAKE_AZ_STATE", logVar: "FAKE_AZ_LOG" }, body);

describe("Azure Disk Encryption in the Azure path", () => {
    const SUB = "11111111-2222-3333-4444-555555555555";
    const inventory = (extra: string) =>
        `vms:\n  - cloud: azure\n    subscriptionId: ${SUB}\n    resourceGroup: rg-app\n    vmName: app-01\n    diskEncryption: ade\n${extra}  - cloud: azure\n    subscriptionId: ${SUB}\n    resourceGroup: rg-app\n    vmName: app-02\n`;

    it("the scratch copy has no ADE settings (attachable), the fixed disk the original's, and the repair gets the BEK as a secret", async () => {
        const { run, byName, rs } = await planInventory(inventory(""));
        const vm = (name: string) => run.result.plan.vms.find((v) => v.fields.vmName === name)!;
        const [ade, plain] = [vm("app-01"), vm("app-02")];
        const inputs = (vm: { slug: string }, step: string) => byName.get(`${vm.slug}-${step}`)!.inputs as any;
        assert.deepEqual(inputs(ade, "scratch").encryptionSettingsCollection, { enabled: false });
        const fixed = inputs(ade, "fixed").encryptionSettingsCollection;
        assert.equal(fixed.enabled, true);
        assert.equal(fixed.encryptionSettingsVersion, "1.1");
        assert.match(fixed.encryptionSettings[0].diskEncryptionKey.secretUrl, /^https:\/\/kv-[0-9a-f]{8}\.vault\.azure\.net\/secrets\//);
        assert.match(fixed.encryptionSettings[0].keyEncryptionKey.keyUrl, /\/keys\/ade-kek\/[0-9a-f]{32}$/);
        assert.equal(inputs(ade, "backup").encryptionSettingsCollection, undefined, "the backup keeps what the original has");
        assert.deepEqual(inputs(ade, "repair").protectedParameters, [{ name: "BITLOCKER_BEK", value: "[secret]" }]);
        // A VM without ADE: nothing of it.
        for (const step of ["backup", "scratch", "fixed"]) assert.equal(inputs(plain, step).encryptionSettingsCollection, undefined, step);
        assert.equal(inputs(plain, "repair").protectedParameters, undefined);
        assert.ok(
            !JSON.stringify(rs).includes(Buffer.from("offline plan placeholder").toString("base64").slice(0, 16)),
            "the placeholder key is in no input",
        );
        assert.deepEqual(run.result.keySources, { [ade.key]: ["cloud"] });
    });

    it("an ADE VM whose entry also names a recovery password gets both", async () => {
        const { run, byName } = await planInventory(
            inventory("    bitlockerKey: app-01-key\n"),
            { "bootloop-rescue:app-01-key": "111111-222222" },
            ["bootloop-rescue:app-01-key"],
        );
        const repair = byName.get(`${run.result.plan.vms.find((v) => v.fields.vmName === "app-01")!.slug}-repair`)!.inputs as any;
        assert.deepEqual(repair.protectedParameters, [
            { name: "BITLOCKER_KEY", value: "[secret]" },
            { name: "BITLOCKER_BEK", value: "[secret]" },
        ]);
    });

    const entry = {
        index: 0,
        cloud: "azure",
        fields: { subscriptionId: SUB, resourceGroup: "rg", vmName: "vm1" },
        key: "k",
        label: "azure rg/vm1",
        slug: "vm1-x",
        strategy: "repair" as const,
        labels: {},
    };
    const diskId = (n: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/${n}`;
    const settings = {
        enabled: true,
        encryptionSettingsVersion: "1.1",
        encryptionSettings: [
            {
                diskEncryptionKey: { secretUrl: SECRET_URL, sourceVault: { id: VAULT_ID } },
                keyEncryptionKey: { keyUrl: KEK_URL, sourceVault: { id: VAULT_ID } },
            },
        ],
    };
    async function lookUp(
        o: {
            vmOsDisk?: unknown;
            collection?: unknown;
            tags?: Record<string, string>;
            current?: string;
            fields?: Record<string, string>;
        } = {},
    ) {
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getVirtualMachine"))
                    return {
                        location: "eastus2",
                        storageProfile: {
                            osDisk: {
                                osType: "Windows",
                                managedDisk: { id: diskId(o.current ?? "vm1_OsDisk") },
                                encryptionSettings: o.vmOsDisk,
                            },
                        },
                        networkProfile: {
                            networkInterfaces: [
                                { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic` },
                            ],
                        },
                    };
                if (c.token.endsWith("getDisk"))
                    return { sku: { name: "Premium_LRS" }, tags: o.tags ?? {}, encryptionSettingsCollection: o.collection };
                return {
                    ipConfigurations: [
                        { subnet: { id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s" } },
                    ],
                };
            },
        });
        return lookUpVm(
            { ...entry, fields: { ...entry.fields, ...o.fields } },
            new Provider("p", {}),
            { rescueImage: { publisher: "", offer: "", sku: "", version: "" }, rescueSubnetIds: {}, tags: {} },
            new RestoreListings(),
        );
    }

    it("the lookup refuses dual-pass ADE and an entry whose diskEncryption the disk contradicts", async () => {
        await assert.rejects(
            lookUp({ vmOsDisk: { enabled: true, diskEncryptionKey: { secretUrl: SECRET_URL } } }),
            /dual-pass Azure Disk Encryption/,
        );
        await assert.rejects(
            lookUp({ fields: { diskEncryption: "ade" } }),
            /does not have Azure Disk Encryption on, not ade as the inventory says/,
        );
        await assert.rejects(
            lookUp({ collection: settings, fields: { diskEncryption: "none" } }),
            /has Azure Disk Encryption on, not none as the inventory says/,
        );
        const none = await lookUp({ fields: { diskEncryption: "none" } });
        assert.equal(none.fetchBeks, undefined);
        assert.equal(none.facts.adeSettings, "");
    });

    it("fetches the BEK through the real lookup script while the VM runs on its original disk, and not once a disk of ours is in", async () => {
        const onOriginal = await lookUp({ collection: settings });
        assert.deepEqual(JSON.parse(onOriginal.facts.adeSettings), settings);
        assert.ok(onOriginal.fetchBeks);
        assert.equal(await withStandIn(vaultWorld(true), () => onOriginal.fetchBeks!()), BEK.toString("base64"));
        await assert.rejects(
            withStandIn(vaultWorld(true, { denied: [VAULT] }), () => onOriginal.fetchBeks!()),
            (e: Error) =>
                /key vault kv-payments-weu did not let the deployer read the BEK secret/.test(e.message) &&
                /getSecret\/action/.test(e.message) &&
                !e.message.includes(BEK.toString("base64")),
        );
        const swapped = await lookUp({
            collection: settings,
            current: "vm1-fixed",
            tags: { "bootloop-rescue-role": "fixed", "bootloop-rescue-original": diskId("vm1_OsDisk") },
        });
        assert.equal(swapped.fetchBeks, undefined);
    });
});
