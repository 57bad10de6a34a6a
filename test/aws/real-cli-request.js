// Runs inside a network namespace with only loopback (`unshare -n`): the real aws CLI for each
// argument list, against a local recorder that keeps the request it sends and answers with an
// error (nothing can reach a cloud: no route out, the endpoint is the recorder). Prints, for each,
// the request as received: [{argv, method, path, target, body}].
//   node real-cli-request.js SPEC.json   (SPEC: [argv…], each without the endpoint options)
"use strict";
const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
execFileSync("ip", ["link", "set", "lo", "up"]);
const home = fs.mkdtempSync(path.join(os.tmpdir(), "real-cli-request-"));
let last;
const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (d) => chunks.push(d));
    req.on("end", () => {
        last = { method: req.method, path: req.url, target: req.headers["x-amz-target"], body: Buffer.concat(chunks).toString("utf8") };
        res.writeHead(400, { "content-type": "text/xml" });
        res.end("<Response><Errors><Error><Code>Recorder</Code><Message>not a cloud</Message></Error></Errors></Response>");
    });
});
server.listen(0, "127.0.0.1", async () => {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    const out = [];
    for (const argv of spec) {
        last = undefined;
        const code = await new Promise((resolve) => {
            const child = spawn(
                "/usr/bin/aws",
                ["--endpoint-url", endpoint, "--cli-connect-timeout", "5", "--cli-read-timeout", "5", ...argv],
                {
                    env: {
                        PATH: process.env.PATH,
                        HOME: home,
                        LANG: "C.UTF-8",
                        AWS_ACCESS_KEY_ID: "AKIDREPLAYNOTREAL",
                        AWS_SECRET_ACCESS_KEY: "replay",
                        AWS_CONFIG_FILE: "/nonexistent",
                        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
                        AWS_EC2_METADATA_DISABLED: "true",
                        AWS_MAX_ATTEMPTS: "1",
                        AWS_PAGER: "",
                    },
                    stdio: ["ignore", "ignore", "pipe"],
                },
            );
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            child.on("close", (c) => resolve({ c, stderr }));
        });
        out.push({ argv, code: code.c, stderr: code.stderr.slice(0, 500), ...(last || {}) });
    }
    server.close();
    fs.rmSync(home, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(out));
});
