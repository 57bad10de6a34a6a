// How the rescue tools reach a GCP rescue instance: in project metadata, once per project, stack and
// version of the tools (not in every instance's startup script). The bundle (rescue/payload.ts) in
// base64 is cut into items of at most TOOLS_ITEM_CHARS characters, one project metadata item each;
// a rescue instance's startup script names the items, their count and the bundle's SHA-256 as
// constants, reads them from the metadata server (no other network: the instance reads its own
// metadata there already), checks the SHA-256 and installs the tools, atomically, in a folder of
// their own version. Tools of that version already installed (a reboot): nothing is read.
import { createHash } from "crypto";
import { RESCUE_LIB, ToolsBundle, splitText, toolsBundle } from "../../rescue/payload";

/**
 * The most one metadata value may hold: "their size must be less than or equal to 262144 bytes
 * (256 KiB)" (compute v1 Metadata.items). All of a project's metadata together must stay under
 * 512 KB (the same page): see {@link TOOLS_ITEM_CHARS}.
 */
export const GCE_METADATA_VALUE_MAX_BYTES = 262_144;

/**
 * Base64 characters of the tools per project metadata item: 200 KB, under
 * {@link GCE_METADATA_VALUE_MAX_BYTES}. A larger engine makes more items, never a larger one.
 */
export const TOOLS_ITEM_CHARS = 200 * 1024;

/** All of a project's metadata, keys and values, must stay under this (compute v1 Metadata). */
export const PROJECT_METADATA_MAX_BYTES = 512 * 1024;

/** What the tools leave of a project's metadata to the project's own keys (SSH keys, startup scripts). */
export const PROJECT_METADATA_HEADROOM_BYTES = 64 * 1024;

/** How many stacks may share a project, from a stack's `rateShare` (1 / the most shards that share a scope: `npm run shard`). */
export function stacksSharingScope(rateShare: number): number {
    // Rounded up: a share set by hand between 1/2 and 1 still means another stack in the project
    // (a little tolerance for 1/3 written as 0.333).
    return Math.max(1, Math.ceil(1 / rateShare - 1e-6));
}

/**
 * Whether `stacks` stacks can each keep their tools' items in one project: each holds its own copy
 * (their keys carry the stack), twice while an update brings new tools (the old items go at its
 * end), and the project keeps {@link PROJECT_METADATA_HEADROOM_BYTES} for its own metadata. When
 * they cannot (the shards of one incident in one project), the tools travel in each rescue
 * instance's startup script instead (rescue.ts), as they did before.
 */
export function toolsFitProjectMetadata(stacks: number, items: readonly ToolsItem[] = toolsItems("")): boolean {
    const bytes = items.reduce((n, i) => n + Buffer.byteLength(i.key) + Buffer.byteLength(i.value), 0);
    return stacks * 2 * bytes + PROJECT_METADATA_HEADROOM_BYTES <= PROJECT_METADATA_MAX_BYTES;
}

/** Where the startup script reads project metadata (the metadata server; a test points it elsewhere). */
export const PROJECT_ATTRIBUTES_URL = "http://metadata.google.internal/computeMetadata/v1/project/attributes";

/** One project metadata item of the tools: its key and value. */
export interface ToolsItem {
    /** 1-based. */
    index: number;
    /** How many items the tools are in. */
    count: number;
    /** The metadata key: bootloop-rescue-tools-<sha256 prefix>-<stack hash>-<index>of<count>. */
    key: string;
    /** The base64 characters of this part of the bundle. */
    value: string;
}

/** The folder the tools of `version` are installed in on a rescue instance (its `version` file is written last). */
export const toolsFolder = (version: string) => `${RESCUE_LIB}/tools/${version}`;

/**
 * The tools' items for a stack: named from the bundle's SHA-256 and the stack, so that new tools
 * are new keys (never an update of a value a booting instance reads) and two stacks of one
 * project (the shards of one incident) never declare the same key. Same tools, same items.
 */
