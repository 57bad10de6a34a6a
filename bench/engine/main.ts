// `npm run bench -- --fleet N --engine [--shards K] ...`: arguments, the run (ONE up, or K shards'
// ups at once: bench/engine/shards), its output and exit code.
// Exit codes: 0 every bound checked and passed; 2 bad arguments; 3 a bound failed; 4 a bound not
// checked, or the runner not measurable here (a runner larger than the machine, no cgroup); 1 the
// bench itself failed.
import { ENGINE_USAGE, EngineBenchArgs, parseEngineArgs } from "./args";
import { engineFleet } from "./fleet";
import { renderEngine } from "./render";
import { NotMeasurable, engineExitCode, runEngineBench } from "./run";
import { renderShards } from "./shards/render";
import { runShardsBench, shardsExitCode, shardsFleet } from "./shards/run";

/** The run the arguments ask for: its result as JSON or text, and its exit code. */
async function runBench(args: EngineBenchArgs, log: (line: string) => void): Promise<{ text: string; code: 0 | 3 | 4 }> {
    if (args.shards !== undefined) {
        const r = await runShardsBench({ ...args, shards: args.shards }, log);
        return { text: args.json ? JSON.stringify(r) : renderShards(r), code: shardsExitCode(r) };
    }
    const r = await runEngineBench(args, log);
    return { text: args.json ? JSON.stringify(r) : renderEngine(r), code: engineExitCode(r) };
}

/** Runs the engine bench with the command's arguments and exits with its code. */
export function engineMain(argv: readonly string[]): void {
    let args: ReturnType<typeof parseEngineArgs>;
    try {
        args = parseEngineArgs(argv);
        // --bad larger than the fleet's repair VMs besides the canary (or the shards' canaries), or
        // --shards a count the fleet cannot be split into, is an argument error, said before anything runs.
        if (args.shards !== undefined) shardsFleet(args.n, args.bad, args.shards);
        else engineFleet(args.n, args.bad);
    } catch (err) {
        console.error(`npm run bench: ${(err as Error).message}\n${ENGINE_USAGE}`);
        process.exit(2);
    }
    runBench(args, (line) => console.error(line)).then(
        ({ text, code }) => {
            process.stdout.write(`${text}\n`, () => process.exit(code));
        },
        (err: unknown) => {
            if (err instanceof NotMeasurable) {
                console.error(`npm run bench: not measured: ${err.message}`);
                process.exit(4);
            }
            console.error(err);
            process.exit(1);
        },
    );
}
