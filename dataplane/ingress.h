/* SPDX-License-Identifier: MIT */
/* Backbone -> VM (ingress.c): decrypt, or relay undecrypted. */
#ifndef HOPMESH_DATAPLANE_INGRESS_H
#define HOPMESH_DATAPLANE_INGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct lcore_ctx;

/* Worker: a burst of frames from the backbone port, or (counted: their
 * rx counters already taken) from its hand-off ring. */
void ingress_burst(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now,
		   bool counted);

#endif
