import { Problem, show } from "./inventory/problems";
import { ConfigSource, NAMESPACE } from "./settings";

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
            if (!keyPattern.test(k) || typeof v !== "string" || !valuePattern.test(v)) this.bad(key, `entry ${show(k)}: ${show(v)} is not valid; expected ${expected}`);
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
        return value.length <= 200 && !/[\n\r]/.test(value) ? value : (this.bad(key, "must be one line of at most 200 characters") ?? fallback);
    }
}
