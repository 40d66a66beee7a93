/* SPDX-License-Identifier: MIT */
/*
 * The gateway's systemd watchdog decision (no DPDK, no libsystemd: the main
 * lcore does the notifying). Every half of the interval systemd asked for
 * (WATCHDOG_USEC), the main lcore hands in each worker's poll count; the
 * watchdog may be petted only if every worker's count moved since the last
 * look. A worker stuck in its loop therefore stops the petting, and systemd
 * restarts the gateway one interval later at most.
 */
#ifndef HOPMESH_DATAPLANE_WATCHDOG_H
#define HOPMESH_DATAPLANE_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum gw_watchdog_verdict {
	GW_WATCHDOG_WAIT,    /* off, or not due yet */
	GW_WATCHDOG_PET,     /* every worker moved: send WATCHDOG=1 */
	GW_WATCHDOG_STALLED, /* a worker did not move (its index in *who): don't */
};

struct gw_watchdog {
	uint64_t half_ns; /* 0: systemd asked for no watchdog */
	uint64_t next_ns;
	unsigned workers;
	uint64_t seen[MAX_WORKERS];
};

/* interval_us: sd_watchdog_enabled()'s, 0 for none. polls: each worker's
 * count now (the baseline of the first look). */
void gw_watchdog_init(struct gw_watchdog *wd, uint64_t interval_us, unsigned workers,
		      const uint64_t *polls, uint64_t now_ns);
enum gw_watchdog_verdict gw_watchdog_check(struct gw_watchdog *wd, const uint64_t *polls,
					   uint64_t now_ns, unsigned *who);

#endif
