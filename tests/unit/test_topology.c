// SPDX-License-Identifier: MIT
/*
 * topology/: link and path costs, the best path (direct against relay, ties,
 * the hop bound, residency, unreachable destinations, removed gateways and
 * links), loop freedom over random graphs, a randomized comparison with a
 * brute-force enumeration of every path within the bound, and the router's
 * hysteresis: the hold time, an interrupted advantage, the margins, a dead
 * link left at once, a policy change, and a recorded noisy RTT series that
 * must not make it flap.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <malloc.h>

#include "topology.h"

#define MS (1000000ULL)
#define SEC (1000000000ULL)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Uniform in [lo, hi). */
static double rnd_real(double lo, double hi)
{
	return lo + (hi - lo) * ((double)(rnd() >> 11) / 9007199254740992.0);
}

/* Gateways 1..n, no zone, no links. */
static struct topo *mesh(unsigned max, unsigned n)
{
	struct topo *t = topo_new(max);

	assert_non_null(t);
	for (unsigned i = 1; i <= n; i++)
		assert_true(topo_set_gateway(t, (uint16_t)i, ""));
	return t;
}

/* a->b and b->a with the same figures. */
static void link2(struct topo *t, uint16_t a, uint16_t b, double rtt, double loss)
{
	assert_true(topo_set_link(t, a, b, rtt, loss, true));
	assert_true(topo_set_link(t, b, a, rtt, loss, true));
}

static struct topo_policy policy(unsigned hop_limit)
{
	struct topo_policy p;

	topo_policy_default(&p);
	p.hop_limit = hop_limit;
	return p;
}

static void path_str(const struct topo_path *path, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned i = 0; i <= path->hops && i <= TOPO_MAX_HOPS && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "-" : "", path->gw[i]);
}

/* The path is exactly the gateways given (terminated by 0). */
static void expect_path_(const struct topo_path *path, int line, ...)
{
	uint16_t want[TOPO_MAX_HOPS + 2];
	unsigned n = 0;
	bool same;
	va_list ap;
	char got[128];

	va_start(ap, line);
	for (int g; (g = va_arg(ap, int)) != 0 && n < TOPO_MAX_HOPS + 1;)
		want[n++] = (uint16_t)g;
	va_end(ap);
	same = n >= 2 && path->hops == n - 1;
	for (unsigned i = 0; same && i < n; i++)
		same = path->gw[i] == want[i];
	if (!same) {
		path_str(path, got, sizeof(got));
		fail_msg("line %d: path %s, expected another (first %u, %u gateways)", line, got, want[0], n);
	}
}
#define EXPECT_PATH(path, ...) expect_path_((path), __LINE__, __VA_ARGS__, 0)

static struct topo_path best(const struct topo *t, const struct topo_policy *p, uint16_t src, uint16_t dst)
{
	struct topo_path out;

	memset(&out, 0xee, sizeof(out));
	if (!topo_best_path(t, p, src, dst, &out))
		fail_msg("no path from %u to %u", src, dst);
	return out;
}

static struct topo_path route_of(const struct topo_router *r, uint16_t dst)
{
	struct topo_path out;

	if (!topo_router_path(r, dst, &out))
		fail_msg("router has no path to %u", dst);
	return out;
}

static bool same_seq(const struct topo_path *a, const struct topo_path *b)
{
	if (a->hops != b->hops)
		return false;
	for (unsigned i = 0; i <= a->hops; i++)
		if (a->gw[i] != b->gw[i])
			return false;
	return true;
}

/* Everything a path must be: from src to dst, within the bound, no gateway
 * twice, every link usable, relays in the zone when residency applies, and
 * its cost the sum of its links'. */
static void check_path(const struct topo *t, const struct topo_policy *p, const char (*zone)[TOPO_ZONE_LEN],
		       uint16_t src, uint16_t dst, const struct topo_path *path)
{
	char s[128];

	path_str(path, s, sizeof(s));
	if (path->hops < 1 || path->hops > p->hop_limit || path->gw[0] != src || path->gw[path->hops] != dst)
		fail_msg("path %s from %u to %u: wrong ends or hop count %u", s, src, dst, path->hops);
	for (unsigned i = 0; i <= path->hops; i++)
		for (unsigned j = i + 1; j <= path->hops; j++)
			if (path->gw[i] == path->gw[j])
				fail_msg("path %s repeats gateway %u", s, path->gw[i]);
	for (unsigned i = 0; i < path->hops; i++)
		if (topo_link_cost(t, p, path->gw[i], path->gw[i + 1]) < 0)
			fail_msg("path %s uses the unusable link %u->%u", s, path->gw[i], path->gw[i + 1]);
	if (zone && p->residency && zone[src][0] && strcmp(zone[src], zone[dst]) == 0)
		for (unsigned i = 1; i < path->hops; i++)
			if (strcmp(zone[path->gw[i]], zone[src]) != 0)
				fail_msg("path %s leaves zone %s", s, zone[src]);
	if (topo_path_cost(t, p, path) != path->cost)
		fail_msg("path %s: cost %.17g, its links sum to %.17g", s, path->cost, topo_path_cost(t, p, path));
}

/* ---- graph and costs ---- */

static void test_policy_default(void **state)
{
	struct topo_policy p;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	topo_policy_default(&p);
	assert_int_equal(p.hop_limit, 2);
	assert_true(p.loss_penalty_ms == 1000);
	assert_true(p.switch_margin == 0.1);
	assert_true(p.switch_margin_ms == 5);
	assert_int_equal(p.hold_ns, 2 * SEC);
	assert_false(p.residency);
}

