// IAM in the simulated AWS world (global, not regional): roles, their managed-policy attachments
// and inline policies, and instance profiles. What the rescue instances run as: the CLI's
// simulated repair reads a BitLocker secret only when the rescue instance's role has an inline
// policy that allows it.
import { Props, StandInResource } from "../host";
import { AwsIam, AwsRole, AwsWorld } from "../../world/aws-world";
import { accountOf, autoName, hexOf, inWorld, refuse, tagsOf, uniqueId } from "./cloud";

/** Whether an IAM ARN is of the account the call in progress acts in (IAM names are per account). */
export const inMyAccount = (world: AwsWorld, arn: string): boolean => arn.split(":")[4] === accountOf(world);
import { required, str } from "./values";

const now = () => new Date().toISOString();

/** The world's IAM, created empty when it has none. */
function iamOf(world: AwsWorld): AwsIam {
    world.iam = world.iam ?? { roles: {}, instanceProfiles: {} };
    return world.iam;
}

/** A name as the provider chooses it: `name`, else `namePrefix` and a unique suffix, else Pulumi's auto-name. */
function nameOf(world: AwsWorld, inputs: Props, urn: string): string {
    const prefix = str(inputs, "namePrefix");
    if (str(inputs, "name")) return str(inputs, "name")!;
    if (prefix) return `${prefix}${hexOf(`${urn}#${(world.serial = (world.serial ?? 0) + 1)}`, 26)}`;
    return autoName(world, urn);
}

/** The role `name`, or the cloud's NoSuchEntity. */
function roleNamed(world: AwsWorld, name: string, doing: string, operation: string): AwsRole {
    const role = iamOf(world).roles[name];
    if (!role || !inMyAccount(world, role.arn)) refuse(doing, operation, "NoSuchEntity", `The role with name ${name} cannot be found.`);
    return role;
}

/** Whether a managed policy exists: AWS managed ones always do, customer managed ones when the world holds them. */
function policyExists(world: AwsWorld, arn: string): boolean {
    return /^arn:aws[a-z-]*:iam::aws:policy\//.test(arn) || Boolean(iamOf(world).policies?.[arn]);
}

/** A role's outputs. */
function roleOuts(name: string, role: AwsRole): Props {
    return {
        arn: role.arn,
        createDate: role.createDate,
        description: role.description ?? "",
        name,
        namePrefix: "",
        path: role.path,
        permissionsBoundary: role.permissionsBoundary ?? "",
        uniqueId: role.roleId,
        maxSessionDuration: 3600,
        tags: role.tags ?? {},
        tagsAll: role.tags ?? {},
    };
}

/** The boundary must be a managed policy that exists (IAM's PutRolePermissionsBoundary). */
function checkBoundary(world: AwsWorld, boundary: string | undefined, doing: string, operation: string): void {
    if (boundary && !policyExists(world, boundary))
        refuse(doing, operation, "NoSuchEntity", `Scope ARN: ${boundary} does not exist or is not attachable.`);
}

/**
 * aws:iam/role:Role. Replaced on a change of name, namePrefix or path (ForceNew in
 * terraform-provider-aws internal/service/iam/role.go); IAM is global, so no region.
 */
