import * as pulumi from "@pulumi/pulumi";
import { identities, paths } from "./components/registry/clouds";
import { InputError } from "./components/core/contract/problems";
import { pulumiConfig, pulumiSecret, recover } from "./components/core/program";
import { trimRegistrationTraces } from "./components/core/registration-trace";

// Each resource's registration stack is in the state: keep the frames that declared it, not the
// whole call stack (components/core/registration-trace.ts).
trimRegistrationTraces();

// The Pulumi program: validate everything, then declare the recovery. Input problems end the run
// with one clear message and nothing declared.
export = async () => {
    try {
        const { plan, vms } = await recover({
            identities,
            paths,
            config: pulumiConfig(),
            stackFile: `Pulumi.${pulumi.getStack()}.yaml`,
            baseDir: __dirname,
            secret: pulumiSecret,
        });
        return { plan, vms };
    } catch (err) {
        if (err instanceof InputError) throw new pulumi.RunError(err.message);
        throw err;
    }
};
