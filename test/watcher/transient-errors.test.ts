// Which CLI errors the watcher retries (throttling, conflicts, 5xx) and which fail at once: a
// permanent error retried by mistake holds its step until the deadline (an hour for a lookup).
import { strict as assert } from "assert";
import { awsWatch } from "../../components/aws/watch";
import { azureWatch } from "../../components/azure/watch";
import { gcpWatch } from "../../components/gcp/watch";
import { CloudWatch } from "../../components/watcher/types";

/** Errors as the CLIs print them, and whether the watcher must try the call again. */
const CASES: [CloudWatch, string, boolean][] = [
    // Permanent, though a name or id in them holds 429, 409 or 500.
    [
        azureWatch,
        'ERROR: Forbidden({"error":{"code":"Forbidden","message":"The user \'appid=0429-1\' does not have secrets get permission on key vault \'kv-429;location=eastus\'."}})',
        false,
    ],
    [
        azureWatch,
        "ERROR: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/app-409' under resource group 'rg-500' was not found.",
        false,
    ],
    [
        gcpWatch,
        "ERROR: (gcloud.compute.instances.describe) Could not fetch resource:\n - The resource 'projects/p/zones/us-central1-a/instances/web-500' was not found",
        false,
    ],
    [
        gcpWatch,
        "ERROR: (gcloud.compute.disks.describe) Could not fetch resource:\n - Required 'compute.disks.get' permission for 'projects/p-429/zones/z/disks/d-503'",
        false,
    ],
    [
        awsWatch,
        "An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances operation: The instance ID 'i-0500429000503aaaa' does not exist",
        false,
    ],
    // Throttling, conflicts and server errors.
    [azureWatch, "ERROR: (TooManyRequests) The request is being throttled. Status: 429", true],
    [azureWatch, 'ERROR: Too Many Requests({"error":{"code":"Throttled"}})', true],
    [
        azureWatch,
        "ERROR: (SubscriptionRequestsThrottled) Number of 'read' requests for subscription '11111111-2222-3333-4444-555555555555' exceeded. Please try again after '6' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling",
        true,
    ],
    [azureWatch, "ERROR: (TenantRequestsThrottled) Number of requests for tenant exceeded.", true],
    [azureWatch, "ERROR: Service Unavailable({})", true],
    [azureWatch, "ERROR: (Conflict) Operation 'attachDisk' is not allowed since another operation is in progress", true],
    // The API client's 409s (the watcher's actions): transient by ARM's code, never by the status alone.
    [azureWatch, "Status: 409, Conflict: Operation 'deallocate' is not allowed since another operation is in progress", true],
    [azureWatch, "Status: 409, OperationNotAllowed: The OS disk can only be swapped when the VM is deallocated.", false],
    [azureWatch, "Status: 409, PropertyChangeNotAllowed: Changing property 'osDisk.name' is not allowed.", false],
    // ARM's free text is no code: "conflicting" or "conflicts" in a permanent error's message stays permanent.
    [azureWatch, "Status: 409, OperationNotAllowed: The disk has a conflicting lease.", false],
    [azureWatch, "Status: 400, InvalidParameter: The value conflicts with existing settings.", false],
    [gcpWatch, "ERROR: (gcloud.compute) Rate Limit Exceeded: rateLimitExceeded", true],
    [gcpWatch, "ERROR: (gcloud.compute.instances.start) HTTPError 503: Service Unavailable", true],
    [
        gcpWatch,
        "ERROR: (gcloud.compute.instances.stop) There was a problem refreshing your current auth tokens: 500 Internal Server Error",
        true,
    ],
    [gcpWatch, "ERROR: gcloud crashed (OperationalError): database is locked", true],
    [awsWatch, "An error occurred (RequestLimitExceeded) when calling the StartInstances operation: Request limit exceeded.", true],
];

describe("transient or permanent: the clouds' CLI errors", () => {
    it("a permanent error fails at once even when a name or id in it holds 429, 409 or 500; throttling, conflicts and 5xx are retried", () => {
        for (const [cloud, stderr, transient] of CASES) assert.equal(cloud.transient(stderr), transient, `${cloud.cloud}: ${stderr}`);
    });

    it("throttling slows the scope down; a number in a name does not", () => {
        assert.equal(azureWatch.throttling("ERROR: Too Many Requests({})"), true);
        assert.equal(azureWatch.throttling("ERROR: (SubscriptionRequestsThrottled) Number of 'write' requests exceeded."), true);
        assert.equal(azureWatch.throttling("ERROR: (ResourceRequestsThrottled) Number of requests for Microsoft.Compute exceeded."), true);
        assert.equal(gcpWatch.throttling("HTTPError 429: Too Many Requests"), true);
        assert.equal(gcpWatch.throttling("instance 'web-429' was not found"), false);
    });
});
