#!/usr/bin/env node
// Measures what the stand-in CLIs cost the API front per request: replays the first N calls of a
// sandbox run's api-calls.log (sandbox/api/front.js writes it beside its worlds) against copies of
// that run's worlds, and prints the CPU spent per call. Nothing of the run is written.
//
//   node sandbox/cli/replay-calls.js MODE N RUN_DIR [CLI_ROOT] [HASHES_FILE]
//
// MODE: `spawn` runs each call as a Node process of CLI_ROOT/<cloud>/<cli> (as the front did before
// it ran them in-process), `inproc` runs CLI_ROOT/<cloud>/<cli>-cli.js's run() in this process (as
// the front does now). CLI_ROOT defaults to this folder; point it at an older checkout's
// sandbox/cli to measure that. RUN_DIR holds api-calls.log and the three <cli>-world.json. The
// budget refills a billion times faster than real time, so that neither mode is throttled where
// the other is not: two modes given the same calls give the same answers, which HASHES_FILE (each
// call's exit code, and hashes of its stdout and stderr, a line) lets you compare with diff.
"use strict";
const { spawnSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const { cpuSeconds } = require("./process-cpu.js");
const os = require("os");
const path = require("path");

const FOLDERS = { aws: "aws", az: "azure", gcloud: "gcp" };
const VARS = { aws: "FAKE_AWS", az: "FAKE_AZ", gcloud: "FAKE_GCLOUD" };
const USAGE = "usage: node sandbox/cli/replay-calls.js spawn|inproc N RUN_DIR [CLI_ROOT] [HASHES_FILE]";

const hash = (text) => crypto.createHash("sha256").update(text).digest("hex").slice(0, 16);

function main() {
    const [mode, count, runDir, rootArg, hashesFile] = process.argv.slice(2);
    const root = path.resolve(rootArg || __dirname);
    if (!["spawn", "inproc"].includes(mode) || !/^[1-9]\d*$/.test(count || "") || !runDir) {
        process.stderr.write(`${USAGE}\n`);
        process.exit(2);
    }
    const log = path.join(runDir, "api-calls.log");
    const calls = fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .slice(0, Number(count))
        .map((line, n) => {
            const call = JSON.parse(line);
            if (!FOLDERS[call.cli] || !Array.isArray(call.argv)) throw new Error(`${log}: line ${n + 1} is no {cli, argv} of a stand-in`);
            return call;
        });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-calls-"));
    try {
        const env = { ...process.env, BOOTLOOP_RATE_SCALE: "1000000000", BOOTLOOP_TIME_SCALE: "1000000000", FAKE_OUT_LOG: "" };
        for (const cli of Object.keys(FOLDERS)) {
            const world = path.join(dir, `${cli}-world.json`);
            fs.copyFileSync(path.join(runDir, `${cli}-world.json`), world);
            env[`${VARS[cli]}_STATE`] = world;
            env[`${VARS[cli]}_LOG`] = path.join(dir, `${cli}-calls.log`);
        }
        const runs = {};
        const lines = [];
        const before = cpuSeconds();
        const started = Date.now();
        for (const { cli, argv } of calls) {
            // The front's AWS requests are signed with the sandbox's own key (sandbox/api/aws.js SANDBOX_KEY).
            const callEnv = cli === "aws" ? { ...env, AWS_ACCESS_KEY_ID: "AKIASANDBOXNOTREAL00" } : { ...env };
            let r;
            if (mode === "spawn") {
                const p = spawnSync(process.execPath, [path.join(root, FOLDERS[cli], cli), ...argv], {
                    env: callEnv,
                    encoding: "utf8",
                    maxBuffer: 1 << 28,
                });
                if (p.error) throw p.error;
                r = { code: p.status, stdout: p.stdout, stderr: p.stderr };
            } else {
                runs[cli] = runs[cli] || require(path.join(root, FOLDERS[cli], `${cli}-cli.js`)).run;
                r = runs[cli](argv, callEnv);
            }
            lines.push(`${r.code} ${hash(r.stdout)} ${hash(r.stderr)} ${cli} ${argv.filter((a) => !a.startsWith("-")).join(" ")}`);
        }
        const after = cpuSeconds();
        const self = after.self - before.self;
        const children = after.children - before.children;
        if (hashesFile) fs.writeFileSync(hashesFile, `${lines.join("\n")}\n`);
        const worldBytes = Object.fromEntries(Object.keys(FOLDERS).map((cli) => [cli, fs.statSync(env[`${VARS[cli]}_STATE`]).size]));
        process.stdout.write(
            `${JSON.stringify({
                mode,
                calls: calls.length,
                selfCpuSeconds: Number(self.toFixed(2)),
                childrenCpuSeconds: Number(children.toFixed(2)),
                cpuMsPerCall: Number(((1000 * (self + children)) / calls.length).toFixed(2)),
                wallSeconds: (Date.now() - started) / 1000,
                worldBytesAfter: worldBytes,
            })}\n`,
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
