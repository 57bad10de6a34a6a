// The real gcloud's side of test/gcp/real-gcloud.test.ts, run inside a network namespace with only
// the loopback (`unshare -n`: the real CLI reaches no cloud, whatever it tries): a local Compute
// Engine (./compute-server.ts) answering as {@link answer} says, and the real gcloud run once
// against it through its endpoint override, with a fake token.
//   unshare -n node -r ts-node/register/transpile-only test/gcp/real-gcloud-run.ts ARGS_JSON
// prints {"sent": [requests as the server saw them], "code": N, "stderr": "…"}.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Seen, computeServer } from "./compute-server";

export const P = "my-project";
export const Z = "us-central1-a";
export const BASE = `/compute/v1/projects/${P}/zones/${Z}`;

/**
 * Compute Engine as far as these calls need it: the instance (its boot disk attached as
 * persistent-disk-0), the disk with a label, serial output, and every change's operation RUNNING
 * until it is waited for (`zoneOperations.wait` answers it DONE).
 */
export function answer(endpoint: string) {
    return (r: Seen) => {
        const self = `${endpoint}projects/${P}/zones/${Z}`;
        if (r.method === "GET" && r.path === `${BASE}/instances/web-1`)
            return {
                body: {
                    kind: "compute#instance",
                    name: "web-1",
                    status: "TERMINATED",
                    zone: self,
                    selfLink: `${self}/instances/web-1`,
                    disks: [
                        {
                            deviceName: "persistent-disk-0",
                            source: `${self}/disks/web-1`,
                            boot: true,
                            mode: "READ_WRITE",
                            type: "PERSISTENT",
                        },
                    ],
                },
            };
        if (r.method === "GET" && r.path === `${BASE}/disks/web-1`)
            return {
                body: {
                    kind: "compute#disk",
                    name: "web-1",
                    zone: self,
                    selfLink: `${self}/disks/web-1`,
                    labels: { team: "ops" },
                    labelFingerprint: "42WmSpB8rSM=",
                },
            };
        if (r.method === "GET" && r.path === `${BASE}/instances/web-1/serialPort`)
            return {
                body: {
                    kind: "compute#serialPortOutput",
                    contents: "boot\n",
                    start: "0",
                    next: "5",
                    selfLink: `${self}/instances/web-1/serialPort`,
                },
            };
        const m = /\/(instances|disks)\/([^/]+)\/([^/]+)$/.exec(r.path);
        if (r.method === "POST" && (m || r.path.endsWith("/operations/operation-1/wait"))) {
            const done = r.path.endsWith("/wait");
            return {
                body: {
                    kind: "compute#operation",
                    name: "operation-1",
                    operationType: done ? "stop" : m![3],
                    status: done ? "DONE" : "RUNNING",
                    progress: done ? 100 : 0,
                    zone: self,
                    targetLink: `${self}/${m ? `${m[1]}/${m[2]}` : "instances/web-1"}`,
                    selfLink: `${self}/operations/operation-1`,
                },
            };
        }
        return { status: 404, body: { error: { code: 404, message: `no ${r.method} ${r.path}`, errors: [{ reason: "notFound" }] } } };
    };
}

/** Runs the real gcloud against `endpoint` with a fake token, its configuration in `dir`. */
function gcloud(args: readonly string[], endpoint: string, dir: string): Promise<{ code: number | null; stderr: string }> {
    fs.writeFileSync(path.join(dir, "token"), "ya29.real-gcloud-test-not-real");
    const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        LANG: "C.UTF-8",
        CLOUDSDK_CONFIG: path.join(dir, "gcloud"),
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: path.join(dir, "token"),
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: endpoint,
        CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
        CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
    };
    return new Promise((resolve) => {
        const child = spawn("gcloud", args, { env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stderr }));
    });
}

async function main(args: string[]): Promise<void> {
    execFileSync("ip", ["link", "set", "lo", "up"]);
    const server = await computeServer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "real-gcloud-"));
    try {
        server.setAnswer(answer(server.endpoint));
        const cli = await gcloud(args, server.endpoint, dir);
        // The query as its text: URLSearchParams has no JSON form.
        const sent = server.seen.splice(0).map((r) => ({ ...r, query: r.query.toString() }));
        process.stdout.write(JSON.stringify({ sent, ...cli }));
    } finally {
        await server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

if (require.main === module)
    main(JSON.parse(process.argv[2] ?? "[]") as string[]).then(
        () => process.exit(0),
        (err: unknown) => {
            process.stderr.write(`real-gcloud-run: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(1);
        },
    );