static void test_graph_checks(void **state)
{
	struct topo_policy p = policy(2);
	struct topo_path path = { .gw = { 1, 2 }, .hops = 1 };
	struct topo *t;

	(void)state;
	assert_null(topo_new(0));
	assert_null(topo_new(65536));
	t = topo_new(4);
	assert_non_null(t);
	assert_false(topo_set_gateway(t, 0, ""));
	assert_false(topo_set_gateway(t, 5, ""));
	assert_false(topo_set_gateway(t, 1, "a-zone-name-too-long")); /* >= TOPO_ZONE_LEN */
	assert_true(topo_set_gateway(t, 1, "eu"));
	assert_true(topo_set_gateway(t, 2, NULL));
	assert_true(topo_set_gateway(t, 4, "0123456789abcde")); /* 15: fits */
	/* Links need both ends known, two different ones, sane figures. */
	assert_false(topo_set_link(t, 1, 3, 10, 0, true));
	assert_false(topo_set_link(t, 3, 1, 10, 0, true));
	assert_false(topo_set_link(t, 1, 1, 10, 0, true));
	assert_false(topo_set_link(t, 1, 2, -1, 0, true));
	assert_false(topo_set_link(t, 1, 2, NAN, 0, true));
	assert_false(topo_set_link(t, 1, 2, INFINITY, 0, true));
	assert_false(topo_set_link(t, 1, 2, 10, -0.1, true));
	assert_false(topo_set_link(t, 1, 2, 10, 1.5, true));
	assert_false(topo_set_link(t, 1, 2, 10, NAN, true));
	assert_false(topo_set_link(t, 0, 2, 10, 0, true));
	/* Never set: unusable, both ways. */
	assert_true(topo_link_cost(t, &p, 1, 2) < 0);
	assert_true(topo_path_cost(t, &p, &path) < 0);
	assert_true(topo_set_link(t, 1, 2, 40, 0.1, true));
	assert_true(fabs(topo_link_cost(t, &p, 1, 2) - 140) < 1e-9); /* 10% loss costs 100 ms */
	assert_true(topo_link_cost(t, &p, 2, 1) < 0);                /* directed */
	assert_true(topo_path_cost(t, &p, &path) == topo_link_cost(t, &p, 1, 2));
	p.loss_penalty_ms = 500;
	assert_true(fabs(topo_link_cost(t, &p, 1, 2) - 90) < 1e-9);
	p.loss_penalty_ms = -500; /* nonsense counts as no penalty, never as a negative cost */
	assert_true(topo_link_cost(t, &p, 1, 2) == 40);
	p.loss_penalty_ms = 1000;
	/* Down: unusable, figures kept aside. */
	assert_true(topo_set_link(t, 1, 2, 40, 0.1, false));
	assert_true(topo_link_cost(t, &p, 1, 2) < 0);
	assert_true(topo_path_cost(t, &p, &path) < 0);
	assert_true(topo_set_link(t, 1, 2, 40, 0, true));
	assert_true(topo_link_cost(t, &p, 1, 2) == 40);
	topo_remove_link(t, 1, 2);
	assert_true(topo_link_cost(t, &p, 1, 2) < 0);
	topo_remove_link(t, 0, 9); /* out of range: ignored */
	/* Malformed paths cost < 0. */
	assert_true(topo_set_link(t, 1, 2, 40, 0, true));
	path.hops = 0;
	assert_true(topo_path_cost(t, &p, &path) < 0);
	path.hops = TOPO_MAX_HOPS + 1;
	assert_true(topo_path_cost(t, &p, &path) < 0);
	assert_true(topo_link_cost(t, &p, 0, 1) < 0);
	assert_true(topo_link_cost(t, &p, 1, 5) < 0);
	/* No path to oneself, none to or from an unknown gateway. */
	assert_false(topo_best_path(t, &p, 1, 1, &path));
	assert_false(topo_best_path(t, &p, 1, 3, &path));
	assert_false(topo_best_path(t, &p, 3, 1, &path));
	assert_false(topo_best_path(t, &p, 0, 1, &path));
	assert_false(topo_best_path(t, &p, 1, 9, &path));
	assert_null(topo_router_new(t, 0));
	assert_null(topo_router_new(t, 5));
	topo_free(t);
	topo_free(NULL);
	topo_router_free(NULL);
}

/* ---- best path ---- */

