// SPDX-License-Identifier: MIT
/*
 * controlplane/links.c: the RTT EWMA, percentiles over the sample window (and
 * its wrap), jitter, loss over the sliding window with probes in flight not
 * counted as lost, a gateway restart (counters going back), BFD-like down
 * after detect_mult silent intervals, and damping: the first up at the first
 * reply, a re-up only after a hold-down that doubles per flap and decays, a
 * link at 30 % loss each way held down for good, short outages that keep the
 * loss history, a silence of this gateway's own not counted as a flap, and
 * the short loss window that costs a link starting to lose at once, a
 * link's set-up not counted as loss. Time is a parameter: the clock is the
 * test's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	/* Seeded: the least of the first LINK_SEED_SAMPLES. */
	for (unsigned i = 1; i < LINK_SEED_SAMPLES; i++) {
		assert_false(link_rtt_seeded(&l));
		link_feed(&l, &p, 1 + i, 1 + i, 0, &b, 1, (1 + i) * MS);
		assert_true(fabs(l.rtt_ms - 100) < 1e-9);
	}
	assert_true(link_rtt_seeded(&l));
	link_feed(&l, &p, 10, 10, 0, &b, 1, 10 * MS);
	/* then the EWMA: 100 + 0.2 * (200 - 100) */
	assert_true(fabs(l.rtt_ms - 120) < 1e-9);
	for (int i = 0; i < 100; i++)
		link_feed(&l, &p, 11 + i, 11 + i, 0, &b, 1, (11 + i) * MS);
	assert_true(fabs(l.rtt_ms - 200) < 0.01);
}

/* Probes in flight while this gateway stalled come back late together: the
 * first samples of a new link are 900, 700, 500, 300 ms on a 200 ms link.
 * The estimate does not start at 900 (an EWMA from there is still above
 * 220 ms ten samples on, which a relay within the router's margins beats). */
