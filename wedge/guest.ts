// loadGuest: an afterburned ELF on the bundled PC under one backend, with its ledger.

import { Machine, type RunResult } from "../machine/index.js";
import { BACKENDS, type BackendName } from "../core/isa/index.js";
import { Ledger } from "./ledger.js";
import { loadImage, WedgeLoadError, type LoadedImage } from "./loader.js";
import type { Guest, GuestOptions, GuestSnapshot, LedgerEvent, LedgerReport, RewrittenSite } from "./types.js";
import { decode32 } from "./decode.js";
import { linearEip, type Platform, type PlatformContext } from "./backends/platform.js";
import { createRaw } from "./backends/raw.js";
import { createTrap } from "./backends/trap.js";
import { createVtx } from "./backends/vtx.js";
import { createXen } from "./backends/xen.js";
import { createL4 } from "./backends/l4.js";

export const DEFAULT_MAX_INSTRUCTIONS = 2_000_000_000;

const FACTORIES: Record<BackendName, (ctx: PlatformContext) => Platform> = {
  raw: createRaw,
  trap: createTrap,
  vtx: createVtx,
  xen: createXen,
  l4: createL4,
};

class WedgeGuest implements Guest {
  readonly machine: Machine;
  readonly sites: readonly RewrittenSite[];
  readonly ledger: Ledger;
  private readonly platform: Platform;

  constructor(
    readonly backend: BackendName,
    readonly image: LoadedImage,
    options: GuestOptions,
  ) {
    const onSerial = options.onSerial;
    this.machine = new Machine({
      memoryMiB: options.memoryMiB,
      onSerial: onSerial ? (b) => onSerial(String.fromCharCode(b)) : undefined,
    });
    const mnemonicCache = new Map<number, string>();
    const mnemonicAt = (address: number): string => {
      let m = mnemonicCache.get(address);
      if (m === undefined) {
        const site = image.sites.find((s) => s.start === address);
        m = site ? site.insn.text : (decode32(this.machine.cpu.readLinear(address, 15), address)?.text ?? "");
        mnemonicCache.set(address, m);
      }
      return m;
    };
    this.ledger = new Ledger(backend, image.locate, mnemonicAt);
    try {
      this.machine.loadElfSegments(image.segments, image.entry, { cmdline: options.cmdline ?? image.fileName });
    } catch (e) {
      throw new WedgeLoadError(`${image.fileName}: ${(e as Error).message}`, undefined, { tooLittleMemory: true });
    }
    this.platform = FACTORIES[backend]({ machine: this.machine, image, ledger: this.ledger, backend, options });
    this.sites = this.platform.sites;
  }

  run(options: { maxInstructions?: number } = {}): RunResult {
    const result = this.machine.run({ maxInstructions: options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS });
    this.platform.settle?.();
    if (result.reason === "triple-fault") {
      this.ledger.record("triple-fault", result.eip ?? linearEip(this.machine.cpu), "native", result.message, this.machine.cpu.instructionCount);
    }
    const why = this.platform.takeStopMessage();
    if (result.reason === "hook" && why) return { ...result, reason: "error", message: `wedge: ${why}` };
    return result;
  }

  requestStop(): void {
    this.machine.stop();
  }

  onEvent(listener: (e: LedgerEvent) => void): () => void {
    return this.ledger.onEvent(listener);
  }

  vcpu(): Record<string, number> | undefined {
    return this.platform.vcpu();
  }

  backendState(): Record<string, string | number | boolean> {
    return { backend: this.backend, ...this.platform.state() };
  }

  wedgeFrame() {
    return this.platform.wedgeFrame();
  }

  snapshot(): GuestSnapshot {
    this.platform.settle?.();
    return { machine: this.machine.snapshot(), wedge: { platform: this.platform.snapshot(), ledger: this.ledger.snapshot() } };
  }

  restore(s: GuestSnapshot): void {
    this.machine.restore(s.machine);
    const w = s.wedge as { platform: unknown; ledger: unknown };
    this.platform.restore(w.platform);
    this.ledger.restore(w.ledger);
  }

  report(): LedgerReport {
    return this.ledger.report(this.machine.cpu.instructionCount);
  }
}

/** Load an ELF for a backend. Throws WedgeLoadError (bad records, a rewrite that does not fit, not an IA-32 kernel). */
export function loadGuest(elf: Uint8Array, options: GuestOptions): Guest {
  if (!BACKENDS.includes(options.backend)) throw new WedgeLoadError(`unknown backend "${options.backend}" (${BACKENDS.join(", ")})`);
  const image = loadImage(elf, options.fileName ?? "guest");
  return new WedgeGuest(options.backend, image, options);
}
