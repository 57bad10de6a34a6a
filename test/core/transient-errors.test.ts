// Which CLI errors the watcher retries (throttling, conflicts, 5xx) and which fail at once: a
// permanent error retried by mistake holds its step until the deadline (an hour for a lookup).
import { strict as assert } from "assert";
import { awsWatch } from "../../components/aws/watch";
import { azureWatch } from "../../components/azure/watch";
import { gcpWatch } from "../../components/gcp/watch";

describe("transient or permanent: the clouds' CLI errors", () => {
    it("a permanent error is permanent even when a name or id in it holds 429, 409 or 500", () => {
        const permanent: [typeof azureWatch, string][] = [
            [azureWatch, "ERROR: Forbidden({\"error\":{\"code\":\"Forbidden\",\"message\":\"The user 'appid=0429-1' does not have secrets get permission on key vault 'kv-429;location=eastus'.\"}})"],
            [azureWatch, "ERROR: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/app-409' under resource group 'rg-500' was not found."],
            [gcpWatch, "ERROR: (gcloud.compute.instances.describe) Could not fetch resource:\n - The resource 'projects/p/zones/us-central1-a/instances/web-500' was not found"],
            [gcpWatch, "ERROR: (gcloud.compute.disks.describe) Could not fetch resource:\n - Required 'compute.disks.get' permission for 'projects/p-429/zones/z/disks/d-503'"],
            [awsWatch, "An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances operation: The instance ID 'i-0500429000503aaaa' does not exist"],
        ];
        for (const [cloud, stderr] of permanent) assert.equal(cloud.transient(stderr), false, stderr);
    });

    it("throttling, conflicts and server errors in the forms the CLIs print them are retried", () => {
        const transient: [typeof azureWatch, string][] = [
            [azureWatch, "ERROR: (TooManyRequests) The request is being throttled. Status: 429"],
            [azureWatch, "ERROR: Too Many Requests({\"error\":{\"code\":\"Throttled\"}})"],
            [azureWatch, "ERROR: Service Unavailable({})"],
            [azureWatch, "ERROR: (Conflict) Operation 'attachDisk' is not allowed since another operation is in progress"],
            [gcpWatch, "ERROR: (gcloud.compute) Rate Limit Exceeded: rateLimitExceeded"],
            [gcpWatch, "ERROR: (gcloud.compute.instances.start) HTTPError 503: Service Unavailable"],
            [gcpWatch, "ERROR: (gcloud.compute.instances.stop) There was a problem refreshing your current auth tokens: 500 Internal Server Error"],
            [gcpWatch, "ERROR: gcloud crashed (OperationalError): database is locked"],
            [awsWatch, "An error occurred (RequestLimitExceeded) when calling the StartInstances operation: Request limit exceeded."],
        ];
        for (const [cloud, stderr] of transient) assert.equal(cloud.transient(stderr), true, stderr);
        assert.equal(azureWatch.throttling("ERROR: Too Many Requests({})"), true);
        assert.equal(gcpWatch.throttling("HTTPError 429: Too Many Requests"), true);
        assert.equal(gcpWatch.throttling("instance 'web-429' was not found"), false);
    });
});
