// Posts the watch's one-line summaries to a chat webhook (Slack's and Teams' incoming webhooks take
// `{"text": …}`). The URL is a secret: it comes from an environment variable, is never printed, and
// a failed post is a warning, never the update's failure.

/** Checks a webhook URL: https, or http to this machine only (a test's server). */
export function checkWebhookUrl(raw: string): URL {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        throw new Error("the webhook URL is not a URL");
    }
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) throw new Error("the webhook URL must be https");
    return url;
}

/** Sends one line; resolves to an error text when the post failed (the URL never appears in it). */
export async function postLine(url: URL, text: string, fetchFn: typeof fetch = fetch, timeoutMs = 10_000): Promise<string | undefined> {
    try {
        const res = await fetchFn(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ text }),
            signal: AbortSignal.timeout(timeoutMs),
        });
        return res.ok ? undefined : `the webhook answered ${res.status}`;
    } catch (err) {
        return `the webhook could not be reached (${(err as Error).name === "TimeoutError" ? "timed out" : "network error"})`;
    }
}
