import { strict as assert } from "assert";
import { foreignProvider } from "../../components/tools/offline/run";

// The offline plan refuses a resource given a provider of another package: the SDK sends it, and
// the real engine then asks that provider to manage the resource (a real `pulumi up` of the AWS
// path failed so in the sandbox: its step commands were given the aws provider).

describe("offline plan: a resource's provider is one of its own package", () => {
    const AWS = "urn:pulumi:dev::bootloop-rescue::bootloop-rescue:core:Recovery$pulumi:providers:aws::aws-default::aws-default-id";

    it("names a command given the aws provider (parented, as the program registers it, or at the root)", () => {
        assert.equal(foreignProvider("command:local:Command", AWS), "was given a aws provider, which cannot manage a command resource");
        assert.match(
            foreignProvider("command:local:Command", "urn:pulumi:dev::p::pulumi:providers:gcp::default::id") ?? "",
            /gcp provider/,
        );
    });

    it("accepts a provider of the resource's own package, and no provider at all", () => {
        assert.equal(foreignProvider("aws:ebs/snapshot:Snapshot", AWS), undefined);
        assert.equal(foreignProvider("command:local:Command", ""), undefined);
        assert.equal(foreignProvider("command:local:Command", undefined), undefined);
    });
});
