// SPDX-License-Identifier: MIT
/*
 * The watchdog decision (watchdog.h): due every half interval; petting only
 * if each worker's poll count differs from the one seen at the last look.
 * A worker that sleeps when idle still counts a poll per sleep (1 ms at most,
 * worker.c), so an idle gateway keeps petting; only a worker that does not
 * come round its loop stops it.
 */
#include <string.h>

#include "watchdog.h"

void gw_watchdog_init(struct gw_watchdog *wd, uint64_t interval_us, unsigned workers,
		      const uint64_t *polls, uint64_t now_ns)
{
	memset(wd, 0, sizeof(*wd));
	wd->half_ns = interval_us * 1000 / 2;
	wd->next_ns = now_ns + wd->half_ns;
	wd->workers = workers < MAX_WORKERS ? workers : MAX_WORKERS;
	memcpy(wd->seen, polls, wd->workers * sizeof(*polls));
}

enum gw_watchdog_verdict gw_watchdog_check(struct gw_watchdog *wd, const uint64_t *polls,
					   uint64_t now_ns, unsigned *who)
{
	enum gw_watchdog_verdict v = GW_WATCHDOG_PET;

	if (!wd->half_ns || now_ns < wd->next_ns)
		return GW_WATCHDOG_WAIT;
	wd->next_ns = now_ns + wd->half_ns;
	for (unsigned i = 0; i < wd->workers; i++) {
		if (polls[i] == wd->seen[i] && v == GW_WATCHDOG_PET) {
			v = GW_WATCHDOG_STALLED;
			*who = i;
		}
		wd->seen[i] = polls[i];
	}
	return v;
}
