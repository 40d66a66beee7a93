// SPDX-License-Identifier: MIT
/*
 * dataplane/icmp_limit.c with an injected clock: triggers closer together than
 * one token still add up to the configured rate (250/s for 400 s gives 200/s
 * worth, not the burst alone); a source flooding at its limit does not take
 * another source's errors; 100,000 distinct sources stay within the fixed
 * table and the gateway's ceiling; the ceiling holds for many sources each
 * under its own rate; a long idle spell refills to the burst and no further.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "icmp_limit.h"

#define MS UINT64_C(1000000)
#define S UINT64_C(1000000000)
/* The gateway's figures (dataplane/icmp.c). */
#define SRC_RATE 200
#define SRC_BURST 100
#define TOTAL_RATE 1000
#define TOTAL_BURST 500
/* Not zero: the clock of a real gateway is far from its epoch. */
#define T0 (123 * S)

static const uint8_t key[ICMP_LIMIT_KEY_BYTES] = { 0x68, 0x6f, 0x70, 0x6d, 0x65, 0x73, 0x68, 0x2d,
						     0x69, 0x63, 0x6d, 0x70, 0x2d, 0x6b, 0x65, 0x79 };
static struct icmp_limit lim;

static void setup_limit(void)
{
	icmp_limit_init(&lim, (struct icmp_limit_rate){ SRC_RATE, SRC_BURST },
			(struct icmp_limit_rate){ TOTAL_RATE, TOTAL_BURST }, key, T0);
}

static void addr4(uint8_t a[4], uint32_t n)
{
	a[0] = (uint8_t)(10 + (n >> 24));
	a[1] = (uint8_t)(n >> 16);
	a[2] = (uint8_t)(n >> 8);
	a[3] = (uint8_t)n;
}

/* A second address that does not share first's bucket. */
static void other_slot4(const uint8_t first[4], uint8_t out[4])
{
	unsigned s = icmp_limit_slot(&lim, first, 4);

	for (uint32_t n = 1000;; n++) {
		addr4(out, n);
		if (icmp_limit_slot(&lim, out, 4) != s)
			return;
	}
}

/* One source triggering every gap ns for secs seconds: errors allowed. */
static unsigned steady(const uint8_t src[4], uint64_t gap, uint64_t secs)
{
	unsigned allowed = 0;

	for (uint64_t t = gap; t <= secs * S; t += gap)
		allowed += icmp_limit_allow(&lim, src, 4, T0 + t);
	return allowed;
}

/* The report: 250 triggers per second for 400 s gave 100 errors. */
static void fast_triggers_keep_refilling(void **state)
{
	uint8_t a[4] = { 10, 1, 0, 2 };
	unsigned allowed;

	(void)state;
	setup_limit();
	allowed = steady(a, 4 * MS, 400);
	printf("250/s for 400 s: %u errors (rate %u/s, burst %u)\n", allowed, SRC_RATE, SRC_BURST);
	/* The burst, then 200 per second: 80,100, give or take the last token. */
	assert_in_range(allowed, SRC_RATE * 400 + SRC_BURST - 1, SRC_RATE * 400 + SRC_BURST);
}

/* Any spacing under one token's time, regular or not, earns the same. */
static void spacing_does_not_matter(void **state)
{
	static const uint64_t gaps[] = { 1 * MS, 2 * MS, 3 * MS, 4900000 };
	uint8_t a[4] = { 10, 1, 0, 2 };
	unsigned allowed;
	uint64_t t = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		/* The burst (full at the first trigger), then the rate over the
		 * time from the first trigger to the last. */
		uint64_t last = 100 * S / gaps[i] * gaps[i];
		unsigned expect = SRC_BURST + (unsigned)(SRC_RATE * (last - gaps[i]) / S);

		setup_limit();
		allowed = steady(a, gaps[i], 100);
		assert_in_range(allowed, expect, expect + 1);
		assert_in_range(allowed, SRC_RATE * 100 + SRC_BURST - 2, SRC_RATE * 100 + SRC_BURST);
	}
	/* Gaps of 1 to 4 ms in turn: 2.5 ms on average. */
	setup_limit();
	allowed = 0;
	for (unsigned k = 0; t < 100 * S; k++) {
		t += (1 + k % 4) * MS;
		allowed += icmp_limit_allow(&lim, a, 4, T0 + t);
	}
	assert_in_range(allowed, SRC_RATE * 100 + SRC_BURST - 1, SRC_RATE * 100 + SRC_BURST);
}

