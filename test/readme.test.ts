import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { paths } from "../components/clouds";
import { CONFIG_KEYS } from "../components/core/settings";

const readme = fs.readFileSync(path.join(__dirname, "../README.md"), "utf8");

describe("README, the front door", () => {
    it("documents every config key of core and of every built cloud path", () => {
        const keys = [...Object.keys(CONFIG_KEYS), ...paths.flatMap((p) => Object.keys(p.configKeys))];
        for (const key of keys) assert.match(readme, new RegExp(`\\| \`${key}\` \\|`), `README lacks config key ${key}`);
    });

    it("documents every exit code of the repair engine", () => {
        for (const code of [0, 2, 3, 4, 5, 6]) assert.match(readme, new RegExp(`^\\| ${code} \\| `, "m"));
    });

    it("gives the two quickstart commands the CI and a fresh machine use", () => {
        assert.match(readme, /npm ci && npm run plan/);
        assert.match(readme, /^bash scripts\/test\.sh /m);
        assert.match(fs.readFileSync(path.join(__dirname, "../.ci/run"), "utf8"), /bash scripts\/test\.sh/);
    });

    it("links the least-privilege policy of every built cloud", () => {
        for (const p of paths) {
            const dir = path.join(__dirname, "../components", p.identity.cloud, "iam");
            for (const file of fs.readdirSync(dir)) assert.ok(readme.includes(`components/${p.identity.cloud}/iam/${file}`), file);
        }
    });

    it("every relative link of the README and docs/ names a file that exists, and every npm run it shows is a script", () => {
        const root = path.join(__dirname, "..");
        const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
        const pages = ["README.md", ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
        for (const page of pages) {
            const text = fs.readFileSync(path.join(root, page), "utf8");
            for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
                if (/^[a-z]+:/.test(target)) continue;
                assert.ok(fs.existsSync(path.resolve(path.dirname(path.join(root, page)), target)), `${page} links ${target}, which does not exist`);
            }
            for (const [, name] of text.matchAll(/npm run (?:--silent )?([a-z][a-z:-]*)/g)) assert.ok(scripts.includes(name), `${page} shows npm run ${name}, which package.json does not define`);
        }
    });
});
