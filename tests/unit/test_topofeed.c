// SPDX-License-Identifier: MIT
/*
 * controlplane/topofeed.c, the one adapter from a registry snapshot and a
 * link-state database to topology/ (meshd's graph and meshctl's): the
 * policy, links as advertised, a refused figure removing the older one, a
 * link no longer advertised or a gateway the registry lost removed, and the
 * caller's own gateway's links left to the caller.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "topofeed.h"

/* A small graph: topofeed leaves ids beyond it alone, and it is quick. */
static struct reg_gateway gws[3];
static struct reg_snapshot snap;
static struct lsdb db;
static uint64_t seq;

/* origin's advertisement: its links to to[0..n) with the RTTs rtt[]. */
static void advertise(uint16_t origin, unsigned n, const uint16_t *to, const double *rtt, double loss)
{
	struct lsdb_link l[4];

	for (unsigned i = 0; i < n; i++)
		l[i] = (struct lsdb_link){ .to = to[i], .up = true, .rtt_ms = rtt[i], .loss = loss,
					   .jitter_ms = 1 };
	assert_int_equal(lsdb_put(&db, origin, ++seq, 0, 1, l, n, 0, 1000000000000ULL, 0), 1);
}

/* Gateways a (1), b (2), c (3); links a<->b 10 ms, b<->c 10 ms, a<->c 50 ms. */
static void setup_snapshot(void)
{
	static const char *names[] = { "a", "b", "c" };

	memset(gws, 0, sizeof(gws));
	for (unsigned i = 0; i < 3; i++) {
		snprintf(gws[i].name, sizeof(gws[i].name), "%s", names[i]);
		gws[i].id = (uint16_t)(i + 1);
	}
	memset(&snap, 0, sizeof(snap));
	snap.gateways = gws;
	snap.ngateways = 3;
	snap.policy.hop_limit = 2;
	snap.policy.loss_penalty_ms = 1000;
	lsdb_clear(&db);
	advertise(1, 2, (const uint16_t[]){ 2, 3 }, (const double[]){ 10, 50 }, 0);
	advertise(2, 2, (const uint16_t[]){ 1, 3 }, (const double[]){ 10, 10 }, 0);
	advertise(3, 2, (const uint16_t[]){ 1, 2 }, (const double[]){ 50, 10 }, 0);
}

static void feed(struct topofeed *f, struct topo *t, uint16_t own)
{
	topofeed_gateways(f, t, &snap);
	topofeed_lsdb(t, &snap, &db, own);
}

static void policy(void **state)
{
	struct topo_policy p;

	(void)state;
	setup_snapshot();
	snap.policy.hop_limit = 3;
	snap.policy.residency = true;
	snap.policy.loss_penalty_ms = 250;
	topofeed_policy(&snap, &p);
	assert_int_equal(p.hop_limit, 3);
	assert_true(p.residency);
	assert_true(p.loss_penalty_ms == 250);
	/* The registry allows 8; a relay header carries 4 hops. */
	snap.policy.hop_limit = 8;
	topofeed_policy(&snap, &p);
	assert_int_equal(p.hop_limit, TOPOFEED_MAX_HOPS);
}

static void paths_from_links(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;
	struct topo_path path;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	feed(&f, t, 0);
	assert_true(topo_best_path(t, &p, 1, 3, &path));
	assert_int_equal(path.hops, 2);
	assert_int_equal(path.gw[1], 2);
	assert_true(fabs(path.cost - 20) < 1e-9);
	topo_free(t);
}

/* A figure topology/ refuses must not leave the older one in use. */
static void refused_removes(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	feed(&f, t, 0);
	assert_true(topo_link_cost(t, &p, 1, 2) >= 0);
	/* a->b: loss out of range */
	advertise(1, 2, (const uint16_t[]){ 2, 3 }, (const double[]){ 10, 50 }, 2);
	feed(&f, t, 0);
	assert_true(topo_link_cost(t, &p, 1, 2) < 0);
	assert_false(topofeed_link(t, 2, 3, NAN, 0, true, 0));
	assert_true(topo_link_cost(t, &p, 2, 3) < 0);
	assert_true(topofeed_link(t, 2, 3, 12, 0, true, 0));
	assert_true(fabs(topo_link_cost(t, &p, 2, 3) - 12) < 1e-9);
	topo_free(t);
}

/* A link no longer advertised, or a gateway the registry no longer has, is
 * gone from the graph. */
static void lost_removed(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;
	struct topo_path path;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	feed(&f, t, 0);
	advertise(1, 1, (const uint16_t[]){ 2 }, (const double[]){ 10 }, 0); /* a->c gone */
	feed(&f, t, 0);
	assert_true(topo_link_cost(t, &p, 1, 3) < 0);
	assert_true(topo_link_cost(t, &p, 3, 1) >= 0);
	/* c's advertisement over: its links are gone too */
	assert_int_equal(lsdb_expire(&db, 2000000000000ULL, NULL), 3);
	advertise(1, 2, (const uint16_t[]){ 2, 3 }, (const double[]){ 10, 50 }, 0);
	advertise(2, 2, (const uint16_t[]){ 1, 3 }, (const double[]){ 10, 10 }, 0);
	feed(&f, t, 0);
	assert_true(topo_link_cost(t, &p, 3, 1) < 0);
	assert_true(topo_link_cost(t, &p, 1, 3) >= 0);
	snap.ngateways = 2; /* c deleted; links to it still advertised */
	feed(&f, t, 0);
	assert_false(topo_best_path(t, &p, 1, 3, &path));
	assert_true(topo_link_cost(t, &p, 2, 3) < 0);
	assert_true(topo_link_cost(t, &p, 1, 2) >= 0);
	topo_free(t);
}

/* meshd's own links come from its measurements, not an advertisement. */
static void own_links_left(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	feed(&f, t, 1);
	assert_true(topo_link_cost(t, &p, 1, 2) < 0); /* never fed by us */
	assert_true(topofeed_link(t, 1, 2, 33, 0, true, 0.5));
	feed(&f, t, 1);
	assert_true(fabs(topo_link_cost(t, &p, 1, 2) - 33) < 1e-9);
	assert_true(fabs(topo_link_cost(t, &p, 2, 1) - 10) < 1e-9);
	topo_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy),
		cmocka_unit_test(paths_from_links),
		cmocka_unit_test(refused_removes),
		cmocka_unit_test(lost_removed),
		cmocka_unit_test(own_links_left),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	lsdb_clear(&db);
	return rc;
}
