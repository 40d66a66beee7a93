// SPDX-License-Identifier: MIT
/*
 * wanem_model: one ordered pair of the WAN emulator's ports (wanem_model.h).
 *
 * wanem_pair_admit() takes a frame arrived at t through four stages:
 *
 *   1. down: dropped (dropped_down). Frames already waiting when a pair goes
 *      down are dropped by wanem_pair_departs() when due, so a down link
 *      passes nothing.
 *   2. loss: dropped with probability `loss` (dropped_loss), one draw.
 *   3. rate: a token bucket of `rate` bits per second and `burst` bytes, FIFO.
 *      The frame's exit time from the bucket is computed on arrival; if
 *      `queue` frames are already waiting for the bucket, it is dropped
 *      (dropped_queue).
 *   4. delay and jitter: due = bucket exit + delay + uniform(-jitter, +jitter),
 *      one draw. Without `reorder` a frame is never due before the frame ahead
 *      of it on the pair (as on a real path, where jitter comes from queues);
 *      while the settings stay, exits never go back, so this keeps due - exit
 *      within delay + jitter. (A rate lowered or turned off while frames wait
 *      for the bucket holds the next frames behind those: longer delays.)
 *      A change of delay or jitter holds from the next frame on, even if it
 *      overtakes frames queued under the old setting (as after a route change).
 *
 * The draws come from p->rand only, the time from the arguments only.
 */
#include "wanem_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const wanem_late_names[WANEM_LATE_BUCKETS] = {"lt10us", "lt50us", "lt100us",
							  "lt250us", "lt500us", "lt1ms", "ge1ms"};
const uint64_t wanem_late_bounds_ns[WANEM_LATE_BUCKETS - 1] = {
	10 * WANEM_NS_PER_US,  50 * WANEM_NS_PER_US,  100 * WANEM_NS_PER_US,
	250 * WANEM_NS_PER_US, 500 * WANEM_NS_PER_US, WANEM_NS_PER_MS};

/* ---- random numbers ---- */

