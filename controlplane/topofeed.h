/* SPDX-License-Identifier: MIT */
/*
 * The one adapter to topology/ from a registry snapshot (the gateways and
 * the policy) and a link-state database (the links, lsdb.h): meshd feeds its
 * graph with it, meshctl builds the graph of `route show` with it from the
 * database a meshd holds, so both see the same graph.
 *
 *   topofeed_policy:   the registry's policy as a topo_policy (hold time 0:
 *                      meshd sets its own from its config; the hop limit
 *                      at most TOPOFEED_MAX_HOPS);
 *   topofeed_gateways: every gateway with its zone, gateways gone removed;
 *   topofeed_origin:   one gateway's links to every other gateway of the
 *                      snapshot, as advertised (topofeed_link), or removed
 *                      where it advertised none; topofeed_lsdb: every
 *                      origin's;
 *   topofeed_link:     one measured link: its RTT, loss, state and jitter, or
 *                      removed if topology/ refuses the figures (an RTT
 *                      beyond its range), so an older figure is never left in
 *                      use.
 */
#ifndef HOPMESH_TOPOFEED_H
#define HOPMESH_TOPOFEED_H

#include <stdbool.h>
#include <stdint.h>

#include "lsdb.h"
#include "registry.h"
#include "topology.h"

/* What the adapter fed last, to remove the gateways a later snapshot lost.
 * Zero it before the first use. */
struct topofeed {
	bool present[REG_MAX_GATEWAY_ID + 1];
};

/* The longest path a gateway can carry: a relay header names 4 gateways
 * (docs/PROTOCOL.md). A policy allowing more computes no path the gateways
 * could not send. */
#define TOPOFEED_MAX_HOPS 4
void topofeed_policy(const struct reg_snapshot *s, struct topo_policy *p);
void topofeed_gateways(struct topofeed *f, struct topo *t, const struct reg_snapshot *s);
void topofeed_origin(struct topo *t, const struct reg_snapshot *s, const struct lsdb *db,
		     uint16_t origin);
/* own: a gateway whose links the caller feeds from its own measurements
 * (meshd's), left alone here; 0 for none. */
void topofeed_lsdb(struct topo *t, const struct reg_snapshot *s, const struct lsdb *db, uint16_t own);
/* Returns false if the link was refused (and so removed). */
bool topofeed_link(struct topo *t, uint16_t a, uint16_t b, double rtt_ms, double loss, bool up,
		   double jitter_ms);

#endif
