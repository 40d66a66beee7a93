// SPDX-License-Identifier: MIT
/*
 * Cryptokey routing (tunnels/allowedips.c): longest-prefix match for IPv4 and
 * IPv6, prefix ownership moving between peers, removal, the publish-on-commit
 * rule, per-peer listing, and a randomized comparison against a linear scan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "wg.h"

/* ---- small helpers ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: deterministic for a fixed seed */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static size_t alen(sa_family_t family)
{
	return family == AF_INET ? 4 : 16;
}

static unsigned abits(sa_family_t family)
{
	return family == AF_INET ? 32 : 128;
}

static void parse(sa_family_t family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

static void mask_addr(sa_family_t family, uint8_t a[16], unsigned cidr)
{
	for (unsigned i = 0; i < alen(family); i++) {
		unsigned lo = i * 8;

		if (cidr <= lo)
			a[i] = 0;
		else if (cidr < lo + 8)
			a[i] &= (uint8_t)(0xff << (lo + 8 - cidr));
	}
}

static bool prefix_has(sa_family_t family, const uint8_t *net, unsigned cidr, const uint8_t *addr)
{
	for (unsigned i = 0; i < alen(family) && cidr > i * 8; i++) {
		unsigned bits = cidr - i * 8 >= 8 ? 8 : cidr - i * 8;
		uint8_t m = (uint8_t)(0xff << (8 - bits));

		if ((net[i] ^ addr[i]) & m)
			return false;
	}
	return true;
}

static struct wg_peer *new_peer(struct wg_device *dev)
{
	uint8_t pub[WG_KEY_LEN];
	struct wg_peer *p;

	randombytes_buf(pub, sizeof(pub));
	p = wg_peer_add(dev, pub);
	assert_non_null(p);
	return p;
}

static struct wg_device *new_dev(void)
{
	struct wg_device *dev = wg_device_new(NULL, 10);

	assert_non_null(dev);
	return dev;
}

static int add(struct wg_peer *p, sa_family_t family, const char *s, uint8_t cidr)
{
	uint8_t a[16];

	parse(family, s, a);
	return wg_peer_allowedip_add(p, family, a, cidr);
}

static int del(struct wg_peer *p, sa_family_t family, const char *s, uint8_t cidr)
{
	uint8_t a[16];

	parse(family, s, a);
	return wg_peer_allowedip_remove(p, family, a, cidr);
}

static struct wg_peer *look(struct wg_device *dev, sa_family_t family, const char *s)
{
	uint8_t a[16];

	parse(family, s, a);
	return wg_allowedips_lookup(dev, family, a);
}

/* What wg_aip_for_peer reported. */
#define MAX_LISTED 4096
struct listing {
	unsigned n;
	struct {
		sa_family_t family;
		uint8_t addr[16];
		uint8_t cidr;
	} e[MAX_LISTED];
};

static void collect(void *arg, sa_family_t family, const uint8_t *addr, uint8_t cidr)
{
	struct listing *l = arg;

	assert_true(l->n < MAX_LISTED);
	assert_true(family == AF_INET || family == AF_INET6);
	memset(l->e[l->n].addr, 0, 16);
	memcpy(l->e[l->n].addr, addr, alen(family));
	l->e[l->n].family = family;
	l->e[l->n].cidr = cidr;
	l->n++;
}

static struct listing *list_of(struct wg_device *dev, struct wg_peer *p)
{
	struct listing *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	wg_aip_for_peer(&dev->allowedips, p, collect, l);
	return l;
}

static bool entry_equal(const struct listing *l, unsigned i, unsigned j)
{
	return l->e[i].family == l->e[j].family && l->e[i].cidr == l->e[j].cidr &&
	       !memcmp(l->e[i].addr, l->e[j].addr, 16);
}

/* A prefix is listed once, whatever order (insertion order) it comes in. */
static void assert_listing_unique(const struct listing *l)
{
	for (unsigned i = 0; i < l->n; i++)
		for (unsigned j = i + 1; j < l->n; j++)
			assert_false(entry_equal(l, i, j));
}

static bool listing_has(const struct listing *l, sa_family_t family, const char *s, uint8_t cidr)
{
	uint8_t a[16];

	parse(family, s, a);
	for (unsigned i = 0; i < l->n; i++)
		if (l->e[i].family == family && l->e[i].cidr == cidr &&
		    !memcmp(l->e[i].addr, a, alen(family)))
			return true;
	return false;
}

static void split_net(const char *net, sa_family_t *family, char *addr, size_t len,
		      uint8_t *cidr)
{
	const char *slash = strchr(net, '/');

	assert_non_null(slash);
	snprintf(addr, len, "%.*s", (int)(slash - net), net);
	*cidr = (uint8_t)atoi(slash + 1);
	*family = strchr(addr, ':') ? AF_INET6 : AF_INET;
}

/* The listing of p is exactly the given prefixes ("addr/cidr" strings, either
 * family), in any order. */
static void assert_lists(struct wg_device *dev, struct wg_peer *p, const char *const *nets,
			 unsigned n)
{
	struct listing *l = list_of(dev, p);

	if (l->n != n)
		fail_msg("listing has %u prefixes, want %u", l->n, n);
	assert_listing_unique(l);
	for (unsigned i = 0; i < n; i++) {
		char buf[64];
		sa_family_t family;
		uint8_t cidr;

		split_net(nets[i], &family, buf, sizeof(buf), &cidr);
		if (!listing_has(l, family, buf, cidr))
			fail_msg("%s missing from the listing", nets[i]);
	}
	free(l);
}

#define LISTS(dev, p, ...)                                                                   \
	assert_lists(dev, p, (const char *const[]){ __VA_ARGS__ },                          \
		     sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define LISTS_NOTHING(dev, p) assert_lists(dev, p, NULL, 0)

/* ---- table-driven overlapping prefixes, in many insertion orders ---- */

struct pfx {
	const char *addr;
	uint8_t cidr;
	int peer;
};
struct probe {
	const char *addr;
	int peer; /* -1: no match */
};

#define NPEERS_FIXED 8

static void check_probes(struct wg_device *dev, struct wg_peer **peers, sa_family_t family,
			 const struct probe *probes, unsigned nprobes)
{
	for (unsigned i = 0; i < nprobes; i++) {
		struct wg_peer *want = probes[i].peer < 0 ? NULL : peers[probes[i].peer];
		struct wg_peer *got = look(dev, family, probes[i].addr);

		if (got != want)
			fail_msg("lookup %s: got peer %p, want %p (peer %d)", probes[i].addr,
				 (void *)got, (void *)want, probes[i].peer);
	}
}

static void run_overlap(sa_family_t family, const struct pfx *pf, unsigned npf,
			const struct probe *probes, unsigned nprobes, unsigned orders)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *peers[NPEERS_FIXED];
	unsigned order[32];
	sa_family_t other = family == AF_INET ? AF_INET6 : AF_INET;
	uint8_t zero[16] = { 0 };

	assert_true(npf <= 32);
	for (unsigned i = 0; i < NPEERS_FIXED; i++)
		peers[i] = new_peer(dev);
	for (unsigned i = 0; i < npf; i++)
		order[i] = i;
	for (unsigned round = 0; round < orders; round++) {
		/* A different insertion order each round (the first is as listed,
		 * the second reversed), on a table emptied by clearing every peer. */
		if (round == 1) {
			for (unsigned i = 0; i < npf; i++)
				order[i] = npf - 1 - i;
		} else if (round > 1) {
			for (unsigned i = npf - 1; i > 0; i--) {
				unsigned j = rnd_below(i + 1), t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
		}
		for (unsigned i = 0; i < NPEERS_FIXED; i++)
			wg_peer_allowedips_clear(peers[i]);
		assert_null(dev->allowedips.root[0]);
		assert_null(dev->allowedips.root[1]);
		for (unsigned i = 0; i < npf; i++)
			assert_int_equal(add(peers[pf[order[i]].peer], family, pf[order[i]].addr,
					     pf[order[i]].cidr),
					 0);
		wg_device_commit_allowedips(dev);
		check_probes(dev, peers, family, probes, nprobes);
		/* The other family's table is separate: nothing there. */
		assert_null(wg_allowedips_lookup(dev, other, zero));
		assert_non_null(dev->allowedips.root[family == AF_INET ? 0 : 1]);
		assert_null(dev->allowedips.root[family == AF_INET ? 1 : 0]);
	}
	wg_device_free(dev);
}

static void test_ipv4_overlapping(void **state)
{
	static const struct pfx pf[] = {
		{ "10.0.0.0", 8, 1 },      { "10.1.0.0", 16, 2 },    { "10.1.1.0", 24, 3 },
		{ "10.1.1.7", 32, 4 },     { "0.0.0.0", 0, 0 },      { "10.1.1.128", 25, 5 },
		{ "10.1.1.6", 31, 6 },     { "192.168.0.1", 32, 7 }, { "255.255.255.255", 32, 7 },
		{ "128.0.0.0", 1, 5 },     { "10.200.0.0", 16, 6 },
	};
	static const struct probe probes[] = {
		{ "10.1.1.7", 4 },        { "10.1.1.6", 6 },         { "10.1.1.8", 3 },
		{ "10.1.1.5", 3 },        { "10.1.1.0", 3 },         { "10.1.1.127", 3 },
		{ "10.1.1.128", 5 },      { "10.1.1.255", 5 },       { "10.1.0.255", 2 },
		{ "10.1.2.0", 2 },        { "10.1.255.255", 2 },     { "10.1.0.0", 2 },
		{ "10.0.255.255", 1 },    { "10.2.0.0", 1 },         { "10.255.255.255", 1 },
		{ "10.0.0.0", 1 },        { "10.200.3.4", 6 },       { "10.201.0.0", 1 },
		{ "11.0.0.0", 0 },        { "9.255.255.255", 0 },    { "0.0.0.0", 0 },
		{ "127.255.255.255", 0 }, { "128.0.0.0", 5 },        { "192.168.0.1", 7 },
		{ "192.168.0.0", 5 },     { "192.168.0.2", 5 },      { "255.255.255.255", 7 },
		{ "255.255.255.254", 5 },
	};

	(void)state;
	rng_state = 4;
	run_overlap(AF_INET, pf, sizeof(pf) / sizeof(pf[0]), probes,
		    sizeof(probes) / sizeof(probes[0]), 200);
}

/* The same nesting without a default route: unmatched addresses find nobody. */
static void test_ipv4_no_default(void **state)
{
	static const struct pfx pf[] = {
		{ "10.0.0.0", 8, 1 },
		{ "10.1.0.0", 16, 2 },
		{ "10.1.1.0", 24, 3 },
		{ "10.1.1.7", 32, 4 },
	};
	static const struct probe probes[] = {
		{ "10.1.1.7", 4 }, { "10.1.1.6", 3 }, { "10.1.2.1", 2 }, { "10.2.0.0", 1 },
		{ "11.0.0.0", -1 }, { "9.255.255.255", -1 }, { "0.0.0.0", -1 },
		{ "255.255.255.255", -1 }, { "138.1.1.7", -1 }, { "10.1.1.7", 4 },
	};

	(void)state;
	rng_state = 5;
	run_overlap(AF_INET, pf, sizeof(pf) / sizeof(pf[0]), probes,
		    sizeof(probes) / sizeof(probes[0]), 24);
}

static void test_ipv6_overlapping(void **state)
{
	static const struct pfx pf[] = {
		{ "2001:db8::", 32, 1 },
		{ "2001:db8:1::", 48, 2 },
		{ "2001:db8:1:2::", 64, 3 },
		{ "2001:db8:1:2::7", 128, 4 },
		{ "::", 0, 0 },
		{ "2001:db8:1:2:8000::", 65, 5 },    /* across the 64-bit word boundary */
		{ "2001:db8:1:2::6", 127, 6 },
		{ "2001:db8:1:2:0:1::", 96, 7 },
		{ "2001:db8:1:3::", 63, 7 },         /* host bit set: 2001:db8:1:2::/63 */
		{ "fe80::", 10, 5 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 6 },
		{ "8000::", 1, 7 },
	};
	static const struct probe probes[] = {
		{ "2001:db8:1:2::7", 4 },
		{ "2001:db8:1:2::6", 6 },
		{ "2001:db8:1:2::8", 3 },
		{ "2001:db8:1:2::5", 3 },
		{ "2001:db8:1:2:7fff:ffff:ffff:ffff", 3 },
		{ "2001:db8:1:2:8000::", 5 },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", 5 },
		{ "2001:db8:1:2:0:1:0:1", 7 },
		{ "2001:db8:1:2:0:1:ffff:ffff", 7 },
		{ "2001:db8:1:2:0:2::", 3 },
		{ "2001:db8:1:3::1", 7 },            /* /63 covers ...:2:: and ...:3:: */
		{ "2001:db8:1:4::", 2 },
		{ "2001:db8:1:ffff::", 2 },
		{ "2001:db8:2::", 1 },
		{ "2001:db8:ffff:ffff::", 1 },
		{ "2001:db9::", 0 },
		{ "2001:db7:ffff::", 0 },
		{ "::", 0 },
		{ "::1", 0 },
		{ "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "8000::", 7 },
		{ "fe80::1", 5 },
		{ "febf:ffff::", 5 },
		{ "fec0::", 7 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 7 },
	};

	(void)state;
	rng_state = 6;
	run_overlap(AF_INET6, pf, sizeof(pf) / sizeof(pf[0]), probes,
		    sizeof(probes) / sizeof(probes[0]), 200);
}

/* An IPv4 address and the IPv6 address with the same leading bytes live in
 * different tables. */
static void test_families_separate(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p4 = new_peer(dev), *p6 = new_peer(dev);
	uint8_t a[16] = { 10, 1, 2, 3 };

	(void)state;
	assert_int_equal(add(p4, AF_INET, "10.1.2.3", 32), 0);
	assert_int_equal(add(p6, AF_INET6, "a01:203::", 32), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(wg_allowedips_lookup(dev, AF_INET, a), p4);
	assert_ptr_equal(wg_allowedips_lookup(dev, AF_INET6, a), p6);
	assert_int_equal(del(p4, AF_INET, "10.1.2.3", 32), 0);
	wg_device_commit_allowedips(dev);
	assert_null(wg_allowedips_lookup(dev, AF_INET, a));
	assert_ptr_equal(wg_allowedips_lookup(dev, AF_INET6, a), p6);
	/* Nothing but the two families. */
	assert_null(wg_allowedips_lookup(dev, AF_UNSPEC, a));
	assert_int_equal(wg_peer_allowedip_add(p4, AF_UNSPEC, a, 8), -EINVAL);
	assert_int_equal(wg_peer_allowedip_add(p4, AF_INET, a, 33), -EINVAL);
	assert_int_equal(wg_peer_allowedip_add(p6, AF_INET6, a, 129), -EINVAL);
	assert_int_equal(wg_peer_allowedip_remove(p4, AF_INET, a, 33), -EINVAL);
	assert_int_equal(wg_aip_insert(&dev->allowedips, AF_INET, a, 8, NULL), -EINVAL);
	assert_int_equal(wg_aip_insert(&dev->allowedips, AF_INET, NULL, 8, p4), -EINVAL);
	wg_device_commit_allowedips(dev);
	assert_null(wg_allowedips_lookup(dev, AF_INET, a));
	assert_ptr_equal(wg_allowedips_lookup(dev, AF_INET6, a), p6);
	wg_device_free(dev);
}


/* Host bits beyond the prefix length are ignored: stored, listed, looked up and
 * removed as the masked prefix. */
static void test_noncanonical(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p1 = new_peer(dev), *p2 = new_peer(dev);

	(void)state;
	assert_int_equal(add(p1, AF_INET, "10.1.2.3", 16), 0);
	assert_int_equal(add(p1, AF_INET, "1.2.3.4", 0), 0);
	assert_int_equal(add(p1, AF_INET, "192.168.255.255", 17), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8:1:2:3:4:5:6", 64), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8:1:2:ffff:4:5:6", 65), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:dbf:ffff::1", 29), 0);
	wg_device_commit_allowedips(dev);
	LISTS(dev, p1, "0.0.0.0/0", "10.1.0.0/16", "192.168.128.0/17", "2001:db8::/29",
	      "2001:db8:1:2::/64", "2001:db8:1:2:8000::/65");
	/* Lookups behave as for the masked prefixes. */
	assert_ptr_equal(look(dev, AF_INET, "10.1.0.0"), p1);
	assert_ptr_equal(look(dev, AF_INET, "10.1.255.255"), p1);
	assert_ptr_equal(look(dev, AF_INET, "192.168.128.0"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:dbf:ffff:ffff::"), p1);
	assert_null(look(dev, AF_INET6, "2001:dc0::"));
	assert_null(look(dev, AF_INET6, "2001:db7:ffff::"));

	/* 10.1.0.0/16 and 10.1.2.3/16 given to p2 afterwards: the very same
	 * prefix, so it moves rather than being added twice. */
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.3"), p1);
	assert_int_equal(add(p2, AF_INET, "10.1.99.99", 16), 0);
	wg_device_commit_allowedips(dev);
	LISTS(dev, p2, "10.1.0.0/16");
	LISTS(dev, p1, "0.0.0.0/0", "192.168.128.0/17", "2001:db8::/29", "2001:db8:1:2::/64",
	      "2001:db8:1:2:8000::/65");
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.3"), p2);
	assert_ptr_equal(look(dev, AF_INET, "10.2.2.3"), p1);

	/* Removal with host bits set removes the masked prefix; only its owner may. */
	assert_int_equal(del(p1, AF_INET, "10.1.7.7", 16), -ENOENT);
	assert_int_equal(del(p2, AF_INET, "10.1.7.7", 16), 0);
	assert_int_equal(del(p1, AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:ffff", 64), 0);
	wg_device_commit_allowedips(dev);
	LISTS_NOTHING(dev, p2);
	LISTS(dev, p1, "0.0.0.0/0", "192.168.128.0/17", "2001:db8::/29",
	      "2001:db8:1:2:8000::/65");
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.3"), p1);          /* the default route */
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::1"), p1);  /* the /29 */
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2:8000::1"), p1);
	wg_device_free(dev);
}

/* Adding a prefix another peer owns moves it; the rest stays where it was. */
static void test_readd_moves(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p1 = new_peer(dev), *p2 = new_peer(dev), *p3 = new_peer(dev);

	(void)state;
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.1.0", 24), 0);
	assert_int_equal(add(p2, AF_INET, "192.168.0.1", 32), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p3, AF_INET6, "2001:db8::1", 128), 0);
	assert_int_equal(add(p3, AF_INET6, "::", 0), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.2.0.0"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p3);
	assert_ptr_equal(look(dev, AF_INET6, "3000::"), p3);

	assert_int_equal(add(p2, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p2, AF_INET, "10.0.0.0", 8), 0); /* again: no duplicate */
	assert_int_equal(add(p2, AF_INET6, "2001:db8::1", 128), 0);
	assert_int_equal(add(p1, AF_INET6, "::", 0), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.2.0.0"), p2);
	assert_ptr_equal(look(dev, AF_INET, "10.0.0.0"), p2);
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.0"), p1);
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p1);
	assert_ptr_equal(look(dev, AF_INET, "192.168.0.1"), p2);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p2);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::2"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "3000::"), p1);
	LISTS(dev, p1, "10.1.0.0/16", "10.1.1.0/24", "::/0", "2001:db8::/32");
	LISTS(dev, p2, "10.0.0.0/8", "192.168.0.1/32", "2001:db8::1/128");
	LISTS_NOTHING(dev, p3);
	/* The old owner can no longer remove what moved. */
	assert_int_equal(del(p1, AF_INET, "10.0.0.0", 8), -ENOENT);
	assert_int_equal(del(p3, AF_INET6, "2001:db8::1", 128), -ENOENT);
	assert_int_equal(del(p3, AF_INET6, "::", 0), -ENOENT);
	/* Moving it back works the same way. */
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 8), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.2.0.0"), p1);
	LISTS(dev, p2, "192.168.0.1/32", "2001:db8::1/128");
	wg_device_free(dev);
}

/* Everything observable about a table: every peer's listing and a set of
 * lookups. Used to show that a failed operation changed nothing. */
#define SNAP_PROBES 64
struct snapshot {
	struct listing *lists[NPEERS_FIXED];
	struct wg_peer *found[SNAP_PROBES];
};

static const char *const snap_v4[] = {
	"10.0.0.0", "10.1.0.0", "10.1.0.1", "10.1.1.0", "10.1.1.1", "10.1.1.255", "10.1.2.0",
	"10.1.3.0", "10.1.128.0", "10.2.0.0", "11.0.0.0", "0.0.0.0", "255.255.255.255",
	"10.1.1.7", "10.1.1.6", "192.168.1.1",
};
static const char *const snap_v6[] = {
	"2001:db8::", "2001:db8:1::", "2001:db8:1::1", "2001:db8:1:1::", "2001:db8:1:2::",
	"2001:db8:1:2::7", "2001:db8:1:2::6", "2001:db8:2::", "::", "ffff::", "2001:db8:1:3::",
};

static void take_snapshot(struct wg_device *dev, struct wg_peer **peers, unsigned npeers,
			  struct snapshot *s)
{
	unsigned k = 0;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < npeers; i++)
		s->lists[i] = list_of(dev, peers[i]);
	for (unsigned i = 0; i < sizeof(snap_v4) / sizeof(snap_v4[0]); i++)
		s->found[k++] = look(dev, AF_INET, snap_v4[i]);
	for (unsigned i = 0; i < sizeof(snap_v6) / sizeof(snap_v6[0]); i++)
		s->found[k++] = look(dev, AF_INET6, snap_v6[i]);
}

static void assert_same_snapshot(struct wg_device *dev, struct wg_peer **peers, unsigned npeers,
				 struct snapshot *before)
{
	struct snapshot now;

	take_snapshot(dev, peers, npeers, &now);
	for (unsigned i = 0; i < npeers; i++) {
		assert_int_equal(now.lists[i]->n, before->lists[i]->n);
		assert_memory_equal(now.lists[i]->e, before->lists[i]->e,
				    now.lists[i]->n * sizeof(now.lists[i]->e[0]));
		free(now.lists[i]);
	}
	assert_memory_equal(now.found, before->found, sizeof(now.found));
}

static void free_snapshot(struct snapshot *s, unsigned npeers)
{
	for (unsigned i = 0; i < npeers; i++)
		free(s->lists[i]);
}

static void test_remove(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p[4];
	struct snapshot before;

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		p[i] = new_peer(dev);
	assert_int_equal(add(p[1], AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p[2], AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(add(p[3], AF_INET, "10.1.1.0", 24), 0);
	assert_int_equal(add(p[3], AF_INET, "10.1.2.0", 24), 0); /* a branch at 10.1.0.0/22 */
	assert_int_equal(add(p[0], AF_INET, "10.1.1.7", 32), 0);
	assert_int_equal(add(p[1], AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p[2], AF_INET6, "2001:db8:1::", 48), 0);
	assert_int_equal(add(p[3], AF_INET6, "2001:db8:1:2::7", 128), 0);
	assert_int_equal(add(p[3], AF_INET6, "2001:db8:1:2::6", 128), 0); /* branch at /127 */
	wg_device_commit_allowedips(dev);
	assert_false(dev->allowedips.dirty);
	take_snapshot(dev, p, 4, &before);

	/* None of these names a prefix its peer owns: each fails and leaves the
	 * table, and the need to publish, as they were. */
	assert_int_equal(del(p[2], AF_INET, "10.1.0.0", 17), -ENOENT);  /* no such length */
	assert_int_equal(del(p[2], AF_INET, "10.1.0.0", 15), -ENOENT);
	assert_int_equal(del(p[2], AF_INET, "10.0.0.0", 8), -ENOENT);   /* p1's */
	assert_int_equal(del(p[2], AF_INET, "10.1.1.0", 24), -ENOENT);  /* p3's */
	assert_int_equal(del(p[0], AF_INET, "10.1.1.0", 24), -ENOENT);
	assert_int_equal(del(p[3], AF_INET, "10.1.0.0", 22), -ENOENT);  /* only a branch */
	assert_int_equal(del(p[3], AF_INET, "10.1.1.0", 25), -ENOENT);
	assert_int_equal(del(p[3], AF_INET, "10.1.1.7", 32), -ENOENT);  /* p0's */
	assert_int_equal(del(p[0], AF_INET, "10.1.1.6", 32), -ENOENT);
	assert_int_equal(del(p[1], AF_INET, "11.0.0.0", 8), -ENOENT);
	assert_int_equal(del(p[1], AF_INET, "0.0.0.0", 0), -ENOENT);
	assert_int_equal(del(p[1], AF_INET6, "a00::", 8), -ENOENT); /* 10/8's bits, as IPv6 */
	assert_int_equal(del(p[1], AF_INET6, "::", 0), -ENOENT);
	assert_int_equal(del(p[2], AF_INET6, "2001:db8::", 32), -ENOENT);
	assert_int_equal(del(p[3], AF_INET6, "2001:db8:1:2::6", 127), -ENOENT);
	assert_int_equal(del(p[3], AF_INET6, "2001:db8:1:2::", 64), -ENOENT);
	assert_int_equal(del(p[1], AF_INET6, "2001:db8::", 33), -ENOENT);
	assert_false(dev->allowedips.dirty);
	assert_same_snapshot(dev, p, 4, &before);
	wg_device_commit_allowedips(dev);
	assert_same_snapshot(dev, p, 4, &before);
	free_snapshot(&before, 4);

	/* Removing a middle prefix uncovers the shorter one around it. */
	assert_int_equal(del(p[2], AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(del(p[2], AF_INET, "10.1.0.0", 16), -ENOENT); /* only once */
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.1.3.0"), p[1]);
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p[3]);
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.1"), p[3]);
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.7"), p[0]);
	LISTS(dev, p[2], "2001:db8:1::/48");
	/* The outermost one: what it alone covered now has no owner. */
	assert_int_equal(del(p[1], AF_INET, "10.0.0.0", 8), 0);
	wg_device_commit_allowedips(dev);
	assert_null(look(dev, AF_INET, "10.1.3.0"));
	assert_null(look(dev, AF_INET, "10.0.0.0"));
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p[3]);
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.7"), p[0]);
	/* A leaf, then one side of a branch. */
	assert_int_equal(del(p[0], AF_INET, "10.1.1.7", 32), 0);
	assert_int_equal(del(p[3], AF_INET, "10.1.1.0", 24), 0);
	wg_device_commit_allowedips(dev);
	assert_null(look(dev, AF_INET, "10.1.1.7"));
	assert_null(look(dev, AF_INET, "10.1.1.1"));
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.200"), p[3]);
	LISTS(dev, p[3], "10.1.2.0/24", "2001:db8:1:2::6/128", "2001:db8:1:2::7/128");

	/* IPv6 likewise. */
	assert_int_equal(del(p[3], AF_INET6, "2001:db8:1:2::7", 128), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::7"), p[2]);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::6"), p[3]);
	assert_int_equal(del(p[2], AF_INET6, "2001:db8:1::", 48), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::7"), p[1]);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1:2::6"), p[3]);

	/* Removing the rest empties the tries completely. */
	assert_int_equal(del(p[3], AF_INET, "10.1.2.0", 24), 0);
	assert_int_equal(del(p[3], AF_INET6, "2001:db8:1:2::6", 128), 0);
	assert_int_equal(del(p[1], AF_INET6, "2001:db8::", 32), 0);
	assert_null(dev->allowedips.root[0]);
	assert_null(dev->allowedips.root[1]);
	wg_device_commit_allowedips(dev);
	for (unsigned i = 0; i < 4; i++)
		LISTS_NOTHING(dev, p[i]);
	assert_null(look(dev, AF_INET, "10.1.2.200"));
	assert_null(look(dev, AF_INET6, "2001:db8::"));
	wg_device_free(dev);
}

/* Removing a prefix that does not exist, when the same peer owns another
 * prefix of the same length where the search ends, must fail and leave that
 * other prefix alone (also when it is the only node of the trie). */
static void test_remove_same_length_neighbour(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p = new_peer(dev);

	(void)state;
	/* Below another prefix. */
	assert_int_equal(add(p, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p, AF_INET, "10.1.1.7", 32), 0);
	assert_int_equal(add(p, AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p, AF_INET6, "2001:db8::7", 128), 0);
	wg_device_commit_allowedips(dev);
	assert_int_equal(del(p, AF_INET, "10.1.1.6", 32), -ENOENT);
	assert_int_equal(del(p, AF_INET, "10.1.1.8", 32), -ENOENT);
	assert_int_equal(del(p, AF_INET6, "2001:db8::6", 128), -ENOENT);
	assert_int_equal(del(p, AF_INET, "11.0.0.0", 8), -ENOENT);
	assert_int_equal(del(p, AF_INET6, "2001:db9::", 32), -ENOENT);
	wg_device_commit_allowedips(dev);
	LISTS(dev, p, "10.0.0.0/8", "10.1.1.7/32", "2001:db8::/32", "2001:db8::7/128");
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.7"), p);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::7"), p);
	wg_peer_allowedips_clear(p);

	/* The only node: the search stops at the root without matching it. */
	assert_int_equal(add(p, AF_INET, "10.1.1.7", 32), 0);
	assert_int_equal(add(p, AF_INET6, "2001:db8::7", 128), 0);
	assert_int_equal(del(p, AF_INET, "10.1.1.6", 32), -ENOENT);
	assert_int_equal(del(p, AF_INET6, "2001:db8::6", 128), -ENOENT);
	wg_device_commit_allowedips(dev);
	LISTS(dev, p, "10.1.1.7/32", "2001:db8::7/128");
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.7"), p);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::7"), p);
	wg_device_free(dev);
}

/* Taking all of one peer's prefixes at once leaves the others' in place. */
static void test_remove_peer(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p1 = new_peer(dev), *p2 = new_peer(dev), *p3 = new_peer(dev);

	(void)state;
	/* p1 and p2 interleaved: p2's prefixes nest inside p1's and around them. */
	assert_int_equal(add(p1, AF_INET, "0.0.0.0", 0), 0);
	assert_int_equal(add(p2, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(add(p2, AF_INET, "10.1.1.0", 24), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.1.1", 32), 0);
	assert_int_equal(add(p1, AF_INET, "172.16.0.0", 12), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p2, AF_INET6, "2001:db8:1::", 48), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8:1::1", 128), 0);
	assert_int_equal(add(p3, AF_INET6, "2001:db8:1::2", 128), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p1);
	assert_ptr_equal(look(dev, AF_INET, "172.16.0.1"), p1);

	wg_peer_allowedips_clear(p1);
	/* Not yet published. */
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p1);
	LISTS_NOTHING(dev, p1);
	wg_device_commit_allowedips(dev);
	LISTS_NOTHING(dev, p1);
	LISTS(dev, p2, "10.0.0.0/8", "10.1.1.0/24", "2001:db8:1::/48");
	LISTS(dev, p3, "2001:db8:1::2/128");
	assert_ptr_equal(look(dev, AF_INET, "10.1.1.1"), p2);
	assert_ptr_equal(look(dev, AF_INET, "10.1.2.1"), p2);
	assert_null(look(dev, AF_INET, "172.16.0.1"));
	assert_null(look(dev, AF_INET, "11.0.0.0"));
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1::1"), p2);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1::2"), p3);
	assert_null(look(dev, AF_INET6, "2001:db8:2::"));
	/* Clearing a peer with nothing is harmless. */
	wg_peer_allowedips_clear(p1);

	/* The internal form does the same. */
	wg_aip_remove_peer(&dev->allowedips, p2);
	wg_device_commit_allowedips(dev);
	LISTS_NOTHING(dev, p2);
	LISTS(dev, p3, "2001:db8:1::2/128");
	assert_null(look(dev, AF_INET, "10.1.1.1"));
	assert_null(dev->allowedips.root[0]);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8:1::2"), p3);
	assert_null(look(dev, AF_INET6, "2001:db8:1::1"));
	wg_aip_remove_peer(&dev->allowedips, p3);
	assert_null(dev->allowedips.root[1]);
	wg_device_commit_allowedips(dev);
	assert_null(look(dev, AF_INET6, "2001:db8:1::2"));
	/* And the peers can be given prefixes again. */
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 8), 0);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.9.9.9"), p1);
	wg_device_free(dev);
}

