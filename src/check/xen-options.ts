/**
 * What xendoctor knows about boot option names: the options the Xen hypervisor documents, options that
 * belong only to Linux, and options that exist only for Xen. Used to tell a misspelt or misplaced option
 * on the Xen or the dom0 Linux command line.
 *
 * XEN_OPTIONS is the union of the "### name" headings of xen.git docs/misc/xen-command-line.pandoc
 * (Xen 4.18-era) and of its predecessor docs/misc/xen-command-line.markdown (Xen 4.2-4.4 era, which
 * still lists tmem*, flask_enabled, dom0_shadow, ...). Xen compares option names with strcmp: no
 * dash/underscore folding as Linux does, so "dom0-max-vcpus" and "dom0maxvcpus" are both unknown to it.
 * A boolean may be negated with a "no-" prefix ("no-bootscrub"); custom options may carry an index in
 * brackets ("ivrs_hpet[0]=").
 */

/** Whitespace-separated words as a set (keeps long lists readable and formatter-stable). */
function words(text: string): ReadonlySet<string> {
  return new Set(text.split(/\s+/).filter(Boolean));
}

export const XEN_OPTIONS: ReadonlySet<string> = words(`
  acpi acpi_apic_instance acpi_pstate_strict acpi_skip_timer_override acpi_sleep allow_unsafe allowsuperpage
  altp2m apic apicv apic_verbosity arat argo asid async-show-all ats availmem badpage bootscrub bootscrub_chunk
  bti cachesize cet clocksource cmci-threshold cmos-rtc-probe com1 com2 conring_size console console_timestamps
  console_to_ring conswitch core_parking cpu_type cpufreq cpuid cpuid_mask_cpu cpuid_mask_ecx cpuid_mask_edx
  cpuid_mask_ext_ecx cpuid_mask_ext_edx cpuid_mask_l7s0_eax cpuid_mask_l7s0_ebx cpuid_mask_thermal_ecx
  cpuid_mask_xsave_eax cpuidle cpuinfo crash-debug-debugkey crash-debug-hwdom crash-debug-kexeccmd
  crash-debug-panic crash-debug-watchdog crashinfo_maxaddr crashkernel credit2_balance_over
  credit2_balance_under credit2_cap_period_ms credit2_load_precision_shift credit2_load_window_shift
  credit2_runqueue dbgp debug_stack_lines debugtrace dit dma_bits dom0 dom0-cpuid dom0-iommu
  dom0_ioports_disable dom0_max_vcpus dom0_mem dom0_nodes dom0_shadow dom0_vcpus_pin dom0pvh dtuart
  e820-mtrr-clip e820-verbose edd edid efi ept ext_regions extra_guest_irqs flask flask_enabled flask_enforcing
  font force-ept gdb gnttab gnttab_max_frames gnttab_max_maptrack_frames gnttab_max_nr_frames global-pages
  guest_loglvl hap hap_1gb hap_2mb hardware_dom hest_disable highmem-start hmp-unsafe hpet hpetbroadcast
  hvm_debug hvm_fep hvm_port80 idle_latency_factor invpcid ioapic_ack iommu iommu_dev_iotlb_timeout
  iommu_inclusive_mapping irq-max-guests irq_ratelimit irq_vector_map ivmd ivrs_hpet ivrs_ioapic lapic
  lapic_timer_c2_ok ler loglvl low_crashinfo low_mem_virq_limit max_cstate max_gsi_irqs max_lpi_bits maxcpus
  mce mce_fb mce_verbosity mem memop-max-order mmcfg mmio-relax msi mtrr.show mwait-idle nmi no-real-mode
  noapic nofxsr noirqbalance nolapic noreboot noserialnumber nosmp nr_irqs numa pci pci-passthrough pci-phantom
  pcid pku ple_gap ple_window preferred-cstates psr pv pv-l1tf pv-linear-pt pv-shim rcu-idle-timer-period-ms
  reboot rmrr ro-hpet sched sched-gran sched_credit2_max_cpus_runqueue sched_credit2_migrate_resist
  sched_credit_tslice_ms sched_ratelimit_us sched_smt_power_savings scrub-domheap serial_tx_buffer serrors
  shim_mem smap smep smt snb_igd_quirk spec-ctrl sync_console tboot tbuf_size tdt tevt_mask tickle_one_idle_cpu
  timer_slop tmem tmem_compress tmem_dedup tmem_lock tmem_shared_auth tmem_tze tsc tsx ucode unrestricted_guest
  vcpu_migration_delay vesa-map vesa-mtrr vesa-ram vga viridian-spinlock-retry-count viridian-version
  vm-notify-window vpid vpmu vwfi watchdog watchdog_timeout x2apic x2apic-mode x2apic_phys xenheap_megabytes
  xpti xsave xsm
`);

