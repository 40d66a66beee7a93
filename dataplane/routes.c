// SPDX-License-Identifier: MIT
/*
 * Routes: destination prefix -> destination gateway -> path (the gateways it
 * goes through, which the relay header carries). Separate from allowed-ips, which stays the cryptokey check: a route
 * picks the gateway a packet is for; the encryption is always for that
 * gateway's peer, end to end, whichever relay carries it.
 *
 * Workers look up without locks:
 *  - IPv4 /32 routes (a VM each, up to millions) live in an rte_hash, lock-free
 *    for readers, whose freed slots are reclaimed through the gateway's
 *    rte_rcu_qsbr. rte_lpm keeps its rules in one sorted array per depth and
 *    scans it on every add: a million /32s took six minutes to load there.
 *  - shorter IPv4 prefixes live in an rte_lpm whose tbl8 groups are reclaimed
 *    through the same rte_rcu_qsbr, so it is updated in place under traffic;
 *  - IPv6 prefixes (a few per region) live in an rte_rib6, rebuilt on the next
 *    tick after a change and swapped in with one pointer store, the old one
 *    retired after a grace period. (rte_lpm6 has no RCU support in DPDK 22.11
 *    and a fixed 64 MB first level: two of them during a swap, per gateway,
 *    did not fit the rig's memory.)
 *  - a gateway's path is one 64-bit word (up to four 12-bit gateway ids and
 *    the hop count), so moving traffic to another path is a single store and
 *    loses no packet;
 *  - the hop limit (pushed by meshd from the policy, never above the
 *    configuration's ceiling) is one byte, read per relayed packet.
 * The main lcore keeps every route in a hash store too, to answer dumps and to
 * rebuild the IPv6 table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
/* rte_lpm.h's bulk lookup (unused here) declares a VLA; our -Wvla is for us. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvla"
#include <rte_lpm.h>
#pragma GCC diagnostic pop
#include <rte_rib6.h>
#include <rte_rcu_qsbr.h>

#include "gateway.h"
#include "lcore_io.h"
#include "relay_auth.h"
#include "routes.h"
#include "textbuf.h"

#define LPM4_MAX_RULES (1u << 16) /* shorter IPv4 prefixes */
#define LPM4_TBL8 (1u << 12)      /* prefixes longer than /24 need one each */
#define V6_RETRY_NS 1000000000ULL

#define ZONES_MAX 255u
#define ZONE_NAME_LEN 16u

struct route {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, masked */
	uint8_t depth;
	uint8_t family; /* 0: free slot, 4 or 6 */
	uint16_t dst_gw;
};

struct route_store {
	struct route *slot;
	size_t cap, count, count6;
};

struct routes {
	uint16_t self;
	_Atomic uint8_t hop_limit; /* effective: min(pushed, ceiling) */
	uint8_t hop_ceiling;       /* the configuration's hop_limit */
	uint8_t hop_pushed;        /* 0: none pushed yet */
	_Atomic bool residency;    /* the policy's, pushed by meshd */
	/* Zone names by index - 1 (gw_entry.zone), main lcore only: added as
	 * gateways name them, never reused for another name, so an index a
	 * worker read stays the zone it meant. */
	char zone_name[ZONES_MAX][ZONE_NAME_LEN];
	unsigned zones;
	struct gw_entry gateway[MAX_GATEWAYS]; /* by id */
	struct rte_hash *hosts4;
	_Atomic uint32_t hosts4_count; /* 0: lookups skip the hash */
	struct rte_lpm *lpm4;
	_Atomic(struct rte_rib6 *) rib6;
	unsigned rib6_generation;
	bool v6_dirty;
	uint64_t v6_failed_at; /* mono ns of the last failed rebuild, 0: none */
	struct route_store store;
	/* Our public key when the pair keys were derived: a new identity
	 * changes every one of them (routes_maintain()). */
	uint8_t identity[WG_KEY_LEN];
};

/* ---- the hash store of all routes (main lcore) ---- */

static uint64_t route_hash(const struct route *r)
{
	uint64_t h = 1469598103934665603ULL ^ r->family ^ (uint64_t)r->depth << 8;

	for (int i = 0; i < 16; i++)
		h = (h ^ r->addr[i]) * 1099511628211ULL;
	return h;
}

static bool same_prefix(const struct route *a, const struct route *b)
{
	return a->family == b->family && a->depth == b->depth && !memcmp(a->addr, b->addr, 16);
}

