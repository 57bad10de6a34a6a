#!/usr/bin/env node
// STAND-IN (for the tests and for `npm run sandbox`) for the clouds' HTTP APIs, as the watcher calls
// them in its own process (its observations; components/<cloud>/watch.ts). One HTTP server on the
// loopback; each cloud's translator (./aws.js, ./gcp.js, ./azure.js: a path prefix of its own) turns
// a request into the call its stand-in CLI answers (sandbox/cli/<cloud>/), runs that stand-in on the
// same world with this process's environment (FAKE_*_STATE, FAKE_*_LOG: the call is logged and
// spent from the world's budget like any other), and turns the CLI's answer into the API's. The
// stand-in runs in this process (its module, sandbox/cli/<cloud>/<cli>-cli.js: one synchronous
// call, as its executable would make it), not as a Node process of its own: at a 100-VM fleet's
// 14,000 requests a process each cost ~68 ms of CPU. A cloud whose stand-in has no such module is
// run as its executable, as before.
//
//   node sandbox/api/front.js PORT_FILE [PARENT_PID]
//
// Writes {"port": N} to PORT_FILE once it listens; ends on SIGTERM, or when PARENT_PID is gone.
// Every stand-in call it makes is also appended to api-calls.log beside PORT_FILE ({cli, argv} a
// line): the stand-ins' own call logs hold CLI calls and API requests alike, and the engine bench
// tells them apart by it (a CLI process costs what the real CLI costs; an API request does not).
// On its way out it writes api-front-cpu.json beside PORT_FILE: the CPU it spent (`self`: its own,
// which now holds the in-process stand-ins' work; `children`: that of stand-ins run as processes),
// the simulated cloud's work, which no runner does, for the bench to show apart.
const { spawn } = require("child_process");
const fs = require("fs");
const { cpuSeconds } = require("../cli/process-cpu.js");
const http = require("http");
const path = require("path");

/** Each cloud's translator module and the stand-in CLI it asks (sandbox/cli/<folder>/<cli>). */
const CLOUDS = [
    { module: "./aws.js", folder: "aws", cli: "aws" },
    { module: "./gcp.js", folder: "gcp", cli: "gcloud" },
    { module: "./azure.js", folder: "azure", cli: "az" },
];

/** The translators present, each with its stand-in runner. */
function translators(apiLog) {
    const out = [];
    // The stand-ins' environment: this process's (it never changes it), with each call's own overrides.
    const baseEnv = { ...process.env };
    for (const c of CLOUDS) {
        if (!fs.existsSync(path.join(__dirname, c.module))) continue;
        const t = require(c.module);
        const folder = path.join(__dirname, "..", "cli", c.folder);
        const inProcess = path.join(folder, `${c.cli}-cli.js`);
        const run = fs.existsSync(inProcess) ? require(inProcess).run : undefined;
        const standIn = (argv, env) => {
            // The stand-in logs the call with the CLI's; this log says which of them were API requests.
            fs.appendFileSync(apiLog, JSON.stringify({ cli: c.cli, argv }) + "\n");
            return run ? run(argv, { ...baseEnv, ...(env || {}) }) : runStandIn(path.join(folder, c.cli), argv, env);
        };
        out.push({ ...t, standIn });
    }
    return out;
}

/** Runs a stand-in CLI as a process (never through PATH: a bench's cost wrappers price CLI calls, not API requests). */
function runStandIn(file, argv, env) {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [file, ...argv], {
            env: { ...process.env, ...(env || {}) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const out = [];
        const err = [];
        child.stdout.on("data", (d) => out.push(d));
        child.stderr.on("data", (d) => err.push(d));
        child.on("error", (e) => resolve({ code: 127, stdout: "", stderr: String(e) }));
        child.on("close", (code) =>
            resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
        );
    });
}

function main() {
    const [portFile, parent] = process.argv.slice(2);
    if (!portFile) {
        process.stderr.write("usage: node sandbox/api/front.js PORT_FILE [PARENT_PID]\n");
        process.exit(2);
    }
    const apiLog = path.join(path.dirname(portFile), "api-calls.log");
    fs.appendFileSync(apiLog, "");
    const clouds = translators(apiLog);
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on("data", (d) => chunks.push(d));
        req.on("end", async () => {
            const url = new URL(req.url, "http://front");
            const cloud = clouds.find((c) => url.pathname === c.prefix || url.pathname.startsWith(`${c.prefix}/`));
            let answer;
            try {
                answer = cloud
                    ? await cloud.handle(
                          {
                              method: req.method,
                              path: url.pathname.slice(cloud.prefix.length) || "/",
                              query: url.searchParams,
                              headers: req.headers,
                              body: Buffer.concat(chunks).toString("utf8"),
                          },
                          cloud.standIn,
                      )
                    : { status: 404, headers: { "content-type": "text/plain" }, body: `no stand-in API at ${url.pathname}` };
            } catch (err) {
                answer = {
                    status: 500,
                    headers: { "content-type": "text/plain" },
                    body: `stand-in API failed: ${err && err.stack ? err.stack : err}`,
                };
            }
            res.writeHead(answer.status, answer.headers || {});
            res.end(answer.body || "");
        });
    });
    server.listen(0, "127.0.0.1", () => {
        const tmp = `${portFile}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify({ port: server.address().port, pid: process.pid }));
        fs.renameSync(tmp, portFile);
    });
    const cpuFile = path.join(path.dirname(portFile), "api-front-cpu.json");
    let requests = 0;
    server.on("request", () => requests++);
    process.on("exit", () => {
        try {
            fs.writeFileSync(cpuFile, JSON.stringify({ ...cpuSeconds(), requests }));
        } catch {
            /* the folder is gone: nothing to tell */
        }
    });
    process.on("SIGTERM", () => process.exit(0));
    if (parent) {
        setInterval(() => {
            try {
                process.kill(Number(parent), 0);
            } catch {
                process.exit(0);
            }
        }, 1000).unref();
    }
}

main();
