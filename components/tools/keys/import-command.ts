// `npm run import-keys`: imports a recovery-key export into a stack, so that its repairs unlock
// BitLocker without anyone typing a key: each VM's recovery passwords go where its cloud path reads
// them (secret stack config on Azure, the cloud's secret store on AWS and GCP).
import * as fs from "fs";
import * as path from "path";
import { CloudIdentity } from "../../core/contract/identity";
import { CloudPath } from "../../core/contract/cloud-path";
import { InputError, Problem, formatProblem } from "../../core/contract/problems";
import { NAMESPACE } from "../../core/contract/settings";
import { configureClouds, loadInventory } from "../../core/program";
import { ArgumentError, CommandContext, CommandError, stackName } from "../command-contract";
import { configSourceOf, readStackConfig } from "../offline/stack-config";
import { ImportResult, detectFormat, importKeys, pulumiConfigSet, renderImport } from "./import";
import { KEY_FORMATS, KeyFormat } from "./key-export";
import { StopSignal, signalExitCode } from "./key-folder";

/** What `npm run import-keys` was asked for. */
export interface ImportKeysCommandArgs {
    /** The stack whose VMs get the keys. */
    stack?: string;
    /** The recovery-key export (CSV), from where the command was started. */
    from?: string;
    /** entra, ad or csv; else read from the export's header. */
    format?: string;
    /** Report what would be stored; store nothing. */
    dryRun: boolean;
}

/**
 * Imports the export into the stack and prints every VM's outcome. `failed` when some VM's keys
 * were not stored; an invalid stack, inventory or export stores nothing and ends `failed` saying
 * so. A stop signal (SIGINT, SIGTERM, SIGHUP) removes the key files, prints the outcome so far and
 * ends the process with the signal's code (key-folder.ts).
 */
export async function runImportKeysCommand(
    args: ImportKeysCommandArgs,
    context: CommandContext,
    clouds: { identities: readonly CloudIdentity[]; paths: readonly CloudPath[] },
): Promise<"ok" | "failed"> {
    if (!args.stack) throw new ArgumentError("--stack is required: the stack whose VMs get the keys");
    const stack = stackName("--stack", args.stack);
    if (!args.from) throw new ArgumentError("--from is required: the recovery-key export (CSV)");
    const given = args.format as KeyFormat | undefined;
    if (given !== undefined && !KEY_FORMATS.includes(given))
        throw new ArgumentError(`--format: ${JSON.stringify(given)} must be one of ${KEY_FORMATS.join(", ")}`);
    const from = path.resolve(context.cwd, args.from);
    const stackFile = `Pulumi.${stack}.yaml`;
    try {
        const config = configSourceOf(readStackConfig(context.stackDir, stack));
        const inventory = config.get(`${NAMESPACE}:inventory`);
        if (!inventory)
            throw new InputError([
                { file: stackFile, field: `${NAMESPACE}:inventory`, message: "is not set: the stack names no inventory" },
            ]);
        const vms = loadInventory(inventory, context.stackDir, clouds.identities, clouds.paths, config);
        const problems: Problem[] = [];
        const cloudConfigs = configureClouds(clouds.paths, vms, config, stackFile, problems);
        if (problems.length) throw new InputError(problems);
        let text: string;
        try {
            text = fs.readFileSync(from, "utf8");
        } catch (err) {
            throw new InputError([{ file: args.from, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? "error"})` }]);
        }
        const format = given ?? detectFormat(text);
        const source = `stack ${stack} (inventory ${inventory}, ${vms.length} VMs), export ${args.from} (format ${format}${given ? "" : ", from its header"})${args.dryRun ? ", dry run: nothing stored" : ""}`;
        // A stop signal removes the key files, then this reports every VM's outcome so far, then the process exits 128 + the signal's number.
        const onInterrupt = (partial: ImportResult, signal: StopSignal) => {
            context.stdout.write(`${renderImport(partial, source, false)}\n`);
            context.stderr.write(`npm run import-keys: stopped by ${signal}; its key files are removed; exit ${signalExitCode(signal)}\n`);
        };
        const result = await importKeys({
            stack,
            vms,
            file: args.from,
            text,
            format,
            identities: clouds.identities,
            paths: clouds.paths,
            cloudConfigs,
            setConfig: pulumiConfigSet(stack, context.stackDir, context.env),
            dryRun: args.dryRun,
            onInterrupt,
        });
        context.stdout.write(`${renderImport(result, source, args.dryRun)}\n`);
        return result.failed.length ? "failed" : "ok";
    } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new CommandError("failed", `nothing was stored:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`);
    }
}
