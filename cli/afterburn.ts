// `afterburn`: the command line over core/ and wedge/. Subcommands stay thin.

import { UsageError } from "./args.js";
import { burnCommand, InputError, sitesCommand } from "./burn-commands.js";
import { ElfError } from "../core/toolchain/index.js";
import { runCommand } from "./run-command.js";

const VERSION = "0.1.0";

const HELP = `afterburn ${VERSION} — pre-virtualization by compiler afterburning

usage:
  afterburn burn [IN.s] [-o OUT.s] [--sites FILE.json] [-m32|-m64] [--no-annotate] [-q]
      Pad every sensitive instruction with NOPs and record it in the .afterburn section.
      Reads stdin and writes stdout when no files are given. -m32 (default) or -m64 is the
      code size where the file does not say (.code32/.code64).
  afterburn sites [IN.s] [--json] [-m32|-m64]
      List the sensitive instructions (file:line:column, catalogue id, class, padding).
  afterburn run PROGRAM [--backend raw] [--memory MiB] [--max-instructions N] [--post-port N]
                [--cmdline TEXT] [--json]
  afterburn run --rom FILE [...]
      Boot an IA-32 ELF kernel (multiboot or plain ELF32) on the bundled PC, or a ROM image at the
      reset vector. COM1 output goes to stdout as it comes; the stop reason and the instruction
      count go to stderr. The trap, vtx, xen and l4 backends arrive with the wedge.
  afterburn help | --help | --version

exit status:
  0  success
  1  the input has errors the afterburner cannot work around (diagnostics on stderr)
  2  usage error
  3  a file could not be read or written (or is not a usable kernel)
  run: the guest's exit-port value (V & 0xff); 0 when it halts with interrupts off;
       124 when --max-instructions ran out; 125 after a triple fault; 70 on an emulator error
`;

export function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "burn":
        return burnCommand(rest);
      case "sites":
        return sitesCommand(rest);
      case "run":
        return runCommand(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        return command === undefined ? 2 : 0;
      case "--version":
        process.stdout.write(`afterburn ${VERSION}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`afterburn: ${e.message}\nTry 'afterburn --help'.\n`);
      return 2;
    }
    if (e instanceof InputError || e instanceof ElfError || (e as NodeJS.ErrnoException).code !== undefined) {
      process.stderr.write(`afterburn: ${(e as Error).message}\n`);
      return 3;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