static void seed_after_stall(void **state)
{
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t late[] = { 900000, 700000, 500000, 300000 }, ok = 200000;

	(void)state;
	link_feed(&l, &p, 4, 4, 0, late, 4, 1 * MS);
	assert_false(link_rtt_seeded(&l));
	for (unsigned i = 0; i < LINK_SEED_SAMPLES - 4; i++)
		link_feed(&l, &p, 5 + i, 5 + i, 0, &ok, 1, (2 + i) * MS);
	assert_true(link_rtt_seeded(&l));
	assert_true(fabs(l.rtt_ms - 200) < 1e-9);
	/* The percentiles keep every sample: the late ones are shown there. */
	assert_true(link_percentile_ms(&l, 1.0) > 899);
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The percentiles kept sorted as samples come and go are those of a sort of
 * the window at every step: duplicates, a wrapping ring, any quantile. */
static void percentiles_match_sort(void **state)
{
	static const double qs[] = { 0, 0.01, 0.25, 0.5, 0.9, 0.99, 1 };
	struct link_params p = params();
	struct link_stats l = { 0 };
	uint32_t seed = 12345;

	(void)state;
	for (int i = 0; i < 3 * LINK_WINDOW + 17; i++) {
		uint32_t batch[3], sorted[LINK_WINDOW];
		unsigned n = 1 + (unsigned)i % 3;

		for (unsigned k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			batch[k] = (seed >> 16) % 50 * 1000; /* few values: many ties */
		}
		link_feed(&l, &p, 0, 0, 0, batch, n, (1 + (uint64_t)i) * MS);
		memcpy(sorted, l.window_us, l.nwindow * sizeof(sorted[0]));
		qsort(sorted, l.nwindow, sizeof(sorted[0]), cmp_u32);
		assert_memory_equal(sorted, l.sorted_us, l.nwindow * sizeof(sorted[0]));
		for (unsigned k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
			assert_true(link_percentile_ms(&l, qs[k]) ==
				    sorted[(unsigned)(qs[k] * (l.nwindow - 1) + 0.5)] / 1000.0);
	}
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

/* As sim_run, each probe and each reply lost with probability loss_each_way
 * (xorshift, seeded: the same run every time); counts the changes of up. */
static unsigned sim_random(struct sim *s, double rtt_ms, double loss_each_way, uint64_t for_ns,
			   uint64_t *rng)
{
	uint64_t end = s->t + for_ns, step = s->p.interval_ms * MS;
	uint32_t us[64];
	unsigned changes = 0;

	for (; s->t < end; s->t += step) {
		unsigned n = 0, k = 0;
		bool lost = false;

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
		for (int way = 0; way < 2; way++) {
			*rng ^= *rng << 13;
			*rng ^= *rng >> 7;
			*rng ^= *rng << 17;
			lost |= (double)(*rng >> 11) / (double)(1ULL << 53) < loss_each_way;
		}
		if (!lost)
			s->inflight[s->nin++] = s->t + (uint64_t)(rtt_ms * MS);
		changes += link_feed(&s->l, &s->p, s->sent, s->received,
				     s->last_reply ? (int64_t)((s->t - s->last_reply) / MS) : -1, us, n, s->t);
	}
	return changes;
}

/* Every probe lost (a cut) for for_ns: only the counter moves. */
static void sim_cut(struct sim *s, uint64_t for_ns)
{
	uint64_t end = s->t + for_ns, step = s->p.interval_ms * MS;

	s->nin = 0;
	for (; s->t < end; s->t += step) {
		s->sent++;
		link_feed(&s->l, &s->p, s->sent, s->received,
			  s->last_reply ? (int64_t)((s->t - s->last_reply) / MS) : -1, NULL, 0, s->t);
	}
}

/* A clean link after an outage: the time from its first reply to up. */
static uint64_t sim_time_to_up(struct sim *s, double rtt_ms)
{
	uint64_t t0 = s->t + (uint64_t)(rtt_ms * MS), step = s->p.interval_ms * MS;

	for (int i = 0; i < 2000 && !s->l.up; i++)
		sim_run(s, rtt_ms, 0, step);
	assert_true(s->l.up);
	return s->t - step > t0 ? s->t - step - t0 : 0;
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
	/* Answering again: held down for the hold-down of one flap (1 s), not
	 * up at the first reply; and the outage does not count as loss for a
	 * window more: the link may win its traffic back once up. */
	sim_run(&s, 30, 0, 2 * s.p.interval_ms * MS);
	assert_true(s.l.answering);
	assert_false(s.l.up);
	assert_true(link_held_down(&s.l));
	assert_true(link_loss(&s.l, &s.p) < 0.01);
	sim_run(&s, 30, 0, 1000 * MS);
	assert_true(s.l.up);
	assert_true(link_loss(&s.l, &s.p) < 0.01);
	/* Loss while up still counts. */
	sim_run(&s, 30, 5, 12000 * MS);
	assert_true(s.l.up);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.2) < 0.03);
}

/* A lossy link whose losses come in runs: six probes in a row lost out of
 * twenty (30 %), enough silence each time to miss the detection time. Each
 * blip is a flap; the link goes down at the first and stays down (30 % is
 * over the hold-down's 20 %), instead of down and up twice a second. Those
 * blips are loss, not outages: the loss over the window stays near 30 %. */
static void lossy_blips_stay_loss(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t step = s.p.interval_ms * MS;
	unsigned changes = 0;

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
		changes += link_feed(&s.l, &s.p, s.sent, s.received, (int64_t)((s.t - s.last_reply) / MS),
				     NULL, 0, s.t);
	}
	print_message("  %u changes, %" PRIu64 " flaps; loss %.3f\n", changes, s.l.flaps_total,
		      link_loss(&s.l, &s.p));
	assert_int_equal(changes, 1);
	assert_false(s.l.up);
	assert_true(s.l.flaps_total >= 10);
	assert_true(fabs(link_loss(&s.l, &s.p) - 0.3) < 0.08);
}

