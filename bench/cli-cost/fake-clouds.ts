// HTTPS on 127.0.0.1:443 answering the real CLIs like the clouds do, for measure.ts only: EC2's
// query API and Systems Manager's JSON API, Compute Engine's REST API, Entra ID's discovery and
// token endpoints and Resource Manager. The answers are well-formed and of a realistic size (a
// batched read returns BATCH resources), so each CLI parses what it would parse on a runner. Only
// ever started inside a network namespace whose /etc/hosts points the clouds' hosts here.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";

/** Resources a batched read names and gets back (the watcher batches up to 100 per call). */
export const BATCH = 20;

const SUB = "00000000-0000-4000-8000-00000000c057";
/** The fake identities the CLIs are given. */
export const IDS = {
    tenant: "00000000-0000-4000-8000-0000000000a1",
    appId: "00000000-0000-4000-8000-0000000000a2",
    subscription: SUB,
    group: `/subscriptions/${SUB}/resourceGroups/rg-fleet`,
    project: "fleet-project",
};

/** The hosts answered here. */
export const FAKE_HOSTS = [
    "ec2.us-east-1.amazonaws.com",
    "ssm.us-east-1.amazonaws.com",
    "compute.googleapis.com",
    "login.microsoftonline.com",
    "management.azure.com",
];

/** One request the fake clouds answered. */
export interface Seen {
    method: string;
    host: string;
    url: string;
}

/** The running fake clouds. */
export interface FakeClouds {
    /** The certificate to trust (the server's own, self-signed for FAKE_HOSTS). */
    caFile: string;
    /** Every request answered, in order. */
    requests: Seen[];
    close(): Promise<void>;
}

type Reply = { status: number; type?: string; body: string; headers?: Record<string, string> };

