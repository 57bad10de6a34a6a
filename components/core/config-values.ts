import { Problem, show } from "./contract/problems";
import { ConfigSource, NAMESPACE } from "./contract/settings";

/**
 * Typed readers over stack config for the clouds' own keys. Each records a problem naming the
 * stack file and key instead of throwing, so every bad value is reported together.
 */
export class ConfigReader {
    readonly problems: Problem[] = [];

    constructor(
        private readonly config: ConfigSource,
        private readonly stackFile: string,
    ) {}

    /** Records a problem with `key` found by a check outside this reader. */
    reject(key: string, message: string): void {
        this.bad(key, message);
    }

    private bad(key: string, message: string): undefined {
        this.problems.push({ file: this.stackFile, field: `${NAMESPACE}:${key}`, message });
        return undefined;
    }

    /** A text value matching `pattern`, or the fallback when unset. */
    text(key: string, pattern: RegExp, expected: string, fallback: string): string;
    text(key: string, pattern: RegExp, expected: string): string | undefined;
    text(key: string, pattern: RegExp, expected: string, fallback?: string): string | undefined {
        const value = this.config.get(`${NAMESPACE}:${key}`);
        if (value === undefined) return fallback;
        return pattern.test(value) ? value : this.bad(key, `${show(value)} is not valid; expected ${expected}`);
    }

    /** A map whose keys and values match their patterns (written in the stack file as a YAML map). */
    map(key: string, keyPattern: RegExp, valuePattern: RegExp, expected: string): Record<string, string> {
        const raw = this.config.get(`${NAMESPACE}:${key}`);
        if (raw === undefined) return {};
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            this.bad(key, `expected a map (${expected})`);
            return {};
        }
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(parsed)) {
            if (!keyPattern.test(k) || typeof v !== "string" || !valuePattern.test(v))
                this.bad(key, `entry ${show(k)}: ${show(v)} is not valid; expected ${expected}`);
            else out[k] = v;
        }
        return out;
    }

    /** A regular expression given as text (bounded in length; must compile). */
    regex(key: string, fallback: string): string {
        const value = this.config.get(`${NAMESPACE}:${key}`);
        if (value === undefined) return fallback;
        try {
            new RegExp(value);
        } catch {
            return this.bad(key, `${show(value)} is not a valid regular expression`) ?? fallback;
        }
        return value.length <= 200 && !/[\n\r]/.test(value)
            ? value
            : (this.bad(key, "must be one line of at most 200 characters") ?? fallback);
    }
}

/** What one cloud accepts as a tag (AWS, Azure) or label (GCP) on the resources the stack creates. */
export interface TagRules {
    /** The cloud's word: "tag" or "label", for messages. */
    noun: string;
    /** What a key must match. */
    key: RegExp;
    /** What a value must match. */
    value: RegExp;
    /** What a valid key and value look like, for messages. */
    expected: string;
    /** Key prefixes the cloud reserves (compared case-insensitively). */
    reservedPrefixes: readonly string[];
    /** Keys the stack sets itself on every resource (besides `bootloop-rescue…`), so a user value would be lost. */
    ownKeys: readonly string[];
}

/**
 * User tags one resource may carry. The clouds allow 50 (AWS, Azure) or 64 (GCP) per resource:
 * the stack's own take up to 8 and an entry's inventory labels up to 12
 * (`MAX_VM_LABELS`).
 */
export const MAX_USER_TAGS = 30;

/** Every tag or label the stack sets itself starts with this: lookups and the policy pack read them. */
const OWN_PREFIX = "bootloop-rescue";

/**
 * The user's tags for one cloud: `overrideKey` if set (e.g. `gcpLabels`, for a cloud whose rules
 * the common form breaks), else the common `tags` map. Every entry is checked against the cloud's
 * rules; none may touch the keys the stack reads back (its own prefix, the cloud's reserved ones).
 */
export function readTags(
    r: ConfigReader,
    config: ConfigSource,
    commonKey: string,
    overrideKey: string,
    rules: TagRules,
): Record<string, string> {
    const key = config.get(`${NAMESPACE}:${overrideKey}`) !== undefined ? overrideKey : commonKey;
    const tags = r.map(key, /^[^]{1,1000}$/, /^[^]{0,1000}$/, `${rules.noun} key: value`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(tags)) {
        const lower = k.toLowerCase();
        const clash = lower.startsWith(OWN_PREFIX)
            ? `keys starting with ${OWN_PREFIX} are the stack's own`
            : rules.reservedPrefixes.find((p) => lower.startsWith(p))
              ? `the cloud reserves keys starting with ${rules.reservedPrefixes.find((p) => lower.startsWith(p))}`
              : rules.ownKeys.includes(k)
                ? `the stack sets ${k} itself`
                : undefined;
        const alternative = key === commonKey ? `; set ${overrideKey} to give this cloud its own ${rules.noun}s` : "";
        if (clash) r.reject(key, `entry ${show(k)}: ${clash}`);
        else if (!rules.key.test(k) || !rules.value.test(v))
            r.reject(key, `entry ${show(k)}: ${show(v)} is not a valid ${rules.noun}; expected ${rules.expected}${alternative}`);
        else out[k] = v;
    }
    if (Object.keys(out).length > MAX_USER_TAGS)
        r.reject(
            key,
            `${Object.keys(out).length} ${rules.noun}s; at most ${MAX_USER_TAGS} (the cloud's limit per resource, less the stack's own and an entry's labels)`,
        );
    return out;
}