/* Under the rate, every trigger gets its error. */
static void under_the_rate_all_pass(void **state)
{
	uint8_t a[4] = { 10, 1, 0, 2 };

	(void)state;
	setup_limit();
	/* 199 per second for 60 s. */
	assert_int_equal(steady(a, S / 199, 60), 199 * 60);
}

/* VM A floods at 1,000 triggers per second; VM B's errors (a traceroute's
 * burst, then path MTU probes every 100 ms) all go out, and A still gets its
 * own rate's worth. */
static void flood_does_not_starve_another_source(void **state)
{
	uint8_t a[4] = { 10, 1, 0, 2 }, b[4];
	unsigned a_allowed = 0, b_allowed = 0, b_sent = 0;

	(void)state;
	setup_limit();
	other_slot4(a, b);
	for (uint64_t t = MS; t <= 30 * S; t += MS) {
		a_allowed += icmp_limit_allow(&lim, a, 4, T0 + t);
		if (t == 10 * S) {
			for (int i = 0; i < 90; i++, b_sent++)  /* traceroute: 30 hops x 3 */
				b_allowed += icmp_limit_allow(&lim, b, 4, T0 + t);
		}
		if (t % (100 * MS) == 0) {
			b_sent++;
			b_allowed += icmp_limit_allow(&lim, b, 4, T0 + t);
		}
	}
	printf("A flooding: %u errors of 30000; B: %u of %u\n", a_allowed, b_allowed, b_sent);
	assert_int_equal(b_allowed, b_sent);
	assert_in_range(a_allowed, SRC_RATE * 30 + SRC_BURST - 1, SRC_RATE * 30 + SRC_BURST);
}

/* 100,000 distinct sources, 10,000 a second: they land in the fixed table
 * (every slot used, no more exist) and the gateway's total stays under its
 * ceiling; afterwards a source still gets errors at its rate. */
static void many_sources_bounded(void **state)
{
	static uint8_t used[ICMP_LIMIT_SLOTS];
	unsigned allowed = 0, slots = 0;
	uint8_t a[4], v6[16] = { 0xfd, 0, 0, 1 };

	(void)state;
	setup_limit();
	for (uint32_t n = 0; n < 100000; n++) {
		unsigned s;

		addr4(a, n);
		s = icmp_limit_slot(&lim, a, 4);
		assert_true(s < ICMP_LIMIT_SLOTS);
		slots += !used[s];
		used[s] = 1;
		allowed += icmp_limit_allow(&lim, a, 4, T0 + (n + 1) * (S / 10000));
	}
	printf("100000 sources over 10 s: %u errors, %u slots\n", allowed, slots);
	assert_int_equal(slots, ICMP_LIMIT_SLOTS);
	assert_in_range(allowed, TOTAL_RATE * 10 + TOTAL_BURST - 1, TOTAL_RATE * 10 + TOTAL_BURST);
	/* The state is the struct: nothing was allocated for the sources. */
	assert_true(sizeof(struct icmp_limit) < 17 * 1024);
	/* IPv6 sources share the table; after a quiet second all is refilled. */
	for (int i = 0; i < SRC_BURST; i++)
		assert_true(icmp_limit_allow(&lim, v6, 16, T0 + 11 * S));
	assert_false(icmp_limit_allow(&lim, v6, 16, T0 + 11 * S));
}

/* 20 sources in distinct buckets, each at 150 per second (under its own
 * rate): 3,000 a second together, and the ceiling lets 1,000 a second out. */
