import * as assert from "assert";
import { chatText, inertJson, markdownText, terminalText } from "../../components/tools/display-text";

// Hostile strings as a guest's console, a cloud tag or an engine diagnostic could carry them.
const HOSTILE = {
    osc_title: "app01\x1b]0;pwned title\x07 ok",
    osc_clipboard: "app01\x1b]52;c;cm0gLXJmIH4=\x1b\\ ok",
    osc_8bit: "app01\x9d0;title\x9c ok",
    screen_clear: "\x1b[2J\x1b[Happ01 ok",
    reset: "\x1bcapp01 ok",
    csi_8bit: "\x9b31mapp01 ok",
    bell_backspace: "app01\x07\x08\x08 ok",
    carriage_return: "failed\rrecovered ok",
    bidi: "app01\u202e\u2066kcatta ok",
    dcs: "app01\x1bP1$r0m\x1b\\ ok",
    colour: "\x1b[31mapp01\x1b[0m ok",
    engine_markup: "<{%fg 1%}>app01<{%reset%}> ok",
};

describe("display text: foreign text shown to a person", () => {
    for (const [name, text] of Object.entries(HOSTILE)) {
        it(`terminal: ${name} leaves no control character or escape`, () => {
            const out = terminalText(text);
            // eslint-disable-next-line no-control-regex -- control characters are what the output must not hold
            assert.doesNotMatch(out, /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(out));
            assert.match(out, /ok$/);
        });
    }
    it("keeps ordinary text, and newlines only where asked", () => {
        assert.equal(terminalText("disk C: 3 files moved (C-00000291*.sys)"), "disk C: 3 files moved (C-00000291*.sys)");
        assert.equal(terminalText("a\nb"), "a b");
        assert.equal(terminalText("a\r\nb\x1b[2Kc", { multiline: true }), "a\nbc");
    });
    it("chat: mentions and links cannot fire", () => {
        const out = chatText("<!channel> <@U123> <https://evil.example|click> @here @everyone & done");
        assert.doesNotMatch(out, /[<>]/);
        assert.doesNotMatch(out, /@(here|everyone|channel)/i);
        assert.match(out, /&amp; done$/);
    });
    it("chat and markdown: no link or mention survives, in any service's syntax", () => {
        const hostile = "[click](https://evil.example/x) www.evil.example @alice @here ftp://x";
        for (const out of [chatText(hostile), markdownText(hostile)]) {
            assert.doesNotMatch(out, /\]\(/, out);
            assert.doesNotMatch(out, /[a-z]:\/\//i, out);
            assert.doesNotMatch(out, /www\.evil/, out);
            assert.doesNotMatch(out, /@/, out);
        }
        assert.match(chatText("https://evil.example"), /^https\[:\]\/\/evil\.example$/);
    });
    it("markdown: a cell cannot break its table or inject HTML", () => {
        const out = markdownText("a|b <img src=x onerror=alert(1)> [x](javascript:1) `c`");
        assert.doesNotMatch(out, /(^|[^\\])[|`[\]()]/);
        assert.doesNotMatch(out, /</);
    });
});

describe("inert JSON", () => {
    it("keeps every value and writes what a terminal acts on as \\u escapes", () => {
        const value = { name: "web\u202e1\x9b31m\u2028x", plain: "a\tb" };
        const text = inertJson(value, 2);
        assert.doesNotMatch(text, /[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/);
        assert.deepEqual(JSON.parse(text), value);
    });
});
