import * as http from "http";
import { closeClients } from "../../components/aws/api";
import { NO_AWS_PROFILE, setEnv } from "../helpers/aws-env";

/** A request as the local AWS endpoint received it. */
export interface Received {
    /** `Action` of a Query request, or the `X-Amz-Target` of a JSON one. */
    action: string;
    /** The Query form (EC2, STS). */
    form: URLSearchParams;
    /** The JSON body (Systems Manager). */
    json: any;
    headers: http.IncomingHttpHeaders;
}

/** What the endpoint answers; `undefined` never answers (a hung request). */
export type Answer = { status: number; body: string; type?: string; headers?: Record<string, string> } | undefined;

/**
 * A local HTTP endpoint for the AWS SDK clients of components/aws/api.ts: `AWS_ENDPOINT_URL` and a
 * test key pair point them here while it runs (the clients are made again for each server).
 * `answer` decides each request's answer; every request is kept in `received`.
 */
export async function awsEndpoint(answer: (r: Received) => Answer): Promise<{ received: Received[]; url: string; close(): Promise<void> }> {
    const received: Received[] = [];
    const hung: http.ServerResponse[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (d: Buffer) => chunks.push(d));
        req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const target = req.headers["x-amz-target"];
            const form = new URLSearchParams(target ? "" : body);
            const r: Received = {
                action: typeof target === "string" ? target : (form.get("Action") ?? ""),
                form,
                json: target && body ? JSON.parse(body) : undefined,
                headers: req.headers,
            };
            received.push(r);
            const a = answer(r);
            if (!a) return void hung.push(res);
            res.writeHead(a.status, {
                "content-type": a.type ?? (target ? "application/x-amz-json-1.1" : "text/xml;charset=UTF-8"),
                ...a.headers,
            });
            res.end(a.body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/aws`;
    // The fake keys, and no developer's profile or config files (the SDK would prefer them).
    const restore = setEnv({
        ...NO_AWS_PROFILE,
        AWS_ENDPOINT_URL: url,
        AWS_ACCESS_KEY_ID: "AKIATESTTESTTESTTEST",
        AWS_SECRET_ACCESS_KEY: "test-secret",
        AWS_SESSION_TOKEN: undefined,
    });
    closeClients();
    return {
        received,
        url,
        close: async () => {
            closeClients();
            for (const res of hung) res.destroy();
            restore();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

/** An EC2 answer: `<ActionResponse>` with its request id and `inner`. */
export const ec2Xml = (action: string, inner: string): Answer => ({
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>${inner}</${action}Response>`,
});

/** An EC2 error, as https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#api-error-response shows it. */
export const ec2Error = (status: number, code: string, message: string): Answer => ({
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`,
});

/** A Systems Manager (JSON 1.1) error: status 400 with `__type` and `message`. */
export const ssmError = (status: number, type: string, message: string): Answer => ({
    status,
    body: JSON.stringify({ __type: type, message }),
});
