// What every resource of the stand-in azure-native provider shares: the world it works on (the
// az stand-in's, under its lock), Azure Resource Manager's errors as the provider reports them,
// resource groups (which subscription holds a resource), names, and long-running operations.
import { randomBytes } from "crypto";
import { Props } from "../host";
import { AzResourceGroup, AzureWorld, armId } from "../../world/azure-model";
import { readWorld, updateWorld, worldFile } from "../../world/world-file";

/** Runs `change` on the simulated Azure under the lock the az stand-in takes; nothing is written when it throws. */
export function withWorld<T>(change: (world: AzureWorld) => T): T {
    return updateWorld(worldFile("FAKE_AZ_STATE"), (w) => change(w as unknown as AzureWorld));
}

/** Answers from the simulated Azure as it is now, changing nothing (a GET). */
export function peekWorld<T>(look: (world: AzureWorld) => T): T {
    return look(readWorld(worldFile("FAKE_AZ_STATE")) as unknown as AzureWorld);
}

const STATUS_TEXT: Record<number, string> = { 200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests" };

/** A failed Resource Manager request, as the azure-native provider reports it: the request, the status, the error code and text. */
export class ArmError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        readonly armMessage: string,
        request: string,
    ) {
        super(
            `${request}\n` +
                `--------------------------------------------------------------------------------\n` +
                `RESPONSE ${status}: ${status} ${STATUS_TEXT[status] ?? "Error"}\n` +
                `ERROR CODE: ${code}\n` +
                `--------------------------------------------------------------------------------\n` +
                JSON.stringify({ error: { code, message: armMessage } }),
        );
        this.name = "ArmError";
    }
}

/** The request line of an operation on `path` (a resource id). */
export const request = (method: "GET" | "PUT" | "PATCH" | "DELETE", path: string) => `${method} https://management.azure.com${path}`;

/** The resource group `name`: ResourceGroupNotFound when the world has none. */
export function groupOf(world: AzureWorld, name: string, method: "GET" | "PUT", path: string): AzResourceGroup {
    const group = (world.resourceGroups ?? {})[name.toLowerCase()];
    if (!group) throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`, request(method, path));
    return group;
}

/** The id of a top-level resource in group `rg` (its subscription from the world; "unknown" before the group check fails). */
export function idIn(world: AzureWorld, rg: string, type: string, name: string): string {
    const subscription = (world.resourceGroups ?? {})[rg.toLowerCase()]?.subscription ?? "00000000-0000-0000-0000-000000000000";
    return armId({ subscription, resourceGroup: rg, type, name });
}

/** ResourceNotFound as Resource Manager words it for a resource of `type` in group `rg`. */
export function notFound(type: string, name: string, rg: string, path: string): ArmError {
    return new ArmError(
        404,
        "ResourceNotFound",
        `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        request("GET", path),
    );
}

/** The provider's refusal to create what exists already (it checks before a PUT). */
export function alreadyExists(id: string): Error {
    return new Error(`cannot create already existing resource '${id}'`);
}

/** A resource's logical name: the last part of its URN. */
export const logicalName = (urn: string): string => urn.split("::").pop() ?? urn;

/** The name azure-native gives a top-level resource with none: its logical name and 8 random hex digits. */
export const autoName = (urn: string): string => `${logicalName(urn)}${randomBytes(4).toString("hex")}`;

/** A location as Resource Manager keeps it: lowercase, no spaces (`East US 2` → `eastus2`). */
export const location = (value: unknown, fallback: string): string =>
    typeof value === "string" && value ? value.toLowerCase().replace(/\s+/g, "") : fallback;

/** A time as Azure writes it (`2026-12-06T16:33:25.1234567+00:00`). */
export const azureTime = (at: Date = new Date()): string => at.toISOString().replace(/Z$/, "0000+00:00");

/** An input that must be a non-empty string, or the provider's refusal naming it. */
export function required(inputs: Props, key: string, type: string): string {
    const v = inputs[key];
    if (typeof v !== "string" || !v) throw new Error(`${type}: missing required property '${key}'`);
    return v;
}

/** A string (or number) input as text, or `fallback` when it is absent or of another kind. */
export const text = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : fallback);

/** An object input (or {} when absent). */
export const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
/** A string-valued map input (tags). */
export const tagsOf = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(obj(v)).map(([k, x]) => [k, text(x)]));

/** A value without its undefined members, as it travels as JSON. */
export const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** How long one poll of a long-running operation waits, and after how many polls one settles. */
export const LRO = { pollMs: 25, polls: 2 };

/**
 * Waits out a long-running operation the way the real provider does (it polls the operation until
 * it ends): `poll` runs under the world's lock once per poll and returns true once it is done.
 * Meanwhile the CLI sees the resource in its interim state (a snapshot Creating, a VM starting).
 * `spendPoll` spends each poll's request from the world's budget first (./budget.ts).
 */
export async function settle(poll: (world: AzureWorld) => boolean, spendPoll?: () => Promise<void> | undefined): Promise<void> {
    for (let i = 0; ; i++) {
        await new Promise((r) => setTimeout(r, LRO.pollMs));
        await spendPoll?.();
        if (withWorld(poll)) return;
        if (i > 10_000) throw new Error("internal: a long-running operation of the sandbox never ended");
    }
}