/* Data threads see a change only once it is committed. */
static void test_commit_publishes(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p1 = new_peer(dev), *p2 = new_peer(dev);
	struct wg_aip_table *t4, *t6;

	(void)state;
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8::", 32), 0);
	/* Nothing published yet. */
	assert_null(look(dev, AF_INET, "10.1.0.1"));
	assert_null(look(dev, AF_INET6, "2001:db8::1"));
	LISTS(dev, p1, "10.0.0.0/8", "2001:db8::/32"); /* the control side knows */
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.1.0.1"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p1);

	/* Add, move and remove without committing: lookups keep the old view. */
	assert_int_equal(add(p2, AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(add(p2, AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p2, AF_INET, "192.168.0.0", 16), 0);
	assert_ptr_equal(look(dev, AF_INET, "10.1.0.1"), p1);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p1);
	assert_null(look(dev, AF_INET, "192.168.0.1"));
	assert_int_equal(del(p1, AF_INET, "10.0.0.0", 8), 0);
	assert_ptr_equal(look(dev, AF_INET, "10.2.0.0"), p1);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(look(dev, AF_INET, "10.1.0.1"), p2);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p2);
	assert_ptr_equal(look(dev, AF_INET, "192.168.0.1"), p2);
	assert_null(look(dev, AF_INET, "10.2.0.0"));

	/* A commit with nothing changed keeps the published tables. */
	t4 = atomic_load(&dev->allowedips.published[0]);
	t6 = atomic_load(&dev->allowedips.published[1]);
	assert_non_null(t4);
	assert_non_null(t6);
	wg_device_commit_allowedips(dev);
	assert_ptr_equal(atomic_load(&dev->allowedips.published[0]), t4);
	assert_ptr_equal(atomic_load(&dev->allowedips.published[1]), t6);

	/* Clearing is also invisible until committed; then lookups find nothing. */
	wg_peer_allowedips_clear(p2);
	assert_ptr_equal(look(dev, AF_INET, "10.1.0.1"), p2);
	assert_ptr_equal(look(dev, AF_INET6, "2001:db8::1"), p2);
	wg_device_commit_allowedips(dev);
	assert_null(look(dev, AF_INET, "10.1.0.1"));
	assert_null(look(dev, AF_INET6, "2001:db8::1"));
	assert_null(atomic_load(&dev->allowedips.published[0]));
	assert_null(atomic_load(&dev->allowedips.published[1]));
	wg_device_free(dev);
}

