// IAM in the GCP stand-in provider: service accounts, and one member of a Secret Manager secret's
// policy (the secrets the gcloud stand-in keeps, which its simulated rescue agent reads only
// when the rescue instance's service account is such a member).
import { StandInResource } from "../host";
import { GcpSecret, GcpWorld } from "../../world/gcp-world";
import { added, attempt, etag, googleApiError, numericId, required, text } from "./google-api";
import { inWorld, projectIdOf, projectNumberOf } from "./store";

/** The email of a service account: accountId@project.iam.gserviceaccount.com. */
export function serviceAccountEmail(accountId: string, project: string): string {
    return `${accountId}@${project}.iam.gserviceaccount.com`;
}

/** A service account of a project. */
export const account: StandInResource = {
    // ForceNew in google_service_account's schema (hashicorp/terraform-provider-google at e03b7622a2,
    // google/services/resourcemanager/resource_google_service_account.go); names and description update.
    replaceOn: ["accountId", "project"],
    create(inputs) {
        const project = required(inputs, "project");
        const accountId = required(inputs, "accountId");
        const email = serviceAccountEmail(accountId, project);
        const uniqueId = numericId(21);
        inWorld((w) =>
            attempt("Error creating service account", () => {
                if (w.serviceAccounts[email])
                    throw new Error(
                        googleApiError(
                            409,
                            `Service account ${accountId} already exists within project projects/${project}.`,
                            "alreadyExists",
                        ),
                    );
                w.serviceAccounts[email] = {
                    project,
                    accountId,
                    uniqueId,
                    displayName: text(inputs, "displayName"),
                    description: text(inputs, "description"),
                };
            }),
        );
        const name = `projects/${project}/serviceAccounts/${email}`;
        return { id: name, outs: added(inputs, { email, name, uniqueId, member: `serviceAccount:${email}`, disabled: false }) };
    },
    read(id) {
        const email = id.split("/").pop()!;
        return inWorld((w) => (w.serviceAccounts[email] ? { email } : undefined));
    },
    update(id, _olds, news) {
        const email = id.split("/").pop()!;
        inWorld((w) => {
            const a = w.serviceAccounts[email];
            if (a) Object.assign(a, { displayName: text(news, "displayName"), description: text(news, "description") });
        });
    },
    delete(id) {
        const email = id.split("/").pop()!;
        inWorld((w) => void delete w.serviceAccounts[email]);
    },
};

/** The secret `projects/P/secrets/S` names (P an id or number), or Secret Manager's 404. */
function secretIn(w: GcpWorld, project: string, secretId: string): GcpSecret {
    const [, p, s] = /^projects\/([^/]+)\/secrets\/([^/]+)$/.exec(secretId) ?? [undefined, project, secretId];
    const id = projectIdOf(w, p);
    const found = w.secrets[s];
    if (!found || projectIdOf(w, found.project) !== id)
        throw new Error(googleApiError(404, `Secret [projects/${projectNumberOf(w, id)}/secrets/${s}] not found.`, "notFound"));
    return found;
}

/** The secret a member binding's id names, and its role and member. */
function parseMemberId(id: string): { secretId: string; role: string; member: string } | undefined {
    const m = /^(projects\/[^/]+\/secrets\/[^/]+)\/(roles\/[^/]+)\/(.+)$/.exec(id);
    return m ? { secretId: m[1], role: m[2], member: m[3] } : undefined;
}

/** One member of one role on a secret; the other members of the policy stay as they are. */
export const secretIamMember: StandInResource = {
    // ForceNew in google_secret_manager_secret_iam_member's schema (hashicorp/terraform-provider-google
    // at e03b7622a2: project and secret_id in google/services/secretmanager/iam_secret_manager_secret.go,
    // role, member and condition in google/tpgiamresource/resource_iam_member.go): every field.
    replaceOn: ["project", "secretId", "role", "member", "condition"],
    create(inputs) {
        const project = required(inputs, "project");
        const role = required(inputs, "role");
        const member = required(inputs, "member");
        const secretId = required(inputs, "secretId");
        const resource = /^projects\//.test(secretId) ? secretId : `projects/${project}/secrets/${secretId}`;
        inWorld((w) =>
            attempt(`Error retrieving IAM policy for secretmanager secret "${resource}"`, () => {
                const secret = secretIn(w, project, resource);
                const email = /^serviceAccount:(.+)$/.exec(member)?.[1];
                if (email?.endsWith(".iam.gserviceaccount.com") && !w.serviceAccounts[email])
                    throw new Error(googleApiError(400, `Service account ${email} does not exist.`, "badRequest"));
                secret.iam ??= [];
                if (!secret.iam.some((b) => b.role === role && b.member === member)) secret.iam.push({ role, member });
            }),
        );
        return { id: `${resource}/${role}/${member}`, outs: { etag: etag() } };
    },
    read(id) {
        const parsed = parseMemberId(id);
        if (!parsed) return undefined;
        return inWorld((w) => {
            try {
                const secret = secretIn(w, "", parsed.secretId);
                return (secret.iam ?? []).some((b) => b.role === parsed.role && b.member === parsed.member) ? {} : undefined;
            } catch {
                return undefined;
            }
        });
    },
    delete(id) {
        const parsed = parseMemberId(id);
        if (!parsed) return;
        inWorld((w) => {
            const secret = w.secrets[parsed.secretId.split("/").pop()!];
            if (secret?.iam) secret.iam = secret.iam.filter((b) => !(b.role === parsed.role && b.member === parsed.member));
        });
    },
};
