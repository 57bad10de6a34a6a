// Where the sandbox keeps what a run leaves behind, all under one ignored folder (`.sandbox/`, or
// SANDBOX_DIR): the engine's file backend and home, the project folder the engine runs in, and per
// stack the simulated cloud (one world file per CLI) with the CLIs' call logs and the watcher's folder.
import * as fs from "fs";
import * as path from "path";
import { DiscoveryCliName } from "./cli/stand-ins";

/** The project folder (the program, its stacks and inventories). */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The sandbox's folders. */
export class SandboxLayout {
    constructor(
        readonly root: string = process.env.SANDBOX_DIR || path.join(PROJECT_DIR, ".sandbox"),
        /**
         * Where stack files (`Pulumi.<stack>.yaml`) are looked for, in order: SANDBOX_STACKS when
         * set, else the project, then the generated fleets (`npm run sandbox -- fleet N`).
         */
        readonly stackDirs: readonly string[] = process.env.SANDBOX_STACKS
            ? [process.env.SANDBOX_STACKS]
            : [PROJECT_DIR, path.join(PROJECT_DIR, ".sandbox", "fleet-stacks")],
    ) {}

    /** The folder holding the stack's file: the first of stackDirs that has it (the first, to name in an error). */
    stacks(stack: string): string {
        return this.stackDirs.find((dir) => fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`))) ?? this.stackDirs[0];
    }

    /** The engine's file backend (`file://…`): stacks' state and history. */
    get backend(): string {
        return path.join(this.root, "backend");
    }

    /** PULUMI_HOME: the engine's own settings and caches, apart from the user's ~/.pulumi. */
    get home(): string {
        return path.join(this.root, "home");
    }

    /**
     * The CLI's install root as Pulumi's Automation API takes it (`PulumiCommand.get({ root })`
     * runs `ROOT/bin/pulumi`): a folder whose `bin/pulumi` links to the built CLI, nothing else
     * (the Automation API puts `bin/` first on the engine's PATH).
     */
    get automationRoot(): string {
        return path.join(this.root, "automation");
    }

    /** Links `automationRoot/bin/pulumi` to `binary` (the built CLI), replacing an older link; returns automationRoot. */
    linkAutomationCli(binary: string): string {
        const bin = path.join(this.automationRoot, "bin");
        fs.mkdirSync(bin, { recursive: true });
        const link = path.join(bin, "pulumi");
        fs.rmSync(link, { force: true });
        fs.symlinkSync(binary, link);
        return this.automationRoot;
    }

    /** The folder the engine runs in: Pulumi.yaml and the stack files, copied from the project. */
    get project(): string {
        return path.join(this.root, "project");
    }

    /** A stack's simulated cloud and logs. */
    stackDir(stack: string): string {
        return path.join(this.root, "stacks", stack);
    }

    /**
     * The simulated clouds several stacks share (`npm run sandbox -- share-world`): each a folder
     * holding the world files, call logs and `stacks.json`, the stacks that use it.
     */
    get worldsDir(): string {
        return path.join(this.root, "worlds");
    }

    /** The shared world `stack` belongs to (its folder's name), if any. */
    sharedWorldOf(stack: string): string | undefined {
        if (!fs.existsSync(this.worldsDir)) return undefined;
        // A world being made (NAME.partial-PID) is no one's yet.
        return fs
            .readdirSync(this.worldsDir)
            .find((name) => !name.includes(".") && sharedStacks(path.join(this.worldsDir, name)).includes(stack));
    }

    /** Where the stack's simulated cloud lives: its shared world's folder, else its own folder. */
    worldHome(stack: string): string {
        const shared = this.sharedWorldOf(stack);
        return shared === undefined ? this.stackDir(stack) : path.join(this.worldsDir, shared);
    }

    /** The world file of one CLI's cloud (shared with the other stacks of its shared world, if any). */
    worldFile(stack: string, cli: DiscoveryCliName): string {
        return path.join(this.worldHome(stack), `${cli}-world.json`);
    }

    /** Every call the CLI's stand-in answered, one JSON array per line (a shared world's: every stack's calls). */
    callLog(stack: string, cli: DiscoveryCliName): string {
        return path.join(this.worldHome(stack), `${cli}-calls.log`);
    }

    /** What the stand-in providers print (their errors reach the engine too). */
    providerLog(stack: string): string {
        return path.join(this.stackDir(stack), "providers.log");
    }

    /** The step scripts' watcher folder. */
    watchDir(stack: string): string {
        return path.join(this.stackDir(stack), "watch");
    }
}

/** The file naming the stacks of a shared world, in the world's folder. */
export const SHARED_STACKS_FILE = "stacks.json";

/** The stacks a shared world's folder names (none when it has no complete `stacks.json`: it is being made). */
export function sharedStacks(worldDir: string): string[] {
    const file = path.join(worldDir, SHARED_STACKS_FILE);
    if (!fs.existsSync(file)) return [];
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as { stacks?: unknown };
    return Array.isArray(v.stacks) ? v.stacks.filter((s): s is string => typeof s === "string") : [];
}
