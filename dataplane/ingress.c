// SPDX-License-Identifier: MIT
/*
 * Backbone -> VM, top to bottom.
 *
 *   backbone port (queue w): rx burst -> ingress_burst()
 *     classify_backbone():
 *       parse_outer(): Ethernet, IPv4/IPv6, UDP to our address and port;
 *         ARP, ND, packets to us -> main lcore
 *       relay header: for us -> strip it; for another -> relay_forward(),
 *         never decrypted, on through underlay_encap()
 *       handshakes -> main lcore
 *       data: the session's owner worker (session_owner(); hand-off ring
 *         otherwise)
 *     wg_decrypt_burst(): index, AEAD, replay window, cryptokey check
 *     deliver(): ECN, our overlay address -> main lcore (probes, ping);
 *       hop_spend_ttl(), neigh_output(): Ethernet to the VM
 *     tx burst on the VM port (worker.c, lcore_tx_flush())
 *
 * A session's replay window has one writer: data messages are decrypted by
 * the worker that owns their session (the first to receive it) and handed
 * over to it if they arrive elsewhere. Nothing here locks, allocates or makes
 * a syscall per packet.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "gateway.h"
#include "hop.h"
#include "ingress.h"
#include "lcore_io.h"
#include "neigh.h"
#include "packet.h"
#include "routes.h"
#include "underlay.h"

#define BURST 32

/* The outer headers of a backbone frame addressed to our listen port. */
struct outer {
	uint8_t *payload;       /* UDP payload */
	uint32_t len;
	struct wg_endpoint src;
	uint8_t tos;
};

/* Validates Ethernet, IPv4/IPv6 and UDP; false if the frame went elsewhere. */
static bool parse_outer(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t listen_port,
			struct outer *o)
{
	struct gateway *gw = lc->gw;
	uint32_t len = rte_pktmbuf_data_len(m), ihl, total, udp_len;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_udp_hdr *udp;

	if (len < RTE_ETHER_HDR_LEN) {
		lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
		return false;
	}
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_BACKBONE])) {
		lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
		return false;
	}
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		lcore_slow(lc, m, SLOW_ARP, PORT_BACKBONE);
		return false;
	case RTE_ETHER_TYPE_IPV4: {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP4_LEN || (ip->version_ihl >> 4) != 4 ||
		    (ihl = (ip->version_ihl & 0xfu) * 4) < IP4_LEN ||
		    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN ||
		    total < ihl) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return false;
		}
		if (ip->dst_addr != gw->cfg.port[PORT_BACKBONE].address.s_addr) {
			lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
			return false;
		}
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
			lcore_drop(lc, m, GW_DROP_FRAGMENT);
			return false;
		}
		if (ip->next_proto_id == IPPROTO_ICMP) {
			lcore_slow(lc, m, SLOW_LOCAL, PORT_BACKBONE);
			return false;
		}
		if (ip->next_proto_id != IPPROTO_UDP || total < ihl + UDP_LEN) {
			lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
			return false;
		}
		udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
		total -= ihl;
		o->src.family = AF_INET;
		o->src.addr.v4.s_addr = ip->src_addr;
		o->tos = ip->type_of_service;
		break;
	}
	case RTE_ETHER_TYPE_IPV6: {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP6_LEN || rte_be_to_cpu_32(ip6->vtc_flow) >> 28 != 6 ||
		    (total = rte_be_to_cpu_16(ip6->payload_len)) > len - RTE_ETHER_HDR_LEN - IP6_LEN) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return false;
		}
		if (ip6_is_nd(ip6, IP6_LEN + total)) {
			lcore_slow(lc, m, SLOW_ND, PORT_BACKBONE);
			return false;
		}
		if (!gateway_ip6_is_ours(gw, PORT_BACKBONE, ip6->dst_addr)) {
			lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
			return false;
		}
		if (ip6->proto == IPPROTO_ICMPV6) {
			lcore_slow(lc, m, SLOW_LOCAL, PORT_BACKBONE);
			return false;
		}
		/* No extension headers: WireGuard peers send plain UDP. */
		if (ip6->proto != IPPROTO_UDP || total < UDP_LEN) {
			lcore_drop(lc, m, ip6->proto == IPPROTO_FRAGMENT ? GW_DROP_FRAGMENT : GW_DROP_NOT_FOR_US);
			return false;
		}
		udp = (struct rte_udp_hdr *)(ip6 + 1);
		o->src.family = AF_INET6;
		memcpy(&o->src.addr.v6, ip6->src_addr, 16);
		o->tos = (uint8_t)(rte_be_to_cpu_32(ip6->vtc_flow) >> 20);
		break;
	}
	default:
		lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
		return false;
	}
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (udp_len < UDP_LEN || udp_len > total) {
		lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
		return false;
	}
	if (rte_be_to_cpu_16(udp->dst_port) != listen_port) {
		lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
		return false;
	}
	o->src.port = rte_be_to_cpu_16(udp->src_port);
	o->payload = (uint8_t *)(udp + 1);
	o->len = udp_len - UDP_LEN;
	return true;
}

