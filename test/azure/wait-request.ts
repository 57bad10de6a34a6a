import { WaitRequest } from "../../components/watcher/types";
import { SUB } from "./run-script";

/** A step's wait as the watcher receives it: in the test subscription, due in ten minutes, with `fields` beside it. */
export const wait = (kind: string, id: string, want: string, fields: Record<string, string> = {}): WaitRequest => ({
    kind,
    id,
    want,
    fields: { subscription: SUB, ...fields },
    received: Date.now(),
    deadline: Date.now() + 600_000,
    memo: {},
});
