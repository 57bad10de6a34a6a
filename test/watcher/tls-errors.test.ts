// A certificate the watcher's own requests cannot verify (a TLS-inspecting proxy, a private CA the
// CLIs were given in AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE or gcloud's custom CA file) is no object's
// fault: on every cloud it is a NoObservationError (transient: the batch gets no observation, the
// waiter backs off and, past its blind grace, fails the waits with it) naming NODE_EXTRA_CA_CERTS.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { DescribeVolumesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { callOf } from "../../components/aws/api-request";
import { armGet } from "../../components/azure/api";
import { ComputeApi } from "../../components/gcp/api";
import { gcpWatch } from "../../components/gcp/watch";
import { CliError, NoObservationError } from "../../components/gate/types";
import { followUp } from "../../components/watcher/types";
import { fakeRunner } from "../gcp/compute-server";

/** The error `p` rejects with (it must reject). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
    try {
        await p;
    } catch (err) {
        return err;
    }
    return assert.fail("it resolved");
}

function assertTls(err: unknown, what: string): void {
    assert.ok(err instanceof NoObservationError, `${what}: a NoObservationError, not ${String(err)}`);
    assert.equal(err.transient, true, `${what}: no observation this round, never a permanent error`);
    assert.match(err.message, /TLS certificate could not be verified \(DEPTH_ZERO_SELF_SIGNED_CERT\)/, what);
    assert.match(err.message, /NODE_EXTRA_CA_CERTS/, what);
    assert.doesNotMatch(err.message, /secret-token/, `${what}: no token in the message`);
}

describe("TLS that cannot be verified: a clear error naming NODE_EXTRA_CA_CERTS, no observation (never 'gone')", () => {
    let dir: string;
    let server: https.Server;
    let base: string;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-errors-"));
        const key = path.join(dir, "key.pem");
        const cert = path.join(dir, "cert.pem");
        execFileSync(
            "openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
            { stdio: "ignore" },
        );
        server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => res.end("{}"));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("GCP (Node's fetch): the listing rejects the batch; a per-instance read rejects too instead of calling it gone", async () => {
        const api = new ComputeApi({ endpoint: `${base}/compute/v1/` });
        const runner = fakeRunner(gcpWatch, ["ya29.secret-token"]);
        assertTls(await rejection(api.listInstances(runner, "p", "us-central1-a", ["web-1"])), "instances.list");
        const read = followUp(() => api.serialPortOutput(runner, "p", "us-central1-a", "web-1", "0"));
        assertTls(await rejection(read), "a serial read in followUp");
    });

    it("Azure (Node's fetch): a VM's GET", async () => {
        const err = await rejection(
            armGet(
                { base, audience: `${base}/` },
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v",
                {},
                "secret-token",
            ),
        );
        assertTls(err, "ARM GET");
    });

    it("AWS (the SDK's handler): a request", async () => {
        const c = new EC2Client({
            region: "us-east-1",
            endpoint: base,
            maxAttempts: 1,
            credentials: { accessKeyId: "AKIATEST", secretAccessKey: "secret-token" },
        });
        try {
            assertTls(
                await rejection(callOf("DescribeVolumes", (signal) => c.send(new DescribeVolumesCommand({}), { abortSignal: signal }))),
                "DescribeVolumes",
            );
        } finally {
            c.destroy();
        }
    });

    it("a per-object read's own permanent error is still that object's (gone); a transient one no observation of it", async () => {
        assert.deepEqual(await followUp(() => Promise.reject(new CliError("HTTPError 404: notFound", false))), {
            gone: "HTTPError 404: notFound",
        });
        assert.deepEqual(await followUp(() => Promise.reject(new CliError("HTTPError 503: backendError", true))), {});
    });
});
