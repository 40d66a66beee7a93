// SPDX-License-Identifier: MIT
/*
 * controlplane/links.c: the RTT EWMA, percentiles over the sample window (and
 * its wrap), jitter, loss over the sliding window with probes in flight not
 * counted as lost, a gateway restart (counters going back), BFD-like down
 * after detect_mult silent intervals and up again at the first reply.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "links.h"

#define MS (1000000ULL)

static struct link_params params(void)
{
	struct link_params p;

	link_params_default(&p);
	return p;
}

static void ewma(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t a = 100000, b = 200000;

	(void)state;
	link_feed(&l, &p, 1, 1, 0, &a, 1, 1 * MS);
	assert_true(l.have_rtt);
	assert_true(fabs(l.rtt_ms - 100) < 1e-9);
	link_feed(&l, &p, 2, 2, 0, &b, 1, 2 * MS);
	/* 100 + 0.2 * (200 - 100) */
	assert_true(fabs(l.rtt_ms - 120) < 1e-9);
	for (int i = 0; i < 100; i++)
		link_feed(&l, &p, 3 + i, 3 + i, 0, &b, 1, (3 + i) * MS);
	assert_true(fabs(l.rtt_ms - 200) < 0.01);
}

static void no_samples(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };

	(void)state;
	assert_true(link_percentile_ms(&l, 0.5) == 0);
	assert_true(link_loss(&l, &p) == 0);
	link_feed(&l, &p, 0, 0, -1, NULL, 0, 1 * MS);
	assert_false(l.have_rtt);
	assert_false(l.up);
	assert_true(link_percentile_ms(&l, 0.99) == 0);
	/* Nonsense quantiles are clamped, not read out of bounds. */
	assert_true(link_percentile_ms(&l, -3) == 0);
}

static void percentiles(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t s[100];

	(void)state;
	/* 1..100 ms, shuffled by a stride coprime to 100 */
	for (unsigned i = 0; i < 100; i++)
		s[i] = ((i * 37) % 100 + 1) * 1000;
	link_feed(&l, &p, 100, 100, 0, s, 100, 1 * MS);
	assert_int_equal(l.nwindow, 100);
	assert_true(fabs(link_percentile_ms(&l, 0.5) - 51) < 1.01);
	assert_true(fabs(link_percentile_ms(&l, 0.9) - 90) < 1.01);
	assert_true(fabs(link_percentile_ms(&l, 0.99) - 99) < 1.01);
	assert_true(link_percentile_ms(&l, 0) == 1);
	assert_true(link_percentile_ms(&l, 1) == 100);
	assert_true(link_percentile_ms(&l, 7) == 100);
}

/* Only the last LINK_WINDOW samples count. */
static void window_wraps(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t old = 500000, fresh = 10000;

	(void)state;
	for (int i = 0; i < 200; i++)
		link_feed(&l, &p, 0, 0, 0, &old, 1, (1 + i) * MS);
	for (int i = 0; i < LINK_WINDOW; i++)
		link_feed(&l, &p, 0, 0, 0, &fresh, 1, (300 + i) * MS);
	assert_int_equal(l.nwindow, LINK_WINDOW);
	assert_true(link_percentile_ms(&l, 0.99) == 10);
	assert_true(link_percentile_ms(&l, 1) == 10);
}

static void jitter(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t s[2] = { 10000, 12000 };

	(void)state;
	for (int i = 0; i < 200; i++)
		link_feed(&l, &p, 0, 0, 0, &s[i % 2], 1, (1 + i) * MS);
	assert_true(fabs(l.jitter_ms - 2) < 0.01);
	/* A steady link: jitter decays towards 0. */
	for (int i = 0; i < 200; i++)
		link_feed(&l, &p, 0, 0, 0, &s[0], 1, (300 + i) * MS);
	assert_true(l.jitter_ms < 0.01);
}

/*
 * A probe every interval, answered after rtt_ms unless lost (every lose_every
 * th, 0: none); fed to the stats every interval as meshd does. Returns the
 * time reached.
 */
struct sim {
	struct link_stats l;
	struct link_params p;
	uint64_t t, sent, received, last_reply;
	uint64_t inflight[64]; /* due times of probes sent */
	unsigned nin;
};

static void sim_run(struct sim *s, double rtt_ms, unsigned lose_every, uint64_t for_ns)
{
	uint64_t end = s->t + for_ns, step = s->p.interval_ms * MS;
	uint32_t us[64];

	for (; s->t < end; s->t += step) {
		unsigned n = 0, k = 0;

		for (unsigned i = 0; i < s->nin; i++) {
			if (s->inflight[i] <= s->t) {
				s->received++;
				s->last_reply = s->inflight[i];
				us[n++] = (uint32_t)(rtt_ms * 1000);
			} else {
				s->inflight[k++] = s->inflight[i];
			}
		}
		s->nin = k;
		s->sent++;
		if (!lose_every || s->sent % lose_every)
			s->inflight[s->nin++] = s->t + (uint64_t)(rtt_ms * MS);
		link_feed(&s->l, &s->p, s->sent, s->received,
			  s->last_reply ? (int64_t)((s->t - s->last_reply) / MS) : -1, us, n, s->t);
	}
}

