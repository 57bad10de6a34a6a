// Reading the engine's plain inputs: each value as the type the schema gives it, or undefined.
import { Props } from "../host";

/** A string input, or undefined. */
export const str = (props: Props, key: string): string | undefined => (typeof props[key] === "string" ? props[key] : undefined);

/** A number input, or undefined. */
export const num = (props: Props, key: string): number | undefined => (typeof props[key] === "number" ? props[key] : undefined);

/** A boolean input, or undefined. */
export const bool = (props: Props, key: string): boolean | undefined => (typeof props[key] === "boolean" ? props[key] : undefined);

/** A string-list input ([] when absent). */
export const strings = (props: Props, key: string): string[] => (Array.isArray(props[key]) ? (props[key] as unknown[]).map(String) : []);

/** A required string input: the engine checked the schema, so a missing one is the program's bug. */
export function required(props: Props, key: string, resource: string): string {
    const value = str(props, key);
    if (value === undefined) throw new Error(`${resource}: the required input ${key} is missing`);
    return value;
}

/** An EC2 filter as lookups take it: `{ name, values }`. */
export interface Filter {
    name: string;
    values: string[];
}

/** The `filters` argument of a lookup ([] when absent). */
export function filtersOf(args: Props): Filter[] {
    const list = Array.isArray(args.filters) ? (args.filters as { name?: unknown; values?: unknown }[]) : [];
    return list.map((f) => ({ name: String(f.name), values: Array.isArray(f.values) ? f.values.map(String) : [] }));
}

/** Whether `value` matches one of an EC2 filter's values (`*` any run of characters, `?` one). */
export function matchesFilter(values: readonly string[], value: string | undefined): boolean {
    if (value === undefined) return false;
    return values.some((pattern) => {
        const re = pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".");
        return new RegExp(`^${re}$`).test(value);
    });
}
