// SPDX-License-Identifier: MIT
/*
 * tests/rig/wanem_model.c, the WAN emulator's per-pair model, on a made-up
 * clock (every call is given its time) and, where a test needs exact draws,
 * a made-up random source:
 *
 *   loss        the fraction dropped over many frames lies within binomial
 *               bounds (5 sigma); 0 and 1 are exact; a seed repeats
 *   rate        the token bucket's exits keep the rate after the burst; the
 *               queue limit drops the excess
 *   delay       every frame's delay lies within delay +- jitter, reaching both
 *               ends, never before arrival; without reordering dues never go
 *               back, with it they do; a new delay overtakes queued frames
 *   down        drops every frame offered, and those already queued
 *   changes     loss, rate and delay changed between frames hold from the
 *               next frame on
 *   timing      the record of delays and of lateness (the host's share)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "wanem_model.h"

#define US WANEM_NS_PER_US
#define MS WANEM_NS_PER_MS
#define S WANEM_NS_PER_S

/* A random source that gives back a fixed value. */
static double fixed_unit(void *state)
{
	return *(const double *)state;
}

static void pair_setup(struct wanem_pair *p, unsigned mask, const struct wanem_cfg *c)
{
	wanem_pair_init(p, 1, 1);
	wanem_pair_set(p, c, mask);
}

/* Frames of `len` bytes every `gap` ns from t0, the clock at each arrival;
 * returns how many passed. */
static uint64_t offer(struct wanem_pair *p, int n, uint32_t len, uint64_t t0, uint64_t gap)
{
	uint64_t passed = 0, due;

	for (int i = 0; i < n; i++) {
		uint64_t t = t0 + (uint64_t)i * gap;

		passed += wanem_pair_admit(p, len, t, t, &due) == WANEM_PASS;
	}
	return passed;
}

/* |k - n q| <= 5 sqrt(n q (1 - q)): fails a correct model about once in
 * 1.7 million runs, and the draws are seeded anyway. */
static void assert_binomial(uint64_t k, uint64_t n, double q)
{
	double mean = (double)n * q, sd = sqrt((double)n * q * (1 - q));

	if (fabs((double)k - mean) > 5 * sd)
		fail_msg("%llu of %llu, expected %.0f +- %.0f", (unsigned long long)k,
			 (unsigned long long)n, mean, 5 * sd);
}

static void loss_binomial(void **state)
{
	static const double rates[] = {0.01, 0.1, 0.5, 0.9};
	const int n = 100000;

	(void)state;
	for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct wanem_pair p;
		struct wanem_cfg c = {.loss = rates[r]};
		uint64_t passed;

		pair_setup(&p, WANEM_SET_LOSS, &c);
		passed = offer(&p, n, 100, 0, US);
		assert_binomial(p.dropped_loss, n, rates[r]);
		assert_int_equal(passed + p.dropped_loss, n);
		assert_int_equal(p.dropped_down + p.dropped_queue, 0);
		wanem_pair_free(&p);
	}
}

static void loss_exact_ends(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.loss = 0};

	(void)state;
	pair_setup(&p, WANEM_SET_LOSS, &c);
	assert_int_equal(offer(&p, 10000, 100, 0, US), 10000);
	c.loss = 1;
	wanem_pair_set(&p, &c, WANEM_SET_LOSS);
	assert_int_equal(offer(&p, 10000, 100, S, US), 0);
	assert_int_equal(p.dropped_loss, 10000);
	wanem_pair_free(&p);
}

/* The same seed and stream give the same drops; another stream others. */
static void loss_seeded(void **state)
{
	struct wanem_pair a, b, other;
	struct wanem_cfg c = {.loss = 0.3};
	int same = 0, differ = 0;
	uint64_t due;

	(void)state;
	pair_setup(&a, WANEM_SET_LOSS, &c);
	pair_setup(&b, WANEM_SET_LOSS, &c);
	wanem_pair_init(&other, 1, 2);
	wanem_pair_set(&other, &c, WANEM_SET_LOSS);
	for (int i = 0; i < 1000; i++) {
		enum wanem_verdict va = wanem_pair_admit(&a, 100, (uint64_t)i, (uint64_t)i, &due);
		enum wanem_verdict vb = wanem_pair_admit(&b, 100, (uint64_t)i, (uint64_t)i, &due);
		enum wanem_verdict vo = wanem_pair_admit(&other, 100, (uint64_t)i, (uint64_t)i, &due);

		same += va == vb;
		differ += va != vo;
	}
	assert_int_equal(same, 1000);
	assert_true(differ > 100);
}

/*
 * 20 Mbit/s offered to 10 Mbit/s, no queue limit to speak of: after the
 * burst, frames leave the bucket exactly one frame time apart, and the last
 * one leaves when the rate says.
 */
