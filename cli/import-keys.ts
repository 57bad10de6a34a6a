// Imports a recovery-key export into a stack, so that its repairs unlock BitLocker without anyone
// typing a key: each VM's recovery passwords go where its cloud path reads them (secret stack
// config on Azure, the cloud's secret store on AWS and GCP). See docs/operators-guide.md, "BitLocker keys".
//
//   npm run import-keys -- --stack NAME --from FILE [--format entra|ad|csv] [--dry-run]
import * as fs from "fs";
import * as path from "path";
import { identities, paths } from "../components/registry/clouds";
import { InputError, Problem, formatProblem } from "../components/core/contract/problems";
import { KEY_FORMATS, KeyFormat } from "../components/tools/keys/key-export";
import { ImportResult, detectFormat, importKeys, pulumiConfigSet, renderImport } from "../components/tools/keys/import";
import { StopSignal, signalExitCode } from "../components/tools/keys/key-folder";
import { configSourceOf, readStackConfig } from "../components/tools/offline/stack-config";
import { configureClouds, loadInventory } from "../components/core/program";
import { NAMESPACE } from "../components/core/contract/settings";
import { disableStackTraces } from "./command/fast-stacks";
import { ArgumentError, commandArguments, readFlags, stackName } from "./command/flags";

const USAGE = "usage: npm run import-keys -- --stack NAME --from FILE [--format entra|ad|csv] [--dry-run]";

function parseArgs(argv: string[]): { stack: string; from: string; format?: KeyFormat; dryRun: boolean } {
    const { values: raw, switches } = readFlags(argv, { values: ["--stack", "--from", "--format"], switches: ["--dry-run"] });
    const dryRun = switches.has("--dry-run");
    if (!raw["--stack"]) throw new ArgumentError("--stack is required: the stack whose VMs get the keys");
    const stack = stackName("--stack", raw["--stack"]);
    if (!raw["--from"]) throw new ArgumentError("--from is required: the recovery-key export (CSV)");
    const format = raw["--format"] as KeyFormat | undefined;
    if (format !== undefined && !KEY_FORMATS.includes(format)) throw new ArgumentError(`--format: ${JSON.stringify(format)} must be one of ${KEY_FORMATS.join(", ")}`);
    return { stack, from: raw["--from"], format, dryRun };
}

async function main(): Promise<number> {
    disableStackTraces();
    const read = commandArguments("import-keys", USAGE, parseArgs);
    if ("exit" in read) return read.exit;
    const args = read.args;
    // The folder with Pulumi.yaml and the stack files (this project; tests point elsewhere).
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const from = path.resolve(process.env.INIT_CWD ?? process.cwd(), args.from);
    const stackFile = `Pulumi.${args.stack}.yaml`;
    try {
        const config = configSourceOf(readStackConfig(projectDir, args.stack));
        const inventory = config.get(`${NAMESPACE}:inventory`);
        if (!inventory) throw new InputError([{ file: stackFile, field: `${NAMESPACE}:inventory`, message: "is not set: the stack names no inventory" }]);
        const vms = loadInventory(inventory, projectDir, identities, paths, config);
        const problems: Problem[] = [];
        const cloudConfigs = configureClouds(paths, vms, config, stackFile, problems);
        if (problems.length) throw new InputError(problems);
        let text: string;
        try {
            text = fs.readFileSync(from, "utf8");
        } catch (err) {
            throw new InputError([{ file: args.from, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? "error"})` }]);
        }
        const format = args.format ?? detectFormat(text);
        const source = `stack ${args.stack} (inventory ${inventory}, ${vms.length} VMs), export ${args.from} (format ${format}${args.format ? "" : ", from its header"})${args.dryRun ? ", dry run: nothing stored" : ""}`;
        // A stop signal removes the key files, then this reports every VM's outcome so far, then the process exits 128 + the signal's number.
        const onInterrupt = (partial: ImportResult, signal: StopSignal) => {
            process.stdout.write(`${renderImport(partial, source, false)}\n`);
            process.stderr.write(`npm run import-keys: stopped by ${signal}; its key files are removed; exit ${signalExitCode(signal)}\n`);
        };
        const result = await importKeys({ stack: args.stack, vms, file: args.from, text, format, identities, paths, cloudConfigs, setConfig: pulumiConfigSet(args.stack, projectDir), dryRun: args.dryRun, onInterrupt });
        process.stdout.write(`${renderImport(result, source, args.dryRun)}\n`);
        return result.failed.length ? 1 : 0;
    } catch (err) {
        if (!(err instanceof InputError)) throw err;
        process.stderr.write(`npm run import-keys: nothing was stored:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}\n`);
        return 1;
    }
}

// exitCode, not exit(): a large report on a pipe must be written out before the process ends.
main().then((code) => void (process.exitCode = code));
