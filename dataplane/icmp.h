/* SPDX-License-Identifier: MIT */
/* ICMP on the main lcore (icmp.c): echo, errors, IPv4 fragmentation. */
#ifndef HOPMESH_DATAPLANE_ICMP_H
#define HOPMESH_DATAPLANE_ICMP_H

#include <stdint.h>

#include <rte_mbuf.h>

struct gateway;

/* Packets addressed to the gateway itself: it answers ICMP and ICMPv6 echo. */
void icmp_local_input(struct gateway *gw, unsigned port, struct rte_mbuf *m);
/* An ICMP error about m (at its IP header) back to its source. */
void icmp_error_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now);
/* An IPv4 packet (at its IP header) cut into fragments of at most mtu bytes,
 * each sent on as the original would have been. */
void icmp_fragment_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now);
/* A remote VM's ICMP echo to our overlay address (m at its IP header): answered
 * through the tunnel; anything else is dropped. */
void icmp_overlay_echo(struct gateway *gw, struct rte_mbuf *m, uint64_t now);

#endif
