// How the rescue tools reach an AWS rescue instance: in parts, one Systems Manager Command document
// each, applied to every rescue instance once by a State Manager association per part (rescue.ts).
// Each part writes itself on the instance; the part that completes the set reassembles them,
// checks the whole against its SHA-256 and installs the tools, atomically, in a folder of their
// own version. The repair document carries no tools: it waits (a bounded time) for its version.
import { createHash } from "crypto";
import { RESCUE_LIB, ToolsBundle, splitText, toolsBundle } from "../../rescue/payload";
import { TOOLS_WAIT_SECONDS } from "./step-waits";

/**
 * The most a Systems Manager document's content may hold: 64 KB ("The content of the document
 * must not exceed 64KB", CreateDocument's Content in the SSM API reference; MaxDocumentSizeExceeded:
 * "The size limit of a document is 64 KB"). Counted here in bytes of the JSON text.
 */
export const SSM_DOCUMENT_MAX_BYTES = 64 * 1024;

/**
 * Base64 characters of the tools per part document: 48 KB, so that a part (its script around the
 * characters is under 3 KB) stays well under {@link SSM_DOCUMENT_MAX_BYTES}. A larger engine makes
 * more parts, never a larger one.
 */
export const TOOLS_PART_CHARS = 48 * 1024;

/** One part document of the tools: which part, and its JSON content. */
export interface ToolsPart {
    /** 1-based. */
    index: number;
    /** How many parts the tools are in. */
    count: number;
    /** The document's content (JSON, schema 2.2). */
    content: string;
}

/** The folder the tools of `version` are installed in on a rescue instance (its `version` file is written last). */
export const toolsFolder = (version: string) => `${RESCUE_LIB}/tools/${version}`;

/**
 * The script of part `index` of `count`: keeps its characters under RESCUE_LIB/.parts/<sha256>/,
 * and when every part is there (under a lock: parts run at once), reassembles them, checks the
 * SHA-256, runs the bundle into a fresh folder, writes the version last and renames the folder
 * into place (one rename: a repair sees all the tools of its version or none). Tools already
 * installed: nothing is done. POSIX sh (Systems Manager runs a shell script with /bin/sh);
 * every value in it is the program's own (numbers, hex digits, base64).
 */
function partScript(bundle: ToolsBundle, index: number, count: number, chars: string): string[] {
    return [
        "set -eu",
        "umask 022",
        `lib=\${BOOTLOOP_RESCUE_LIB:-${RESCUE_LIB}}`,
        `version=${bundle.version} sha=${bundle.sha256} part=${index} count=${count}`,
        'tools="$lib/tools/$version" parts="$lib/.parts/$sha"',
        'if [ -f "$tools/version" ]; then echo "bootloop-rescue: rescue tools $version are installed"; exit 0; fi',
        'mkdir -p "$parts"',
        `printf '%s' '${chars}' > "$parts/$part.new"`,
        'mv -f "$parts/$part.new" "$parts/$part"',
        'exec 9>"$parts/lock"',
        "flock 9",
        'if [ -f "$tools/version" ]; then echo "bootloop-rescue: rescue tools $version are installed"; exit 0; fi',
        "i=1",
        'while [ "$i" -le "$count" ]; do',
        '    if [ ! -f "$parts/$i" ]; then echo "bootloop-rescue: part $part of $count of rescue tools $version kept; part $i is still to come"; exit 0; fi',
        "    i=$((i + 1))",
        "done",
        'stage=$(mktemp -d "$lib/.stage.XXXXXX")',
        'i=1; : > "$stage/bundle.b64"',
        'while [ "$i" -le "$count" ]; do cat "$parts/$i" >> "$stage/bundle.b64"; i=$((i + 1)); done',
        'base64 -d "$stage/bundle.b64" > "$stage/bundle.gz"',
        'got=$(sha256sum "$stage/bundle.gz" | cut -d " " -f 1)',
        'if [ "$got" != "$sha" ]; then rm -rf "$stage"; echo "bootloop-rescue: the $count parts of rescue tools $version do not add up (sha256 $got, expected $sha)" >&2; exit 1; fi',
        'mkdir "$stage/tools"',
        'gzip -dc "$stage/bundle.gz" > "$stage/install.sh"',
        'sh -e "$stage/install.sh" "$stage/tools"',
        'printf \'%s\\n\' "$version" > "$stage/tools/version"',
        'mkdir -p "$lib/tools"',
        'mv -T "$stage/tools" "$tools"',
        'rm -rf "$stage" "$parts"',
        'echo "bootloop-rescue: rescue tools $version installed in $tools"',
    ];
}

/**
 * The tools' part documents: the bundle (rescue/payload.ts) in base64, cut into parts of at most
 * {@link TOOLS_PART_CHARS} characters, each a Command document that takes no parameter. Same
 * tools, same documents.
 */
export function toolsPartDocuments(bundle: ToolsBundle = toolsBundle()): ToolsPart[] {
    const pieces = splitText(bundle.bytes.toString("base64"), TOOLS_PART_CHARS);
    return pieces.map((chars, i) => ({
        index: i + 1,
        count: pieces.length,
        content: JSON.stringify({
            schemaVersion: "2.2",
            description: `bootloop-rescue: rescue tools ${bundle.version}, part ${i + 1} of ${pieces.length} (installs them once all parts are on the instance)`,
            mainSteps: [
                {
                    action: "aws:runShellScript",
                    name: "toolsPart",
                    precondition: { StringEquals: ["platformType", "Linux"] },
                    inputs: { timeoutSeconds: "600", runCommand: partScript(bundle, i + 1, pieces.length, chars) },
                },
            ],
        }),
    }));
}

/** A short hash of the part documents: names them, so that other parts are other documents and associations. */
export function toolsDeliveryKey(parts: readonly ToolsPart[] = toolsPartDocuments()): string {
    const hash = createHash("sha256");
    for (const p of parts) hash.update(p.content).update("\0");
    return hash.digest("hex").slice(0, 10);
}

/**
 * The lines a repair document starts with: wait up to {@link TOOLS_WAIT_SECONDS} for the tools of
 * `version`, else print on-rescue.sh's own "cannot run" evidence (exit 6) naming what is missing.
 * POSIX sh. Leaves `tools` set to their folder.
 */
export function toolsWaitLines(version: string): string[] {
    const message = `rescue tools ${version} were not delivered to this rescue instance within ${TOOLS_WAIT_SECONDS} s (one State Manager association per part delivers them: see the association history of this instance)`;
    // Quoted for sh as is: the message is the program's own text, without a quote of its own.
    if (message.includes("'")) throw new Error("internal: the tools message must not hold a single quote");
    return [
        `lib=\${BOOTLOOP_RESCUE_LIB:-${RESCUE_LIB}}`,
        `tools="$lib/tools/${version}"`,
        `waited=0 limit=\${BOOTLOOP_TOOLS_WAIT_SECONDS:-${TOOLS_WAIT_SECONDS}}`,
        `while [ "$(cat "$tools/version" 2>/dev/null)" != ${version} ] && [ "$waited" -lt "$limit" ]; do sleep 5; waited=$((waited + 5)); done`,
        `if [ "$(cat "$tools/version" 2>/dev/null)" != ${version} ]; then`,
        `    echo 'bootloop-rescue: ${message}' >&2`,
        `    printf '%s\\n' '${JSON.stringify({ tool: "bootloop-rescue/on-rescue", outcome: "error", exitCode: 6, message })}'`,
        "    exit 6",
        "fi",
    ];
}
