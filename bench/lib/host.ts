// Facts about the host that bear on every figure the benches print.

/**
 * What one page fault costs on this host (µs): 16 MiB fresh from the kernel, touched a page at a
 * time, divided by the faults the process counted meanwhile. Every megabyte a process reads into
 * fresh memory or grows its heap by pays 256 of them; on virtual machines that trap each one to the
 * host this is ten or more times what bare metal pays. The buffers stay alive until the end, so that
 * no round is served memory an earlier one already touched; a round that faulted in fewer than half
 * its pages is not counted. NaN when no round was.
 */
export function pageFaultMicros(): number {
  const pages = 4096;
  const held: Buffer[] = [];
  let best = Number.NaN;
  for (let r = 0; r < 3; r++) {
    const b = Buffer.allocUnsafeSlow(pages * 4096);
    held.push(b);
    const f0 = ownFaults();
    const t0 = performance.now();
    for (let i = 0; i < b.length; i += 4096) b[i] = 1;
    const micros = (performance.now() - t0) * 1000;
    const faults = ownFaults() - f0;
    if (faults >= pages / 2 && !(micros / faults >= best)) best = micros / faults;
  }
  return best;
}

/** The line the benches print about it. */
export function faultCost(micros: number): string {
  return Number.isFinite(micros)
    ? `a page fault (first touch of fresh memory) costs ${micros.toFixed(2)} µs; bare metal pays well under 1`
    : "the cost of a page fault could not be measured (the kernel handed back memory already touched)";
}

/** Minor page faults of this process so far. */
export function ownFaults(): number {
  return process.resourceUsage().minorPageFault;
}
