// Which of the steps' calls the watcher makes are made again after a watcher died making them
// (CloudAction.repeatable): only those that change nothing more when made twice.
import { strict as assert } from "assert";
import { awsAction } from "../../components/aws/actions";
import { azureAction } from "../../components/azure/actions";
import { gcpAction } from "../../components/gcp/actions";

const I = "i-0123456789abcdef0";
const aws = (...args: string[]) =>
    awsAction({
        command: "aws",
        op: `${args[0]} ${args[1]}`,
        args: ["--region", "us-east-1", "--output", "json", ...args],
        fields: { region: "us-east-1" },
    });
const gc = (...args: string[]) =>
    gcpAction({
        command: "gcloud",
        op: `${args[0]} ${args[1]}`,
        args: ["compute", ...args, "--project", "my-project", "--zone", "us-central1-a", "--format", "json", "--quiet"],
        fields: { project: "my-project", zone: "us-central1-a" },
    });
const SUB = "11111111-2222-3333-4444-555555555555";
const DISK = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/vm1-fixed`;
const az = (verb: string, ...more: string[]) =>
    azureAction({
        command: "az",
        op: `vm ${verb}`,
        args: ["vm", verb, "--subscription", SUB, "-g", "rg", "-n", "vm1", ...more, "--no-wait", "--output", "json", "--only-show-errors"],
        fields: { subscription: SUB },
    });

describe("the watcher's actions made again after a lost answer: only what changes nothing more when made twice", () => {
    it("each cloud's shapes say so: stops, starts, tags, labels, reads and the same OS disk are; restarts, attaches, detaches and commands are not", () => {
        const cases: [string, ReturnType<typeof aws>, boolean][] = [
            ["aws stop", aws("ec2", "stop-instances", "--instance-ids", I), true],
            ["aws start", aws("ec2", "start-instances", "--instance-ids", I), true],
            ["aws tags", aws("ec2", "create-tags", "--resources", "vol-0123456789abcdef0", "--tags", "Key=a,Value=b"), true],
            ["aws reboot", aws("ec2", "reboot-instances", "--instance-ids", I), false],
            [
                "aws attach",
                aws("ec2", "attach-volume", "--volume-id", "vol-0123456789abcdef0", "--instance-id", I, "--device", "/dev/sda1"),
                false,
            ],
            ["aws detach", aws("ec2", "detach-volume", "--volume-id", "vol-0123456789abcdef0", "--instance-id", I), false],
            ["gcp stop", gc("instances", "stop", "web-1", "--async"), true],
            ["gcp start", gc("instances", "start", "web-1"), true],
            ["gcp labels", gc("disks", "add-labels", "web-1", "--labels", "a=b"), true],
            ["gcp serial", gc("instances", "get-serial-port-output", "web-1", "--port", "1", "--start", "0"), true],
            ["gcp reset", gc("instances", "reset", "web-1"), false],
            ["gcp attach", gc("instances", "attach-disk", "web-1", "--disk", "web-1-fixed", "--boot"), false],
            ["gcp detach", gc("instances", "detach-disk", "web-1", "--disk", "web-1"), false],
            ["azure start", az("start"), true],
            ["azure deallocate", az("deallocate"), true],
            ["azure os disk", az("update", "--os-disk", DISK), true],
            ["azure restart", az("restart"), false],
        ];
        for (const [what, action, repeatable] of cases) {
            assert.ok(action, `${what}: the watcher takes it`);
            assert.equal(action.repeatable === true, repeatable, what);
        }
    });
});
