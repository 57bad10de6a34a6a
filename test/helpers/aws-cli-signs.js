// Run inside `unshare -n` (loopback only): the real aws CLI reads a secret from the stand-in
// Secrets Manager, which accepts it only if sigv4-verify.js agrees with the CLI's signature.
// Prints { status, stdout, stderr, verified } as JSON.
"use strict";
const { spawn, spawnSync } = require("child_process");
const { startSecretStore, CREDENTIALS } = require("./secret-store-stand-in");

const ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:br/checked-AbCdEf";
(async () => {
    spawnSync("ip", ["link", "set", "lo", "up"]);
    const store = await startSecretStore({ role: "r", aws: { [ARN]: { string: "signed-by-the-real-cli" } } });
    const env = {
        PATH: process.env.PATH,
        HOME: "/nonexistent",
        AWS_ACCESS_KEY_ID: CREDENTIALS.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.SecretAccessKey,
        AWS_SESSION_TOKEN: CREDENTIALS.Token,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_MAX_ATTEMPTS: "1",
    };
    const child = spawn(
        process.argv[2] || "/usr/bin/aws",
        [
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            ARN,
            "--region",
            "us-east-1",
            "--endpoint-url",
            `${store.url}/sm/`,
            "--output",
            "json",
        ],
        { env },
    );
    let stdout = "",
        stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", async (status) => {
        await store.close();
        const verified = store.requests.some((r) => r.url === "/sm/" && r.headers.authorization);
        process.stdout.write(JSON.stringify({ status, stdout, stderr, verified }));
    });
})();
