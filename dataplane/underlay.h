/* SPDX-License-Identifier: MIT */
/*
 * The underlay (underlay.c): how a WireGuard message reaches a gateway over
 * the backbone. A path names the gateway it is for and the relays it goes
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
struct relay_key;

/* ---- relay header: in front of an unchanged WireGuard message ---- */

/* Version 2 (docs/PROTOCOL.md): the source names the whole backbone path and
 * each relay forwards to the next gateway it names, never by its own table,
 * so two gateways' tables that disagree cannot send a frame in circles. */
#define RELAY_TYPE 0xf0 /* a first byte no WireGuard implementation accepts */
#define RELAY_VERSION 3
#define RELAY_MAX_PATH 4 /* backbone hops a path may have */
#define RELAY_TAG_LEN 16
struct relay_hdr {
	uint8_t type;
	uint8_t version;
	uint8_t hop;       /* the backbone hop this frame is on, 1-based */
	uint8_t hop_limit; /* the source's effective limit */
	uint8_t path_len;  /* backbone hops of the whole path, 2..RELAY_MAX_PATH */
	uint8_t flags;     /* 0; receivers ignore them */
	uint16_t src_gw;   /* big-endian gateway ids, as all below */
	uint16_t path[RELAY_MAX_PATH]; /* first relay ... destination; then 0 */
	/* This hop's tag (relay_auth.h): its sender's MAC over the bytes above
	 * and the inner message, under the key of the hop's two gateways. */
	uint8_t tag[RELAY_TAG_LEN];
} __attribute__((packed));
#define RELAY_LEN ((unsigned)sizeof(struct relay_hdr))
/* r for hop `hop` of the path src, path[0], ..., path[n - 1] (host-order
 * ids) under hop_limit; every other byte zero, the tag too (relay_sign()
 * writes it last). path_len is n even past RELAY_MAX_PATH, so that tests
 * can build the impossible; only RELAY_MAX_PATH ids are copied. */
void relay_hdr_init(struct relay_hdr *r, uint16_t src, uint8_t hop, uint8_t hop_limit, uint8_t n,
		    const uint16_t *path);
_Static_assert(sizeof(struct relay_hdr) == 32, "the relay header is 32 bytes on the wire");

/* A relay's notice to a source (docs/PROTOCOL.md "Next hop unreachable"):
 * the message behind a relay header whose src_gw is the relay, sent back
 * the way a frame came that the relay could not forward, so that the source
 * leaves the path before its next measurement says so. Only ever relayed
 * (the hop tags authenticate it); a direct one is the only relay header with
 * a path of one hop. */
#define RELAY_NOTICE_TYPE 0xf1 /* no WireGuard message type, as RELAY_TYPE */
#define RELAY_NOTICE_NEXT_DOWN 1
struct relay_notice {
	uint8_t type;
	uint8_t reason;       /* RELAY_NOTICE_NEXT_DOWN */
	uint16_t unreachable; /* big-endian: the next gateway the relay cannot reach */
	uint8_t zero[28];     /* to RELAY_MSG_MIN; receivers ignore them */
} __attribute__((packed));
_Static_assert(sizeof(struct relay_notice) == 32, "a notice is a relayed message's least length");
static inline bool relay_notice_ok(const uint8_t *msg, uint32_t len)
{
	return len == sizeof(struct relay_notice) && msg[0] == RELAY_NOTICE_TYPE;
}

/* ---- paths: which gateway, through which relays ---- */

struct path {
	struct wg_peer *peer; /* whose session encrypts: the destination's */
	uint16_t dst_gw;      /* 0: a plain WireGuard peer, no gateway id */
	uint8_t hops;         /* backbone hops: 1 direct, up to RELAY_MAX_PATH */
	/* The gateways after us: gw[0] the first hop ... gw[hops - 1] = dst_gw
	 * (what the relay header's path says). */
	uint16_t gw[RELAY_MAX_PATH];
};

static inline bool path_relayed(const struct path *p)
{
	return p->hops > 1;
}

/* The direct path to peer (its gateway id, if it has one, as dst_gw). */
static inline struct path path_direct(struct wg_peer *peer)
{
	uint16_t id = peer ? (uint16_t)wg_peer_user(peer) : 0;

	return (struct path){ .peer = peer, .dst_gw = id, .hops = 1, .gw = { id } };
}

/* The path the routes give to gateway dst_gw; false if it has no peer yet. */
bool path_to_gateway(struct gateway *gw, uint16_t dst_gw, struct path *p);
/* Routes first (dst_gw: the route's gateway, 0 for none); without one, the
 * peer whose allowed-ips hold the address, as plain WireGuard would send. */
bool path_find(struct gateway *gw, sa_family_t family, const void *dst, uint16_t dst_gw,
	       struct path *p);
/* The endpoint of gateway id's peer; false if it has none (yet). */
bool path_gateway_endpoint(struct gateway *gw, uint16_t id, struct wg_endpoint *out);
/* The key of relay tags between us and gateway id; NULL if none (yet). A
 * worker may use it until its next quiescent state. */
const struct relay_key *path_gateway_key(struct gateway *gw, uint16_t id);
/* The way back from us, the destination of relay header r, to its source:
 * the relays before us in reverse order, then the source, so that its first
 * hop is the gateway that sent r to us. */
void path_back(const struct relay_hdr *r, struct path *p);
/* The endpoint to send to for a path: the first relay's, or own (the peer's). */
bool path_first_hop(struct gateway *gw, const struct path *p, const struct wg_endpoint *own,
		    struct wg_endpoint *out);

/* ---- sending ---- */

/* Outer IP and UDP in front of the payload at m's start (a WireGuard message,
 * maybe behind a relay header), then out of the backbone port. */
void underlay_encap(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
		    uint8_t tos);
/* A WireGuard message at m's start to its peer, relayed if the path says so;
 * own: the peer's endpoint. False (m not consumed) if there is no way; a
 * path longer than our hop limit is dropped here (hop_limit, m consumed). */
bool underlay_send(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p,
		   const struct wg_endpoint *own, uint8_t tos);
/* A WireGuard message at m's start towards peer (direct or relayed); to is
 * the peer's endpoint (AF_UNSPEC: none). With peer NULL: to address to,
 * never relayed. False if there is no way. */
bool underlay_send_message(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_peer *peer,
			   const struct wg_endpoint *to);
/* A message (an answer to a relayed one) back along the way relay header r came (to us,
 * its destination): first to the previous hop, the gateway that
 * authenticated r to us, then on to r's source (path_back()). */
bool underlay_send_back(struct lcore_ctx *lc, struct rte_mbuf *m, const struct relay_hdr *r);
/* m, a frame that came with relay header r and that we, a relay on r's
 * path, cannot forward to gateway next: made a notice to r's source (at most
 * one per NOTICE_EVERY_MS to each source; the rest are only freed), sent back
 * along r's path to its previous hop. Consumed either way. */
#define NOTICE_EVERY_MS 10
void underlay_send_notice(struct lcore_ctx *lc, struct rte_mbuf *m, const struct relay_hdr *r,
			  uint16_t next);
/* The neighbour (key) an underlay packet to dst goes to first. */
void underlay_next_hop(const struct gateway *gw, const struct wg_endpoint *dst, uint8_t key[16]);

#endif
