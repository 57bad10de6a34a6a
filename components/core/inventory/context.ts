import { BuiltCloud } from "../contract/cloud-path";
import { CloudIdentity } from "../contract/identity";
import { ConfigSource, NAMESPACE } from "../contract/settings";
import { ValidationContext } from "./entry-fields";

/** What validating an inventory needs: the clouds, what their built paths support, the stack config. */
export function inventoryContext(
    identities: readonly CloudIdentity[],
    built: readonly BuiltCloud[],
    config: ConfigSource,
): ValidationContext {
    return {
        configNamespace: NAMESPACE,
        identities,
        built: new Map(built.map((p) => [p.identity.cloud, { strategies: p.strategies, bitlocker: p.bitlocker }])),
        configKind: (key) => config.kind(key),
        configValue: (key) => (config.kind(key) === "plain" ? config.get(key) : undefined),
    };
}