static bool store_grow(struct route_store *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	struct route *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slot[i].family)
			continue;
		for (j = route_hash(&s->slot[i]) & (cap - 1); slot[j].family; j = (j + 1) & (cap - 1))
			;
		slot[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return true;
}

static struct route *store_find(const struct route_store *s, const struct route *key)
{
	if (!s->cap)
		return NULL;
	for (size_t i = route_hash(key) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slot[i].family)
			return NULL;
		if (same_prefix(&s->slot[i], key))
			return &s->slot[i];
	}
}

static bool store_put(struct route_store *s, const struct route *r)
{
	struct route *found = store_find(s, r);
	size_t i;

	if (found) {
		found->dst_gw = r->dst_gw;
		return true;
	}
	if ((s->count + 1) * 10 > s->cap * 7 && !store_grow(s))
		return false;
	for (i = route_hash(r) & (s->cap - 1); s->slot[i].family; i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = *r;
	s->count++;
	s->count6 += r->family == 6;
	return true;
}

/* Linear probing deletes by shifting the rest of the cluster back. */
static void store_del(struct route_store *s, struct route *victim)
{
	size_t i = (size_t)(victim - s->slot), j = i;

	s->count--;
	s->count6 -= victim->family == 6;
	victim->family = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & (s->cap - 1);
		if (!s->slot[j].family)
			return;
		home = route_hash(&s->slot[j]) & (s->cap - 1);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		s->slot[i] = s->slot[j];
		s->slot[j].family = 0;
		i = j;
	}
}

/* ---- tables ---- */

struct routes *routes_new(struct rte_rcu_qsbr *qsbr, uint32_t host_routes, uint8_t hop_ceiling,
			  char *err, size_t errlen)
{
	struct rte_lpm_config c4 = { .max_rules = LPM4_MAX_RULES, .number_tbl8s = LPM4_TBL8 };
	struct rte_lpm_rcu_config rcu = { .v = qsbr, .mode = RTE_LPM_QSBR_MODE_DQ };
	struct rte_hash_parameters hp = {
		.name = "hosts4",
		.entries = host_routes,
		.key_len = 4,
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config hrcu = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	struct routes *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->hop_ceiling = hop_ceiling;
	atomic_store(&r->hop_limit, hop_ceiling);
	r->hosts4 = rte_hash_create(&hp);
	if (!r->hosts4 || rte_hash_rcu_qsbr_add(r->hosts4, &hrcu)) {
		snprintf(err, errlen, "IPv4 host route table: %s (more memory: -m in eal)",
			 rte_strerror(rte_errno));
		routes_free(r);
		return NULL;
	}
	r->lpm4 = rte_lpm_create("routes4", (int)rte_socket_id(), &c4);
	if (!r->lpm4 || rte_lpm_rcu_qsbr_add(r->lpm4, &rcu)) {
		snprintf(err, errlen, "IPv4 route table: %s (more memory: -m in eal)",
			 rte_strerror(rte_errno));
		routes_free(r);
		return NULL;
	}
	return r;
}

void routes_free(struct routes *r)
{
	if (!r)
		return;
	for (unsigned id = 1; id < MAX_GATEWAYS; id++)
		relay_key_free(atomic_load(&r->gateway[id].relay_key));
	rte_hash_free(r->hosts4);
	rte_lpm_free(r->lpm4);
	rte_rib6_free(atomic_load(&r->rib6));
	free(r->store.slot);
	free(r);
}

uint16_t routes_lookup(const struct routes *r, sa_family_t family, const void *addr)
{
	uint32_t nh;

	if (family == AF_INET) {
		uint32_t ip;
		void *dst_gw;

		memcpy(&ip, addr, 4);
		/* A /32 is the longest match there is: the hash first. */
		if (atomic_load_explicit(&r->hosts4_count, memory_order_relaxed) &&
		    rte_hash_lookup_data(r->hosts4, &ip, &dst_gw) >= 0)
			return (uint16_t)(uintptr_t)dst_gw;
		return rte_lpm_lookup(r->lpm4, rte_be_to_cpu_32(ip), &nh) == 0 ? (uint16_t)nh : 0;
	} else {
		struct rte_rib6 *t = atomic_load_explicit(&((struct routes *)r)->rib6, memory_order_acquire);
		struct rte_rib6_node *n = t ? rte_rib6_lookup(t, addr) : NULL;
		uint64_t v;

		return n && rte_rib6_get_nh(n, &v) == 0 ? (uint16_t)v : 0;
	}
}

void routes_lookup4_bulk(const struct routes *r, const uint32_t *addr, unsigned n,
			 uint16_t *dst_gw)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	uint32_t nh;

	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	if (atomic_load_explicit(&r->hosts4_count, memory_order_relaxed)) {
		for (unsigned i = 0; i < n; i++)
			keys[i] = &addr[i];
		if (rte_hash_lookup_bulk_data(r->hosts4, keys, n, &hits, data) < 0)
			hits = 0;
	}
	for (unsigned i = 0; i < n; i++) {
		if (hits & (1ULL << i))
			dst_gw[i] = (uint16_t)(uintptr_t)data[i];
		else
			dst_gw[i] = rte_lpm_lookup(r->lpm4, rte_be_to_cpu_32(addr[i]), &nh) == 0 ? (uint16_t)nh : 0;
	}
}

