// Errors raised while reading binaries. Every message names the file, so a caller can show it as is.

/** A malformed, truncated or unsupported ELF file (or DWARF data inside one). */
export class ElfError extends Error {
  override readonly name: string = "ElfError";
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** Malformed or unsupported DWARF debug information; still an ElfError so one catch covers both. */
export class DwarfError extends ElfError {
  override readonly name: string = "DwarfError";
}
