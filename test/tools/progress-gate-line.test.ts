import { strict as assert } from "assert";
import * as path from "path";
import { identities, paths } from "../../components/registry/clouds";
import { runOffline } from "../../components/tools/offline/run";
import { readStackConfig } from "../../components/tools/offline/stack-config";
import { FleetProgress, WatchPlan, watchPlanOf } from "../../components/tools/progress/progress";

// A failed command step's stderr ends with its gate line (base.sh gate_report), which is for the
// engine bench: the watch's reason for the failure is the step's last lines without it.

const root = path.resolve(__dirname, "../..");

describe("watch: a failed step's reason leaves its gate line out", () => {
    let plan: WatchPlan;
    before(async function () {
        this.timeout(120_000);
        const run = await runOffline({
            stack: "dev",
            config: readStackConfig(root, "dev"),
            baseDir: root,
            identities,
            paths,
            details: false,
        });
        plan = watchPlanOf(run);
    });

    it("the reason is the last three lines before the gate line", () => {
        const rescue = plan.resources.find((n) => n.startsWith("rescue-"))!;
        const urn = `urn:pulumi:dev::bootloop-rescue::command:local:Command::${rescue}`;
        const message = [
            'error: exit status 1: running "exec /bin/bash ./components/core/scripts/run.sh aws/swap 0123456789abcdef":',
            "Stdout:",
            "",
            "Stderr:",
            "bootloop-rescue: one",
            "bootloop-rescue: two",
            "bootloop-rescue: ec2 stop-instances failed: RequestLimitExceeded",
            "bootloop-rescue-gate: queued=30 allowance=3600 deadline=reached",
            "",
        ].join("\n");
        const changes = new FleetProgress(plan).apply({ diagnosticEvent: { urn, message, severity: "error" } });
        assert.deepEqual(changes, [
            {
                kind: "other-failure",
                resource: rescue,
                reason: "bootloop-rescue: one / bootloop-rescue: two / bootloop-rescue: ec2 stop-instances failed: RequestLimitExceeded",
            },
        ]);
    });
});
