#!/usr/bin/env bash
# xendoctor's Xen lab (issue 8). Adapted from the shared reference recipe (shared/lab/xenlab.sh).
# Boots Debian 12's Xen 4.17 hypervisor + Debian 6.1 PV dom0 under QEMU (TCG, no KVM) with a busybox
# initramfs that also carries the Xen toolstack (xl, oxenstored, xenconsoled, libxl hotplug scripts),
# runs one scenario inside dom0, prints marked sections on the console, and powers off.
# The whole serial console (Xen + dom0) goes to WORK/out/SCENARIO-serial.log.
#
# Usage: test/lab/xenlab.sh SCENARIO [WORK]     (WORK defaults to ${TMPDIR:-/tmp}/xendoctor-lab)
#   toolstack      start xenstored/xenconsoled, run xl info / xl list / xl dmesg (the healthy boot)
#   unknown-param  same, with misspelt Xen options "dom0maxvcpus=1 dom0vcpuspin" on the Xen cmdline
#   dom0-crash     same as toolstack but QEMU "-cpu max": the PV dom0 kernel crashes early in boot and
#                  Xen prints its "Domain 0 crashed" / "Hardware Dom0 crashed" report (no dom0 userland runs)
#   dom0-oom       dom0_mem=256M: memory hog (dd bs=200M) until the dom0 OOM killer kills it, then dmesg/xl dmesg
#   dom0-oom-balloon  same, then "xl mem-set 0 200m" (balloon dom0 down) and a second hog: OOM kills of
#                  xenconsoled, xl, dd; in some runs it goes on to "Out of memory and no killable processes",
#                  a dom0 panic and Xen "Hardware Dom0 crashed: 'noreboot' set" (not deterministic)
#   dom0-oom-tmpfs dom0_mem=256M: fill a tmpfs with 96 MiB -> OOM killer kills oxenstored (not protected by
#                  oom_score_adj here) and dd; then xl list / xenstore-ls hang without a xenstored (timeout);
#                  some runs cascade into the same dom0 panic
#   dom0-pagealloc dom0_mem=256M: fragment dom0's free memory (pages alternately pinned in pipes, half then
#                  freed: free memory only in single pages), raise gntalloc's limit and ask it for 1M/512K/256K
#                  grants (gntalloc-alloc.c, built static on the host): its kcalloc of the grant-id array is an
#                  order-10/9/8 GFP_KERNEL allocation without __GFP_NOWARN, which fails with the kernel's
#                  "page allocation failure: order:N" report (costly orders get no OOM killer; compaction is
#                  kept out of the way with vm.extfrag_threshold=1000). The dom0-oom*
#                  scenarios give OOM kills but never this message.
#   disk-full      1 MiB tmpfs on /var/log (syslogd + xen logs) and a 1 MiB ext2 loop fs, filled up
#   physdev-out    bridge xenbr0 + iptables (Debian 12's iptables 1.8.9, both the nft and the legacy
#                  backend) rule "-A OUTPUT -m physdev --physdev-out vif+": the 6.1 kernel refuses it and logs
#                  "xt_physdev: --physdev-out and --physdev-is-out only supported in the FORWARD and
#                  POSTROUTING chains with bridged traffic"; the same rule in FORWARD with --physdev-is-bridged works
#   guest-bridge   bridge xenbr0 + PV guest (same kernel, busybox initrd, vif on xenbr0, file disk),
#                  xl create/list/dmesg, dom0 dmesg, guest console log, xl destroy
#   guest-hotplug-hang  same, but /dev/stdin and /dev/fd removed: the block hotplug script spins in
#                  claim_lock and libxl kills it after its timeout -> "unable to add disk devices"
#   guest-nobridge same, but vif bridge=xenbr1 (does not exist) -> vif-bridge hotplug script fails
#   guest-nomem    same, but memory = 3072 (more than the ~1.5 GiB Xen has free) -> domain build fails
#   guest-toosmall same, but memory = 64: the 6.1 kernel image does not fit -> libxc "xc_dom_chk_alloc_pages:
#                  segment kernel too large (...): Out of memory" (a guest config error, NOT host memory; this is
#                  why many-guests uses 96 MiB guests)
#   many-guests    as many 96 MiB PV guests as Xen's free memory allows (xl info free_memory, less a
#                  reserve; cap XENLAB_GUESTS_MAX, default 32), all with a vif on xenbr0 and a disk
# Command output inside dom0 is framed by lines "@@@XENLAB BEGIN name: cmd @@@" / "@@@XENLAB END name rc=N @@@".
# Cut a section out with:  test/lab/xenlab.sh --cut SERIAL_LOG NAME  (verbatim, CRs removed; the LAST section
#                          of that name when a scenario printed several)
# Clean a serial log with: test/lab/xenlab.sh --clean SERIAL_LOG > OUT  (drops the pre-Xen SeaBIOS banner)
# Capture into a folder:   test/lab/xenlab.sh --capture SERIAL_LOG DIR   writes DIR/serial.log (cleaned) and the
#                          sections xl-info.txt, xl-list.txt, xl-dmesg.txt, dmesg.txt (dom0 kernel log),
#                          messages.txt (dom0 syslog), xl-create.txt, console-GUEST.txt (guest consoles)
# List the scenarios:      test/lab/xenlab.sh --list
#
# Environment: XENLAB_TIMEOUT (QEMU wall-clock limit, s, default 900; 2400 for many-guests), XENLAB_NOBOOT=1 (only build the
# initrd), XENLAB_GUESTS_MAX (many-guests cap), XENLAB_QEMU_WAIT (how long to wait for another QEMU on this
# machine to end before booting anyway, s, default 1800: the machine has 2 cores, run ONE QEMU at a time).
#
# Needs: qemu-system-x86, apt-get (Debian 12 host: host libs match the .debs), 2 CPUs. On a 2-CPU host a run
# takes 15-90 s (guest-hotplug-hang ~2 min: two 40 s libxl hotplug timeouts; many-guests 8-15 min);
# building the initrd ~10 s. QEMU runs with "-nic none": the guests' network is a bridge inside dom0 only.
# Pitfalls found while building it:
#  - the kernel's xenfs/xen-privcmd/xen-evtchn/xen-gntdev/netback/blkback/bridge are modules (=m):
#    insmod them from the kernel .deb in dependency order (no modules.dep in the .deb, no depmod needed).
#  - libxl runs the vif-bridge/block hotplug scripts itself: they are bash and need flock and util-linux
#    losetup (-f/-a/-h output the "block" script parses); ip/awk/sed/stat/logger from busybox are fine.
#  - devtmpfs has no /dev/stdin, /dev/fd: locking.sh's claim_lock then loops forever (stat /dev/stdin fails)
#    and libxl kills "block add" after 40 s -> "unable to add disk devices" (kept as scenario guest-hotplug-hang).
#  - busybox-static 1.35 (Debian): brctl has no "show", syslogd has no -s, mke2fs needs a block device,
#    busybox sh runs its own applets before PATH (call /sbin/losetup explicitly).
#  - dom0_mem=256M leaves dom0 only ~90 MB usable (struct pages for all 2 GB + initramfs), so any hog OOMs.
#  - xl/xenstore-ls block forever once xenstored is dead (wrap them in timeout).
#  - xl/xenstore tools live in /usr/lib/xen-4.17/bin (the /usr/bin/* are wrapper symlinks): put that on PATH.
#  - domU console output never reaches the serial line on a non-debug Xen; run xenconsoled --log=guest
#    and cat /var/log/xen/console/guest-NAME.log.
#  - the kernel version is not fixed: linux-image-amd64's Depends names the current linux-image-6.1.0-NN-amd64.
#  - "apt-get download" finds nothing before the package lists exist: the script runs apt-get update once then.
#  - iptables: the .deb has no /usr/sbin/iptables (that is an alternatives link made at install time): call
#    xtables-nft-multi / xtables-legacy-multi; their libs are in the .debs, the extensions in .../xtables/.
#  - disks of many guests: dom0's root is the initramfs (RAM), so guest images are sparse (truncate), not dd.
#  - a 64 MiB PV guest cannot hold the 6.1 kernel (libxc: "segment kernel too large"): many-guests uses 96 MiB
#    (14 guests in the ~1.5 GiB Xen has free); it takes 8-15 min on 2 loaded cores, and its guests may mark
#    their TSC unstable ("clocksource: timekeeping watchdog ... marking unstable") when the host is busy.
#  - page allocation failures: order-0 user allocations in a starved dom0 go to the OOM killer, never to
#    "page allocation failure"; that needs a costly-order (>3) kernel allocation without __GFP_NOWARN in a
#    fragmented dom0 (dom0-pagealloc). Debian's 6.1.192 checks gntalloc's limit before its kcalloc (raise the
#    limit), compaction defeats plain fragmentation (vm.extfrag_threshold=1000), and warn_alloc prints one
#    report per 10 s at most.
#  - busybox sh functions share the caller's variables: run() keeps its own in "local" (a loop counter "n" was
#    clobbered once).
#  - the watch loop greps the serial log for "Dom0 crashed": empty the log before QEMU starts, or it sees the
#    previous run's crash and kills the new QEMU at once.
#  - a command's output may end without a newline (a syslog file cut off by ENOSPC): the END marker then sits
#    mid-line; --cut/--capture handle it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

