import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { FileSpec, STAND_INS, bekFile, buildImage, filesOf, requireDiskLab, runEngine, skipDiskLab, workDir } from "./disk-lab";

const CS = "Windows/System32/drivers/CrowdStrike";
const BAD: FileSpec = { path: `${CS}/C-00000291-00000000-00000032.sys`, mtime: "2024-07-19T04:09:30Z", content: "faulty channel file 291" };
// Each block a multiple of 11 below 720896, as BitLocker recovery passwords are.
const RIGHT = "000000-111111-222222-333333-444444-555555-666666-000011";
const WRONG = "000011-000022-000033-000044-000055-000066-000077-000088";
const RECOVERY_ID = "6f1d8b52-3c47-4e8a-9d0b-2a5f7c91e3b4";
const EXTERNAL_ID = "0c9e4f1a-7b2d-4c6e-8a35-d41f9b20c7e8";
const TPM_ID = "b3a7c2d1-5e4f-4a8b-9c0d-1e2f3a4b5c6d";

let counter = 0;
/** A key file with these lines (root only, as on-rescue.sh writes it). */
function keyFile(lines: string[]): string {
    const file = path.join(workDir, `keys-${++counter}`);
    fs.writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
    return file;
}

/** A disk with an EFI partition and a BitLocker volume holding Windows with the faulty file, and these protectors. */
function lockedDisk(
    protectors: { type: "recovery-password" | "external-key" | "tpm" | "clear-key"; id: string }[] | undefined,
    extra: { fveOffsets?: number[]; fveMetadataSize?: number } = {},
) {
    return buildImage("gpt", [
        { kind: "efi", sizeMiB: 8 },
        { kind: "bitlocker", sizeMiB: 32, files: [BAD], ...(protectors ? { protectors } : {}), ...extra },
    ]);
}

/** The stand-in dislocker: the right password and BEK file, and where it logs each call's argv. */
function dislocker(plain: string, bek?: string) {
    const log = path.join(workDir, `dislocker-${++counter}.log`);
    fs.writeFileSync(log, "");
    const env = {
        PATH: `${STAND_INS}:${process.env.PATH}`,
        FAKE_DISLOCKER_KEY: RIGHT,
        FAKE_DISLOCKER_PLAIN: plain,
        FAKE_DISLOCKER_LOG: log,
        ...(bek ? { FAKE_DISLOCKER_BEK: bek } : {}),
    };
    const calls = () =>
        fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as string[]);
    return { env, calls };
}

const noSecretIn = (...texts: string[]) => {
    for (const block of RIGHT.split("-").slice(1, 7).concat(WRONG.split("-").slice(1, 7)))
        for (const t of texts) assert.ok(!t.includes(block), `a key block appears: ${block}`);
};