static void loss_window(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };

	(void)state;
	/* No loss, RTT 150 ms (3 probes in flight): nothing counted lost. */
	sim_run(&s, 150, 0, 20000 * MS);
	assert_true(s.l.up);
	assert_true(link_loss(&s.l, &s.p) < 0.005);
	/* Every 10th probe lost: 10 % once the window has filled. */
	sim_run(&s, 150, 10, 12000 * MS);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.10) < 0.015);
	/* Every 4th: 25 %. */
	sim_run(&s, 150, 4, 12000 * MS);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.25) < 0.015);
	/* Healed: back to 0 within a window, not at once (it slides). */
	sim_run(&s, 150, 0, 2000 * MS);
	assert_true(link_loss(&s.l, &s.p) > 0.1);
	sim_run(&s, 150, 0, 10000 * MS);
	assert_true(link_loss(&s.l, &s.p) < 0.005);
}

/* A short window and a short history: the figures are still sane. */
static void loss_short(void **state)
{
	struct sim s = { .p = params(), .t = 5 * MS };

	(void)state;
	s.p.loss_window_ms = 1000;
	sim_run(&s, 20, 2, 300 * MS);
	assert_true(link_loss(&s.l, &s.p) >= 0 && link_loss(&s.l, &s.p) <= 1);
	sim_run(&s, 20, 2, 3000 * MS);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.5) < 0.05);
}

static void down_after_missed_probes(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t cut;
	int went_down = 0;

	(void)state;
	assert_false(s.l.up);
	sim_run(&s, 30, 0, 500 * MS);
	assert_true(s.l.up);
	/* Every probe lost from now: down once detect_mult intervals passed
	 * without a reply, not before. */
	cut = s.t;
	for (int i = 0; i < 20 && !went_down; i++) {
		bool changed;

		s.sent++;
		changed = link_feed(&s.l, &s.p, s.sent, s.received,
				    (int64_t)((s.t - s.last_reply) / MS), NULL, 0, s.t);
		if (changed) {
			uint64_t silent = s.t - s.last_reply;

			went_down = 1;
			assert_false(s.l.up);
			assert_true(silent > (uint64_t)s.p.detect_mult * s.p.interval_ms * MS);
			assert_true(silent <= (uint64_t)(s.p.detect_mult + 1) * s.p.interval_ms * MS);
			assert_true(s.l.changed_ns == s.t);
		} else {
			assert_true(s.l.up);
		}
		s.t += s.p.interval_ms * MS;
	}
	assert_true(went_down);
	assert_true(s.t - cut < 500 * MS);
	/* Loss tells the same story once the silence is long enough. */
	s.nin = 0;
	sim_run(&s, 30, 1, 3000 * MS);
	assert_false(s.l.up);
	assert_true(link_loss(&s.l, &s.p) > 0.2);
	/* Up again at the first reply, and the outage does not count as loss
	 * for a window more: the link may win its traffic back at once. */
	sim_run(&s, 30, 0, 2 * s.p.interval_ms * MS);
	assert_true(s.l.up);
	assert_true(link_loss(&s.l, &s.p) < 0.01);
	sim_run(&s, 30, 0, 1000 * MS);
	assert_true(link_loss(&s.l, &s.p) < 0.01);
	/* Loss while up still counts. */
	sim_run(&s, 30, 5, 12000 * MS);
	assert_true(s.l.up);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.2) < 0.03);
}

/* A lossy link whose losses come in runs: six probes in a row lost out of
 * twenty (30 %), enough silence each time to call the link down for a moment.
 * Those blips are loss, not outages: the loss over the window stays near
 * 30 % (it used to start again at each blip, and meshd published ~0 %). */
static void lossy_blips_stay_loss(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t step = s.p.interval_ms * MS;
	unsigned downs = 0;

	(void)state;
	sim_run(&s, 10, 0, 2000 * MS);
	assert_true(s.l.up);
	for (unsigned i = 0; i < 400; i++, s.t += step) {
		bool lost = i % 20 < 6;

		s.sent++;
		if (!lost) {
			s.received++;
			s.last_reply = s.t;
		}
		if (link_feed(&s.l, &s.p, s.sent, s.received, (int64_t)((s.t - s.last_reply) / MS), NULL,
			      0, s.t) && !s.l.up)
			downs++;
	}
	print_message("  %u blips down; loss %.3f\n", downs, link_loss(&s.l, &s.p));
	assert_true(downs >= 10);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.3) < 0.08);
}

/* The gateway restarted: its counters start from 0 again. No negative
 * counts, no loss made up. */
static void counters_reset(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };

	(void)state;
	sim_run(&s, 40, 0, 5000 * MS);
	s.sent = s.received = 0;
	s.nin = 0;
	sim_run(&s, 40, 0, 5000 * MS);
	assert_true(link_loss(&s.l, &s.p) < 0.01);
	assert_true(s.l.up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ewma),
		cmocka_unit_test(no_samples),
		cmocka_unit_test(percentiles),
		cmocka_unit_test(window_wraps),
		cmocka_unit_test(jitter),
		cmocka_unit_test(loss_window),
		cmocka_unit_test(loss_short),
		cmocka_unit_test(down_after_missed_probes),
		cmocka_unit_test(lossy_blips_stay_loss),
		cmocka_unit_test(counters_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
