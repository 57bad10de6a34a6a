// Runs inside a network namespace with only loopback (`unshare -n`): replays CLI invocations
// through the real aws, gcloud and az against a local recorder that answers every request with an
// error, and reports for each whether the CLI accepted its arguments. Nothing can reach a cloud:
// there is no route out of the namespace, and every endpoint points at the recorder.
//   node real-cli-replay.js SPEC.json   (SPEC: [{cli, argv}]) → JSON on stdout: [{cli, argv, verdict, detail}]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { awsInvocation, loopbackUp, runCli, startRecorder } = require("./cli-recorder");

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
loopbackUp();
const home = fs.mkdtempSync(path.join(os.tmpdir(), "real-cli-"));
const token = path.join(home, "token");
fs.writeFileSync(token, "ya29.replay-token-not-real");

/** Argument errors each CLI reports before it sends anything. */
const REJECTED = {
    aws: /Unknown options|Parameter validation failed|Invalid choice|usage: aws|the following arguments are required|Error parsing parameter|expected one argument|Invalid value for parameter/,
    gcloud: /unrecognized arguments|argument --?[\w-]+: |Invalid value for|must be specified|is required|Invalid choice|ERROR: \(gcloud\) /,
    az: /unrecognized arguments|the following arguments are required|invalid choice|is not a valid value|expected one argument|not in the allowed values/,
};

startRecorder({
    status: 400,
    contentType: "application/json",
    body: JSON.stringify({ error: { code: 400, message: "replay recorder: not a cloud" } }),
}).then((recorder) => {
    const endpoint = recorder.endpoint;
    const results = [];
    (async () => {
        for (const { cli, argv } of spec) {
            const before = recorder.requests.length;
            let command;
            let args;
            let env = { PATH: process.env.PATH, HOME: home, LANG: "C.UTF-8" };
            if (cli === "aws") {
                ({ command, args, env } = awsInvocation(endpoint, argv, env));
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
            const run = await runCli(command, args, env, 120_000);
            const reached = recorder.requests.length > before;
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
        recorder.close();
        fs.rmSync(home, { recursive: true, force: true });
        process.exit(0);
    })();
});
