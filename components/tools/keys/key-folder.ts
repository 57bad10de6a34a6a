import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SIGNAL_EXIT_BASE } from "../command-contract";

/** The signals a person or a CI runner stops a command with; each removes every open key folder first. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The exit code a shell gives a process a signal ended: 128 + the signal's number (130, 143, 129). */
export function signalExitCode(signal: StopSignal): number {
    return SIGNAL_EXIT_BASE + os.constants.signals[signal];
}

const open = new Set<KeyFolder>();
let stopping = false;

/**
 * A root-only temporary folder for the files that hand recovery passwords to a cloud CLI which
 * cannot take them on standard input (the scripts' retries need to read them again). Each file
 * is written just before its call and removed after it; the folder goes on `close()`, and on
 * SIGINT, SIGTERM or SIGHUP, after which the process exits with the signal's code (a `finally`
 * never runs when a signal ends a process).
 */
export class KeyFolder {
    /** The folder (mode 0700). */
    readonly dir: string;
    private closed = false;

    /**
     * @param onStop called once when a stop signal arrives, after the folder is removed and before
     *   the process exits: the place to print what was done (with `process.stdout.write`).
     */
    constructor(private readonly onStop?: (signal: StopSignal) => void) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-rescue-keys-"));
        fs.chmodSync(this.dir, 0o700);
        if (open.size === 0) for (const s of STOP_SIGNALS) process.on(s, stop);
        open.add(this);
    }

    /** Writes `text` to a new file `name` that only its owner may read; returns its path. Refused after a stop signal. */
    write(name: string, text: string): string {
        if (this.closed) throw new Error("the import was stopped");
        const file = path.join(this.dir, name);
        fs.writeFileSync(file, text, { mode: 0o600, flag: "wx" });
        return file;
    }

    /** Whether a stop signal (or `close()`) ended this folder. */
    get stopped(): boolean {
        return this.closed;
    }

    /** Removes one file (its call is over). */
    remove(file: string): void {
        fs.rmSync(file, { force: true });
    }

    /** Removes the folder and everything in it. */
    close(): void {
        this.removeAll();
        open.delete(this);
        if (open.size === 0 && !stopping) for (const s of STOP_SIGNALS) process.off(s, stop);
    }

    private removeAll(): void {
        this.closed = true;
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** For the signal handler: remove, then let the owner report. */
    static stopAll(signal: StopSignal): void {
        for (const folder of open) folder.removeAll();
        for (const folder of open) {
            try {
                folder.onStop?.(signal);
            } catch {
                /* the report is best effort; the folder is gone either way */
            }
        }
    }
}

function stop(signal: NodeJS.Signals): void {
    const code = signalExitCode(signal as StopSignal);
    // A second signal while the report is written out ends the process at once.
    if (stopping) process.exit(code);
    stopping = true;
    KeyFolder.stopAll(signal as StopSignal);
    // Exit once what the owner wrote has reached standard output and error.
    process.stderr.write("", () => process.stdout.write("", () => process.exit(code)));
}
