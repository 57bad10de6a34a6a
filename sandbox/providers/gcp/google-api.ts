// What the GCP stand-in provider says and makes the way Google's provider does: its errors (a
// googleapi error wrapped in what the provider was doing), the names it gives (`name` and a random
// hex suffix, as Pulumi autonames), Compute Engine's numeric ids and timestamps, and reading
// the plain inputs the engine sends.
import { randomBytes } from "crypto";
import { Props } from "../host";

/** A Google API error as the provider reports it: `googleapi: Error CODE: MESSAGE, REASON`. */
export function googleApiError(code: number, message: string, reason: string): string {
    return `googleapi: Error ${code}: ${message}, ${reason}`;
}

/** Compute Engine's 404 for a resource path. */
export function notFound(path: string): string {
    return googleApiError(404, `The resource '${path}' was not found`, "notFound");
}

/** Compute Engine's 409 for a resource path that exists already. */
export function alreadyExists(path: string): string {
    return googleApiError(409, `The resource '${path}' already exists`, "alreadyExists");
}

/** Compute Engine's refusal to attach a disk another instance uses. */
export function inUse(disk: string, instance: string): string {
    return googleApiError(400, `The disk resource '${disk}' is already being used by '${instance}'`, "resourceInUseByAnotherResource");
}

/** An error that says what the provider was doing (`Error creating Disk: googleapi: …`). */
export class ProviderError extends Error {
    constructor(doing: string, cause: string) {
        super(`${doing}: ${cause}`);
        this.name = "ProviderError";
    }
}

/** Runs a change that may fail with a Google API error, naming what the provider was doing. */
export function attempt<T>(doing: string, change: () => T): T {
    try {
        return change();
    } catch (err) {
        throw new ProviderError(doing, (err as Error).message);
    }
}

/** The name Pulumi gives a resource whose inputs name none: its resource name and 7 random hex digits. */
export function autoName(urn: string): string {
    const name = urn.split("::").pop() ?? "resource";
    return `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

/** A Compute Engine numeric id (19 digits). */
export function numericId(digits = 19): string {
    let id = String(1 + (randomBytes(1)[0] % 9));
    while (id.length < digits) id += String(randomBytes(1)[0] % 10);
    return id;
}

/** An IAM policy etag (base64 of 8 bytes, as `BwYd…`). */
export function etag(): string {
    return randomBytes(8).toString("base64");
}

/** A timestamp as Compute Engine writes it (RFC 3339 in Pacific time: `2024-07-19T02:13:45.123-07:00`). */
export function computeTimestamp(at = new Date()): string {
    return `${new Date(at.getTime() - 7 * 3600_000).toISOString().replace(/Z$/, "")}-07:00`;
}

/** A string input, or undefined when it is not one. */
export function text(props: Props, key: string): string | undefined {
    const v = props[key];
    return typeof v === "string" && v !== "" ? v : undefined;
}

/** A required string input; the provider's own error when it is missing. */
export function required(props: Props, key: string): string {
    const v = text(props, key);
    if (v === undefined) throw new Error(`${key}: required field is not set`);
    return v;
}

/** A map of strings (labels, metadata), empty when absent. */
export function stringMap(props: Props, key: string): Record<string, string> {
    const v = props[key];
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}

/** A list of objects (network interfaces, guest OS features), empty when absent. */
export function objects(props: Props, key: string): Props[] {
    const v = props[key];
    return Array.isArray(v) ? v.filter((x): x is Props => !!x && typeof x === "object") : [];
}

/** A nested object input, empty when absent. */
export function object(props: Props, key: string): Props {
    const v = props[key];
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Props) : {};
}

/** Outputs the provider adds: never one the inputs set, so a later diff compares inputs with inputs. */
export function added(inputs: Props, outs: Props): Props {
    return Object.fromEntries(Object.entries(outs).filter(([k, v]) => !(k in inputs) && v !== undefined));
}

/** Waits `ms` milliseconds (between the states of an operation that takes time). */
export function pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long each state of an operation that takes time lasts here (a cloud's minutes, shortened). */
export const STATE_MS = 150;
