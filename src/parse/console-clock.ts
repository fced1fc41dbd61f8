/**
 * Dates dom0's kernel uptime stamps from the Xen console of the same capture. A serial console log
 * (or a capture that holds `xl dmesg` with `console_timestamps` beside dom0's `dmesg`) gives Xen's
 * lines a wall time and dom0's only seconds since its boot; dom0 starts right after the hypervisor's
 * boot, so the last dated Xen line before a dom0 boot's first line anchors that boot, and a dated
 * Xen line printed later while dom0 runs can only pull the anchor earlier (dom0's lines before it
 * cannot be later than it). One instance reads one input, in order.
 */
import type { LogEvent } from '../types.js';

/** A fall of the uptime by more than this starts a new dom0 boot. */
const NEW_BOOT_S = 1;

export class ConsoleClock {
  /** Time of the latest dated Xen line (ms). */
  private xenTime: number | null = null;
  /** Whether a dated Xen line came since the last dom0 line (a new boot may anchor on it). */
  private xenSinceKernel = false;
  /** Wall time of the current dom0 boot's uptime 0 (ms), or null when unknown. */
  private offset: number | null = null;
  private lastUptime: number | null = null;

  /** Give an undated dom0 kernel line with an uptime stamp the time its capture's Xen console implies. */
  date(ev: LogEvent): void {
    if (ev.source === 'hypervisor') {
      if (ev.time === null) return;
      this.xenTime = this.xenTime === null ? ev.time : Math.max(this.xenTime, ev.time);
      this.xenSinceKernel = true;
      // dom0's latest line cannot be later than a Xen line printed after it
      if (this.offset !== null && this.lastUptime !== null && this.offset + this.lastUptime * 1000 > ev.time)
        this.offset = ev.time - this.lastUptime * 1000;
      return;
    }
    if (ev.uptime === null) return;
    if (ev.time !== null) {
      // a dated kernel line (syslog): its own clock, nothing to infer for its boot
      this.offset = null;
      this.lastUptime = ev.uptime;
      this.xenSinceKernel = false;
      return;
    }
    const newBoot = this.lastUptime === null || ev.uptime < this.lastUptime - NEW_BOOT_S;
    // dom0 cannot boot again without the hypervisor booting first (its crash resets the machine): a
    // fall of the uptime with no Xen line between is the same boot's log printed again (`dmesg` run
    // on the console), which keeps the anchor
    if (newBoot && (this.lastUptime === null || this.xenSinceKernel))
      this.offset = this.xenTime !== null ? this.xenTime - ev.uptime * 1000 : null;
    this.lastUptime = ev.uptime;
    this.xenSinceKernel = false;
    if (this.offset !== null) ev.time = Math.round(this.offset + ev.uptime * 1000);
  }
}
