import * as fs from "fs";
import * as path from "path";

const texts = new Map<string, string>();

/**
 * The full text of a cloud's command script, as a command's `create` or `delete`: core's shared
 * helpers (base.sh), the cloud's helpers (common.sh in its scripts folder), the cloud's libraries
 * the script asks for (`<lib>.sh`, e.g. helpers that act on the affected VM, so scripts that must
 * never touch it do not even contain them), then the script. The text holds no inventory value:
 * those come as environment variables.
 */
export function scriptText(cloudScriptsDir: string, name: string, libs: readonly string[] = []): string {
    const file = path.join(cloudScriptsDir, `${name}.sh`);
    let text = texts.get(file);
    if (text === undefined) {
        const read = (f: string) => fs.readFileSync(f, "utf8");
        const parts = [path.join(__dirname, "scripts", "base.sh"), path.join(cloudScriptsDir, "common.sh"), ...libs.map((l) => path.join(cloudScriptsDir, `${l}.sh`)), file];
        text = parts.map(read).join("\n");
        texts.set(file, text);
    }
    return text;
}