/**
 * Options that exist only for Xen: on the dom0 Linux command line they do nothing (Linux passes unknown
 * words on to init). The misspellings the operator notes warn about are included, spelt as found.
 */
export const XEN_ONLY_OPTIONS: ReadonlySet<string> = words(`
  dom0_mem dom0_max_vcpus dom0_vcpus_pin dom0_nodes dom0_ioports_disable dom0-iommu dom0-cpuid bootscrub
  no-bootscrub bootscrub_chunk sched sched_credit_tslice_ms sched_ratelimit_us credit2_runqueue loglvl
  guest_loglvl console_to_ring sync_console conring_size console_timestamps conswitch com1 com2
  extra_guest_irqs availmem tbuf_size tmem cpufreq max_cstate watchdog_timeout vcpu_migration_delay noreboot
  spec-ctrl xpti pv-l1tf ucode flask xsm altp2m dom0maxvcpus dom0vcpuspin dom0mem dom0-mem dom0-max-vcpus
  dom0-vcpus-pin
`);

/** Options (or option families) that belong to the Linux kernel or to init, never to Xen. */
export const LINUX_ONLY_OPTIONS: ReadonlySet<string> = words(`
  root ro rw quiet splash nosplash init initrd BOOT_IMAGE single emergency rescue recovery nomodeset
  earlyprintk xencons loglevel elevator panic resume rootfstype rootflags rootdelay rootwait selinux apparmor
  security audit intel_iommu amd_iommu pcie_aspm swiotlb nmi_watchdog transparent_hugepage hugepages hugepagesz
  default_hugepagesz video consoleblank showopts mitigations spectre_v2 pti nopti mds l1tf cgroup_enable
  swapaccount isolcpus nohz_full rcu_nocbs irqpoll noirqdebug xen_emul_unplug ip nfsroot raid biosdevname
  ignore_loglevel softlockup_panic hung_task_panic numa_balancing nohz
`);

/** Console devices that only Linux has (Xen's console= takes vga, com1, com2, dbgp, ehci, xhci, pv, none). */
export const LINUX_CONSOLE = /^(?:tty\w*|hvc\d*|xvc\d*|ttyS\d*|ttyAMA\d*|lp\d*)(?:,|$)/;

/** Lower case with dashes and underscores removed: "dom0-max-vcpus" and "dom0maxvcpus" both give "dom0maxvcpus". */
export function squash(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** Edit distance with adjacent transpositions counting one ("mme" → "mem" is 1). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The documented Xen option an unknown name was probably meant to be, or null. */
export function suggestXenOption(name: string): string | null {
  const s = squash(name);
  for (const o of XEN_OPTIONS) if (squash(o) === s) return o;
  let best: string | null = null;
  let bestD = Infinity;
  for (const o of XEN_OPTIONS) {
    if (Math.abs(o.length - name.length) > 2) continue;
    const dist = editDistance(squash(o), s);
    if (dist < bestD) {
      bestD = dist;
      best = o;
    }
  }
  return bestD <= (s.length >= 8 ? 2 : 1) ? best : null;
}
