"use strict";
// The repair evidence as the stack's state keeps it: one line, `dict1-deflate-base64:` and the
// document deflated with a preset dictionary (evidence-dictionary-1.txt: four evidence documents of
// the usual disk layouts with their volatile values blanked), so that what every repair document
// repeats (field names, rule texts, partition types, messages) costs almost nothing. The demo
// disk's evidence packs to 480 bytes this way, 2,044 as gzip-base64.
//
// The dictionary is part of the format: states written with it must stay readable, so it never
// changes (a test pins its hash); a better one would be `dict2-…`, with this one still read.
// `gzip-base64:` (how the rescue side sends evidence, and how states of earlier versions keep
// it) and plain JSON lines are read too.
//
// Used by the TypeScript program (require) and by the command scripts:
//   node evidence.js settle    the rescue's line on stdin → the packed line on stdout; exit 1 with
//                              the reason on stderr when it cannot be read (EVIDENCE_UNREADABLE,
//                              EVIDENCE_SHA256 of the reassembled line when there is one) or when
//                              the repair failed (its outcome and message, then the document)
//   node evidence.js repack    any evidence line on stdin → the packed line; a line that does not
//                              decode becomes a JSON line saying so (never fails)
// Both name the VM by VM_LABEL.
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

const PACKED = "dict1-deflate-base64:";
const RESCUE = "gzip-base64:";
const TRUNCATED = JSON.stringify({ outcome: "unknown", message: "the evidence arrived truncated; see /var/log/bootloop-rescue on the rescue VM" });

let dictionary;
const dict = () => (dictionary ??= fs.readFileSync(path.join(__dirname, "evidence-dictionary-1.txt")));

/** The packed line of an evidence document (JSON text); "" for none. */
function pack(text) {
    return text === "" ? "" : PACKED + zlib.deflateRawSync(Buffer.from(text, "utf8"), { level: 9, dictionary: dict() }).toString("base64");
}

/** The document of an evidence line, packed either way or plain; throws when a packed line does not decode. */
function decode(line) {
    if (line.startsWith(PACKED)) return zlib.inflateRawSync(Buffer.from(line.slice(PACKED.length), "base64"), { dictionary: dict() }).toString("utf8");
    if (line.startsWith(RESCUE)) return zlib.gunzipSync(Buffer.from(line.slice(RESCUE.length), "base64")).toString("utf8");
    return line;
}

/** The document of an evidence line; a packed line that does not decode gives a document saying so. */
function unpack(line) {
    try {
        return decode(line);
    } catch {
        return TRUNCATED;
    }
}

function settle(line, label) {
    const fail = (message) => {
        process.stderr.write(`bootloop-rescue: ${label}: ${message}\n`);
        process.exit(1);
    };
    if (process.env.EVIDENCE_SHA256 && require("crypto").createHash("sha256").update(line).digest("hex") !== process.env.EVIDENCE_SHA256) {
        fail("the evidence parts did not reassemble (sha256 differs); it stays in /var/log/bootloop-rescue on the rescue instance");
    }
    let evidence;
    try {
        evidence = JSON.parse(decode(line));
    } catch {
        fail(process.env.EVIDENCE_UNREADABLE || "the repair printed no readable evidence");
    }
    if (evidence === null || typeof evidence !== "object") fail(process.env.EVIDENCE_UNREADABLE || "the repair printed no readable evidence");
    if (evidence.exitCode !== 0) fail(`repair failed: ${evidence.outcome}: ${evidence.message}\n${JSON.stringify(evidence)}`);
    // The command keeps it in state; the VM's record shows it decoded.
    process.stdout.write(pack(JSON.stringify(evidence)));
}

function repack(line) {
    let text;
    try {
        text = decode(line);
        JSON.parse(text);
    } catch {
        text = TRUNCATED;
    }
    process.stdout.write(pack(text));
}

module.exports = { pack, unpack };

if (require.main === module) {
    const line = fs.readFileSync(0, "utf8").trim();
    const label = process.env.VM_LABEL || "";
    const mode = process.argv[2];
    if (mode === "settle") settle(line, label);
    else if (mode === "repack") repack(line);
    else {
        process.stderr.write(`bootloop-rescue: evidence.js: unknown mode ${mode}\n`);
        process.exit(2);
    }
}
