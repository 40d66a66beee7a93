// SPDX-License-Identifier: MIT
/*
 * controlplane/topofeed.c, the one adapter from a registry snapshot to
 * topology/ (meshd's graph and meshctl's): the policy, links as published,
 * a refused figure removing the older one, a link or gateway the registry
 * lost removed, and the caller's own gateway's links left to the caller.
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
static struct reg_link links[8];
static struct reg_snapshot snap;

/* Gateways a (1), b (2), c (3); links a<->b 10 ms, b<->c 10 ms, a<->c 50 ms. */
static void setup_snapshot(void)
{
	static const char *names[] = { "a", "b", "c" };
	static const struct {
		int from, to;
		double rtt;
	} l[] = { { 0, 1, 10 }, { 1, 0, 10 }, { 1, 2, 10 }, { 2, 1, 10 }, { 0, 2, 50 }, { 2, 0, 50 } };

	memset(gws, 0, sizeof(gws));
	memset(links, 0, sizeof(links));
	for (unsigned i = 0; i < 3; i++) {
		snprintf(gws[i].name, sizeof(gws[i].name), "%s", names[i]);
		gws[i].id = (uint16_t)(i + 1);
	}
	for (unsigned i = 0; i < 6; i++) {
		snprintf(links[i].from, sizeof(links[i].from), "%s", names[l[i].from]);
		snprintf(links[i].to, sizeof(links[i].to), "%s", names[l[i].to]);
		links[i].rtt_ms = l[i].rtt;
		links[i].jitter_ms = 1;
		links[i].up = true;
	}
	memset(&snap, 0, sizeof(snap));
	snap.gateways = gws;
	snap.ngateways = 3;
	snap.links = links;
	snap.nlinks = 6;
	snap.policy.hop_limit = 2;
	snap.policy.loss_penalty_ms = 1000;
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
	topofeed_registry(&f, t, &snap, 0);
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
	topofeed_registry(&f, t, &snap, 0);
	assert_true(topo_link_cost(t, &p, 1, 2) >= 0);
	links[0].loss = 2; /* a->b: out of range */
	topofeed_registry(&f, t, &snap, 0);
	assert_true(topo_link_cost(t, &p, 1, 2) < 0);
	assert_false(topofeed_link(t, 2, 3, NAN, 0, true, 0));
	assert_true(topo_link_cost(t, &p, 2, 3) < 0);
	assert_true(topofeed_link(t, 2, 3, 12, 0, true, 0));
	assert_true(fabs(topo_link_cost(t, &p, 2, 3) - 12) < 1e-9);
	topo_free(t);
}

/* A link or a gateway the registry no longer has is gone from the graph. */
static void lost_removed(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;
	struct topo_path path;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	topofeed_registry(&f, t, &snap, 0);
	snap.nlinks = 4; /* a<->c expired */
	topofeed_registry(&f, t, &snap, 0);
	assert_true(topo_link_cost(t, &p, 1, 3) < 0);
	snap.ngateways = 2; /* c deleted; its links still published */
	snap.nlinks = 6;
	topofeed_registry(&f, t, &snap, 0);
	assert_false(topo_best_path(t, &p, 1, 3, &path));
	assert_true(topo_link_cost(t, &p, 2, 3) < 0);
	assert_true(topo_link_cost(t, &p, 1, 2) >= 0);
	topo_free(t);
}

/* meshd's own links come from its measurements, not the registry's copy. */
static void own_links_left(void **state)
{
	struct topofeed f = { .present = { false } };
	struct topo *t = topo_new(8);
	struct topo_policy p;

	(void)state;
	setup_snapshot();
	topofeed_policy(&snap, &p);
	topofeed_registry(&f, t, &snap, 1);
	assert_true(topo_link_cost(t, &p, 1, 2) < 0); /* never fed by us */
	assert_true(topofeed_link(t, 1, 2, 33, 0, true, 0.5));
	topofeed_registry(&f, t, &snap, 1);
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

	return cmocka_run_group_tests(tests, NULL, NULL);
}
