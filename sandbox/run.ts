// npm run sandbox -- <pulumi arguments>      the real `pulumi` against a simulated cloud, e.g.
//                                             `npm run sandbox -- up --stack dev --yes`
// npm run sandbox -- world [--stack NAME] [--json]   what the simulated cloud holds now
// npm run sandbox -- world --requests [--stack NAME] [--json]   API requests per cloud, scope and class
// npm run sandbox -- fleet N [--one-scope]    writes the stack fleetN: N mixed VMs, every remedy
//                                             (--one-scope: fleetN-one-scope, one scope per cloud)
//
// The engine is the real Pulumi CLI this project pins (built by scripts/engine/build.sh --cli). It
// runs in .sandbox/project with a file backend under .sandbox/backend; the program runs in this
// process and the CLI connects to it (language-host.ts); the providers are the stand-ins in
// providers/, and the step scripts call the stand-in CLIs in cli/, all on one world per stack
// seeded from the stack's inventory (world/). Nothing here can reach a cloud. docs/sandbox.md says
// what a sandbox run proves and what it does not.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, PulumiFn } from "@pulumi/pulumi/automation";
import { parse, stringify } from "yaml";
import { InputError } from "../components/core/contract/problems";
import { CommandError } from "../components/tools/command-contract";
import { IncidentEngine } from "../components/tools/incident/engine";
import { ExportedResource, VmRecordForSize, renderStateSize, stateSize } from "./state-size";
import { DiscoveryCliName, STAND_INS, standInDir } from "./cli/stand-ins";
import { LanguageHost, startLanguageHost } from "./language-host";
import { PROJECT_DIR, SandboxLayout } from "./layout";
import { RunningProviders, startProviders } from "./providers/start";
import { writeFleetStack } from "./world/fleet-stack";
import { cloudsOf, seedWorlds, stackInventory } from "./world/seed";
import { renderWorlds } from "./world/render";
import { shareWorld } from "./world/shared";
import { readWorld } from "./world/world-file";
import { requestsReport } from "./world/requests";
import { ApiFront, joinApiFront, startApiFront } from "./api/start";

/** Pulumi commands that run the program (they get the language host and the providers). */
const PROGRAM_COMMANDS = new Set(["up", "update", "preview", "refresh", "destroy"]);
/** Pulumi commands that may call providers without the program. */
const PROVIDER_COMMANDS = new Set(["import", "state"]);

/** `pulumi stack` subcommands that take the stack as their argument (`stack rm NAME`). */
const STACK_ARGUMENT = new Set(["rm", "select", "init"]);

/** Pulumi flags whose value is a file or folder: read from where the user ran the command, not from the engine's folder. */
const PATH_FLAGS = new Set(["--policy-pack", "--policy-pack-config", "--event-log", "--config-file", "--file", "--plan", "--save-plan"]);

/** `args` with the values of PATH_FLAGS made absolute against `base` (the engine runs in another folder). */
export function absolutePaths(args: readonly string[], base: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const m = /^(--[a-z-]+)=(.*)$/.exec(args[i]);
        if (m && PATH_FLAGS.has(m[1])) out.push(`${m[1]}=${path.resolve(base, m[2])}`);
        else if (PATH_FLAGS.has(args[i]) && i + 1 < args.length) out.push(args[i], path.resolve(base, args[++i]));
        else out.push(args[i]);
    }
    return out;
}

/** The stack a pulumi argument list names (`--stack X`, `-s X`, `--stack=X`, `stack rm X`), or dev. */
export function stackOf(args: readonly string[]): string {
    if (args[0] === "stack" && STACK_ARGUMENT.has(args[1])) {
        const named = args.slice(2).find((a) => !a.startsWith("-"));
        if (named) return named;
    }
    for (let i = 0; i < args.length; i++) {
        const m = /^(?:--stack|-s)=(.+)$/.exec(args[i]);
        if (m) return m[1];
        if ((args[i] === "--stack" || args[i] === "-s") && args[i + 1]) return args[i + 1];
    }
    return "dev";
}

/** The real CLI's path, built (or found) at the pinned version; undefined with the build's reason printed. */
export function pulumiBinary(): string | undefined {
    const built = spawnSync("bash", [path.join(PROJECT_DIR, "scripts/engine/build.sh"), "--cli"], { stdio: ["ignore", "pipe", "inherit"] });
    if (built.status !== 0) return undefined;
    return path.join(built.stdout.toString().trim(), "pulumi");
}

