// `afterburn`: the command line over core/ and wedge/. Subcommands stay thin.

import { UsageError } from "./args.js";
import { burnCommand, InputError, sitesCommand } from "./burn-commands.js";
import { endQuietlyOnClosedPipe, EXIT_CLOSED_PIPE, isClosedPipe, StdoutError, writeStdout } from "./stdio.js";
import { ElfError } from "../core/toolchain/index.js";
import { runCommand } from "./run-command.js";

const VERSION = "0.1.0";

const HELP = `afterburn ${VERSION} — pre-virtualization by compiler afterburning

usage:
  afterburn burn [IN.s] [-o OUT.s] [--sites FILE.json|-] [-m32|-m64] [-I DIR]... [--no-annotate] [-q]
      Pad every sensitive instruction with NOPs and record it in the .afterburn section.
      Reads stdin and writes stdout when no files are given. -m32 (default) or -m64 is the
      code size where the file does not say (.code32/.code64). An .include'd file is read as
      GNU as reads it (current folder, then each -I DIR) and afterburned in its place.
      --sites - writes the site list to stdout (with -o OUT.s).
  afterburn sites [IN.s] [--json] [-m32|-m64] [-I DIR]...
      List the sensitive instructions (file:line:column, catalogue id, class, padding).
  afterburn run PROGRAM [--backend raw|trap|vtx|xen|l4|all] [--json] [--max-instructions N]
                [--memory MiB] [--cmdline TEXT] [--post-port N] [--vtx CONTROL=on|off]
  afterburn run --rom FILE [...]
      Boot an IA-32 kernel on the bundled PC under a backend: raw (bare metal), trap (trap-and-
      emulate, reports holes), vtx (VT-x exits), xen or l4 (pre-virtualized: the wedge rewrites the
      annotated sites). PROGRAM is an ELF, or a guest source file / directory built with afterburn-cc
      and examples/guest.ld into a cache folder. COM1 output goes to stdout; the stop reason and, for
      the hypervisor backends, the ledger (events, top sites with source lines, modelled cycles,
      overhead vs raw) go to stderr. --backend all compares the backends side by side; --json prints
      the documented schema "afterburn-run" version 2 (docs/run-json.md).
  afterburn help | --help | --version

exit status:
  0    success
  1    the input has errors the afterburner cannot work around (diagnostics on stderr)
  2    usage error
  3    a file could not be read or written (or is not a usable kernel)
  141  the reader of standard output or error went away (\`afterburn ... | head\`): the command
       stops there, quietly, as a tool that SIGPIPE ends (141 = 128 + SIGPIPE)
  run: the guest's exit-port value (V & 0xff); 0 when it halts with interrupts off;
       123 when it resets the machine; 124 when --max-instructions ran out; 125 after a
       triple fault; 70 on an emulator error; several backends: the first nonzero of theirs
`;

export function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  // `afterburn run --help` is what people type first: answer it instead of calling it a usage error.
  const dashes = rest.indexOf("--");
  try {
    if ((dashes < 0 ? rest : rest.slice(0, dashes)).some((a) => a === "--help" || a === "-h")) {
      writeStdout(HELP);
      return 0;
    }
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
        writeStdout(HELP);
        return command === undefined ? 2 : 0;
      case "--version":
        writeStdout(`afterburn ${VERSION}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (isClosedPipe(e)) return EXIT_CLOSED_PIPE;
    if (e instanceof UsageError) {
      process.stderr.write(`afterburn: ${e.message}\nTry 'afterburn --help'.\n`);
      return 2;
    }
    if (e instanceof InputError || e instanceof StdoutError || e instanceof ElfError || (e as NodeJS.ErrnoException).code !== undefined) {
      process.stderr.write(`afterburn: ${(e as Error).message}\n`);
      return 3;
    }
    throw e;
  }
}

endQuietlyOnClosedPipe("afterburn");
process.exitCode = main(process.argv.slice(2));
