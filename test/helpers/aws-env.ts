/**
 * Keeps a developer's AWS configuration out of tests that set fake keys, as sandbox/run.ts's
 * sandboxEnv does: with AWS_PROFILE set, the SDK's default chain skips the keys in the environment
 * and resolves the profile (a real account's credentials, SSO, a credential process).
 */
export const NO_AWS_PROFILE: Readonly<Record<string, string | undefined>> = {
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_CONFIG_FILE: "/nonexistent/bootloop-rescue-test/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/bootloop-rescue-test/aws-credentials",
};

/** Sets `changes` in this process's environment (undefined deletes); returns the function that restores what was there. */
export function setEnv(changes: Readonly<Record<string, string | undefined>>): () => void {
    const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, process.env[k]]));
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    return () => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
}

/** A developer's profile that does not exist: tests that must not reach it set it around themselves. */
export const A_DEVELOPERS_PROFILE = { AWS_PROFILE: "bootloop-rescue-test-developers-own-profile" };