/** The stack file's keys that tie it to its own secrets (a salt, a KMS key): never the sandbox's. */
const OWN_SECRETS_KEYS = ["encryptionsalt", "secretsprovider", "encryptedkey"];

/**
 * Writes the engine's project folder: Pulumi.yaml, and a copy of the stack's file without its own
 * secrets provider and salt (the sandbox's passphrase keeps the sandbox's, and no KMS is reached),
 * with the salt the engine wrote into the copy before. Config changes made through the sandbox
 * live in the copy only and are not kept: the project's file is never written. A stack whose config
 * holds secrets (`secure:` values) is refused: the sandbox cannot decrypt them, and must not.
 */
export function writeProject(layout: SandboxLayout, stack: string): void {
    const stackFile = `Pulumi.${stack}.yaml`;
    const source = path.join(layout.stacks(stack), stackFile);
    if (!fs.existsSync(source))
        throw new InputError([
            {
                file: stackFile,
                message: `no such stack file in ${layout.stackDirs.join(" or ")} (npm run sandbox -- fleet N writes the stack fleetN; SANDBOX_STACKS names another folder)`,
            },
        ]);
    const doc = (parse(fs.readFileSync(source, "utf8")) ?? {}) as Record<string, unknown>;
    const config = (doc.config ?? {}) as Record<string, unknown>;
    const secrets = Object.keys(config).filter((key) => {
        const value = config[key];
        return value !== null && typeof value === "object" && "secure" in value;
    });
    if (secrets.length > 0)
        throw new InputError(
            secrets.map((key) => ({
                file: stackFile,
                field: key,
                message: `a secret (secure:), which the sandbox cannot decrypt: rehearse with a stack file that holds no secrets (a placeholder value, or \`pulumi config set --secret\` through the sandbox)`,
            })),
        );
    fs.mkdirSync(layout.project, { recursive: true });
    // Written aside and renamed: stacks of one sandbox run at once (the shards bench), and an
    // engine starting must never read a half-copied project file.
    const projectFile = path.join(layout.project, "Pulumi.yaml");
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), `${projectFile}.${process.pid}`);
    fs.renameSync(`${projectFile}.${process.pid}`, projectFile);
    const target = path.join(layout.project, stackFile);
    const salt = fs.existsSync(target)
        ? (parse(fs.readFileSync(target, "utf8")) as Record<string, unknown> | null)?.encryptionsalt
        : undefined;
    for (const key of OWN_SECRETS_KEYS) delete doc[key];
    fs.writeFileSync(target, stringify(typeof salt === "string" ? { encryptionsalt: salt, ...doc } : doc));
}

/**
 * The user's cloud credentials and sign-ins, which the sandbox never passes on: keys and tokens in
 * the environment (AWS, Azure and Terraform's ARM_, Google, GitHub's OIDC request).
 */
/** How many times shorter the sandbox makes every step's wait deadline (BOOTLOOP_WAIT_SCALE, unless the caller's environment sets it). */
export const SANDBOX_WAIT_SCALE = 30;

export const CLOUD_CREDENTIALS =
    /^(AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE|DEFAULT_PROFILE|ROLE_ARN|ROLE_SESSION_NAME|WEB_IDENTITY_TOKEN_FILE|CONTAINER_\w+|ENDPOINT_URL\w*|IGNORE_CONFIGURED_ENDPOINT_URLS)|ARM_\w+|AZURE_\w+|MSI_\w+|IDENTITY_\w+|GOOGLE_\w+|CLOUDSDK_\w+|GCE_METADATA_\w+|ACTIONS_ID_TOKEN_REQUEST_\w+)$/;

/**
 * The environment of the engine, the providers and every step script: the stand-in CLIs first on
 * PATH, each pointed at its world file, and none of the user's cloud credentials. Were a real CLI
 * ever run in place of a stand-in, it would find no keys, no profile, no sign-in and no instance
 * metadata: it could reach no account of the user's.
 */