export const role: StandInResource = {
    replaceOn: ["name", "namePrefix", "path"],
    create: (inputs, urn) =>
        inWorld((world) => {
            const name = nameOf(world, inputs, urn);
            const doing = `creating IAM Role (${name})`;
            if (iamOf(world).roles[name]) refuse(doing, "IAM: CreateRole", "EntityAlreadyExists", `Role with name ${name} already exists.`);
            try {
                JSON.parse(required(inputs, "assumeRolePolicy", "IAM Role"));
            } catch {
                refuse(doing, "IAM: CreateRole", "MalformedPolicyDocument", "This policy contains invalid Json");
            }
            checkBoundary(world, str(inputs, "permissionsBoundary"), doing, "IAM: CreateRole");
            const path = str(inputs, "path") ?? "/";
            iamOf(world).roles[name] = {
                arn: `arn:aws:iam::${accountOf(world)}:role${path}${name}`,
                roleId: uniqueId("AROA", `role ${name} ${world.serial}`),
                assumeRolePolicy: required(inputs, "assumeRolePolicy", "IAM Role"),
                description: str(inputs, "description"),
                path,
                permissionsBoundary: str(inputs, "permissionsBoundary"),
                createDate: now(),
                tags: tagsOf(inputs),
                attachedPolicies: [],
                inlinePolicies: {},
            };
            return { id: name, outs: roleOuts(name, iamOf(world).roles[name]) };
        }),
    read: (id) => inWorld((world) => (iamOf(world).roles[id] ? roleOuts(id, iamOf(world).roles[id]) : undefined)),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const r = roleNamed(world, id, `updating IAM Role (${id})`, "IAM: UpdateRole");
            checkBoundary(
                world,
                str(news, "permissionsBoundary"),
                `updating IAM Role (${id}) permissions boundary`,
                "IAM: PutRolePermissionsBoundary",
            );
            r.assumeRolePolicy = str(news, "assumeRolePolicy") ?? r.assumeRolePolicy;
            r.description = str(news, "description");
            r.permissionsBoundary = str(news, "permissionsBoundary");
            r.tags = tagsOf(news);
            return roleOuts(id, r);
        }),
    delete: (id) =>
        inWorld((world) => {
            const iam = iamOf(world);
            const r = iam.roles[id];
            if (!r) return;
            // The provider takes the role out of its instance profiles first; policies must be gone already.
            for (const p of Object.values(iam.instanceProfiles)) if (p.role === id) delete p.role;
            const doing = `deleting IAM Role (${id})`;
            if (r.attachedPolicies.length > 0)
                refuse(doing, "IAM: DeleteRole", "DeleteConflict", "Cannot delete entity, must detach all policies first.");
            if (Object.keys(r.inlinePolicies).length > 0)
                refuse(doing, "IAM: DeleteRole", "DeleteConflict", "Cannot delete entity, must delete policies first.");
            delete iam.roles[id];
        }),
};

/**
 * aws:iam/rolePolicyAttachment:RolePolicyAttachment. Replaced on a change of role or policyArn
 * (ForceNew in terraform-provider-aws internal/service/iam/role_policy_attachment.go).
 */
export const rolePolicyAttachment: StandInResource = {
    replaceOn: ["role", "policyArn"],
    create: (inputs) =>
        inWorld((world) => {
            const name = required(inputs, "role", "IAM Role Policy Attachment");
            const arn = required(inputs, "policyArn", "IAM Role Policy Attachment");
            const doing = `attaching IAM Policy (${arn}) to IAM Role (${name})`;
            const r = roleNamed(world, name, doing, "IAM: AttachRolePolicy");
            if (!policyExists(world, arn))
                refuse(doing, "IAM: AttachRolePolicy", "NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
            if (!r.attachedPolicies.includes(arn)) r.attachedPolicies.push(arn);
            // The provider's id: the role, a hyphen and a 26-digit unique id (PrefixedUniqueId).
            world.serial = (world.serial ?? 0) + 1;
            const stamp = now().replace(/\D/g, "").slice(0, 18);
            return { id: `${name}-${stamp}${String(world.serial).padStart(8, "0")}` };
        }),
    read: (_id, props) =>
        inWorld((world) => (iamOf(world).roles[String(props.role)]?.attachedPolicies.includes(String(props.policyArn)) ? {} : undefined)),
    delete: (_id, props) =>
        inWorld((world) => {
            const r = iamOf(world).roles[String(props.role)];
            if (r) r.attachedPolicies = r.attachedPolicies.filter((a) => a !== props.policyArn);
        }),
};

/**
 * aws:iam/rolePolicy:RolePolicy (an inline policy). Replaced on a change of name, namePrefix or
 * role (ForceNew in terraform-provider-aws internal/service/iam/role_policy.go); the policy text
 * changes in place.
 */
export const rolePolicy: StandInResource = {
    replaceOn: ["name", "namePrefix", "role"],
    create: (inputs, urn) =>
        inWorld((world) => {
            const roleName = required(inputs, "role", "IAM Role Policy");
            const name = nameOf(world, inputs, urn);
            const doing = `putting IAM Role (${roleName}) Policy (${name})`;
            const r = roleNamed(world, roleName, doing, "IAM: PutRolePolicy");
            r.inlinePolicies[name] = policyText(required(inputs, "policy", "IAM Role Policy"), doing);
            return { id: `${roleName}:${name}`, outs: { name, namePrefix: "" } };
        }),
    read: (id) =>
        inWorld((world) => {
            const [roleName, name] = id.split(":");
            const text = iamOf(world).roles[roleName]?.inlinePolicies[name];
            return text === undefined ? undefined : { name, role: roleName, policy: text };
        }),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const [roleName, name] = id.split(":");
            const doing = `putting IAM Role (${roleName}) Policy (${name})`;
            roleNamed(world, roleName, doing, "IAM: PutRolePolicy").inlinePolicies[name] = policyText(
                required(news, "policy", "IAM Role Policy"),
                doing,
            );
        }),
    delete: (id) =>
        inWorld((world) => {
            const [roleName, name] = id.split(":");
            const r = iamOf(world).roles[roleName];
            if (r) delete r.inlinePolicies[name];
        }),
};