/* wg_aip_for_peer: exactly the peer's prefixes, both families, in order. */
static void test_for_peer(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *p1 = new_peer(dev), *p2 = new_peer(dev), *p3 = new_peer(dev);
	struct wg_peer *p4 = new_peer(dev);

	(void)state;
	LISTS_NOTHING(dev, p1);
	/* Added out of order and interleaved with the other peers'. */
	assert_int_equal(add(p1, AF_INET6, "2001:db8:1::", 48), 0);
	assert_int_equal(add(p2, AF_INET, "10.0.0.0", 8), 0);
	assert_int_equal(add(p1, AF_INET, "192.168.1.0", 24), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.0.0", 16), 0);
	assert_int_equal(add(p2, AF_INET, "10.1.1.0", 24), 0);
	assert_int_equal(add(p1, AF_INET, "10.1.1.128", 25), 0);
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 16), 0);
	assert_int_equal(add(p1, AF_INET, "10.0.0.0", 24), 0);
	assert_int_equal(add(p1, AF_INET6, "::", 0), 0);
	assert_int_equal(add(p2, AF_INET6, "2001:db8::", 32), 0);
	assert_int_equal(add(p1, AF_INET6, "2001:db8:1::ff", 128), 0);
	assert_int_equal(add(p1, AF_INET, "0.0.0.0", 0), 0);
	assert_int_equal(add(p1, AF_INET, "255.255.255.255", 32), 0);
	assert_int_equal(add(p3, AF_INET, "10.1.1.129", 32), 0);
	LISTS(dev, p1, "0.0.0.0/0", "10.0.0.0/16", "10.0.0.0/24", "10.1.0.0/16", "10.1.1.128/25",
	      "192.168.1.0/24", "255.255.255.255/32", "::/0", "2001:db8:1::/48",
	      "2001:db8:1::ff/128");
	LISTS(dev, p2, "10.0.0.0/8", "10.1.1.0/24", "2001:db8::/32");
	LISTS(dev, p3, "10.1.1.129/32");
	/* The listing is of the control side: no commit needed. */
	assert_null(atomic_load(&dev->allowedips.published[0]));
	/* A peer the table never heard of has nothing. */
	LISTS_NOTHING(dev, p4);
	wg_device_free(dev);
}