export function sandboxEnv(layout: SandboxLayout, stack: string, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const kept = Object.fromEntries(Object.entries(from).filter(([k]) => !CLOUD_CREDENTIALS.test(k)));
    const nowhere = path.join(layout.home, "no-cloud-sign-in");
    const env: NodeJS.ProcessEnv = {
        ...kept,
        AWS_CONFIG_FILE: path.join(nowhere, "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(nowhere, "aws-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        AZURE_CONFIG_DIR: path.join(nowhere, "azure"),
        CLOUDSDK_CONFIG: path.join(nowhere, "gcloud"),
        // Instance metadata nowhere: gcloud would otherwise take a GCE host's service account.
        CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
        GCE_METADATA_HOST: "127.0.0.1:9",
        GCE_METADATA_ROOT: "127.0.0.1:9",
        GCE_METADATA_IP: "127.0.0.1:9",
        // A bash whose SHLVL is below 2 and whose stdin is a socket (or with SSH_CLIENT set)
        // takes itself for an ssh session and reads ~/.bashrc, whose PATH would put the user's
        // real cloud CLIs before the stand-ins. Every step's bash starts at level 2 or more.
        SHLVL: String(Math.max(1, Number(from.SHLVL) || 0)),
        PULUMI_HOME: layout.home,
        // metadata=skip: no `.attrs` file beside each state file. gocloud's fileblob rewrites that
        // file in place after every checkpoint; an engine killed in that moment leaves it empty,
        // and every later command of the stack then fails with "failed to load checkpoint: EOF"
        // (the state itself, written to a temporary file and renamed, is whole).
        PULUMI_BACKEND_URL: `file://${layout.backend}?metadata=skip`,
        PULUMI_CONFIG_PASSPHRASE: from.PULUMI_CONFIG_PASSPHRASE ?? "sandbox",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        BOOTLOOP_HOME: PROJECT_DIR,
        BOOTLOOP_WATCH_DIR: layout.watchDir(stack),
        BOOTLOOP_TIME_SCALE: from.BOOTLOOP_TIME_SCALE ?? "1000",
        BOOTLOOP_WAIT_SCALE: from.BOOTLOOP_WAIT_SCALE ?? String(SANDBOX_WAIT_SCALE),
        POLL_SECONDS: from.POLL_SECONDS ?? "0",
        // SANDBOX_CLI_WRAPPERS: a folder put before the stand-ins (the engine bench's, bench/engine/bin, which spend a real CLI's cost and then call the stand-in).
        PATH: [
            ...(from.SANDBOX_CLI_WRAPPERS ? [path.resolve(from.SANDBOX_CLI_WRAPPERS)] : []),
            ...(Object.keys(STAND_INS) as DiscoveryCliName[]).map(standInDir),
            path.join(__dirname, "bin"),
            from.PATH,
        ].join(":"),
    };
    for (const [cli, [, stateVar, logVar]] of Object.entries(STAND_INS) as [DiscoveryCliName, (typeof STAND_INS)[DiscoveryCliName]][]) {
        env[stateVar] = layout.worldFile(stack, cli);
        env[logVar] = layout.callLog(stack, cli);
    }
    return env;
}

/** What a sandbox run of a stack's program needs, once its inventory is valid and the engine is there. */
export interface SandboxEngine {
    /** The stack's VMs (its inventory, validated). */
    vms: ReturnType<typeof stackInventory>;
    /** The real CLI, at the pinned version. */
    binary: string;
    /** The environment of the engine, providers and steps ({@link sandboxEnv}), pointed at the API front too. */
    env: NodeJS.ProcessEnv;
    /** The stand-in clouds' HTTP APIs, which the watcher's observations call (for a command that runs the program); it ends with this process. */
    front?: ApiFront;
}

/**
 * Gets a stack ready for the real engine: its inventory validated first (bad input is refused,
 * an InputError, before anything is built or written), the engine's project folder written
 * ({@link writeProject}), the CLI built or found, the backend and home folders made. Undefined
 * when the CLI cannot be had (the build said why). Seeds no world and creates no stack.
 */
export function prepareEngine(layout: SandboxLayout, stack: string, runsProgram = true): SandboxEngine | undefined {
    const vms = stackInventory(layout, stack);
    writeProject(layout, stack);
    const binary = pulumiBinary();
    if (!binary) return undefined;
    for (const dir of [layout.backend, layout.home]) fs.mkdirSync(dir, { recursive: true });
    const env = sandboxEnv(layout, stack);
    // Only a command that runs the program starts steps, and so a watcher: the others need no
    // front, and must not end the watcher of an `up` running beside them.
    if (!runsProgram) return { vms, binary, env };
    // A watcher an earlier run left (it idles out after 2 minutes) knows that run's front, gone now.
    stopStackWatcher(layout, stack);
    fs.mkdirSync(layout.stackDir(stack), { recursive: true });
    // A front the caller started for this stack (the engine bench: beside the runner's cgroup, not in it).
    const given = process.env.SANDBOX_API_FRONT;
    if (given && path.resolve(path.dirname(given)) !== path.resolve(layout.stackDir(stack)))
        throw new Error(`SANDBOX_API_FRONT names ${given}, not the front of stack ${stack} (${layout.stackDir(stack)}/api-front.json)`);
    const front = given ? joinApiFront(given) : startApiFront(env, layout.stackDir(stack));
    return { vms, binary, env: { ...env, ...front.env }, front };
}

/** Ends the watcher of the stack's runs, if one is running. */
function stopStackWatcher(layout: SandboxLayout, stack: string): void {
    try {
        process.kill(Number(fs.readFileSync(path.join(layout.watchDir(stack), "watcher.pid"), "utf8")), "SIGTERM");
    } catch {
        /* none, or gone already */
    }
}

/** Seeds the stack's simulated cloud from its inventory on its first run (and says so on stderr). */
export function seedWorld(layout: SandboxLayout, stack: string, vms: SandboxEngine["vms"]): void {
    const seeded = seedWorlds(layout, stack, vms);
    if (seeded.length > 0)
        process.stderr.write(`sandbox: seeded the simulated cloud of stack ${stack} from its inventory (${layout.stackDir(stack)})\n`);
}

/**
 * Makes this process the sandbox's: the program runs in it, and its own lookups that call a cloud
 * CLI (a Key Vault secret, a restore point) must meet the stand-ins too; none of the user's cloud
 * credentials stays in its environment (a child it starts inherits that environment).
 */
export function enterSandbox(env: NodeJS.ProcessEnv): void {
    for (const key of Object.keys(process.env)) if (CLOUD_CREDENTIALS.test(key)) delete process.env[key];
    Object.assign(process.env, env);
}

/**
 * The sandbox as the engine of `npm run incident -- --sandbox`: the CLI this builds, its file
 * backend and folders, its stripped environment (this process takes it too: the program runs here,
 * served to the CLI by the Automation API's LanguageServer over `--client`, as `npm run sandbox`
 * serves it), the stack's simulated cloud seeded once the stack exists, and the stand-in providers.
 */
export function sandboxIncidentEngine(stack: string, layout: SandboxLayout = new SandboxLayout()): IncidentEngine {
    let prepared: SandboxEngine | undefined;
    let providers: RunningProviders | undefined;
    return {
        where: "the sandbox (the real engine on a simulated cloud)",
        sandbox: true,
        stackDir: layout.stacks(stack),
        async workspace() {
            prepared = prepareEngine(layout, stack);
            if (!prepared)
                throw new CommandError("failed", "the sandbox's engine could not be had (the build said why above): nothing was run");
            enterSandbox(prepared.env);
            // The Automation API runs ROOT/bin/pulumi: a link to the CLI built for the sandbox.
            const pulumiCommand = await PulumiCommand.get({ root: layout.linkAutomationCli(prepared.binary) });
            const envVars = Object.fromEntries(Object.entries(prepared.env).filter((e): e is [string, string] => e[1] !== undefined));
            return LocalWorkspace.create({ workDir: layout.project, program: programOf(), pulumiCommand, envVars });
        },
        async begin(workspace) {
            seedWorld(layout, stack, prepared!.vms);
            providers = await startProviders(cloudsOf(prepared!.vms), prepared!.env, layout.providerLog(stack));
            workspace.envVars.PULUMI_DEBUG_PROVIDERS = providers.debugProviders;
        },
        end() {
            providers?.stop();
            prepared?.front?.stop();
        },
        pulumi: "npm run sandbox --",
    };
}

/**
 * Runs the real CLI with `args`; resolves with its exit code. It shares the terminal's process
 * group, so a Ctrl-C reaches it once, from the terminal: forwarding SIGINT too (npm forwards it to
 * this process as well) would be a second one, which pulumi takes as "terminate now" instead of a
 * clean cancel. SIGTERM and SIGHUP, which come to this process alone, are passed on.
 */
function runPulumi(binary: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn(binary, args, { cwd, env, stdio: "inherit" });
        const forward = (signal: NodeJS.Signals) => child.kill(signal);
        process.on("SIGTERM", forward).on("SIGHUP", forward);
        child.on("error", (e) => {
            process.stderr.write(`sandbox: could not run ${binary}: ${e.message}\n`);
            resolve(1);
        });
        child.on("exit", (code, signal) => {
            process.off("SIGTERM", forward).off("SIGHUP", forward);
            resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
        });
    });
}

