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
//   node evidence.js verdict   any evidence line on stdin → when the repair failed for a reason of
//                              the VM's own (see vmFailure), two lines: that reason, and what a
//                              person does next; nothing otherwise
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

/**
 * Why a repair failed for a reason of the VM's own disk, with what a person does next; null when it
 * did not, or failed for a reason that is not the VM's (a broken rescue VM, a bad argument: those
 * stop the run). The VM's own: no Windows on the disk (3), BitLocker without a working key (4), a
 * disk unsafe to change (5), and a repair that found nothing it may change on a disk no earlier
 * repair changed (nothing to swap in: the copy would boot-loop as the original does). One bad disk
 * is then the VM's outcome, recorded in its chain, and the fleet goes on.
 */
function vmFailure(evidence) {
    if (evidence === null || typeof evidence !== "object") return null;
    // The engine's message may quote the disk (paths of a hostile guest): no control character of
    // it reaches a report, a log line or the JSON the steps print.
    const said = typeof evidence.message === "string" ? evidence.message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").slice(0, 500) : "";
    const untouched = "nothing was swapped; the VM and its original disk are untouched";
    // A finished chain never runs again: a retry is a new chain.
    const retry = "to retry it, raise retry: in its inventory entry by one and run up (its repair, fixed disk and swap run again, for it alone)";
    // Only outcomes that say something of the disk itself: a busy, read-only or already mounted
    // disk (5), an NTFS volume this rescue VM could not mount (3), are the rescue side's, and stop
    // the run as any error does.
    switch (evidence.exitCode) {
        case 3:
            if (evidence.outcome !== "no-windows" && evidence.outcome !== "unsupported") return null;
            return {
                reason: evidence.outcome === "unsupported" ? `the repair does not support this disk yet: ${said}` : `the repair found ${said}`,
                nextStep: `check that the inventory entry names this VM's OS disk; ${untouched}`,
            };
        case 4:
            if (evidence.outcome !== "locked") return null;
            return {
                reason: `the disk is BitLocker-encrypted and no key given unlocked it (${said})`,
                nextStep: `give its recovery password (npm run import-keys) or its key secret; ${retry}; ${untouched}`,
            };
        case 5:
            if (evidence.outcome !== "unsafe") return null;
            return {
                reason: `the repair found the disk unsafe to change (${said})`,
                nextStep: `read the evidence (npm run evidence) before anything else; ${untouched}`,
            };
        case 0: {
            const volumes = Array.isArray(evidence.volumes) ? evidence.volumes : [];
            const earlier = volumes.some((v) => v && Array.isArray(v.earlierQuarantines) && v.earlierQuarantines.length > 0);
            if (evidence.outcome !== "nothing-to-do" || earlier) return null;
            return {
                reason: "the repair found no file its rules match on the disk: a copy would boot-loop as the original does",
                nextStep: `find the cause from the VM's console and the evidence, then recover it by hand (docs/runbook.md), or give it another strategy: ${retry}; ${untouched}`,
            };
        }
        default:
            return null;
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
    // A failure of the VM's own disk is its outcome, kept with the evidence (the swap records it
    // and swaps nothing); any other failure stops the step, and so the run.
    if (evidence.exitCode !== 0 && !vmFailure(evidence))
        fail(`repair failed: ${evidence.outcome}: ${evidence.message}\n${JSON.stringify(evidence)}`);
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

/**
 * What `verdict` prints for an evidence line: the VM's own failure as two lines, its reason then
 * what a person does next (each on one line: line breaks a disk put in a message become spaces);
 * nothing when the repair did not fail for a reason of the VM's own.
 */
function verdictLines(line) {
    let evidence;
    try {
        evidence = JSON.parse(decode(line));
    } catch {
        return "";
    }
    const failure = vmFailure(evidence);
    const oneLine = (text) => text.replace(/[\r\n\u2028\u2029]+/g, " ");
    return failure ? `${oneLine(failure.reason)}\n${oneLine(failure.nextStep)}\n` : "";
}

module.exports = { pack, unpack, vmFailure };

if (require.main === module) {
    const line = fs.readFileSync(0, "utf8").trim();
    const label = process.env.VM_LABEL || "";
    const mode = process.argv[2];
    if (mode === "settle") settle(line, label);
    else if (mode === "repack") repack(line);
    else if (mode === "verdict") process.stdout.write(verdictLines(line));
    else {
        process.stderr.write(`bootloop-rescue: evidence.js: unknown mode ${mode}\n`);
        process.exit(2);
    }
}