/* ---- randomized comparison with a linear longest-match ---- */

#define RND_PEERS 8
#define RND_INSERTS 2000
#define RND_LOOKUPS 20000
#define RND_BASES 12

struct ref_entry {
	sa_family_t family;
	uint8_t cidr;
	int peer;
	uint8_t addr[16]; /* masked */
};

struct ref {
	unsigned n;
	struct ref_entry e[RND_INSERTS];
};

static uint8_t bases[2][RND_BASES][16];

static int ref_find(const struct ref *r, sa_family_t family, const uint8_t *addr, uint8_t cidr)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->e[i].family == family && r->e[i].cidr == cidr &&
		    !memcmp(r->e[i].addr, addr, 16))
			return (int)i;
	return -1;
}

static void ref_del(struct ref *r, unsigned i)
{
	r->e[i] = r->e[--r->n];
}

static int ref_lookup(const struct ref *r, sa_family_t family, const uint8_t *addr)
{
	int best = -1, best_cidr = -1;

	for (unsigned i = 0; i < r->n; i++)
		if (r->e[i].family == family && (int)r->e[i].cidr > best_cidr &&
		    prefix_has(family, r->e[i].addr, r->e[i].cidr, addr)) {
			best = r->e[i].peer;
			best_cidr = r->e[i].cidr;
		}
	return best;
}

