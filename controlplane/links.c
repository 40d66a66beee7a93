// SPDX-License-Identifier: MIT
/* Link statistics from probe results (links.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "links.h"

#define NS_PER_MS 1000000ULL

void link_params_default(struct link_params *p)
{
	p->interval_ms = 50;
	p->detect_mult = 5;
	p->ewma_alpha = 0.2;
	p->loss_window_ms = 10000;
	p->fast_window_ms = 1000;
	p->holddown_ms = 1000;
	p->holddown_max_ms = 8000;
	p->flap_halflife_ms = 30000;
	p->holddown_max_loss = 0.2;
}

/* The first of sorted_us[0..n) not below us (with upper: above us). */
static unsigned sorted_bound(const uint32_t *sorted, unsigned n, uint32_t us, bool upper)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (sorted[mid] < us || (upper && sorted[mid] == us))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The sample leaving the ring (if full) out of the sorted copy, the new one
 * in: two short moves instead of a sort per read. */
static void keep_sorted(struct link_stats *l, uint32_t us)
{
	uint32_t *s = l->sorted_us;
	unsigned n = l->nwindow, k;

	if (n == LINK_WINDOW) {
		k = sorted_bound(s, n, l->window_us[l->pos], false);
		memmove(&s[k], &s[k + 1], (n - k - 1) * sizeof(*s));
		n--;
	}
	k = sorted_bound(s, n, us, true);
	memmove(&s[k + 1], &s[k], (n - k) * sizeof(*s));
	s[k] = us;
}

static void add_rtt(struct link_stats *l, const struct link_params *p, uint32_t us)
{
	double ms = us / 1000.0;

	if (!l->have_rtt) {
		l->rtt_ms = ms;
		l->have_rtt = true;
	} else {
		/* RFC 3550: J += (|D| - J) / 16, D the change between samples */
		double d = ms - l->last_ms;

		if (l->nwindow < LINK_SEED_SAMPLES)
			l->rtt_ms = ms < l->rtt_ms ? ms : l->rtt_ms; /* the seed: the least */
		else
			l->rtt_ms += p->ewma_alpha * (ms - l->rtt_ms);
		l->jitter_ms += ((d < 0 ? -d : d) - l->jitter_ms) / 16.0;
	}
	l->last_ms = ms;
	keep_sorted(l, us);
	l->window_us[l->pos] = us;
	l->pos = (l->pos + 1) % LINK_WINDOW;
	if (l->nwindow < LINK_WINDOW)
		l->nwindow++;
}

static const struct link_counts *snap_at(const struct link_stats *l, unsigned age)
{
	return &l->snap[(l->snap_pos + LINK_LOSS_SLOTS - 1 - age) % LINK_LOSS_SLOTS];
}

/* Snapshots are kept a fraction of the window apart, so the ring covers the
 * whole window whatever the probe interval. */
static void keep_counts(struct link_stats *l, const struct link_params *p)
{
	uint64_t spacing = (uint64_t)p->loss_window_ms * NS_PER_MS / (LINK_LOSS_SLOTS - 2);

	if (l->nsnap && l->now.at_ns - snap_at(l, 0)->at_ns < spacing)
		return;
	l->snap[l->snap_pos] = l->now;
	l->snap_pos = (l->snap_pos + 1) % LINK_LOSS_SLOTS;
	if (l->nsnap < LINK_LOSS_SLOTS)
		l->nsnap++;
}

/* A counter at time t, interpolated between the snapshots around it (and the
 * last feed); before the oldest snapshot, the oldest. The snapshots are in
 * time order, so the first one at or before t is found by bisection: every
 * link's loss is read every pass, over a window reaching the oldest. */
static double counter_at(const struct link_stats *l, uint64_t t, bool sent)
{
	const struct link_counts *newer, *older;
	unsigned lo = 0, hi = l->nsnap;
	double a, b;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (snap_at(l, mid)->at_ns > t)
			lo = mid + 1;
		else
			hi = mid;
	}
	newer = lo ? snap_at(l, lo - 1) : &l->now;
	if (lo == l->nsnap)
		return (double)(sent ? newer->sent : newer->received);
	older = snap_at(l, lo);
	a = (double)(sent ? older->sent : older->received);
	b = (double)(sent ? newer->sent : newer->received);
	if (newer->at_ns == older->at_ns)
		return b;
	return a + (b - a) * (double)(t - older->at_ns) / (double)(newer->at_ns - older->at_ns);
}

/* How long a reply may take before its probe counts as lost: one RTT, half
 * an interval, and twice the jitter (a late reply is not a lost one). */
