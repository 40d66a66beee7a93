// SPDX-License-Identifier: MIT
/* Link statistics from probe results (links.h). */
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

		l->rtt_ms += p->ewma_alpha * (ms - l->rtt_ms);
		l->jitter_ms += ((d < 0 ? -d : d) - l->jitter_ms) / 16.0;
	}
	l->last_ms = ms;
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

bool link_feed(struct link_stats *l, const struct link_params *p, uint64_t sent, uint64_t received,
	       int64_t since_reply_ms, const uint32_t *rtt_us, unsigned n, uint64_t now_ns)
{
	uint64_t silent_ms = (uint64_t)p->detect_mult * p->interval_ms;
	uint64_t down_since = l->changed_ns;
	bool was = l->up;

	for (unsigned i = 0; rtt_us && i < n; i++)
		add_rtt(l, p, rtt_us[i]);
	/* Counters that went back (the gateway restarted) or a clock that did:
	 * the loss history no longer compares, start it again. */
	if (sent < l->now.sent || received < l->now.received || now_ns < l->now.at_ns)
		l->nsnap = l->snap_pos = 0;
	l->now = (struct link_counts){ .at_ns = now_ns, .sent = sent, .received = received };
	keep_counts(l, p);
	l->up = since_reply_ms >= 0 && (uint64_t)since_reply_ms <= silent_ms;
	if (l->up != was)
		l->changed_ns = now_ns;
	/* Back up after an outage: that was down-time, already acted on, not
	 * loss to hold against the link for a whole window more. A gap of a
	 * few probes on a lossy link is loss, and must stay counted. */
	if (l->up && !was && now_ns - down_since >= 4 * silent_ms * NS_PER_MS) {
		l->nsnap = l->snap_pos = 0;
		keep_counts(l, p);
	}
	return l->up != was;
}

/* A counter at time t, interpolated between the snapshots around it (and the
 * last feed); before the oldest snapshot, the oldest. */
static double counter_at(const struct link_stats *l, uint64_t t, bool sent)
{
	const struct link_counts *newer = &l->now;

	for (unsigned age = 0; age < l->nsnap; age++) {
		const struct link_counts *older = snap_at(l, age);
		double a, b;

		if (older->at_ns > t) {
			newer = older;
			continue;
		}
		a = (double)(sent ? older->sent : older->received);
		b = (double)(sent ? newer->sent : newer->received);
		if (newer->at_ns == older->at_ns)
			return b;
		return a + (b - a) * (double)(t - older->at_ns) / (double)(newer->at_ns - older->at_ns);
	}
	return (double)(sent ? newer->sent : newer->received);
}

/* Replies received over the window against probes sent over the same span
 * one RTT earlier: a probe still in flight is not lost yet. */
double link_loss(const struct link_stats *l, const struct link_params *p)
{
	uint64_t lag, start, window = (uint64_t)p->loss_window_ms * NS_PER_MS;
	double sent, got, loss;

	if (!l->nsnap)
		return 0;
	lag = (uint64_t)((l->have_rtt ? l->rtt_ms : 0) * NS_PER_MS) + p->interval_ms * NS_PER_MS / 2;
	start = l->now.at_ns > window ? l->now.at_ns - window : 0;
	if (start < snap_at(l, l->nsnap - 1)->at_ns + lag)
		start = snap_at(l, l->nsnap - 1)->at_ns + lag;
	if (start >= l->now.at_ns)
		return l->up ? 0 : 1;
	sent = counter_at(l, l->now.at_ns - lag, true) - counter_at(l, start - lag, true);
	got = (double)l->now.received - counter_at(l, start, false);
	if (sent < 1)
		return l->up ? 0 : 1;
	loss = 1.0 - got / sent;
	return loss < 0 ? 0 : loss > 1 ? 1 : loss;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank over the samples kept. */
double link_percentile_ms(const struct link_stats *l, double q)
{
	uint32_t sorted[LINK_WINDOW];
	unsigned k;

	if (!l->nwindow)
		return 0;
	if (!(q >= 0))
		q = 0;
	if (q > 1)
		q = 1;
	memcpy(sorted, l->window_us, l->nwindow * sizeof(sorted[0]));
	qsort(sorted, l->nwindow, sizeof(sorted[0]), cmp_u32);
	k = (unsigned)(q * (l->nwindow - 1) + 0.5);
	return sorted[k] / 1000.0;
}
