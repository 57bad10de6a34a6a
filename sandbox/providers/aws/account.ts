// The account a stand-in aws provider instance acts in, as the real provider's configuration
// decides it: with `assumeRoles`, the account of the last role it assumes (each role is assumed
// with the credentials the one before gave); without, the ambient credentials' account (the
// world's). A role the world marks unassumable (`unassumable`, as the stand-in CLI's
// `sts assume-role` refuses it) fails Configure with the provider's AccessDenied, and an account
// outside `allowedAccountIds` with its "AWS account ID not allowed". Every resource operation and
// lookup of the instance then acts in that account (./cloud.ts accountOf).
import { instanceSettings } from "../host";
import { AwsWorld, DEFAULT_ACCOUNT } from "../../world/aws-world";

/** What one provider instance acts with. */
export interface AwsInstanceSettings {
    /** The account its requests act in. */
    readonly account: string;
    /** The ARN of the role it assumed last, when it assumed one. */
    readonly role?: string;
    /** The session name it assumed that role with. */
    readonly sessionName?: string;
}

/** The account the world's ambient credentials act in. */
export const ambientAccountOf = (world: AwsWorld): string => world.account ?? DEFAULT_ACCOUNT;

/** The account of the provider instance the call in progress came for; the ambient one outside the engine's calls. */
export const actingAccountOf = (world: AwsWorld): string => instanceSettings<AwsInstanceSettings>()?.account ?? ambientAccountOf(world);

/** An IAM role ARN's account (`arn:aws:iam::222222222222:role/rescue` → 222222222222). */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/.+$/;

/** One `assumeRoles` entry: its role ARN and session name, checked. */
function roleOf(entry: unknown, at: string): { roleArn: string; sessionName?: string } {
    const e = (entry && typeof entry === "object" ? entry : {}) as { roleArn?: unknown; sessionName?: unknown };
    if (typeof e.roleArn !== "string" || !ROLE_ARN.test(e.roleArn))
        throw new Error(
            `aws:config:${at}.roleArn: ${JSON.stringify(e.roleArn)} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`,
        );
    return { roleArn: e.roleArn, sessionName: typeof e.sessionName === "string" ? e.sessionName : undefined };
}

/** A JSON-encoded list from the configuration ([] when absent). */
function listOf(config: Readonly<Record<string, string>>, key: string): unknown[] {
    const text = config[key];
    if (text === undefined || text === "") return [];
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new Error(`aws:config:${key}: not JSON (${text.slice(0, 80)})`);
    }
    if (value === null) return [];
    if (!Array.isArray(value)) throw new Error(`aws:config:${key}: a list was expected, got ${text.slice(0, 80)}`);
    return value;
}

/** The ARN a caller shows STS: the ambient user, or the session of the role it assumed. */
const callerArn = (account: string, role?: string, sessionName?: string): string =>
    role
        ? `arn:aws:sts::${account}:assumed-role/${role
              .slice(role.indexOf(":role/") + 6)
              .split("/")
              .pop()}/${sessionName ?? "aws-go-sdk"}`
        : `arn:aws:iam::${account}:user/discoverer`;

/**
 * Configures one provider instance from the engine's configuration (`config`, in `world`): the
 * account it acts in. Throws the provider's error for a role it cannot assume or an account it is
 * not allowed in.
 */
export function configureAws(world: AwsWorld, config: Readonly<Record<string, string>>): AwsInstanceSettings {
    let settings: AwsInstanceSettings = { account: ambientAccountOf(world) };
    listOf(config, "assumeRoles").forEach((entry, i) => {
        const { roleArn, sessionName } = roleOf(entry, `assumeRoles[${i}]`);
        if ((world.unassumable ?? []).includes(roleArn))
            throw new Error(
                [
                    `unable to validate AWS credentials.`,
                    `Details: IAM Role (${roleArn}) cannot be assumed.`,
                    ``,
                    `There are a number of possible causes of this - the most common are:`,
                    `  * The credentials used in order to assume the role are invalid`,
                    `  * The credentials do not have appropriate permission to assume the role`,
                    `  * The role ARN is not valid`,
                    ``,
                    `Error: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 00000000-0000-4000-8000-000000000000, api error AccessDenied: User: ${callerArn(settings.account, settings.role, settings.sessionName)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
                ].join("\n"),
            );
        settings = { account: ROLE_ARN.exec(roleArn)![1], role: roleArn, sessionName };
    });
    const allowed = listOf(config, "allowedAccountIds").map(String);
    if (allowed.length > 0 && !allowed.includes(settings.account)) throw new Error(`AWS account ID not allowed: ${settings.account}`);
    return settings;
}

/** The identity STS reports for the provider instance the call in progress came for. */
export function callerIdentityOf(world: AwsWorld): { account: string; arn: string; userId: string } {
    const s = instanceSettings<AwsInstanceSettings>();
    const account = actingAccountOf(world);
    return {
        account,
        arn: callerArn(account, s?.role, s?.sessionName),
        userId: s?.role ? `AROAFAKE:${s.sessionName ?? "aws-go-sdk"}` : "AIDAFAKE",
    };
}
