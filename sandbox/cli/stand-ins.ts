import * as fs from "fs";
import * as path from "path";

/** Each CLI's stand-in: its folder here (sandbox/cli/<folder>/<cli>) and the variables naming its world and call log. */
export const STAND_INS = {
    aws: ["aws", "FAKE_AWS_STATE", "FAKE_AWS_LOG"],
    az: ["azure", "FAKE_AZ_STATE", "FAKE_AZ_LOG"],
    gcloud: ["gcp", "FAKE_GCLOUD_STATE", "FAKE_GCLOUD_LOG"],
} as const;

/** A CLI discovery calls. */
export type DiscoveryCliName = keyof typeof STAND_INS;

/** The folder that holds one CLI's stand-in (its executable and its module, <cli>-cli.js, which is not executable: PATH finds that one CLI alone). */
export function standInDir(cli: DiscoveryCliName): string {
    return path.join(__dirname, STAND_INS[cli][0]);
}

/**
 * The environment that puts the three stand-in CLIs (sandbox/cli/<cloud>/) first on PATH, each with its
 * world written into `dir` (an empty one where none is given) and its call log there, which
 * `callLog` names. For `npm run discover` in the tests and in the discovery benchmark.
 */
export function discoveryStandIns(
    dir: string,
    worlds: Partial<Record<DiscoveryCliName, unknown>>,
): { env: Record<string, string>; callLog(cli: DiscoveryCliName): string } {
    const env: Record<string, string> = {};
    const dirs: string[] = [];
    const callLog = (cli: DiscoveryCliName) => path.join(dir, `${cli}-calls.log`);
    for (const [cli, [, stateVar, logVar]] of Object.entries(STAND_INS) as [DiscoveryCliName, (typeof STAND_INS)[DiscoveryCliName]][]) {
        const state = path.join(dir, `${cli}-world.json`);
        fs.writeFileSync(state, JSON.stringify(worlds[cli] ?? { instances: {}, vms: {} }));
        fs.writeFileSync(callLog(cli), "");
        env[stateVar] = state;
        env[logVar] = callLog(cli);
        dirs.push(standInDir(cli));
    }
    env.PATH = `${dirs.join(":")}:${process.env.PATH}`;
    return { env, callLog };
}