const xml = (action: string, inner: string): Reply => ({
    status: 200,
    type: "text/xml;charset=UTF-8",
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>5c4a1f2e-0000-4000-8000-000000000001</requestId>${inner}</${action}Response>`,
});
const json = (o: unknown, status = 200, headers?: Record<string, string>): Reply => ({
    status,
    type: "application/json",
    body: JSON.stringify(o),
    headers,
});
const ids = (prefix: string) => Array.from({ length: BATCH }, (_, i) => `${prefix}${String(i).padStart(16, "0")}`);
const state = (code: number, name: string) => `<code>${code}</code><name>${name}</name>`;
const T = "2024-07-19T04:09:00.000Z";

function ec2(action: string): Reply {
    const inst = ids("i-0");
    const vols = ids("vol-0");
    switch (action) {
        case "DescribeInstances":
            return xml(
                action,
                `<reservationSet><item><reservationId>r-0000000000000001</reservationId><ownerId>111122223333</ownerId><groupSet/><instancesSet>${inst
                    .map(
                        (id, i) =>
                            `<item><instanceId>${id}</instanceId><imageId>ami-0000000000000001</imageId><instanceState>${state(80, "stopped")}</instanceState><privateDnsName>ip-10-0-0-${i}.ec2.internal</privateDnsName><dnsName/><keyName/><amiLaunchIndex>0</amiLaunchIndex><productCodes/><instanceType>m5.large</instanceType><launchTime>${T}</launchTime><placement><availabilityZone>us-east-1a</availabilityZone><groupName/><tenancy>default</tenancy></placement><platform>windows</platform><monitoring><state>disabled</state></monitoring><subnetId>subnet-0000000000000001</subnetId><vpcId>vpc-0000000000000001</vpcId><privateIpAddress>10.0.0.${i}</privateIpAddress><sourceDestCheck>true</sourceDestCheck><groupSet><item><groupId>sg-0000000000000001</groupId><groupName>default</groupName></item></groupSet><architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>${vols[i]}</volumeId><status>attached</status><attachTime>${T}</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping><virtualizationType>hvm</virtualizationType><tagSet><item><key>Name</key><value>vm${i}</value></item></tagSet><hypervisor>xen</hypervisor><ebsOptimized>true</ebsOptimized><enaSupport>true</enaSupport></item>`,
                    )
                    .join("")}</instancesSet></item></reservationSet>`,
            );
        case "DescribeInstanceStatus":
            return xml(
                action,
                `<instanceStatusSet>${inst
                    .map(
                        (id) =>
                            `<item><instanceId>${id}</instanceId><availabilityZone>us-east-1a</availabilityZone><instanceState>${state(16, "running")}</instanceState><systemStatus><status>ok</status><details><item><name>reachability</name><status>passed</status></item></details></systemStatus><instanceStatus><status>ok</status><details><item><name>reachability</name><status>passed</status></item></details></instanceStatus></item>`,
                    )
                    .join("")}</instanceStatusSet>`,
            );
        case "DescribeVolumes":
            return xml(
                action,
                `<volumeSet>${vols
                    .map(
                        (id, i) =>
                            `<item><volumeId>${id}</volumeId><size>127</size><snapshotId/><availabilityZone>us-east-1a</availabilityZone><status>in-use</status><createTime>${T}</createTime><attachmentSet><item><volumeId>${id}</volumeId><instanceId>${inst[i]}</instanceId><device>/dev/sda1</device><status>attached</status><attachTime>${T}</attachTime><deleteOnTermination>true</deleteOnTermination></item></attachmentSet><volumeType>gp3</volumeType><iops>3000</iops><encrypted>false</encrypted><throughput>125</throughput><multiAttachEnabled>false</multiAttachEnabled></item>`,
                    )
                    .join("")}</volumeSet>`,
            );
        case "StopInstances":
        case "StartInstances": {
            const [now, before] =
                action === "StopInstances" ? [state(64, "stopping"), state(16, "running")] : [state(0, "pending"), state(80, "stopped")];
            return xml(
                action,
                `<instancesSet><item><instanceId>${inst[0]}</instanceId><currentState>${now}</currentState><previousState>${before}</previousState></item></instancesSet>`,
            );
        }
        case "DetachVolume":
        case "AttachVolume":
            return xml(
                action,
                `<volumeId>${vols[0]}</volumeId><instanceId>${inst[0]}</instanceId><device>/dev/sda1</device><status>${action === "AttachVolume" ? "attaching" : "detaching"}</status><attachTime>${T}</attachTime>`,
            );
        case "GetConsoleOutput":
            return xml(
                action,
                `<instanceId>${inst[0]}</instanceId><timestamp>${T}</timestamp><output>${Buffer.from("Windows is starting\r\n".repeat(200)).toString("base64")}</output>`,
            );
        default:
            return {
                status: 400,
                type: "text/xml",
                body: `<Response><Errors><Error><Code>InvalidAction</Code><Message>${action}</Message></Error></Errors></Response>`,
            };
    }
}

function ssm(target: string): Reply {
    const epoch = Date.parse(T) / 1000;
    const command = {
        CommandId: "0b1c2d3e-0000-4000-8000-000000000001",
        DocumentName: "bootloop-rescue-repair",
        DocumentVersion: "$DEFAULT",
        Comment: "bootloop-rescue repair of vol-00000000000000001",
        Parameters: { volumeId: ["vol-00000000000000001"] },
        InstanceIds: ["i-0rescue000000000"],
        Targets: [],
        RequestedDateTime: epoch,
        Status: "Pending",
        StatusDetails: "Pending",
        MaxConcurrency: "50",
        MaxErrors: "0",
        TargetCount: 1,
        CompletedCount: 0,
        ErrorCount: 0,
        DeliveryTimedOutCount: 0,
        TimeoutSeconds: 3600,
    };
    if (target.endsWith(".SendCommand")) return json({ Command: command });
    if (target.endsWith(".ListCommandInvocations"))
        return json({
            CommandInvocations: Array.from({ length: 8 }, (_, i) => ({
                CommandId: command.CommandId.replace(/1$/, String(i)),
                InstanceId: "i-0rescue000000000",
                InstanceName: "",
                Comment: `bootloop-rescue repair of vol-0${String(i).padStart(16, "0")}`,
                DocumentName: command.DocumentName,
                DocumentVersion: "$DEFAULT",
                RequestedDateTime: epoch,
                Status: "Success",
                StatusDetails: "Success",
                StandardOutputUrl: "",
                StandardErrorUrl: "",
                CommandPlugins: [
                    {
                        Name: "repair",
                        Status: "Success",
                        StatusDetails: "Success",
                        ResponseCode: 0,
                        Output: JSON.stringify({
                            outcome: "repaired",
                            moved: [{ path: "Windows/System32/drivers/CrowdStrike/C-00000291-0.sys" }],
                        }),
                    },
                ],
                ServiceRole: "",
                NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
            })),
        });
    return json({ __type: "InvalidAction", message: target }, 400);
}

function gce(method: string, url: string): Reply {
    const u = new URL(url, "https://compute.googleapis.com");
    const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|disks|operations)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
        u.pathname,
    );
    if (!m) return json({ error: { code: 404, message: `not found: ${u.pathname}` } }, 404);
    const [, project, zone, kind, name, verb] = m;
    const base = `https://compute.googleapis.com/compute/v1/projects/${project}/zones/${zone}`;
    const instance = (n: string) => ({
        kind: "compute#instance",
        id: "1234567890123456789",
        creationTimestamp: "2024-07-01T00:00:00.000-07:00",
        name: n,
        machineType: `${base}/machineTypes/n2-standard-2`,
        status: "RUNNING",
        zone: base,
        canIpForward: false,
        networkInterfaces: [
            {
                kind: "compute#networkInterface",
                network: `https://compute.googleapis.com/compute/v1/projects/${project}/global/networks/default`,
                subnetwork: `https://compute.googleapis.com/compute/v1/projects/${project}/regions/us-central1/subnetworks/default`,
                networkIP: "10.128.0.2",
                name: "nic0",
                fingerprint: "abc=",
                stackType: "IPV4_ONLY",
            },
        ],
        disks: [
            {
                kind: "compute#attachedDisk",
                type: "PERSISTENT",
                mode: "READ_WRITE",
                source: `${base}/disks/${n}-boot`,
                deviceName: "persistent-disk-0",
                index: 0,
                boot: true,
                autoDelete: true,
                licenses: [`https://compute.googleapis.com/compute/v1/projects/windows-cloud/global/licenses/windows-server-2022-dc`],
                interface: "SCSI",
                guestOsFeatures: [{ type: "WINDOWS" }, { type: "MULTI_IP_SUBNET" }],
                diskSizeGb: "50",
                architecture: "X86_64",
            },
        ],
        metadata: { kind: "compute#metadata", fingerprint: "def=", items: [] },
        serviceAccounts: [],
        selfLink: `${base}/instances/${n}`,
        scheduling: { onHostMaintenance: "MIGRATE", automaticRestart: true, preemptible: false, provisioningModel: "STANDARD" },
        cpuPlatform: "Intel Cascade Lake",
        labels: { fleet: "yes" },
        labelFingerprint: "ghi=",
        startRestricted: false,
        deletionProtection: false,
        fingerprint: "jkl=",
        lastStartTimestamp: "2024-07-19T04:10:00.000-07:00",
    });
    const operation = (type: string, target: string) => ({
        kind: "compute#operation",
        id: "987654321",
        name: "operation-1721361000000-0000000000000-00000000-00000000",
        zone: base,
        operationType: type,
        targetLink: target,
        targetId: "1234567890123456789",
        status: "DONE",
        user: "fleet@example.invalid",
        progress: 100,
        insertTime: "2024-07-19T05:30:00.000-07:00",
        startTime: "2024-07-19T05:30:00.100-07:00",
        endTime: "2024-07-19T05:30:01.000-07:00",
        selfLink: `${base}/operations/operation-1721361000000-0000000000000-00000000-00000000`,
    });
    if (kind === "operations") return json(operation("start", `${base}/instances/vm0`));
    if (kind === "disks" && name && method === "GET")
        return json({
            kind: "compute#disk",
            id: "2345678901234567890",
            name,
            sizeGb: "50",
            zone: base,
            status: "READY",
            selfLink: `${base}/disks/${name}`,
            type: `${base}/diskTypes/pd-balanced`,
            labels: { "bootloop-rescue-role": "fixed" },
            labelFingerprint: "mno=",
            physicalBlockSizeBytes: "4096",
            architecture: "X86_64",
            guestOsFeatures: [{ type: "WINDOWS" }],
        });
    if (kind === "instances" && !name && method === "GET")
        return json({
            kind: "compute#instanceList",
            id: `projects/${project}/zones/${zone}/instances`,
            items: Array.from({ length: BATCH }, (_, i) => instance(`vm${i}`)),
            selfLink: `${base}/instances`,
        });
    if (kind === "instances" && name && !verb && method === "GET") return json(instance(name));
    if (kind === "instances" && verb === "serialPort")
        return json({
            kind: "compute#serialPortOutput",
            contents: "Windows is starting\r\n".repeat(200),
            start: "0",
            next: "4200",
            selfLink: `${base}/instances/${name}`,
        });
    if (kind === "instances" && verb === "getGuestAttributes")
        return json({
            kind: "compute#guestAttributes",
            queryPath: u.searchParams.get("queryPath") ?? "",
            queryValue: { items: [{ namespace: "bootloop-rescue", key: "vm0-fixed", value: JSON.stringify({ outcome: "repaired" }) }] },
            selfLink: `${base}/instances/${name}/getGuestAttributes`,
        });
    if (kind === "instances" && verb && method === "POST") return json(operation(verb, `${base}/instances/${name}`));
    return json({ error: { code: 404, message: `not found: ${method} ${u.pathname}` } }, 404);
}

function b64url(o: unknown): string {
    return Buffer.from(JSON.stringify(o)).toString("base64url");
}

function entra(method: string, url: string): Reply {
    const u = new URL(url, "https://login.microsoftonline.com");
    const host = "https://login.microsoftonline.com";
    const tenant = u.pathname.split("/")[1];
    if (u.pathname === "/common/discovery/instance")
        return json({
            tenant_discovery_endpoint: `${host}/${IDS.tenant}/v2.0/.well-known/openid-configuration`,
            "api-version": "1.1",
            metadata: [
                {
                    preferred_network: "login.microsoftonline.com",
                    preferred_cache: "login.windows.net",
                    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
                },
            ],
        });
    if (u.pathname.endsWith("/.well-known/openid-configuration"))
        return json({
            token_endpoint: `${host}/${tenant}/oauth2/v2.0/token`,
            token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            jwks_uri: `${host}/${tenant}/discovery/v2.0/keys`,
            response_modes_supported: ["query", "fragment", "form_post"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
            scopes_supported: ["openid", "profile", "email", "offline_access"],
            issuer: `${host}/${tenant}/v2.0`,
            request_uri_parameter_supported: false,
            userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
            authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/authorize`,
            device_authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/devicecode`,
            http_logout_supported: true,
            frontchannel_logout_supported: true,
            end_session_endpoint: `${host}/${tenant}/oauth2/v2.0/logout`,
            claims_supported: ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
            tenant_region_scope: "EU",
            cloud_instance_name: "microsoftonline.com",
            cloud_graph_host_name: "graph.windows.net",
            msgraph_host: "graph.microsoft.com",
        });
    if (method === "POST" && u.pathname.endsWith("/oauth2/v2.0/token")) {
        const now = Math.floor(Date.now() / 1000);
        const claims = {
            aud: "https://management.core.windows.net/",
            iss: `https://sts.windows.net/${IDS.tenant}/`,
            iat: now,
            nbf: now,
            exp: now + 3600,
            appid: IDS.appId,
            oid: IDS.appId,
            sub: IDS.appId,
            tid: IDS.tenant,
            ver: "1.0",
        };
        return json({
            token_type: "Bearer",
            expires_in: 3599,
            ext_expires_in: 3599,
            access_token: `${b64url({ typ: "JWT", alg: "RS256" })}.${b64url(claims)}.bm90LXNpZ25lZA`,
        });
    }
    return json({ error: "invalid_request", error_description: `not here: ${method} ${u.pathname}` }, 400);
}

function arm(method: string, url: string): Reply {
    const u = new URL(url, "https://management.azure.com");
    const p = u.pathname;
    if (p === "/subscriptions")
        return json({
            value: [
                {
                    id: `/subscriptions/${SUB}`,
                    authorizationSource: "RoleBased",
                    managedByTenants: [],
                    subscriptionId: SUB,
                    tenantId: IDS.tenant,
                    displayName: "fleet",
                    state: "Enabled",
                    subscriptionPolicies: {
                        locationPlacementId: "Public_2014-09-01",
                        quotaId: "PayAsYouGo_2014-09-01",
                        spendingLimit: "Off",
                    },
                },
            ],
            count: { type: "Total", value: 1 },
        });
    if (p === "/tenants")
        return json({
            value: [
                {
                    id: `/tenants/${IDS.tenant}`,
                    tenantId: IDS.tenant,
                    tenantCategory: "Home",
                    displayName: "fleet",
                    defaultDomain: "fleet.example",
                    tenantType: "AAD",
                    domains: ["fleet.example"],
                },
            ],
        });
    const m =
        /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(virtualMachines|disks)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/i.exec(
            p,
        );
    if (!m) return json({ error: { code: "ResourceNotFound", message: `not here: ${p}` } }, 404);
    const [, sub, group, kind, name, verb, child] = m;
    const rg = `/subscriptions/${sub}/resourceGroups/${group}`;
    const instanceView = {
        computerName: name,
        osName: "Windows Server 2022 Datacenter",
        osVersion: "10.0.20348.2527",
        vmAgent: {
            vmAgentVersion: "2.7.41491.1102",
            statuses: [
                {
                    code: "ProvisioningState/succeeded",
                    level: "Info",
                    displayStatus: "Ready",
                    message: "GuestAgent is running and processing the extensions.",
                    time: T,
                },
            ],
            extensionHandlers: [],
        },
        disks: [
            {
                name: `${name}-os`,
                statuses: [{ code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Provisioning succeeded", time: T }],
            },
        ],
        bootDiagnostics: {},
        hyperVGeneration: "V2",
        statuses: [
            { code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Provisioning succeeded", time: T },
            { code: "PowerState/running", level: "Info", displayStatus: "VM running" },
        ],
    };
    if (kind.toLowerCase() === "disks")
        return json({
            id: `${rg}/providers/Microsoft.Compute/disks/${name}`,
            name,
            type: "Microsoft.Compute/disks",
            location: "eastus",
            tags: { "bootloop-rescue-role": "fixed" },
            sku: { name: "Premium_LRS", tier: "Premium" },
            properties: {
                osType: "Windows",
                hyperVGeneration: "V2",
                creationData: { createOption: "Copy", sourceResourceId: `${rg}/providers/Microsoft.Compute/disks/${name}-scratch` },
                diskSizeGB: 127,
                diskIOPSReadWrite: 500,
                diskMBpsReadWrite: 100,
                encryption: { type: "EncryptionAtRestWithPlatformKey" },
                networkAccessPolicy: "AllowAll",
                publicNetworkAccess: "Enabled",
                timeCreated: T,
                provisioningState: "Succeeded",
                diskState: "Unattached",
                diskSizeBytes: 136367308800,
                uniqueId: "00000000-0000-4000-8000-0000000000d1",
                tier: "P10",
            },
        });
    if (verb && verb.toLowerCase() === "runcommands")
        return json({
            id: `${rg}/providers/Microsoft.Compute/virtualMachines/${name}/runCommands/${child}`,
            name: child,
            type: "Microsoft.Compute/virtualMachines/runCommands",
            location: "eastus",
            properties: {
                source: { script: "#!/bin/sh\nexec /opt/bootloop-rescue/repair" },
                parameters: [{ name: "DISK", value: "vm0-fixed" }],
                asyncExecution: true,
                timeoutInSeconds: 3600,
                provisioningState: "Succeeded",
                instanceView: {
                    executionState: "Succeeded",
                    executionMessage: "",
                    exitCode: 0,
                    output: JSON.stringify({
                        outcome: "repaired",
                        moved: [{ path: "Windows/System32/drivers/CrowdStrike/C-00000291-0.sys" }],
                    }),
                    error: "",
                    startTime: T,
                    endTime: T,
                },
            },
        });
    if (verb && method === "POST")
        return {
            status: 202,
            body: "",
            headers: {
                "azure-asyncoperation": `https://management.azure.com/subscriptions/${sub}/providers/Microsoft.Compute/locations/eastus/operations/00000000-0000-4000-8000-0000000000e1?api-version=2024-07-01`,
                location: `https://management.azure.com/subscriptions/${sub}/providers/Microsoft.Compute/locations/eastus/operations/00000000-0000-4000-8000-0000000000e1?monitor=true&api-version=2024-07-01`,
            },
        };
    if (verb && verb.toLowerCase() === "instanceview") return json(instanceView);
    const vm = {
        id: `${rg}/providers/Microsoft.Compute/virtualMachines/${name}`,
        name,
        type: "Microsoft.Compute/virtualMachines",
        location: "eastus",
        tags: { fleet: "yes" },
        properties: {
            vmId: "00000000-0000-4000-8000-0000000000f1",
            hardwareProfile: { vmSize: "Standard_D2s_v3" },
            storageProfile: {
                imageReference: {
                    publisher: "MicrosoftWindowsServer",
                    offer: "WindowsServer",
                    sku: "2022-datacenter-azure-edition",
                    version: "latest",
                    exactVersion: "20348.2527.240707",
                },
                osDisk: {
                    osType: "Windows",
                    name: `${name}-os`,
                    createOption: "FromImage",
                    caching: "ReadWrite",
                    managedDisk: { storageAccountType: "Premium_LRS", id: `${rg}/providers/Microsoft.Compute/disks/${name}-os` },
                    deleteOption: "Detach",
                    diskSizeGB: 127,
                },
                dataDisks: [],
                diskControllerType: "SCSI",
            },
            osProfile: {
                computerName: name,
                adminUsername: "azureuser",
                windowsConfiguration: {
                    provisionVMAgent: true,
                    enableAutomaticUpdates: true,
                    patchSettings: { patchMode: "AutomaticByOS", assessmentMode: "ImageDefault" },
                },
                secrets: [],
                allowExtensionOperations: true,
                requireGuestProvisionSignal: true,
            },
            securityProfile: { uefiSettings: { secureBootEnabled: true, virtualTpmEnabled: true }, securityType: "TrustedLaunch" },
            networkProfile: {
                networkInterfaces: [
                    { id: `${rg}/providers/Microsoft.Network/networkInterfaces/${name}-nic`, properties: { deleteOption: "Detach" } },
                ],
            },
            diagnosticsProfile: { bootDiagnostics: { enabled: true } },
            provisioningState: "Succeeded",
            timeCreated: T,
            ...(u.searchParams.get("$expand") === "instanceView" ? { instanceView } : {}),
        },
    };
    if (method === "PUT") return json(vm);
    if (method === "GET") return json(vm);
    return json({ error: { code: "MethodNotAllowed", message: method } }, 405);
}

/** Starts the fake clouds on 127.0.0.1:443 with a certificate made in `dir`. */
export async function startFakeClouds(dir: string): Promise<FakeClouds> {
    const key = path.join(dir, "fake-clouds.key");
    const caFile = path.join(dir, "fake-clouds.crt");
    const san = [...FAKE_HOSTS.map((h) => `DNS:${h}`), "IP:127.0.0.1"].join(",");
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            caFile,
            "-days",
            "2",
            "-subj",
            "/CN=cli-cost fake clouds",
            "-addext",
            `subjectAltName=${san}`,
        ],
        { stdio: "ignore" },
    );
    const requests: Seen[] = [];
    const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(caFile) }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const host = String(req.headers.host ?? "").replace(/:\d+$/, "");
            const method = req.method ?? "GET";
            const url = req.url ?? "/";
            const body = Buffer.concat(chunks).toString("utf8");
            requests.push({ method, host, url });
            let reply: Reply;
            if (host.startsWith("ec2.")) reply = ec2(new URLSearchParams(body).get("Action") ?? "");
            else if (host.startsWith("ssm.")) reply = ssm(String(req.headers["x-amz-target"] ?? ""));
            else if (host === "compute.googleapis.com") reply = gce(method, url);
            else if (host === "login.microsoftonline.com") reply = entra(method, url);
            else if (host === "management.azure.com") reply = arm(method, url);
            else reply = json({ error: `no fake cloud for ${host}` }, 404);
            res.writeHead(reply.status, {
                ...(reply.type ? { "content-type": reply.type } : {}),
                "x-ms-request-id": "fake",
                ...(reply.headers ?? {}),
            });
            res.end(reply.body);
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(443, "127.0.0.1", () => resolve());
    });
    return { caFile, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