/* The link never up yet: up at its first reply, no hold-down (a start is
 * not slowed by damping). */
static void first_up_at_first_reply(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };

	(void)state;
	sim_cut(&s, 2000 * MS); /* the peer not there yet: no reply at all */
	assert_false(s.l.up);
	assert_int_equal(s.l.changes_total, 0);
	assert_true(sim_time_to_up(&s, 30) <= s.p.interval_ms * MS);
	assert_int_equal(s.l.changes_total, 1);
}

/* 30 % loss each way (51 % of probes unanswered) for 60 s on a link that
 * was clean: the detection trips again and again (flaps), the link state
 * changes once (down) and stays down; healed, it comes back within the
 * hold-down's cap. Twenty seeds: a bound, not one lucky run. */
static void flapping_is_damped(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct sim s = { .p = params(), .t = 1000 * MS };
		uint64_t rng = 0x9e3779b97f4a7c15ULL * seed, healed;
		unsigned changes;

		sim_run(&s, 100, 0, 12000 * MS);
		assert_true(s.l.up);
		changes = sim_random(&s, 100, 0.3, 60000 * MS, &rng);
		if (seed == 1)
			print_message("  60 s at 30 %% each way: %u changes, %" PRIu64 " flaps, hold-down %" PRIu64
				      " ms, loss %.3f\n", changes, s.l.flaps_total,
				      link_holddown_ms(&s.l, &s.p), link_loss(&s.l, &s.p));
		assert_true(s.l.flaps_total >= 3);
		assert_true(changes <= 1);
		assert_false(s.l.up);
		assert_true(fabs(link_loss(&s.l, &s.p) - 0.51) < 0.1);
		healed = s.t;
		while (!s.l.up && s.t - healed < 20000 * MS)
			sim_run(&s, 100, 0, s.p.interval_ms * MS);
		assert_true(s.l.up);
		assert_true(s.t - healed <= (s.p.holddown_max_ms + 500) * MS);
	}
}

/* The hold-down doubles with each flap (flaps a few seconds apart: 1 s,
 * then about 2, 3.5, 6 s as the count decays meanwhile), is capped at 8 s,
 * the link is up that long after its first reply, and a link that then
 * stays stable decays back to the first hold-down. */
static void holddown_doubles_and_decays(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t took, hold, prev = 0;

	(void)state;
	sim_run(&s, 30, 0, 2000 * MS);
	assert_true(s.l.up);
	for (unsigned i = 0; i < 7; i++) {
		sim_cut(&s, 1000 * MS);
		assert_false(s.l.up);
		sim_run(&s, 30, 0, 2 * s.p.interval_ms * MS); /* its first reply */
		assert_true(link_held_down(&s.l));
		hold = link_holddown_ms(&s.l, &s.p);
		took = sim_time_to_up(&s, 30) + 2 * s.p.interval_ms * MS;
		print_message("  flap %u: hold-down %" PRIu64 " ms, up %" PRIu64 " ms after its first reply\n",
			      i + 1, hold, (uint64_t)(took / MS));
		if (i == 0)
			assert_int_equal(hold, s.p.holddown_ms);
		else
			assert_true(hold >= prev * 13 / 10 || hold == s.p.holddown_max_ms);
		assert_true(hold <= s.p.holddown_max_ms);
		assert_true(took <= hold * MS + 2 * s.p.interval_ms * MS);
		assert_true(took >= hold * MS);
		prev = hold;
	}
	assert_int_equal(prev, s.p.holddown_max_ms);
	/* Stable for 5 half-lives: the count is down to 1/32 of what it was. */
	sim_run(&s, 30, 0, 5ULL * s.p.flap_halflife_ms * MS);
	assert_true(s.l.flaps < 0.3);
	sim_cut(&s, 1000 * MS);
	hold = link_holddown_ms(&s.l, &s.p);
	print_message("  after 5 half-lives stable: hold-down %" PRIu64 " ms\n", hold);
	assert_true(hold <= s.p.holddown_ms * 12 / 10);
	took = sim_time_to_up(&s, 30);
	assert_true(took <= hold * MS + 2 * s.p.interval_ms * MS);
	assert_int_equal(s.l.changes_total, 1 + 2 * 8);
}

