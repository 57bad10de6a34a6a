import { VmEntry } from "../core/contract/vm";
import { runSecretLookup } from "../gate/secret-lookup";
import { azureScript } from "./scripts";

/** One BitLocker key of Azure Disk Encryption: the Key Vault secret holding the BEK, and the KEK wrapping it. */
export interface AdeKeyRef {
    /** The secret's URL, with its version. */
    secretUrl: string;
    /** The key-encryption key's URL, with its version, when a KEK wraps the BEK. */
    kekUrl?: string;
}

/** The ADE settings of an OS disk, as a disk resource takes them (the fixed disk boots with these). */
export interface AdeCollection {
    enabled: true;
    encryptionSettings: {
        diskEncryptionKey: { secretUrl: string; sourceVault: { id: string } };
        keyEncryptionKey?: { keyUrl: string; sourceVault: { id: string } };
    }[];
    encryptionSettingsVersion?: string;
}

/** What the lookup reads: the VM's OS disk settings (dual-pass ADE keeps them there) and the disk's. */
interface AdeSources {
    /** `storageProfile.osDisk.encryptionSettings` of the VM. */
    vmOsDisk?: { enabled?: boolean; diskEncryptionKey?: unknown };
    /** `encryptionSettingsCollection` of the OS disk. */
    disk?: {
        enabled: boolean;
        encryptionSettingsVersion?: string;
        encryptionSettings?: {
            diskEncryptionKey?: { secretUrl: string; sourceVault: { id?: string } };
            keyEncryptionKey?: { keyUrl: string; sourceVault: { id?: string } };
        }[];
    };
}

/** Most BEKs one OS disk's settings may name (one per volume; an OS disk has one or two). */
const MAX_KEYS = 4;

/**
 * The ADE settings of a VM's OS disk: undefined when ADE is off. Throws, before anything is
 * declared, for what this version cannot repair: dual-pass ADE (version 1.0, with an Azure AD
 * application: its settings live on the VM and its extension manages the keys), and settings that
 * name no key or too many.
 */
export function adeOf(sources: AdeSources): AdeCollection | undefined {
    const dualPass =
        "it uses the older dual-pass Azure Disk Encryption (ADE 1.0, with an Azure AD application), which this version cannot unlock offline; recover it by hand (docs/runbook.md: serial console and safe mode)";
    if (sources.vmOsDisk?.enabled || sources.vmOsDisk?.diskEncryptionKey) throw new Error(dualPass);
    const c = sources.disk;
    if (!c?.enabled) return undefined;
    if (c.encryptionSettingsVersion === "1.0") throw new Error(dualPass);
    const settings = c.encryptionSettings ?? [];
    if (settings.length === 0 || settings.length > MAX_KEYS)
        throw new Error(`its OS disk has Azure Disk Encryption on with ${settings.length} keys; this version reads 1 to ${MAX_KEYS}`);
    return {
        enabled: true,
        encryptionSettings: settings.map((s, i) => {
            const key = s.diskEncryptionKey;
            if (!key?.secretUrl || !key.sourceVault?.id)
                throw new Error(`its OS disk's Azure Disk Encryption settings (entry ${i + 1}) name no Key Vault secret`);
            const kek = s.keyEncryptionKey;
            if (kek && (!kek.keyUrl || !kek.sourceVault?.id))
                throw new Error(
                    `its OS disk's Azure Disk Encryption settings (entry ${i + 1}) name a key-encryption key without its URL or vault`,
                );
            return {
                diskEncryptionKey: { secretUrl: key.secretUrl, sourceVault: { id: key.sourceVault.id } },
                ...(kek ? { keyEncryptionKey: { keyUrl: kek.keyUrl, sourceVault: { id: kek.sourceVault.id! } } } : {}),
            };
        }),
        ...(c.encryptionSettingsVersion ? { encryptionSettingsVersion: c.encryptionSettingsVersion } : {}),
    };
}

/** The keys an ADE collection names. */
export function adeKeys(collection: AdeCollection): AdeKeyRef[] {
    return collection.encryptionSettings.map((s) => ({
        secretUrl: s.diskEncryptionKey.secretUrl,
        ...(s.keyEncryptionKey ? { kekUrl: s.keyEncryptionKey.keyUrl } : {}),
    }));
}

/**
 * Fetches the BEK of every key (Key Vault, as the deployer: `ade-key.sh`), base64, space-separated
 * as the repair takes them (BITLOCKER_BEK). Rejects naming the vault and the permission the
 * deployer lacks.
 */
export async function fetchAdeBeks(vm: VmEntry, keys: readonly AdeKeyRef[]): Promise<string> {
    const beks: string[] = [];
    for (const key of keys) {
        beks.push(
            await runSecretLookup("azure-ade-key", azureScript("ade-key"), {
                SECRET_URL: key.secretUrl,
                KEK_URL: key.kekUrl ?? "",
                VM_LABEL: vm.label,
            }),
        );
    }
    return beks.join(" ");
}
