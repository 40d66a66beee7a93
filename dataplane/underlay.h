/* SPDX-License-Identifier: MIT */
/*
 * The underlay (underlay.c): how a WireGuard message reaches a gateway over
 * the backbone. A path names the gateway it is for and the relay it goes
 * through (if any); the relay header says so on the wire, in front of the
 * unchanged message; outer IPv4/IPv6 and UDP headers carry it to the first hop.
 */
#ifndef HOPMESH_DATAPLANE_UNDERLAY_H
#define HOPMESH_DATAPLANE_UNDERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "tunnels.h"

struct gateway;
struct lcore_ctx;

/* ---- relay header: in front of an unchanged WireGuard message ---- */

#define RELAY_TYPE 0xf0 /* a first byte no WireGuard implementation accepts */
#define RELAY_VERSION 1
struct relay_hdr {
	uint8_t type;
	uint8_t version;
	uint8_t hops;      /* backbone hops made, counting the one it is on */
	uint8_t hop_limit; /* hops must never exceed it */
	uint16_t dst_gw;   /* big-endian gateway ids */
	uint16_t src_gw;
} __attribute__((packed));
#define RELAY_LEN ((unsigned)sizeof(struct relay_hdr))

/* ---- paths: which gateway, through which relay ---- */

struct path {
	struct wg_peer *peer; /* whose session encrypts: the destination's */
	uint16_t dst_gw;      /* 0: a plain WireGuard peer, no gateway id */
	uint16_t via_gw;      /* dst_gw when direct */
	uint8_t hops;         /* backbone hops: 1 direct, 2 through one relay */
};

static inline bool path_relayed(const struct path *p)
{
	return p->via_gw != p->dst_gw;
}

/* The direct path to peer (its gateway id, if it has one, as dst_gw). */
static inline struct path path_direct(struct wg_peer *peer)
{
	uint16_t id = peer ? (uint16_t)wg_peer_user(peer) : 0;

	return (struct path){ .peer = peer, .dst_gw = id, .via_gw = id, .hops = 1 };
}

/* The path the routes give to gateway dst_gw; false if it has no peer yet. */
bool path_to_gateway(struct gateway *gw, uint16_t dst_gw, struct path *p);
/* Routes first (dst_gw: the route's gateway, 0 for none); without one, the
 * peer whose allowed-ips hold the address, as plain WireGuard would send. */
bool path_find(struct gateway *gw, sa_family_t family, const void *dst, uint16_t dst_gw,
	       struct path *p);
/* The endpoint to send to for a path: the relay's, or own (the peer's). */
bool path_first_hop(struct gateway *gw, const struct path *p, const struct wg_endpoint *own,
		    struct wg_endpoint *out);

/* ---- sending ---- */

/* Outer IP and UDP in front of the payload at m's start (a WireGuard message,
 * maybe behind a relay header), then out of the backbone port. */
void underlay_encap(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
		    uint8_t tos);
/* A WireGuard message at m's start to its peer, relayed if the path says so;
 * own: the peer's endpoint. False (m not consumed) if there is no way. */
bool underlay_send(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p,
		   const struct wg_endpoint *own, uint8_t tos);
/* A WireGuard message at m's start towards peer (direct or relayed); to is
 * the peer's endpoint (AF_UNSPEC: none). False if there is no way. */
bool underlay_send_message(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_peer *peer,
			   const struct wg_endpoint *to);
/* A WireGuard message at m's start, relayed to gateway dst_gw by our path. */
bool underlay_send_relayed(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t dst_gw);
/* The neighbour (key) an underlay packet to dst goes to first. */
void underlay_next_hop(const struct gateway *gw, const struct wg_endpoint *dst, uint8_t key[16]);

#endif
