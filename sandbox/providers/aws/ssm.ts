// Systems Manager in the simulated AWS world: documents (the repair document the rescue instances
// run: the CLI's send-command refuses a document that is not here, once the world simulates
// repairs; a new content is a new version of the same document), and State Manager associations
// (the tools' parts, each applied to a rescue instance once: the world records the tools
// installed there, and the CLI's simulated repair refuses to run without those of its version).
import { createHash } from "crypto";
import { Props, StandInResource } from "../host";
import { AwsAssociation, AwsDocument, AwsWorld } from "../../world/aws-world";
import { accountOf, autoName, hexOf, inWorld, refuse, regionOf, tagsOf, waitUntil } from "./cloud";
import { num, required, str } from "./values";
import { pollOther } from "./budget";

/** The documents of the world, created empty when it has none. */
function documentsOf(world: AwsWorld): Record<string, AwsDocument> {
    world.ssm.documents = world.ssm.documents ?? {};
    return world.ssm.documents;
}

/** What Systems Manager reads out of a JSON document: its description, schema version and parameters. */
function parsed(content: string): { description: string; schemaVersion: string; parameters: Props[] } {
    const doc = JSON.parse(content) as {
        description?: string;
        schemaVersion?: string;
        parameters?: Record<string, { type?: string; description?: string; default?: unknown }>;
    };
    return {
        description: doc.description ?? "",
        schemaVersion: doc.schemaVersion ?? "",
        parameters: Object.entries(doc.parameters ?? {}).map(([name, p]) => ({
            name,
            type: p.type ?? "String",
            description: p.description ?? "",
            defaultValue: p.default === undefined ? "" : String(p.default as string),
        })),
    };
}

/** A document's outputs as the provider reads them back. */
function documentOuts(name: string, d: AwsDocument): Props {
    const content = d.versions[d.versions.length - 1];
    const { description, schemaVersion, parameters } = parsed(content);
    const version = String(d.versions.length);
    return {
        arn: `arn:aws:ssm:${d.region}:${d.account}:document/${name}`,
        content,
        createdDate: d.createdDate,
        defaultVersion: version,
        description,
        documentFormat: d.documentFormat,
        documentType: d.documentType,
        documentVersion: version,
        hash: createHash("sha256").update(content).digest("hex"),
        hashType: "Sha256",
        latestVersion: version,
        name,
        owner: d.account,
        parameters,
        platformTypes: content.includes("aws:runShellScript") ? ["Linux", "MacOS"] : ["Windows"],
        region: d.region,
        schemaVersion,
        status: "Active",
        tags: d.tags ?? {},
        tagsAll: d.tags ?? {},
    };
}

/** The content, checked as Systems Manager checks a JSON document. */
function checkedContent(content: string, format: string, doing: string, operation: string): string {
    if (format !== "JSON") return content;
    try {
        const doc = JSON.parse(content) as { schemaVersion?: unknown };
        if (typeof doc.schemaVersion !== "string") throw new Error("no schemaVersion");
    } catch {
        refuse(doing, operation, "InvalidDocumentContent", "JSON not well-formed or missing schemaVersion");
    }
    return content;
}

/**
 * aws:ssm/document:Document. Replaced on a change of name (ForceNew in terraform-provider-aws
 * internal/service/ssm/document.go) and of region (internal/provider/sdkv2/region.go); a new content
 * is a new document version.
 */