/**
 * `npm run sandbox -- world`: the stack's simulated cloud, as text or JSON; with `--requests`, the
 * API requests it answered per cloud, scope and rate class, throttled ones among them.
 */
function world(args: readonly string[], layout: SandboxLayout): number {
    const stack = stackOf(args);
    if (args.includes("--requests")) {
        const report = requestsReport(layout, stack, args.includes("--json"));
        process.stdout.write(report.stdout);
        process.stderr.write(report.stderr);
        return report.code;
    }
    const worlds: Partial<Record<DiscoveryCliName, unknown>> = {};
    for (const cli of Object.keys(STAND_INS) as DiscoveryCliName[]) {
        const file = layout.worldFile(stack, cli);
        if (fs.existsSync(file)) worlds[cli] = readWorld(file);
    }
    if (Object.keys(worlds).length === 0) {
        process.stderr.write(
            `sandbox: stack ${stack} has no simulated cloud yet (it is seeded by its first run: npm run sandbox -- preview --stack ${stack})\n`,
        );
        return 1;
    }
    process.stdout.write(args.includes("--json") ? `${JSON.stringify(worlds, null, 2)}\n` : renderWorlds(worlds));
    return 0;
}

/**
 * `npm run sandbox -- state-size [--stack NAME] [--json]`: what the stack's state weighs per VM (from
 * `pulumi stack export` and its `vms` output), by cloud and strategy, against the bound.
 */
