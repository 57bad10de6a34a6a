/**
 * The gate's scope of an AWS request (the role it acts as, or `default`, and the region), and the
 * requests of the API through the gate in that scope: shared by the watcher's observations
 * (watch.ts) and the steps' calls it makes (actions.ts).
 */
import { CloudRunner, Fields } from "../gate/types";
import { Through } from "./api";

/** `ROLE/REGION` (`default/REGION` without a role): one budget per account and region. */
export function scopeOf(f: Fields): string {
    return `${f.role || "default"}/${f.region}`;
}

/** Requests of the API through the gate, in the scope of `f`, under the CLI operation's name. */
export function through(runner: CloudRunner, f: Fields): Through {
    return (op, send) => runner.api({ cloud: "aws", scope: scopeOf(f), op }, send);
}