struct gw_entry *routes_gateway(struct routes *r, uint16_t id)
{
	return id && id < MAX_GATEWAYS ? &r->gateway[id] : NULL;
}

uint16_t routes_self(const struct routes *r)
{
	return r->self;
}

unsigned routes_hop_limit(const struct routes *r)
{
	return atomic_load_explicit(&((struct routes *)r)->hop_limit, memory_order_relaxed);
}

static uint8_t zone_of(const struct routes *r, uint16_t id)
{
	if (!id || id >= MAX_GATEWAYS)
		return 0;
	return atomic_load_explicit(&((struct routes *)r)->gateway[id].zone, memory_order_relaxed);
}

bool routes_path_resident(const struct routes *r, const uint16_t *gws, unsigned n)
{
	uint8_t zone;

	if (!atomic_load_explicit(&((struct routes *)r)->residency, memory_order_relaxed) || n < 3)
		return true;
	zone = zone_of(r, gws[0]);
	if (!zone || zone_of(r, gws[n - 1]) != zone)
		return true;
	for (unsigned i = 1; i + 1 < n; i++)
		if (zone_of(r, gws[i]) != zone)
			return false;
	return true;
}

/* The index of zone name (added if new); 0 if the table is full. */
static uint8_t zone_index(struct routes *r, const char *name)
{
	for (unsigned i = 0; i < r->zones; i++)
		if (!strcmp(r->zone_name[i], name))
			return (uint8_t)(i + 1);
	if (r->zones == ZONES_MAX)
		return 0;
	snprintf(r->zone_name[r->zones], ZONE_NAME_LEN, "%s", name);
	return (uint8_t)++r->zones;
}

static void rib6_destroy(void *t)
{
	rte_rib6_free(t);
}

static struct rte_rib6 *build_v6(struct routes *r)
{
	struct rte_rib6_conf conf = { .max_nodes = (int)(2 * r->store.count6 + 16) };
	struct rte_rib6 *t;
	char name[32];

	snprintf(name, sizeof(name), "routes6_%u", ++r->rib6_generation);
	if (!(t = rte_rib6_create(name, (int)rte_socket_id(), &conf)))
		return NULL;
	for (size_t i = 0; i < r->store.cap; i++) {
		const struct route *e = &r->store.slot[i];
		struct rte_rib6_node *n;

		if (e->family == 6 &&
		    (!(n = rte_rib6_insert(t, e->addr, e->depth)) || rte_rib6_set_nh(n, e->dst_gw))) {
			rte_rib6_free(t);
			return NULL;
		}
	}
	return t;
}

/* Rebuild the IPv6 table from the store and swap it in. */
static void publish_v6(struct routes *r, struct gateway *gw, uint64_t now)
{
	struct rte_rib6 *fresh = NULL, *old;

	if (r->v6_failed_at && now - r->v6_failed_at < V6_RETRY_NS)
		return;
	if (r->store.count6 && !(fresh = build_v6(r))) {
		/* Keep serving the old table; say so once, retry each second. */
		if (!r->v6_failed_at)
			fprintf(stderr, "%s: cannot build the IPv6 route table (%s); keeping the old one\n",
				gw->cfg.name, rte_strerror(rte_errno));
		r->v6_failed_at = now;
		return;
	}
	old = atomic_exchange_explicit(&r->rib6, fresh, memory_order_acq_rel);
	r->v6_dirty = false;
	r->v6_failed_at = 0;
	if (old)
		lcore_retire(gw, old, rib6_destroy);
}

