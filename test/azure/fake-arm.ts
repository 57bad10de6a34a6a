// A local Resource Manager for the watcher's Azure requests (observations, the steps' calls): it
// answers in ARM's wire format as each test decides; and the real gate with only the token's CLI call.
import * as http from "http";
import { AddressInfo } from "net";
import { ArmClient } from "../../components/azure/api";
import { ArmTokens } from "../../components/azure/arm-token";
import { azureWatch, useArmClient } from "../../components/azure/watch";
import { Gate } from "../../components/gate/gate";
import { Semaphore } from "../../components/gate/limits";
import { ApiCall } from "../../components/gate/types";
import { SUB } from "./run-script";

/**
 * ARM's error answers. Resource Manager's throttling: 429, Retry-After, SubscriptionRequestsThrottled
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling);
 * Compute's: 429, OperationNotAllowed with a TooManyRequests detail naming the policy
 * (https://learn.microsoft.com/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors);
 * a resource not there: 404 ResourceNotFound.
 */
export const ERRORS = {
    armThrottled: {
        status: 429,
        headers: { "retry-after": "17" },
        body: {
            error: {
                code: "SubscriptionRequestsThrottled",
                message: `Number of 'read' requests for subscription '${SUB}' actor '00000000-1111-2222-3333-444444444444' exceeded. Please try again after '17' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`,
            },
        },
    },
    computeThrottled: {
        status: 429,
        headers: { "retry-after": "1200" },
        body: {
            error: {
                code: "OperationNotAllowed",
                message: "The server rejected the request because too many requests have been received for this subscription.",
                details: [
                    {
                        code: "TooManyRequests",
                        target: "LowCostGet3Min",
                        message:
                            '{"operationGroup":"LowCostGet3Min","startTime":"2018-06-20T19:48:47.2860632+00:00","endTime":"2018-06-20T19:49:07.2860632+00:00","allowedRequestCount":300,"measuredRequestCount":319}',
                    },
                ],
                innererror: { internalErrorCode: "TooManyRequestsReceived" },
            },
        },
    },
    notFound: (name: string) => ({
        status: 404,
        headers: {},
        body: {
            error: {
                code: "ResourceNotFound",
                message: `The Resource 'Microsoft.Compute/virtualMachines/${name}' under resource group 'myResourceGroup' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
            },
        },
    }),
    unavailable: {
        status: 503,
        headers: {},
        body: { error: { code: "ServiceUnavailable", message: "The service is temporarily unavailable." } },
    },
    internal: {
        status: 500,
        headers: {},
        body: { error: { code: "InternalServerError", message: "An internal execution error occurred." } },
    },
    expired: {
        status: 401,
        headers: {},
        body: {
            error: {
                code: "ExpiredAuthenticationToken",
                message:
                    "The access token expiry UTC time '12/7/2026 11:00:00 AM' is earlier than current UTC time '12/7/2026 12:00:00 PM'.",
            },
        },
    },
};

export type Answer = { status: number; headers?: Record<string, string>; body: unknown } | { raw: string | Buffer; status?: number };
export type Seen = { method: string; path: string; query: URLSearchParams; auth: string; body: string };

/** A local Resource Manager: `answer` decides each request's answer (it may hold it: return a promise). */
export class FakeArm {
    readonly seen: Seen[] = [];
    inFlight = 0;
    maxInFlight = 0;
    answer: (r: Seen) => Answer | Promise<Answer> = () => ({ status: 500, body: {} });
    private server?: http.Server;
    base = "";

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => this.reply(req, Buffer.concat(chunks).toString("utf8"), res));
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    private reply(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
        const url = new URL(req.url ?? "/", "http://arm");
        const r: Seen = {
            method: req.method ?? "",
            path: url.pathname,
            query: url.searchParams,
            auth: req.headers.authorization ?? "",
            body,
        };
        this.seen.push(r);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        void Promise.resolve(this.answer(r)).then((a) => {
            this.inFlight--;
            if ("raw" in a) {
                res.writeHead(a.status ?? 200, { "content-type": "application/json" });
                res.end(a.raw);
                return;
            }
            res.writeHead(a.status, { "content-type": "application/json; charset=utf-8", ...(a.headers ?? {}) });
            res.end(a.body === undefined ? "" : JSON.stringify(a.body));
        });
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

/** The real gate, but the token's CLI call answered here (and any other CLI call refused: observations make none). */
export class TokenGate extends Gate {
    readonly cliCalls: string[][] = [];
    tokenAnswer: () => string = () =>
        JSON.stringify({ accessToken: `tok-${this.cliCalls.length}`, expires_on: Math.floor(Date.now() / 1000) + 3600 });

    constructor() {
        super(new Map([["azure", azureWatch]]), new Semaphore(4), 1000);
    }

    /** Requests whose `send` runs now, and the most at once. */
    inFlight = 0;
    maxInFlight = 0;

    /** The op of each request made through the gate, in order. */
    readonly apiOps: string[] = [];

    override api<T>(call: ApiCall, send: () => Promise<T>): Promise<T> {
        this.apiOps.push(call.op);
        return super.api(call, async () => {
            this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
            try {
                return await send();
            } finally {
                this.inFlight--;
            }
        });
    }

    override run(call: { op: string; command: string; args: string[] }): Promise<string> {
        this.cliCalls.push([call.command, ...call.args]);
        if (call.op !== "account get-access-token") return Promise.reject(new Error(`the watcher made a CLI call: ${call.op}`));
        return Promise.resolve(this.tokenAnswer());
    }
}

/**
 * For the tests of one describe block: a local Resource Manager, started before them and stopped
 * after (the watch's ARM client reset); before each test, the requests it saw and the most at once
 * forgotten, a fresh TokenGate handed to `onEach`, and the watch's ARM client pointed at it.
 */
export function fakeArmForTests(onEach: (gate: TokenGate) => void): FakeArm {
    const arm = new FakeArm();
    before(() => arm.start());
    after(async () => {
        useArmClient(undefined);
        await arm.stop();
    });
    beforeEach(() => {
        arm.seen.length = 0;
        arm.maxInFlight = 0;
        onEach(new TokenGate());
        useArmClient(new ArmClient({ base: arm.base, audience: "https://management.azure.com/" }, new ArmTokens()));
    });
    return arm;
}