SCENARIOS="toolstack unknown-param dom0-crash dom0-oom dom0-oom-balloon dom0-oom-tmpfs dom0-pagealloc disk-full physdev-out
 guest-bridge guest-hotplug-hang guest-nobridge guest-nomem guest-toosmall many-guests"

if [ "${1:-}" = "--list" ]; then echo $SCENARIOS | tr ' ' '\n'; exit 0; fi
if [ "${1:-}" = "--clean" ]; then  # drop SeaBIOS/iPXE banner + escape codes before Xen's first line, CRs,
  # and QEMU's own "terminating on signal" line; everything else is kept verbatim
  tr -d '\r' < "$2" | awk '!s{i=index($0,"(XEN) "); if(!i) next; $0=substr($0,i); s=1} /^qemu-system-x86_64: terminating on signal/{next} {print}'
  exit 0
fi
cut_section() {  # verbatim output of the LAST marked section NAME (CRs removed); nothing if absent
  tr -d '\r' < "$1" | awk -v n="$2" '
    index($0,"@@@XENLAB END " n " rc=")==1{p=0; next}
    p && (i=index($0,"@@@XENLAB END " n " rc="))>1{buf=buf substr($0,1,i-1); p=0; next}  # output without final newline
    p{buf=buf $0 "\n"}
    index($0,"@@@XENLAB BEGIN " n ":")==1{p=1; buf=""; found=1}
    END{if(found) printf "%s", buf}'
}
if [ "${1:-}" = "--cut" ]; then cut_section "$2" "$3"; exit 0; fi
if [ "${1:-}" = "--capture" ]; then
  log=$2; dir=$3; self=$0; mkdir -p "$dir"
  "$self" --clean "$log" > "$dir/serial.log"
  grep -aq '^@@@XENLAB BEGIN ' "$log" || exit 0       # dom0 never reached its /init (dom0-crash)
  for pair in xl-info:xl-info.txt xl-list:xl-list.txt xl-dmesg:xl-dmesg.txt dom0-dmesg:dmesg.txt \
              syslog:messages.txt xl-create:xl-create.txt; do
    n=${pair%%:*}; f=${pair#*:}
    if grep -aq "^@@@XENLAB BEGIN $n:" "$log"; then cut_section "$log" "$n" > "$dir/$f"; fi
  done
  for n in $(tr -d '\r' < "$log" | sed -n 's/^@@@XENLAB BEGIN console-\([A-Za-z0-9_-]*\):.*/\1/p' | sort -u); do
    cut_section "$log" "console-$n" > "$dir/console-$n.txt"
  done
  # an empty section (a guest that never wrote to its console) is no log, nor is cat's complaint that a failed
  # guest has no console log at all
  find "$dir" -name '*.txt' -size 0 -delete
  for f in "$dir"/console-*.txt; do
    [ -f "$f" ] && [ "$(grep -vc "^cat: can't open" "$f")" = 0 ] && rm -f "$f"
  done
  true
  exit 0
fi

scen=${1:?"scenario: $(echo $SCENARIOS | tr ' ' '|')"}; work=${2:-${TMPDIR:-/tmp}/xendoctor-lab}
case " $(echo $SCENARIOS) " in *" $scen "*) ;; *) echo "unknown scenario $scen" >&2; exit 2 ;; esac
XENARGS_BASE="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all noreboot console_timestamps=datems"
DOM0MEM=512M; XENEXTRA=""; CPU=qemu64
case "$scen" in
  unknown-param) XENEXTRA="dom0maxvcpus=1 dom0vcpuspin" ;;
  dom0-crash) CPU=max ;;
  dom0-oom|dom0-oom-balloon|dom0-oom-tmpfs|dom0-pagealloc) DOM0MEM=256M ;;