function stateSizeOf(binary: string, env: NodeJS.ProcessEnv, layout: SandboxLayout, args: readonly string[]): number {
    const stack = stackOf(args);
    const read = (pulumiArgs: string[]) => {
        const r = spawnSync(binary, [...pulumiArgs, "--stack", stack], {
            cwd: layout.project,
            env,
            encoding: "utf8",
            maxBuffer: 2 * 1024 * 1024 * 1024,
            stdio: ["ignore", "pipe", "inherit"],
        });
        return r.status === 0 ? r.stdout : undefined;
    };
    const exported = read(["stack", "export"]);
    const outputs = read(["stack", "output", "vms", "--json"]);
    if (exported === undefined || outputs === undefined) {
        process.stderr.write(`sandbox: the state of stack ${stack} could not be read; not measured\n`);
        return 1;
    }
    const resources = (JSON.parse(exported) as { deployment: { resources?: ExportedResource[] } }).deployment.resources ?? [];
    const vms = JSON.parse(outputs) as unknown;
    const isRecords = (v: unknown): v is Record<string, VmRecordForSize> =>
        !!v &&
        typeof v === "object" &&
        !Array.isArray(v) &&
        Object.values(v).every(
            (r) => !!r && typeof (r as VmRecordForSize).cloud === "string" && typeof (r as VmRecordForSize).strategy === "string",
        );
    if (!isRecords(vms) || Object.keys(vms).length === 0) {
        process.stderr.write(`sandbox: stack ${stack} has no VMs in its state yet (run up first); not measured\n`);
        return 1;
    }
    const size = stateSize(resources, vms);
    process.stdout.write(args.includes("--json") ? `${JSON.stringify(size, null, 2)}\n` : renderStateSize(size));
    return 0;
}

/**
 * `npm run sandbox -- fleet N [--one-scope]`: writes the stack `fleetN` (N mixed VMs, every remedy
 * on every cloud; with --one-scope `fleetN-one-scope`, every VM of a cloud in one scope) and says how to run it.
 */
function fleet(args: readonly string[]): number {
    const n = Number(args[0]);
    const rest = args.slice(1);
    if (!Number.isInteger(n) || n < 1 || n > 20000 || rest.some((a) => a !== "--one-scope")) {
        process.stderr.write(
            `sandbox: fleet takes a number of VMs from 1 to 20000 and optionally --one-scope, not ${JSON.stringify(args.join(" "))}\n`,
        );
        return 2;
    }
    const oneScope = rest.includes("--one-scope");
    const stack = oneScope ? `fleet${n}-one-scope` : `fleet${n}`;
    const file = writeFleetStack(stack, n, undefined, { oneScope });
    process.stdout.write(
        `${file}\nrun it: npm run sandbox -- up --stack ${stack} --yes   (measured: bash scripts/sandbox/measure.sh npm run -s sandbox -- up --stack ${stack} --yes)\n`,
    );
    return 0;
}

/**
 * `npm run sandbox -- share-world NAME STACK STACK...`: one simulated cloud for several stacks (the
 * shards of one fleet), seeded from all their inventories before their first run.
 */