static void test_best_direct_or_relay(void **state)
{
	struct topo *t = mesh(8, 4);
	struct topo_policy p = policy(2);
	struct topo_path b;

	(void)state;
	link2(t, 1, 2, 100, 0);
	link2(t, 1, 3, 30, 0);
	link2(t, 3, 2, 30, 0);
	link2(t, 1, 4, 45, 0);
	link2(t, 4, 2, 45, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	assert_int_equal(b.hops, 2);
	assert_true(b.cost == 60);
	/* The direct link gets faster than any relay. */
	link2(t, 1, 2, 50, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	assert_int_equal(b.hops, 1);
	assert_true(b.cost == 50);
	/* Loss counts: 10% on 3->2 costs 100 ms, so relay 4 wins over 3... */
	link2(t, 1, 2, 95, 0);
	assert_true(topo_set_link(t, 3, 2, 30, 0.1, true));
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 4, 2);
	assert_true(b.cost == 90);
	/* ...and without a loss penalty 3 is the cheapest again. */
	p.loss_penalty_ms = 0;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	/* Links are directed: the way back is computed on its own figures. */
	p.loss_penalty_ms = 1000;
	assert_true(topo_set_link(t, 2, 1, 20, 0, true));
	b = best(t, &p, 2, 1);
	EXPECT_PATH(&b, 2, 1);
	topo_free(t);
}

static void test_best_ties(void **state)
{
	struct topo *t = mesh(8, 6);
	struct topo_policy p = policy(2);
	struct topo_path b;

	(void)state;
	/* Direct and relay equal: the fewer hops. */
	link2(t, 1, 2, 60, 0);
	link2(t, 1, 5, 30, 0);
	link2(t, 5, 2, 30, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	/* Two relays equal (the higher id set up first): the lower id. */
	link2(t, 1, 2, 70, 0);
	link2(t, 1, 4, 30, 0);
	link2(t, 4, 2, 30, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 4, 2);
	link2(t, 4, 2, 30.5, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 5, 2);
	/* Three hops, two equal ways: compared gateway by gateway. */
	p.hop_limit = 3;
	link2(t, 1, 2, 1000, 0);
	link2(t, 4, 2, 1000, 0);
	link2(t, 5, 2, 1000, 0);
	link2(t, 4, 6, 10, 0);
	link2(t, 6, 2, 10, 0);
	link2(t, 5, 3, 10, 0);
	link2(t, 3, 2, 10, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 4, 6, 2);
	link2(t, 1, 5, 29, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 5, 3, 2);
	topo_free(t);
}

static void test_hop_bound(void **state)
{
	struct topo *t = mesh(8, 6);
	struct topo_policy p = policy(2);
	struct topo_path b;

	(void)state;
	/* 1-3-4-2 costs 30 in three hops; 1-5-2 costs 90 in two; direct 100. */
	link2(t, 1, 2, 100, 0);
	link2(t, 1, 3, 10, 0);
	link2(t, 3, 4, 10, 0);
	link2(t, 4, 2, 10, 0);
	link2(t, 1, 5, 45, 0);
	link2(t, 5, 2, 45, 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 5, 2);
	assert_true(b.cost == 90);
	p.hop_limit = 3;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 4, 2);
	assert_int_equal(b.hops, 3);
	assert_true(b.cost == 30);
	p.hop_limit = 1;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	/* 0 counts as 1, and anything above TOPO_MAX_HOPS as TOPO_MAX_HOPS. */
	p.hop_limit = 0;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	/* A chain of 8 hops is the only way from 1 to 9. */
	topo_free(t);
	t = mesh(9, 9);
	for (uint16_t g = 1; g < 9; g++)
		link2(t, g, (uint16_t)(g + 1), 1, 0);
	p.hop_limit = 7;
	assert_false(topo_best_path(t, &p, 1, 9, &b));
	p.hop_limit = 8;
	b = best(t, &p, 1, 9);
	assert_int_equal(b.hops, 8);
	p.hop_limit = 1000;
	b = best(t, &p, 1, 9);
	assert_int_equal(b.hops, 8);
	topo_free(t);
}

static void test_residency(void **state)
{
	static const char zones[8][TOPO_ZONE_LEN] = { "", "eu", "eu", "us", "eu", "us", "", "" };
	struct topo *t = topo_new(8);
	struct topo_policy p = policy(2);
	struct topo_path b;

	(void)state;
	assert_non_null(t);
	for (uint16_t g = 1; g <= 7; g++)
		assert_true(topo_set_gateway(t, g, zones[g]));
	/* 1, 2, 4 in eu; 3, 5 in us; 6, 7 in none. Relay 3 (us) is the
	 * cheapest way from 1 to 2, relay 4 (eu) the cheapest inside eu. */
	link2(t, 1, 2, 200, 0);
	link2(t, 1, 3, 20, 0);
	link2(t, 3, 2, 20, 0);
	link2(t, 1, 4, 60, 0);
	link2(t, 4, 2, 60, 0);
	link2(t, 1, 5, 200, 0);
	link2(t, 3, 5, 10, 0);
	link2(t, 1, 6, 200, 0);
	link2(t, 3, 6, 10, 0);
	link2(t, 6, 7, 200, 0);
	link2(t, 6, 3, 10, 0);
	link2(t, 3, 7, 10, 0);
	link2(t, 6, 2, 100, 0);
	/* Without the policy: through us. */
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	p.residency = true;
	/* Inside eu: the eu relay, more expensive. */
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 4, 2);
	check_path(t, &p, zones, 1, 2, &b);
	/* Between zones (eu -> us), anything goes. */
	b = best(t, &p, 1, 5);
	EXPECT_PATH(&b, 1, 3, 5);
	/* No zone at either end: anything goes (6 -> 7 through us). */
	b = best(t, &p, 6, 7);
	EXPECT_PATH(&b, 6, 3, 7);
	/* No zone at the source, eu at the destination: anything goes. */
	b = best(t, &p, 6, 2);
	EXPECT_PATH(&b, 6, 3, 2);
	/* Without the eu relay and with hop limit 3, still never through us:
	 * direct. And with the direct link down too, nothing at all. */
	topo_remove_link(t, 4, 2);
	p.hop_limit = 3;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	assert_true(topo_set_link(t, 1, 2, 200, 0, false));
	assert_false(topo_best_path(t, &p, 1, 2, &b));
	p.residency = false;
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	/* A zone is a whole name: "eu" and "eu2" are different zones. */
	assert_true(topo_set_gateway(t, 3, "eu2"));
	p.residency = true;
	assert_false(topo_best_path(t, &p, 1, 2, &b));
	assert_true(topo_set_gateway(t, 3, "eu"));
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	topo_free(t);
}

static void test_unreachable(void **state)
{
	struct topo *t = mesh(10, 5);
	struct topo_policy p = policy(2);
	struct topo_router *r;
	struct topo_path b;

	(void)state;
	/* 1 -> 2 -> 3 -> 4 and nothing else: 4 is three hops away. */
	link2(t, 1, 2, 10, 0);
	link2(t, 2, 3, 10, 0);
	link2(t, 3, 4, 10, 0);
	assert_false(topo_best_path(t, &p, 1, 4, &b));
	assert_false(topo_best_path(t, &p, 1, 5, &b)); /* no link at all */
	assert_false(topo_best_path(t, &p, 1, 7, &b)); /* not a gateway */
	b = best(t, &p, 1, 3);
	EXPECT_PATH(&b, 1, 2, 3);
	r = topo_router_new(t, 1);
	assert_non_null(r);
	assert_int_equal(topo_router_update(r, &p, 0), 2);
	assert_false(topo_router_path(r, 4, &b));
	assert_false(topo_router_path(r, 5, &b));
	assert_false(topo_router_path(r, 1, &b));
	assert_false(topo_router_path(r, 0, &b));
	assert_false(topo_router_path(r, 11, &b));
	b = route_of(r, 3);
	EXPECT_PATH(&b, 1, 2, 3);
	/* One link only one way is not a way back. */
	assert_true(topo_set_link(t, 1, 5, 10, 0, true));
	assert_false(topo_best_path(t, &p, 5, 1, &b));
	b = best(t, &p, 1, 5);
	EXPECT_PATH(&b, 1, 5);
	topo_router_free(r);
	topo_free(t);
}