static void random_bits_after(sa_family_t family, uint8_t a[16], unsigned keep)
{
	for (unsigned b = keep; b < abits(family); b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if (rnd() & 1)
			a[b / 8] |= m;
		else
			a[b / 8] &= (uint8_t)~m;
	}
}

/* Prefixes clustered around a few bases so that they nest and collide. */
static void random_prefix(sa_family_t *family, uint8_t a[16], uint8_t *cidr)
{
	unsigned bits;

	*family = rnd() & 1 ? AF_INET : AF_INET6;
	bits = abits(*family);
	memset(a, 0, 16);
	memcpy(a, bases[*family == AF_INET ? 0 : 1][rnd_below(RND_BASES)], alen(*family));
	random_bits_after(*family, a, rnd_below(bits + 1));
	if (rnd_below(10) < 3)
		*cidr = (uint8_t)rnd_below(bits + 1);
	else
		*cidr = (uint8_t)(bits / 2 + rnd_below(bits / 2 + 1));
}

static void random_address(const struct ref *r, sa_family_t family, uint8_t a[16])
{
	unsigned k = rnd_below(10), bits = abits(family);

	memset(a, 0, 16);
	if (k < 6 && r->n) {
		/* Inside some prefix of this family (if there is one). */
		for (int tries = 0; tries < 16; tries++) {
			const struct ref_entry *e = &r->e[rnd_below(r->n)];

			if (e->family != family)
				continue;
			memcpy(a, e->addr, 16);
			random_bits_after(family, a, e->cidr);
			return;
		}
	}
	if (k < 8) {
		memcpy(a, bases[family == AF_INET ? 0 : 1][rnd_below(RND_BASES)], alen(family));
		random_bits_after(family, a, rnd_below(bits + 1));
		return;
	}
	random_bits_after(family, a, 0);
}

