// The clouds' API hosts pointed at the fake clouds on the loopback, for this network and mount
// namespace only (run inside `unshare -n -m` as root: a bind-mounted /etc/hosts, the loopback up).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { FAKE_HOSTS, FakeClouds, startFakeClouds } from "./fake-clouds";

/** Brings the loopback up, points FAKE_HOSTS at it and starts the fake clouds, their files in `work`. */
export async function fakeCloudsHere(work: string): Promise<FakeClouds> {
    execFileSync("ip", ["link", "set", "lo", "up"]);
    const hosts = path.join(work, "hosts");
    fs.writeFileSync(hosts, `127.0.0.1 localhost\n${FAKE_HOSTS.map((h) => `127.0.0.1 ${h}`).join("\n")}\n`);
    execFileSync("mount", ["--bind", hosts, "/etc/hosts"]);
    return startFakeClouds(work);
}
