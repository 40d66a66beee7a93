/* SPDX-License-Identifier: MIT */
/*
 * wanem_model: what the rig's WAN emulator (wanem.c, docs/RIG.md) does to the
 * frames of one ordered pair of ports, and nothing else: no socket, no clock,
 * no global. Every call is given the time (nanoseconds on one monotonic clock
 * of the caller's choosing), and random draws come from the pair's
 * `struct wanem_rand`, its own seeded xoshiro256** unless the caller puts
 * another source there. So a unit test (tests/unit/test_wanem_model.c) drives
 * it with a made-up clock and made-up draws.
 *
 * The way of one frame on a pair:
 *
 *   wanem_pair_admit()    on arrival: down, loss, token bucket, delay and
 *                         jitter; a drop is counted here, else the due time
 *   (the caller holds the frame until it is due)
 *   wanem_pair_departs()  when due: false (counted) if the pair went down
 *   wanem_pair_sent()     once the caller has sent it: counted, with how late
 *
 * The pair also keeps its own timing record, apart from the host's: the delay
 * its delay stage gave each frame (due minus exit from the token bucket: within
 * delay +- jitter while the settings stay) and how late the caller sent each
 * frame against its due time (the host's share).
 */
#ifndef HOPMESH_WANEM_MODEL_H
#define HOPMESH_WANEM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define WANEM_NS_PER_S 1000000000ull
#define WANEM_NS_PER_MS 1000000ull
#define WANEM_NS_PER_US 1000ull
#define WANEM_DEFAULT_QUEUE 1000

/* A source of uniform numbers in [0, 1). */
struct wanem_rand {
	double (*unit)(void *state);
	void *state;
};

/* xoshiro256**, seeded by splitmix64: the default source. */
struct wanem_xoshiro {
	uint64_t s[4];
};

/* One generator per (seed, stream): pairs seeded alike differ by stream. */
void wanem_xoshiro_seed(struct wanem_xoshiro *x, uint64_t seed, uint64_t stream);
uint64_t wanem_xoshiro_next(struct wanem_xoshiro *x);
/* A struct wanem_rand's `unit` over a struct wanem_xoshiro. */
double wanem_xoshiro_unit(void *xoshiro);
/* splitmix64 on its own, for hashing (the emulator's MAC table). */
uint64_t wanem_splitmix64(uint64_t *x);

struct wanem_cfg {
	bool up;
	bool reorder;
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double loss;	   /* 0..1 */
	uint64_t rate_bps; /* 0: unlimited */
	uint32_t queue;	   /* frames waiting for the token bucket */
	uint32_t burst;	   /* bytes; 0: the default for the rate */
};

/* Which settings of a struct wanem_cfg a change gives. */
enum wanem_setting {
	WANEM_SET_UP = 1 << 0,
	WANEM_SET_DELAY = 1 << 1,
	WANEM_SET_JITTER = 1 << 2,
	WANEM_SET_LOSS = 1 << 3,
	WANEM_SET_RATE = 1 << 4,
	WANEM_SET_QUEUE = 1 << 5,
	WANEM_SET_BURST = 1 << 6,
	WANEM_SET_REORDER = 1 << 7,
};

enum wanem_verdict {
	WANEM_PASS,
	WANEM_DROP_DOWN,
	WANEM_DROP_LOSS,
	WANEM_DROP_QUEUE,
};

/* Lateness histogram buckets: under 10, 50, 100, 250, 500 us, 1 ms, and more. */
#define WANEM_LATE_BUCKETS 7
extern const char *const wanem_late_names[WANEM_LATE_BUCKETS];
extern const uint64_t wanem_late_bounds_ns[WANEM_LATE_BUCKETS - 1];

struct wanem_timing {
	/* the delay stage: due minus exit from the token bucket */
	uint64_t delay_frames, delay_min_ns, delay_max_ns, delay_sum_ns;
	/* the host: time sent minus time due */
	uint64_t late_frames, late_max_ns, late_sum_ns;
	uint64_t late_hist[WANEM_LATE_BUCKETS];
};

struct wanem_pair {
	struct wanem_cfg cfg;
	struct wanem_xoshiro xoshiro;
	struct wanem_rand rand; /* over `xoshiro` after init; may be replaced */
	/* token bucket: bits left at tb_time, the exit time of the last frame */
	double tb_bits;
	uint64_t tb_time;
	/* exit times of frames still waiting for the bucket (FIFO, sorted) */
	uint64_t *ring;
	uint32_t ring_cap, ring_head, ring_len;
	uint64_t last_due; /* for no reordering */
	uint64_t forwarded, forwarded_bytes;
	uint64_t dropped_loss, dropped_down, dropped_queue;
	struct wanem_timing timing;
};

void wanem_cfg_default(struct wanem_cfg *c);
/* The bucket's depth in bytes: `burst`, or a millisecond at the rate (at
 * least two full-size frames). */
uint32_t wanem_cfg_burst(const struct wanem_cfg *c);

/* Defaults (up, no impairment), generator (seed, stream). */
void wanem_pair_init(struct wanem_pair *p, uint64_t seed, uint64_t stream);
/* A new seed for the pair's own generator (`rand` is left as it is). */
void wanem_pair_reseed(struct wanem_pair *p, uint64_t seed, uint64_t stream);
void wanem_pair_free(struct wanem_pair *p);
/* Applies the settings of c that `mask` (enum wanem_setting) names. */
void wanem_pair_set(struct wanem_pair *p, const struct wanem_cfg *c, unsigned mask);
/* Zeroes the counters and the timing record. */
void wanem_pair_clear(struct wanem_pair *p);

/*
 * A frame of `len` bytes that arrived at `t`, seen at `now` (>= t). Returns
 * WANEM_PASS with *due set, or the reason it is dropped (counted).
 */
enum wanem_verdict wanem_pair_admit(struct wanem_pair *p, uint32_t len, uint64_t t, uint64_t now,
				    uint64_t *due);
/* When a frame is due: false, counted as dropped_down, if the pair is down. */
bool wanem_pair_departs(struct wanem_pair *p);
/* A frame of `len` bytes due at `due` was sent at `now`. */
void wanem_pair_sent(struct wanem_pair *p, uint32_t len, uint64_t due, uint64_t now);
/* Adds one timing record into another (totals over pairs). */
void wanem_timing_add(struct wanem_timing *sum, const struct wanem_timing *t);

#endif