/* ---- gateways and peers ---- */

/* The pair key (relay_auth.h) follows the peer: derived when it is bound,
 * gone when it is unbound, so a removed or rekeyed gateway's frames fail at
 * once. The old key is retired: a worker may be verifying with it. */
static void set_relay_key(struct gateway *gw, struct gw_entry *e, const struct wg_peer *p)
{
	struct relay_key *old = atomic_exchange_explicit(&e->relay_key, p ? relay_key_new(p) : NULL,
							  memory_order_acq_rel);

	if (old)
		lcore_retire(gw, old, relay_key_free);
}

/* Entry e unbound: no peer, no key. */
static void unbind_peer(struct gateway *gw, struct gw_entry *e)
{
	struct wg_peer *old = atomic_load(&e->peer);

	if (old)
		wg_peer_set_user(old, 0);
	atomic_store(&e->peer, NULL);
	set_relay_key(gw, e, NULL);
}

static void bind_peer(struct routes *r, struct gateway *gw, uint16_t id)
{
	struct gw_entry *e = &r->gateway[id];
	struct wg_peer *p = wg_peer_lookup(gw->dev, e->public_key);

	if (p == atomic_load(&e->peer))
		return;
	if (p)
		wg_peer_set_user(p, id);
	set_relay_key(gw, e, p);
	atomic_store_explicit(&e->peer, p, memory_order_release);
}

/* The configured gateway other than `except` that has key, 0 if none: one
 * at most (gateway set refuses a second). */
static uint16_t gateway_of_key(const struct routes *r, const uint8_t key[WG_KEY_LEN], uint16_t except)
{
	for (unsigned id = 1; id < MAX_GATEWAYS; id++)
		if (id != except && r->gateway[id].configured &&
		    !memcmp(r->gateway[id].public_key, key, WG_KEY_LEN))
			return (uint16_t)id;
	return 0;
}

void routes_maintain(struct routes *r, struct gateway *gw)
{
	uint8_t pub[WG_KEY_LEN] = { 0 };
	bool rekey;

	/* A new identity of ours (or its first): every pair key changes. */
	wg_device_public_key(gw->dev, pub);
	rekey = memcmp(pub, r->identity, WG_KEY_LEN) != 0;
	memcpy(r->identity, pub, WG_KEY_LEN);
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		struct gw_entry *e = &r->gateway[id];
		struct wg_peer *p;

		if (!e->configured)
			continue;
		if (!(p = atomic_load_explicit(&e->peer, memory_order_relaxed)))
			bind_peer(r, gw, (uint16_t)id);
		else if (rekey)
			set_relay_key(gw, e, p);
	}
	if (r->v6_dirty)
		publish_v6(r, gw, mono_ns());
}

/* The tick would bind it too, up to TICK_MS later: a VM packet in between
 * found no peer and was dropped, and with nothing staged no handshake
 * started (seen after `wg set peer ... remove` and re-adding it). */
void routes_peer_added(struct routes *r, struct gateway *gw, struct wg_peer *peer)
{
	uint8_t key[WG_KEY_LEN];
	uint16_t id;

	wg_peer_public_key(peer, key);
	if ((id = gateway_of_key(r, key, 0)))
		bind_peer(r, gw, id);
}

void routes_peer_removed(struct routes *r, struct gateway *gw, struct wg_peer *peer)
{
	uintptr_t id = wg_peer_user(peer);

	if (id && id < MAX_GATEWAYS && atomic_load(&r->gateway[id].peer) == peer) {
		atomic_store(&r->gateway[id].peer, NULL);
		set_relay_key(gw, &r->gateway[id], NULL);
	}
}

/* ---- commands ---- */

static bool parse_id(const char *s, uint16_t *id)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v >= MAX_GATEWAYS)
		return false;
	*id = (uint16_t)v;
	return true;
}

static bool parse_prefix(const char *s, struct route *rt)
{
	char buf[64], *slash;
	unsigned long depth;
	char *end;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	memset(rt, 0, sizeof(*rt));
	depth = strtoul(slash + 1, &end, 10);
	if (*end || slash[1] == '\0')
		return false;
	if (inet_pton(AF_INET, buf, rt->addr) == 1 && depth >= 1 && depth <= 32)
		rt->family = 4;
	else if (inet_pton(AF_INET6, buf, rt->addr) == 1 && depth >= 1 && depth <= 128)
		rt->family = 6;
	else
		return false;
	rt->depth = (uint8_t)depth;
	for (unsigned bit = rt->depth; bit < (rt->family == 4 ? 32u : 128u); bit++)
		rt->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return true;
}

