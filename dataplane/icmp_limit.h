/* SPDX-License-Identifier: MIT */
/* The ICMP error rate limiter (icmp_limit.c): a token bucket per source address
 * under a ceiling for the whole gateway. Plain C, no DPDK: the caller passes
 * the clock. Not thread-safe: one thread owns a limiter (the main lcore). */
#ifndef HOPMESH_DATAPLANE_ICMP_LIMIT_H
#define HOPMESH_DATAPLANE_ICMP_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Source addresses are hashed into this many buckets: memory is fixed however
 * many sources there are, and sources that collide share a bucket. */
#define ICMP_LIMIT_SLOTS 1024
#define ICMP_LIMIT_KEY_BYTES 16

struct icmp_limit_rate {
	uint32_t per_second;  /* refill */
	uint32_t burst;       /* bucket size */
};

/* Credit is kept in token-nanoseconds (one token is 10^9): elapsed time times
 * the rate adds exactly, so no fraction of a token is ever lost. */
struct icmp_limit_bucket {
	uint64_t last_ns;
	uint64_t credit;
};

struct icmp_limit {
	struct icmp_limit_rate source, total;
	uint8_t key[ICMP_LIMIT_KEY_BYTES];  /* keyed hash: a flood cannot aim at a slot */
	struct icmp_limit_bucket all;
	struct icmp_limit_bucket slot[ICMP_LIMIT_SLOTS];
};

/* Every bucket full at now. key: secret bytes for the hash of sources. */
void icmp_limit_init(struct icmp_limit *l, struct icmp_limit_rate source, struct icmp_limit_rate total,
		     const uint8_t key[ICMP_LIMIT_KEY_BYTES], uint64_t now);
/* May one more error go to src (an IPv4 or IPv6 address, len 4 or 16) at now
 * (nanoseconds, monotonic)? Yes takes a token from its source's bucket and one
 * from the gateway's; no takes nothing. */
bool icmp_limit_allow(struct icmp_limit *l, const void *src, size_t len, uint64_t now);
/* The bucket src is counted in, 0 .. ICMP_LIMIT_SLOTS - 1. */
unsigned icmp_limit_slot(const struct icmp_limit *l, const void *src, size_t len);

#endif