/* A relayed message for another gateway: on to the next hop, undecrypted. */
static void relay_forward(struct lcore_ctx *lc, struct rte_mbuf *m, const struct outer *o,
			  struct relay_hdr *r)
{
	struct gateway *gw = lc->gw;
	struct wg_endpoint next, own;
	struct path p;

	if (r->hops >= r->hop_limit) {
		lcore_drop(lc, m, GW_DROP_HOP_LIMIT);
		return;
	}
	if (!path_to_gateway(gw, rte_be_to_cpu_16(r->dst_gw), &p)) {
		lcore_drop(lc, m, GW_DROP_NO_ROUTE);
		return;
	}
	wg_peer_endpoint(p.peer, &own);
	if (!path_first_hop(gw, &p, &own, &next)) {
		lcore_drop(lc, m, GW_DROP_NO_ROUTE);
		return;
	}
	if (wg_endpoint_equal(&next, &o->src)) {
		lcore_drop(lc, m, GW_DROP_RELAY_LOOP);
		return;
	}
	r->hops++;
	COUNT(&lc->counters, relayed, 1);
	rte_pktmbuf_adj(m, (uint16_t)((uint8_t *)r - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - o->len));
	/* An outer hop like any router's: the ECN field travels on. */
	underlay_encap(lc, m, &next, o->tos);
}

static unsigned exact_length(uint8_t type)
{
	return type == WG_MSG_INITIATION ? WG_INITIATION_LEN
	       : type == WG_MSG_RESPONSE ? WG_RESPONSE_LEN : WG_COOKIE_LEN;
}

struct bb_job {
	uint8_t tos;
	uint8_t hops;
};

/* The worker that decrypts a session: the first to receive its data claims
 * it. A peer's tunnel is one UDP flow, which the NIC's hash (or af_packet's
 * fanout) keeps on one queue, so hand-offs are rare: relayed traffic, roaming.
 * Live receiver indices differ in their low INDEX_BITS bits, so each has its
 * own slot; a stale claim of an older index is simply replaced. */
static unsigned session_owner(struct gateway *gw, uint32_t index, unsigned me)
{
	_Atomic uint64_t *slot = &gw->owner[index & ((1u << INDEX_BITS) - 1)];
	uint64_t cur = atomic_load_explicit(slot, memory_order_acquire);

	if ((uint32_t)(cur >> 8) == index)
		return cur & 0xff;
	if (atomic_compare_exchange_strong(slot, &cur, (uint64_t)index << 8 | me))
		return me;
	return (uint32_t)(cur >> 8) == index ? cur & 0xff : me;
}

/* Validates one backbone frame. Data messages this worker owns are added to
 * rx[]; everything else is handed on or dropped here. */
static bool classify_backbone(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t listen_port,
			      struct wg_rx *rx, struct bb_job *job)
{
	struct gateway *gw = lc->gw;
	struct relay_hdr *relay = NULL;
	struct outer o;
	uint32_t type, receiver;
	uint8_t *msg;