function shareWorldCommand(args: readonly string[], layout: SandboxLayout): number {
    const [name, ...stacks] = args;
    if (name === undefined || name.startsWith("-") || stacks.some((s) => s.startsWith("-"))) {
        process.stderr.write("usage: npm run sandbox -- share-world NAME STACK STACK...\n");
        return 2;
    }
    const made = shareWorld(layout, name, stacks);
    const clouds = Object.entries(made.vmsByCloud)
        .map(([cloud, n]) => `${cloud} ${n}`)
        .join(", ");
    process.stdout.write(
        `${made.dir}\nstacks ${made.stacks.join(", ")} share one simulated cloud (VMs: ${clouds}); world --requests --stack ${made.stacks[0]} counts them all\n`,
    );
    return 0;
}

async function main(given: readonly string[]): Promise<number> {
    // A Ctrl-C is the engine's to act on (runPulumi); this process waits for it to finish.
    process.on("SIGINT", () => undefined);
    // npm runs scripts in the project; INIT_CWD is where the user typed the command.
    const args = absolutePaths(given, process.env.INIT_CWD ?? process.cwd());
    const layout = new SandboxLayout();
    if (args[0] === "world") return world(args.slice(1), layout);
    if (args[0] === "fleet") return fleet(args.slice(1));
    if (args[0] === "share-world") return shareWorldCommand(args.slice(1), layout);
    if (args.length === 0 || args[0] === "--help" || args[0] === "-h") {
        process.stdout.write(
            "usage: npm run sandbox -- <pulumi arguments>   (e.g. up --stack dev --yes)\n       npm run sandbox -- world [--requests] [--stack NAME] [--json]\n       npm run sandbox -- state-size [--stack NAME] [--json]   (the state's weight per VM)\n       npm run sandbox -- fleet N [--one-scope]   (writes the stack fleetN: N mixed VMs; --one-scope: fleetN-one-scope, one scope per cloud)\n       npm run sandbox -- share-world NAME STACK STACK...   (the stacks, shards of one fleet, on one simulated cloud)\n",
        );
        return args.length === 0 ? 2 : 0;
    }
    const stack = stackOf(args);
    if (args[0] === "state-size") {
        // Reads a stack's state as it is: no world seeded, no stack created.
        writeProject(layout, stack);
        const binary = pulumiBinary();
        return binary ? stateSizeOf(binary, sandboxEnv(layout, stack), layout, args.slice(1)) : 1;
    }
    const engine = prepareEngine(layout, stack, PROGRAM_COMMANDS.has(args[0]));
    if (!engine) return 1;
    const { vms, binary, env } = engine;
    seedWorld(layout, stack, vms);
    // The stack exists for every command but the ones that make or remove it.
    const managesStack = args[0] === "stack" && ["rm", "init"].includes(args[1]);
    const selected = managesStack
        ? { status: 0 }
        : spawnSync(binary, ["stack", "select", "--create", "--non-interactive", stack], {
              cwd: layout.project,
              env,
              stdio: ["ignore", "ignore", "inherit"],
          });
    if (selected.status !== 0) return 1;
    const command = args[0];
    if (!PROGRAM_COMMANDS.has(command) && !PROVIDER_COMMANDS.has(command)) return runPulumi(binary, args, env, layout.project);
    const providers = await startProviders(cloudsOf(vms), env, layout.providerLog(stack));
    let host: LanguageHost | undefined;
    try {
        enterSandbox(env);
        host = PROGRAM_COMMANDS.has(command) ? await startLanguageHost(programOf()) : undefined;
        return await runPulumi(
            binary,
            [...args, ...(host ? [`--client=${host.address}`] : [])],
            { ...env, PULUMI_DEBUG_PROVIDERS: providers.debugProviders },
            layout.project,
        );
    } finally {
        host?.stop();
        providers.stop();
        engine.front?.stop();
    }
}

/** The project's program (index.ts), run in this process. */
export function programOf(): PulumiFn {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program is loaded only by the commands that run it
    return require(path.join(PROJECT_DIR, "index")) as PulumiFn;
}

if (require.main === module)
    main(process.argv.slice(2)).then(
        // Exit once stdout is flushed: a pipe takes a large `world --json` in several writes.
        (code) => process.stdout.write("", () => process.exit(code)),
        (err: unknown) => {
            process.stderr.write(`sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(err instanceof Error && err.name === "InputError" ? 2 : 1);
        },
    );
