// SPDX-License-Identifier: MIT
/*
 * dataplane/watchdog.c with an injected clock and poll counts: no watchdog
 * asked for, no verdict ever; the verdict comes every half interval and not
 * before; every worker moving pets; one worker standing still (another
 * moving) withholds the pet and names that worker; it pets again once that
 * worker moves; a worker's count that moved back (wrapped) still counts as
 * moving.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "watchdog.h"

#define MS UINT64_C(1000000)
#define T0 (77 * UINT64_C(1000000000))
#define INTERVAL_US UINT64_C(10000000) /* WatchdogSec=10s */

static void test_off(void **state)
{
	struct gw_watchdog wd;
	uint64_t polls[2] = { 0, 0 };
	unsigned who = 99;

	(void)state;
	gw_watchdog_init(&wd, 0, 2, polls, T0);
	for (uint64_t t = T0; t < T0 + 60000 * MS; t += 1000 * MS)
		assert_int_equal(gw_watchdog_check(&wd, polls, t, &who), GW_WATCHDOG_WAIT);
	assert_int_equal(who, 99);
}

static void test_half_interval(void **state)
{
	struct gw_watchdog wd;
	uint64_t polls[3] = { 5, 6, 7 };
	unsigned who = 0, pets = 0;

	(void)state;
	gw_watchdog_init(&wd, INTERVAL_US, 3, polls, T0);
	/* 20 s in 10 ms ticks, as the main lcore calls it, every worker moving. */
	for (uint64_t t = T0 + 10 * MS; t <= T0 + 20000 * MS; t += 10 * MS) {
		for (unsigned i = 0; i < 3; i++)
			polls[i] += 3;
		enum gw_watchdog_verdict v = gw_watchdog_check(&wd, polls, t, &who);

		if (t < T0 + 5000 * MS)
			assert_int_equal(v, GW_WATCHDOG_WAIT);
		if (v == GW_WATCHDOG_PET)
			pets++;
		else
			assert_int_equal(v, GW_WATCHDOG_WAIT);
	}
	assert_int_equal(pets, 4); /* at 5, 10, 15, 20 s */
}

static void test_stalled_worker(void **state)
{
	struct gw_watchdog wd;
	uint64_t polls[3] = { 0, 0, 0 };
	unsigned who = 99;

	(void)state;
	gw_watchdog_init(&wd, INTERVAL_US, 3, polls, T0);
	polls[0] = 1000;
	polls[2] = 1000; /* worker 1 never comes round */
	assert_int_equal(gw_watchdog_check(&wd, polls, T0 + 5000 * MS, &who), GW_WATCHDOG_STALLED);
	assert_int_equal(who, 1);
	/* Still stuck, the others moving: still no pet. */
	polls[0] += 500;
	polls[2] += 500;
	assert_int_equal(gw_watchdog_check(&wd, polls, T0 + 10000 * MS, &who), GW_WATCHDOG_STALLED);
	assert_int_equal(who, 1);
	/* It moves once: petted again. */
	polls[0] += 500;
	polls[1] += 1;
	polls[2] += 500;
	assert_int_equal(gw_watchdog_check(&wd, polls, T0 + 15000 * MS, &who), GW_WATCHDOG_PET);
	/* Then worker 2 stops (and only it). */
	polls[0] += 500;
	polls[1] += 500;
	who = 99;
	assert_int_equal(gw_watchdog_check(&wd, polls, T0 + 20000 * MS, &who), GW_WATCHDOG_STALLED);
	assert_int_equal(who, 2);
}

static void test_wrapped_count(void **state)
{
	struct gw_watchdog wd;
	uint64_t polls[1] = { UINT64_MAX };
	unsigned who;

	(void)state;
	gw_watchdog_init(&wd, INTERVAL_US, 1, polls, T0);
	polls[0] = 3;
	assert_int_equal(gw_watchdog_check(&wd, polls, T0 + 5000 * MS, &who), GW_WATCHDOG_PET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_half_interval),
		cmocka_unit_test(test_stalled_worker),
		cmocka_unit_test(test_wrapped_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
