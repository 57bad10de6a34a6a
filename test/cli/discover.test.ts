import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { discoveries } from "../../components/registry/discoveries";
import { discoverArgs, jsonText } from "../../components/tools/discovery/discover-command";
import { AWS_STACK, SUB_B, awsWorld, azureWorld, ec2, gcpWorld, runDiscover } from "../helpers/discovery-run";
import { runProjectScript } from "../helpers/lab-run";

/** Every call discovery may make: reads only. */
const READ_ONLY = {
    aws: /^(sts get-caller-identity|sts assume-role|iam list-account-aliases|ec2 describe-regions|ec2 describe-instances|ec2 describe-instance-status|autoscaling describe-auto-scaling-instances|ec2 get-console-output)$/,
    az: /^(account list|vm list|rest --method get|vm get-instance-view|vm boot-diagnostics get-boot-log)$/,
    gcloud: /^(projects (list|describe)|compute instances (list|get-serial-port-output|get-guest-attributes))$/,
};
/** The command words of a call (and az rest's method), past global options and their values. */
function words(cli: "aws" | "az" | "gcloud", call: string[]): string {
    if (cli === "az" && call[0] === "rest") return `rest --method ${call[call.indexOf("--method") + 1]}`;
    // az takes no positional values: its command is every word before the first option.
    if (cli === "az")
        return call
            .slice(
                0,
                call.findIndex((a) => a.startsWith("-")),
            )
            .join(" ");
    const w = call.filter((a, i) => !a.startsWith("-") && !(i > 0 && call[i - 1].startsWith("--")));
    return w.slice(0, cli === "gcloud" && w[0] === "compute" ? 3 : 2).join(" ");
}
function assertReadOnly(run: ReturnType<typeof runDiscover>): void {
    for (const cli of ["aws", "az", "gcloud"] as const)
        for (const call of run.calls[cli]) assert.match(words(cli, call), READ_ONLY[cli], `${cli} ${call.join(" ")}`);
}
const count = (calls: string[][], cli: "aws" | "az" | "gcloud", op: string) => calls.filter((c) => words(cli, c) === op).length;
/** The inventory entries of a written file: the instance/VM names in order. */
const names = (text: string) => (parse(text).vms as Record<string, string>[]).map((v) => v.instanceId ?? v.vmName ?? v.instance);

const FALCON = [
    "Hostname,Last Seen,First Seen,Platform,Cloud Provider,Cloud Provider Account ID,Instance ID,Sensor Version",
    `web-01,2024-07-19T04:12:33Z,2023-03-01T10:00:00Z,Windows,AWS,111111111111,${ec2(1)},7.15`,
    "WEB-02,2024-07-19T04:20:00Z,2023-03-01T10:00:00Z,Windows,AWS,111111111111,,7.15",
    `stg-02,2024-07-19T04:15:00Z,2023-03-01T10:00:00Z,Windows,AWS,222222222222,${ec2(0xb2)},7.15`,
    "GHOST-01,2024-07-19T04:30:00Z,2023-03-01T10:00:00Z,Windows,AWS,111111111111,i-0000000000000dead,7.15",
    "web-99,2024-07-20T09:00:00Z,2023-03-01T10:00:00Z,Windows,AWS,111111111111,i-0000000000000beef,7.15",
    "LAPTOP-7,2024-07-19T04:30:00Z,2023-03-01T10:00:00Z,Windows,,,,7.15",
].join("\n");

