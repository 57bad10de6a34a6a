import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { awsCommandLine } from "../../components/aws/scripts";
import { azureCommandLine } from "../../components/azure/scripts";

const root = path.resolve(__dirname, "../..");
const sh = (line: string, env: Record<string, string> = {}) => spawnSync("/bin/bash", ["-c", line], { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH!, ...env } });

describe("steps run their scripts by path (components/core/scripts/run.sh)", () => {
    it("runs the text the command line names, from the project folder, and says when it changed since", () => {
        const line = awsCommandLine("swap");
        const ok = sh(line, { AWS_REGION: "us-east-1" });
        assert.equal(ok.status, 1);
        assert.match(ok.stderr, /internal: INSTANCE_ID is not set/, "the swap script itself ran (and refused: no instance given)");
        assert.doesNotMatch(ok.stderr, /running its current text/);
        const stale = sh(line.replace(/ [0-9a-f]{16}$/, " 0000000000000000"), { AWS_REGION: "us-east-1" });
        assert.match(stale.stderr, /aws\/swap: running its current text \(hash [0-9a-f]{16}; the stack recorded 0000000000000000\)/);
        assert.match(stale.stderr, /internal: INSTANCE_ID is not set/);
    });

    it("includes the libraries the line names, and only those", () => {
        assert.match(azureCommandLine("swap"), / vm-lib$/);
        assert.doesNotMatch(azureCommandLine("detach"), /vm-lib/);
    });

    it("one watcher per set of credentials: its folder changes with them, not with the region or the step", () => {
        const dirOf = (env: Record<string, string>) => sh(`source ./components/core/scripts/base.sh; printf '%s' "$watch_dir"`, { HOME: "/nonexistent", ...env }).stdout;
        const plain = dirOf({});
        assert.match(plain, /\/bootloop-rescue-\d+-\d+-\d+$/);
        assert.equal(dirOf({ AWS_REGION: "eu-west-1", BOOTLOOP_TEARDOWN: "1", REBOOT_STATUS: "recovered" }), plain);
        for (const env of [{ AWS_PROFILE: "prod" }, { AZURE_CONFIG_DIR: "/x" }, { CLOUDSDK_CONFIG: "/y" }, { GOOGLE_APPLICATION_CREDENTIALS: "/z" }] as Record<string, string>[]) assert.notEqual(dirOf(env), plain, JSON.stringify(env));
        assert.equal(dirOf({ BOOTLOOP_WATCH_DIR: "/run/w" }), "/run/w");
    });

    it("refuses anything but a step's name", () => {
        for (const bad of ["../etc/passwd x", "aws/swap;id x", "aws/../../x y"]) {
            const r = sh(`exec /bin/bash ./components/core/scripts/run.sh ${JSON.stringify(bad.split(" ")[0])} x`);
            assert.equal(r.status, 2, bad);
            assert.match(r.stderr, /run\.sh: not a step/);
        }
    });
});