static void ceiling_holds(void **state)
{
	uint8_t src[20][4];
	unsigned allowed = 0, n = 0;
	uint8_t used[ICMP_LIMIT_SLOTS] = { 0 };

	(void)state;
	setup_limit();
	for (uint32_t k = 0; n < 20; k++) {
		addr4(src[n], k);
		if (!used[icmp_limit_slot(&lim, src[n], 4)]) {
			used[icmp_limit_slot(&lim, src[n], 4)] = 1;
			n++;
		}
	}
	for (uint64_t t = S / 150; t <= 20 * S; t += S / 150)
		for (unsigned i = 0; i < 20; i++)
			allowed += icmp_limit_allow(&lim, src[i], 4, T0 + t);
	printf("20 sources at 150/s for 20 s: %u errors\n", allowed);
	/* The burst and 1,000 a second, less the 6.7 the full bucket could not
	 * take before the first trigger. */
	assert_in_range(allowed, TOTAL_RATE * 20 + TOTAL_BURST - TOTAL_RATE / 150 - 1,
			TOTAL_RATE * 20 + TOTAL_BURST);
}

/* A source refused by the ceiling keeps its token: refused 100 times while
 * the ceiling is empty, it is served its whole burst once the ceiling is back
 * (had the refusals spent its tokens, 100 ms would give it 20). */
static void refused_by_ceiling_keeps_token(void **state)
{
	uint8_t src[6][4];
	uint8_t used[ICMP_LIMIT_SLOTS] = { 0 };
	unsigned n = 0, allowed = 0;

	(void)state;
	setup_limit();
	for (uint32_t k = 0; n < 6; k++) {
		addr4(src[n], k);
		if (!used[icmp_limit_slot(&lim, src[n], 4)]) {
			used[icmp_limit_slot(&lim, src[n], 4)] = 1;
			n++;
		}
	}
	/* Five sources spend their bursts: the ceiling's 500 are gone. */
	for (unsigned i = 0; i < 5; i++)
		for (int j = 0; j < SRC_BURST; j++)
			assert_true(icmp_limit_allow(&lim, src[i], 4, T0));
	for (int j = 0; j < SRC_BURST; j++)
		assert_false(icmp_limit_allow(&lim, src[5], 4, T0));
	/* 100 ms: 100 tokens back in the ceiling, 20 earned by src[5]. */
	while (icmp_limit_allow(&lim, src[5], 4, T0 + 100 * MS))
		allowed++;
	assert_int_equal(allowed, SRC_BURST);
}

/* Idle far longer than any burst takes: full, not more (no overflow), and a
 * clock that steps back adds nothing. */
static void idle_and_clock_edges(void **state)
{
	uint8_t a[4] = { 10, 1, 0, 2 };
	uint64_t late = UINT64_MAX - S;
	int n = 0;

	(void)state;
	setup_limit();
	while (icmp_limit_allow(&lim, a, 4, T0))
		n++;
	assert_int_equal(n, SRC_BURST);
	n = 0;
	while (icmp_limit_allow(&lim, a, 4, late))
		n++;
	assert_int_equal(n, SRC_BURST);
	assert_false(icmp_limit_allow(&lim, a, 4, T0));
	assert_false(icmp_limit_allow(&lim, a, 4, late - S));
	/* 5 ms after the latest time seen: one token. */
	assert_true(icmp_limit_allow(&lim, a, 4, late + 5 * MS));
	assert_false(icmp_limit_allow(&lim, a, 4, late + 5 * MS));
}

/* A zero rate never refills; a zero burst never allows. */
static void zero_figures(void **state)
{
	uint8_t a[4] = { 10, 1, 0, 2 };

	(void)state;
	icmp_limit_init(&lim, (struct icmp_limit_rate){ 0, 2 }, (struct icmp_limit_rate){ 10, 10 }, key, 0);
	assert_true(icmp_limit_allow(&lim, a, 4, S));
	assert_true(icmp_limit_allow(&lim, a, 4, S));
	assert_false(icmp_limit_allow(&lim, a, 4, 100 * S));
	icmp_limit_init(&lim, (struct icmp_limit_rate){ 10, 10 }, (struct icmp_limit_rate){ 10, 0 }, key, 0);
	assert_false(icmp_limit_allow(&lim, a, 4, 100 * S));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fast_triggers_keep_refilling),
		cmocka_unit_test(spacing_does_not_matter),
		cmocka_unit_test(under_the_rate_all_pass),
		cmocka_unit_test(flood_does_not_starve_another_source),
		cmocka_unit_test(many_sources_bounded),
		cmocka_unit_test(ceiling_holds),
		cmocka_unit_test(refused_by_ceiling_keeps_token),
		cmocka_unit_test(idle_and_clock_edges),
		cmocka_unit_test(zero_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
