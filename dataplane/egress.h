/* SPDX-License-Identifier: MIT */
/* VM -> backbone (egress.c): encrypt IP packets and send them their way. */
#ifndef HOPMESH_DATAPLANE_EGRESS_H
#define HOPMESH_DATAPLANE_EGRESS_H

#include <stdint.h>

#include <rte_mbuf.h>

struct lcore_ctx;
struct wg_peer;

/* Worker: a burst of frames from the VM port. */
void egress_burst(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now);

/* ---- the main lcore's ways in; mbufs at their IP header ---- */

/* Encrypt for peer and send: packets that waited (staged for a handshake). */
void egress_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			 unsigned n, uint64_t now);
/* Encrypt and send wherever the routes say: ICMP errors, fragments, echo
 * replies. */
void egress_send_routed(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now);
/* To peer on the direct path, whatever the routes say: probes measure the
 * link itself. Without a session the packet is dropped and a handshake
 * started. Whether it was handed to the underlay. */
bool egress_send_direct(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf *m,
			uint64_t now);

#endif
