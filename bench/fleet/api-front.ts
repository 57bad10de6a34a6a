/**
 * The clouds' HTTP APIs for the fleet benchmark, which the watcher's observations call: the
 * sandbox's translators (sandbox/api/<cloud>.js, the same ones the sandbox's front loads) on a
 * loopback server in this process, each request answered by the fake cloud as the CLI call it
 * stands for, counted as an API request (no CLI process, no CLI price).
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

/** The fake cloud's answer to one call: exit code, stdout, stderr. */
export type FleetAnswer = { code: number; out: string; err: string };

/** A translator module's contract (sandbox/api/front.js describes it). */
interface Translator {
    prefix: string;
    endpointEnv(base: string): Record<string, string>;
    handle(
        req: { method: string; path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders; body: string },
        standIn: (argv: string[], env?: Record<string, string>) => Promise<{ code: number; stdout: string; stderr: string }>,
    ): Promise<{ status: number; headers?: Record<string, string>; body?: string }>;
}

/** Each cloud's translator file and the CLI whose calls it stands for. */
const TRANSLATORS = [
    { file: "aws.js", cli: "aws" },
    { file: "gcp.js", cli: "gcloud" },
    { file: "azure.js", cli: "az" },
];

/** The most a request body may hold (the watcher's requests are a few KB). */
const MAX_BODY = 1 << 20;

/**
 * Starts the APIs of the translators present, answering through `answer(cli, argv)`; resolves
 * with the environment that points the watcher's API clients at them, and their end.
 */
export async function startFleetApi(
    answer: (cli: string, argv: string[]) => FleetAnswer,
): Promise<{ env: Record<string, string>; close(): void }> {
    const dir = path.join(__dirname, "..", "..", "sandbox", "api");
    const clouds = TRANSLATORS.filter((t) => fs.existsSync(path.join(dir, t.file))).map((t) => ({
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        translator: require(path.join(dir, t.file)) as Translator,
        cli: t.cli,
    }));
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (d: Buffer) => {
            size += d.length;
            if (size > MAX_BODY) req.destroy();
            else chunks.push(d);
        });
        req.on("end", () => {
            const url = new URL(req.url ?? "/", "http://fleet");
            const c = clouds.find((x) => url.pathname === x.translator.prefix || url.pathname.startsWith(`${x.translator.prefix}/`));
            const reply = (a: { status: number; headers?: Record<string, string>; body?: string }) => {
                res.writeHead(a.status, a.headers ?? {});
                res.end(a.body ?? "");
            };
            if (!c) return reply({ status: 404, body: `no fleet API at ${url.pathname}` });
            c.translator
                .handle(
                    {
                        method: req.method ?? "GET",
                        path: url.pathname.slice(c.translator.prefix.length) || "/",
                        query: url.searchParams,
                        headers: req.headers,
                        body: Buffer.concat(chunks).toString("utf8"),
                    },
                    (argv) => {
                        const a = answer(c.cli, argv);
                        return Promise.resolve({ code: a.code, stdout: a.out, stderr: a.err });
                    },
                )
                .then(reply, (err: unknown) => reply({ status: 500, body: `fleet API failed: ${String(err)}` }));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const env: Record<string, string> = {};
    for (const c of clouds) Object.assign(env, c.translator.endpointEnv(`http://127.0.0.1:${port}${c.translator.prefix}`));
    return {
        env,
        close: () => {
            server.closeAllConnections();
            server.close();
        },
    };
}
