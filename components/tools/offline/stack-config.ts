import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { InputError } from "../../core/contract/problems";
import { ConfigSource } from "../../core/contract/settings";

/** A stack's config as the offline plan sees it: values as strings, and which keys are secrets. */
export interface StackConfig {
    /** Fully qualified key → value (secrets hold a placeholder: they cannot be decrypted offline). */
    values: Record<string, string>;
    /** Keys whose values are secrets. */
    secretKeys: string[];
}

/** Placeholder the offline plan uses for a secret config value it cannot (and must not) decrypt. */
export const OFFLINE_SECRET = "offline-plan-secret-placeholder";

/** Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program. */
export function readStackConfig(projectDir: string, stack: string): StackConfig {
    const file = `Pulumi.${stack}.yaml`;
    let doc: unknown;
    try {
        doc = parse(fs.readFileSync(path.join(projectDir, file), "utf8"));
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InputError([
            {
                file,
                message:
                    code === "ENOENT"
                        ? `no such stack file (stacks are named by Pulumi.<stack>.yaml)`
                        : `cannot read it: ${(err as Error).message.split("\n")[0]}`,
            },
        ]);
    }
    const config = (doc as { config?: Record<string, unknown> } | null)?.config ?? {};
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        if (value && typeof value === "object" && "secure" in value) {
            values[key] = OFFLINE_SECRET;
            secretKeys.push(key);
        } else {
            values[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return { values, secretKeys };
}

/** Stack config read from its file, as the program reads config. */
export function configSourceOf(config: StackConfig): ConfigSource {
    return {
        get: (key) => config.values[key],
        kind: (key) => (config.values[key] === undefined ? "missing" : config.secretKeys.includes(key) ? "secret" : "plain"),
    };
}
