// Facts about the host that bear on every figure the benches print.

/**
 * What one page fault costs on this host (µs): 16 MiB fresh from the kernel, touched a page at a
 * time. Every megabyte a process reads into fresh memory or grows its heap by pays 256 of them; on
 * virtual machines that trap each one to the host this is ten or more times what bare metal pays.
 */
export function pageFaultMicros(): number {
  const pages = 4096;
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const b = Buffer.allocUnsafeSlow(pages * 4096);
    const t0 = performance.now();
    for (let i = 0; i < b.length; i += 4096) b[i] = 1;
    best = Math.min(best, ((performance.now() - t0) * 1000) / pages);
  }
  return best;
}

/** Minor page faults of this process so far. */
export function ownFaults(): number {
  return process.resourceUsage().minorPageFault;
}
