/* xenlab helper for scenario dom0-pagealloc (built static on the host, run in dom0).
 *
 *   xenlab-gntalloc [--fragment STOP_FREE_KB] COUNT...
 *
 * --fragment: fragments dom0's free memory the way long-running hosts do: it fills memory one page at a time,
 *   alternately into two sets of pipes (pipe buffers are unmovable kernel pages, so compaction cannot tidy
 *   them), until MemFree drops below STOP_FREE_KB, then closes the second set: about half of the memory is
 *   free again, but only in single pages between pinned ones.
 * COUNT: then asks dom0's gntalloc driver (/dev/xen/gntalloc) for COUNT grant pages, once per COUNT. The
 *   driver kcalloc()s COUNT 4-byte grant ids first, so a large COUNT is one costly-order allocation (1048576 ->
 *   4 MiB, order 10) with GFP_KERNEL and without __GFP_NOWARN: with no such contiguous block the kernel prints
 *   its real "page allocation failure: order:N" report (costly orders never invoke the OOM killer). Debian's
 *   6.1.192 checks the driver's "limit" (default 1024 grants) before that kcalloc, so the scenario raises
 *   /sys/module/xen_gntalloc/parameters/limit first. A COUNT whose order has a free block is skipped: the
 *   kcalloc would succeed and gntalloc would then allocate COUNT pages, an OOM storm. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct ioctl_gntalloc_alloc_gref {  /* include/uapi/xen/gntalloc.h */
  uint16_t domid;
  uint16_t flags;
  uint32_t count;
  uint64_t index;
  uint32_t gref_ids[1];
};
#define IOCTL_GNTALLOC_ALLOC_GREF _IOC(_IOC_NONE, 'G', 5, sizeof(struct ioctl_gntalloc_alloc_gref))
#define PIPE_BYTES (1024 * 1024)
#define MAXPIPES 512

static long memfree_kb(void) {
  char line[256]; long kb = -1; FILE *f = fopen("/proc/meminfo", "r");
  while (f && fgets(line, sizeof line, f)) if (sscanf(line, "MemFree: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static int largest_free_order(void) {  /* highest order with a free block in any zone, from /proc/buddyinfo */
  char line[512]; int best = -1; FILE *f = fopen("/proc/buddyinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    char *p = strstr(line, "zone");
    if (!p) continue;
    p += 4; while (*p == ' ') p++; while (*p && *p != ' ') p++;  /* skip the zone name */
    for (int o = 0; ; o++) { char *e; long n = strtol(p, &e, 10); if (e == p) break; if (n > 0 && o > best) best = o; p = e; }
  }
  if (f) fclose(f);
  return best;
}

static void fragment(long stop_kb) {
  static int a[MAXPIPES][2], b[MAXPIPES][2];
  static char page[4096];
  long pages = 0; int n = 0, done = 0;
  memset(page, 0x5a, sizeof page);
  while (!done && n < MAXPIPES) {
    if (pipe(a[n]) || pipe(b[n])) { perror("pipe"); break; }
    fcntl(a[n][1], F_SETPIPE_SZ, PIPE_BYTES); fcntl(b[n][1], F_SETPIPE_SZ, PIPE_BYTES);
    fcntl(a[n][1], F_SETFL, O_NONBLOCK); fcntl(b[n][1], F_SETFL, O_NONBLOCK);
    for (int k = 0; k < PIPE_BYTES / 4096; k++) {
      if (write(a[n][1], page, sizeof page) != sizeof page || write(b[n][1], page, sizeof page) != sizeof page) break;
      pages += 2;
      if ((k & 63) == 0 && memfree_kb() < stop_kb) { done = 1; break; }
    }
    n++;
  }
  printf("fragment: %ld pages in %d+%d pipes, MemFree %ld kB; closing every second page\n", pages, n, n, memfree_kb());
  for (int i = 0; i < n; i++) { close(b[i][0]); close(b[i][1]); }
  printf("fragment: MemFree now %ld kB, /proc/buddyinfo:\n", memfree_kb());
  fflush(stdout);
  FILE *f = fopen("/proc/buddyinfo", "r"); char line[256];
  while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
  if (f) fclose(f);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int i = 1;
  if (argc > 2 && strcmp(argv[1], "--fragment") == 0) { fragment(atol(argv[2])); i = 3; }
  int fd = open("/dev/xen/gntalloc", O_RDWR);
  if (fd < 0) { perror("/dev/xen/gntalloc"); return 2; }
  for (; i < argc; i++) {
    uint32_t count = (uint32_t)strtoul(argv[i], NULL, 0);
    int order = 0;
    while ((4096UL << order) < (size_t)count * 4) order++;
    if (largest_free_order() >= order) {  /* it would succeed, and gntalloc would then allocate COUNT pages */
      printf("gntalloc ALLOC_GREF count=%u skipped: a free order-%d block exists\n", count, order);
      continue;
    }
    struct ioctl_gntalloc_alloc_gref *op = calloc(1, sizeof *op + (size_t)count * 4);
    if (!op) { printf("calloc failed\n"); return 2; }
    op->domid = 0; op->flags = 1; op->count = count;
    int rc = ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, op);
    printf("gntalloc ALLOC_GREF count=%u (%zu KiB of grant ids): rc=%d errno=%d\n", count, (size_t)count * 4 / 1024,
           rc, rc ? errno : 0);
    fflush(stdout);
    free(op);
    FILE *f = fopen("/proc/buddyinfo", "r"); char line[256];
    while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
    if (f) fclose(f);
    fflush(stdout);
  }
  close(fd);
  return 0;
}
