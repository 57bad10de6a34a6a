import * as fs from "fs";
import * as path from "path";

/** The AWS command steps, each a bash script run where `pulumi up` runs. */
export type AwsScript = "repair" | "swap";

const texts = new Map<AwsScript, string>();

/** The full text of a step's script (the shared helpers, then the step), as the command's `create`. */
export function awsScript(name: AwsScript): string {
    let text = texts.get(name);
    if (text === undefined) {
        const dir = path.join(__dirname, "scripts");
        text = `${fs.readFileSync(path.join(dir, "common.sh"), "utf8")}\n${fs.readFileSync(path.join(dir, `${name}.sh`), "utf8")}`;
        texts.set(name, text);
    }
    return text;
}