	if (!parse_outer(lc, m, listen_port, &o))
		return false;
	msg = o.payload;
	if (o.len >= RELAY_LEN && msg[0] == RELAY_TYPE) {
		relay = (struct relay_hdr *)msg;
		if (relay->version != RELAY_VERSION || relay->hops == 0) {
			lcore_drop(lc, m, GW_DROP_UNKNOWN_TYPE);
			return false;
		}
		if (rte_be_to_cpu_16(relay->dst_gw) != routes_self(gw->routes)) {
			relay_forward(lc, m, &o, relay);
			return false;
		}
		msg += RELAY_LEN;
		o.len -= RELAY_LEN;
	}
	if (o.len < 4) {
		lcore_drop(lc, m, GW_DROP_UNKNOWN_TYPE);
		return false;
	}
	/* A little-endian type word: 1-4 with three zero bytes. */
	type = (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 24;
	switch (type) {
	case WG_MSG_DATA:
		if (o.len >= 8 && gw->workers > 1) {
			memcpy(&receiver, msg + 4, 4);
			unsigned owner = session_owner(gw, rte_le_to_cpu_32(receiver), lc->worker);

			if (owner != lc->worker) {
				if (rte_ring_enqueue(gw->handoff[owner], m))
					lcore_drop(lc, m, GW_DROP_HANDOFF_FULL);
				else
					COUNT(&lc->counters, handed_off, 1);
				return false;
			}
		}
		rx->msg = msg;
		rx->len = o.len;
		rx->src = o.src;
		rx->relayed = relay != NULL;
		job->tos = o.tos;
		job->hops = relay ? relay->hops : 1;
		return true;
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
	case WG_MSG_COOKIE: {
		struct pkt_meta *meta;

		if (o.len != exact_length((uint8_t)type)) {
			lcore_drop(lc, m, WG_DROP_MALFORMED);
			return false;
		}
		meta = lcore_note(m, SLOW_HANDSHAKE, PORT_BACKBONE);
		meta->relayed = relay != NULL;
		meta->src_gw = relay ? rte_be_to_cpu_16(relay->src_gw) : 0;
		lcore_to_main(lc, m);
		return false;
	}
	default:
		lcore_drop(lc, m, GW_DROP_UNKNOWN_TYPE);
		return false;
	}
}

static bool for_our_overlay(const struct gateway *gw, const uint8_t *ip)
{
	if ((ip[0] >> 4) == 4)
		return !memcmp(ip + 16, &gw->cfg.port[PORT_VM].address.s_addr, 4);
	return gateway_ip6_is_ours(gw, PORT_VM, ip + 24);
}

/* The decrypted inner packet: one more router hop, then out to the VM. */
static void deliver(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_rx *rx,
		    const struct bb_job *job)
{
	uint8_t next_hop[16];

	hop_ecn_decap(job->tos, rx->plain);
	rte_pktmbuf_adj(m, (uint16_t)(rx->plain - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - rx->plain_len));
	if (for_our_overlay(lc->gw, rx->plain)) {
		COUNT(&lc->counters, decrypted, 1);
		lcore_note(m, SLOW_OVERLAY, PORT_BACKBONE)->src_gw = (uint16_t)wg_peer_user(rx->peer);
		lcore_to_main(lc, m);
		return;
	}
	/* Our own hop; an error about it goes back through the tunnel (port
	 * BACKBONE) in our name. */
	if (!hop_spend_ttl(lc, m, PORT_BACKBONE, 1, 0))
		return;
	if ((rx->plain[0] >> 4) == 4)
		neigh_key4(next_hop, ((struct rte_ipv4_hdr *)rx->plain)->dst_addr);
	else
		memcpy(next_hop, ((struct rte_ipv6_hdr *)rx->plain)->dst_addr, 16);
	COUNT(&lc->counters, decrypted, 1);
	COUNT(&lc->counters, hops[job->hops < HOP_BUCKETS ? job->hops : HOP_BUCKETS - 1], 1);
	neigh_output(lc, PORT_VM, m, next_hop);
}

void ingress_burst(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now,
		   bool counted)
{
	struct gateway *gw = lc->gw;
	uint16_t listen_port = wg_device_listen_port(gw->dev);
	struct wg_rx rx[BURST];
	struct rte_mbuf *data[BURST];
	struct bb_job job[BURST];
	bool attention = false;
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!counted) {
			COUNT(&lc->counters, rx_packets[PORT_BACKBONE], 1);
			COUNT(&lc->counters, rx_bytes[PORT_BACKBONE], rte_pktmbuf_pkt_len(pkts[i]));
		}
		if (classify_backbone(lc, pkts[i], listen_port, &rx[k], &job[k]))
			data[k++] = pkts[i];
	}
	wg_decrypt_burst(lc->crypto, gw->dev, rx, k, now, &attention);
	for (unsigned i = 0; i < k; i++) {
		if (rx[i].status != WG_OK) {
			lcore_drop(lc, data[i], rx[i].status);
		} else if (rx[i].keepalive) {
			COUNT(&lc->counters, keepalives_received, 1);
			rte_pktmbuf_free(data[i]);
		} else {
			deliver(lc, data[i], &rx[i], &job[i]);
		}
	}
	if (attention)
		lcore_wake_main(gw);
}