/* A silence that was this gateway's (meshd saw every link silent at once):
 * no flap counted, up again at the first reply; a link already held down
 * for its own flaps still serves its hold-down. */
static void local_stall_is_not_a_flap(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t took;
	double before;

	(void)state;
	sim_run(&s, 30, 0, 2000 * MS);
	sim_cut(&s, 400 * MS);
	assert_false(s.l.up);
	link_not_a_flap(&s.l);
	link_not_a_flap(&s.l); /* once per silence */
	assert_true(s.l.flaps < 0.01);
	took = sim_time_to_up(&s, 30);
	assert_true(took <= s.p.interval_ms * MS);
	/* Its own flap, then a stall while held down: the hold-down stays. */
	sim_cut(&s, 400 * MS);
	sim_run(&s, 30, 0, 200 * MS);
	assert_true(link_held_down(&s.l));
	sim_cut(&s, 400 * MS);
	link_not_a_flap(&s.l);
	took = sim_time_to_up(&s, 30);
	assert_true(took >= s.p.holddown_ms * MS);
	/* Nothing to forgive on a link that answers. */
	before = s.l.flaps;
	link_not_a_flap(&s.l);
	assert_true(s.l.flaps == before);
}

/* A cut is still found within the detection time (250 ms, under 300 ms),
 * also after flaps, when the hold-down has grown. */
static void cut_found_in_detect_time(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t step = s.p.interval_ms * MS, cut;

	(void)state;
	for (int round = 0; round < 3; round++) {
		sim_run(&s, 30, 0, 12000 * MS);
		assert_true(s.l.up);
		cut = s.t;
		s.nin = 0;
		while (s.l.up && s.t - cut < 1000 * MS) {
			s.sent++;
			link_feed(&s.l, &s.p, s.sent, s.received, (int64_t)((s.t - s.last_reply) / MS), NULL, 0,
				  s.t);
			s.t += step;
		}
		assert_false(s.l.up);
		print_message("  cut %d: down after %" PRIu64 " ms\n", round + 1, (uint64_t)((s.l.changed_ns - cut) / MS));
		assert_true(s.l.changed_ns - cut < 300 * MS);
		sim_cut(&s, 500 * MS);
	}
}

/* A link's set-up: 200 ms RTT, its first 8 probes never answered (the far
 * end had no session yet), then every one. Those 8 are not loss: counted,
 * they were 3-4 % over the 10 s window, enough for meshd to prefer a relay
 * 10 ms longer. A probe lost after the first reply still is. */
static void setup_is_not_loss(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };

	(void)state;
	sim_cut(&s, 8 * s.p.interval_ms * MS);
	assert_false(s.l.ever_up);
	sim_run(&s, 200, 0, 2000 * MS);
	assert_true(s.l.up);
	assert_true(link_loss(&s.l, &s.p) == 0);
	assert_true(s.l.excused >= 8 && s.l.excused <= 9);
	sim_run(&s, 200, 40, 8000 * MS);
	/* 1 in 40 lost over the last 8 s of the 10 s window */
	assert_true(link_loss(&s.l, &s.p) > 0.01);
}

/* A short outage (1.5 s, past the 1 s from which a silence is down-time) on
 * a link with 25 % loss: the loss history from before it stays (it used to
 * start again from nothing), and the outage's own probes are not loss. */