/* count lookups of addresses drawn from addr_ref, expected per lookup_ref. */
static void compare_lookups(struct wg_device *dev, struct wg_peer **peers,
			    const struct ref *lookup_ref, const struct ref *addr_ref, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		sa_family_t family = i & 1 ? AF_INET6 : AF_INET;
		uint8_t a[16];
		int want;
		struct wg_peer *got;

		random_address(addr_ref, family, a);
		want = ref_lookup(lookup_ref, family, a);
		got = wg_allowedips_lookup(dev, family, a);
		if (got != (want < 0 ? NULL : peers[want])) {
			char s[INET6_ADDRSTRLEN];

			inet_ntop(family, a, s, sizeof(s));
			fail_msg("lookup %u of %s: got %p, want peer %d (%p)", i, s, (void *)got,
				 want, want < 0 ? NULL : (void *)peers[want]);
		}
	}
}

static void compare_listings(struct wg_device *dev, struct wg_peer **peers, const struct ref *r)
{
	for (int p = 0; p < RND_PEERS; p++) {
		struct listing *l = list_of(dev, peers[p]);
		unsigned want = 0;

		assert_listing_unique(l);
		for (unsigned i = 0; i < r->n; i++)
			if (r->e[i].peer == p)
				want++;
		assert_int_equal(l->n, want);
		for (unsigned i = 0; i < l->n; i++) {
			int k = ref_find(r, l->e[i].family, l->e[i].addr, l->e[i].cidr);

			assert_true(k >= 0);
			assert_int_equal(r->e[k].peer, p);
		}
		free(l);
	}
}

