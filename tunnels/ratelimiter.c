// SPDX-License-Identifier: MIT
/*
 * Per-source token buckets for handshakes under load: 20 per second with a burst
 * of 5, per IPv4 address or IPv6 /64, as the kernel implementation does. Buckets
 * idle for a second are collected; the hash is keyed with a secret (SipHash) so a
 * flood cannot aim at one chain, and the table is bounded so it cannot exhaust
 * memory: when full, new sources are refused, which is the safe answer under load.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

#define PACKETS_PER_SECOND 20
#define PACKETS_BURSTABLE 5
#define PACKET_COST (NS_PER_S / PACKETS_PER_SECOND)
#define TOKEN_MAX (PACKET_COST * PACKETS_BURSTABLE)
#define BUCKETS 1024
#define MAX_ENTRIES 16384

struct rl_entry {
	struct rl_entry *next;
	uint8_t key[16];
	uint64_t last_ns;
	uint64_t tokens;
};

struct wg_ratelimiter {
	struct rl_entry *chains[BUCKETS];
	unsigned entries;
	uint64_t last_gc;
	uint8_t secret[crypto_shorthash_KEYBYTES];
};

struct wg_ratelimiter *wg_ratelimiter_new(void)
{
	struct wg_ratelimiter *r = calloc(1, sizeof(*r));

	if (r)
		wg_random(r->secret, sizeof(r->secret));
	return r;
}

void wg_ratelimiter_free(struct wg_ratelimiter *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < BUCKETS; i++) {
		for (struct rl_entry *e = r->chains[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(r);
}

static void gc(struct wg_ratelimiter *r, uint64_t now)
{
	for (unsigned i = 0; i < BUCKETS; i++) {
		for (struct rl_entry **pe = &r->chains[i]; *pe;) {
			struct rl_entry *e = *pe;
			if (now - e->last_ns > NS_PER_S) {
				*pe = e->next;
				free(e);
				r->entries--;
			} else {
				pe = &e->next;
			}
		}
	}
	r->last_gc = now;
}

bool wg_ratelimiter_allow(struct wg_ratelimiter *r, const struct wg_endpoint *from, uint64_t now)
{
	uint8_t key[16] = { 0 }, h[crypto_shorthash_BYTES];
	struct rl_entry *e, **chain;
	uint64_t tokens;

	if (from->family == AF_INET)
		memcpy(key, &from->addr.v4, 4);
	else
		memcpy(key, &from->addr.v6, 8); /* a /64 is one source */
	key[15] = (uint8_t)from->family;

	if (now - r->last_gc > NS_PER_S)
		gc(r, now);
	crypto_shorthash(h, key, sizeof(key), r->secret);
	chain = &r->chains[(h[0] | h[1] << 8) % BUCKETS];
	for (e = *chain; e; e = e->next) {
		if (memcmp(e->key, key, sizeof(key)))
			continue;
		tokens = e->tokens + (now - e->last_ns);
		if (tokens > TOKEN_MAX)
			tokens = TOKEN_MAX;
		e->last_ns = now;
		if (tokens < PACKET_COST) {
			e->tokens = tokens;
			return false;
		}
		e->tokens = tokens - PACKET_COST;
		return true;
	}
	if (r->entries >= MAX_ENTRIES)
		return false;
	e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	memcpy(e->key, key, sizeof(key));
	e->last_ns = now;
	e->tokens = TOKEN_MAX - PACKET_COST;
	e->next = *chain;
	*chain = e;
	r->entries++;
	return true;
}