static void short_outage_keeps_loss_history(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	double before, after;

	(void)state;
	sim_run(&s, 40, 4, 12000 * MS);
	before = link_loss(&s.l, &s.p);
	assert_true(fabs(before - 0.25) < 0.03);
	sim_cut(&s, 1500 * MS);
	assert_false(s.l.up);
	assert_true(link_loss(&s.l, &s.p) > before + 0.05); /* the silence shows meanwhile */
	sim_run(&s, 40, 4, 300 * MS);
	assert_true(s.l.answering);
	after = link_loss(&s.l, &s.p);
	print_message("  loss %.3f before a 1.5 s outage, %.3f after; %" PRIu64 " probes excused\n", before,
		      after, s.l.excused);
	assert_true(fabs(after - 0.25) < 0.04);
	assert_true(s.l.excused >= 25 && s.l.excused <= 35);
}

/* Loss starting on a clean link is costed within 0.7 s (the short window),
 * where the 10 s window alone would show 2-3 %; a clean link with a lost
 * probe now and then, or one with steady 5 % loss each way, is not made
 * lossier than it is. */
static void loss_onset_is_fast(void **state)
{
	struct sim s = { .p = params(), .t = 1000 * MS };
	uint64_t rng = 7, onset, s0, r0;
	double worst = 0, sum = 0, real;
	unsigned nsum = 0;

	(void)state;
	sim_run(&s, 200, 0, 12000 * MS);
	sim_run(&s, 200, 200, 10000 * MS); /* one probe in 200 lost */
	assert_true(link_loss(&s.l, &s.p) < 0.02);
	sim_run(&s, 200, 0, 12000 * MS);
	onset = s.t;
	while (link_loss(&s.l, &s.p) < 0.1 && s.t - onset < 3000 * MS)
		sim_random(&s, 200, 0.3, s.p.interval_ms * MS, &rng);
	print_message("  30 %% each way: loss figure over 10 %% %" PRIu64 " ms after the onset\n",
		      (uint64_t)((s.t - onset) / MS));
	assert_true(s.t - onset <= 700 * MS);
	/* Steady 5 % each way (9.75 % of probes) for 100 s: the figure's mean
	 * is the loss the probes really had, not more. */
	sim_random(&s, 200, 0.05, 10000 * MS, &rng);
	s0 = s.sent;
	r0 = s.received;
	for (int i = 0; i < 2000; i++) {
		double x;

		sim_random(&s, 200, 0.05, s.p.interval_ms * MS, &rng);
		x = link_loss(&s.l, &s.p);
		worst = x > worst ? x : worst;
		sum += x;
		nsum++;
	}
	real = 1 - (double)(s.received - r0) / (double)(s.sent - s0);
	print_message("  5 %% each way: %.3f of probes lost, mean loss figure %.3f, worst %.3f\n", real,
		      sum / nsum, worst);
	assert_true(fabs(sum / nsum - real) < 0.015);
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
		cmocka_unit_test(seed_after_stall),
		cmocka_unit_test(no_samples),
		cmocka_unit_test(percentiles),
		cmocka_unit_test(window_wraps),
		cmocka_unit_test(percentiles_match_sort),
		cmocka_unit_test(jitter),
		cmocka_unit_test(loss_window),
		cmocka_unit_test(loss_short),
		cmocka_unit_test(down_after_missed_probes),
		cmocka_unit_test(lossy_blips_stay_loss),
		cmocka_unit_test(first_up_at_first_reply),
		cmocka_unit_test(flapping_is_damped),
		cmocka_unit_test(holddown_doubles_and_decays),
		cmocka_unit_test(cut_found_in_detect_time),
		cmocka_unit_test(local_stall_is_not_a_flap),
		cmocka_unit_test(setup_is_not_loss),
		cmocka_unit_test(short_outage_keeps_loss_history),
		cmocka_unit_test(loss_onset_is_fast),
		cmocka_unit_test(counters_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
