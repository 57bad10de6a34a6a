import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript without type declarations (see its header), which an import cannot load without allowJs
const { startSecretStore, fetchKeyEnv } = require("../helpers/secret-store-stand-in");

const FETCH_KEY = path.join(__dirname, "../../rescue/fetch-key");
const ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:bootloop-rescue/dev/i-0abc-Xy12Zq";
const GCP = "projects/rescue-demo-0/secrets/web-1-bitlocker";
const PW1 = "111111-222222-333333-444444-555555-666666-777777-888888";
const PW2 = "000011-000022-000033-000044-000055-000066-000077-000088";
const GUID = "{4A3C56E1-1234-4ABC-9DEF-0123456789AB}";
/** Bytes that look like a BEK file to fetch-key (the engine checks the real structure). */
const BEK = Buffer.concat([Buffer.from([0x7c, 0, 0, 0, 1, 0, 0, 0, 0x30, 0, 0, 0, 6, 0, 0, 0]), Buffer.alloc(108, 0x5a)]);

interface Store {
    url: string;
    requests: { method: string; url: string; headers: Record<string, string>; body: string }[];
    close(): Promise<void>;
}

/** Runs fetch-key against the stand-in (asynchronously: the stand-in lives in this process). */
function fetchKey(
    store: Store,
    args: string[],
    env: Record<string, string> = {},
): Promise<{ status: number; stdout: string; stderr: string; dir: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fetch-key-"));
    return new Promise((resolve) => {
        const child = spawn("python3", [FETCH_KEY, ...args, "--out-prefix", path.join(dir, "k")], {
            env: {
                PATH: process.env.PATH,
                ...fetchKeyEnv(store.url),
                BOOTLOOP_RESCUE_DENIED_GRACE: "20",
                BOOTLOOP_RESCUE_FETCH_DEADLINE: "20",
                ...env,
            },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr, dir }));
    });
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe("fetch-key (rescue side: a disk's keys from the cloud's secret store, with the rescue VM's own identity)", () => {
    let store: Store;
    let world: Record<string, any>;
    beforeEach(async () => {
        world = {
            role: "rescue-aws-1234-role",
            aws: {
                [ARN]: { string: `${GUID} ${PW1}\n${PW2}\n` },
                [`${ARN.slice(0, -6)}JsOnKv`]: { string: JSON.stringify({ [GUID]: PW1, note: "the console's key/value form" }) },
                [`${ARN.slice(0, -6)}BiNaRy`]: { binary: BEK },
                [`${ARN.slice(0, -6)}GaRbGe`]: { string: "hunter2-is-no-key" },
            },
            gcp: { [GCP]: { versions: { 1: Buffer.from(`${PW2}\n`), 2: Buffer.from(BEK.toString("base64")) } } },
        };
        store = await startSecretStore(world);
    });
    afterEach(() => store.close());

    it("AWS: reads recovery passwords with the instance role's credentials (IMDSv2, a signed GetSecretValue) into a root-only file", async () => {
        const r = await fetchKey(store, ["--aws-secret", ARN]);
        assert.equal(r.status, 0, r.stderr);
        const file = path.join(r.dir, "k.pw");
        assert.equal(r.stdout.trim(), `password-file ${file}`);
        assert.equal(fs.readFileSync(file, "utf8"), `${GUID} ${PW1}\n${PW2}\n`);
        assert.equal(mode(file), "600");
        const call = store.requests.find((q) => q.url === "/sm/")!;
        assert.equal(JSON.parse(call.body).SecretId, ARN);
        assert.match(
            call.headers.authorization,
            /^AWS4-HMAC-SHA256 Credential=ASIARESCUEEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=/,
        );
        assert.ok(!(r.stdout + r.stderr).includes(PW1), "the key is never printed");
    });

    it("AWS: the console's JSON key/value form, and a binary BEK", async () => {
        const json = await fetchKey(store, ["--aws-secret", `${ARN.slice(0, -6)}JsOnKv`]);
        assert.equal(json.status, 0, json.stderr);
        assert.equal(fs.readFileSync(path.join(json.dir, "k.pw"), "utf8"), `${GUID} ${PW1}\n`);
        const bin = await fetchKey(store, ["--aws-secret", `${ARN.slice(0, -6)}BiNaRy`]);
        assert.equal(bin.status, 0, bin.stderr);
        assert.equal(bin.stdout.trim(), `bek-file ${path.join(bin.dir, "k.bek1")}`);
        assert.deepEqual(fs.readFileSync(path.join(bin.dir, "k.bek1")), BEK);
        assert.equal(mode(path.join(bin.dir, "k.bek1")), "600");
    });

    it("AWS: a denial while the new grant spreads and throttling are waited out; a lasting denial names the role and the action", async () => {
        world.aws[ARN].deniedTimes = 1;
        world.throttleTimes = 1;
        const spread = await fetchKey(store, ["--aws-secret", ARN]);
        assert.equal(spread.status, 0, spread.stderr);
        world.aws[ARN].deniedTimes = 1000;
        const denied = await fetchKey(store, ["--aws-secret", ARN], { BOOTLOOP_RESCUE_DENIED_GRACE: "0" });
        assert.equal(denied.status, 3);
        assert.match(
            denied.stderr,
            /denied role rescue-aws-1234-role secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:111122223333:secret:bootloop-rescue\/dev\/i-0abc-Xy12Zq/,
        );
        assert.ok(!fs.existsSync(path.join(denied.dir, "k.pw")));
    });

    it("AWS: no secret, no instance role, and a secret that holds no key fail with their reason, never echoing the content", async () => {
        const missing = await fetchKey(store, ["--aws-secret", `${ARN.slice(0, -6)}NoSuCh`]);
        assert.equal(missing.status, 4);
        assert.match(missing.stderr, /has no secret/);
        const garbage = await fetchKey(store, ["--aws-secret", `${ARN.slice(0, -6)}GaRbGe`]);
        assert.equal(garbage.status, 5);
        assert.match(garbage.stderr, /holds neither BitLocker recovery passwords .* nor a BEK key file/);
        assert.ok(!garbage.stderr.includes("hunter2"));
        world.role = "";
        const noRole = await fetchKey(store, ["--aws-secret", ARN]);
        assert.equal(noRole.status, 3);
        assert.match(noRole.stderr, /no instance role/);
    });

    it("GCP: reads the latest version (a base64 BEK) or a named one with the service account's token", async () => {
        const latest = await fetchKey(store, ["--gcp-secret", GCP]);
        assert.equal(latest.status, 0, latest.stderr);
        assert.deepEqual(fs.readFileSync(path.join(latest.dir, "k.bek1")), BEK);
        assert.ok(store.requests.some((q) => q.url === `/v1/${GCP}/versions/latest:access`));
        const one = await fetchKey(store, ["--gcp-secret", `${GCP}/versions/1`]);
        assert.equal(one.status, 0, one.stderr);
        assert.equal(fs.readFileSync(path.join(one.dir, "k.pw"), "utf8"), `${PW2}\n`);
    });

    it("GCP: a lasting denial, a missing scope and a missing secret are named", async () => {
        world.gcp[GCP].deniedTimes = 1000;
        const denied = await fetchKey(store, ["--gcp-secret", GCP], { BOOTLOOP_RESCUE_DENIED_GRACE: "0" });
        assert.equal(denied.status, 3);
        assert.match(
            denied.stderr,
            /denied the rescue instance's service account secretmanager\.versions\.access on projects\/rescue-demo-0\/secrets\/web-1-bitlocker\/versions\/latest/,
        );
        world.gcpScopeInsufficient = true;
        const scope = await fetchKey(store, ["--gcp-secret", GCP]);
        assert.equal(scope.status, 3);
        assert.match(scope.stderr, /access scopes do not include cloud-platform/);
        world.gcpScopeInsufficient = false;
        const missing = await fetchKey(store, ["--gcp-secret", "projects/rescue-demo-0/secrets/none"]);
        assert.equal(missing.status, 4);
    });

    it("refuses a secret name that is no ARN or Secret Manager name, before any request", async () => {
        for (const args of [
            ["--aws-secret", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x"],
            ["--gcp-secret", "projects/p/secrets/s; id"],
        ]) {
            const r = await fetchKey(store, args);
            assert.equal(r.status, 4, args.join(" "));
        }
        assert.deepEqual(store.requests, []);
    });

    (spawnSync("unshare", ["-n", "true"]).status === 0 && fs.existsSync("/usr/bin/aws") ? it : it.skip)(
        "the stand-in's signature check accepts what the real aws CLI signs (so fetch-key's signature is checked the way AWS checks it)",
        () => {
            const r = spawnSync("unshare", ["-n", process.execPath, path.join(__dirname, "../helpers/aws-cli-signs.js")], {
                encoding: "utf8",
                timeout: 120_000,
            });
            const out = JSON.parse(r.stdout);
            assert.equal(out.status, 0, out.stderr);
            assert.ok(out.verified);
            assert.equal(JSON.parse(out.stdout).SecretString, "signed-by-the-real-cli");
        },
    );
});
