// What every AWS stand-in resource and lookup shares: the world file under its lock, ids the way
// AWS forms them, errors worded the way the real provider reports the cloud's, and waiters that
// poll the world the way the provider's waiters poll the API.
import { createHash } from "crypto";
import { updateWorld, worldFile } from "../../world/world-file";
import { AwsWorld } from "../../world/aws-world";
import { actingAccountOf, ambientAccountOf } from "./account";

/** The variable naming the AWS world file (the CLI stand-in reads the same). */
export const AWS_STATE = "FAKE_AWS_STATE";

/** Runs `change` on the AWS world under its lock, writing it back after; returns what `change` returned. */
export function inWorld<T>(change: (world: AwsWorld) => T): T {
    return updateWorld(worldFile(AWS_STATE), (world) => change(world as AwsWorld));
}

/**
 * The account the call in progress acts in: its provider instance's (the role it assumed, ./account.ts),
 * else the world's ambient credentials'. What it creates is recorded in this account.
 */
export const accountOf = (world: AwsWorld): string => actingAccountOf(world);

/** The account a world's record belongs to: the one it names, else the ambient credentials' (the stand-in CLI's rule). */
export const ownerOf = (world: AwsWorld, record: { account?: string }): string => record.account ?? ambientAccountOf(world);

/** Whether a record of the world belongs to the account the call in progress acts in (describe calls are account-scoped). */
export const isMine = (world: AwsWorld, record: { account?: string }): boolean => ownerOf(world, record) === accountOf(world);

/** Hex digits of a text's SHA-256: deterministic, so the same world and requests give the same ids. */
export function hexOf(text: string, digits: number): string {
    return createHash("sha256").update(text).digest("hex").slice(0, digits);
}

/**
 * A new id as EC2 forms them (`vol-0` and 16 hex digits, 17 in all), unique in the world: its
 * serial, hashed with what asked for it (a resource's URN).
 */
export function newId(world: AwsWorld, prefix: string, asker: string): string {
    world.serial = (world.serial ?? 0) + 1;
    return `${prefix}-0${hexOf(`${asker}#${world.serial}`, 16)}`;
}

/** Pulumi's auto-name: the resource's name, a hyphen and 7 random characters (here, from the world's serial). */
export function autoName(world: AwsWorld, urn: string): string {
    world.serial = (world.serial ?? 0) + 1;
    return `${urn.split("::")[3] ?? "resource"}-${hexOf(`${urn}#${world.serial}`, 7)}`;
}

/** Upper-case IAM unique ids (AROA…, AIPA…): 21 characters. */
export function uniqueId(prefix: string, seed: string): string {
    return (
        prefix +
        createHash("sha256")
            .update(seed)
            .digest("base64")
            .replace(/[^A-Za-z0-9]/g, "")
            .toUpperCase()
            .slice(0, 17)
    );
}

/**
 * The cloud's error as the provider reports it: what it was doing, the API call, the error code
 * and the cloud's message (`creating EBS Volume: operation error EC2: CreateVolume, api error
 * InvalidSnapshot.NotFound: The snapshot 'snap-…' does not exist.`).
 */
export class CloudError extends Error {
    constructor(
        readonly code: string,
        readonly cloudMessage: string,
        doing: string,
        operation: string,
    ) {
        super(`${doing}: operation error ${operation}, api error ${code}: ${cloudMessage}`);
    }
}

/** Throws the cloud's error (see {@link CloudError}). */
export function refuse(doing: string, operation: string, code: string, message: string): never {
    throw new CloudError(code, message, doing, operation);
}

/** Milliseconds between two polls of a waiter. */
const POLL_MS = 20;
/** Polls a waiter makes before it gives up (the world moves on every poll, so a few suffice). */
const MAX_POLLS = 50;

/**
 * Waits as the provider's waiters do: polls the world (each poll may move it on) until `done`
 * says so; fails naming what it waited for when it never does. `spendPoll` spends each poll's
 * Describe request from the world's budget first (./budget.ts).
 */
export async function waitUntil(
    what: string,
    done: (world: AwsWorld) => boolean,
    spendPoll?: () => Promise<void> | undefined,
): Promise<void> {
    for (let poll = 0; poll < MAX_POLLS; poll++) {
        await spendPoll?.();
        if (inWorld(done)) return;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`timeout while waiting for ${what}`);
}

/** Tags as the world keeps them (a map), from inputs that may lack them. */
export const tagsOf = (inputs: Record<string, unknown>): Record<string, string> => ({ ...((inputs.tags as Record<string, string>) ?? {}) });

/** The region a resource or lookup acts in: its own `region`, else the provider's default. */
export const regionOf = (inputs: Record<string, unknown>): string => (typeof inputs.region === "string" ? inputs.region : "us-east-1");
