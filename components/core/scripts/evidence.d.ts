/** The packed line of an evidence document (JSON text), as the stack's state keeps it; "" for none. */
export function pack(text: string): string;
/** The document of an evidence line (packed with the dictionary, gzip-base64 or plain); a packed line that does not decode gives a document saying so. */
export function unpack(line: string): string;
/** A repair's failure for a reason of the VM's own disk, with what a person does next. */
export interface VmFailure {
    reason: string;
    nextStep: string;
}
/** Why a repair (its evidence document, parsed) failed for a reason of the VM's own disk; null when it did not, or failed for another reason (which stops the run). */
export function vmFailure(evidence: unknown): VmFailure | null;