uint64_t wanem_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void wanem_xoshiro_seed(struct wanem_xoshiro *x, uint64_t seed, uint64_t stream)
{
	uint64_t v = seed ^ (stream * 0xd1b54a32d192ed03ull);

	for (int i = 0; i < 4; i++)
		x->s[i] = wanem_splitmix64(&v);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t wanem_xoshiro_next(struct wanem_xoshiro *x)
{
	uint64_t *s = x->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double wanem_xoshiro_unit(void *xoshiro)
{
	return (double)(wanem_xoshiro_next(xoshiro) >> 11) * 0x1.0p-53;
}

/* ---- settings ---- */

void wanem_cfg_default(struct wanem_cfg *c)
{
	*c = (struct wanem_cfg){.up = true, .queue = WANEM_DEFAULT_QUEUE};
}

uint32_t wanem_cfg_burst(const struct wanem_cfg *c)
{
	uint64_t b;

	if (c->burst)
		return c->burst;
	b = c->rate_bps / 8 / 1000;
	return b < 3028 ? 3028 : b > (1u << 30) ? 1u << 30 : (uint32_t)b;
}

void wanem_pair_init(struct wanem_pair *p, uint64_t seed, uint64_t stream)
{
	*p = (struct wanem_pair){0};
	wanem_cfg_default(&p->cfg);
	wanem_pair_reseed(p, seed, stream);
	p->rand = (struct wanem_rand){wanem_xoshiro_unit, &p->xoshiro};
	wanem_pair_clear(p);
}

void wanem_pair_reseed(struct wanem_pair *p, uint64_t seed, uint64_t stream)
{
	wanem_xoshiro_seed(&p->xoshiro, seed, stream);
}

void wanem_pair_free(struct wanem_pair *p)
{
	free(p->ring);
	p->ring = NULL;
	p->ring_cap = p->ring_len = p->ring_head = 0;
}

void wanem_pair_set(struct wanem_pair *p, const struct wanem_cfg *c, unsigned mask)
{
	if (mask & WANEM_SET_UP)
		p->cfg.up = c->up;
	if (mask & WANEM_SET_DELAY)
		p->cfg.delay_ns = c->delay_ns;
	if (mask & WANEM_SET_JITTER)
		p->cfg.jitter_ns = c->jitter_ns;
	if (mask & (WANEM_SET_DELAY | WANEM_SET_JITTER))
		p->last_due = 0;
	if (mask & WANEM_SET_LOSS)
		p->cfg.loss = c->loss;
	if (mask & WANEM_SET_RATE) {
		if (!p->cfg.rate_bps && c->rate_bps) /* a fresh bucket starts full */
			p->tb_bits = 1e18;
		p->cfg.rate_bps = c->rate_bps;
	}
	if (mask & WANEM_SET_QUEUE)
		p->cfg.queue = c->queue;
	if (mask & WANEM_SET_BURST)
		p->cfg.burst = c->burst;
	if (mask & WANEM_SET_REORDER)
		p->cfg.reorder = c->reorder;
}

void wanem_pair_clear(struct wanem_pair *p)
{
	p->forwarded = p->forwarded_bytes = 0;
	p->dropped_loss = p->dropped_down = p->dropped_queue = 0;
	p->timing = (struct wanem_timing){.delay_min_ns = UINT64_MAX};
}

/* ---- the token bucket's queue ---- */

/* Frames waiting for the bucket at `now`. */
static uint32_t bucket_backlog(struct wanem_pair *p, uint64_t now)
{
	while (p->ring_len && p->ring[p->ring_head] <= now) {
		p->ring_head = (p->ring_head + 1) % p->ring_cap;
		p->ring_len--;
	}
	return p->ring_len;
}

static bool ring_add(struct wanem_pair *p, uint64_t t)
{
	if (p->ring_len == p->ring_cap) {
		uint32_t cap = p->ring_cap ? p->ring_cap * 2 : 64;
		uint64_t *r = malloc(cap * sizeof(*r));

		if (!r)
			return false;
		for (uint32_t i = 0; i < p->ring_len; i++)
			r[i] = p->ring[(p->ring_head + i) % p->ring_cap];
		free(p->ring);
		p->ring = r;
		p->ring_cap = cap;
		p->ring_head = 0;
	}
	p->ring[(p->ring_head + p->ring_len) % p->ring_cap] = t;
	p->ring_len++;
	return true;
}

/* Stage 3: the exit time from the bucket, or false if the queue is full. */
static bool bucket_exit(struct wanem_pair *p, uint32_t len, uint64_t t, uint64_t now,
			uint64_t *exit)
{
	const struct wanem_cfg *c = &p->cfg;
	double bits = (double)len * 8, cap = (double)wanem_cfg_burst(c) * 8, tokens;
	uint64_t start;

	if (bucket_backlog(p, now) >= c->queue)
		return false;
	start = t > p->tb_time ? t : p->tb_time;
	tokens = p->tb_bits + (double)(start - p->tb_time) * (double)c->rate_bps / 1e9;
	if (tokens > cap)
		tokens = cap;
	if (tokens >= bits) {
		*exit = start;
		tokens -= bits;
	} else {
		*exit = start + (uint64_t)ceil((bits - tokens) * 1e9 / (double)c->rate_bps);
		tokens = 0;
	}
	if (*exit > now && !ring_add(p, *exit))
		return false;
	p->tb_bits = tokens;
	p->tb_time = *exit;
	return true;
}

/* Stage 4: exit + delay + uniform(-jitter, +jitter), never before exit. */
static uint64_t delay_due(struct wanem_pair *p, uint64_t exit)
{
	const struct wanem_cfg *c = &p->cfg;
	uint64_t due = exit + c->delay_ns;

	if (c->jitter_ns) {
		double j = (p->rand.unit(p->rand.state) * 2 - 1) * (double)c->jitter_ns;

		if (j < 0 && (uint64_t)-j > c->delay_ns)
			due = exit;
		else
			due = (uint64_t)((int64_t)due + (int64_t)j);
	}
	if (!c->reorder) {
		if (due < p->last_due)
			due = p->last_due;
		p->last_due = due;
	}
	return due;
}

enum wanem_verdict wanem_pair_admit(struct wanem_pair *p, uint32_t len, uint64_t t, uint64_t now,
				    uint64_t *due)
{
	const struct wanem_cfg *c = &p->cfg;
	struct wanem_timing *tm = &p->timing;
	uint64_t exit = t, d;

	if (!c->up) {
		p->dropped_down++;
		return WANEM_DROP_DOWN;
	}
	if (c->loss > 0 && p->rand.unit(p->rand.state) < c->loss) {
		p->dropped_loss++;
		return WANEM_DROP_LOSS;
	}
	if (c->rate_bps && !bucket_exit(p, len, t, now, &exit)) {
		p->dropped_queue++;
		return WANEM_DROP_QUEUE;
	}
	*due = delay_due(p, exit);
	d = *due - exit;
	tm->delay_frames++;
	tm->delay_sum_ns += d;
	if (d < tm->delay_min_ns)
		tm->delay_min_ns = d;
	if (d > tm->delay_max_ns)
		tm->delay_max_ns = d;
	return WANEM_PASS;
}

bool wanem_pair_departs(struct wanem_pair *p)
{
	if (p->cfg.up)
		return true;
	p->dropped_down++;
	return false;
}

void wanem_pair_sent(struct wanem_pair *p, uint32_t len, uint64_t due, uint64_t now)
{
	struct wanem_timing *tm = &p->timing;
	uint64_t late = now > due ? now - due : 0;
	int b = 0;

	p->forwarded++;
	p->forwarded_bytes += len;
	while (b < WANEM_LATE_BUCKETS - 1 && late >= wanem_late_bounds_ns[b])
		b++;
	tm->late_hist[b]++;
	tm->late_frames++;
	tm->late_sum_ns += late;
	if (late > tm->late_max_ns)
		tm->late_max_ns = late;
}

void wanem_timing_add(struct wanem_timing *sum, const struct wanem_timing *t)
{
	sum->delay_frames += t->delay_frames;
	sum->delay_sum_ns += t->delay_sum_ns;
	if (t->delay_min_ns < sum->delay_min_ns)
		sum->delay_min_ns = t->delay_min_ns;
	if (t->delay_max_ns > sum->delay_max_ns)
		sum->delay_max_ns = t->delay_max_ns;
	sum->late_frames += t->late_frames;
	sum->late_sum_ns += t->late_sum_ns;
	if (t->late_max_ns > sum->late_max_ns)
		sum->late_max_ns = t->late_max_ns;
	for (int i = 0; i < WANEM_LATE_BUCKETS; i++)
		sum->late_hist[i] += t->late_hist[i];
}
