/* SPDX-License-Identifier: MIT */
/*
 * What the gateway does to an inner IP packet as a router hop, in both
 * directions: spend its TTL (and count the relays' hops for them), ask the
 * main lcore for an ICMP error when it cannot go on, and carry its ECN field
 * across the tunnel (RFC 6040 normal mode). Per-packet, so inline.
 */
#ifndef HOPMESH_DATAPLANE_HOP_H
#define HOPMESH_DATAPLANE_HOP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "lcore_io.h"
#include "packet.h"

#define ECN_MASK 3
#define ECN_CE 3
#define ECN_ECT0 2

/* Hand a packet (at its IP header) to the main lcore for an ICMP error of
 * kind, sent in the name of gateway speaker_gw (0: ours), counted as a drop
 * for reason. */
static inline void hop_icmp_error(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned port,
				  enum icmp_kind kind, uint16_t speaker_gw, uint16_t mtu,
				  unsigned reason)
{
	struct pkt_meta *meta = lcore_note(m, SLOW_ICMP, port);

	meta->icmp_kind = (uint8_t)kind;
	meta->src_gw = speaker_gw;
	meta->mtu = mtu;
	COUNT(&lc->counters, drop[reason], 1);
	lcore_to_main(lc, m);
}

/*
 * Each gateway is a router hop, and so is each relay, which cannot see the
 * inner header: the sending gateway counts the relays' hops for them (hops:
 * the path's backbone hops; relays[0 .. hops - 2]: the relays in path order)
 * and answers in the name of the relay where the TTL would run out, so
 * traceroute shows every gateway on the path. Ours is the first decrement,
 * relay k's the (k + 2)-th: a TTL of t > 1 dies at relays[t - 2].
 * port: where an error goes back (VM: the local VM; BACKBONE: through the
 * tunnel). Returns false if the packet went to ICMP.
 */
static inline bool hop_spend_ttl(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned port,
				 unsigned hops, const uint16_t *relays)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	bool v4 = (ip[0] >> 4) == 4;
	uint8_t *ttl = ip + (v4 ? 8 : 7);

	if (*ttl <= hops) {
		uint16_t speaker = *ttl <= 1 ? 0 : relays[*ttl - 2];

		hop_icmp_error(lc, m, port, ICMP_TIME_EXCEEDED, speaker, 0, GW_DROP_TTL_EXCEEDED);
		return false;
	}
	if (v4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint16_t old = (uint16_t)(h->time_to_live << 8 | h->next_proto_id);

		h->time_to_live = (uint8_t)(h->time_to_live - hops);
		h->hdr_checksum = cksum_adjust(h->hdr_checksum, rte_cpu_to_be_16(old),
					       rte_cpu_to_be_16((uint16_t)(h->time_to_live << 8 | h->next_proto_id)));
	} else {
		*ttl = (uint8_t)(*ttl - hops);
	}
	return true;
}

/* The ECN field of an IPv4 or IPv6 header. */
static inline uint8_t hop_ecn(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (ip[1] & ECN_MASK) : ((ip[1] >> 4) & ECN_MASK);
}

/* RFC 6040 encapsulation: the outer header carries the inner ECN field,
 * except that congestion already experienced is not signalled twice. */
static inline uint8_t hop_outer_tos(uint8_t inner_ecn)
{
	return inner_ecn == ECN_CE ? ECN_ECT0 : inner_ecn;
}

/* RFC 6040 decapsulation: congestion marked on the way is kept if the inner
 * packet can carry it. */
static inline void hop_ecn_decap(uint8_t outer_tos, uint8_t *inner)
{
	if ((outer_tos & ECN_MASK) != ECN_CE)
		return;
	if ((inner[0] >> 4) == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)inner;

		if (!(ip->type_of_service & ECN_MASK))
			return;
		ip->type_of_service |= ECN_CE;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else if (inner[1] & (ECN_MASK << 4)) {
		inner[1] |= ECN_CE << 4;
	}
}

#endif
