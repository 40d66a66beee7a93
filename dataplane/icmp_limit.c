// SPDX-License-Identifier: MIT
/*
 * The ICMP error rate limiter. icmp_limit_allow() hashes the source address
 * (SipHash with a secret key) to one of a fixed table of token buckets, brings
 * that bucket and the gateway's own up to date with the time elapsed, and
 * spends a token from each only when both have one.
 *
 * Per source, so that one VM flooding expired TTLs or oversized packets spends
 * its own bucket and not the errors other VMs need for traceroute and path MTU
 * discovery; with a ceiling on the sum, so that many sources together still
 * get a bounded number of errors out of the gateway. The table is fixed: a
 * flood of spoofed sources cannot grow it, it can only share buckets.
 *
 * Refill is exact: credit is counted in token-nanoseconds, so triggers however
 * close together each add their elapsed time times the rate and no remainder
 * is thrown away (a per-call division to whole tokens loses everything below
 * one token, and at 5 ms per token for 200/s that was every interval).
 */
#include <string.h>

#include <sodium.h>

#include "icmp_limit.h"

#define NS_PER_S UINT64_C(1000000000)

_Static_assert(ICMP_LIMIT_KEY_BYTES == crypto_shorthash_KEYBYTES, "the hash key is SipHash's");

static void bucket_fill(struct icmp_limit_bucket *b, const struct icmp_limit_rate *r, uint64_t now)
{
	b->last_ns = now;
	b->credit = (uint64_t)r->burst * NS_PER_S;
}

/* Adds the credit earned since the bucket was last brought up to date, up to
 * its burst. A clock that does not move (or goes back) adds nothing. */
static void bucket_refill(struct icmp_limit_bucket *b, const struct icmp_limit_rate *r, uint64_t now)
{
	uint64_t cap = (uint64_t)r->burst * NS_PER_S, elapsed;

	if (now <= b->last_ns)
		return;
	elapsed = now - b->last_ns;
	b->last_ns = now;
	if (!r->per_second)
		return;
	/* elapsed * rate could overflow after a long quiet spell: past what fills
	 * the bucket the answer is "full" anyway. */
	if (elapsed > (cap - b->credit) / r->per_second)
		b->credit = cap;
	else
		b->credit += elapsed * r->per_second;
}

void icmp_limit_init(struct icmp_limit *l, struct icmp_limit_rate source, struct icmp_limit_rate total,
		     const uint8_t key[ICMP_LIMIT_KEY_BYTES], uint64_t now)
{
	l->source = source;
	l->total = total;
	memcpy(l->key, key, sizeof(l->key));
	bucket_fill(&l->all, &l->total, now);
	for (unsigned i = 0; i < ICMP_LIMIT_SLOTS; i++)
		bucket_fill(&l->slot[i], &l->source, now);
}

unsigned icmp_limit_slot(const struct icmp_limit *l, const void *src, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];

	/* SipHash mixes the length in: 4 and 16 bytes never hash alike by accident. */
	crypto_shorthash(h, src, len, l->key);
	return (unsigned)(((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16) % ICMP_LIMIT_SLOTS);
}

bool icmp_limit_allow(struct icmp_limit *l, const void *src, size_t len, uint64_t now)
{
	struct icmp_limit_bucket *b = &l->slot[icmp_limit_slot(l, src, len)];

	bucket_refill(b, &l->source, now);
	bucket_refill(&l->all, &l->total, now);
	/* A source refused by the ceiling keeps its token for later. */
	if (b->credit < NS_PER_S || l->all.credit < NS_PER_S)
		return false;
	b->credit -= NS_PER_S;
	l->all.credit -= NS_PER_S;
	return true;
}
