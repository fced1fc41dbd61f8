/**
 * The reporting step of unrecognised messages (after the scan, off the hot path): each template
 * gets its closest knowledge-base entries (`related`), and with a baseline the new and bursting
 * templates become findings. The knowledge base is loaded only when there is something to relate.
 */
import { baselineFindings, type BaselineCheck } from '../engine/unrecognized-baseline.js';
import type { MinerState } from '../engine/unrecognized.js';
import type { Finding, Unrecognized } from '../types.js';

/** Templates given related entries (the most frequent; the rest keep none). */
const MAX_RELATED = 500;

export interface EnrichOptions {
  baseline?: BaselineCheck | null;
}

/**
 * Fill `related` of the templates (in place) and return the findings of the baseline (new and
 * bursting templates; none without a baseline).
 */
export async function enrichUnrecognized(
  unrecognized: Unrecognized[],
  mined: MinerState | null,
  opts: EnrichOptions = {},
): Promise<Finding[]> {
  const related = new Map<string, string[]>();
  if (unrecognized.length > 0) {
    try {
      const { loadKnowledgeBase } = await import('./search.js');
      const kb = loadKnowledgeBase();
      for (const u of unrecognized.slice(0, MAX_RELATED)) {
        u.related = kb.related(u.template);
        related.set(u.template, u.related);
      }
    } catch {
      // a knowledge base that cannot be loaded leaves `related` empty; the scan itself stands
    }
  }
  return opts.baseline && mined ? baselineFindings(mined, opts.baseline, related) : [];
}
