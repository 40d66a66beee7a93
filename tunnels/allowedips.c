// SPDX-License-Identifier: MIT
/*
 * Cryptokey routing: longest-prefix match from an address to the peer that owns
 * it, for IPv4 and IPv6.
 *
 * The control thread edits a path-compressed binary trie (a node only where
 * prefixes branch or a prefix ends). Data threads never see it: on commit the
 * trie is flattened into one array (children as indices, depth-first order) and
 * that array is published with a single pointer store, the old one retired.
 * Edits are rare (configuration) and a flat copy of ten thousand prefixes takes
 * well under a millisecond, while lookups, which are per packet, stay lock-free
 * and walk contiguous memory.
 *
 * Keys are 128-bit big-endian numbers in two host-order words; an IPv4 address
 * occupies the top 32 bits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

struct wg_aip_node {
	uint64_t key[2]; /* masked to cidr */
	uint8_t cidr;
	uint8_t fi; /* 0: IPv4, 1: IPv6 */
	struct wg_peer *peer; /* NULL: a branching point only */
	struct wg_aip_node *child[2];
	struct wg_aip_node *peer_prev, *peer_next; /* the peer's list */
};

struct wg_aip_flat {
	uint64_t key[2];
	int32_t child[2];
	struct wg_peer *peer;
	uint8_t cidr;
};

struct wg_aip_table {
	uint32_t count;
	struct wg_aip_flat nodes[];
};

