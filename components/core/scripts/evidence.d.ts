/** The packed line of an evidence document (JSON text), as the stack's state keeps it; "" for none. */
export function pack(text: string): string;
/** The document of an evidence line (packed with the dictionary, gzip-base64 or plain); a packed line that does not decode gives a document saying so. */
export function unpack(line: string): string;
