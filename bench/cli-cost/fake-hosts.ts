// The clouds' API hosts pointed at the fake clouds on the loopback, for this network and mount
// namespace only (run inside `unshare -n -m` as root: a bind-mounted /etc/hosts, the loopback up).
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { FAKE_HOSTS, FakeClouds, IDS, startFakeClouds } from "./fake-clouds";

/** Brings the loopback up, points FAKE_HOSTS at it and starts the fake clouds, their files in `work`. */
export async function fakeCloudsHere(work: string): Promise<FakeClouds> {
    // Only inside namespaces of its own: on the host, the bind mount would cover the machine's
    // /etc/hosts and a real CLI could reach any host that is not faked.
    const links = fs
        .readFileSync("/proc/self/net/dev", "utf8")
        .split("\n")
        .slice(2)
        .map((line) => line.split(":")[0].trim())
        .filter((name) => name !== "" && name !== "lo");
    if (links.length > 0)
        throw new Error(
            `fakeCloudsHere: this process's network has ${links.join(", ")} besides the loopback; run it inside \`unshare -n -m\``,
        );
    if (fs.readlinkSync("/proc/self/ns/mnt") === fs.readlinkSync(`/proc/${process.ppid}/ns/mnt`))
        throw new Error(
            "fakeCloudsHere: this process shares its parent's mount namespace (its /etc/hosts would be covered); run it inside `unshare -n -m`",
        );
    execFileSync("ip", ["link", "set", "lo", "up"]);
    const hosts = path.join(work, "hosts");
    fs.writeFileSync(hosts, `127.0.0.1 localhost\n${FAKE_HOSTS.map((h) => `127.0.0.1 ${h}`).join("\n")}\n`);
    execFileSync("mount", ["--bind", hosts, "/etc/hosts"]);
    return startFakeClouds(work);
}

/** Each real CLI's environment against the fake clouds: fake credentials, their files in `work`, the fake clouds' certificate trusted. */
export function cliEnvs(work: string, caFile: string): Record<"aws" | "gcloud" | "az", Record<string, string>> {
    const token = path.join(work, "gcloud-token");
    fs.writeFileSync(token, "ya29.cli-cost-token-not-real");
    const base: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, LANG: "C.UTF-8" };
    return {
        aws: {
            ...base,
            AWS_ACCESS_KEY_ID: "AKIDCLICOSTNOTREAL",
            AWS_SECRET_ACCESS_KEY: "cli-cost-not-real",
            AWS_CONFIG_FILE: "/nonexistent",
            AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_CA_BUNDLE: caFile,
            AWS_PAGER: "",
        },
        gcloud: {
            ...base,
            CLOUDSDK_CONFIG: path.join(work, "gcloud"),
            CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: token,
            CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: caFile,
            CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
            CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
            CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
            CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
        },
        az: {
            ...base,
            AZURE_CONFIG_DIR: path.join(work, "azure"),
            AZURE_CORE_COLLECT_TELEMETRY: "false",
            AZURE_CORE_SURVEY_MESSAGE: "false",
            AZURE_CORE_NO_COLOR: "true",
            REQUESTS_CA_BUNDLE: caFile,
        },
    };
}

/** Logs `az` (AZ_BIN) in as a fake service principal against the fake Entra ID: undefined, or why it failed (also on stderr). */
export function loginAz(azBin: string, env: Record<string, string>): Promise<string | undefined> {
    const args = [
        "login",
        "--service-principal",
        "--username",
        IDS.appId,
        "--password",
        "cli-cost-not-a-secret",
        "--tenant",
        IDS.tenant,
        "--output",
        "none",
    ];
    return new Promise((resolve) => {
        const child = spawn(azBin, args, { env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", (e) => (stderr += String(e)));
        child.on("close", (code) => {
            const why = code === 0 ? undefined : `az login against the fake Entra ID failed (exit ${code}): ${stderr.trim().slice(-600)}`;
            if (why) process.stderr.write(`${why}\n`);
            resolve(why);
        });
    });
}
