// The program's language host for the sandbox: the project's program served in this process over
// the language runtime protocol, by the same LanguageServer the Automation API uses for inline
// programs; the real CLI connects to it with `--client=ADDRESS` (a flag the CLI has for this).
// It stands in for the Node.js language host binary, which cannot be built here (docs/engine.md):
// what runs the program, registers its resources and talks to the engine is @pulumi/pulumi itself.
import * as grpc from "@grpc/grpc-js";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";
import { PulumiFn } from "@pulumi/pulumi/automation";

// The SDK marks LanguageServer @internal (its types leave it out); it is what the Automation API
// itself serves inline programs with.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an @internal class has no type declaration to import
const { LanguageServer } = require("@pulumi/pulumi/automation/server") as {
    LanguageServer: new (program: PulumiFn) => grpc.UntypedServiceImplementation;
};

/** A running language host. */
export interface LanguageHost {
    /** `127.0.0.1:PORT`, for the CLI's `--client`. */
    address: string;
    /** Stops serving (after the CLI is done). */
    stop(): void;
}

/** Serves `program` on a free loopback port. */
export async function startLanguageHost(program: PulumiFn): Promise<LanguageHost> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(langrpc.LanguageRuntimeService, new LanguageServer(program));
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}