static uint32_t ip4_of(const struct route *rt)
{
	uint32_t ip;

	memcpy(&ip, rt->addr, 4);
	return rte_be_to_cpu_32(ip);
}

#define REPLY(...) snprintf(out, outlen, __VA_ARGS__)

/* The path to gateway id as a JSON array of the gateways after us, ending
 * with id (what "path set" takes); returns its backbone hops. */
static unsigned path_json(struct routes *r, uint16_t id, char *buf, size_t len)
{
	uint64_t w = atomic_load(&r->gateway[id].path);
	unsigned hops = w ? path_word_hops(w) : 1;
	size_t at = 0;

	at += (size_t)snprintf(buf, len, "[");
	for (unsigned i = 0; i < hops && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? "," : "",
				       w ? path_word_gw(w, i) : id);
	if (at < len)
		snprintf(buf + at, len - at, "]");
	return hops;
}

/* The first gateway on the path to id (id itself when direct). */
static uint16_t first_hop(struct routes *r, uint16_t id)
{
	uint64_t w = atomic_load(&r->gateway[id].path);

	return w ? path_word_gw(w, 0) : id;
}

static bool v4_add(struct routes *r, const struct route *rt, bool fresh)
{
	uint32_t key;

	if (rt->depth < 32)
		return rte_lpm_add(r->lpm4, ip4_of(rt), rt->depth, rt->dst_gw) == 0;
	memcpy(&key, rt->addr, 4);
	if (rte_hash_add_key_data(r->hosts4, &key, (void *)(uintptr_t)rt->dst_gw))
		return false;
	if (fresh)
		atomic_fetch_add_explicit(&r->hosts4_count, 1, memory_order_relaxed);
	return true;
}

/* A deleted key's slot is reused only after the workers' grace period
 * (rte_hash_rcu_qsbr_add), so a lookup in flight never reads another key's
 * gateway. */
static void v4_del(struct routes *r, const struct route *rt)
{
	uint32_t key;

	if (rt->depth < 32) {
		rte_lpm_delete(r->lpm4, ip4_of(rt), rt->depth);
		return;
	}
	memcpy(&key, rt->addr, 4);
	if (rte_hash_del_key(r->hosts4, &key) >= 0)
		atomic_fetch_sub_explicit(&r->hosts4_count, 1, memory_order_relaxed);
}

static void cmd_route(struct routes *r, char **argv, int argc, char *out, size_t outlen)
{
	struct route rt, *found;
	bool fresh;
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	uint16_t id;

	if (argc == 3 && !strcmp(argv[0], "add")) {
		if (!parse_prefix(argv[1], &rt))
			return (void)REPLY("{\"error\":\"bad prefix %s\"}", argv[1]);
		if (!parse_id(argv[2], &id))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[2]);
		rt.dst_gw = id;
		fresh = !store_find(&r->store, &rt);
		if (!store_put(&r->store, &rt))
			return (void)REPLY("{\"error\":\"out of memory\"}");
		if (rt.family == 4 && !v4_add(r, &rt, fresh)) {
			if (fresh)
				store_del(&r->store, store_find(&r->store, &rt));
			return (void)REPLY("{\"error\":\"IPv4 route table full\"}");
		}
		r->v6_dirty |= rt.family == 6;
		REPLY("{\"ok\":true}");
	} else if (argc == 2 && !strcmp(argv[0], "del")) {
		if (!parse_prefix(argv[1], &rt))
			return (void)REPLY("{\"error\":\"bad prefix %s\"}", argv[1]);
		if (!(found = store_find(&r->store, &rt)))
			return (void)REPLY("{\"error\":\"no such route\"}");
		if (rt.family == 4)
			v4_del(r, &rt);
		r->v6_dirty |= rt.family == 6;
		store_del(&r->store, found);
		REPLY("{\"ok\":true}");
	} else if (argc == 2 && !strcmp(argv[0], "lookup")) {
		sa_family_t family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
		char path[64];
		unsigned hops;

		if (inet_pton(family, argv[1], addr) != 1)
			return (void)REPLY("{\"error\":\"bad address %s\"}", argv[1]);
		id = routes_lookup(r, family, addr);
		inet_ntop(family, addr, buf, sizeof(buf));
		if (!id)
			return (void)REPLY("{\"address\":\"%s\",\"gateway\":0}", buf);
		hops = path_json(r, id, path, sizeof(path));
		REPLY("{\"address\":\"%s\",\"gateway\":%u,\"via\":%u,\"hops\":%u,\"path\":%s}", buf,
		      id, first_hop(r, id), hops, path);
	} else {
		REPLY("{\"error\":\"usage: route add PREFIX GATEWAY | route del PREFIX | route lookup ADDRESS\"}");
	}
}

