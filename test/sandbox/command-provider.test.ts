import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { commandStandIn } from "../../sandbox/providers/command";
import { providerOf, UNKNOWN } from "../../sandbox/providers/host";

// The sandbox's stand-in for command:local:Command, driven as the engine drives it (through the
// provider interface @pulumi/pulumi/provider serves), on what the program relies on.

const URN = "urn:pulumi:dev::bootloop-rescue::bootloop-rescue:core:Recovery$command:local:Command::vm-1-backup";
const provider = providerOf(commandStandIn);
const SECRET = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

describe("sandbox: the stand-in command provider", () => {
    it("create runs `create` with /bin/sh -c, the environment, stdin and dir, and keeps stdout and stderr (one trailing newline cut)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-"));
        const made = await provider.create!(URN, {
            create: 'printf "%s|%s|%s|" "$STEP" "$(cat)" "$(pwd)"; echo " sh=$0"; echo warn >&2',
            environment: { STEP: "backup" },
            stdin: "from-stdin",
            dir,
        });
        assert.ok(made.id);
        assert.equal(made.outs.stdout, `backup|from-stdin|${fs.realpathSync(dir)}| sh=/bin/sh`);
        assert.equal(made.outs.stderr, "warn");
        assert.equal(made.outs.create, 'printf "%s|%s|%s|" "$STEP" "$(cat)" "$(pwd)"; echo " sh=$0"; echo warn >&2');
    });

    it("a step's bash never reads ~/.bashrc, so a PATH set there cannot put a real cloud CLI before the stand-ins", async () => {
        // bash reads ~/.bashrc when its stdin is a socket and SHLVL is unset (it takes itself for an
        // ssh session); Node's pipes are sockets. A .bashrc that prepends a folder of its own:
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-home-"));
        fs.mkdirSync(path.join(home, "real-bin"));
        fs.writeFileSync(path.join(home, ".bashrc"), `export PATH="${home}/real-bin:$PATH"\n`);
        const saved = {
            HOME: process.env.HOME,
            SHLVL: process.env.SHLVL,
            SSH_CLIENT: process.env.SSH_CLIENT,
            SSH2_CLIENT: process.env.SSH2_CLIENT,
        };
        process.env.HOME = home;
        for (const k of ["SHLVL", "SSH_CLIENT", "SSH2_CLIENT"]) delete process.env[k];
        try {
            const made = await provider.create!(URN, { create: 'exec /bin/bash -c \'printf "%s" "$PATH"\'' });
            assert.ok(!String(made.outs.stdout).includes(`${home}/real-bin`), `PATH came from ~/.bashrc: ${String(made.outs.stdout)}`);
            const withStdin = await provider.create!(URN, { create: "cat", stdin: "given" });
            assert.equal(withStdin.outs.stdout, "given", "stdin still reaches a command that is given one");
        } finally {
            for (const [k, v] of Object.entries(saved))
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
        }
    });

    it("a secret input reaches the command plain and stays a secret in the state", async () => {
        const made = await provider.create!(URN, { create: 'printf "%s" "$KEY"', environment: { KEY: SECRET("s3cr3t") } });
        assert.equal(made.outs.stdout, "s3cr3t");
        assert.deepEqual((made.outs.environment as Record<string, unknown>).KEY, SECRET("s3cr3t"));
    });

    it("a command that exits non-zero fails its step with the exit status and its output", async () => {
        await assert.rejects(provider.create!(URN, { create: "echo partial; echo broken >&2; exit 3" }), (err: Error) => {
            assert.match(err.message, /^exit status 3: running "echo partial; echo broken >&2; exit 3":/);
            assert.match(err.message, /Stdout:\npartial\nStderr:\nbroken/);
            return true;
        });
    });

    it("a command with no `create` (a wave gate) runs nothing and has empty output", async () => {
        const made = await provider.create!(URN, {});
        assert.equal(made.outs.stdout, "");
        assert.equal(made.outs.stderr, "");
    });

    it("update runs `update` with the previous output in PULUMI_COMMAND_STDOUT/STDERR, or `create` again when there is no update", async () => {
        const olds = { create: "echo first", stdout: "first", stderr: "e1" };
        const withUpdate = await provider.update!("id", URN, olds, {
            create: "echo first",
            update: 'printf "%s/%s" "$PULUMI_COMMAND_STDOUT" "$PULUMI_COMMAND_STDERR"',
        });
        assert.equal(withUpdate.outs.stdout, "first/e1");
        const again = await provider.update!("id", URN, olds, { create: "echo second" });
        assert.equal(again.outs.stdout, "second");
        const withoutPrevious = await provider.update!("id", URN, olds, {
            create: "x",
            update: 'printf "[%s]" "${PULUMI_COMMAND_STDOUT-unset}"',
            addPreviousOutputInEnv: false,
        });
        assert.equal(withoutPrevious.outs.stdout, "[unset]");
    });

    it("delete runs `delete` (with the last output) and fails when it fails; without one it does nothing", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-"));
        const mark = path.join(dir, "deleted");
        await provider.delete!("id", URN, { delete: `printf "%s" "$PULUMI_COMMAND_STDOUT" > ${mark}`, stdout: "the-output" });
        assert.equal(fs.readFileSync(mark, "utf8"), "the-output");
        await assert.rejects(provider.delete!("id", URN, { delete: "exit 4" }), /exit status 4/);
        await provider.delete!("id", URN, { create: "exit 9" });
    });

    it("a change to `triggers` replaces the command; any other change (or one not known yet) updates it; no change is no change", async () => {
        const olds = { create: "a", triggers: ["1"], stdout: "out" };
        assert.deepEqual(await provider.diff!("id", URN, olds, { create: "a", triggers: ["2"] }), {
            changes: true,
            replaces: ["triggers"],
        });
        assert.deepEqual(await provider.diff!("id", URN, olds, { create: "b", triggers: ["1"] }), { changes: true, replaces: [] });
        assert.deepEqual(await provider.diff!("id", URN, olds, { create: UNKNOWN, triggers: ["1"] }), { changes: true, replaces: [] });
        assert.deepEqual(await provider.diff!("id", URN, olds, { create: "a", triggers: ["1"] }), { changes: false, replaces: [] });
    });

    it("local.run runs its command (on every run, as the program's lookups use it) and answers its output; a failure fails the lookup", async () => {
        const ran = await provider.invoke!("command:local:run", { command: 'printf "%s" "$WHAT"', environment: { WHAT: "answer" } });
        assert.equal(ran.outputs.stdout, "answer");
        assert.equal(ran.outputs.command, 'printf "%s" "$WHAT"');
        await assert.rejects(provider.invoke!("command:local:run", { command: "exit 5" }), /exit status 5/);
    });

    it("answers the engine in JSON only: an undefined field is left out rather than failing the call", async () => {
        const made = await provider.create!(URN, { create: "true", dir: undefined });
        assert.ok(!("dir" in made.outs));
    });

    it("a resource type it does not serve is refused with the type's name", async () => {
        const urn = "urn:pulumi:dev::bootloop-rescue::command:remote:Command::x";
        await assert.rejects(provider.create!(urn, {}), /stand-in command provider does not serve resource type command:remote:Command/);
        await assert.rejects(provider.check!(urn, {}, {}), /does not serve resource type command:remote:Command/);
        await assert.rejects(provider.invoke!("command:remote:copy", {}), /does not serve invoke command:remote:copy/);
    });

    it("the engine's cancel ends the commands in flight", async () => {
        const running = provider.create!(URN, { create: "exec sleep 30" });
        await new Promise((r) => setTimeout(r, 300));
        const started = Date.now();
        await provider.cancel!();
        await assert.rejects(running, /signal: SIGTERM/);
        assert.ok(Date.now() - started < 5000);
    });
});
