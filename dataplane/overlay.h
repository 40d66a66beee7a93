/* SPDX-License-Identifier: MIT */
/*
 * Datagrams between gateways' overlay addresses (overlay.c), inside their
 * WireGuard sessions: link probes (probe.c) and link-state advertisements
 * (lsa.c) are built here, and what a gateway's session delivers to our own
 * overlay address is parsed and handed to the one that takes its port.
 */
#ifndef HOPMESH_DATAPLANE_OVERLAY_H
#define HOPMESH_DATAPLANE_OVERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_udp.h>

struct gateway;
struct gw_entry;

/* A UDP datagram at m's IP header; every length checked against the frame. */
struct overlay_dgram {
	uint8_t *ip;
	bool v4;
	struct rte_udp_hdr *udp;
	uint8_t *payload;
	uint32_t len; /* of the payload, as the UDP header says */
};

/* From our overlay address to to's (IPv4 if both have one, else IPv6); NULL
 * if either lacks an address of the family, or no mbuf. */
struct rte_mbuf *overlay_udp_build(struct gateway *gw, const struct gw_entry *to, uint16_t port,
				   const void *payload, uint16_t len);
/* Whether d's inner source is e's overlay address: a datagram that came
 * through e's session from e itself, not from a VM behind it. */
bool overlay_from(const struct gw_entry *e, const struct overlay_dgram *d);
/* A decrypted packet for our overlay address, from gateway src_gw (0: a peer
 * with no gateway id): a probe, an LSA, else ICMP echo (icmp.c). Consumes m. */
void overlay_input(struct gateway *gw, struct rte_mbuf *m, uint16_t src_gw, uint64_t now);

#endif
