#!/usr/bin/env node
// TEST STAND-IN for the Pulumi CLI's `pulumi config set [--secret|--plaintext] --stack S KEY [VALUE]`
// (the value from standard input when not given, as the real CLI reads it). It writes the stack
// file in the working folder as Pulumi does: a secret as `secure:` ciphertext (here a random token,
// never the value), a plain value as itself; the secrets' plaintext goes to FAKE_PULUMI_SECRETS
// (a JSON file) for the test to check. Every call is appended to FAKE_PULUMI_LOG.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const YAML = require("yaml");
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify(argv) + "\n");
const fail = (m) => {
    process.stderr.write(`error: ${m}\n`);
    process.exit(255);
};
if (argv[0] !== "config" || argv[1] !== "set") fail(`the stand-in knows only "config set", not ${argv.slice(0, 2).join(" ")}`);
let secret = false,
    stack,
    positional = [];
for (let i = 2; i < argv.length; i++) {
    if (argv[i] === "--secret") secret = true;
    else if (argv[i] === "--plaintext") secret = false;
    else if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i].startsWith("-")) fail(`unknown flag ${argv[i]}`);
    else positional.push(argv[i]);
}
if (!stack) fail("no --stack");
const [key, given] = positional;
const value = given !== undefined ? given : fs.readFileSync(0, "utf8").replace(/\n$/, "");
const file = `Pulumi.${stack}.yaml`;
const doc = fs.existsSync(file) ? YAML.parse(fs.readFileSync(file, "utf8")) || {} : {};
doc.config = doc.config || {};
if (secret) {
    doc.config[key] = { secure: `v1:${crypto.randomBytes(24).toString("base64")}` };
    const store = process.env.FAKE_PULUMI_SECRETS;
    const secrets = fs.existsSync(store) ? JSON.parse(fs.readFileSync(store, "utf8")) : {};
    secrets[key] = value;
    fs.writeFileSync(store, JSON.stringify(secrets));
} else doc.config[key] = value;
fs.writeFileSync(file, YAML.stringify(doc));
