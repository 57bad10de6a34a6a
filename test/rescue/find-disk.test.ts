import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FIND_DISK } from "./disk-lab";

/** A fake /dev and /sys: files stand for devices, symlinks as udev makes them. */
function tree(links: Record<string, string>, devices: Record<string, string>, sysExtra: Record<string, string> = {}) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "find-disk-"));
    const dev = path.join(root, "dev");
    const sys = path.join(root, "sys");
    for (const [name, majmin] of Object.entries(devices)) {
        fs.mkdirSync(dev, { recursive: true });
        fs.writeFileSync(path.join(dev, name), "");
        fs.mkdirSync(path.join(sys, "class/block", name), { recursive: true });
        fs.writeFileSync(path.join(sys, "class/block", name, "dev"), `${majmin}\n`);
    }
    for (const [link, target] of Object.entries(links)) {
        fs.mkdirSync(path.dirname(path.join(dev, link)), { recursive: true });
        fs.symlinkSync(target, path.join(dev, link));
    }
    for (const [file, text] of Object.entries(sysExtra)) {
        fs.mkdirSync(path.dirname(path.join(sys, file)), { recursive: true });
        fs.writeFileSync(path.join(sys, file), text);
    }
    return { dev, sys };
}

function find(t: { dev: string; sys: string }, ...args: string[]) {
    const out = spawnSync(FIND_DISK, [...args, "--wait", "0", "--dev-root", t.dev, "--sys-root", t.sys], { encoding: "utf8" });
    return { code: out.status, device: out.stdout.trim(), stderr: out.stderr };
}

// A major:minor that is mounted on this machine, to stand for the rescue VM's own disk.
const mountedMajMin = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")[0].split(" ")[2];

describe("find-disk: cloud attachment handle → block device", () => {
    it("AWS Nitro: the EBS volume's by-id link", () => {
        const t = tree(
            { "disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0": "../../nvme2n1" },
            { nvme1n1: "259:0", nvme2n1: "259:4" },
        );
        const r = find(t, "--aws-volume-id", "vol-0123456789abcdef0");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.device, path.join(t.dev, "nvme2n1"));
    });

    it("AWS Nitro without udev links: the NVMe controller serial", () => {
        const t = tree(
            {},
            { nvme1n1: "259:0", nvme3n1: "259:6" },
            {
                "class/nvme/nvme1/serial": "vol0aaaaaaaaaaaaaaaa\n",
                "class/nvme/nvme1/nvme1n1/dev": "259:0\n",
                "class/nvme/nvme3/serial": "vol0123456789abcdef0\n",
                "class/nvme/nvme3/nvme3n1/dev": "259:6\n",
            },
        );
        assert.equal(find(t, "--aws-volume-id", "vol-0123456789abcdef0").device, path.join(t.dev, "nvme3n1"));
    });

    it("Azure: the data disk's LUN, new and old link layouts", () => {
        const t1 = tree({ "disk/azure/data/by-lun/3": "../../../../sdd" }, { sdd: "8:48" });
        assert.equal(find(t1, "--azure-lun", "3").device, path.join(t1.dev, "sdd"));
        const t2 = tree({ "disk/azure/scsi1/lun3": "../../../sde" }, { sde: "8:64" });
        assert.equal(find(t2, "--azure-lun", "3").device, path.join(t2.dev, "sde"));
    });

    it("GCP: the device name's google- link", () => {
        const t = tree({ "disk/by-id/google-scratch-web-1": "../../sdb" }, { sdb: "8:16" });
        assert.equal(find(t, "--gcp-device-name", "scratch-web-1").device, path.join(t.dev, "sdb"));
    });

    it("refuses a device that is mounted (the rescue VM's own disk): exit 5", () => {
        const t = tree({ "disk/by-id/google-boot": "../../sda" }, { sda: mountedMajMin });
        const r = find(t, "--gcp-device-name", "boot");
        assert.equal(r.code, 5);
        assert.match(r.stderr, /is mounted on this VM; refusing it/);
    });

    it("not found within the wait: exit 6; malformed handles: exit 2", () => {
        const t = tree({}, { sda: "8:0" });
        assert.equal(find(t, "--gcp-device-name", "missing").code, 6);
        assert.equal(find(t, "--aws-volume-id", "vol-123; rm -rf /").code, 2);
        assert.equal(find(t, "--azure-lun", "64").code, 2);
        assert.equal(find(t, "--gcp-device-name", "../../sda").code, 2);
    });
});
