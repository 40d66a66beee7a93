/* SPDX-License-Identifier: MIT */
/*
 * Link statistics from probe results, one struct per link; pure (time is a
 * parameter, no I/O, no allocation). RTT as an EWMA and percentiles over the
 * last samples, loss over a sliding window of probes, jitter as RFC 3550
 * computes it, and up/down with damping. The EWMA starts from the least of
 * a link's first LINK_SEED_SAMPLES samples (the estimate is that least until
 * then): probes in flight while this gateway stalled come back late all at
 * once, and a first sample among them would start the estimate high, and
 * the router's margins would keep a path chosen on it.
 *
 *   - answering (the BFD-like detection): replies within detect_mult probe
 *     intervals. Losing it is a flap;
 *   - up (what meshd routes on, publishes and shows): down at once when the
 *     link stops answering; up at its first reply the first time; after a
 *     down, only once it has answered for a hold-down with probe loss under
 *     holddown_max_loss over it (over 2 s at least). The hold-down, set
 *     when the link answers again, doubles with each flap (holddown_ms x
 *     2^(flaps - 1), at most holddown_max_ms) and the flap count halves
 *     every flap_halflife_ms, so a link that flaps stays down and one that
 *     is stable gets the short hold-down back. A hold-down's worth of
 *     answering with too much loss adds a flap (and lengthens it) too.
 *
 * The loss figure is the loss over loss_window_ms, or over the last
 * fast_window_ms when that is clearly higher (3 standard deviations above
 * what the long figure predicts for that many probes): a link that starts
 * losing is costed at once, a steadily lossy one not by its noise. Probes
 * sent during an outage (a silence of at least 4 x the detection time) are
 * down-time, not loss: when the link answers again they are taken out of
 * the counts, and the loss history from before the outage stays.
 */
#ifndef HOPMESH_LINKS_H
#define HOPMESH_LINKS_H

#include <stdbool.h>
#include <stdint.h>

#define LINK_WINDOW 128     /* RTT samples kept for percentiles */
/* More than the probes in flight on a link of 250 ms at the default 50 ms
 * interval, so that one sample at least was sent after a stall. */
#define LINK_SEED_SAMPLES 8
#define LINK_LOSS_SLOTS 64  /* counter snapshots spread over the loss window */

struct link_params {
	uint32_t interval_ms;   /* probe interval (>= 1) */
	uint32_t detect_mult;   /* silent intervals before down */
	double ewma_alpha;      /* weight of a new RTT sample, (0,1] */
	uint32_t loss_window_ms;
	uint32_t fast_window_ms; /* the short loss window (< loss_window_ms) */
	uint32_t holddown_ms;   /* hold-down after one flap; 0: up at the first reply */
	uint32_t holddown_max_ms;
	uint32_t flap_halflife_ms; /* >= 1 */
	double holddown_max_loss; /* [0,1]: probe loss allowed over the hold-down */
};
void link_params_default(struct link_params *p);

struct link_counts {
	uint64_t at_ns, sent, received;
};

struct link_stats {
	bool up;                /* damped: what is used */
	bool answering;         /* raw detection */
	bool ever_up;           /* the first up needs no hold-down */
	bool have_rtt;
	double rtt_ms;          /* EWMA */
	double jitter_ms;
	double last_ms;
	uint32_t window_us[LINK_WINDOW]; /* in arrival order, a ring */
	/* The same samples ascending: meshd reads three percentiles of every
	 * link every pass, and a sort per read was most of its idle CPU. */
	uint32_t sorted_us[LINK_WINDOW];
	unsigned nwindow, pos;
	/* Counters with outages' probes taken out (raw_sent - excused). */
	struct link_counts now;                 /* the counters at the last feed */
	struct link_counts snap[LINK_LOSS_SLOTS]; /* older ones, a ring */
	unsigned nsnap, snap_pos;
	uint64_t raw_sent, raw_received, excused;
	uint64_t changed_ns;    /* when up/down last changed */
	uint64_t silent_since_ns; /* the last reply before the link stopped answering */
	uint64_t good_since_ns; /* answering without a break since */
	uint64_t judged_ns;     /* the last flap counted for too much loss */
	uint64_t hold_ms;       /* the hold-down set when it answered again */
	bool down_from_up;      /* the last loss of answering took it down */
	bool forgiven;          /* link_not_a_flap since then */
	double flaps;           /* decaying count... */
	uint64_t flaps_at_ns;   /* ...as of this time */
	uint64_t flaps_total;   /* every loss of answering (not_a_flap too) */
	uint64_t changes_total; /* every change of up */
};

/* One probe dump for this link: the gateway's cumulative counters, the time
 * since the last reply (-1: never), and the RTT samples since the previous
 * dump. Returns true if the link went up or down (the damped state). */
bool link_feed(struct link_stats *l, const struct link_params *p, uint64_t sent, uint64_t received,
	       int64_t since_reply_ms, const uint32_t *rtt_us, unsigned n, uint64_t now_ns);
/* The link's last loss of answering was not its own doing: this gateway
 * went silent on every link at once (it stalled, or its own uplink went).
 * It counts as no flap, and a link it took down comes back up at its first
 * reply, with no hold-down. Once per loss of answering; nothing if the
 * link answers. */
void link_not_a_flap(struct link_stats *l);
/* Loss in [0,1] up to the last feed (above); outages are not loss. */
double link_loss(const struct link_stats *l, const struct link_params *p);
/* The hold-down a link that went down must answer for now, in ms. */
uint64_t link_holddown_ms(const struct link_stats *l, const struct link_params *p);
/* Answering but not up: held down by damping. */
static inline bool link_held_down(const struct link_stats *l)
{
	return l->answering && !l->up;
}
/* The RTT estimate has had its LINK_SEED_SAMPLES (above). */
static inline bool link_rtt_seeded(const struct link_stats *l)
{
	return l->have_rtt && l->nwindow >= LINK_SEED_SAMPLES;
}
/* q in [0,1]: 0.5 median, 0.9, 0.99. 0 if no sample. */
double link_percentile_ms(const struct link_stats *l, double q);

#endif
