// Starts the stand-in providers for one engine run, each in its own process (as the engine runs a
// plugin), and says where they listen in the form PULUMI_DEBUG_PROVIDERS takes. They live as long
// as the run: `stop` ends them.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../layout";

/** Per inventory cloud, the package its provider stands in for and its file here. */
export const CLOUD_PROVIDERS: Readonly<Record<string, { name: string; file: string }>> = {
    aws: { name: "aws", file: "aws.ts" },
    azure: { name: "azure-native", file: "azure.ts" },
    gcp: { name: "gcp", file: "gcp.ts" },
};
/** The command provider every stack uses. */
const COMMAND_PROVIDER = { name: "command", file: "command.ts" };

/** The running providers. */
export interface RunningProviders {
    /** `aws:PORT,azure-native:PORT,…` for PULUMI_DEBUG_PROVIDERS. */
    debugProviders: string;
    /** Ends every provider process. */
    stop(): void;
}

/** Starts one provider; resolves with its port once it printed it. */
function startOne(name: string, file: string, env: NodeJS.ProcessEnv, log: number, children: ChildProcess[]): Promise<number> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, file)], {
        cwd: PROJECT_DIR,
        env: { ...env, TS_NODE_TRANSPILE_ONLY: "true" },
        // stdin is a pipe only this process holds: when it goes, whatever way, the provider ends (host.ts).
        stdio: ["pipe", "pipe", log],
        // Its own process group, as the engine starts every plugin (sdk/go/common/resource/plugin/
        // plugin.go, cmdutil.RegisterProcessGroup): a Ctrl-C on the terminal reaches the engine
        // alone, which cancels the providers; the step scripts they run do not see it either.
        detached: true,
    });
    children.push(child);
    return new Promise((resolve, reject) => {
        let out = "";
        const failed = (why: string) => reject(new Error(`the sandbox's stand-in ${name} provider did not start: ${why}`));
        child.stdout!.on("data", (d: Buffer) => {
            out += d.toString();
            const m = /^(\d+)\s*\n/.exec(out);
            if (m) resolve(Number(m[1]));
        });
        child.on("error", (e) => failed(e.message));
        child.on("exit", (code, signal) => failed(`it ended (${signal ?? `exit ${code}`}) before it said its port`));
    });
}

/**
 * Starts the command provider and the providers of `clouds` (the inventory's clouds with VMs) with
 * `env` (the simulated cloud's world files and CLIs); their own messages go to the file `logFile`.
 */
export async function startProviders(clouds: ReadonlySet<string>, env: NodeJS.ProcessEnv, logFile: string): Promise<RunningProviders> {
    const wanted = [...[...clouds].sort().map((cloud) => CLOUD_PROVIDERS[cloud]), COMMAND_PROVIDER];
    const children: ChildProcess[] = [];
    const log = fs.openSync(logFile, "a");
    const stop = () => {
        for (const child of children)
            if (child.exitCode === null && child.pid !== undefined)
                try {
                    process.kill(-child.pid, "SIGTERM");
                } catch {
                    /* gone already */
                }
    };
    try {
        const ports = await Promise.all(wanted.map(({ name, file }) => startOne(name, file, env, log, children)));
        return { debugProviders: wanted.map(({ name }, i) => `${name}:${ports[i]}`).join(","), stop };
    } catch (err) {
        stop();
        throw new Error(`${err instanceof Error ? err.message : String(err)} (its messages: ${logFile})`, { cause: err });
    } finally {
        fs.closeSync(log);
    }
}
