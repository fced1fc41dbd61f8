/**
 * Unrecognised messages: lines that no rule matched but that look like trouble are mined into
 * templates (numbers, addresses, domain ids, devices masked, in the manner of Drain) with counts,
 * first and last time and an example. Memory is bounded: a cap on templates, the rarest evicted.
 */
import type { LogEvent, Unrecognized } from '../types.js';
import { toIso } from '../parse/time.js';

/** Words that make a line look like trouble (matched case-insensitively by the prefilter). */
export const TROUBLE_LITERALS = [
  'error',
  'fail',
  'fatal',
  'panic',
  'unable to',
  'cannot ',
  "can't ",
  'timed out',
  'timeout',
  'denied',
  'refused',
  'corrupt',
  'warning',
  'oops',
  'critical',
  'abort',
  'not responding',
  ' lost',
  'link down',
  'link is down',
];

const TROUBLE = new RegExp(TROUBLE_LITERALS.map((w) => w.replace(/[.*+?^${}()|[\]\\']/g, '\\$&')).join('|'), 'i');

/** Does a message look like trouble (the simple path's equivalent of the prefilter)? */
export function looksLikeTrouble(message: string): boolean {
  return TROUBLE.test(message);
}

const MASKS: [RegExp, string][] = [
  [/\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi, '<mac>'],
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<ip>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\bvif\d+\.\d+\b/g, 'vif<*>'],
  [/\bvif-\d+-\d+\b/g, 'vif-<*>'],
  [/\b(?:sd[a-z]+|xvd[a-z]+|vd[a-z]+|hd[a-z]|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|dm-\d+|md\d+|loop\d+)\d*\b/g, '<dev>'],
  [/\b(?:eth|eno|enp|ens|bond|xenbr|br|virbr)\w*\b/g, '<if>'],
  [/\bd\d+v\d+\b/g, 'd<*>v<*>'],
  [/\bd\d+\b/g, 'd<*>'],
  [/\/[\w.-]+(?:\/[\w.@:-]+)+/g, '<path>'],
  [/-?\b\d+(?:\.\d+)?\b/g, '<*>'],
];

/** The template of a message: its variable parts masked. */
export function templateOf(message: string): string {
  let t = message.length > 512 ? message.slice(0, 512) : message;
  for (const [re, mask] of MASKS) t = t.replace(re, mask);
  return t.replace(/\s+/g, ' ').trim();
}

interface Template {
  template: string;
  count: number;
  first: number | null;
  last: number | null;
  example: string;
}

export interface MinerState {
  templates: Template[];
  evicted: number;
}

/** Most templates kept; past it, the least frequent is evicted. */
const MAX_TEMPLATES = 2000;

export class TemplateMiner {
  private readonly templates = new Map<string, Template>();
  private evicted = 0;

  /** Count one unmatched line that looks like trouble. */
  add(ev: LogEvent, text: string): void {
    const key = templateOf(ev.message);
    if (key === '') return;
    let t = this.templates.get(key);
    if (!t) {
      if (this.templates.size >= MAX_TEMPLATES) this.evict();
      t = { template: key, count: 0, first: null, last: null, example: text.length > 1000 ? text.slice(0, 1000) : text };
      this.templates.set(key, t);
    }
    t.count++;
    const time = ev.time;
    if (time !== null) {
      if (t.first === null || time < t.first) t.first = time;
      if (t.last === null || time > t.last) t.last = time;
    }
  }

  private evict(): void {
    let worst: Template | null = null;
    for (const t of this.templates.values()) if (!worst || t.count < worst.count) worst = t;
    if (worst) this.templates.delete(worst.template);
    this.evicted++;
  }

  exportState(): MinerState {
    return { templates: [...this.templates.values()], evicted: this.evicted };
  }

  /** Merge another miner's templates (a later part of the input). */
  absorb(s: MinerState): void {
    for (const o of s.templates) {
      const t = this.templates.get(o.template);
      if (!t) {
        if (this.templates.size >= MAX_TEMPLATES) this.evict();
        this.templates.set(o.template, { ...o });
        continue;
      }
      t.count += o.count;
      if (o.first !== null && (t.first === null || o.first < t.first)) t.first = o.first;
      if (o.last !== null && (t.last === null || o.last > t.last)) t.last = o.last;
    }
    this.evicted += s.evicted;
  }

  /** Templates, most frequent first (related entries are filled in by the knowledge base). */
  results(): Unrecognized[] {
    return [...this.templates.values()]
      .sort((a, b) => b.count - a.count || (a.template < b.template ? -1 : 1))
      .map((t) => ({ template: t.template, count: t.count, first: toIso(t.first), last: toIso(t.last), example: t.example, related: [] }));
  }
}