/* "path set DST G1 [G2 [G3]] DST": the gateways after us, ending with DST, as
 * the relay header will name them; refused if it could never be sent (over
 * our hop limit) or would be dropped as a loop (a repeat, or ourselves). */
static void cmd_path(struct routes *r, char **argv, int argc, char *out, size_t outlen)
{
	uint16_t dst, gw[PATH_WORD_HOPS];
	unsigned hops = (unsigned)argc - 2, limit = routes_hop_limit(r);

	if (argc >= 3 && !strcmp(argv[0], "set")) {
		if (!parse_id(argv[1], &dst))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		if (hops > PATH_WORD_HOPS)
			return (void)REPLY("{\"error\":\"a path has at most %u backbone hops\"}", PATH_WORD_HOPS);
		for (unsigned i = 0; i < hops; i++) {
			if (!parse_id(argv[2 + i], &gw[i]))
				return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[2 + i]);
			if (gw[i] == r->self)
				return (void)REPLY("{\"error\":\"a path neither starts at nor goes through ourselves\"}");
			for (unsigned j = 0; j < i; j++)
				if (gw[j] == gw[i])
					return (void)REPLY("{\"error\":\"gateway %u twice in the path\"}", gw[i]);
		}
		if (gw[hops - 1] != dst)
			return (void)REPLY("{\"error\":\"a path ends with its destination %u\"}", dst);
		if (hops > limit)
			return (void)REPLY("{\"error\":\"%u backbone hops is over the hop limit %u\"}", hops, limit);
		atomic_store(&r->gateway[dst].path, hops == 1 ? 0 : path_word(gw, hops));
		REPLY("{\"ok\":true}");
	} else if (argc == 2 && !strcmp(argv[0], "del")) {
		if (!parse_id(argv[1], &dst))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		atomic_store(&r->gateway[dst].path, 0);
		REPLY("{\"ok\":true}");
	} else {
		REPLY("{\"error\":\"usage: path set DST [RELAY...] DST | path del DST\"}");
	}
}

/* "hop_limit set N": the policy's limit, which meshd pushes; our ceiling
 * (the configuration's hop_limit) still bounds it. Paths installed before a
 * lower limit stay, and the sender drops what they carry (hop_limit) until
 * shorter ones replace them. */
static void cmd_hop_limit(struct routes *r, char **argv, int argc, char *out, size_t outlen)
{
	unsigned long n;
	char *end;

	if (argc == 2 && !strcmp(argv[0], "set")) {
		n = strtoul(argv[1], &end, 10);
		if (*end || argv[1][0] == '\0' || n < 1 || n > PATH_WORD_HOPS)
			return (void)REPLY("{\"error\":\"hop limit must be 1-%u backbone hops\"}", PATH_WORD_HOPS);
		r->hop_pushed = (uint8_t)n;
		atomic_store(&r->hop_limit, (uint8_t)(n < r->hop_ceiling ? n : r->hop_ceiling));
		REPLY("{\"ok\":true}");
	} else if (argc == 0 || (argc == 1 && !strcmp(argv[0], "show"))) {
		REPLY("{\"hop_limit\":%u,\"hop_limit_ceiling\":%u,\"hop_limit_pushed\":%u}",
		      routes_hop_limit(r), r->hop_ceiling, r->hop_pushed);
	} else {
		REPLY("{\"error\":\"usage: hop_limit set N | hop_limit show\"}");
	}
}

/* "residency on|off": the policy's, which meshd pushes. A path installed
 * before it came on stays, and the sender drops what it would carry out of
 * its zone (residency) until meshd installs one that does not. */
