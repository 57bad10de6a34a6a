import { NoObservationError } from "./types";

/**
 * Node's codes for a server certificate it could not verify (Node's fetch puts them on the error's
 * `cause`, the AWS SDK's handler on the error itself). Behind a TLS-inspecting proxy, or with a
 * private CA the CLIs were given (AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE, gcloud's custom CA file), these
 * are what the watcher's own requests meet: Node trusts its bundled roots and NODE_EXTRA_CA_CERTS only.
 */
const TLS_CODES = new Set([
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "CERT_UNTRUSTED",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The TLS verification code of `err` (itself or its causes, a few deep), or undefined when it is no such failure. */
export function tlsCode(err: unknown): string | undefined {
    let e: unknown = err;
    for (let depth = 0; depth < 4 && e && typeof e === "object"; depth++) {
        const code = (e as { code?: unknown }).code;
        if (typeof code === "string" && TLS_CODES.has(code)) return code;
        e = (e as { cause?: unknown }).cause;
    }
    return undefined;
}

/**
 * When `err` is a certificate the watcher could not verify, the error to reject with: a
 * {@link NoObservationError} (no object's fault: the batch gets no observation, the watcher backs
 * off and, past its blind grace, fails the waits with this message) naming NODE_EXTRA_CA_CERTS.
 */
export function tlsFailure(err: unknown, what: string): NoObservationError | undefined {
    const code = tlsCode(err);
    if (code === undefined) return undefined;
    return new NoObservationError(
        `${what}: the server's TLS certificate could not be verified (${code}); a TLS-inspecting proxy or a private CA ` +
            "needs its CA certificate (PEM) in NODE_EXTRA_CA_CERTS for the watcher's own requests (the CLIs' CA settings do not apply to them)",
    );
}