(skipDiskLab() ? describe.skip : describe)("repair engine: BitLocker keys (stand-in dislocker, crafted FVE metadata)", function () {
    this.timeout(120_000);
    before(requireDiskLab);

    it("lists the volume's protectors and tries first the password whose key id names one: one try, the protector named in the evidence", () => {
        const img = lockedDisk([
            { type: "tpm", id: TPM_ID },
            { type: "recovery-password", id: RECOVERY_ID },
        ]);
        const d = dislocker(img.partitions[1].plain!);
        // The wrong key comes first in the file, and has no id; the right one is named by its
        // id's first 8 hex digits, as Entra ID and AD exports show it.
        const run = runEngine(
            [
                "--disk",
                img.image,
                "--bitlocker-key-file",
                keyFile(["# exported 2024-07-19", WRONG, `${RECOVERY_ID.slice(0, 8).toUpperCase()} ${RIGHT}`]),
            ],
            d.env,
            img.image,
        );
        assert.equal(run.code, 0, run.stderr);
        const part = run.evidence.partitions[1];
        assert.deepEqual(part.protectors, [
            { type: "tpm", id: TPM_ID },
            { type: "recovery-password", id: RECOVERY_ID },
        ]);
        assert.equal(part.protectorsRead, true);
        assert.deepEqual(part.unlockedWith, { protector: "recovery-password", keyId: RECOVERY_ID, tries: 1 });
        assert.equal(d.calls().length, 1);
        assert.equal(run.evidence.volumes[0].matches[0].action, "quarantined");
        noSecretIn(run.stdout, run.stderr, JSON.stringify(d.calls()));
    });

    it("without ids, tries every password in turn until one opens the volume", () => {
        const img = lockedDisk([{ type: "recovery-password", id: RECOVERY_ID }]);
        const d = dislocker(img.partitions[1].plain!);
        const run = runEngine(["--disk", img.image, "--bitlocker-key-file", keyFile([WRONG, RIGHT])], d.env, img.image);
        assert.equal(run.code, 0, run.stderr);
        // The volume's only recovery password protector is the one that opened it.
        assert.deepEqual(run.evidence.partitions[1].unlockedWith, { protector: "recovery-password", keyId: RECOVERY_ID, tries: 2 });
        assert.equal(d.calls().length, 2);
        noSecretIn(run.stdout, run.stderr);
    });

    it("opens an Azure Disk Encryption style volume with its BEK file (dislocker -f); passwords are not tried on a volume without a password protector", () => {
        const img = lockedDisk([{ type: "external-key", id: EXTERNAL_ID }]);
        const bek = bekFile(EXTERNAL_ID);
        const other = bekFile("11111111-2222-4333-8444-555555555555");
        const d = dislocker(img.partitions[1].plain!, bek);
        const run = runEngine(
            ["--disk", img.image, "--bitlocker-key-file", keyFile([RIGHT]), "--bitlocker-bek-file", other, "--bitlocker-bek-file", bek],
            d.env,
            img.image,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(run.evidence.partitions[1].unlockedWith, { protector: "external-key", keyId: EXTERNAL_ID, tries: 1 });
        const calls = d.calls();
        assert.equal(calls.length, 1, "the BEK whose id the volume names, first and only");
        assert.deepEqual(calls[0].slice(2, 4), ["-f", bek]);
        assert.equal(
            filesOf(img.partitions[1].plain!, { startBytes: 0, sizeBytes: fs.statSync(img.partitions[1].plain!).size })[BAD.path],
            undefined,
            "repaired through the unlocked volume",
        );
    });

    it("a volume whose protection is suspended (a clear key protector) opens without any key (dislocker -c), before any key given", () => {
        const CLEAR_ID = "d2c1b0a9-8f7e-4d6c-9b5a-493827160504";
        const suspended = () =>
            lockedDisk([
                { type: "tpm", id: TPM_ID },
                { type: "clear-key", id: CLEAR_ID },
                { type: "recovery-password", id: RECOVERY_ID },
            ]);
        for (const keys of [[], ["--bitlocker-key-file", keyFile([RIGHT])]]) {
            const disk = suspended();
            const d = dislocker(disk.partitions[1].plain!);
            const run = runEngine(["--disk", disk.image, ...keys], { ...d.env, FAKE_DISLOCKER_CLEAR: "1" }, disk.image);
            assert.equal(run.code, 0, run.stderr);
            assert.deepEqual(run.evidence.partitions[1].unlockedWith, { protector: "clear-key", keyId: CLEAR_ID, tries: 1 });
            assert.equal(run.evidence.volumes[0].matches[0].action, "quarantined");
            assert.deepEqual(
                d.calls().map((argv) => argv[2]),
                ["-c"],
                "no key was needed",
            );
        }
        const img = suspended();
        const d = dislocker(img.partitions[1].plain!);
        // Metadata that names a clear key dislocker cannot use: the password given is tried next;
        // with none given, the volume is locked, saying what was tried.
        const next = runEngine(["--disk", img.image, "--bitlocker-key-file", keyFile([RIGHT])], d.env, img.image);
        assert.equal(next.code, 0, next.stderr);
        assert.deepEqual(next.evidence.partitions[1].unlockedWith, { protector: "recovery-password", keyId: RECOVERY_ID, tries: 2 });
        const none = runEngine(["--disk", img.image], d.env, img.image);
        assert.equal(none.code, 4);
        assert.match(none.evidence.message, /the clear key \(protection suspended\) did not unlock the volume/);
    });

    it("a volume whose metadata cannot be read (offsets outside it) or names no protector gets every key, in the order given", () => {
        const img = lockedDisk(undefined, { fveOffsets: [2 ** 40, 0, 33 * 1024 * 1024] });
        const d = dislocker(img.partitions[1].plain!);
        const run = runEngine(["--disk", img.image, "--bitlocker-key-file", keyFile([WRONG, RIGHT])], d.env, img.image);
        assert.equal(run.code, 0, run.stderr);
        const part = run.evidence.partitions[1];
        assert.deepEqual([part.protectors, part.protectorsRead], [[], false]);
        assert.deepEqual(part.unlockedWith, { protector: "recovery-password", keyId: null, tries: 2 });
        // Metadata that reads but names no protector: every key too, rather than none.
        const bare = lockedDisk([]);
        const b = dislocker(bare.partitions[1].plain!);
        const again = runEngine(["--disk", bare.image, "--bitlocker-key-file", keyFile([WRONG, RIGHT])], b.env, bare.image);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(
            [
                again.evidence.partitions[1].protectors,
                again.evidence.partitions[1].protectorsRead,
                again.evidence.partitions[1].unlockedWith.tries,
            ],
            [[], true, 2],
        );
    });

    it("hostile metadata stays bounded: a claimed size past 64 KiB is not read, and at most 32 protectors are listed", () => {
        const huge = lockedDisk([{ type: "recovery-password", id: RECOVERY_ID }], { fveMetadataSize: 0xffffffff });
        const h = dislocker(huge.partitions[1].plain!);
        const run = runEngine(["--disk", huge.image, "--bitlocker-key-file", keyFile([RIGHT])], h.env, huge.image);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual([run.evidence.partitions[1].protectors, run.evidence.partitions[1].protectorsRead], [[], false]);
        const id = (i: number) => `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`;
        const many = lockedDisk(Array.from({ length: 300 }, (_, i) => ({ type: "recovery-password" as const, id: id(i) })));
        const m = dislocker(many.partitions[1].plain!);
        const crowded = runEngine(["--disk", many.image, "--bitlocker-key-file", keyFile([`${id(7)} ${RIGHT}`])], m.env, many.image);
        assert.equal(crowded.code, 0, crowded.stderr);
        assert.equal(crowded.evidence.partitions[1].protectors.length, 32);
        assert.deepEqual(crowded.evidence.partitions[1].unlockedWith, { protector: "recovery-password", keyId: id(7), tries: 1 });
    });

    it("locked (exit 4) when no key opens the volume or none is of a kind it has, saying so without a key", () => {
        const img = lockedDisk([{ type: "recovery-password", id: RECOVERY_ID }]);
        const d = dislocker(img.partitions[1].plain!);
        const wrong = runEngine(
            ["--disk", img.image, "--bitlocker-key-file", keyFile([WRONG, "000022-000033-000044-000055-000066-000077-000088-000099"])],
            d.env,
            img.image,
        );
        assert.equal(wrong.code, 4);
        assert.match(
            wrong.evidence.message,
            /none of the 2 keys tried unlocked the volume \(BitLocker: the recovery password did not unlock the volume/,
        );
        noSecretIn(wrong.stdout, wrong.stderr);
        const tpm = lockedDisk([{ type: "tpm", id: TPM_ID }]);
        const t = dislocker(tpm.partitions[1].plain!);
        const none = runEngine(["--disk", tpm.image, "--bitlocker-key-file", keyFile([RIGHT])], t.env, tpm.image);
        assert.equal(none.code, 4);
        assert.match(none.evidence.message, /the volume's protectors are tpm; none of the 1 keys given/);
        assert.equal(t.calls().length, 0, "dislocker never ran");
    });

    it("bad key input is refused before the disk is touched, naming the line or the file's place, never its content", () => {
        const img = lockedDisk([{ type: "recovery-password", id: RECOVERY_ID }]);
        const cases: [string[], RegExp][] = [
            [
                ["--bitlocker-key-file", keyFile([RIGHT, "", "123456-999999-000000-000000-000000-000000-000000-000000"])],
                /--bitlocker-key-file: line 3: not a BitLocker recovery password/,
            ],
            [
                ["--bitlocker-key-file", keyFile([`not-an-id ${RIGHT}`])],
                /--bitlocker-key-file: line 1: the key id is not a GUID or its first 8 hex digits/,
            ],
            [
                ["--bitlocker-key-file", keyFile([`${RECOVERY_ID} ${RIGHT} extra`])],
                /--bitlocker-key-file: line 1: expected \[KEY-ID\] RECOVERY-PASSWORD/,
            ],
            [
                [
                    "--bitlocker-key-file",
                    keyFile(
                        Array.from(
                            { length: 65 },
                            (_, i) => `000000-000000-000000-000000-000000-000000-${String(11 * (i + 1)).padStart(6, "0")}-000000`,
                        ),
                    ),
                ],
                /more than 64 recovery passwords/,
            ],
            [["--bitlocker-bek-file", keyFile([RIGHT])], /--bitlocker-bek-file #1: not a BitLocker external key \(\.BEK\) file/],
        ];
        for (const [args, message] of cases) {
            const run = runEngine(["--disk", img.image, ...args], dislocker(img.partitions[1].plain!).env, img.image);
            assert.equal(run.code, 2, String(message));
            assert.match(run.evidence.message, message);
            assert.ok(!run.stdout.includes("999999") && !run.stdout.includes("111111"), "no key text echoed");
        }
    });
});
