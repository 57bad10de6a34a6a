// The stand-in API front (sandbox/api/front.js) on a world of its own, in a folder of its own: for
// the tests of the watcher's requests against the stand-in clouds. The world is `world.json` and the
// stand-in's call log `calls.log` in `dir`; a test may rewrite the world between requests.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApiFront, startApiFront } from "../../sandbox/api/start";

/** Each stand-in CLI's world and call-log variables. */
const VARS = {
    aws: ["FAKE_AWS_STATE", "FAKE_AWS_LOG"],
    gcloud: ["FAKE_GCLOUD_STATE", "FAKE_GCLOUD_LOG"],
    az: ["FAKE_AZ_STATE", "FAKE_AZ_LOG"],
} as const;

/** A running front on its world. */
export interface FrontWorld {
    /** The folder: world.json, calls.log, the front's own files. */
    readonly dir: string;
    readonly front: ApiFront;
    /** The stand-in's call log so far: one argv per call. */
    calls(): string[][];
    /** The world as it is now (each cloud's world has its own shape). */
    state(): any;
    /** Ends the front and removes the folder. */
    stop(): void;
}

/** Starts a front answering from `world` (written to a new folder named from `prefix`) for `cli`. */
export function frontOnWorld(cli: keyof typeof VARS, world: unknown, prefix: string): FrontWorld {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    const worldFile = path.join(dir, "world.json");
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(worldFile, JSON.stringify(world));
    fs.writeFileSync(log, "");
    const [stateVar, logVar] = VARS[cli];
    const front = startApiFront({ ...process.env, [stateVar]: worldFile, [logVar]: log }, dir);
    return {
        dir,
        front,
        calls: () =>
            fs
                .readFileSync(log, "utf8")
                .split("\n")
                .filter((l) => l)
                .map((l) => JSON.parse(l) as string[]),
        state: () => JSON.parse(fs.readFileSync(worldFile, "utf8")),
        stop: () => {
            front.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