static void cmd_residency(struct routes *r, char **argv, int argc, char *out, size_t outlen)
{
	if (argc == 1 && (!strcmp(argv[0], "on") || !strcmp(argv[0], "off"))) {
		atomic_store(&r->residency, !strcmp(argv[0], "on"));
		REPLY("{\"ok\":true}");
	} else if (argc == 1 && !strcmp(argv[0], "show")) {
		REPLY("{\"residency\":%s}", atomic_load(&r->residency) ? "true" : "false");
	} else {
		REPLY("{\"error\":\"usage: residency on | residency off | residency show\"}");
	}
}

/* "link up|down ID": meshd's word on our direct link to gateway ID (its
 * probes, with damping). While down, frames we relay to it are dropped
 * (relay_next_down) and their sources told (underlay_send_notice()). */
static void cmd_link(struct routes *r, char **argv, int argc, char *out, size_t outlen)
{
	uint16_t id;

	if (argc != 2 || (strcmp(argv[0], "up") && strcmp(argv[0], "down")))
		return (void)REPLY("{\"error\":\"usage: link up ID | link down ID\"}");
	if (!parse_id(argv[1], &id))
		return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
	if (!r->gateway[id].configured)
		return (void)REPLY("{\"error\":\"no gateway %u\"}", id);
	atomic_store(&r->gateway[id].link_down, !strcmp(argv[0], "down"));
	REPLY("{\"ok\":true}");
}

static void cmd_gateway(struct routes *r, struct gateway *gw, char **argv, int argc, char *out,
			size_t outlen)
{
	struct gw_entry *e;
	uint8_t key[WG_KEY_LEN];
	uint16_t id;

	if (argc == 2 && !strcmp(argv[0], "self")) {
		if (!parse_id(argv[1], &id))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		r->self = id;
		REPLY("{\"ok\":true}");
	} else if (argc >= 3 && !strcmp(argv[0], "set")) {
		struct gw_entry fresh = { .peer = NULL };
		uint8_t zone = 0;
		uint16_t other;

		if (!parse_id(argv[1], &id))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		if (!wg_key_from_base64(key, argv[2]))
			return (void)REPLY("{\"error\":\"bad public key\"}");
		if ((other = gateway_of_key(r, key, id)))
			return (void)REPLY("{\"error\":\"public key already belongs to gateway %u\"}", other);
		for (int i = 3; i < argc; i++) {
			if (!strncmp(argv[i], "overlay4=", 9) && inet_pton(AF_INET, argv[i] + 9, &fresh.overlay4) == 1)
				continue;
			if (!strncmp(argv[i], "overlay6=", 9) && inet_pton(AF_INET6, argv[i] + 9, &fresh.overlay6) == 1)
				continue;
			if (!strncmp(argv[i], "name=", 5) && config_name_ok(argv[i] + 5, sizeof(fresh.name) - 1)) {
				strcpy(fresh.name, argv[i] + 5);
				continue;
			}
			if (!strncmp(argv[i], "zone=", 5) && config_name_ok(argv[i] + 5, ZONE_NAME_LEN - 1)) {
				if (!(zone = zone_index(r, argv[i] + 5)))
					return (void)REPLY("{\"error\":\"more than %u zones\"}", ZONES_MAX);
				continue;
			}
			return (void)REPLY("{\"error\":\"bad argument %s\"}", argv[i]);
		}
		e = &r->gateway[id];
		if (e->configured && memcmp(e->public_key, key, WG_KEY_LEN))
			unbind_peer(gw, e);
		memcpy(e->public_key, key, WG_KEY_LEN);
		e->overlay4 = fresh.overlay4;
		e->overlay6 = fresh.overlay6;
		memcpy(e->name, fresh.name, sizeof(e->name));
		atomic_store(&e->zone, zone);
		e->configured = true;
		bind_peer(r, gw, id);
		REPLY("{\"ok\":true}");
	} else if (argc == 2 && !strcmp(argv[0], "del")) {
		if (!parse_id(argv[1], &id))
			return (void)REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		e = &r->gateway[id];
		unbind_peer(gw, e);
		atomic_store(&e->path, 0);
		atomic_store(&e->zone, 0);
		atomic_store(&e->link_down, false);
		e->configured = false;
		REPLY("{\"ok\":true}");
	} else {
		REPLY("{\"error\":\"usage: gateway self ID | gateway set ID PUBKEY [overlay4=A] [overlay6=A] [name=N] [zone=Z] | gateway del ID\"}");
	}
}

