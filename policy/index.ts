// bootloop-rescue's policy pack: `pulumi preview --policy-pack policy` (and `pulumi up`) refuse a
// program change that would break a safety rule. The rules live in rules.ts, which the tests drive.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("bootloop-rescue", { enforcementLevel: "mandatory", policies: POLICIES });
