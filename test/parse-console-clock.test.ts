/**
 * Unit tests of src/parse/console-clock.ts (found untested by the mutation run, docs/mutation.md):
 * how a capture's dated Xen console lines give dom0's undated uptime-stamped kernel lines a wall time —
 * the anchor on the last Xen line before a boot, a later Xen line pulling it earlier, a new boot
 * (uptime falling by more than a second after a Xen line), a repeated `dmesg` (a fall with no Xen line
 * between), dated kernel lines that carry their own clock.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleClock } from '../src/parse/console-clock.js';
import { parseLine } from '../src/parse/line.js';
import type { LogEvent } from '../src/types.js';

const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);
const event = (source: LogEvent['source'], time: number | null, uptime: number | null): LogEvent => ({
  format: source === 'hypervisor' ? 'xen' : 'dmesg',
  time,
  uptime,
  host: null,
  program: null,
  pid: null,
  source,
  message: 'm',
});
const xen = (time: number | null) => event('hypervisor', time, null);
const dom0 = (uptime: number | null, time: number | null = null) => event('kernel', time, uptime);

/** The times the clock gives a sequence of events, in order (null: left undated). */
function dated(events: LogEvent[]): (number | null)[] {
  const clock = new ConsoleClock();
  for (const ev of events) clock.date(ev);
  return events.map((ev) => ev.time);
}

describe('console clock: dom0 uptime stamps dated by the Xen console', () => {
  it('a real capture: dom0 lines after a dated Xen line take its time plus their uptime', () => {
    const ctx = { zone: 'UTC', year: null, reference: T0 + 86400_000 };
    const lines = [
      '(XEN) [2026-11-20 08:00:00.000] Scrubbing Free RAM in background',
      '[    0.000000] Linux version 6.1.0-18-amd64',
      '[    2.500000] xen:events: Using FIFO-based ABI',
    ].map((l) => parseLine(l, ctx));
    expect(lines.map((e) => e.source)).toEqual(['hypervisor', 'kernel', 'kernel']);
    expect(dated(lines)).toEqual([T0, T0, T0 + 2500]);
  });

  it('leaves dom0 lines undated when no dated Xen line came before them', () => {
    expect(dated([dom0(0), dom0(3), xen(null), dom0(4)]).slice(0, 2)).toEqual([null, null]);
    // an undated Xen line ("(XEN) [  12.3] ...") anchors nothing either
    expect(dated([xen(null), dom0(5)])).toEqual([null, null]);
  });

  it('anchors a boot on its first line: the Xen time minus that line uptime, rounded to the ms', () => {
    expect(dated([xen(T0), dom0(1.2), dom0(3.0004)])).toEqual([T0, T0, T0 + 1800]);
  });

  it('anchors on the latest Xen time when a later line carries an earlier stamp', () => {
    expect(dated([xen(T0 + 5000), xen(T0), dom0(0)])[2]).toBe(T0 + 5000);
  });

  it('a Xen line printed after a dom0 line pulls the anchor earlier, never later', () => {
    // dom0 at uptime 10 was put at T0+10 s, but Xen printed at T0+8 s after it: dom0's uptime 10 is at most T0+8 s
    expect(dated([xen(T0), dom0(0), dom0(10), xen(T0 + 8000), dom0(11)])[4]).toBe(T0 + 9000);
    // a Xen line later than dom0's last line leaves the anchor
    expect(dated([xen(T0), dom0(0), dom0(10), xen(T0 + 12_000), dom0(11)])[4]).toBe(T0 + 11_000);
    // exactly at dom0's last line: the same
    expect(dated([xen(T0), dom0(0), dom0(10), xen(T0 + 10_000), dom0(11)])[4]).toBe(T0 + 11_000);
  });

  it('a fall of the uptime by more than a second after a Xen line is a new boot, anchored on that line', () => {
    const T1 = T0 + 3600_000;
    expect(dated([xen(T0), dom0(0), dom0(500), xen(T1), dom0(2)])[4]).toBe(T1);
    // a fall of one second or less is the same boot (lines printed slightly out of order)
    expect(dated([xen(T0), dom0(0), dom0(500), xen(T0 + 400_000), dom0(499)])[4]).toBe(T0 + 399_000);
    expect(dated([xen(T0), dom0(0), dom0(500), xen(T0 + 600_000), dom0(499)])[4]).toBe(T0 + 499_000);
  });

  it('a fall of the uptime with no Xen line between is the same boot printed again (dmesg on the console)', () => {
    expect(dated([xen(T0), dom0(0), dom0(500), dom0(2)])[3]).toBe(T0 + 2000);
    // an undated Xen line between is no sign of a reboot (and moves no anchor)
    expect(dated([xen(T0), dom0(0), dom0(500), xen(null), dom0(2)])[4]).toBe(T0 + 2000);
  });

  it('a new boot with no dated Xen line yet leaves dom0 undated', () => {
    expect(dated([dom0(0), dom0(500), xen(null), dom0(2)])[3]).toBeNull();
  });

  it('dated kernel lines (syslog) keep their own time and drop the anchor of the boot before', () => {
    const own = T0 + 99_000;
    const got = dated([xen(T0), dom0(0), dom0(10, own), dom0(11)]);
    expect(got[2]).toBe(own);
    // after a dated kernel line, an undated one is dated only from a new anchor
    expect(got[3]).toBeNull();
    // a dated line's uptime is the last uptime: a Xen line then a fall by more than a second re-anchors
    expect(dated([xen(T0), dom0(10, own), xen(T0 + 50_000), dom0(2)])[3]).toBe(T0 + 50_000);
    // and without a Xen line after it, a fall does not anchor on the older one
    expect(dated([xen(T0), dom0(10, own), dom0(2)])[2]).toBeNull();
  });

  it('lines without an uptime stamp are left alone and do not count as dom0 lines', () => {
    const plain = event('daemon', null, null);
    const got = dated([xen(T0), dom0(0), dom0(500), plain, dom0(2)]);
    expect(got[3]).toBeNull();
    expect(got[4]).toBe(T0 + 2000); // the daemon line did not end the boot
  });
});