static void test_randomized(void **state)
{
	struct wg_device *dev = new_dev();
	struct wg_peer *peers[RND_PEERS];
	struct ref *r = calloc(1, sizeof(*r)), *committed = calloc(1, sizeof(*committed));
	unsigned inserts = 0, removes = 0, failed_removes = 0, moves = 0, clears = 0, ops = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(committed);
	rng_state = 0x5eed2024;
	for (int i = 0; i < RND_PEERS; i++)
		peers[i] = new_peer(dev);
	for (int f = 0; f < 2; f++)
		for (int b = 0; b < RND_BASES; b++)
			for (int i = 0; i < 16; i++)
				bases[f][b][i] = (uint8_t)rnd();

	while (inserts < RND_INSERTS) {
		unsigned op = rnd_below(100);
		sa_family_t family;
		uint8_t a[16], cidr;
		int peer, k;

		ops++;
		if (op < 60) {
			random_prefix(&family, a, &cidr);
			peer = (int)rnd_below(RND_PEERS);
			/* Given unmasked: the table must mask it. */
			assert_int_equal(wg_peer_allowedip_add(peers[peer], family, a, cidr), 0);
			mask_addr(family, a, cidr);
			k = ref_find(r, family, a, cidr);
			if (k >= 0) {
				moves += r->e[k].peer != peer;
				r->e[k].peer = peer;
			} else {
				struct ref_entry *e = &r->e[r->n++];

				e->family = family;
				e->cidr = cidr;
				e->peer = peer;
				memcpy(e->addr, a, 16);
			}
			inserts++;
		} else if (op < 82 && r->n) {
			/* An existing prefix, by its owner: with random host bits. */
			unsigned i = rnd_below(r->n);
			struct ref_entry e = r->e[i];

			random_bits_after(e.family, e.addr, e.cidr);
			assert_int_equal(wg_peer_allowedip_remove(peers[e.peer], e.family, e.addr,
								  e.cidr),
					 0);
			ref_del(r, i);
			removes++;
		} else if (op < 90 && r->n) {
			/* An existing prefix, by another peer: refused. */
			struct ref_entry *e = &r->e[rnd_below(r->n)];
			int other = (e->peer + 1 + (int)rnd_below(RND_PEERS - 1)) % RND_PEERS;

			assert_int_equal(wg_peer_allowedip_remove(peers[other], e->family, e->addr,
								  e->cidr),
					 -ENOENT);
			failed_removes++;
		} else if (op < 99) {
			/* Any prefix by any peer: succeeds exactly when it owns it. */
			int want;

			random_prefix(&family, a, &cidr);
			peer = (int)rnd_below(RND_PEERS);
			mask_addr(family, a, cidr);
			k = ref_find(r, family, a, cidr);
			want = k >= 0 && r->e[k].peer == peer ? 0 : -ENOENT;
			assert_int_equal(wg_peer_allowedip_remove(peers[peer], family, a, cidr), want);
			if (!want) {
				ref_del(r, (unsigned)k);
				removes++;
			} else {
				failed_removes++;
			}
		} else {
			peer = (int)rnd_below(RND_PEERS);
			if (clears & 1)
				wg_aip_remove_peer(&dev->allowedips, peers[peer]);
			else
				wg_peer_allowedips_clear(peers[peer]);
			for (unsigned i = r->n; i-- > 0;)
				if (r->e[i].peer == peer)
					ref_del(r, i);
			clears++;
		}
		if (ops % 250 == 0) {
			/* Before the commit the data path still sees the last one. */
			compare_lookups(dev, peers, committed, r, 300);
			wg_device_commit_allowedips(dev);
			memcpy(committed, r, sizeof(*r));
			compare_lookups(dev, peers, r, r, 300);
			compare_listings(dev, peers, r);
		}
	}
	/* The mix did what it was meant to. */
	assert_true(removes > 200);
	assert_true(failed_removes > 100);
	assert_true(moves > 10);
	assert_true(clears > 5);
	assert_true(r->n > 200);

	compare_lookups(dev, peers, committed, r, 1000);
	wg_device_commit_allowedips(dev);
	compare_lookups(dev, peers, r, r, RND_LOOKUPS);
	compare_listings(dev, peers, r);

	/* Take everything out one by one, in random order, and the tries are empty. */
	while (r->n) {
		unsigned i = rnd_below(r->n);

		assert_int_equal(wg_peer_allowedip_remove(peers[r->e[i].peer], r->e[i].family,
							  r->e[i].addr, r->e[i].cidr),
				 0);
		ref_del(r, i);
		if (r->n % 97 == 0) {
			wg_device_commit_allowedips(dev);
			compare_lookups(dev, peers, r, r, 200);
		}
	}
	assert_null(dev->allowedips.root[0]);
	assert_null(dev->allowedips.root[1]);
	wg_device_commit_allowedips(dev);
	compare_lookups(dev, peers, r, r, 1000);
	free(r);
	free(committed);
	wg_device_free(dev);
}