static void rate_token_bucket(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.rate_bps = 10000000, .queue = 1000000};
	const int n = 2500;
	const uint64_t gap = 400 * US, frame_ns = 800 * US; /* 1000 bytes at 10 Mbit/s */
	uint64_t due, prev = 0, last = 0;
	int burst = 0;

	(void)state;
	pair_setup(&p, WANEM_SET_RATE | WANEM_SET_QUEUE, &c);
	assert_int_equal(wanem_cfg_burst(&p.cfg), 3028); /* a ms is 1250 bytes: two frames' floor */
	for (int i = 0; i < n; i++) {
		uint64_t t = (uint64_t)i * gap;

		assert_int_equal(wanem_pair_admit(&p, 1000, t, t, &due), WANEM_PASS);
		assert_true(due >= t);
		if (due == t)
			burst++;
		if (i > 10) /* past the burst: one frame time apart, to the ns of ceil() */
			assert_true(due - prev >= frame_ns && due - prev <= frame_ns + 1);
		prev = due;
		last = due;
	}
	/* The full bucket (3028 bytes, 24224 bits) loses 4000 bits a frame while
	 * the offer is twice the rate: frames 0-4 pass on arrival. */
	assert_int_equal(burst, 5);
	{
		double expect = ((double)n * 8000 - 3028 * 8) / 1e7 * 1e9;

		if (fabs((double)last - expect) > 2 * (double)frame_ns)
			fail_msg("last exit at %.6f s, expected %.6f s", (double)last / 1e9,
				 expect / 1e9);
	}
	wanem_pair_free(&p);
}

/* With 10 frames of queue, 1 s of 20 Mbit/s passes a second's worth at the
 * rate, the burst and the queue; the rest is dropped and counted. */
static void rate_queue_limit(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.rate_bps = 10000000, .queue = 10};
	const int n = 2500;
	uint64_t passed;

	(void)state;
	pair_setup(&p, WANEM_SET_RATE | WANEM_SET_QUEUE, &c);
	passed = offer(&p, n, 1000, 0, 400 * US);
	/* 1250 frames leave in the second, 3 more from the full bucket's 24224
	 * bits, and 10 still wait at its end: 1263 +- 1 */
	if (passed < 1262 || passed > 1264)
		fail_msg("%llu frames passed, expected 1250 + burst 3 + queue 10, +-1",
			 (unsigned long long)passed);
	assert_int_equal(p.dropped_queue, n - passed);
	wanem_pair_free(&p);
}

/* 40 ms +- 5 ms, frames 20 ms apart (more than the jitter's span: no frame
 * is held back for the one ahead): every delay within the bounds, both ends
 * reached, the mean at 40 ms. */
static void delay_jitter_bounds(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.delay_ns = 40 * MS, .jitter_ns = 5 * MS};
	const int n = 10000;
	uint64_t due, lo = UINT64_MAX, hi = 0, sum = 0;

	(void)state;
	pair_setup(&p, WANEM_SET_DELAY | WANEM_SET_JITTER, &c);
	for (int i = 0; i < n; i++) {
		uint64_t t = (uint64_t)i * 20 * MS, d;

		assert_int_equal(wanem_pair_admit(&p, 100, t, t, &due), WANEM_PASS);
		d = due - t;
		if (d < 35 * MS || d > 45 * MS)
			fail_msg("frame %d delayed %.3f ms, outside 40 +- 5", i, (double)d / 1e6);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	assert_true(lo < 35 * MS + 50 * US);
	assert_true(hi > 45 * MS - 50 * US);
	/* the mean of 10000 uniform draws: sd 5/sqrt(3)/100 ms = 0.029 ms */
	assert_true(fabs((double)sum / n - 40e6) < 0.15e6);
	/* the pair's own record says the same */
	assert_int_equal(p.timing.delay_frames, n);
	assert_int_equal(p.timing.delay_min_ns, lo);
	assert_int_equal(p.timing.delay_max_ns, hi);
	assert_int_equal(p.timing.delay_sum_ns, sum);
	wanem_pair_free(&p);
}

/* The draws at their ends map to delay - jitter and (just under) delay +
 * jitter; a jitter wider than the delay never makes a frame due before it
 * arrived. */
