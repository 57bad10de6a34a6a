import * as fs from "fs";
import * as path from "path";

const texts = new Map<string, string>();

/**
 * The full text of a cloud's command script, as a command's `create` or `delete`: core's shared
 * helpers (base.sh), the cloud's helpers (common.sh in its scripts folder), then the script. The
 * text holds no inventory value: those come as environment variables.
 */
export function scriptText(cloudScriptsDir: string, name: string): string {
    const file = path.join(cloudScriptsDir, `${name}.sh`);
    let text = texts.get(file);
    if (text === undefined) {
        const read = (f: string) => fs.readFileSync(f, "utf8");
        text = [read(path.join(__dirname, "scripts", "base.sh")), read(path.join(cloudScriptsDir, "common.sh")), read(file)].join("\n");
        texts.set(file, text);
    }
    return text;
}
