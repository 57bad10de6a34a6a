// The local recorder the real-CLI replays send to, inside a network namespace with only loopback
// (`unshare -n`): it keeps each request and answers it with a fixed error, so nothing reaches a
// cloud. One module for real-cli-replay.js (does each CLI accept its arguments?) and
// test/aws/real-cli-request.js (which request does the aws CLI send?).
"use strict";
const { execFileSync, spawn } = require("child_process");
const http = require("http");

/** Brings up loopback in the new namespace (it starts down). */
function loopbackUp() {
    execFileSync("ip", ["link", "set", "lo", "up"]);
}

/**
 * Starts the recorder on 127.0.0.1: every request is kept ({method, path, target, body}, the body
 * bounded) and answered with `answer` ({status, contentType, body}). Resolves to
 * {endpoint, requests (the list so far), close()}.
 */
function startRecorder(answer) {
    const requests = [];
    const server = http.createServer((req, res) => {
        const chunks = [];
        let size = 0;
        req.on("data", (d) => {
            size += d.length;
            if (size <= 1 << 20) chunks.push(d);
        });
        req.on("end", () => {
            requests.push({
                method: req.method,
                path: req.url,
                target: req.headers["x-amz-target"],
                body: Buffer.concat(chunks).toString("utf8"),
            });
            res.writeHead(answer.status, { "content-type": answer.contentType });
            res.end(answer.body);
        });
    });
    return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () =>
            resolve({
                endpoint: `http://127.0.0.1:${server.address().port}`,
                requests,
                close: () => server.close(),
            }),
        );
    });
}

/** The real aws CLI's command and arguments against the recorder, and its environment (no profile, no metadata, one attempt). */
function awsInvocation(endpoint, argv, base) {
    return {
        command: "/usr/bin/aws",
        args: ["--endpoint-url", endpoint, "--cli-connect-timeout", "5", "--cli-read-timeout", "5", ...argv],
        env: {
            ...base,
            AWS_ACCESS_KEY_ID: "AKIDREPLAYNOTREAL",
            AWS_SECRET_ACCESS_KEY: "replay",
            AWS_CONFIG_FILE: "/nonexistent",
            AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_MAX_ATTEMPTS: "1",
            AWS_PAGER: "",
        },
    };
}

/**
 * Runs one CLI process asynchronously (so the recorder, in this process, can answer while it waits),
 * its output discarded, killed after `timeoutMs`. Resolves to {code, stderr}.
 */
function runCli(command, args, env, timeoutMs) {
    return new Promise((resolve) => {
        const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => {
            if (stderr.length < 1 << 20) stderr += d;
        });
        child.stdout.on("data", () => {});
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (code) => (clearTimeout(timer), resolve({ code, stderr })));
        child.on("error", (e) => (clearTimeout(timer), resolve({ code: -1, stderr: String(e) })));
    });
}

module.exports = { awsInvocation, loopbackUp, runCli, startRecorder };