export const document: StandInResource = {
    replaceOn: ["name", "region"],
    create: (inputs, urn) =>
        inWorld((world) => {
            const name = str(inputs, "name") ?? autoName(world, urn);
            const doing = `creating SSM Document (${name})`;
            const format = str(inputs, "documentFormat") ?? "JSON";
            const content = checkedContent(required(inputs, "content", "SSM Document"), format, doing, "SSM: CreateDocument");
            const docs = documentsOf(world);
            if (docs[name]) refuse(doing, "SSM: CreateDocument", "DocumentAlreadyExists", `Document with same name ${name} already exists`);
            docs[name] = {
                content,
                documentType: required(inputs, "documentType", "SSM Document"),
                documentFormat: format,
                region: regionOf(inputs),
                account: accountOf(world),
                createdDate: new Date().toISOString(),
                tags: tagsOf(inputs),
                versions: [content],
            };
            return { id: name, outs: documentOuts(name, docs[name]) };
        }),
    read: (id) => inWorld((world) => (documentsOf(world)[id] ? documentOuts(id, documentsOf(world)[id]) : undefined)),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const d = documentsOf(world)[id];
            const doing = `updating SSM Document (${id})`;
            if (!d) refuse(doing, "SSM: UpdateDocument", "InvalidDocument", `Document with name ${id} does not exist.`);
            const content = checkedContent(required(news, "content", "SSM Document"), d.documentFormat, doing, "SSM: UpdateDocument");
            if (content !== d.versions[d.versions.length - 1]) d.versions.push(content);
            d.content = content;
            d.tags = tagsOf(news);
            return documentOuts(id, d);
        }),
    delete: (id) =>
        inWorld((world) => {
            delete documentsOf(world)[id];
        }),
};

/** The associations of the world, created empty when it has none. */
function associationsOf(world: AwsWorld): Record<string, AwsAssociation> {
    world.ssm.associations = world.ssm.associations ?? {};
    return world.ssm.associations;
}

