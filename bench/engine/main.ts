// `npm run bench -- --fleet N --engine ...`: arguments, the run, its output and exit code.
// Exit codes: 0 every bound checked and passed; 2 bad arguments; 3 a bound failed; 4 a bound not
// checked, or the runner not measurable here (a runner larger than the machine, no cgroup); 1 the
// bench itself failed.
import { ENGINE_USAGE, parseEngineArgs } from "./args";
import { engineFleet } from "./fleet";
import { renderEngine } from "./render";
import { NotMeasurable, engineExitCode, runEngineBench } from "./run";

/** Runs the engine bench with the command's arguments and exits with its code. */
export function engineMain(argv: readonly string[]): void {
    let args: ReturnType<typeof parseEngineArgs>;
    try {
        args = parseEngineArgs(argv);
        // --bad larger than the fleet's repair VMs besides the canary is an argument error, said before anything runs.
        engineFleet(args.n, args.bad);
    } catch (err) {
        console.error(`npm run bench: ${(err as Error).message}\n${ENGINE_USAGE}`);
        process.exit(2);
    }
    runEngineBench(args, (line) => console.error(line)).then(
        (r) => {
            process.stdout.write(args.json ? `${JSON.stringify(r)}\n` : `${renderEngine(r)}\n`, () => process.exit(engineExitCode(r)));
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
