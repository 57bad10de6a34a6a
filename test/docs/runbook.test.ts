// docs/runbook.md: every aws, az and gcloud command in it is replayed through the real CLI (network
// namespace, loopback only), with the example values of its first block; az extension commands are
// checked against the extension's parameter definitions; pulumi commands (no Pulumi CLI here)
// against the flags and commands Pulumi's own Automation API passes to the CLI.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cli, notAccepted, realCliOrSkip, replayThroughRealClis } from "../helpers/real-cli";

const root = path.resolve(__dirname, "../..");
const runbook = fs.readFileSync(path.join(root, "docs/runbook.md"), "utf8");

/** The runbook's `sh` blocks, in order. */
function shellBlocks(): string[][] {
    return [...runbook.matchAll(/^```sh\n([^]*?)^```$/gm)].map((m) =>
        m[1].split("\n").filter((l) => l.trim() && !l.trim().startsWith("#")),
    );
}

/** Splits a command line into words as sh would: double quotes (with \" and \\ escapes) and single quotes. */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === " " || c === "\t") {
            if (word !== undefined) {
                words.push(word);
                word = undefined;
            }
        } else if (c === "'") {
            const end = line.indexOf("'", i + 1);
            assert.ok(end > i, `unclosed ' in ${line}`);
            word = (word ?? "") + line.slice(i + 1, end);
            i = end;
        } else if (c === '"') {
            word = word ?? "";
            for (i++; i < line.length && line[i] !== '"'; i++)
                word += line[i] === "\\" && ['"', "\\", "$"].includes(line[i + 1]) ? line[++i] : line[i];
            assert.ok(i < line.length, `unclosed " in ${line}`);
        } else word = (word ?? "") + c;
    }
    if (word !== undefined) words.push(word);
    return words;
}

const blocks = shellBlocks();
const variables = new Map(
    blocks[0]
        .map((l) => /^([A-Z_]+)=(\S+)$/.exec(l))
        .map((m) => {
            assert.ok(m, "the first block sets variables, one NAME=value a line");
            return [m[1], m[2]] as const;
        }),
);
const commands = blocks
    .slice(1)
    .flat()
    .map((line) => {
        assert.ok(
            !/[|;&`<>]|\$\(/.test(line.replace(/"[^"]*"/g, "")),
            `one plain command a line, no pipes, chains, redirections or substitutions: ${line}`,
        );
        const expanded = line.replace(/\$\{([A-Z_]+)\}|\$([A-Z_]+)/g, (_, braced: string | undefined, bare: string | undefined) => {
            const name = braced ?? bare!;
            assert.ok(variables.has(name), `$${name} is not set in the runbook's first block: ${line}`);
            return variables.get(name)!;
        });
        return { line, words: shellWords(expanded) };
    });

/** Parameters of the az extensions the runbook uses, from azure-cli-extensions (src/EXTENSION/azext_NAME/_params.py), as options. */
const AZ_EXTENSIONS: Record<string, { extension: string; options: string[] }> = {
    // src/vm-repair/azext_vm_repair/_params.py: vm repair create / run / restore, with the VM's
    // --resource-group/-g and --name/-n, and the global --subscription and --verbose.
    "vm repair create": {
        extension: "vm-repair",
        options: [
            "--repair-username",
            "--repair-password",
            "--repair-vm-name",
            "--copy-disk-name",
            "--repair-group-name",
            "--unlock-encrypted-vm",
            "--encrypt-recovery-key",
            "--enable-nested",
            "--associate-public-ip",
            "--distro",
            "--yes",
            "--disable-trusted-launch",
        ],
    },
    "vm repair run": {
        extension: "vm-repair",
        options: ["--repair-vm-id", "--run-id", "--custom-script-file", "--parameters", "--run-on-repair", "--preview"],
    },
    "vm repair restore": { extension: "vm-repair", options: ["--repair-vm-id", "--disk-name", "--yes"] },
    // src/serial-console/azext_serialconsole/_params.py: serial-console connect --resource-group --name [--instance-id].
    "serial-console connect": { extension: "serial-console", options: ["--instance-id"] },
};
const AZ_COMMON = ["--resource-group", "--name", "--subscription", "--verbose"];

/** Pulumi CLI flags the Node Automation API does not pass, each as the CLI reference documents it. */
const PULUMI_DOCUMENTED: Record<string, string> = {
    // "--import-pending-creates stringArray  A list of form [[URN ID]...] describing the provider IDs of pending creates"
    "refresh --import-pending-creates": "https://www.pulumi.com/docs/iac/cli/commands/pulumi_refresh/",
};

