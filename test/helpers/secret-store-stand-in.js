// A stand-in for what a rescue VM talks to when it reads a disk's keys itself: EC2's instance
// metadata service (IMDSv2) and Secrets Manager (every request's SigV4 signature checked), GCE's
// metadata server and Secret Manager. One HTTP server on 127.0.0.1; `world` says what exists and
// who may read it, and is changed by the tests as they go. Plain JavaScript (see sigv4-verify.js).
"use strict";
const http = require("http");
const { verifySigV4 } = require("./sigv4-verify");

const CREDENTIALS = {
    AccessKeyId: "ASIARESCUEEXAMPLE",
    SecretAccessKey: "rescue/secret/access/key",
    Token: "session-token-of-the-rescue-role",
};
const GCE_TOKEN = "ya29.rescue-service-account-token";

/**
 * world: {
 *   role: instance role name ("" for none),
 *   aws: { [arn]: { string?: text, binary?: Buffer, deniedTimes?: n (AccessDenied n times first) } },
 *   gcp: { [projects/P/secrets/S]: { versions: { [n]: Buffer }, deniedTimes?: n } },
 *   gcpScopeInsufficient?: true, throttleTimes?: n (first n store calls answer throttling/503)
 * }
 * Returns { url, close(), requests: [{ method, url, headers, body }] }.
 */
function startSecretStore(world) {
    const requests = [];
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            requests.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString() });
            const send = (status, value, type = "application/json") => {
                res.writeHead(status, { "content-type": type });
                res.end(typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value));
            };
            const throttled = () => world.throttleTimes > 0 && world.throttleTimes-- > 0;
            // EC2 instance metadata, IMDSv2 only (a request without the session token is refused).
            if (req.url === "/latest/api/token" && req.method === "PUT") return send(200, "imds-session-token", "text/plain");
            if (req.url.startsWith("/latest/meta-data/")) {
                if (req.headers["x-aws-ec2-metadata-token"] !== "imds-session-token") return send(401, "", "text/plain");
                if (req.url === "/latest/meta-data/iam/security-credentials/")
                    return world.role ? send(200, world.role, "text/plain") : send(404, "", "text/plain");
                if (req.url === `/latest/meta-data/iam/security-credentials/${world.role}`)
                    return send(200, { Code: "Success", ...CREDENTIALS });
                return send(404, "", "text/plain");
            }
            // Secrets Manager (JSON 1.1 protocol).
            if (req.method === "POST" && req.url === "/sm/") {
                const check = verifySigV4(
                    { method: req.method, url: "/sm/", headers: req.headers, body },
                    { [CREDENTIALS.AccessKeyId]: CREDENTIALS.SecretAccessKey },
                );
                if (!check.ok) return send(403, { __type: "InvalidSignatureException", message: check.reason });
                if (req.headers["x-amz-security-token"] !== CREDENTIALS.Token)
                    return send(403, { __type: "UnrecognizedClientException", message: "bad token" });
                if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue")
                    return send(400, { __type: "UnknownOperationException" });
                if (throttled()) return send(400, { __type: "ThrottlingException", message: "Rate exceeded" });
                const { SecretId } = JSON.parse(body.toString());
                const secret = world.aws?.[SecretId];
                if (!secret)
                    return send(400, { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret." });
                if (secret.deniedTimes > 0 && secret.deniedTimes-- > 0)
                    return send(400, {
                        __type: "AccessDeniedException",
                        Message: "User is not authorized to perform: secretsmanager:GetSecretValue",
                    });
                return send(200, {
                    ARN: SecretId,
                    Name: "n",
                    VersionId: "v1",
                    ...(secret.binary ? { SecretBinary: secret.binary.toString("base64") } : { SecretString: secret.string }),
                });
            }
            // GCE metadata server.
            if (req.url === "/computeMetadata/v1/instance/service-accounts/default/token") {
                if (req.headers["metadata-flavor"] !== "Google") return send(403, "", "text/plain");
                return send(200, { access_token: GCE_TOKEN, expires_in: 3599, token_type: "Bearer" });
            }
            // Secret Manager: GET /v1/projects/P/secrets/S/versions/V:access
            const access = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/.exec(req.url);
            if (access && req.method === "GET") {
                if (req.headers.authorization !== `Bearer ${GCE_TOKEN}`)
                    return send(401, { error: { code: 401, status: "UNAUTHENTICATED" } });
                if (world.gcpScopeInsufficient)
                    return send(403, {
                        error: {
                            code: 403,
                            message: "Request had insufficient authentication scopes.",
                            status: "PERMISSION_DENIED",
                            details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT" }],
                        },
                    });
                if (throttled()) return send(503, { error: { code: 503, status: "UNAVAILABLE" } });
                const secret = world.gcp?.[access[1]];
                if (!secret)
                    return send(404, {
                        error: { code: 404, status: "NOT_FOUND", message: `Secret [${access[1]}] not found or has no versions.` },
                    });
                if (secret.deniedTimes > 0 && secret.deniedTimes-- > 0)
                    return send(403, {
                        error: { code: 403, status: "PERMISSION_DENIED", message: "Permission 'secretmanager.versions.access' denied" },
                    });
                const numbers = Object.keys(secret.versions)
                    .map(Number)
                    .sort((a, b) => a - b);
                const version = access[2] === "latest" ? numbers[numbers.length - 1] : Number(access[2]);
                const data = secret.versions[version];
                if (!data) return send(404, { error: { code: 404, status: "NOT_FOUND" } });
                return send(200, { name: `${access[1]}/versions/${version}`, payload: { data: data.toString("base64") } });
            }
            send(404, "", "text/plain");
        });
    });
    return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => {
            const url = `http://127.0.0.1:${server.address().port}`;
            resolve({ url, requests, close: () => new Promise((done) => server.close(done)) });
        });
    });
}

/** The environment that points fetch-key at a stand-in started by startSecretStore. */
function fetchKeyEnv(url) {
    return {
        BOOTLOOP_RESCUE_IMDS: url,
        BOOTLOOP_RESCUE_GCE_METADATA: `${url}/computeMetadata/v1`,
        BOOTLOOP_RESCUE_AWS_SECRETS_ENDPOINT: `${url}/sm/`,
        BOOTLOOP_RESCUE_GCP_SECRETS_ENDPOINT: `${url}/v1/`,
    };
}

module.exports = { startSecretStore, fetchKeyEnv, CREDENTIALS };