/* wg(8) shows a peer's allowed-ips in the order they were added (kernel and
 * wireguard-go keep a per-peer list); re-adding moves a prefix to the end. */
static void assert_order(struct wg_device *dev, struct wg_peer *p, const char *const *nets,
			 unsigned n)
{
	struct listing *l = list_of(dev, p);

	assert_int_equal(l->n, n);
	for (unsigned i = 0; i < n; i++) {
		char buf[64];
		sa_family_t family;
		uint8_t cidr, a[16] = { 0 };

		split_net(nets[i], &family, buf, sizeof(buf), &cidr);
		parse(family, buf, a);
		if (l->e[i].family != family || l->e[i].cidr != cidr ||
		    memcmp(l->e[i].addr, a, alen(family)))
			fail_msg("position %u is not %s", i, nets[i]);
	}
	free(l);
}
#define ORDER(dev, p, ...)                                                                   \
	assert_order(dev, p, (const char *const[]){ __VA_ARGS__ },                          \
		     sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void test_insertion_order(void **state)
{
	struct wg_device *dev = wg_device_new(NULL, 10);
	struct wg_peer *a, *b;
	uint8_t k[WG_KEY_LEN], addr[16];

	(void)state;
	randombytes_buf(k, sizeof(k));
	a = wg_peer_add(dev, k);
	randombytes_buf(k, sizeof(k));
	b = wg_peer_add(dev, k);
#define ADD(p, fam, s, c) (parse(fam, s, addr), assert_int_equal(wg_peer_allowedip_add(p, fam, addr, c), 0))
	ADD(a, AF_INET, "10.2.0.0", 16);
	ADD(a, AF_INET6, "fd00::", 64);
	ADD(a, AF_INET, "10.0.0.0", 8);
	ADD(a, AF_INET, "10.1.0.0", 16);
	ORDER(dev, a, "10.2.0.0/16", "fd00::/64", "10.0.0.0/8", "10.1.0.0/16");
	ADD(a, AF_INET, "10.2.0.0", 16); /* again: moves to the end */
	ORDER(dev, a, "fd00::/64", "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16");
	ADD(b, AF_INET, "10.0.0.0", 8); /* to another peer: leaves a, last in b */
	ADD(b, AF_INET, "192.168.0.0", 16);
	ORDER(dev, a, "fd00::/64", "10.1.0.0/16", "10.2.0.0/16");
	ORDER(dev, b, "10.0.0.0/8", "192.168.0.0/16");
	parse(AF_INET, "10.1.0.0", addr);
	assert_int_equal(wg_peer_allowedip_remove(a, AF_INET, addr, 16), 0);
	ORDER(dev, a, "fd00::/64", "10.2.0.0/16");
	wg_peer_allowedips_clear(a);
	assert_order(dev, a, NULL, 0);
	ORDER(dev, b, "10.0.0.0/8", "192.168.0.0/16");
#undef ADD
	wg_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insertion_order),
		cmocka_unit_test(test_ipv4_overlapping),
		cmocka_unit_test(test_ipv4_no_default),
		cmocka_unit_test(test_ipv6_overlapping),
		cmocka_unit_test(test_families_separate),
		cmocka_unit_test(test_noncanonical),
		cmocka_unit_test(test_readd_moves),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_same_length_neighbour),
		cmocka_unit_test(test_remove_peer),
		cmocka_unit_test(test_commit_publishes),
		cmocka_unit_test(test_for_peer),
		cmocka_unit_test(test_randomized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
