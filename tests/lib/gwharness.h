/* SPDX-License-Identifier: MIT */
/*
 * An in-memory world around a real gateway (dataplane/, as a library): its
 * two ports are rte_eth_from_rings() ports with one rx and one tx ring per
 * worker queue, and the harness plays everything on the other side of them:
 *   - a VM behind the VM port per queue (frames in, ARP answered), and
 *   - a far gateway on the backbone per queue: a tunnels/ device, peer of the
 *     gateway, whose handshake messages and keepalives travel through the
 *     backbone rings like any frame.
 * Frame builders put Ethernet, IPv4 and UDP headers where the caller says.
 * gwh_service() takes what the gateway sent and answers what a neighbour
 * would (ARP, handshakes, keepalives); a user that claims frames of its own
 * (a measurement) reads the tx rings itself first.
 *
 * Used by perf/bench_pipeline.c and tests/fuzz/fuzz_gateway.c. No root
 * needed for the harness itself; the gateway's UAPI socket (which the fuzz
 * target never opens) lives in /var/run/wireguard.
 */
#ifndef HOPMESH_TESTS_GWHARNESS_H
#define HOPMESH_TESTS_GWHARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "config.h"
#include "tunnels.h"

struct gateway;
struct rte_mempool;
struct rte_ring;

#define GWH_MAX_W 4 /* queues (workers) per gateway */
#define GWH_LISTEN_PORT 51820
#define GWH_IP4_LEN 20u
#define GWH_UDP_LEN 8u
/* Outer Ethernet/IPv4/UDP in front of a WireGuard message. */
#define GWH_HDRS_LEN (RTE_ETHER_HDR_LEN + GWH_IP4_LEN + GWH_UDP_LEN)

struct gwh;

/* The far gateway on backbone queue q: 192.0.2.10 + q, with the overlay host
 * 10.(100 + q).0.2 behind it. */
struct gwh_far {
	struct gwh *h;
	struct wg_device *dev;
	struct wg_peer *peer; /* its view of the gateway */
	uint8_t pub[WG_KEY_LEN];
	struct rte_ether_addr mac;
	uint32_t ip;    /* underlay address, network order */
	uint32_t inner; /* an overlay host behind it, network order */
	unsigned q;
	bool arp_ok;    /* the gateway has resolved it */
};

/* The VM on VM-port queue q: 10.1.0.2 + q. */
struct gwh_vm {
	struct rte_ether_addr mac;
	uint32_t ip;
	unsigned q;
	bool arp_ok;
};

struct gwh {
	struct gateway *gw;
	const char *who; /* prefix of the harness's messages */
	unsigned W;      /* queues per port */
	struct rte_mempool *pool;
	struct rte_ring *rx[PORT_COUNT][GWH_MAX_W], *tx[PORT_COUNT][GWH_MAX_W];
	struct gwh_far far[GWH_MAX_W];
	struct gwh_vm vm[GWH_MAX_W];
	struct wg_crypto *crypto; /* the far devices' data path */
	/* The gateway as its neighbours see it (gwh_learn_gateway()). */
	uint32_t gw_ip[PORT_COUNT];
	struct rte_ether_addr gw_mac[PORT_COUNT];
	uint8_t gw_pub[WG_KEY_LEN];
	uint64_t last_tick;
	/* What gwh_service() did with the gateway's frames. */
	uint64_t arp_answers, handshakes, keepalives, stray;
};

/* ---- frames ---- */

void gwh_put_eth(uint8_t *p, const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
		 uint16_t type);
/* IPv4 (DF, TTL 64) and UDP headers at p for payload bytes of UDP payload. */
void gwh_put_ip_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		    uint32_t payload);
/* The payload byte at offset i of every inner packet. */
static inline uint8_t gwh_pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + 1);
}
/* An inner IPv4/UDP packet of size bytes in all at p, payload gwh_pattern(). */
void gwh_make_inner(uint8_t *p, uint32_t size, uint32_t src, uint32_t dst, uint16_t sport,
		    uint16_t dport);

/* ---- ports and neighbours ---- */

/* Port p of the gateway: h->W rx and tx rings of ring_size, an ethdev named
 * name, its device name written into h->gw->cfg.port[p]. */
bool gwh_make_port(struct gwh *h, unsigned p, const char *name, unsigned ring_size);
/* Free whatever is left in the rings. */
void gwh_drain_rings(struct gwh *h);
void gwh_free_rings(struct gwh *h);
/* After gateway_setup(): the gateway's addresses, MACs and public key. */
void gwh_learn_gateway(struct gwh *h);
struct gwh_far *gwh_far_by_ip(struct gwh *h, uint32_t ip);
struct gwh_vm *gwh_vm_by_ip(struct gwh *h, uint32_t ip);
/* m into rx queue q of port (freed if the ring is full). */
bool gwh_inject(struct gwh *h, unsigned port, unsigned q, struct rte_mbuf *m);
/* An ARP message from (mac, ip) into rx queue q of port; dst_mac NULL:
 * broadcast. */
bool gwh_send_arp(struct gwh *h, unsigned port, unsigned q, const struct rte_ether_addr *mac,
		  uint32_t ip, uint16_t op, const struct rte_ether_addr *dst_mac, uint32_t dst_ip);

/* ---- the far gateways ---- */

/* VM q and far gateway q, the latter a tunnels/ device with the gateway as
 * its peer (allowed-ips 10.1.0.0/16). Needs gwh_learn_gateway() first. */
void gwh_vm_init(struct gwh *h, unsigned q);
bool gwh_far_init(struct gwh *h, unsigned q);
void gwh_far_free(struct gwh *h);

/* ---- serving ---- */

/* A frame the gateway sent on port, that no user claimed: ARP answered, a
 * handshake message or keepalive taken by its far device, else counted
 * stray. Consumes m. */
void gwh_dispatch(struct gwh *h, struct rte_mbuf *m, unsigned port);
/* Drain every tx ring through gwh_dispatch(), tick the far devices every
 * 10 ms. Returns the frames handled. */
unsigned gwh_service(struct gwh *h);

#endif