describe("the runbook (docs/runbook.md)", () => {
    it("covers each case the stack cannot handle, per cloud, and the way back to the stack", () => {
        for (const heading of [
            "## Which VMs end up here",
            "### AWS: serial console and safe mode",
            "### Azure: serial console and safe mode",
            "### GCP: serial console and safe mode",
            "## Restore or repair by hand from the stack's backup",
            "## Hand the VM back to the stack",
            "### After a cancelled or killed `pulumi up`",
        ]) {
            assert.ok(runbook.includes(`\n${heading}\n`), heading);
        }
        for (const topic of [
            "instance-store root",
            "dual-pass ADE",
            "Confidential VM",
            "will not unlock",
            "--clear-pending-creates",
            "--import-pending-creates",
            "pulumi refresh",
            "rollback",
        ])
            assert.ok(runbook.includes(topic), topic);
        // Every command line is a cloud CLI or pulumi: nothing in a block goes unchecked.
        for (const c of commands) assert.ok(["aws", "az", "gcloud", "pulumi"].includes(c.words[0]), c.line);
        assert.ok(commands.length >= 40, `${commands.length} commands`);
    });

    it("marks a hand-made swap the way the stack's swap scripts do, so the stack's lookups and rollback read it", () => {
        for (const [cloud, marks] of [
            [
                "aws",
                [
                    "bootloop-rescue:role,Value=original-root",
                    "bootloop-rescue:replaced-by",
                    "bootloop-rescue:device",
                    "bootloop-rescue:original,Value=",
                ],
            ],
            ["azure", ["bootloop-rescue-role=original-os", "bootloop-rescue-replaced-by", "bootloop-rescue-original="]],
            ["gcp", ["bootloop-rescue-role=original-boot", "bootloop-rescue-replaced-by", "bootloop-rescue-original="]],
        ] as const) {
            const script = fs.readFileSync(path.join(root, "components", cloud, "scripts/swap.sh"), "utf8");
            for (const mark of marks) {
                assert.ok(runbook.includes(mark), `${cloud}: the runbook lacks ${mark}`);
                const name = mark.split(/[,=]/)[0];
                if (!name.endsWith("original")) assert.ok(script.includes(name), `${cloud}: swap.sh does not set ${name}`);
            }
        }
    });

    it("names the repair engine's exit codes as the engine defines them (rescue/engine/common.py)", () => {
        const engine = fs.readFileSync(path.join(root, "rescue/engine/common.py"), "utf8");
        const codes = new Map(
            [...engine.matchAll(/^EXIT_([A-Z_]+) = (\d+)\b/gm)].map((m) => [m[1].toLowerCase().replace(/_/g, "-"), Number(m[2])]),
        );
        assert.equal(codes.get("locked"), 4, "repair-disk's EXIT_LOCKED");
        const cited = [...runbook.matchAll(/\bexit (\d+) \(\*([a-z-]+)\*\)/g)];
        assert.ok(
            cited.some((m) => m[2] === "locked"),
            "the runbook names the exit of a disk that will not unlock",
        );
        for (const [text, code, name] of cited)
            assert.equal(Number(code), codes.get(name), `${text}: repair-disk exits ${codes.get(name)} for ${name}`);
    });

    it("sends only single-pass ADE to az vm repair, which unlocks no other (Microsoft: single pass encryption only)", () => {
        const row = runbook.split("\n").find((l) => l.includes("**dual-pass ADE**"));
        assert.ok(row, "the table has a row for dual-pass ADE");
        assert.doesNotMatch(
            row.replace("Not `az vm repair`: it unlocks single-pass ADE only", ""),
            /vm[- ]repair/,
            "the dual-pass row points at vm-repair",
        );
        const start = runbook.indexOf("az extension add --name vm-repair");
        const heading = runbook.lastIndexOf("\n### ", start);
        const section = runbook.slice(heading, runbook.indexOf("\n##", start));
        assert.match(section, /single-pass ADE only/);
        assert.doesNotMatch(section.replace(/not dual-pass/g, ""), /dual-pass/, "the vm-repair section offers it for dual-pass ADE");
    });

    it("every pulumi up passes the policy pack", () => {
        const ups = commands.filter((c) => c.words[0] === "pulumi" && c.words[1] === "up");
        assert.ok(ups.length >= 3);
        for (const { line, words } of ups)
            assert.equal(words[words.indexOf("--policy-pack") + 1], "policy", `${line}: without --policy-pack policy`);
    });

    it("uses only options the az extensions define", () => {
        for (const { line, words } of commands.filter((c) => c.words[0] === "az")) {
            const key = Object.keys(AZ_EXTENSIONS).find((k) => words.slice(1, 1 + k.split(" ").length).join(" ") === k);
            if (!key) continue;
            const { extension, options } = AZ_EXTENSIONS[key];
            assert.ok(
                runbook.indexOf(`az extension add --name ${extension}`) < runbook.indexOf(line),
                `${line}: add the ${extension} extension first`,
            );
            for (const o of words.filter((w) => w.startsWith("--")))
                assert.ok([...options, ...AZ_COMMON].includes(o), `${line}: ${o} is not an option of az ${key}`);
        }
    });

    it("uses only pulumi commands and flags Pulumi's Automation API passes to the CLI", () => {
        const dir = path.join(root, "node_modules/@pulumi/pulumi/automation");
        const sources = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".js"))
            .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
            .join("\n");
        // interface/index.js is generated from the CLI's own command definitions: per command, its flags.
        const generated = new Map<string, Set<string>>();
        const generatedSource = fs.readFileSync(path.join(dir, "interface/index.js"), "utf8");
        const starts = [...generatedSource.matchAll(/\n {4}[a-zA-Z]+\([^)]*\) \{/g)].map((m) => m.index);
        for (const [i, start] of starts.entries()) {
            const method = generatedSource.slice(start, starts[i + 1]);
            const words = [...method.matchAll(/__final\.push\("([a-z][a-z-]*)"\)/g)].map((m) => m[1]);
            generated.set(words.join(" "), new Set([...method.matchAll(/__flags\.push\("(--[a-z-]+)"/g)].map((m) => m[1])));
        }
        assert.ok(generated.has("cancel"), "the generated interface lists pulumi cancel");
        const pulumi = commands.filter((c) => c.words[0] === "pulumi");
        assert.ok(pulumi.length >= 8);
        for (const { line, words } of pulumi) {
            const verbs = words
                .slice(1)
                .filter((w, i, all) => !w.startsWith("-") && !(i > 0 && all[i - 1].startsWith("--")))
                .slice(0, words[1] === "stack" || words[1] === "config" ? 2 : 1);
            const flags = words.filter((w) => w.startsWith("--"));
            const spec = generated.get(verbs.join(" "));
            if (spec) {
                for (const flag of flags) assert.ok(spec.has(flag), `${line}: pulumi ${verbs.join(" ")} has no ${flag}`);
                continue;
            }
            for (const v of verbs) assert.ok(sources.includes(`"${v}"`), `${line}: pulumi ${v} is not a command the Automation API runs`);
            for (const flag of flags)
                assert.ok(
                    sources.includes(`"${flag}"`) || `${verbs.join(" ")} ${flag}` in PULUMI_DOCUMENTED,
                    `${line}: ${flag} is not a flag the Automation API passes`,
                );
        }
    });

    describe("against the real aws, gcloud and az (network namespace, loopback only)", function () {
        this.timeout(900_000);
        // The folder of the stand-in files the commands read: removed after each test however it
        // ended (a failed replay, a skip), and checked gone once they all ran.
        let files: string | undefined;
        afterEach(() => {
            if (files) fs.rmSync(files, { recursive: true, force: true });
        });
        after(() => {
            assert.ok(files === undefined || !fs.existsSync(files), `${files} was left behind`);
        });
        it("every aws, gcloud and az command is accepted by the real CLI's parser (az: parsed; extensions: above)", function () {
            realCliOrSkip(this, ["aws", "gcloud", "az"]);
            const extension = (w: string[]) =>
                Object.keys(AZ_EXTENSIONS).some((k) => w.slice(1, 1 + k.split(" ").length).join(" ") === k) ||
                (w[1] === "extension" && w[2] === "add");
            // A file the command reads (file://KEY) must exist for the CLI to parse it: a stand-in one.
            const folder = fs.mkdtempSync(path.join(os.tmpdir(), "runbook-"));
            files = folder;
            const withFiles = (argv: string[]) =>
                argv.map((a) => {
                    if (!a.startsWith("file://")) return a;
                    const file = path.join(folder, path.basename(a));
                    fs.writeFileSync(
                        file,
                        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ1bmJvb2stcmVwbGF5LWtleS1ub3QtcmVhbC0wMDAwMDAwMDAw runbook-replay\n",
                    );
                    return `file://${file}`;
                });
            const spec = commands
                .filter((c) => ["aws", "gcloud", "az"].includes(c.words[0]) && !(c.words[0] === "az" && extension(c.words)))
                .map((c) => ({ cli: c.words[0] as Cli, argv: withFiles(c.words.slice(1)) }));
            assert.ok(spec.length >= 30, `${spec.length} commands`);
            assert.deepEqual(notAccepted(replayThroughRealClis(spec)), []);
        });
    });
});
