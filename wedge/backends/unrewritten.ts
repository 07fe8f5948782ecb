// The site list of a backend that rewrites nothing (raw, trap, vtx): every record, left as built.
import type { LoadedImage } from "../loader.js";
import type { RewrittenSite } from "../types.js";

export function unrewrittenSites(image: LoadedImage): RewrittenSite[] {
  return image.sites.map((s) => ({
    start: s.start,
    end: s.end,
    catalogueId: s.catalogueId,
    mnemonic: s.insn.text,
    original: s.original,
    rewritten: s.original,
    rewrite: "none" as const,
    location: s.location,
  }));
}
