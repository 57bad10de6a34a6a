// Where `npm run incident` runs the stack: the user's Pulumi CLI and backend as they are, or the
// sandbox (the real engine on a simulated cloud, built by the composition root in cli/incident.ts).
// Either way a LocalWorkspace of Pulumi's Automation API in the project's folder.
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";

/** The engine the incident runs on, and what must run beside it. */
export interface IncidentEngine {
    /** Where, for messages: `the sandbox (the real engine on a simulated cloud)`, `your Pulumi CLI and backend`. */
    where: string;
    /** The sandbox: no real cloud, so no preflight. */
    sandbox: boolean;
    /** The folder of the stack's file (`Pulumi.<stack>.yaml`) and the base of its inventory path. */
    stackDir: string;
    /** The workspace the stack's commands run in (its CLI, folder, environment and, in the sandbox, the program). */
    workspace(): Promise<LocalWorkspace>;
    /** Once the stack exists, before its preview: what the engine needs beside it (the sandbox's world and providers). */
    begin(workspace: LocalWorkspace): Promise<void>;
    /** Stops what `begin` started. */
    end(): void;
    /** The command that runs pulumi against this engine (`pulumi`, `npm run sandbox --`), for the messages that name one. */
    pulumi: string;
}

/**
 * The user's own: the `pulumi` on PATH (at least the Automation API's minimum version), logged in
 * to whatever backend it is, in the project's folder, running the project's program the way
 * `pulumi up` does (Pulumi.yaml's runtime: the Node.js language host).
 */
export function userEngine(projectDir: string): IncidentEngine {
    return {
        where: "your Pulumi CLI and backend",
        sandbox: false,
        stackDir: projectDir,
        workspace: async () => LocalWorkspace.create({ workDir: projectDir, pulumiCommand: await PulumiCommand.get() }),
        begin: () => Promise.resolve(),
        end: () => undefined,
        pulumi: "pulumi",
    };
}