static int fam_index(sa_family_t family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static uint8_t fam_bits(int fi)
{
	return fi == 0 ? 32 : 128;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void key_from_addr(uint64_t k[2], int fi, const void *addr)
{
	const uint8_t *a = addr;

	if (fi == 0) {
		k[0] = (uint64_t)a[0] << 56 | (uint64_t)a[1] << 48 | (uint64_t)a[2] << 40 |
		       (uint64_t)a[3] << 32;
		k[1] = 0;
	} else {
		k[0] = load_be64(a);
		k[1] = load_be64(a + 8);
	}
}

static void addr_from_key(uint8_t out[16], int fi, const uint64_t k[2])
{
	uint8_t tmp[16];

	store_be64(tmp, k[0]);
	store_be64(tmp + 8, k[1]);
	memcpy(out, tmp, fi == 0 ? 4 : 16);
}

static void mask_of(uint64_t m[2], uint8_t cidr)
{
	m[0] = cidr >= 64 ? ~0ULL : cidr == 0 ? 0 : ~0ULL << (64 - cidr);
	m[1] = cidr <= 64 ? 0 : cidr >= 128 ? ~0ULL : ~0ULL << (128 - cidr);
}

static bool prefix_match(const uint64_t a[2], const uint64_t b[2], uint8_t cidr)
{
	uint64_t m[2];

	mask_of(m, cidr);
	return !((a[0] ^ b[0]) & m[0]) && !((a[1] ^ b[1]) & m[1]);
}

static int bit_at(const uint64_t k[2], uint8_t i)
{
	return i < 64 ? (int)(k[0] >> (63 - i)) & 1 : (int)(k[1] >> (127 - i)) & 1;
}

static uint8_t common_bits(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (uint8_t)__builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? (uint8_t)(64 + __builtin_clzll(x)) : 128;
}

static struct wg_aip_node *node_new(int fi, const uint64_t key[2], uint8_t cidr)
{
	struct wg_aip_node *n = calloc(1, sizeof(*n));
	uint64_t m[2];

	if (!n)
		return NULL;
	mask_of(m, cidr);
	n->key[0] = key[0] & m[0];
	n->key[1] = key[1] & m[1];
	n->cidr = cidr;
	n->fi = (uint8_t)fi;
	return n;
}

static void peer_list_unlink(struct wg_aip_node *n)
{
	struct wg_peer *p = n->peer;

	if (!p)
		return;
	if (n->peer_prev)
		n->peer_prev->peer_next = n->peer_next;
	else
		p->aip_first = n->peer_next;
	if (n->peer_next)
		n->peer_next->peer_prev = n->peer_prev;
	else
		p->aip_last = n->peer_prev;
	n->peer_prev = n->peer_next = NULL;
	n->peer = NULL;
}

/* (Re-)adding a prefix puts it last in its peer's list, as the kernel does. */
static void peer_list_append(struct wg_aip_node *n, struct wg_peer *p)
{
	peer_list_unlink(n);
	n->peer = p;
	n->peer_prev = p->aip_last;
	if (p->aip_last)
		p->aip_last->peer_next = n;
	else
		p->aip_first = n;
	p->aip_last = n;
}

/* Checks a prefix and gives its family index and key with host bits cleared. */
static int prefix_key(sa_family_t family, const void *addr, uint8_t cidr, int *fi, uint64_t key[2])
{
	uint64_t m[2];

	*fi = fam_index(family);
	if (*fi < 0 || !addr || cidr > fam_bits(*fi))
		return -EINVAL;
	key_from_addr(key, *fi, addr);
	mask_of(m, cidr);
	key[0] &= m[0];
	key[1] &= m[1];
	return 0;
}

int wg_aip_insert(struct wg_allowedips *a, sa_family_t family, const void *addr, uint8_t cidr,
		  struct wg_peer *peer)
{
	struct wg_aip_node **slot, *node, *fresh, *branch;
	uint64_t key[2];
	uint8_t common;
	int fi;

	if (prefix_key(family, addr, cidr, &fi, key) || !peer)
		return -EINVAL;

	slot = &a->root[fi];
	while ((node = *slot) && node->cidr <= cidr && prefix_match(node->key, key, node->cidr)) {
		if (node->cidr == cidr) {
			peer_list_append(node, peer);
			a->dirty = true;
			return 0;
		}
		slot = &node->child[bit_at(key, node->cidr)];
	}
	fresh = node_new(fi, key, cidr);
	if (!fresh)
		return -ENOMEM;
	peer_list_append(fresh, peer);
	a->dirty = true;
	if (!node) {
		*slot = fresh;
		return 0;
	}
	/* node is below our prefix or branches off it somewhere above cidr. */
	common = common_bits(node->key, key);
	if (common >= cidr) {
		fresh->child[bit_at(node->key, cidr)] = node;
		*slot = fresh;
		return 0;
	}
	branch = node_new(fi, key, common);
	if (!branch) {
		peer_list_unlink(fresh);
		free(fresh);
		return -ENOMEM;
	}
	branch->child[bit_at(node->key, common)] = node;
	branch->child[bit_at(key, common)] = fresh;
	*slot = branch;
	return 0;
}

/* A node without a peer is only worth keeping where two paths branch. */
static void collapse(struct wg_aip_node **slot)
{
	struct wg_aip_node *n = *slot;

	if (!n || n->peer || (n->child[0] && n->child[1]))
		return;
	*slot = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

int wg_aip_remove(struct wg_allowedips *a, sa_family_t family, const void *addr, uint8_t cidr,
		  struct wg_peer *peer)
{
	struct wg_aip_node **path[130], **slot, *node;
	uint64_t key[2];
	int fi, depth = 0;

	if (prefix_key(family, addr, cidr, &fi, key))
		return -EINVAL;

	slot = &a->root[fi];
	while ((node = *slot) && node->cidr <= cidr && prefix_match(node->key, key, node->cidr)) {
		path[depth++] = slot;
		if (node->cidr == cidr)
			break;
		slot = &node->child[bit_at(key, node->cidr)];
	}
	/* The walk stops at the first node that does not cover key: only an exact
	 * match (same length and same masked address) is ours to remove. */
	if (!node || node->cidr != cidr || node->key[0] != key[0] || node->key[1] != key[1] ||
	    !node->peer || (peer && node->peer != peer))
		return -ENOENT;
	peer_list_unlink(node);
	a->dirty = true;
	/* Removing a leaf can leave its parent a pointless one-child branch. */
	collapse(path[depth - 1]);
	if (depth >= 2)
		collapse(path[depth - 2]);
	return 0;
}

/* Bottom-up, so that a branch point emptied below collapses too. */
static void prune(struct wg_aip_node **slot)
{
	struct wg_aip_node *n = *slot;

	if (!n)
		return;
	prune(&n->child[0]);
	prune(&n->child[1]);
	collapse(slot);
}

void wg_aip_remove_peer(struct wg_allowedips *a, struct wg_peer *peer)
{
	if (!peer->aip_first)
		return;
	while (peer->aip_first)
		peer_list_unlink(peer->aip_first);
	prune(&a->root[0]);
	prune(&a->root[1]);
	a->dirty = true;
}

void wg_aip_for_peer(const struct wg_allowedips *a, const struct wg_peer *peer,
		     void (*fn)(void *arg, sa_family_t family, const uint8_t *addr, uint8_t cidr),
		     void *arg)
{
	uint8_t addr[16];

	(void)a;
	for (const struct wg_aip_node *n = peer->aip_first; n; n = n->peer_next) {
		addr_from_key(addr, n->fi, n->key);
		fn(arg, n->fi == 0 ? AF_INET : AF_INET6, addr, n->cidr);
	}
}

static uint32_t count_nodes(const struct wg_aip_node *n)
{
	return n ? 1 + count_nodes(n->child[0]) + count_nodes(n->child[1]) : 0;
}

static int32_t flatten(const struct wg_aip_node *n, struct wg_aip_table *t, uint32_t *next)
{
	int32_t me;

	if (!n)
		return -1;
	me = (int32_t)(*next)++;
	t->nodes[me].key[0] = n->key[0];
	t->nodes[me].key[1] = n->key[1];
	t->nodes[me].cidr = n->cidr;
	t->nodes[me].peer = n->peer;
	t->nodes[me].child[0] = flatten(n->child[0], t, next);
	t->nodes[me].child[1] = flatten(n->child[1], t, next);
	return me;
}

void wg_aip_publish(struct wg_allowedips *a, struct wg_aip_table *old[2])
{
	for (int fi = 0; fi < 2; fi++) {
		uint32_t count = count_nodes(a->root[fi]), next = 0;
		struct wg_aip_table *t = NULL;

		old[fi] = NULL;
		if (count) {
			t = malloc(sizeof(*t) + count * sizeof(t->nodes[0]));
			if (!t)
				continue; /* keep serving the previous table */
			t->count = count;
			flatten(a->root[fi], t, &next);
		}
		old[fi] = atomic_exchange_explicit(&a->published[fi], t, memory_order_acq_rel);
	}
	a->dirty = false;
}

void wg_aip_table_free(void *table)
{
	free(table);
}

static void free_nodes(struct wg_aip_node *n)
{
	if (!n)
		return;
	free_nodes(n->child[0]);
	free_nodes(n->child[1]);
	free(n);
}

void wg_aip_destroy(struct wg_allowedips *a)
{
	for (int fi = 0; fi < 2; fi++) {
		free_nodes(a->root[fi]);
		a->root[fi] = NULL;
		free(atomic_exchange(&a->published[fi], NULL));
	}
}

struct wg_peer *wg_aip_lookup(const struct wg_allowedips *a, sa_family_t family, const void *addr)
{
	int fi = fam_index(family);
	const struct wg_aip_table *t;
	struct wg_peer *best = NULL;
	uint64_t key[2];
	int32_t i = 0;

	if (fi < 0)
		return NULL;
	t = atomic_load_explicit(&a->published[fi], memory_order_acquire);
	if (!t)
		return NULL;
	key_from_addr(key, fi, addr);
	while (i >= 0) {
		const struct wg_aip_flat *n = &t->nodes[i];

		if (!prefix_match(n->key, key, n->cidr))
			break;
		if (n->peer)
			best = n->peer;
		if (n->cidr == fam_bits(fi))
			break;
		i = n->child[bit_at(key, n->cidr)];
	}
	return best;
}
