// A Key Vault for the Azure Disk Encryption tests: a BEK kept as a secret, as it is or wrapped by a
// real RSA key-encryption key, for the stand-in az to answer from.
import * as crypto from "crypto";
import { world } from "./run-script";

export const VAULT = "kv-payments-weu";
export const VAULT_ID =
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-payments-weu";
export const SECRET_URL = `https://${VAULT}.vault.azure.net/secrets/6a1f0c2e-aaaa-bbbb-cccc-0123456789ab/0123456789abcdef0123456789abcdef`;
export const KEK_URL = `https://${VAULT}.vault.azure.net/keys/ade-kek/fedcba9876543210fedcba9876543210`;
/** A BitLocker key file as ADE keeps it: a few hundred bytes that must never show anywhere. */
export const BEK = Buffer.concat([Buffer.from([0x7c, 0, 0, 0, 1, 0, 0, 0]), crypto.randomBytes(116)]);
const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });

/** A world whose vault holds the BEK, wrapped by the KEK (RSA-OAEP) or as it is. */
export function vaultWorld(wrapped: boolean, over: Record<string, unknown> = {}) {
    const value = wrapped
        ? crypto
              .publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, BEK)
              .toString("base64")
        : BEK.toString("base64");
    const secret = wrapped
        ? {
              value,
              contentType: "Wrapped BEK",
              tags: { DiskEncryptionKeyEncryptionAlgorithm: "RSA-OAEP", DiskEncryptionKeyFileName: "6A1F0C2E.BEK", MachineName: "APP-01" },
          }
        : { value, contentType: "BEK", tags: { DiskEncryptionKeyFileName: "6A1F0C2E.BEK", MachineName: "APP-01" } };
    return {
        ...world(),
        keyVault: {
            secrets: { [SECRET_URL.toLowerCase()]: secret },
            keys: { [KEK_URL.toLowerCase()]: { privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) } },
            ...over,
        },
    };
}

export const env = (kek?: string) => ({ SECRET_URL, KEK_URL: kek ?? "", VM_LABEL: "azure rg-app/app-01" });
