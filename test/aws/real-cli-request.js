// Runs inside a network namespace with only loopback (`unshare -n`): the real aws CLI for each
// argument list, against the local recorder (test/helpers/cli-recorder.js) that keeps the request
// it sends and answers with an error (nothing can reach a cloud: no route out, the endpoint is the
// recorder). Prints, for each, the request as received: [{argv, code, stderr, method, path, target, body}].
//   node real-cli-request.js SPEC.json   (SPEC: [argv…], each without the endpoint options)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { awsInvocation, loopbackUp, runCli, startRecorder } = require("../helpers/cli-recorder");

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
loopbackUp();
const home = fs.mkdtempSync(path.join(os.tmpdir(), "real-cli-request-"));
(async () => {
    const recorder = await startRecorder({
        status: 400,
        contentType: "text/xml",
        body: "<Response><Errors><Error><Code>Recorder</Code><Message>not a cloud</Message></Error></Errors></Response>",
    });
    const out = [];
    for (const argv of spec) {
        const before = recorder.requests.length;
        const { command, args, env } = awsInvocation(recorder.endpoint, argv, { PATH: process.env.PATH, HOME: home, LANG: "C.UTF-8" });
        const run = await runCli(command, args, env, 120_000);
        // The last request this call sent (none: the CLI refused it before sending).
        const sent = recorder.requests.length > before ? recorder.requests[recorder.requests.length - 1] : {};
        out.push({ argv, code: run.code, stderr: run.stderr.slice(0, 500), ...sent });
    }
    recorder.close();
    fs.rmSync(home, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(out));
})();