static uint64_t reply_lag_ns(const struct link_stats *l, const struct link_params *p)
{
	double ms = l->have_rtt ? l->rtt_ms + 2 * l->jitter_ms : 0;

	return (uint64_t)(ms * NS_PER_MS) + p->interval_ms * NS_PER_MS / 2;
}

/* Replies received over the span up to the last feed against probes sent
 * over the same span one lag earlier: a probe still in flight is not lost
 * yet. *nsent: the probes judged. Spans older than the history are cut. */
static double loss_over(const struct link_stats *l, const struct link_params *p, uint64_t span_ns,
			double *nsent)
{
	uint64_t lag = reply_lag_ns(l, p), start;
	double sent, got, loss;

	*nsent = 0;
	if (!l->nsnap)
		return 0;
	start = l->now.at_ns > span_ns ? l->now.at_ns - span_ns : 0;
	if (start < snap_at(l, l->nsnap - 1)->at_ns + lag)
		start = snap_at(l, l->nsnap - 1)->at_ns + lag;
	if (start >= l->now.at_ns)
		return l->answering ? 0 : 1;
	sent = counter_at(l, l->now.at_ns - lag, true) - counter_at(l, start - lag, true);
	got = (double)l->now.received - counter_at(l, start, false);
	if (sent < 1)
		return l->answering ? 0 : 1;
	*nsent = sent;
	loss = 1.0 - got / sent;
	return loss < 0 ? 0 : loss > 1 ? 1 : loss;
}

double link_loss(const struct link_stats *l, const struct link_params *p)
{
	double n, nfast, loss = loss_over(l, p, (uint64_t)p->loss_window_ms * NS_PER_MS, &n);
	double fast = loss_over(l, p, (uint64_t)p->fast_window_ms * NS_PER_MS, &nfast);
	/* The short window's figure if it is more than 3 standard deviations
	 * (binomial, over its probes) above the long one's; the long figure is
	 * taken as 2 % at least, so one or two probes lost on a clean link move
	 * nothing (3 of 20 do). */
	double base = loss > 0.02 ? loss : 0.02, d = fast - base;

	if (nfast >= 1 && d > 0 && d * d > 9 * base * (1 - base) / nfast)
		return fast;
	return loss;
}

/* The flap count, halved every half-life since it was last brought up to
 * date. */
static void decay_flaps(struct link_stats *l, const struct link_params *p, uint64_t now_ns)
{
	if (now_ns > l->flaps_at_ns && l->flaps > 0)
		l->flaps *= exp2(-(double)(now_ns - l->flaps_at_ns) / ((double)p->flap_halflife_ms * NS_PER_MS));
	if (l->flaps < 1e-6)
		l->flaps = 0;
	l->flaps_at_ns = now_ns;
}

/* holddown_ms x 2^(flaps - 1), from 1 flap on, capped. */
static uint64_t holddown_for(const struct link_stats *l, const struct link_params *p)
{
	double h = (double)p->holddown_ms * (l->flaps > 1 ? exp2(l->flaps - 1) : 1);
	uint64_t cap = p->holddown_max_ms > p->holddown_ms ? p->holddown_max_ms : p->holddown_ms;

	return h > (double)cap ? cap : (uint64_t)h;
}

/* While held down, the hold-down set when it answered again (or lengthened
 * since); otherwise the one a flap now would bring. */
uint64_t link_holddown_ms(const struct link_stats *l, const struct link_params *p)
{
	return link_held_down(l) && l->ever_up ? l->hold_ms : holddown_for(l, p);
}

/* An outage over: the probes sent from one lag before its last reply to one
 * lag before its first reply again were lost to down-time. Take them out of
 * every count from then on; what came before stays as it was. */
static void excuse_outage(struct link_stats *l, const struct link_params *p, uint64_t last_reply_ns,
			  uint64_t first_reply_ns)
{
	uint64_t lag = reply_lag_ns(l, p), from, to, base, e;

	from = last_reply_ns > lag ? last_reply_ns - lag : 0;
	to = first_reply_ns > lag ? first_reply_ns - lag : 0;
	if (to <= from || !l->nsnap)
		return;
	base = (uint64_t)(counter_at(l, from, true) + 0.5);
	e = (uint64_t)(counter_at(l, to, true) + 0.5);
	if (e <= base)
		return;
	e -= base;
	for (unsigned age = 0; age <= l->nsnap; age++) {
		struct link_counts *c = age < l->nsnap
			? &l->snap[(l->snap_pos + LINK_LOSS_SLOTS - 1 - age) % LINK_LOSS_SLOTS] : &l->now;
		uint64_t over = c->sent > base ? c->sent - base : 0;

		if (c->at_ns > from)
			c->sent -= over < e ? over : e;
	}
	l->excused += e;
}

