import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { paths } from "../components/registry/clouds";
import { CONFIG_KEYS } from "../components/core/settings";

const root = path.join(__dirname, "..");

/** The README and every page under docs/ (sub-folders too), relative to the project folder. */
function pages(): string[] {
    const docs = fs
        .readdirSync(path.join(root, "docs"), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".md"))
        .sort();
    return ["README.md", ...docs.map((f) => path.posix.join("docs", f.split(path.sep).join("/")))];
}
const read = (page: string) => fs.readFileSync(path.join(root, page), "utf8");

const readme = read("README.md");
/** What a reader can reach from the front door: the README and every docs page. Details live there now. */
const documented = pages().map(read).join("\n");

/** A page without its fenced code blocks (their lines are neither headings nor links). */
function prose(text: string): string {
    return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "");
}

/** The fenced code blocks of a page whose language is one of `langs`, each as its lines. */
function codeBlocks(text: string, langs: string[]): string[][] {
    return [...text.matchAll(/^```([a-z]*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm)]
        .filter(([, lang]) => langs.includes(lang))
        .map(([, , body]) => body.split("\n"));
}

/** GitHub's anchor for a heading: lowercase, punctuation other than - and _ dropped, each space a -. */
function slug(heading: string): string {
    const text = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/<[^>]+>/g, "")
        .trim()
        .toLowerCase();
    return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** Every anchor a page offers: its headings' slugs (repeats get -1, -2, … as on GitHub) and explicit ids. */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const [, heading] of prose(text).matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
        const base = slug(heading);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n ? `${base}-${n}` : base);
    }
    for (const [, id] of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(id);
    return out;
}

describe("README, the front door", () => {
    it("is a front door: at most 300 lines, the details one link away", () => {
        const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
        assert.ok(lines <= 300, `README.md has ${lines} lines; move detail to a page under docs/ and link it`);
    });

    it("documents every config key of core and of every built cloud path (README or docs/)", () => {
        const keys = [...Object.keys(CONFIG_KEYS), ...paths.flatMap((p) => Object.keys(p.configKeys))];
        for (const key of keys)
            assert.match(documented, new RegExp(`\\| \`${key}\` \\|`), `neither the README nor docs/ lists config key ${key}`);
    });

    it('keeps the heading "Stack config keys" that the settings\' error message names', () => {
        assert.ok(
            pages().some((page) => anchors(read(page)).has("stack-config-keys")),
            'no page has a heading "Stack config keys"',
        );
    });

    it("documents every exit code of the repair engine", () => {
        for (const code of [0, 2, 3, 4, 5, 6]) assert.match(documented, new RegExp(`^\\| ${code} \\| `, "m"));
    });

    it("gives the two quickstart commands the CI and a fresh machine use", () => {
        assert.match(readme, /npm ci && npm run plan/);
        assert.match(readme, /^bash scripts\/test\.sh /m);
        assert.match(fs.readFileSync(path.join(root, ".ci/run"), "utf8"), /bash scripts\/test\.sh/);
    });

    it("links the least-privilege policy of every built cloud", () => {
        for (const p of paths) {
            const dir = path.join(root, "components", p.identity.cloud, "iam");
            for (const file of fs.readdirSync(dir)) assert.ok(readme.includes(`components/${p.identity.cloud}/iam/${file}`), file);
        }
    });

    it("the slugs are GitHub's", () => {
        assert.equal(slug("Finding the affected VMs: `npm run discover`"), "finding-the-affected-vms-npm-run-discover");
        assert.equal(slug("Large incidents: one runner, many VMs"), "large-incidents-one-runner-many-vms");
        assert.equal(slug("Where this differs from the reference design, and why"), "where-this-differs-from-the-reference-design-and-why");
        assert.equal(slug("Finding the disk: `rescue/find-disk`"), "finding-the-disk-rescuefind-disk");
        assert.equal(slug("snake_case and CAPS"), "snake_case-and-caps");
        assert.deepEqual([...anchors("# A\n\n```bash\n# not a heading\n```\n\n## A\n## B ##\n")], ["a", "a-1", "b"]);
    });

    it("every relative link of the README and docs/ names a file that exists, and its #fragment a heading of that file", () => {
        for (const page of pages()) {
            const text = read(page);
            for (const [, link] of prose(text).matchAll(/\]\(([^)\s]*)(?:\s+"[^"]*")?\)/g)) {
                if (/^[a-z][a-z+.-]*:/.test(link)) continue;
                const hash = link.indexOf("#");
                const target = hash < 0 ? link : link.slice(0, hash);
                const fragment = hash < 0 ? "" : decodeURIComponent(link.slice(hash + 1));
                const file = target ? path.resolve(path.dirname(path.join(root, page)), target) : path.join(root, page);
                assert.ok(fs.existsSync(file), `${page} links ${link}, whose file does not exist`);
                if (!fragment) continue;
                assert.ok(file.endsWith(".md"), `${page} links ${link}: a fragment only on a Markdown page`);
                assert.ok(
                    anchors(fs.readFileSync(file, "utf8")).has(fragment),
                    `${page} links ${link}, but ${path.relative(root, file)} has no heading #${fragment}`,
                );
            }
        }
    });

    it("every npm run the README and docs/ show is a script of package.json", () => {
        const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
        for (const page of pages()) {
            for (const [, name] of read(page).matchAll(/npm run (?:(?:--silent|-s) )?([a-z][a-z:-]*)/g))
                assert.ok(scripts.includes(name), `${page} shows npm run ${name}, which package.json does not define`);
        }
    });

    it("every command line of a bash or sh block that runs npm run, bash scripts/ or node names a script or file that exists", () => {
        const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
        let checked = 0;
        for (const page of pages()) {
            for (const block of codeBlocks(read(page), ["bash", "sh", "shell", "console"])) {
                for (const line of block) {
                    // Each command of the line: a comment ends it, and &&, ||, ; and | separate commands.
                    const commands = line
                        .replace(/^\s*\$\s+/, "")
                        .replace(/(^|\s)#.*$/, "")
                        .split(/&&|\|\||;|\|/)
                        .map((c) => c.trim().split(/\s+/).filter(Boolean));
                    for (const words of commands) {
                        if (words[0] === "npm" && words[1] === "run") {
                            const name = words[2] === "--silent" ? words[3] : words[2];
                            assert.ok(
                                name && scripts.includes(name),
                                `${page}: ${line.trim()}: npm run ${name} is not a script of package.json`,
                            );
                        } else if (words[0] === "bash" && words[1]?.startsWith("scripts/")) {
                            assert.ok(fs.existsSync(path.join(root, words[1])), `${page}: ${line.trim()}: ${words[1]} does not exist`);
                        } else if (words[0] === "node") {
                            if (words.includes("-e") || words.includes("-p") || words.includes("--eval") || words.includes("--print"))
                                continue;
                            const args = words.slice(1);
                            const file = args.find(
                                (w, i) => !w.startsWith("-") && !["-r", "--require", "--import", "--loader"].includes(args[i - 1]),
                            );
                            assert.ok(
                                file && fs.existsSync(path.join(root, file)),
                                `${page}: ${line.trim()}: node runs ${file}, which does not exist`,
                            );
                        } else continue;
                        checked++;
                    }
                }
            }
        }
        assert.ok(checked >= 10, `only ${checked} commands checked: the blocks were not read`);
    });
});
