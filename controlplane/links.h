/* SPDX-License-Identifier: MIT */
/*
 * Link statistics from probe results, one struct per link; pure (time is a
 * parameter, no I/O, no allocation). RTT as an EWMA and percentiles over the
 * last samples, loss over a sliding window of probes, jitter as RFC 3550
 * computes it, and up/down in the manner of BFD: down after detect_mult probe
 * intervals without a reply, up again at the first reply.
 */
#ifndef HOPMESH_LINKS_H
#define HOPMESH_LINKS_H

#include <stdbool.h>
#include <stdint.h>

#define LINK_WINDOW 128     /* RTT samples kept for percentiles */
#define LINK_LOSS_SLOTS 64  /* counter snapshots spread over the loss window */

struct link_params {
	uint32_t interval_ms;   /* probe interval (>= 1) */
	uint32_t detect_mult;   /* silent intervals before down */
	double ewma_alpha;      /* weight of a new RTT sample, (0,1] */
	uint32_t loss_window_ms;
};
void link_params_default(struct link_params *p);

struct link_counts {
	uint64_t at_ns, sent, received;
};

struct link_stats {
	bool up;
	bool have_rtt;
	double rtt_ms;          /* EWMA */
	double jitter_ms;
	double last_ms;
	uint32_t window_us[LINK_WINDOW];
	unsigned nwindow, pos;
	struct link_counts now;                 /* the counters at the last feed */
	struct link_counts snap[LINK_LOSS_SLOTS]; /* older ones, a ring */
	unsigned nsnap, snap_pos;
	uint64_t changed_ns;    /* when up/down last changed */
};

/* One probe dump for this link: the gateway's cumulative counters, the time
 * since the last reply (-1: never), and the RTT samples since the previous
 * dump. Returns true if the link went up or down. */
bool link_feed(struct link_stats *l, const struct link_params *p, uint64_t sent, uint64_t received,
	       int64_t since_reply_ms, const uint32_t *rtt_us, unsigned n, uint64_t now_ns);
/* Loss in [0,1] over the window up to the last feed, counted from when the
 * link last came up: down-time is not loss. */
double link_loss(const struct link_stats *l, const struct link_params *p);
/* q in [0,1]: 0.5 median, 0.9, 0.99. 0 if no sample. */
double link_percentile_ms(const struct link_stats *l, double q);

#endif
