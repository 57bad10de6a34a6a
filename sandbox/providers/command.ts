// The sandbox's stand-in for the command provider (`command:local:Command`, @pulumi/command 1.2.1),
// because the real one cannot be built here: the Go module proxy refuses
// github.com/pulumi/pulumi-command/provider (docs/engine.md). It does what the program relies on, as
// the provider documents it (www.pulumi.com/registry/packages/command/api-docs/local/command):
// create runs `create` through the interpreter (default `/bin/sh -c`) with the provider's
// environment plus `environment`, `stdin` on standard input, in `dir` (default: the provider's own
// folder); a command that exits non-zero fails its step with its output; update runs `update`, or
// `create` again when there is none; delete runs `delete`; a change to `triggers` replaces it,
// any other change updates it; stdout and stderr (one trailing newline cut) are outputs, and
// PULUMI_COMMAND_STDOUT/STDERR hold the previous ones on update and delete unless
// `addPreviousOutputInEnv` is false. A cancel from the engine (Ctrl-C) ends the commands in flight.
// `command:local:run` runs `command` the same way. Not done (the real provider does): `logging`
// into the engine's log, customTimeouts, asset and archive paths.
import { spawn, ChildProcess } from "child_process";
import { Props, StandInProvider, serve } from "./host";

/** The commands running now, so a cancel can end them. */
const running = new Set<ChildProcess>();

/** The output of a finished command. */
type Ran = { stdout: string; stderr: string };

const cutNewline = (s: string) => s.replace(/\n$/, "");

/** Runs one of the resource's commands as the provider does; rejects with its exit status and output. */
function run(command: string, inputs: Props, previous?: Props): Promise<Ran> {
    const interpreter =
        Array.isArray(inputs.interpreter) && inputs.interpreter.length > 0 ? (inputs.interpreter as string[]) : ["/bin/sh", "-c"];
    const env: NodeJS.ProcessEnv = { ...process.env, ...((inputs.environment as Record<string, string> | undefined) ?? {}) };
    if (previous && inputs.addPreviousOutputInEnv !== false) {
        env.PULUMI_COMMAND_STDOUT = typeof previous.stdout === "string" ? previous.stdout : "";
        env.PULUMI_COMMAND_STDERR = typeof previous.stderr === "string" ? previous.stderr : "";
    }
    const hasStdin = typeof inputs.stdin === "string" && inputs.stdin !== "";
    return new Promise((resolve, reject) => {
        const child = spawn(interpreter[0], [...interpreter.slice(1), command], {
            cwd: typeof inputs.dir === "string" && inputs.dir ? inputs.dir : process.cwd(),
            env,
            // Standard input as the real provider gives it (Go's os/exec): nothing (/dev/null) unless
            // `stdin` is set. Never an empty pipe: Node's pipes are sockets, and bash started on a
            // socket with SHLVL unset takes itself for an ssh session and reads ~/.bashrc, whose
            // PATH (pyenv, nvm, conda) would then put a real cloud CLI before the stand-ins.
            stdio: [hasStdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
        running.add(child);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout!.on("data", (d: Buffer) => out.push(d));
        child.stderr!.on("data", (d: Buffer) => err.push(d));
        if (child.stdin) {
            child.stdin.on("error", () => undefined); // a command that does not read its stdin
            child.stdin.end(inputs.stdin);
        }
        child.on("error", (e) => {
            running.delete(child);
            reject(e);
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            const ran = { stdout: cutNewline(Buffer.concat(out).toString()), stderr: cutNewline(Buffer.concat(err).toString()) };
            if (code === 0) resolve(ran);
            else
                reject(
                    new Error(
                        `${signal ? `signal: ${signal}` : `exit status ${code}`}: running ${JSON.stringify(command)}:\nStdout:\n${ran.stdout}\nStderr:\n${ran.stderr}`,
                    ),
                );
        });
    });
}

let created = 0;

/** The stand-in command provider. */
export const commandStandIn: StandInProvider = {
    name: "command",
    version: "1.2.1",
    resources: {
        "command:local:Command": {
            // The provider's schema marks `triggers` replaceOnChanges (local.Command's docs: "The
            // resource will be updated (or replaced) if any of these values change"); all else updates.
            replaceOn: ["triggers"],
            async create(inputs) {
                const ran =
                    typeof inputs.create === "string" && inputs.create ? await run(inputs.create, inputs) : { stdout: "", stderr: "" };
                return { id: `${Date.now().toString(36)}${(created++).toString(36)}`, outs: ran };
            },
            async update(_id, olds, news) {
                const command = typeof news.update === "string" && news.update ? news.update : news.create;
                return typeof command === "string" && command ? { ...(await run(command, news, olds)) } : {};
            },
            async delete(_id, props) {
                if (typeof props.delete === "string" && props.delete) await run(props.delete, props, props);
            },
        },
    },
    invokes: {
        // `local.run`: runs `command` on every preview and update, as `create` runs (the program's
        // lookups that need a CLI's answer use it).
        "command:local:run": async (args) => {
            const command = typeof args.command === "string" ? args.command : "";
            return { ...args, ...(command ? await run(command, args) : { stdout: "", stderr: "" }) };
        },
    },
    cancel: () => {
        for (const child of running) child.kill("SIGTERM");
    },
};

if (require.main === module) void serve(commandStandIn);