esac
XENARGS="${XENARGS_BASE/loglvl=all/dom0_mem=$DOM0MEM loglvl=all}${XENEXTRA:+ $XENEXTRA}"
DOM0ARGS="console=hvc0 earlyprintk=xen"

mkdir -p "$work" && cd "$work"
command -v qemu-system-x86_64 >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 >/dev/null; }
command -v file >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q file >/dev/null
if [ "$scen" = dom0-pagealloc ] && ! command -v gcc >/dev/null; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev >/dev/null; fi

# ---------- 1. packages ----------
fetch() {  # apt-get download, with one apt-get update when the lists are missing or stale
  apt-get download "$1" >/dev/null 2>&1 && return 0
  if [ ! -f .updated ]; then apt-get update -q >/dev/null 2>&1 || true; touch .updated; fi
  apt-get download "$1" >/dev/null 2>&1 || { echo "apt-get download $1 failed" >&2; return 1; }
}
if [ ! -f x/.done ]; then
  rm -rf x; mkdir -p debs x && cd debs
  ls linux-image-amd64_*.deb >/dev/null 2>&1 || fetch linux-image-amd64
  KPKG=$(dpkg-deb -f linux-image-amd64_*.deb Depends | grep -o 'linux-image-6[^ ,]*-amd64' | head -1)
  PKGS="xen-hypervisor-4.17-amd64 $KPKG busybox-static xen-utils-4.17 xenstore-utils xen-utils-common
   libxenmisc4.17 libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenstore4 libxentoollog1
   libyajl2 libxendevicemodel1 libxenhypfs1 libxentoolcore1
   iptables libxtables12 libip4tc2 libip6tc2 libnftnl11 libmnl0 libnetfilter-conntrack3 libnfnetlink0"
  for p in $PKGS; do ls ${p}_*.deb >/dev/null 2>&1 || fetch "$p"; done
  cd .. && for f in debs/*.deb; do [ "${f#debs/linux-image-amd64_}" = "$f" ] && dpkg -x "$f" x; done
  zcat x/boot/xen-4.17-amd64.gz > xen.elf
  for f in debs/*.deb; do printf '%s %s\n' "$(dpkg-deb -f "$f" Package)" "$(dpkg-deb -f "$f" Version)"; done > versions.txt
  touch x/.done
fi
KVER=$(ls x/lib/modules | head -1)
XL=$PWD/x/usr/lib/x86_64-linux-gnu

# ---------- 2. dom0 initramfs ----------
R=$PWD/rootfs; rm -rf "$R"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,proc,sys,dev,etc,tmp,root,mnt,boot}
mkdir -p "$R"/var/{lib/xen/images,log/xen,lock,lib/xenstored} "$R"/run "$R"/usr/lib/xen-4.17
ln -s ../run "$R"/var/run
cp x/bin/busybox "$R"/bin/
cp -a x/usr/lib/xen-4.17/bin "$R"/usr/lib/xen-4.17/
cp -a x/usr/bin/xenstore* x/usr/bin/xen-detect "$R"/usr/bin/ ; rm -f "$R"/usr/bin/xenstore-control
cp -a x/etc/xen "$R"/etc/
cp /usr/bin/bash "$R"/bin/bash; cp /usr/bin/flock "$R"/usr/bin/flock; cp /usr/sbin/losetup "$R"/sbin/losetup
cp -a "$XL"/lib*.so* "$R"/lib/x86_64-linux-gnu/
if [ "$scen" = physdev-out ]; then   # iptables 1.8.9 from its .deb (nft and legacy backends)
  cp -a x/usr/sbin/xtables-nft-multi x/usr/sbin/xtables-legacy-multi "$R"/usr/sbin/
  cp -a "$XL"/xtables "$R"/lib/x86_64-linux-gnu/
  ln -s xtables-nft-multi "$R"/usr/sbin/iptables-nft; ln -s xtables-nft-multi "$R"/usr/sbin/iptables
  ln -s xtables-legacy-multi "$R"/usr/sbin/iptables-legacy
fi
[ "$scen" = dom0-pagealloc ] && gcc -static -O2 -o "$R"/usr/bin/xenlab-gntalloc "$here"/gntalloc-alloc.c
# shared libraries of every ELF we carry: Xen ones from the .debs, the rest from the (Debian 12) host
for b in $(find "$R"/usr/lib/xen-4.17/bin "$R"/usr/bin "$R"/usr/sbin "$R"/bin/bash "$R"/sbin/losetup -type f); do
  file -b "$b" | grep -q '^ELF.*dynamic' || continue
  LD_LIBRARY_PATH=$XL ldd "$b" 2>/dev/null | awk '/=> \//{print $3}'
done | sort -u | while read -r l; do
  case "$l" in "$XL"/*) ;; *) cp -L "$l" "$R"/lib/x86_64-linux-gnu/ ;; esac
done
cp -L /lib64/ld-linux-x86-64.so.2 "$R"/lib64/; cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$R"/lib/x86_64-linux-gnu/
rm -rf "$R"/usr/lib/x86_64-linux-gnu; ln -s ../../lib/x86_64-linux-gnu "$R"/usr/lib/x86_64-linux-gnu
MODS="drivers/xen/xen-privcmd drivers/xen/xenfs/xenfs drivers/xen/xen-evtchn drivers/xen/xen-gntdev
 drivers/xen/xen-gntalloc drivers/net/xen-netback/xen-netback drivers/block/xen-blkback/xen-blkback
 net/llc/llc net/802/stp net/bridge/bridge drivers/block/loop lib/crc16 fs/mbcache fs/jbd2/jbd2
 crypto/crc32c_generic fs/ext4/ext4"
# netfilter for physdev-out, in dependency order (from each .ko's .modinfo "depends=")
NFMODS="lib/libcrc32c net/netfilter/nfnetlink net/netfilter/nf_tables net/netfilter/x_tables
 net/netfilter/nft_compat net/ipv4/netfilter/ip_tables net/ipv4/netfilter/iptable_filter
 net/netfilter/xt_physdev net/bridge/br_netfilter"
[ "$scen" = physdev-out ] && ALLMODS="$MODS $NFMODS" || ALLMODS="$MODS"
for m in $ALLMODS; do mkdir -p "$R/lib/modules/$KVER/kernel/$(dirname $m)"; cp x/lib/modules/$KVER/kernel/$m.ko "$R/lib/modules/$KVER/kernel/$m.ko"; done
echo "$MODS" | tr ' ' '\n' | grep . > "$R"/etc/xenlab-modules
echo "$NFMODS" | tr ' ' '\n' | grep . > "$R"/etc/xenlab-modules-nf
echo "root:x:0:0:root:/root:/bin/sh" > "$R"/etc/passwd; echo "root:x:0:" > "$R"/etc/group
echo "127.0.0.1 localhost xenlab-dom0" > "$R"/etc/hosts

# ---------- guest kernel + initrd (guest-* / many-guests / disk-full) ----------
case "$scen" in guest-*|many-guests|disk-full)
  G=$PWD/guestfs; rm -rf "$G"; mkdir -p "$G"/{bin,proc,sys,dev,mnt,lib/modules}
  cp x/bin/busybox "$G"/bin/
  cp x/lib/modules/$KVER/kernel/drivers/net/xen-netfront.ko x/lib/modules/$KVER/kernel/drivers/block/xen-blkfront.ko "$G"/lib/modules/
  cat > "$G"/init <<'GINIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "guest: init started"
insmod /lib/modules/xen-netfront.ko; insmod /lib/modules/xen-blkfront.ko
sleep 2
ip=10.0.0.2; for a in $(cat /proc/cmdline); do case $a in xenlab_ip=*) ip=${a#xenlab_ip=} ;; esac; done
ip link set eth0 up && ip addr add $ip/24 dev eth0
ip addr show eth0; cat /proc/partitions
echo "guest: ready"
while true; do sleep 3600; done
GINIT
  chmod +x "$G"/init
  (cd "$G" && find . | "$R"/bin/busybox cpio -o -H newc 2>/dev/null | gzip -9 > "$R"/boot/guest-initrd.gz)
  cp x/boot/vmlinuz-$KVER "$R"/boot/vmlinuz
;; esac

# ---------- /init ----------
cat > "$R"/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# devtmpfs has no /dev/stdin or /dev/fd (udev makes them): without them the claim_lock loop in
# /etc/xen/scripts/locking.sh spins forever and libxl kills the hotplug script after its timeout
ln -s /proc/self/fd /dev/fd; ln -s fd/0 /dev/stdin; ln -s fd/1 /dev/stdout; ln -s fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs shm /dev/shm
mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/lib/xen/dump /var/lib/xen/save
hostname xenlab-dom0
mark() { echo "@@@XENLAB $* @@@"; }
run() { local name=$1 rc; shift; mark "BEGIN $name: $*"; "$@" 2>&1; rc=$?; mark "END $name rc=$rc"; last_rc=$rc; return 0; }
echo "=== xenlab: scenario $(cat /etc/xenlab-scenario)"
loadmods() {
  for m in $(cat ${1:-/etc/xenlab-modules}); do insmod /lib/modules/$(uname -r)/kernel/$m.ko || echo "insmod $m failed"; done
  [ -n "${1:-}" ] && return 0
  mount -t xenfs xenfs /proc/xen; echo "=== /proc/xen/capabilities: $(cat /proc/xen/capabilities)"
}
start_toolstack() {
  export XENSTORED_ROOTDIR=/run/xenstored
  echo "=== starting oxenstored"
  oxenstored --pid-file /run/xenstore.pid || { echo "oxenstored failed, trying xenstored"; xenstored --pid-file /run/xenstore.pid; }
  i=0; while [ $i -lt 30 ] && ! xenstore-read -s / >/dev/null 2>&1; do i=$((i+1)); sleep 1; done
  echo "=== xenstore answered after ${i}s"
  xen-init-dom0
  echo "=== starting xenconsoled"
  xenconsoled --pid-file /run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
}
mkbridge() {
  echo "=== creating bridge xenbr0"
  ip link add xenbr0 type bridge; ip addr add 10.0.0.1/24 dev xenbr0; ip link set xenbr0 up
}
finish() { echo "=== xenlab: done"; sync; poweroff -f; }
INIT
case "$scen" in
toolstack|unknown-param|dom0-crash) cat >> "$R"/init <<'S'
loadmods; start_toolstack
dmesg -n 1
run xl-info xl info
run xl-list xl list
run xl-dmesg xl dmesg
run xl-vcpu-list xl vcpu-list
run xenstore-ls xenstore-ls -f
run dom0-dmesg dmesg
finish
S
;;
dom0-oom|dom0-oom-balloon) cat >> "$R"/init <<'S'
loadmods; start_toolstack
echo -1000 > /proc/$(cat /run/xenstore.pid)/oom_score_adj   # as Debian's init.d/xen does (choom -n -1000)
run free-before free -k
run xl-list-before xl list
echo 1 > /proc/sys/vm/overcommit_memory
echo "=== memory hog: dd bs=200M (overcommit_memory=1)"
dd if=/dev/zero of=/dev/null bs=200M count=2
echo "=== dd exited rc=$?"
sleep 2
run free-after-hog free -k
run xl-list timeout 30 xl list
if [ "$(cat /etc/xenlab-scenario)" = dom0-oom ]; then run xl-info timeout 30 xl info; run dom0-dmesg dmesg; run xl-dmesg xl dmesg; finish; fi
echo "=== balloon dom0 down with xl mem-set 0 200m, then hog again with bs=120M"
run xl-mem-set xl mem-set 0 200m
sleep 10
run xl-list-ballooned timeout 30 xl list
run free-ballooned free -k
dd if=/dev/zero of=/dev/null bs=120M count=2
echo "=== dd exited rc=$?"
sleep 2
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
finish
S
;;
dom0-oom-tmpfs) cat >> "$R"/init <<'S'
loadmods; start_toolstack
run free-before free -k
run xl-list-before xl list
mkdir -p /mnt/fill; mount -t tmpfs -o size=1G fill /mnt/fill
echo "=== filling tmpfs /mnt/fill with 96 MiB"
dd if=/dev/zero of=/mnt/fill/blob bs=1M count=96
run free-filled free -k
run xl-list timeout 30 xl list          # hangs: xenstored is gone
run xenstore-ls-after timeout 15 xenstore-ls /local/domain/0
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
finish
S
;;
dom0-pagealloc) cat >> "$R"/init <<'S'
loadmods; start_toolstack
echo -1000 > /proc/$(cat /run/xenstore.pid)/oom_score_adj   # as Debian's init.d/xen does (choom -n -1000)
run free-before free -k
run buddyinfo-before cat /proc/buddyinfo
# fill free memory page by page into two sets of pipes until MemFree < 6 MB, free one set (memory now free
# only in single pages between unmovable pipe pages), then ask gntalloc for order-10/9/8 allocations.
# vm.extfrag_threshold=1000 (its maximum) keeps the kernel from compacting: without it compaction empties a
# pageblock of movable pages (the initramfs is 18 MB of movable tmpfs pages) and the order-10 request succeeds
run extfrag sh -c 'echo 1000 > /proc/sys/vm/extfrag_threshold; sysctl vm.extfrag_threshold'
sync; echo 3 > /proc/sys/vm/drop_caches   # drop clean caches first: reclaim would otherwise free whole blocks later
run meminfo-before cat /proc/meminfo
run gntalloc-limit sh -c 'echo 4194304 > /sys/module/xen_gntalloc/parameters/limit; cat /sys/module/xen_gntalloc/parameters/limit'
run gntalloc xenlab-gntalloc --fragment 6000 1048576 524288 262144
run free-after free -k
run buddyinfo-after cat /proc/buddyinfo
run xl-info xl info
run xl-list xl list
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
finish
S
;;
disk-full) cat >> "$R"/init <<'S'
loadmods
mount -t tmpfs -o size=1M,nr_inodes=64 smalllog /var/log
mkdir -p /var/log/xen/console
syslogd -O /var/log/messages; klogd
start_toolstack
logger -t xenlab "syslog up, /var/log is a 1 MiB tmpfs"
run df-before df -k /var/log
echo "=== filling /var/log"
dd if=/dev/zero of=/var/log/filler bs=4k
echo "=== dd rc=$?"
run df-full df -k /var/log
for i in 1 2 3; do logger -t xenlab "message $i after /var/log filled"; done
echo "disk-full test" > /var/log/xen/test.log || echo "=== echo to /var/log/xen failed"
run xl-info xl info
run xl-create xl -v create /etc/xen/guest1-nonet.cfg
sleep 20
run xl-list xl list
run xl-save-small xl -v save guest1 /var/log/guest1.save
run xl-list2 xl list
xl destroy guest1 2>&1
echo "=== ext2 on a 1 MiB loop file"
dd if=/dev/zero of=/tmp/small.img bs=1k count=1024
lo=$(/sbin/losetup -f --show /tmp/small.img); echo "=== loop device $lo"   # util-linux losetup: busybox sh prefers its own applets
mke2fs -b 1024 $lo
mkdir -p /mnt/small; mount -t ext2 $lo /mnt/small
cp /boot/vmlinuz /mnt/small/ ; echo "=== cp rc=$?"
run df-ext2 df -k /mnt/small
run syslog cat /var/log/messages
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
finish
S
;;
physdev-out) cat >> "$R"/init <<'S'
loadmods; syslogd -O /var/log/messages; klogd; start_toolstack
loadmods /etc/xenlab-modules-nf
mkbridge
run iptables-version iptables --version
# Debian 12's default iptables is the nft backend (nft_compat runs the xt_physdev match)
run ipt-nft-output iptables-nft -A OUTPUT -m physdev --physdev-out vif+ -j ACCEPT
run ipt-nft-output-bridged iptables-nft -A OUTPUT -m physdev --physdev-is-bridged --physdev-out vif+ -j ACCEPT
run ipt-nft-forward iptables-nft -A FORWARD -m physdev --physdev-is-bridged --physdev-out vif+ -j ACCEPT
run ipt-nft-list iptables-nft -L -n -v
run ipt-legacy-output iptables-legacy -A OUTPUT -m physdev --physdev-out vif+ -j ACCEPT
run ipt-legacy-output-isout iptables-legacy -A OUTPUT -m physdev --physdev-is-out -j ACCEPT
run ipt-legacy-forward iptables-legacy -A FORWARD -m physdev --physdev-is-bridged --physdev-out vif+ -j ACCEPT
run ipt-legacy-list iptables-legacy -L -n -v
run xl-info xl info
run xl-list xl list
run syslog cat /var/log/messages
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
finish
S
;;
guest-bridge|guest-hotplug-hang|guest-nobridge|guest-nomem|guest-toosmall) cat >> "$R"/init <<'S'
loadmods; syslogd -O /var/log/messages; klogd; start_toolstack
case $(cat /etc/xenlab-scenario) in
  guest-hotplug-hang) echo "=== removing /dev/stdin and /dev/fd (as in a bare devtmpfs without udev)"; rm -f /dev/stdin /dev/stdout /dev/stderr /dev/fd ;;
  guest-nobridge) sed -i 's/bridge=xenbr0/bridge=xenbr1/' /etc/xen/guest1.cfg ;;
  guest-nomem) sed -i 's/^memory = 128/memory = 3072/' /etc/xen/guest1.cfg ;;
  guest-toosmall) sed -i 's/^memory = 128/memory = 64/' /etc/xen/guest1.cfg ;;
esac
mkbridge
dd if=/dev/zero of=/var/lib/xen/images/guest1.img bs=1M count=16 2>/dev/null
run guest-cfg cat /etc/xen/guest1.cfg
run xl-create xl -vvv create /etc/xen/guest1.cfg
if [ $last_rc = 0 ]; then
  i=0; while [ $i -lt 150 ] && ! grep -q "guest: ready" /var/log/xen/console/guest-guest1.log 2>/dev/null; do sleep 5; i=$((i+5)); done
  echo "=== waited ${i}s for the guest"
else echo "=== xl create failed (rc=$last_rc), not waiting for the guest"; fi
run xl-list-running xl list
run bridge-ports ls /sys/class/net/xenbr0/brif
run ip-link ip link
run ping ping -c 3 10.0.0.2
run xenstore-guest xenstore-ls -f /local/domain/0/backend
run hotplug-log cat /var/log/xen/xen-hotplug.log
run console-guest1 cat /var/log/xen/console/guest-guest1.log
run xl-log cat /var/log/xen/xl-guest1.log
run dom0-dmesg-running dmesg
run xl-dmesg-running xl dmesg
run xl-info xl info
run xl-destroy xl -v destroy guest1
sleep 5
run xl-list xl list
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
run syslog cat /var/log/messages
finish
S
;;
many-guests) cat >> "$R"/init <<'S'
loadmods; syslogd -O /var/log/messages; klogd; start_toolstack
mkbridge
run xl-info-before xl info
free=$(xl info | awk '$1=="free_memory"{print $3}')
gmem=96; count=$(( (free - 48) / (gmem + 2) )); max=$(cat /etc/xenlab-guests-max)
[ $count -gt $max ] && count=$max
echo "=== Xen has ${free} MiB free: starting $count guests of ${gmem} MiB on xenbr0"
i=1; names=""
while [ $i -le $count ]; do
  g=guest$i; names="$names $g"
  truncate -s 8M /var/lib/xen/images/$g.img
  sed -e "s/guest1/$g/g" -e "s/^memory = 128/memory = $gmem/" -e "s/00:00:01/00:01:$(printf %02x $i)/" \
      -e "s/^extra = \"console=hvc0\"/extra = \"console=hvc0 xenlab_ip=10.0.0.$((10+i))\"/" /etc/xen/guest-template.cfg > /etc/xen/$g.cfg
  run xl-create-$g xl create /etc/xen/$g.cfg
  i=$((i+1))
done
t=0; while [ $t -lt 900 ]; do
  ready=0; for g in $names; do grep -q "guest: ready" /var/log/xen/console/guest-$g.log 2>/dev/null && ready=$((ready+1)); done
  [ $ready -ge $count ] && break; sleep 5; t=$((t+5))
done
echo "=== $ready of $count guests ready after ${t}s"
run xl-list-running xl list
run bridge-ports ls /sys/class/net/xenbr0/brif
i=1; while [ $i -le $count ]; do run ping-guest$i ping -c 1 -W 3 10.0.0.$((10+i)); i=$((i+1)); done
run xl-info xl info
for g in $names; do run console-$g cat /var/log/xen/console/guest-$g.log; done
run hotplug-log cat /var/log/xen/xen-hotplug.log
run dom0-dmesg-running dmesg
run xl-dmesg-running xl dmesg
for g in $names; do xl destroy $g 2>&1; done
sleep 5
run xl-list xl list
run dom0-dmesg dmesg
run xl-dmesg xl dmesg
run syslog cat /var/log/messages
finish
S
;;
esac
chmod +x "$R"/init; echo "$scen" > "$R"/etc/xenlab-scenario; echo "${XENLAB_GUESTS_MAX:-32}" > "$R"/etc/xenlab-guests-max
cat > "$R"/etc/xen/guest1.cfg <<'CFG'
name = "guest1"
type = "pv"
kernel = "/boot/vmlinuz"
ramdisk = "/boot/guest-initrd.gz"
extra = "console=hvc0"
memory = 128
vcpus = 1
vif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0' ]
disk = [ 'file:/var/lib/xen/images/guest1.img,xvda,w' ]
on_crash = "preserve"
CFG
sed -e '/^vif/d' -e '/^disk/d' "$R"/etc/xen/guest1.cfg > "$R"/etc/xen/guest1-nonet.cfg
cp "$R"/etc/xen/guest1.cfg "$R"/etc/xen/guest-template.cfg
(cd "$R" && find . | ./bin/busybox cpio -o -H newc 2>/dev/null | gzip > ../initrd-$scen.gz)

# ---------- 3. boot ----------
[ -n "${XENLAB_NOBOOT:-}" ] && { echo "built initrd-$scen.gz"; exit 0; }
# one QEMU at a time on this 2-core machine: wait for any other (another lab run, ours or not) to end
w=0; while pgrep -x qemu-system-x86 >/dev/null && [ $w -lt ${XENLAB_QEMU_WAIT:-1800} ]; do
  [ $w = 0 ] && echo "another QEMU is running; waiting for it to end" >&2; sleep 5; w=$((w+5)); done
mkdir -p out; log=out/$scen-serial.log
: > "$log"   # empty it before QEMU starts: the watch loop below must not see an older run's "Dom0 crashed"
echo "booting ($scen, -cpu $CPU): xen '$XENARGS' dom0 '$DOM0ARGS' -> $work/$log"; t0=$(date +%s)
# noreboot keeps a crashed machine up forever: stop QEMU a few seconds after power-off or a dom0 crash
[ "$scen" = many-guests ] && tmo=${XENLAB_TIMEOUT:-2400} || tmo=${XENLAB_TIMEOUT:-900}   # many-guests: 8-15 min on 2 busy cores
timeout $tmo qemu-system-x86_64 -m 2048 -cpu $CPU -smp 2 -nographic -no-reboot -nic none -kernel xen.elf \
  -append "$XENARGS" -initrd "x/boot/vmlinuz-$KVER $DOM0ARGS,initrd-$scen.gz" > "$log" 2>&1 &
qpid=$!
while kill -0 $qpid 2>/dev/null; do
  if grep -aq -e "Dom0 crashed" -e "Entering ACPI S5" "$log"; then sleep 5; kill $qpid 2>/dev/null || true; break; fi   # timeout forwards TERM to QEMU
  sleep 2
done
wait $qpid || true
echo "boot took $(( $(date +%s) - t0 ))s, $(grep -c . "$log") lines"
{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "qemu: $(qemu-system-x86_64 --version | head -1)"
  echo "qemu args: -m 2048 -cpu $CPU -smp 2 -nographic -no-reboot -nic none -kernel xen.elf"
  echo "xen cmdline: $XENARGS"; echo "dom0 cmdline: $DOM0ARGS"; echo "dom0 kernel: $KVER"; cat versions.txt; } > out/$scen-info.txt
