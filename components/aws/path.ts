import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { VmEntry } from "../core/contract/vm";
import { bindSteps } from "../core/cloud-steps";
import { CloudPath, CloudSession, RestoreLookup, SessionContext } from "../core/contract/cloud-path";
import { AWS_CONFIG_KEYS, AwsConfig, readAwsConfig } from "./config";
import { awsBuilt } from "./built";
import { callerAccount, lookUpInstance, offlineAwsLookup } from "./lookups";
import { AwsRescueFleet } from "./rescue";
import * as steps from "./steps";
import { runCloudScript } from "../gate/secret-lookup";
import { awsScript } from "./scripts";
import { RestoreListings } from "../core/restore-listings";

/**
 * One run of the AWS path: a provider per account named in the inventory (the ambient
 * credentials, or a role to assume), the rescue fleet, the steps, and the restore points listed
 * once per account and region.
 */
class AwsSession {
    private readonly providers = new Map<string, aws.Provider>();
    private readonly accounts = new Map<aws.Provider, Promise<string>>();
    private readonly byScope = new Map<string, aws.Provider>();
    private readonly listings = new RestoreListings();
    private readonly fleet: AwsRescueFleet;
    private readonly env: steps.AwsStepEnv;

    constructor(private readonly ctx: SessionContext<AwsConfig>) {
        const tags = { ...ctx.config.tags, "bootloop-rescue:stack": pulumi.getStack(), "bootloop-rescue:managed-by": "bootloop-rescue" };
        const providerOf = (scope: string) => this.byScope.get(scope) ?? this.provider(scope, "us-east-1");
        this.fleet = new AwsRescueFleet(ctx.parent, ctx.config, providerOf, tags, {
            windows: ctx.settings.ruleSet,
            linux: ctx.settings.linuxRuleSet,
        });
        this.env = {
            settings: ctx.settings,
            config: ctx.config,
            providerOf,
            document: (a, r, guest) => this.fleet.document(a, r, guest),
            toolsOf: (rescue) => this.fleet.toolsOf(rescue),
            tags,
        };
    }

    /** The provider of an account id from the inventory ("" = the ambient credentials' account). */
    private provider(account: string, region: string): aws.Provider {
        let provider = this.providers.get(account);
        if (!provider) {
            const role = account ? this.ctx.config.assumeRoleArns[account] : undefined;
            provider = new aws.Provider(
                `aws-${account || "default"}`,
                {
                    region,
                    allowedAccountIds: account ? [account] : undefined,
                    assumeRoles: role ? [{ roleArn: role, sessionName: "bootloop-rescue" }] : undefined,
                },
                { parent: this.ctx.parent },
            );
            this.providers.set(account, provider);
        }
        return provider;
    }

    async resolve(vm: VmEntry, restore: RestoreLookup | undefined) {
        const provider = this.provider(vm.fields.accountId ?? "", vm.fields.region);
        let account = this.accounts.get(provider);
        if (!account) {
            account = vm.fields.accountId ? Promise.resolve(vm.fields.accountId) : callerAccount(provider);
            this.accounts.set(provider, account);
        }
        const resolved = await lookUpInstance(vm, provider, account, this.ctx.config, this.listings, restore);
        const secretAccount = vm.fields.bitlockerSecret?.split(":")[4];
        if (secretAccount && secretAccount !== resolved.placement.scope) {
            throw new Error(
                `its bitlockerSecret is in account ${secretAccount}, the instance in ${resolved.placement.scope}: the rescue instance's role may read only secrets of its own account (the stack grants that itself); copy the secret into ${resolved.placement.scope}, e.g. with \`npm run import-keys\``,
            );
        }
        this.byScope.set(resolved.placement.scope, provider);
        return resolved;
    }

    rescueVm: CloudSession["rescueVm"] = (ctx) => this.fleet.instance(ctx);

    /** The session core drives: lookups, rescue VMs, and the steps bound to this run. */
    asSession(): CloudSession {
        return { resolve: (vm, restore) => this.resolve(vm, restore), rescueVm: this.rescueVm, ...bindSteps(this.env, steps) };
    }
}

/** The AWS recovery path: EC2 Windows instances, repaired through pooled Linux rescue instances. */
export const awsPath: CloudPath<AwsConfig> = {
    ...awsBuilt,
    disksPerRescue: { default: 20, max: steps.AWS_MAX_DISKS_PER_RESCUE },
    configKeys: AWS_CONFIG_KEYS,
    configure: readAwsConfig,
    openSession: (ctx) => new AwsSession(ctx).asSession(),
    offlineLookup: offlineAwsLookup,
    storeKeySecret: (vm, { stack, config, keyFile }) => {
        const role = config.assumeRoleArns[vm.fields.accountId ?? ""];
        return runCloudScript("aws-store-key", awsScript("store-key"), {
            AWS_REGION: vm.fields.region,
            SECRET_NAME: `bootloop-rescue/${stack}/${vm.slug}`,
            KEY_FILE: keyFile,
            STACK_NAME: stack,
            VM_LABEL: vm.label,
            TAGS_JSON: JSON.stringify(
                Object.entries({ ...config.tags, "bootloop-rescue:stack": stack, "bootloop-rescue:managed-by": "bootloop-rescue" }).map(
                    ([Key, Value]) => ({ Key, Value }),
                ),
            ),
            ...(role ? { ASSUME_ROLE_ARN: role } : {}),
        });
    },
};