static void test_remove(void **state)
{
	struct topo *t = mesh(8, 4);
	struct topo_policy p = policy(2);
	struct topo_router *r;
	struct topo_path b;

	(void)state;
	link2(t, 1, 2, 100, 0);
	link2(t, 1, 3, 20, 0);
	link2(t, 3, 2, 20, 0);
	link2(t, 1, 4, 40, 0);
	link2(t, 4, 2, 40, 0);
	r = topo_router_new(t, 1);
	assert_non_null(r);
	assert_int_equal(topo_router_update(r, &p, 0), 3);
	b = route_of(r, 2);
	EXPECT_PATH(&b, 1, 3, 2);
	/* The relay in use goes away: 4 at once, no hold. */
	topo_remove_gateway(t, 3);
	assert_true(topo_link_cost(t, &p, 1, 3) < 0);
	assert_true(topo_link_cost(t, &p, 3, 2) < 0);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 4, 2);
	assert_int_equal(topo_router_update(r, &p, 1 * MS), 2); /* to 2 and to 3 */
	b = route_of(r, 2);
	EXPECT_PATH(&b, 1, 4, 2);
	assert_false(topo_router_path(r, 3, &b));
	/* Coming back, it has no links until they are set again. */
	assert_false(topo_set_link(t, 1, 3, 20, 0, true));
	assert_true(topo_set_gateway(t, 3, ""));
	assert_true(topo_link_cost(t, &p, 1, 3) < 0);
	assert_int_equal(topo_router_update(r, &p, 2 * MS), 0);
	assert_false(topo_router_path(r, 3, &b));
	/* A link removed is unusable like one never set. */
	topo_remove_link(t, 4, 2);
	b = best(t, &p, 1, 2);
	EXPECT_PATH(&b, 1, 2);
	assert_int_equal(topo_router_update(r, &p, 3 * MS), 1);
	b = route_of(r, 2);
	EXPECT_PATH(&b, 1, 2);
	/* The destination goes away: no path. */
	topo_remove_gateway(t, 2);
	assert_false(topo_best_path(t, &p, 1, 2, &b));
	assert_int_equal(topo_router_update(r, &p, 4 * MS), 1);
	assert_false(topo_router_path(r, 2, &b));
	/* The router's own gateway goes away: nothing. */
	topo_remove_gateway(t, 1);
	assert_int_equal(topo_router_update(r, &p, 5 * MS), 1);
	assert_false(topo_router_path(r, 4, &b));
	topo_router_free(r);
	topo_free(t);
}

/* ---- random graphs ---- */

static const char *const zone_names[] = { "", "eu", "us", "ap" };

struct rgraph {
	struct topo *t;
	unsigned n;
	char zone[64][TOPO_ZONE_LEN];
};

/* n gateways, each directed link present with probability density%, up with
 * 90%; integral figures (so sums are exact and ties happen) or real ones. */
static void random_graph(struct rgraph *g, unsigned n, unsigned density, bool integral, bool zones)
{
	g->n = n;
	g->t = topo_new(n);
	assert_non_null(g->t);
	memset(g->zone, 0, sizeof(g->zone));
	for (unsigned i = 1; i <= n; i++) {
		if (zones)
			strcpy(g->zone[i], zone_names[rnd_below(4)]);
		assert_true(topo_set_gateway(g->t, (uint16_t)i, g->zone[i]));
	}
	for (unsigned a = 1; a <= n; a++)
		for (unsigned b = 1; b <= n; b++) {
			double rtt, loss;

			if (a == b || rnd_below(100) >= density)
				continue;
			if (integral) {
				rtt = rnd_below(8);          /* 0 included: zero-cost links */
				loss = rnd_below(4) ? 0 : 0.25 * rnd_below(3);
			} else {
				rtt = rnd_real(0, 200);
				loss = rnd_below(3) ? 0 : rnd_real(0, 0.3);
			}
			assert_true(topo_set_link(g->t, (uint16_t)a, (uint16_t)b, rtt, loss, rnd_below(10) != 0));
		}
}

/* Brute force: every simple path from src within the bound, the best by
 * cost, then hops, then gateway ids in order. */
struct brute {
	const struct rgraph *g;
	const struct topo_policy *p;
	uint16_t dst;
	bool zoned;
	struct topo_path cur, best;
	bool found;
	unsigned nbest; /* paths as cheap as the best */
	bool counting;  /* second pass: count nlex */
	unsigned nlex;  /* paths as cheap as the best with as many hops */
};

static bool seq_less(const struct topo_path *a, const struct topo_path *b)
{
	for (unsigned i = 0; i <= a->hops; i++)
		if (a->gw[i] != b->gw[i])
			return a->gw[i] < b->gw[i];
	return false;
}

static void brute_walk(struct brute *bf)
{
	unsigned h = bf->cur.hops;
	uint16_t last = bf->cur.gw[h];

	if (last == bf->dst && h > 0) {
		double c = topo_path_cost(bf->g->t, bf->p, &bf->cur);

		assert_true(c >= 0);
		if (bf->counting) {
			bf->nlex += c == bf->best.cost && h == bf->best.hops;
			return;
		}
		bf->cur.cost = c;
		if (bf->found && c == bf->best.cost)
			bf->nbest++;
		else if (!bf->found || c < bf->best.cost)
			bf->nbest = 1;
		if (!bf->found || c < bf->best.cost ||
		    (c == bf->best.cost && (h < bf->best.hops || (h == bf->best.hops && seq_less(&bf->cur, &bf->best))))) {
			bf->best = bf->cur;
			bf->found = true;
		}
		return;
	}
	if (h == bf->p->hop_limit)
		return;
	for (uint16_t v = 1; v <= bf->g->n; v++) {
		bool seen = false;

		for (unsigned i = 0; i <= h; i++)
			seen |= bf->cur.gw[i] == v;
		if (seen || topo_link_cost(bf->g->t, bf->p, last, v) < 0)
			continue;
		/* A relay (anything but the destination) must be in the zone. */
		if (bf->zoned && v != bf->dst && strcmp(bf->g->zone[v], bf->g->zone[bf->cur.gw[0]]) != 0)
			continue;
		bf->cur.gw[h + 1] = v;
		bf->cur.hops = h + 1;
		brute_walk(bf);
		bf->cur.hops = h;
	}
}