/* The loss allowed over a hold-down is judged over 2 s at least: over 1 s
 * (20 probes) a link at 51 % loss passes for 20 % now and then. */
#define HOLDDOWN_LOSS_SPAN_MIN_NS (2000 * NS_PER_MS)

void link_not_a_flap(struct link_stats *l)
{
	if (l->answering || l->forgiven || !l->flaps_total)
		return;
	l->forgiven = true;
	l->flaps = l->flaps > 1 ? l->flaps - 1 : 0;
}

/* Up after a down: answering for the whole hold-down, and little loss over
 * it (outages excused), judged at every feed. The first up needs neither.
 * Each hold-down's worth of answering with too much loss counts as a flap:
 * a link that answers but loses too much sees its hold-down grow too. */
static bool may_come_up(struct link_stats *l, const struct link_params *p, uint64_t now_ns)
{
	uint64_t hold = l->hold_ms * NS_PER_MS;
	double n;

	if (!l->ever_up || !p->holddown_ms || (l->forgiven && l->down_from_up))
		return true;
	if (now_ns - l->good_since_ns < hold)
		return false;
	if (loss_over(l, p, hold > HOLDDOWN_LOSS_SPAN_MIN_NS ? hold : HOLDDOWN_LOSS_SPAN_MIN_NS, &n) <=
	    p->holddown_max_loss)
		return true;
	if (now_ns - l->judged_ns >= hold) {
		l->flaps += 1;
		l->judged_ns = now_ns;
		l->hold_ms = holddown_for(l, p);
	}
	return false;
}

bool link_feed(struct link_stats *l, const struct link_params *p, uint64_t sent, uint64_t received,
	       int64_t since_reply_ms, const uint32_t *rtt_us, unsigned n, uint64_t now_ns)
{
	uint64_t silent_ms = (uint64_t)p->detect_mult * p->interval_ms;
	uint64_t reply_ns = since_reply_ms >= 0 && (uint64_t)since_reply_ms * NS_PER_MS <= now_ns
		? now_ns - (uint64_t)since_reply_ms * NS_PER_MS : 0;
	bool was = l->up, answering = since_reply_ms >= 0 && (uint64_t)since_reply_ms <= silent_ms;

	for (unsigned i = 0; rtt_us && i < n; i++)
		add_rtt(l, p, rtt_us[i]);
	/* Counters that went back (the gateway restarted) or a clock that did:
	 * the loss history no longer compares, start it again. */
	if (sent < l->raw_sent || received < l->raw_received || now_ns < l->now.at_ns) {
		l->nsnap = l->snap_pos = 0;
		l->excused = 0;
	}
	l->raw_sent = sent;
	l->raw_received = received;
	l->now = (struct link_counts){ .at_ns = now_ns, .sent = sent - (l->excused < sent ? l->excused : sent),
				       .received = received };
	keep_counts(l, p);
	decay_flaps(l, p, now_ns);
	if (l->answering && !answering) {
		l->flaps += 1;
		l->flaps_total++;
		l->silent_since_ns = reply_ns;
		l->down_from_up = l->up;
		l->forgiven = false;
	} else if (!l->answering && answering) {
		/* A gap of a few probes on a lossy link is loss, and stays
		 * counted; a longer silence was down-time, already acted on.
		 * Before the first reply the link was being set up (the far
		 * end's session and neighbour entry, an RTT each): counted,
		 * those probes read as 2-4 % of loss on a 200 ms link for the
		 * whole loss window, and meshd would route around a sound
		 * link from its start. */
		if (!l->ever_up)
			excuse_outage(l, p, 0, reply_ns);
		else if (reply_ns - l->silent_since_ns >= 4 * silent_ms * NS_PER_MS)
			excuse_outage(l, p, l->silent_since_ns, reply_ns);
		l->good_since_ns = l->judged_ns = now_ns;
		l->hold_ms = holddown_for(l, p);
	}
	l->answering = answering;
	if (l->up && !answering)
		l->up = false;
	else if (!l->up && answering && may_come_up(l, p, now_ns))
		l->up = true;
	if (l->up == was)
		return false;
	l->ever_up |= l->up;
	l->changed_ns = now_ns;
	l->changes_total++;
	return true;
}

/* Nearest rank over the samples kept. */
double link_percentile_ms(const struct link_stats *l, double q)
{
	unsigned k;

	if (!l->nwindow)
		return 0;
	if (!(q >= 0))
		q = 0;
	if (q > 1)
		q = 1;
	k = (unsigned)(q * (l->nwindow - 1) + 0.5);
	return l->sorted_us[k] / 1000.0;
}