static void delay_jitter_ends(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.delay_ns = 40 * MS, .jitter_ns = 5 * MS, .reorder = true};
	double draw;
	uint64_t due;

	(void)state;
	pair_setup(&p, WANEM_SET_DELAY | WANEM_SET_JITTER | WANEM_SET_REORDER, &c);
	p.rand = (struct wanem_rand){fixed_unit, &draw};
	draw = 0;
	assert_int_equal(wanem_pair_admit(&p, 100, S, S, &due), WANEM_PASS);
	assert_int_equal(due, S + 35 * MS);
	draw = 0.5;
	assert_int_equal(wanem_pair_admit(&p, 100, S, S, &due), WANEM_PASS);
	assert_int_equal(due, S + 40 * MS);
	draw = nextafter(1.0, 0.0);
	assert_int_equal(wanem_pair_admit(&p, 100, S, S, &due), WANEM_PASS);
	assert_true(due <= S + 45 * MS && due >= S + 45 * MS - 1);

	c.delay_ns = 2 * MS;
	wanem_pair_set(&p, &c, WANEM_SET_DELAY);
	draw = 0;
	assert_int_equal(wanem_pair_admit(&p, 100, 2 * S, 2 * S, &due), WANEM_PASS);
	assert_int_equal(due, 2 * S);
	wanem_pair_free(&p);
}

/* Frames 1 ms apart, jitter +-5 ms: without reordering, dues never go back
 * (some frames wait for the one ahead) and still stay within delay + jitter;
 * with reorder=on they do go back. */
static void jitter_ordering(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.delay_ns = 40 * MS, .jitter_ns = 5 * MS};
	uint64_t due, prev = 0;
	int held = 0, back = 0;

	(void)state;
	pair_setup(&p, WANEM_SET_DELAY | WANEM_SET_JITTER, &c);
	for (int i = 0; i < 5000; i++) {
		uint64_t t = (uint64_t)i * MS;

		assert_int_equal(wanem_pair_admit(&p, 100, t, t, &due), WANEM_PASS);
		assert_true(due >= prev);
		assert_true(due - t >= 35 * MS && due - t <= 45 * MS);
		held += due == prev;
		prev = due;
	}
	assert_true(held > 500);
	assert_true(p.timing.delay_max_ns <= 45 * MS);

	c.reorder = true;
	wanem_pair_set(&p, &c, WANEM_SET_REORDER);
	prev = 0;
	for (int i = 0; i < 5000; i++) {
		uint64_t t = 10 * S + (uint64_t)i * MS;

		assert_int_equal(wanem_pair_admit(&p, 100, t, t, &due), WANEM_PASS);
		assert_true(due - t >= 35 * MS && due - t <= 45 * MS);
		back += due < prev;
		prev = due;
	}
	assert_true(back > 500);
	wanem_pair_free(&p);
}

/* A shorter delay holds from the next frame on, which overtakes the frames
 * queued under the old one. */
static void delay_change_overtakes(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.delay_ns = 40 * MS};
	uint64_t due_old, due_new;

	(void)state;
	pair_setup(&p, WANEM_SET_DELAY, &c);
	assert_int_equal(wanem_pair_admit(&p, 100, S, S, &due_old), WANEM_PASS);
	assert_int_equal(due_old, S + 40 * MS);
	c.delay_ns = 20 * MS;
	wanem_pair_set(&p, &c, WANEM_SET_DELAY);
	assert_int_equal(wanem_pair_admit(&p, 100, S + MS, S + MS, &due_new), WANEM_PASS);
	assert_int_equal(due_new, S + 21 * MS);
	assert_true(due_new < due_old);
	wanem_pair_free(&p);
}

/* Down drops every frame offered and every frame already queued when due;
 * up again passes. */
static void down_drops_everything(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {.delay_ns = 40 * MS, .up = false};
	uint64_t due, queued[10];

	(void)state;
	pair_setup(&p, WANEM_SET_DELAY, &c);
	for (int i = 0; i < 10; i++)
		assert_int_equal(wanem_pair_admit(&p, 100, (uint64_t)i, (uint64_t)i, &queued[i]),
				 WANEM_PASS);
	wanem_pair_set(&p, &c, WANEM_SET_UP);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(wanem_pair_admit(&p, 100, 10 + (uint64_t)i, 10 + (uint64_t)i, &due),
				 WANEM_DROP_DOWN);
	for (int i = 0; i < 10; i++)
		assert_false(wanem_pair_departs(&p));
	assert_int_equal(p.dropped_down, 1010);
	assert_int_equal(p.forwarded, 0);

	c.up = true;
	wanem_pair_set(&p, &c, WANEM_SET_UP);
	assert_int_equal(wanem_pair_admit(&p, 100, S, S, &due), WANEM_PASS);
	assert_true(wanem_pair_departs(&p));
	wanem_pair_sent(&p, 100, due, due);
	assert_int_equal(p.forwarded, 1);
	assert_int_equal(p.dropped_down, 1010);
	wanem_pair_free(&p);
}