static void test_brute_force(void **state)
{
	unsigned compared = 0, reachable = 0, relayed = 0, ties = 0, lex_ties = 0;

	(void)state;
	rng_state = 20261123;
	for (unsigned round = 0; round < 400; round++) {
		struct rgraph g;
		struct topo_policy p = policy(1 + (round / 2) % 4);
		bool integral = round % 2 == 0;

		random_graph(&g, 8, 25 + rnd_below(60), integral, round % 3 != 0);
		p.residency = rnd_below(2);
		p.loss_penalty_ms = integral ? 1000 : rnd_real(0, 2000);
		for (uint16_t s = 1; s <= g.n; s++)
			for (uint16_t d = 1; d <= g.n; d++) {
				struct brute bf = { .g = &g, .p = &p, .dst = d };
				struct topo_path got;
				bool ok;
				char a[128], b[128];

				if (s == d)
					continue;
				bf.zoned = p.residency && g.zone[s][0] && strcmp(g.zone[s], g.zone[d]) == 0;
				bf.cur.gw[0] = s;
				brute_walk(&bf);
				ok = topo_best_path(g.t, &p, s, d, &got);
				compared++;
				if (ok != bf.found)
					fail_msg("round %u %u->%u: search %s a path, brute force %s", round, s, d,
						 ok ? "found" : "did not find", bf.found ? "did" : "did not");
				if (!ok)
					continue;
				reachable++;
				relayed += got.hops > 1;
				ties += bf.nbest > 1;
				bf.counting = true;
				brute_walk(&bf);
				lex_ties += bf.nlex > 1;
				check_path(g.t, &p, g.zone, s, d, &got);
				if (!same_seq(&got, &bf.best) || got.cost != bf.best.cost) {
					path_str(&got, a, sizeof(a));
					path_str(&bf.best, b, sizeof(b));
					fail_msg("round %u %u->%u (hop limit %u): search %s cost %.17g, brute force %s cost %.17g",
						 round, s, d, p.hop_limit, a, got.cost, b, bf.best.cost);
				}
			}
		topo_free(g.t);
	}
	printf("brute force: %u pairs, %u reachable, %u relayed, %u with tied best costs, "
	       "%u of them also tied in hops\n", compared, reachable, relayed, ties, lex_ties);
	/* The comparison covered the cases that matter. */
	assert_true(compared == 400 * 56);
	assert_true(reachable > compared / 3);
	assert_true(relayed > reachable / 10);
	assert_true(ties > 300);
	assert_true(lex_ties > 100);
}

static void test_loop_freedom(void **state)
{
	unsigned checked = 0, long_paths = 0;

	(void)state;
	rng_state = 7;
	for (unsigned round = 0; round < 60; round++) {
		struct rgraph g;
		struct topo_policy p = policy(1 + rnd_below(TOPO_MAX_HOPS));
		struct topo_router *r;
		uint16_t self;

		random_graph(&g, 10 + rnd_below(50), 5 + rnd_below(40), round % 2 == 0, round % 3 != 0);
		p.residency = rnd_below(2);
		for (uint16_t s = 1; s <= g.n; s++)
			for (uint16_t d = 1; d <= g.n; d++) {
				struct topo_path b;

				if (s != d && topo_best_path(g.t, &p, s, d, &b)) {
					check_path(g.t, &p, g.zone, s, d, &b);
					checked++;
					long_paths += b.hops > 2;
				}
			}
		/* A router's first update takes the best path everywhere. */
		self = (uint16_t)(1 + rnd_below(g.n));
		r = topo_router_new(g.t, self);
		assert_non_null(r);
		topo_router_update(r, &p, 0);
		for (uint16_t d = 1; d <= g.n; d++) {
			struct topo_path b, rp;
			bool has_best = topo_best_path(g.t, &p, self, d, &b);

			assert_int_equal(topo_router_path(r, d, &rp), has_best);
			if (has_best) {
				check_path(g.t, &p, g.zone, self, d, &rp);
				assert_true(same_seq(&b, &rp));
			}
		}
		/* Then links die and change at random; whatever it keeps or
		 * takes stays loop-free, within the bound and usable. */
		for (unsigned step = 1; step <= 20; step++) {
			for (unsigned k = 0; k < g.n; k++) {
				uint16_t a = (uint16_t)(1 + rnd_below(g.n)), b = (uint16_t)(1 + rnd_below(g.n));

				if (a != b)
					assert_true(topo_set_link(g.t, a, b, rnd_real(0, 200), 0, rnd_below(3) != 0));
			}
			topo_router_update(r, &p, step * 500 * MS);
			for (uint16_t d = 1; d <= g.n; d++) {
				struct topo_path rp, b;

				if (topo_router_path(r, d, &rp))
					check_path(g.t, &p, g.zone, self, d, &rp);
				else
					assert_false(topo_best_path(g.t, &p, self, d, &b));
			}
		}
		topo_router_free(r);
		topo_free(g.t);
	}
	assert_true(checked > 10000);
	assert_true(long_paths > 100);
}

/* ---- the router ---- */

/* Self 1, destination 2, relays 3 and 4; direct 100 ms. */
static struct topo *triangle(double direct, double via3)
{
	struct topo *t = mesh(8, 4);

	link2(t, 1, 2, direct, 0);
	link2(t, 1, 3, via3 / 2, 0);
	link2(t, 3, 2, via3 / 2, 0);
	return t;
}

