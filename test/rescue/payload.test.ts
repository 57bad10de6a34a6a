import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { startupScript } from "../../components/gcp/rescue";
import { toolsItems } from "../../components/gcp/tools";
import { LVM_NO_AUTOACTIVATION, RESCUE_LIB, rescueCloudInit, rescueTools } from "../../rescue/payload";
import { engineZipapp } from "../../rescue/zipapp";

describe("rescue tool payload", () => {
    it("unpacks on the rescue VM to the engine's zipapp and the other tools byte-identical to rescue/, executable", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "payload-"));
        // Run from a file, as the clouds' agents run it (Run Command, startup script, SSM): the
        // script is larger than one argument may be (128 KiB), so never `sh -c SCRIPT`.
        const script = path.join(dir, "install.sh");
        fs.writeFileSync(script, rescueTools().install.split(RESCUE_LIB).join(dir));
        execFileSync("sh", [script]);
        for (const name of ["repair-disk", "find-disk", "fetch-key", "on-rescue.sh"]) {
            const unpacked = path.join(dir, name);
            const expected = name === "repair-disk" ? engineZipapp() : fs.readFileSync(path.join(__dirname, "../../rescue", name));
            assert.ok(fs.readFileSync(unpacked).equals(expected), name);
            assert.equal(fs.statSync(unpacked).mode & 0o777, 0o755);
        }
        // The engine as installed runs, by its #! line, under the rescue VM's /usr/bin/python3.
        assert.match(fs.readFileSync(path.join(dir, "repair-disk"), "latin1"), /^#!\/usr\/bin\/python3\n/);
        assert.equal(execFileSync(path.join(dir, "repair-disk"), ["--version"], { encoding: "utf8" }), "repair-disk 1.0.0\n");
        execFileSync("sh", [script]); // idempotent: runs again over its own output
    });

    it("is the same text on every machine and every run (no timestamps, no paths)", () => {
        const a = rescueTools();
        assert.ok(!a.install.includes(process.cwd()) && !a.install.includes(os.homedir()));
        assert.match(a.version, /^[0-9a-f]{16}$/);
        const again = JSON.parse(
            execFileSync(
                process.execPath,
                [
                    "-r",
                    require.resolve("ts-node/register/transpile-only"),
                    "-e",
                    `process.stdout.write(JSON.stringify(require(${JSON.stringify(path.join(__dirname, "../../rescue/payload"))}).rescueTools()))`,
                ],
                { encoding: "utf8" },
            ),
        );
        assert.deepEqual(again, a);
    });

    it("the rescue VM's first boot installs the NTFS and BitLocker tools, hivex, and the Linux guests' initramfs decompressors, file-system tools and initramfs sandbox (bubblewrap), never lvm2 (cloud-init, or GCP's startup script)", () => {
        const packages = "ntfs-3g dislocker python3 python3-hivex mtools zstd lz4 xfsprogs btrfs-progs bubblewrap";
        assert.match(
            rescueCloudInit(),
            new RegExp(
                `^#cloud-config\\npackage_update: true\\npackages:\\n${packages
                    .split(" ")
                    .map((p) => ` {2}- ${p}\\n`)
                    .join("")}`,
            ),
        );
        assert.ok(
            startupScript(toolsItems("dev"))
                .split("\n")
                .includes(
                    `dpkg -s ${packages} >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${packages}; }`,
                ),
        );
        // lvm2's udev rules would activate every attached guest's volume groups by themselves.
        assert.doesNotMatch(rescueCloudInit() + startupScript(toolsItems("dev")), /lvm2/);
        // Where the image has lvm2 already, nothing attached is autoactivated (an empty list), also beside a cloud's own files.
        const lvmLocal = {
            path: "/etc/lvm/lvmlocal.conf",
            permissions: "0644",
            content:
                "# bootloop-rescue: attached guest disks are never autoactivated\nactivation {\n\tauto_activation_volume_list = []\n}\n",
        };
        assert.deepEqual(parse(rescueCloudInit()).write_files, [lvmLocal]);
        assert.deepEqual(parse(rescueCloudInit({ files: [{ path: "/etc/x", content: "x" }] })).write_files, [
            lvmLocal,
            { path: "/etc/x", permissions: "0644", content: "x" },
        ]);
        // lvm2 itself reads the file as part of its configuration (lvm.conf's cascade): its effective setting.
        const conf = fs.mkdtempSync(path.join(os.tmpdir(), "lvmlocal-"));
        try {
            fs.writeFileSync(path.join(conf, "lvm.conf"), "");
            fs.writeFileSync(path.join(conf, "lvmlocal.conf"), LVM_NO_AUTOACTIVATION.content);
            const effective = execFileSync("lvmconfig", ["activation/auto_activation_volume_list"], {
                encoding: "utf8",
                env: { ...process.env, LVM_SYSTEM_DIR: conf, LVM_SUPPRESS_FD_WARNINGS: "1" },
            });
            assert.equal(effective.trim(), "auto_activation_volume_list=[]");
        } finally {
            fs.rmSync(conf, { recursive: true });
        }
    });
});
