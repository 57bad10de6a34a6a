// Checks an AWS Signature Version 4 (header form) the way AWS does: rebuilds the canonical request
// from what arrived and compares signatures. Plain JavaScript, so the real-CLI check can run it
// inside a network namespace without a compiler. Used by the stand-in Secrets Manager of the
// rescue side's tests; test/rescue/fetch-key.test.ts proves it accepts what the real aws CLI signs.
"use strict";
const crypto = require("crypto");

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => crypto.createHmac("sha256", key).update(data).digest();

/**
 * Verifies a request's signature. `req`: { method, url (path and query), headers (lowercase
 * names), body (Buffer) }; `secrets`: access key id → secret access key. Returns
 * { ok: true, keyId, region, service } or { ok: false, reason }.
 */
function verifySigV4(req, secrets) {
    const auth = req.headers.authorization || "";
    const m =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
            auth,
        );
    if (!m) return { ok: false, reason: "no SigV4 authorization header" };
    const [, keyId, date, region, service, signedHeaders, signature] = m;
    const secret = secrets[keyId];
    if (!secret) return { ok: false, reason: `unknown access key ${keyId}` };
    const amzDate = req.headers["x-amz-date"] || "";
    if (amzDate.slice(0, 8) !== date) return { ok: false, reason: "x-amz-date does not match the credential scope" };
    const names = signedHeaders.split(";");
    for (const required of ["host", "x-amz-date"]) if (!names.includes(required)) return { ok: false, reason: `${required} is not signed` };
    if (req.headers["x-amz-security-token"] !== undefined && !names.includes("x-amz-security-token"))
        return { ok: false, reason: "the session token is not signed" };
    const [pathPart, query = ""] = req.url.split("?");
    const canonicalQuery = query
        .split("&")
        .filter(Boolean)
        .map((p) => p.split("="))
        .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
        .map(([k, v = ""]) => `${k}=${v}`)
        .join("&");
    const headerLines = names.map(
        (n) =>
            `${n}:${String(req.headers[n] ?? "")
                .trim()
                .replace(/\s+/g, " ")}`,
    );
    const payloadHash = req.headers["x-amz-content-sha256"] || sha256(req.body);
    const canonical = [req.method, pathPart || "/", canonicalQuery, ...headerLines, "", signedHeaders, payloadHash].join("\n");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
    let key = Buffer.from(`AWS4${secret}`);
    for (const part of [date, region, service, "aws4_request"]) key = hmac(key, part);
    const expected = crypto.createHmac("sha256", key).update(toSign).digest("hex");
    if (expected !== signature) return { ok: false, reason: "signature does not match" };
    return { ok: true, keyId, region, service };
}

module.exports = { verifySigV4 };