/* Printable ASCII, no quote or backslash: safe to quote back in a reply. */
static bool arg_printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

void routes_command(struct routes *r, struct gateway *gw, char *line, char *out, size_t outlen)
{
	char *argv[16];
	int argc = 0;

	for (char *tok = strtok(line, " \t"); tok && argc < 16; tok = strtok(NULL, " \t"))
		argv[argc++] = tok;
	/* Replies quote arguments back; none needs more than printable ASCII. */
	for (int i = 0; i < argc; i++)
		if (!arg_printable(argv[i]))
			return (void)REPLY("{\"error\":\"argument %d: only printable ASCII without quotes or backslashes\"}", i + 1);
	if (argc < 1) {
		REPLY("{\"error\":\"empty request\"}");
	} else if (!strcmp(argv[0], "route")) {
		cmd_route(r, argv + 1, argc - 1, out, outlen);
	} else if (!strcmp(argv[0], "path")) {
		cmd_path(r, argv + 1, argc - 1, out, outlen);
	} else if (!strcmp(argv[0], "hop_limit")) {
		cmd_hop_limit(r, argv + 1, argc - 1, out, outlen);
	} else if (!strcmp(argv[0], "residency")) {
		cmd_residency(r, argv + 1, argc - 1, out, outlen);
	} else if (!strcmp(argv[0], "link")) {
		cmd_link(r, argv + 1, argc - 1, out, outlen);
	} else if (!strcmp(argv[0], "gateway")) {
		cmd_gateway(r, gw, argv + 1, argc - 1, out, outlen);
	} else {
		REPLY("{\"error\":\"unknown command\"}");
	}
}

/* ---- dumps (JSON, one line) ---- */

char *routes_dump_json(struct routes *r, const char *what)
{
	struct textbuf b = { .s = NULL };
	char buf[INET6_ADDRSTRLEN], key[45];
	bool first = true;

	if (!strcmp(what, "routes")) {
		textbuf_printf(&b, "{\"routes\":[");
		for (size_t i = 0; i < r->store.cap; i++) {
			const struct route *e = &r->store.slot[i];

			if (!e->family)
				continue;
			inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, buf, sizeof(buf));
			textbuf_printf(&b, "%s{\"prefix\":\"%s/%u\",\"gateway\":%u}", first ? "" : ",", buf,
			       e->depth, e->dst_gw);
			first = false;
		}
		textbuf_printf(&b, "]}");
	} else {
		textbuf_printf(&b, "{\"self\":%u,\"hop_limit\":%u,\"hop_limit_ceiling\":%u,"
			       "\"hop_limit_pushed\":%u,\"residency\":%s,\"gateways\":[",
			       r->self, routes_hop_limit(r), r->hop_ceiling, r->hop_pushed,
			       atomic_load(&r->residency) ? "true" : "false");
		for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
			const struct gw_entry *e = &r->gateway[id];
			char o4[INET_ADDRSTRLEN], o6[INET6_ADDRSTRLEN], path[64];
			unsigned hops = path_json(r, (uint16_t)id, path, sizeof(path));

			if (!e->configured)
				continue;
			wg_key_to_base64(key, e->public_key);
			inet_ntop(AF_INET, &e->overlay4, o4, sizeof(o4));
			inet_ntop(AF_INET6, &e->overlay6, o6, sizeof(o6));
			textbuf_printf(&b, "%s{\"id\":%u,\"name\":", first ? "" : ",", id);
			textbuf_json_string(&b, e->name);
			textbuf_printf(&b, ",\"public_key\":\"%s\",\"bound\":%s,"
				   "\"via\":%u,\"hops\":%u,\"path\":%s,\"overlay4\":\"%s\",\"overlay6\":\"%s\",\"zone\":",
			       key, atomic_load(&e->peer) ? "true" : "false", first_hop(r, (uint16_t)id), hops,
			       path, o4, o6);
			/* Last: consumers that match the fields before it by
			 * position (tests/netns/meshd_rotate.sh) read on. */
			textbuf_json_string(&b, e->zone ? r->zone_name[e->zone - 1] : "");
			textbuf_printf(&b, ",\"link\":\"%s\"}", atomic_load(&e->link_down) ? "down" : "up");
			first = false;
		}
		textbuf_printf(&b, "]}");
	}
	return textbuf_take(&b);
}