/** An association id as State Manager forms them (a UUID), from its URN and the world's serial. */
function associationId(world: AwsWorld, urn: string): string {
    world.serial = (world.serial ?? 0) + 1;
    return hexOf(`${urn}#${world.serial}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
}

/** An association's outputs as the provider reads them back. */
function associationOuts(id: string, a: AwsAssociation): Props {
    return {
        applyOnlyAtCronInterval: false,
        arn: `arn:aws:ssm:${a.region}:${a.account}:association/${id}`,
        associationId: id,
        associationName: a.associationName ?? "",
        documentVersion: "$DEFAULT",
        name: a.name,
        region: a.region,
        targets: [{ key: "InstanceIds", values: a.instances }],
        tags: a.tags ?? {},
        tagsAll: a.tags ?? {},
    };
}

/**
 * What the SSM agent of `instance` does with the tools part document `content` (components/aws/
 * tools.ts): keeps its characters, and once every part of the set is there, joins them, checks
 * them against the bundle's SHA-256 and records the tools' version installed. Returns a failure's
 * reason, or undefined. A document that is no tools part fails, as its script would not run.
 */
function runToolsPart(world: AwsWorld, instance: string, content: string): string | undefined {
    const script = ((JSON.parse(content) as { mainSteps?: { inputs?: { runCommand?: string[] } }[] }).mainSteps ?? [])
        .flatMap((s) => s.inputs?.runCommand ?? [])
        .join("\n");
    const head = /^version=([0-9a-f]{16}) sha=([0-9a-f]{64}) part=([0-9]+) count=([0-9]+)$/m.exec(script);
    const chars = /^printf '%s' '([A-Za-z0-9+/=]*)' > "\$parts\/\$part\.new"$/m.exec(script);
    if (!head || !chars) return "the document is not a part of the rescue tools (the stand-in runs nothing else)";
    const [, version, sha, part, count] = head;
    const installed = ((world.ssm.tools ??= {})[instance] ??= []);
    if (installed.includes(version)) return undefined;
    const parts = (((world.ssm.toolParts ??= {})[instance] ??= {})[sha] ??= {});
    parts[part] = chars[1];
    const all = Array.from({ length: Number(count) }, (_, i) => parts[String(i + 1)]);
    if (all.some((p) => p === undefined)) return undefined;
    const bytes = Buffer.from(all.join(""), "base64");
    if (createHash("sha256").update(bytes).digest("hex") !== sha)
        return `the ${count} parts of rescue tools ${version} do not add up (sha256 ${createHash("sha256").update(bytes).digest("hex")}, expected ${sha})`;
    installed.push(version);
    delete world.ssm.toolParts[instance][sha];
    return undefined;
}

/**
 * One look at an association, as State Manager moves it on: a Pending one is applied once its
 * instance's agent is online (each look brings that nearer, as the CLI's describe-instance-information
 * does), and is then Success or Failed.
 */
function applyAssociation(world: AwsWorld, a: AwsAssociation): void {
    if (a.status !== "Pending") return;
    for (const instance of a.instances) {
        const agent = world.ssm.instances[instance];
        if (!agent || !world.instances[instance]) return;
        if ((agent.onlineAfterPolls ?? 0) > 0) {
            agent.onlineAfterPolls = (agent.onlineAfterPolls ?? 0) - 1;
            return;
        }
    }
    const doc = documentsOf(world)[a.name];
    const failures = a.instances
        .map((instance) => (doc ? runToolsPart(world, instance, doc.versions[doc.versions.length - 1]) : `document ${a.name} is gone`))
        .filter((f): f is string => f !== undefined);
    a.status = failures.length ? "Failed" : "Success";
    if (failures.length) a.detailedStatus = failures[0];
}

/**
 * aws:ssm/association:Association. Replaced on a change of name or instanceId (ForceNew in
 * terraform-provider-aws internal/service/ssm/association.go) and of region
 * (internal/provider/sdkv2/region.go); everything else (targets, associationName, tags, ...) is
 * an UpdateAssociation. With waitForSuccessTimeoutSeconds, create waits as the provider's
 * waitAssociationSuccess does (internal/service/ssm/wait.go): Pending until Success, and a
 * Failed association fails the create with State Manager's detailed status.
 */
export const association: StandInResource = {
    replaceOn: ["name", "instanceId", "region"],
    async create(inputs, urn) {
        const id = inWorld((world) => {
            const name = required(inputs, "name", "SSM Association");
            const doing = "creating SSM association";
            if (documentsOf(world)[name]?.account !== accountOf(world))
                refuse(doing, "SSM: CreateAssociation", "InvalidDocument", `Document with name ${name} does not exist.`);
            const targets = (inputs.targets as { key?: string; values?: string[] }[] | undefined) ?? [];
            const instances = targets.filter((t) => t.key === "InstanceIds").flatMap((t) => t.values ?? []);
            if (!instances.length || targets.some((t) => t.key !== "InstanceIds"))
                refuse(doing, "SSM: CreateAssociation", "InvalidTarget", "the stand-in takes only InstanceIds targets");
            const made = associationId(world, urn);
            associationsOf(world)[made] = {
                name,
                instances,
                associationName: str(inputs, "associationName"),
                region: regionOf(inputs),
                account: accountOf(world),
                status: "Pending",
                createdDate: new Date().toISOString(),
                tags: tagsOf(inputs),
            };
            return made;
        });
        if (num(inputs, "waitForSuccessTimeoutSeconds")) {
            await waitUntil(
                `SSM Association (${id}) to be Success`,
                (world) => {
                    const a = associationsOf(world)[id];
                    applyAssociation(world, a);
                    return a.status !== "Pending";
                },
                () => pollOther("ssm DescribeAssociation", inputs),
            );
            const failed = inWorld((world) => associationsOf(world)[id]);
            if (failed.status !== "Success")
                throw new Error(
                    `waiting for SSM Association (${id}) to be Success: unexpected state '${failed.status}', wanted target 'Success'. last error: ${failed.detailedStatus ?? ""}`,
                );
        }
        return { id, outs: inWorld((world) => associationOuts(id, associationsOf(world)[id])) };
    },
    read: (id) =>
        inWorld((world) => {
            const a = associationsOf(world)[id];
            if (!a) return undefined;
            applyAssociation(world, a);
            return associationOuts(id, a);
        }),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const a = associationsOf(world)[id];
            if (!a) refuse(`updating SSM association (${id})`, "SSM: UpdateAssociation", "AssociationDoesNotExist", "");
            const targets = (news.targets as { key?: string; values?: string[] }[] | undefined) ?? [];
            a.instances = targets.filter((t) => t.key === "InstanceIds").flatMap((t) => t.values ?? []);
            a.associationName = str(news, "associationName");
            a.tags = tagsOf(news);
            // An update applies the association again (State Manager runs it at once).
            a.status = "Pending";
            return associationOuts(id, a);
        }),
    delete: (id) =>
        inWorld((world) => {
            delete associationsOf(world)[id];
        }),
};