describe("npm run discover (against the stand-in CLIs)", function () {
    this.timeout(180_000);

    it("AWS, two accounts (one through the stack's role) × every enabled region, with a Falcon export: a reviewed inventory that npm run plan takes unchanged", () => {
        const run = runDiscover(
            [
                "--cloud",
                "aws",
                "--stack",
                "incident",
                "--accounts",
                "111111111111,222222222222",
                "--falcon-csv",
                "hosts.csv",
                "--out",
                "stacks/incident.yaml",
            ],
            { aws: awsWorld() },
            { ...AWS_STACK, "hosts.csv": FALCON, "stacks/.keep": "" },
        );
        assert.equal(run.code, 0, run.stderr);
        const text = fs.readFileSync(path.join(run.dir, "stacks/incident.yaml"), "utf8");
        // Boot-looping, restorable Windows instances only; the canary (us-east-1a has the most) first.
        assert.deepEqual(names(text), [ec2(1), ec2(2), ec2(8), ec2(0xb1)]);
        const entries = parse(text).vms as Record<string, any>[];
        assert.deepEqual(entries[0], {
            cloud: "aws",
            region: "us-east-1",
            instanceId: ec2(1),
            accountId: "111111111111",
            availabilityZone: "us-east-1a",
            hostname: "web-01",
            labels: { account: "111111111111", accountName: "prod", discovered: "high" },
        });
        assert.equal(entries[3].labels.accountName, "staging");
        // Reasons and confidence beside each entry; the export confirms, or its absence is flagged.
        assert.match(
            text,
            /# canary\. confidence high: web-01 \(i-0+1\) system reachable, instance status check failed \(the guest does not answer\); Falcon: last seen 2024-07-19T04:12Z, inside the bad window/,
        );
        assert.match(text, /# confidence high: web-02 .*Falcon: last seen 2024-07-19T04:20Z/);
        assert.match(text, /# confidence high: evil\?vms:\?.*; not in the Falcon list/);
        // Apart, commented out: the scale-group member, the instance-store root, the stopped one,
        // the host Falcon saw go down that is healthy now, and the host no scanned VM matches.
        assert.match(
            text,
            /scale groups[^]*#\s+# confidence medium: web-05 .*member of Auto Scaling group web-asg: .*; to recover it with the stack, detach it from the group \(aws autoscaling detach-instances[^]*#\s+instanceId: i-0+5/,
        );
        assert.match(text, /no rescue path[^]*batch-01 .*instance store/);
        assert.match(text, /not running[^]*# web-04 \(i-0+4\) not running \(stopped\)/);
        assert.match(text, /running and healthy now[^]*stg-02 .*Falcon: last seen 2024-07-19T04:15Z/);
        assert.match(
            text,
            /match no VM in the scanned scopes[^]*line 5: host "ghost-01", instance "i-0000000000000dead", account "111111111111"/,
        );
        assert.doesNotMatch(text, /linux-01|laptop-7|web-99/i);
        assert.match(
            text,
            /#\s+aws 111111111111 \(prod\) us-east-1: 6 Windows; 3 candidates \(us-east-1a 2, us-east-1b 1\); 1 not running; 1 listed apart/,
        );

        assertReadOnly(run);
        // Batched: one listing of each kind per account and region, never one per VM.
        assert.equal(count(run.calls.aws, "aws", "ec2 describe-instances"), 4);
        assert.equal(count(run.calls.aws, "aws", "ec2 describe-instance-status"), 4);
        // Consoles read only where the listing and the export disagree or only one speaks: not web-01/web-02 (both say down).
        const consoles = run.calls.aws
            .filter((c) => words("aws", c) === "ec2 get-console-output")
            .map((c) => c[c.indexOf("--instance-id") + 1]);
        assert.deepEqual([...new Set(consoles)].sort(), [ec2(5), ec2(8), ec2(0xb1), ec2(0xb2)].sort());
        // The Xen instance has no --latest: read again without it.
        assert.deepEqual(
            run.calls.aws
                .filter((c) => c.includes(ec2(0xb1)) && words("aws", c) === "ec2 get-console-output")
                .map((c) => c.includes("--latest")),
            [true, false],
        );

        const plan = runProjectScript("plan", ["--inventory", "stacks/incident.yaml", "--json"], run.dir);
        assert.equal(plan.status, 0, plan.stderr);
        assert.equal(JSON.parse(plan.stdout).vms.length, 4);
    });

    it("Azure, every readable subscription: agent status from the paged statusOnly listing, full views where it lacks the agent", () => {
        const world = azureWorld();
        world.statusPage = 2;
        world.statusWithoutAgent = false;
        const run = runDiscover(["--cloud", "azure", "--json", "--out", "found.yaml"], { az: world });
        assert.equal(run.code, 0, run.stderr);
        const text = fs.readFileSync(path.join(run.dir, "found.yaml"), "utf8");
        const entries = parse(text).vms as Record<string, any>[];
        assert.deepEqual(new Set(entries.map((e) => e.vmName)), new Set(["app-01", "app-02", "dev-01", "dev-02"]));
        assert.equal(entries[0].vmName, "app-01", "the canary: eastus2-1 has the most candidates, app-01 the most certain");
        assert.equal(entries.find((e) => e.vmName === "dev-01")!.diskEncryption, "ade", "ADE found from the VM's extension");
        assert.equal(entries.find((e) => e.vmName === "app-01")!.hostname, "APP-01");
        assert.match(text, /app-05 .*member of scale set app-vmss/);
        assert.match(text, /app-06 .*unmanaged VHD/);
        assert.match(text, /app-04 .*not running \(deallocated\)/);
        const report = JSON.parse(run.stdout);
        assert.equal(report.written, "found.yaml");
        assert.deepEqual(report.candidates.map((c: { confidence: string }) => c.confidence).sort(), ["high", "medium", "medium", "medium"]);
        assertReadOnly(run);
        assert.equal(count(run.calls.az, "az", "vm list"), 2);
        assert.ok(count(run.calls.az, "az", "rest --method get") >= 4, "statusOnly pages followed through nextLink");
        // Full views only for running VMs the listing shows without an agent (app-02: not reporting).
        assert.deepEqual(
            run.calls.az
                .filter((c) => words("az", c) === "vm get-instance-view")
                .map((c) => c.filter((a) => a.startsWith("/subscriptions/")).map((id) => id.split("/").pop())),
            [["app-02"]],
        );
        assert.equal(count(run.calls.az, "az", "vm boot-diagnostics get-boot-log"), 1, "only app-01 has boot diagnostics");
        assert.ok(!run.calls.az.some((c) => c.includes("99999999-9999-9999-9999-999999999999")), "a disabled subscription is not scanned");

        // Where the listing leaves the agent out, the full views of the running Windows VMs are read, 50 a call.
        world.statusWithoutAgent = true;
        const again = runDiscover(["--cloud", "azure", "--subscriptions", SUB_B, "--resource-groups", "rg-dev"], { az: world });
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(names(again.stdout), ["dev-01"]);
        assert.equal(count(again.calls.az, "az", "vm get-instance-view"), 1);
    });

    it("GCP, every active project: serial port 1 per running Windows instance, guest attributes only where it shows nothing", () => {
        const run = runDiscover(["--cloud", "gcp", "--out", "found.yaml"], { gcloud: gcpWorld() });
        assert.equal(run.code, 0, run.stderr);
        const text = fs.readFileSync(path.join(run.dir, "found.yaml"), "utf8");
        assert.deepEqual(new Set(names(text)), new Set(["win-1", "bat-1"]));
        assert.match(text, /win-5 .*member of managed instance group win-mig/);
        assert.match(
            text,
            /Low confidence[^]*# confidence low: bat-2 nothing on serial port 1; no guest attributes from the agent[^]*# confidence low: win-2/,
        );
        assert.doesNotMatch(text, /win-3|win-6|lnx-1/, "booted, alive by its guest attributes, Linux");
        assert.match(text, /win-4 not running \(TERMINATED\)/);
        assertReadOnly(run);
        assert.equal(count(run.calls.gcloud, "gcloud", "compute instances list"), 2, "one listing per project, every zone at once");
        assert.equal(count(run.calls.gcloud, "gcloud", "compute instances get-guest-attributes"), 3);
        assert.ok(!run.calls.gcloud.some((c) => c.includes("gone-project")));

        const zoned = runDiscover(["--cloud", "gcp", "--projects", "web-prod", "--zones", "us-central1-b"], { gcloud: gcpWorld() });
        assert.equal(zoned.code, 0, zoned.stderr);
        assert.match(zoned.stderr, /no boot-looping VM found: nothing written/, "only the group member is in us-central1-b");
        assert.ok(zoned.calls.gcloud.some((c) => c.join(" ").includes("instances list --zones us-central1-b --project web-prod")));
    });

    it("several clouds in one run, throttled listings retried, a denied console read kept as a reason", () => {
        const aws = awsWorld();
        aws.throttle = { "ec2 describe-instances": 2 };
        aws.deny = { "ec2 get-console-output": true };
        const run = runDiscover(["--cloud", "aws,gcp", "--regions", "us-east-1", "--projects", "batch-prod"], { aws, gcloud: gcpWorld() });
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(names(run.stdout).sort(), [ec2(1), ec2(2), ec2(8), "bat-1"].sort());
        assert.equal(count(run.calls.aws, "aws", "ec2 describe-instances"), 3, "two throttled, then answered");
        // The status check alone still makes web-01 a candidate; the read that failed says why it is only medium.
        assert.match(run.stdout, /# canary\. confidence medium: web-01 .*console output not readable: .*UnauthorizedOperation/);
    });

    it("bad options fail at once, naming the option, before any call", () => {
        const cases: [string[], RegExp][] = [
            [["--regions", "us-east-1"], /--cloud is required/],
            [["--cloud", "oracle"], /--cloud: "oracle" is not a cloud/],
            [["--cloud", "aws", "--regions", "us-east-1,moon-1"], /--regions: "moon-1" is not valid; expected AWS regions/],
            [["--cloud", "aws", "--accounts", "1234"], /--accounts: "1234" is not valid; expected 12-digit account ids/],
            [["--cloud", "gcp", "--regions", "us-east-1"], /--regions is an option of aws, which --cloud does not name/],
            [["--cloud", "azure", "--subscriptions", "prod"], /--subscriptions: "prod" is not valid; expected subscription GUIDs/],
            [["--cloud", "gcp", "--zones", "us-central1"], /--zones: "us-central1" is not valid/],
            [["--cloud", "aws", "--since", "yesterday"], /--since: "yesterday" is not an ISO 8601 time/],
            [["--cloud", "aws", "--since", "2024-07-19T05:00:00Z", "--until", "2024-07-19T04:00:00Z"], /--until must be after --since/],
            [["--cloud", "aws", "--frobnicate"], /unknown argument "--frobnicate"/],
            [["--cloud", "aws", "--regoins", "us-east-1"], /unknown argument "--regoins" \(did you mean --regions\?\)/],
            [["--cloud", "aws", "--force"], /--force needs --out/],
            [["--cloud", "aws", "--out", "nowhere/x.yaml"], /--out: the folder .*nowhere does not exist/],
        ];
        for (const [args, message] of cases) {
            const run = runDiscover(args, { aws: awsWorld() });
            assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
            assert.match(run.stderr, message, args.join(" "));
            assert.deepEqual(run.calls, { aws: [], az: [], gcloud: [] }, `${args.join(" ")} made no call`);
        }
        // A scope the login cannot reach is named too (after the one call that tells).
        const gcp = runDiscover(["--cloud", "gcp", "--projects", "not-mine-123"], { gcloud: gcpWorld() });
        assert.equal(gcp.code, 2);
        assert.match(gcp.stderr, /--projects: project not-mine-123 cannot be read by this login/);
        const aws = runDiscover(["--cloud", "aws", "--accounts", "333333333333"], { aws: awsWorld() });
        assert.equal(aws.code, 2);
        assert.match(
            aws.stderr,
            /--accounts: account 333333333333 has no role in awsAssumeRoleArns \(give --stack NAME.*ambient credentials are account 111111111111/,
        );
        const az = runDiscover(["--cloud", "azure", "--subscriptions", "12345678-1234-1234-1234-123456789012"], { az: azureWorld() });
        assert.equal(az.code, 2);
        assert.match(az.stderr, /--subscriptions: subscription 12345678-1234-1234-1234-123456789012 is not one this login can read/);
    });

    it("a malformed Falcon export reports its line and writes nothing; an existing file is never overwritten without --force", () => {
        const bad = `${FALCON}\nweb-03,not a time,,Windows,AWS,111111111111,,7.15\n`;
        const run = runDiscover(
            ["--cloud", "aws", "--falcon-csv", "hosts.csv", "--out", "found.yaml"],
            { aws: awsWorld() },
            { "hosts.csv": bad },
        );
        assert.equal(run.code, 1);
        assert.match(run.stderr, /hosts\.csv \(line 8\): Last Seen: is not a timestamp/);
        assert.equal(fs.existsSync(path.join(run.dir, "found.yaml")), false);
        assert.deepEqual(run.calls.aws, [], "the export is checked before any call");

        const kept = runDiscover(["--cloud", "aws", "--out", "found.yaml"], { aws: awsWorld() }, { "found.yaml": "# mine\n" });
        assert.equal(kept.code, 2);
        assert.match(kept.stderr, /--out: .*found\.yaml exists; discovery never overwrites a file without --force/);
        assert.equal(fs.readFileSync(path.join(kept.dir, "found.yaml"), "utf8"), "# mine\n");
        assert.deepEqual(kept.calls.aws, []);

        const forced = runDiscover(["--cloud", "aws", "--out", "found.yaml", "--force"], { aws: awsWorld() }, { "found.yaml": "# mine\n" });
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(fs.readFileSync(path.join(forced.dir, "found.yaml"), "utf8"), /^# Written by `npm run discover`/);
        assert.deepEqual(
            fs.readdirSync(forced.dir).filter((f) => f.endsWith(".tmp")),
            [],
        );
    });
});

describe("npm run discover: the deployer roles", () => {
    /** The action behind each call discovery makes. */
    const ACTION: Record<string, string> = {
        "aws sts get-caller-identity": "sts:GetCallerIdentity",
        "aws sts assume-role": "sts:AssumeRole",
        "aws iam list-account-aliases": "iam:ListAccountAliases",
        "aws ec2 describe-regions": "ec2:DescribeRegions",
        "aws ec2 describe-instances": "ec2:DescribeInstances",
        "aws ec2 describe-instance-status": "ec2:DescribeInstanceStatus",
        "aws autoscaling describe-auto-scaling-instances": "autoscaling:DescribeAutoScalingInstances",
        "aws ec2 get-console-output": "ec2:GetConsoleOutput",
        "az account list": "Microsoft.Resources/subscriptions/read",
        "az vm list": "Microsoft.Compute/virtualMachines/read",
        "az rest --method get": "Microsoft.Compute/virtualMachines/instanceView/read",
        "az vm get-instance-view": "Microsoft.Compute/virtualMachines/instanceView/read",
        "az vm boot-diagnostics get-boot-log": "Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action",
        "gcloud projects list": "resourcemanager.projects.get",
        "gcloud projects describe": "resourcemanager.projects.get",
        "gcloud compute instances list": "compute.instances.list",
        "gcloud compute instances get-serial-port-output": "compute.instances.getSerialPortOutput",
        "gcloud compute instances get-guest-attributes": "compute.instances.getGuestAttributes",
    };

    it("gain only the read actions discovery's calls need, and every one of them", () => {
        const file = (f: string) => fs.readFileSync(path.join(__dirname, "../../components", f), "utf8");
        const granted: Record<string, Set<string>> = {
            aws: new Set(
                (JSON.parse(file("aws/iam/deployer-policy.json")).Statement as { Effect: string; Action: string[] }[])
                    .filter((s) => s.Effect === "Allow")
                    .flatMap((s) => s.Action),
            ),
            azure: new Set(JSON.parse(file("azure/iam/deployer-role.json")).Actions as string[]),
            gcp: new Set((parse(file("gcp/iam/deployer-role.yaml")) as { includedPermissions: string[] }).includedPermissions),
        };
        const runs = [
            runDiscover(
                ["--cloud", "aws", "--stack", "incident", "--accounts", "111111111111,222222222222"],
                { aws: awsWorld() },
                AWS_STACK,
            ),
            runDiscover(["--cloud", "azure"], { az: { ...azureWorld(), statusWithoutAgent: true } }),
            runDiscover(["--cloud", "gcp"], { gcloud: gcpWorld() }),
            runDiscover(["--cloud", "gcp", "--projects", "web-prod"], { gcloud: gcpWorld() }),
        ];
        const seen = new Set(
            runs.flatMap((r) => (["aws", "az", "gcloud"] as const).flatMap((cli) => r.calls[cli].map((c) => `${cli} ${words(cli, c)}`))),
        );
        assert.deepEqual(
            [...seen].filter((op) => !ACTION[op]),
            [],
            "every call discovery made has its action here",
        );
        for (const d of discoveries) {
            const cli = { aws: "aws", azure: "az", gcp: "gcloud" }[d.cloud]!;
            const needed = new Set([...seen].filter((op) => op.startsWith(`${cli} `)).map((op) => ACTION[op]));
            // What the module declares is what its calls need (sts:AssumeRole belongs to the stacks' roles, granted already).
            assert.deepEqual([...needed].filter((a) => a !== "sts:AssumeRole").sort(), [...d.readActions].sort(), d.cloud);
            for (const a of d.readActions) assert.ok(granted[d.cloud].has(a), `${d.cloud}: the deployer role lacks ${a}`);
            assert.ok(
                d.readActions.every((a) =>
                    /(:(Describe|Get|List)|\/read$|\.(get|list|getSerialPortOutput|getGuestAttributes)$|retrieveBootDiagnosticsData\/action$)/.test(
                        a,
                    ),
                ),
                `${d.cloud}: read actions only`,
            );
        }
    });
});

describe("npm run discover: its options (in process)", () => {
    it("--out takes a .yaml or .yml file only: a .csv would be read back by npm run plan as CSV", () => {
        const parseArgs = (out: string) =>
            discoverArgs({ values: { "--cloud": "aws", "--out": out }, force: false, json: false }, discoveries);
        for (const out of ["found.csv", "found.json", "found"])
            assert.throws(
                () => parseArgs(out),
                new RegExp(`--out: "${out.replace(".", "\\.")}": discovery writes a YAML inventory; name the file \\.yaml or \\.yml`),
                out,
            );
        for (const out of ["found.yaml", "stacks/Found.YML"]) assert.equal(parseArgs(out).out, out);
    });
});

describe("npm run discover: names from the clouds on a terminal", function () {
    this.timeout(600_000);
    const HOSTILE = "\x1b]0;owned\x07web\x1b[2J\x1b[31m-\x9b31m1\u202e\u2066x\x07\x1bc";
    // eslint-disable-next-line no-control-regex -- the control characters are what the output must not hold
    const TERMINAL_ACTS_ON = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

    it("an EC2 Name tag and account alias full of escape sequences, BEL and bidi reach neither the summary nor the inventory raw", () => {
        const world = awsWorld();
        world.aliases["111111111111"] = [`prod${HOSTILE}`];
        world.instances[ec2(1)].tags.Name = HOSTILE;
        const run = runDiscover(["--cloud", "aws", "--regions", "us-east-1"], { aws: world });
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(run.stderr, TERMINAL_ACTS_ON, "progress and summary");
        assert.doesNotMatch(run.stdout, TERMINAL_ACTS_ON, "the inventory");
        assert.match(run.stderr, /canary web-1x \(i-0+1\) in aws 111111111111 us-east-1a/);
        assert.equal(parse(run.stdout).vms[0].labels.accountName, "prodweb-1x");
    });

    it("--json keeps every name's value, with what a terminal acts on written as \\u escapes", () => {
        const text = jsonText({ name: HOSTILE });
        assert.doesNotMatch(text, TERMINAL_ACTS_ON);
        assert.deepEqual(JSON.parse(text), { name: HOSTILE });
    });
});
