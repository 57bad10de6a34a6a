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
});