/** A policy document, checked as IAM checks it (JSON with a Statement). */
function policyText(text: string, doing: string): string {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        refuse(doing, "IAM: PutRolePolicy", "MalformedPolicyDocument", "This policy contains invalid Json");
    }
    if (!doc || typeof doc !== "object" || !("Statement" in doc))
        refuse(doing, "IAM: PutRolePolicy", "MalformedPolicyDocument", "Syntax errors in policy.");
    return text;
}

/**
 * aws:iam/instanceProfile:InstanceProfile. Replaced on a change of name, namePrefix or path
 * (ForceNew in terraform-provider-aws internal/service/iam/instance_profile.go); its role changes in
 * place.
 */
export const instanceProfile: StandInResource = {
    replaceOn: ["name", "namePrefix", "path"],
    create: (inputs, urn) =>
        inWorld((world) => {
            const name = nameOf(world, inputs, urn);
            const doing = `creating IAM Instance Profile (${name})`;
            const iam = iamOf(world);
            if (iam.instanceProfiles[name])
                refuse(doing, "IAM: CreateInstanceProfile", "EntityAlreadyExists", `Instance Profile ${name} already exists.`);
            const roleName = str(inputs, "role");
            if (roleName)
                roleNamed(
                    world,
                    roleName,
                    `adding IAM Role (${roleName}) to IAM Instance Profile (${name})`,
                    "IAM: AddRoleToInstanceProfile",
                );
            const path = str(inputs, "path") ?? "/";
            iam.instanceProfiles[name] = {
                arn: `arn:aws:iam::${accountOf(world)}:instance-profile${path}${name}`,
                profileId: uniqueId("AIPA", `profile ${name} ${world.serial}`),
                path,
                role: roleName,
                createDate: now(),
                tags: tagsOf(inputs),
            };
            const p = iam.instanceProfiles[name];
            return {
                id: name,
                outs: { arn: p.arn, name, namePrefix: "", path, uniqueId: p.profileId, createDate: p.createDate, tagsAll: p.tags },
            };
        }),
    read: (id) =>
        inWorld((world) => {
            const p = iamOf(world).instanceProfiles[id];
            return p ? { arn: p.arn, name: id, path: p.path, role: p.role ?? "", tags: p.tags ?? {}, tagsAll: p.tags ?? {} } : undefined;
        }),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const p = iamOf(world).instanceProfiles[id];
            if (!p)
                refuse(
                    `updating IAM Instance Profile (${id})`,
                    "IAM: GetInstanceProfile",
                    "NoSuchEntity",
                    `Instance Profile ${id} cannot be found.`,
                );
            const roleName = str(news, "role");
            if (roleName)
                roleNamed(
                    world,
                    roleName,
                    `adding IAM Role (${roleName}) to IAM Instance Profile (${id})`,
                    "IAM: AddRoleToInstanceProfile",
                );
            p.role = roleName;
            p.tags = tagsOf(news);
            return { tagsAll: p.tags };
        }),
    delete: (id) =>
        inWorld((world) => {
            delete iamOf(world).instanceProfiles[id];
        }),
};