/* Loss and rate changed between frames: each holds from the next frame. */
static void runtime_changes(void **state)
{
	struct wanem_pair p;
	struct wanem_cfg c = {0};
	uint64_t due;

	(void)state;
	wanem_pair_init(&p, 7, 1);
	assert_int_equal(offer(&p, 1000, 100, 0, US), 1000);
	c.loss = 1;
	wanem_pair_set(&p, &c, WANEM_SET_LOSS);
	assert_int_equal(offer(&p, 1000, 100, S, US), 0);
	c.loss = 0;
	wanem_pair_set(&p, &c, WANEM_SET_LOSS);
	assert_int_equal(offer(&p, 1000, 100, 2 * S, US), 1000);

	/* a rate: the fresh bucket is full (3028 bytes), then 1000-byte frames
	 * offered at once leave 800 us apart */
	c.rate_bps = 10000000;
	wanem_pair_set(&p, &c, WANEM_SET_RATE);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(wanem_pair_admit(&p, 1000, 3 * S, 3 * S, &due), WANEM_PASS);
		assert_int_equal(due, 3 * S);
	}
	assert_int_equal(wanem_pair_admit(&p, 1000, 3 * S, 3 * S, &due), WANEM_PASS);
	assert_true(due > 3 * S && due <= 3 * S + 800 * US);
	/* rate off: no wait for the bucket, but no overtaking the frame that
	 * still waits for it either; a frame after that one passes at once */
	c.rate_bps = 0;
	wanem_pair_set(&p, &c, WANEM_SET_RATE);
	{
		uint64_t held = due;

		assert_int_equal(wanem_pair_admit(&p, 1000, 3 * S, 3 * S, &due), WANEM_PASS);
		assert_int_equal(due, held);
	}
	assert_int_equal(wanem_pair_admit(&p, 1000, 3 * S + MS, 3 * S + MS, &due), WANEM_PASS);
	assert_int_equal(due, 3 * S + MS);
	/* a delay */
	c.delay_ns = 5 * MS;
	wanem_pair_set(&p, &c, WANEM_SET_DELAY);
	assert_int_equal(wanem_pair_admit(&p, 1000, 4 * S, 4 * S, &due), WANEM_PASS);
	assert_int_equal(due, 4 * S + 5 * MS);
	wanem_pair_free(&p);
}

/* Lateness: the histogram's buckets, max and mean; early counts as 0;
 * totals over pairs; clear. */
static void timing_record(void **state)
{
	struct wanem_pair a, b;
	struct wanem_timing all = {.delay_min_ns = UINT64_MAX};

	(void)state;
	wanem_pair_init(&a, 1, 1);
	wanem_pair_init(&b, 1, 2);
	wanem_pair_sent(&a, 100, S, S + 5 * US);   /* lt10us */
	wanem_pair_sent(&a, 100, S, S + 60 * US);  /* lt100us */
	wanem_pair_sent(&a, 100, S, S + 2 * MS);   /* ge1ms */
	wanem_pair_sent(&b, 100, S, S - 1 * MS);   /* early: 0, lt10us */
	wanem_pair_sent(&b, 100, S, S + 999 * US); /* lt1ms */
	assert_int_equal(a.timing.late_frames, 3);
	assert_int_equal(a.timing.late_hist[0], 1);
	assert_int_equal(a.timing.late_hist[2], 1);
	assert_int_equal(a.timing.late_hist[6], 1);
	assert_int_equal(a.timing.late_max_ns, 2 * MS);
	assert_int_equal(a.timing.late_sum_ns, 2065 * US);
	assert_int_equal(b.timing.late_hist[0], 1);
	assert_int_equal(b.timing.late_hist[5], 1);
	wanem_timing_add(&all, &a.timing);
	wanem_timing_add(&all, &b.timing);
	assert_int_equal(all.late_frames, 5);
	assert_int_equal(all.late_max_ns, 2 * MS);
	assert_int_equal(all.late_hist[0], 2);
	assert_int_equal(a.forwarded, 3);
	assert_int_equal(a.forwarded_bytes, 300);
	wanem_pair_clear(&a);
	assert_int_equal(a.timing.late_frames, 0);
	assert_int_equal(a.timing.late_max_ns, 0);
	assert_int_equal(a.forwarded, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loss_binomial),
		cmocka_unit_test(loss_exact_ends),
		cmocka_unit_test(loss_seeded),
		cmocka_unit_test(rate_token_bucket),
		cmocka_unit_test(rate_queue_limit),
		cmocka_unit_test(delay_jitter_bounds),
		cmocka_unit_test(delay_jitter_ends),
		cmocka_unit_test(jitter_ordering),
		cmocka_unit_test(delay_change_overtakes),
		cmocka_unit_test(down_drops_everything),
		cmocka_unit_test(runtime_changes),
		cmocka_unit_test(timing_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
