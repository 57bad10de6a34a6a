// Every channel that carries the rescue tools inline has a size limit the cloud enforces only when
// `pulumi up` creates the resource (no preview, no mock and no stand-in refuses an oversized one):
// this measures each payload the program would send and fails, printing every size against its
// limit, when one is over. The engine grows (more rules, Linux guests): the AWS tools travel in
// parts, and the GCP tools in project metadata items, whose count grows with it, so each document
// or item stays bounded (though one stack's GCP items all count against the project's 512 KB of
// metadata); Azure's Run Command carries all the tools in one value.
import { strict as assert } from "assert";
import { repairDocumentContent, rescueUserData } from "../../components/aws/rescue";
import { AWS_MAX_DISKS_PER_RESCUE } from "../../components/aws/steps";
import { SSM_DOCUMENT_MAX_BYTES, toolsPartDocuments } from "../../components/aws/tools";
import { toolsScript } from "../../components/azure/rescue";
import { GCP_MAX_DISKS_PER_RESCUE, RULE_SET_ATTRIBUTE, keySecretAttribute, startupScript } from "../../components/gcp/rescue";
import { toolsItems } from "../../components/gcp/tools";

/**
 * EC2 user data: "limited to 16 KB, in raw form, before it is base64-encoded" (the EC2 user guide,
 * instance user data; RunInstances UserData).
 */
const EC2_USER_DATA_MAX_BYTES = 16 * 1024;
/**
 * A GCE metadata value: "their size must be less than or equal to 262144 bytes (256 KiB)"; all keys
 * and values of an instance together "must be less than 512 KB" (compute v1 Metadata.items).
 */
const GCE_METADATA_VALUE_MAX_BYTES = 262_144;
const GCE_METADATA_TOTAL_MAX_BYTES = 512 * 1024;
/**
 * Azure managed Run Command, inline `source.script`: Microsoft documents no size limit for it (the
 * managed Run Command pages and the REST reference give none; only the output is capped, at 4 KB).
 * The Linux Run Command handler (Azure/run-command-handler-linux, internal/cmds/cmds.go) declares
 * `maxScriptSize = 256 * 1024`: the bound held here, an assumption until Microsoft documents one.
 */
const AZURE_RUN_COMMAND_SCRIPT_MAX_BYTES = 256 * 1024;
interface Measured {
    what: string;
    bytes: number;
    limit: number;
}

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * The largest metadata a GCP rescue instance can have: the startup script, the fixed keys, and a
 * key secret per disk at GCP_MAX_DISKS_PER_RESCUE, each a Secret Manager version name of the
 * longest form (project ids 30 characters, secret ids 255: projects/…/secrets/…/versions/latest).
 */
function gcpMetadataTotal(): number {
    const fixed = { "enable-guest-attributes": "TRUE", "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" };
    const longestSlug = "x".repeat(63);
    const longestSecret = `projects/${"p".repeat(30)}/secrets/${"s".repeat(255)}/versions/latest`;
    return (
        bytes("startup-script") +
        // The larger script: the tools inline, as a stack that shares its project has them.
        bytes(startupScript()) +
        Object.entries(fixed).reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0) +
        bytes(RULE_SET_ATTRIBUTE) +
        bytes("crowdstrike-291-" + "x".repeat(48)) +
        GCP_MAX_DISKS_PER_RESCUE * (bytes(keySecretAttribute(longestSlug)) + bytes(longestSecret))
    );
}

function measure(): Measured[] {
    const aws: Measured[] = [
        {
            what: "AWS repair document (SSM document content)",
            bytes: bytes(repairDocumentContent("crowdstrike-291")),
            limit: SSM_DOCUMENT_MAX_BYTES,
        },
        ...toolsPartDocuments().map((p) => ({
            what: `AWS tools part ${p.index} of ${p.count} (SSM document content)`,
            bytes: bytes(p.content),
            limit: SSM_DOCUMENT_MAX_BYTES,
        })),
        {
            what: "AWS rescue user data (cloud-init)",
            bytes: bytes(rescueUserData(AWS_MAX_DISKS_PER_RESCUE)),
            limit: EC2_USER_DATA_MAX_BYTES,
        },
    ];
    return [
        ...aws,
        {
            what: "GCP startup-script (one metadata value)",
            bytes: bytes(startupScript(toolsItems("dev"))),
            limit: GCE_METADATA_VALUE_MAX_BYTES,
        },
        {
            what: "GCP startup-script with the tools inline (a stack sharing its project: one metadata value)",
            bytes: bytes(startupScript()),
            limit: GCE_METADATA_VALUE_MAX_BYTES,
        },
        {
            what: "GCP rescue instance metadata, all keys and values, at most disks",
            bytes: gcpMetadataTotal(),
            limit: GCE_METADATA_TOTAL_MAX_BYTES,
        },
        ...toolsItems("dev").map((i) => ({
            what: `GCP tools item ${i.index} of ${i.count} (one project metadata value)`,
            bytes: bytes(i.value),
            limit: GCE_METADATA_VALUE_MAX_BYTES,
        })),
        {
            what: "GCP tools items of one stack, keys and values (of a project's 512 KB of metadata)",
            bytes: toolsItems("dev").reduce((n, i) => n + bytes(i.key) + bytes(i.value), 0),
            limit: GCE_METADATA_TOTAL_MAX_BYTES,
        },
        {
            what: "Azure tools Run Command source.script (assumed limit)",
            bytes: bytes(toolsScript()),
            limit: AZURE_RUN_COMMAND_SCRIPT_MAX_BYTES,
        },
    ];
}

const table = (rows: Measured[]) =>
    rows
        .map(
            (r) =>
                `  ${r.what}: ${r.bytes.toLocaleString("en")} of ${r.limit.toLocaleString("en")} bytes (${Math.round((100 * r.bytes) / r.limit)}%)`,
        )
        .join("\n");

describe("rescue tool payloads fit their clouds' channels", function () {
    this.timeout(60_000);
    const rows = measure();

    it("every payload is within its channel's limit", () => {
        process.stdout.write(`      payload sizes:\n${table(rows).replace(/^/gm, "    ")}\n`);
        const over = rows.filter((r) => r.bytes > r.limit);
        assert.deepEqual(
            over.map((r) => r.what),
            [],
            `over the limit:\n${table(over)}\nall payloads:\n${table(rows)}`,
        );
    });

    it("measures what it claims: the AWS tools are in more than one part, and every cloud carries the whole engine", () => {
        assert.ok(rows.filter((r) => r.what.startsWith("AWS tools part")).length >= 2, table(rows));
        // The engine alone (a zipapp of about 150 KB, gzip+base64) is tens of KB in every carrier.
        for (const r of rows.filter((x) => /tools/.test(x.what))) assert.ok(r.bytes > 30_000, `${r.what}\n${table(rows)}`);
    });
});
