// Systems Manager documents in the simulated AWS world: the repair document the rescue
// instances run (the CLI's send-command refuses a document that is not here, once the world
// simulates repairs). A new content is a new version of the same document.
import { createHash } from "crypto";
import { Props, StandInResource } from "../host";
import { AwsDocument, AwsWorld } from "../../world/aws-world";
import { accountOf, autoName, inWorld, refuse, regionOf, tagsOf } from "./cloud";
import { required, str } from "./values";

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