static void test_router_hold(void **state)
{
	struct topo *t = triangle(100, 200);
	struct topo_policy p = policy(2);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_path rp;
	uint64_t t0 = 1000 * SEC;

	(void)state;
	assert_non_null(r);
	assert_int_equal(topo_router_update(r, &p, t0), 2);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* The relay gets 20% cheaper: kept for hold_ns... */
	link2(t, 1, 3, 40, 0);
	link2(t, 3, 2, 40, 0);
	t0 += SEC;
	for (uint64_t dt = 0; dt < p.hold_ns; dt += 100 * MS) {
		assert_int_equal(topo_router_update(r, &p, t0 + dt), 0);
		rp = route_of(r, 2);
		EXPECT_PATH(&rp, 1, 2);
	}
	/* ...then moved. */
	assert_int_equal(topo_router_update(r, &p, t0 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	assert_true(rp.cost == 80);
	/* And not back for a direct link merely equal to it. */
	link2(t, 1, 2, 80, 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 10 * SEC), 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 20 * SEC), 0);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* The hold counts from the first update that sees the advantage, not
	 * from when the metrics changed. */
	link2(t, 1, 2, 50, 0);
	t0 += 100 * SEC;
	assert_int_equal(topo_router_update(r, &p, t0), 0);
	assert_int_equal(topo_router_update(r, &p, t0 + p.hold_ns - 1), 0);
	assert_int_equal(topo_router_update(r, &p, t0 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* hold_ns 0: at the first update that sees it. */
	p.hold_ns = 0;
	link2(t, 1, 2, 100, 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 100 * SEC), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	topo_router_free(r);
	topo_free(t);
}

static void test_router_interrupted(void **state)
{
	struct topo *t = triangle(100, 200);
	struct topo_policy p = policy(2);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_path rp;
	uint64_t t0 = 5 * SEC, t1;

	(void)state;
	assert_non_null(r);
	topo_router_update(r, &p, 0);
	link2(t, 1, 3, 40, 0);
	link2(t, 3, 2, 40, 0);
	assert_int_equal(topo_router_update(r, &p, t0), 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 1500 * MS), 0);
	/* One update without the advantage (relay back to 100)... */
	link2(t, 3, 2, 60, 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 1600 * MS), 0);
	/* ...and the hold starts over. */
	link2(t, 3, 2, 40, 0);
	t1 = t0 + 1700 * MS;
	for (uint64_t now = t1; now < t1 + p.hold_ns; now += 100 * MS) {
		assert_int_equal(topo_router_update(r, &p, now), 0);
		rp = route_of(r, 2);
		EXPECT_PATH(&rp, 1, 2);
	}
	assert_int_equal(topo_router_update(r, &p, t1 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* Advantage held by two relays taking turns: still one advantage. */
	link2(t, 1, 2, 100, 0);
	assert_true(topo_set_link(t, 1, 4, 30, 0, true));
	assert_true(topo_set_link(t, 4, 2, 30, 0, true));
	assert_true(topo_set_link(t, 3, 2, 40, 0, false)); /* leave 3 at once */
	t0 = 100 * SEC;
	assert_int_equal(topo_router_update(r, &p, t0), 2); /* and a first path to 4 */
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 4, 2);
	rp = route_of(r, 4);
	EXPECT_PATH(&rp, 1, 4);
	/* Now on 4 (60). 3 and 5 alternate as best at 40 and 41. */
	assert_true(topo_set_gateway(t, 5, ""));
	link2(t, 1, 5, 20, 0);
	assert_int_equal(topo_router_update(r, &p, t0 + 50 * MS), 1); /* the path to 5 */
	link2(t, 1, 3, 20, 0);
	link2(t, 3, 2, 20, 0);
	link2(t, 5, 2, 21, 0);
	for (unsigned i = 0; i < 20; i++) {
		link2(t, 3, 2, i % 2 ? 20 : 22, 0);
		assert_int_equal(topo_router_update(r, &p, t0 + (i + 1) * 100 * MS), 0);
	}
	assert_int_equal(topo_router_update(r, &p, t0 + 2100 * MS), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	topo_router_free(r);
	topo_free(t);
}

static void test_router_margins(void **state)
{
	struct topo_policy p = policy(2);
	struct topo *t;
	struct topo_router *r;
	struct topo_path rp;
	unsigned switches;

	(void)state;
	/* 100 -> 92: 8 ms but only 8% (margin 10%): never. */
	t = triangle(100, 200);
	r = topo_router_new(t, 1);
	assert_non_null(r);
	topo_router_update(r, &p, 0);
	link2(t, 1, 3, 46, 0);
	link2(t, 3, 2, 46, 0);
	switches = 0;
	for (unsigned i = 1; i <= 600; i++)
		switches += topo_router_update(r, &p, i * 100 * MS);
	assert_int_equal(switches, 0);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* With margin 5% the same advantage moves it (after the hold). */
	p.switch_margin = 0.05;
	assert_int_equal(topo_router_update(r, &p, 61 * SEC), 0);
	assert_int_equal(topo_router_update(r, &p, 63 * SEC), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	topo_router_free(r);
	topo_free(t);

	/* 40 -> 36: 10% but only 4 ms (margin 5 ms): never. */
	p = policy(2);
	t = triangle(40, 200);
	r = topo_router_new(t, 1);
	assert_non_null(r);
	topo_router_update(r, &p, 0);
	link2(t, 1, 3, 18, 0);
	link2(t, 3, 2, 18, 0);
	switches = 0;
	for (unsigned i = 1; i <= 600; i++)
		switches += topo_router_update(r, &p, i * 100 * MS);
	assert_int_equal(switches, 0);
	/* Exactly on both margins (100 -> 90: 10 ms, 10%) is enough. */
	link2(t, 1, 2, 100, 0);
	link2(t, 1, 3, 45, 0);
	link2(t, 3, 2, 45, 0);
	assert_int_equal(topo_router_update(r, &p, 100 * SEC), 0);
	assert_int_equal(topo_router_update(r, &p, 102 * SEC), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* The cost of the path in use is re-evaluated at every update. */
	link2(t, 3, 2, 50, 0);
	assert_int_equal(topo_router_update(r, &p, 103 * SEC), 0);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	assert_true(rp.cost == 95);
	topo_router_free(r);
	topo_free(t);
}

static void test_router_dead_link(void **state)
{
	struct topo *t = triangle(100, 200);
	struct topo_policy p = policy(2);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_path rp;

	(void)state;
	assert_non_null(r);
	p.hold_ns = 60 * SEC; /* long: nothing below may wait for it */
	topo_router_update(r, &p, 0);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* The direct link dies: the relay at once, at the same instant. */
	assert_true(topo_set_link(t, 1, 2, 100, 0, false));
	assert_int_equal(topo_router_update(r, &p, 1), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	assert_true(rp.cost == 200);
	/* A pending advantage is no reason to wait either: 4 is better than 3
	 * and its hold runs when 3 dies. */
	link2(t, 1, 4, 50, 0);
	link2(t, 4, 2, 50, 0);
	assert_int_equal(topo_router_update(r, &p, 2), 1); /* the first path to 4 */
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* As meshd marks it on the relay's notice: down, figures kept. */
	topo_set_link_down(t, 3, 2);
	assert_true(topo_link_cost(t, &p, 3, 2) < 0);
	topo_set_link_down(t, 3, 99); /* no such gateway: nothing */
	assert_int_equal(topo_router_update(r, &p, 3), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 4, 2);
	/* Every way dies: no path at once. */
	assert_true(topo_set_link(t, 4, 2, 50, 0, false));
	assert_int_equal(topo_router_update(r, &p, 4), 1);
	assert_false(topo_router_path(r, 2, &rp));
	/* A way back is taken at once (nothing in use to hold on to). */
	assert_true(topo_set_link(t, 1, 2, 300, 0, true));
	assert_int_equal(topo_router_update(r, &p, 5), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* Healing: the cheaper relay returns, and is taken after the hold. */
	assert_true(topo_set_link(t, 3, 2, 100, 0, true));
	assert_int_equal(topo_router_update(r, &p, 6), 0);
	assert_int_equal(topo_router_update(r, &p, 6 + p.hold_ns - 1), 0);
	assert_int_equal(topo_router_update(r, &p, 6 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	topo_router_free(r);
	topo_free(t);
}

static void test_router_policy_change(void **state)
{
	struct topo *t = triangle(100, 60);
	struct topo_policy p = policy(2);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_path rp;

	(void)state;
	assert_non_null(r);
	p.hold_ns = 60 * SEC;
	topo_router_update(r, &p, 0);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* A hop limit of 1 forbids the relay: direct at once. */
	p.hop_limit = 1;
	assert_int_equal(topo_router_update(r, &p, 1), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	p.hop_limit = 2;
	assert_int_equal(topo_router_update(r, &p, 2), 0); /* the hold again */
	assert_int_equal(topo_router_update(r, &p, 2 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 3, 2);
	/* 1 and 2 in eu, the relay in us: residency forbids it at once. */
	assert_true(topo_set_gateway(t, 1, "eu"));
	assert_true(topo_set_gateway(t, 2, "eu"));
	assert_true(topo_set_gateway(t, 3, "us"));
	assert_int_equal(topo_router_update(r, &p, 3 + p.hold_ns), 0); /* policy off */
	p.residency = true;
	assert_int_equal(topo_router_update(r, &p, 4 + p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 2);
	/* An eu relay, 40% cheaper, is taken after the hold; us 3 never. */
	assert_true(topo_set_gateway(t, 4, "eu"));
	link2(t, 1, 4, 30, 0);
	link2(t, 4, 2, 30, 0);
	assert_int_equal(topo_router_update(r, &p, 5 * p.hold_ns), 1); /* to 4 */
	rp = route_of(r, 4);
	EXPECT_PATH(&rp, 1, 4);
	assert_int_equal(topo_router_update(r, &p, 6 * p.hold_ns), 1);
	rp = route_of(r, 2);
	EXPECT_PATH(&rp, 1, 4, 2);
	/* To 3 (us), from eu: not residency's business, direct is cheapest. */
	rp = route_of(r, 3);
	EXPECT_PATH(&rp, 1, 3);
	topo_router_free(r);
	topo_free(t);
}

/* A recorded noisy series: every 100 ms for 60 s a new RTT sample on each
 * link, +-10 ms of jitter around 100 ms direct and 49 + 49 ms via relay 3.
 * The router must not flap: zero or one switch. The same series without
 * hysteresis (no hold, no margins) does flap, which shows the series is a
 * real test of it. */
struct sample {
	double direct, up, down;
};

static void record_series(struct sample *s, unsigned n)
{
	rng_state = 424242;
	for (unsigned i = 0; i < n; i++) {
		s[i].direct = 100 + rnd_real(-10, 10);
		s[i].up = 49 + rnd_real(-10, 10);
		s[i].down = 49 + rnd_real(-10, 10);
	}
}

static unsigned replay_series(const struct sample *s, unsigned n, const struct topo_policy *p, unsigned *seen)
{
	struct topo *t = triangle(100, 98);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_path prev, cur;
	unsigned total = 0;

	assert_non_null(r);
	*seen = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned changes;

		assert_true(topo_set_link(t, 1, 2, s[i].direct, 0, true));
		assert_true(topo_set_link(t, 1, 3, s[i].up, 0, true));
		assert_true(topo_set_link(t, 3, 2, s[i].down, 0, true));
		changes = topo_router_update(r, p, (uint64_t)i * 100 * MS);
		cur = route_of(r, 2);
		check_path(t, p, NULL, 1, 2, &cur);
		if (i == 0) {
			assert_int_equal(changes, 2); /* first paths to 2 and 3 */
		} else {
			if (!same_seq(&cur, &prev))
				++*seen;
			total += changes;
		}
		prev = cur;
	}
	assert_int_equal(total, *seen); /* the count returned is the count seen */
	topo_router_free(r);
	topo_free(t);
	return total;
}

static void test_router_noisy_series(void **state)
{
	enum { N = 600 };
	struct sample *s = calloc(N, sizeof(*s));
	struct topo_policy p = policy(2);
	unsigned seen, switches, raw;
	double lo = 1e9, hi = -1e9;

	(void)state;
	assert_non_null(s);
	record_series(s, N);
	for (unsigned i = 0; i < N; i++) {
		double adv = s[i].direct - (s[i].up + s[i].down);

		lo = adv < lo ? adv : lo;
		hi = adv > hi ? adv : hi;
	}
	/* The series does swing both ways, past the margins. */
	assert_true(lo < -15 && hi > 15);
	switches = replay_series(s, N, &p, &seen);
	printf("noisy series (%u samples): %u switches with hysteresis\n", N, switches);
	assert_true(switches <= 1);
	p.hold_ns = 0;
	p.switch_margin = 0;
	p.switch_margin_ms = 0;
	raw = replay_series(s, N, &p, &seen);
	printf("noisy series (%u samples): %u switches without it\n", N, raw);
	assert_true(raw > 50);
	free(s);
}

/* Jitter in the margins: two paths of equal cost whose smoothed RTTs wander
 * against each other (+-10 ms each, a 10 s swing: past the margins for
 * seconds at a time, longer than the hold) flip the route back and forth
 * when the router knows nothing of the links' jitter, and never when it
 * does (8 ms a link, as meshd measures +-10 ms of emulated jitter). A real
 * change, 200 ms more on the direct link, still moves traffic after the
 * hold time. */
static unsigned replay_wander(bool with_jitter, uint64_t *moved_after_ns)
{
	struct topo *t = triangle(100, 100);
	struct topo_router *r = topo_router_new(t, 1);
	struct topo_policy p = policy(2);
	struct topo_path prev, cur;
	unsigned switches = 0;
	const uint64_t step_at = 60 * SEC;

	assert_non_null(r);
	p.hold_ns = 1 * SEC; /* meshd's default */
	*moved_after_ns = 0;
	for (uint64_t now = 0; now <= 70 * SEC; now += 50 * MS) {
		double w = 10 * sin(2 * M_PI * (double)now / (10.0 * SEC));
		double step = now >= step_at ? 200 : 0;

		assert_true(topo_set_link(t, 1, 2, 100 + w + step, 0, true));
		assert_true(topo_set_link(t, 1, 3, 50 - w / 2, 0, true));
		assert_true(topo_set_link(t, 3, 2, 50 - w / 2, 0, true));
		if (with_jitter) {
			assert_true(topo_set_link_jitter(t, 1, 2, 8));
			assert_true(topo_set_link_jitter(t, 1, 3, 8));
			assert_true(topo_set_link_jitter(t, 3, 2, 8));
		}
		topo_router_update(r, &p, now);
		cur = route_of(r, 2);
		if (now > 0 && !same_seq(&cur, &prev)) {
			if (now < step_at)
				switches++;
			else if (!*moved_after_ns)
				*moved_after_ns = now - step_at;
		}
		prev = cur;
	}
	topo_router_free(r);
	topo_free(t);
	return switches;
}

static void test_router_jitter_margin(void **state)
{
	uint64_t moved;
	unsigned flaps;

	(void)state;
	flaps = replay_wander(false, &moved);
	printf("wandering equal paths, jitter unknown: %u switches in 60 s\n", flaps);
	assert_true(flaps >= 6);
	flaps = replay_wander(true, &moved);
	printf("wandering equal paths, jitter known: %u switches in 60 s; +200 ms moved after %llu ms\n",
	       flaps, (unsigned long long)(moved / MS));
	assert_int_equal(flaps, 0);
	assert_true(moved >= 1 * SEC && moved <= 1 * SEC + 100 * MS);
	/* Out-of-range jitter is refused, like a bad RTT. */
	{
		struct topo *t = triangle(100, 100);

		assert_false(topo_set_link_jitter(t, 1, 2, -1));
		assert_false(topo_set_link_jitter(t, 1, 2, NAN));
		assert_false(topo_set_link_jitter(t, 1, 1, 1));
		assert_false(topo_set_link_jitter(t, 1, 7, 1)); /* 7: not present */
		topo_free(t);
	}
}

/* The graph grows with the gateways set, not with max: 40 gateways with ids
 * up to 4095 take well under 2 MB (a matrix per 4095 x 4095 would take
 * 419 MB), and what was set survives each growth of the matrices. */
static void test_growth(void **state)
{
	struct mallinfo2 before = mallinfo2(), after;
	struct topo *t = topo_new(4095);
	struct topo_policy p;
	struct topo_path path;
	uint16_t a = 4095, b = 1;

	(void)state;
	assert_non_null(t);
	topo_policy_default(&p);
	assert_true(topo_set_gateway(t, a, "") && topo_set_gateway(t, b, ""));
	assert_true(topo_set_link(t, a, b, 100, 0, true));
	assert_true(topo_set_link_jitter(t, a, b, 3));
	/* 38 relays, ids 3900 down to 3530: the matrices grow twice. */
	for (unsigned k = 0; k < 38; k++) {
		uint16_t x = (uint16_t)(3900 - 10 * k);

		assert_true(topo_set_gateway(t, x, ""));
		assert_true(topo_set_link(t, a, x, 10, 0, true));
		assert_true(topo_set_link(t, x, b, 10 + k, 0, true));
	}
	assert_true(fabs(topo_link_cost(t, &p, a, b) - 100) < 1e-9);
	assert_true(topo_best_path(t, &p, a, b, &path));
	assert_int_equal(path.hops, 2);
	assert_int_equal(path.gw[1], 3900);
	assert_true(fabs(path.cost - 20) < 1e-9);
	after = mallinfo2();
	assert_true(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd < 2u << 20);
	/* A relay removed takes its links with it; the next best is found. */
	topo_remove_gateway(t, 3900);
	assert_true(topo_link_cost(t, &p, a, 3900) < 0);
	assert_true(topo_best_path(t, &p, a, b, &path));
	assert_int_equal(path.gw[1], 3890);
	/* Back: its slot again, its links to be set again. */
	assert_true(topo_set_gateway(t, 3900, ""));
	assert_true(topo_link_cost(t, &p, a, 3900) < 0);
	topo_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_default),
		cmocka_unit_test(test_graph_checks),
		cmocka_unit_test(test_best_direct_or_relay),
		cmocka_unit_test(test_best_ties),
		cmocka_unit_test(test_hop_bound),
		cmocka_unit_test(test_residency),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_loop_freedom),
		cmocka_unit_test(test_router_hold),
		cmocka_unit_test(test_router_interrupted),
		cmocka_unit_test(test_router_margins),
		cmocka_unit_test(test_router_dead_link),
		cmocka_unit_test(test_router_policy_change),
		cmocka_unit_test(test_router_noisy_series),
		cmocka_unit_test(test_router_jitter_margin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