export function toolsItems(stack: string, bundle: ToolsBundle = toolsBundle()): ToolsItem[] {
    const pieces = splitText(bundle.bytes.toString("base64"), TOOLS_ITEM_CHARS);
    const owner = createHash("sha256").update(`stack ${stack}`).digest("hex").slice(0, 8);
    return pieces.map((value, i) => ({
        index: i + 1,
        count: pieces.length,
        key: `bootloop-rescue-tools-${bundle.sha256.slice(0, 12)}-${owner}-${i + 1}of${pieces.length}`,
        value,
    }));
}

/**
 * The lines of the startup script that install the tools of `bundle` from the project metadata
 * items `items` into {@link toolsFolder}: each item read from the metadata server (at most its own
 * length plus a little, 60 s, retried when the server is busy), the whole checked against the
 * bundle's SHA-256 before anything of it runs, then run into a staging folder, the version written
 * last and the folder renamed into place in one step (an agent sees all the tools of its version or
 * none). Tools of the version already there: nothing is read. A missing item, a short read or
 * another SHA-256: the script fails, naming it, and installs nothing. POSIX sh; every value in it
 * is the program's own (hex digits, numbers, metadata keys).
 */
export function toolsInstallLines(items: readonly ToolsItem[], bundle: ToolsBundle = toolsBundle()): string[] {
    const most = Math.max(...items.map((i) => i.value.length)) + 64;
    return [
        `lib=\${BOOTLOOP_RESCUE_LIB:-${RESCUE_LIB}}`,
        `attributes=\${BOOTLOOP_RESCUE_PROJECT_ATTRIBUTES:-${PROJECT_ATTRIBUTES_URL}}`,
        `version=${bundle.version} sha=${bundle.sha256}`,
        'tools="$lib/tools/$version"',
        'if [ "$(cat "$tools/version" 2>/dev/null)" != "$version" ]; then',
        "    umask 022",
        '    mkdir -p "$lib/tools"',
        '    stage=$(mktemp -d "$lib/.stage.XXXXXX")',
        '    : > "$stage/bundle.b64"',
        `    for key in ${items.map((i) => i.key).join(" ")}; do`,
        // Bounded whatever the server sends (with or without a length): head stops at one byte
        // more than an item may be, and a read cut short or refused leaves its mark.
        '        rm -f "$stage/failed"',
        `        { curl -sS --fail --max-time 60 --retry 5 --retry-connrefused --max-filesize ${most} -H 'Metadata-Flavor: Google' "$attributes/$key" || : > "$stage/failed"; } | head -c ${most + 1} > "$stage/item"`,
        `        if [ -e "$stage/failed" ] || [ "$(wc -c < "$stage/item")" -gt ${most} ]; then`,
        '            rm -rf "$stage"',
        '            echo "bootloop-rescue: project metadata item $key of rescue tools $version could not be read from the metadata server" >&2',
        "            exit 1",
        "        fi",
        '        cat "$stage/item" >> "$stage/bundle.b64"',
        "    done",
        '    base64 -d "$stage/bundle.b64" > "$stage/bundle.gz" 2>/dev/null || true',
        '    got=$(sha256sum "$stage/bundle.gz" | cut -d " " -f 1)',
        '    if [ "$got" != "$sha" ]; then',
        '        rm -rf "$stage"',
        `        echo "bootloop-rescue: the ${items.length} project metadata item(s) of rescue tools $version do not add up (sha256 $got, expected $sha)" >&2`,
        "        exit 1",
        "    fi",
        '    mkdir "$stage/tools"',
        '    gzip -dc "$stage/bundle.gz" > "$stage/install.sh"',
        '    sh -e "$stage/install.sh" "$stage/tools"',
        '    printf \'%s\\n\' "$version" > "$stage/tools/version"',
        '    rm -rf "$tools"',
        '    mv -T "$stage/tools" "$tools"',
        '    rm -rf "$stage"',
        '    echo "bootloop-rescue: rescue tools $version installed in $tools"',
        "fi",
    ];
}
