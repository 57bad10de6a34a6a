// Runs inside a network namespace with only loopback (`unshare -n`): replays CLI invocations
// through the real aws, gcloud and az against a local recorder that answers every request with an
// error, and reports for each whether the CLI accepted its arguments. Nothing can reach a cloud:
// there is no route out of the namespace, and every endpoint points at the recorder.
//   node real-cli-replay.js SPEC.json   (SPEC: [{cli, argv}]) → JSON on stdout: [{cli, argv, verdict, detail}]
"use strict";
const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
execFileSync("ip", ["link", "set", "lo", "up"]);
const home = fs.mkdtempSync(path.join(os.tmpdir(), "real-cli-"));
const token = path.join(home, "token");
fs.writeFileSync(token, "ya29.replay-token-not-real");

/** Argument errors each CLI reports before it sends anything. */
const REJECTED = {
    aws: /Unknown options|Parameter validation failed|Invalid choice|usage: aws|the following arguments are required|Error parsing parameter|expected one argument|Invalid value for parameter/,
    gcloud: /unrecognized arguments|argument --?[\w-]+: |Invalid value for|must be specified|is required|Invalid choice|ERROR: \(gcloud\) /,
    az: /unrecognized arguments|the following arguments are required|invalid choice|is not a valid value|expected one argument|not in the allowed values/,
};

let requests = 0;
const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
        requests++;
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 400, message: "replay recorder: not a cloud" } }));
    });
});

server.listen(0, "127.0.0.1", () => {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    const results = [];
    (async () => {
        for (const { cli, argv } of spec) {
            const before = requests;
            let command;
            let args;
            let env = { PATH: process.env.PATH, HOME: home, LANG: "C.UTF-8" };
            if (cli === "aws") {
                command = "/usr/bin/aws";
                args = ["--endpoint-url", endpoint, "--cli-connect-timeout", "5", "--cli-read-timeout", "5", ...argv];
                env = {
                    ...env,
                    AWS_ACCESS_KEY_ID: "AKIDREPLAYNOTREAL",
                    AWS_SECRET_ACCESS_KEY: "replay",
                    AWS_CONFIG_FILE: "/nonexistent",
                    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
                    AWS_EC2_METADATA_DISABLED: "true",
                    AWS_MAX_ATTEMPTS: "1",
                    AWS_PAGER: "",
                };
            } else if (cli === "gcloud") {
                command = "gcloud";
                args = argv;
                env = {
                    ...env,
                    CLOUDSDK_CONFIG: path.join(home, "gcloud"),
                    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: token,
                    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${endpoint}/compute/v1/`,
                    CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER: `${endpoint}/`,
                    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER: `${endpoint}/`,
                    CLOUDSDK_API_ENDPOINT_OVERRIDES_ORGPOLICY: `${endpoint}/`,
                    CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
                    CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
                    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
                    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
                };
            } else {
                command = "az";
                args = argv;
                env = { ...env, AZURE_CONFIG_DIR: path.join(home, "azure"), AZURE_CORE_COLLECT_TELEMETRY: "false" };
            }
            const run = await new Promise((resolve) => {
                // Asynchronously, so the recorder (this process) can answer while the CLI waits.
                const child = spawn(command, args, { env });
                let stderr = "";
                child.stderr.on("data", (d) => (stderr += d));
                child.stdout.on("data", () => {});
                const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
                child.on("close", (code) => (clearTimeout(timer), resolve({ code, stderr })));
                child.on("error", (e) => (clearTimeout(timer), resolve({ code: -1, stderr: String(e) })));
            });
            const reached = requests > before;
            let verdict;
            if (REJECTED[cli].test(run.stderr)) verdict = "rejected";
            else if (reached) verdict = "accepted";
            // A command that needs no request (gcloud auth print-access-token) and succeeded.
            else if (run.code === 0) verdict = "ran";
            // Parsed, then went for a host no endpoint override covers (connect-to-serial-port's
            // host keys at www.gstatic.com): argument errors exit 2 before any of that.
            else if (cli === "gcloud" && run.code !== 2 && /\(ServerNotFoundError\): Unable to find the server at/.test(run.stderr))
                verdict = "ran";
            else if (cli === "az" && /No module named|ModuleNotFoundError/.test(run.stderr)) verdict = "unloadable";
            else if (cli === "az" && run.code !== 2) verdict = "parsed";
            else verdict = "unknown";
            results.push({
                cli,
                argv,
                verdict,
                code: run.code,
                detail: run.stderr
                    .split("\n")
                    .filter((l) => l.trim())
                    .slice(-3)
                    .join(" | ")
                    .slice(0, 600),
            });
        }
        process.stdout.write(JSON.stringify(results));
        server.close();
        process.exit(0);
    })();
});
