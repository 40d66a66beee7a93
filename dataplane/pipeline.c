// SPDX-License-Identifier: MIT
/*
 * The packet's way through the gateway, top to bottom.
 *
 *   VM port                                  backbone port
 *   rx burst -> from_vms()                   rx burst -> from_backbone()
 *     ARP, packets to us  -> main lcore        ARP, packets to us  -> main lcore
 *     validate IPv4/IPv6 header                validate Ethernet/IPv4/UDP, our port
 *     allowed-ips: which peer                  handshake messages  -> main lcore
 *     encrypt_and_send():                      wg_decrypt_burst(): index, AEAD,
 *       wg_encrypt_burst()                       replay window, cryptokey check
 *       outer IPv4/UDP, next-hop MAC           deliver(): Ethernet towards the VM
 *     tx burst on the backbone port            tx burst on the VM port
 *
 * The worker owns both ports' queues. Frames the main lcore builds (handshakes,
 * ARP, staged packets) come back through gw->to_port and leave in the same tx
 * bursts. Nothing here takes a lock, allocates, or makes a syscall per packet.
 */
#include <time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "gateway.h"

#define BURST 32
#define OUTER_LEN (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
#define ENCAP_LEN (OUTER_LEN + WG_DATA_HEADER_LEN)
#define ECN_MASK 3
#define ECN_CE 3
#define ECN_ECT0 2

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void gateway_wake_control(struct gateway *gw)
{
	uint64_t one = 1;

	if (!atomic_exchange_explicit(&gw->wake_pending, true, memory_order_acq_rel) &&
	    write(gw->wake_fd, &one, sizeof(one)) < 0) {
		/* The eventfd counter cannot overflow at one write per wake-up; the
		 * main lcore also polls on its tick, so a lost wake-up only delays. */
	}
}

static void drop(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned reason)
{
	COUNT(&lc->counters, drop[reason], 1);
	rte_pktmbuf_free(m);
}

static void to_control(struct lcore_ctx *lc, struct rte_mbuf *m, enum slow_reason why,
		       unsigned port, uint32_t next_hop)
{
	struct slow_meta *meta = slow_meta(m);

	meta->reason = (uint8_t)why;
	meta->port = (uint8_t)port;
	meta->next_hop = next_hop;
	if (rte_ring_enqueue(lc->gw->to_control, m)) {
		drop(lc, m, C_SLOWPATH_FULL);
		return;
	}
	gateway_wake_control(lc->gw);
}

/* ---- transmit ---- */

static void flush_port(struct lcore_ctx *lc, unsigned port)
{
	struct gateway *gw = lc->gw;
	unsigned n = lc->ntx[port], sent = 0;

	for (int tries = 0; sent < n && tries < 4; tries++)
		sent += rte_eth_tx_burst(gw->port_id[port], 0, lc->tx[port] + sent, (uint16_t)(n - sent));
	for (unsigned i = sent; i < n; i++)
		drop(lc, lc->tx[port][i], C_TX_FULL);
	lc->ntx[port] = 0;
}

static void queue_tx(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m)
{
	COUNT(&lc->counters, tx_packets[port], 1);
	COUNT(&lc->counters, tx_bytes[port], rte_pktmbuf_pkt_len(m));
	if (!lc->is_worker) {
		if (rte_ring_enqueue(lc->gw->to_port[port], m))
			drop(lc, m, C_TX_FULL);
		return;
	}
	lc->tx[port][lc->ntx[port]++] = m;
	if (lc->ntx[port] == TX_BUF)
		flush_port(lc, port);
}

uint32_t pipeline_next_hop(const struct gateway *gw, uint32_t dst)
{
	const struct port_config *bb = &gw->cfg.port[PORT_BACKBONE];
	uint32_t mask = htonl(~0u << (32 - bb->prefix_len));

	if ((dst & mask) == (bb->address.s_addr & mask) || !bb->gateway.s_addr)
		return dst;
	return bb->gateway.s_addr;
}

/* The frame's Ethernet header is the first 14 bytes; fill in the addresses. */
void pipeline_emit(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m, uint32_t next_hop)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (!neigh_lookup(lc->gw->neigh[port], next_hop, &eth->dst_addr)) {
		if (lc->is_worker)
			to_control(lc, m, SLOW_NEIGH, port, next_hop);
		else
			neigh_resolve(lc->gw, port, next_hop, m, mono_ns());
		return;
	}
	rte_ether_addr_copy(&lc->gw->mac[port], &eth->src_addr);
	queue_tx(lc, port, m);
}

void pipeline_encap_udp4(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
			 uint32_t msg_len, uint8_t tos)
{
	struct gateway *gw = lc->gw;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t total = (uint16_t)(sizeof(*ip) + sizeof(*udp) + msg_len);

	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->packet_id = rte_cpu_to_be_16(lc->ip_id++);
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = gw->cfg.port[PORT_BACKBONE].address.s_addr;
	ip->dst_addr = dst->addr.v4.s_addr;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(wg_device_listen_port(gw->dev));
	udp->dst_port = rte_cpu_to_be_16(dst->port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + msg_len));
	/* Zero is a valid IPv4 UDP checksum: the AEAD tag already protects every
	 * byte that matters, and summing 1420 bytes per packet is not free. */
	udp->dgram_cksum = 0;
	m->data_len = (uint16_t)(RTE_ETHER_HDR_LEN + total);
	m->pkt_len = m->data_len;
}

/* ---- VM side -> backbone ---- */

/* RFC 6040 normal mode: the outer header carries the inner ECN field, except
 * that congestion already experienced is not signalled twice. */
static uint8_t outer_tos(uint8_t inner_ecn)
{
	return inner_ecn == ECN_CE ? ECN_ECT0 : inner_ecn;
}

/* pkts start at the inner IP header. Encrypts them for peers and sends them;
 * packets whose peer has no session yet go to staging. */
static void encrypt_and_send(struct lcore_ctx *lc, struct wg_tx *tx, struct rte_mbuf **pkts,
			     const uint8_t *ecn, unsigned n, uint64_t now)
{
	struct gateway *gw = lc->gw;

	wg_encrypt_burst(lc->crypto, tx, n, now);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		switch (tx[i].status) {
		case WG_OK:
			if (tx[i].dst.family != AF_INET) {
				drop(lc, m, WG_DROP_NO_ENDPOINT);
				break;
			}
			COUNT(&lc->counters, encrypted, 1);
			pipeline_encap_udp4(lc, m, &tx[i].dst, tx[i].len, outer_tos(ecn[i]));
			pipeline_emit(lc, PORT_BACKBONE, m, pipeline_next_hop(gw, tx[i].dst.addr.v4.s_addr));
			break;
		case WG_DROP_NO_SESSION:
			rte_pktmbuf_adj(m, ENCAP_LEN);
			if (lc->is_worker)
				to_control(lc, m, SLOW_STAGE, PORT_VM, 0);
			else
				wg_peer_stage(tx[i].peer, m, now);
			break;
		default:
			drop(lc, m, tx[i].status);
		}
	}
}

/* Make room for the outer headers in front and padding plus tag behind. */
static bool prepare_encrypt(struct rte_mbuf *m, struct wg_peer *peer, struct wg_tx *tx,
			    uint32_t inner_len)
{
	if (rte_pktmbuf_tailroom(m) < WG_DATA_TAILROOM || !rte_pktmbuf_prepend(m, ENCAP_LEN))
		return false;
	tx->peer = peer;
	tx->msg = rte_pktmbuf_mtod_offset(m, uint8_t *, OUTER_LEN);
	tx->len = inner_len;
	return true;
}

void pipeline_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			   unsigned n, uint64_t now)
{
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	uint8_t ecn[BURST];

	while (n) {
		unsigned k = 0, take = n < BURST ? n : BURST;

		for (unsigned i = 0; i < take; i++) {
			struct rte_mbuf *m = pkts[i];
			uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);

			ecn[k] = (ip[0] >> 4) == 4 ? (ip[1] & ECN_MASK) : ((ip[1] >> 4) & ECN_MASK);
			if (!prepare_encrypt(m, peer, &tx[k], rte_pktmbuf_pkt_len(m))) {
				drop(lc, m, C_TOO_BIG);
				continue;
			}
			ready[k++] = m;
		}
		encrypt_and_send(lc, tx, ready, ecn, k, now);
		pkts += take;
		n -= take;
	}
}

/* Validates one VM frame and finds its peer; NULL means it went elsewhere. */
static struct wg_peer *classify_vm(struct lcore_ctx *lc, struct rte_mbuf *m, uint32_t *inner_len,
				   uint8_t *ecn)
{
	struct gateway *gw = lc->gw;
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct wg_peer *peer;

	if (len < RTE_ETHER_HDR_LEN) {
		drop(lc, m, C_MALFORMED_FRAME);
		return NULL;
	}
	/* Our own frames (and the host stack's on the same interface) echo back
	 * on some PMDs. */
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_VM])) {
		drop(lc, m, C_NOT_FOR_US);
		return NULL;
	}
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		to_control(lc, m, SLOW_ARP, PORT_VM, 0);
		return NULL;
	case RTE_ETHER_TYPE_IPV4: {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint32_t total;

		if (len < RTE_ETHER_HDR_LEN + sizeof(*ip) || (ip->version_ihl >> 4) != 4 ||
		    (ip->version_ihl & 0xf) < 5 ||
		    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN ||
		    total < (ip->version_ihl & 0xfu) * 4) {
			drop(lc, m, C_MALFORMED_FRAME);
			return NULL;
		}
		if (ip->dst_addr == gw->cfg.port[PORT_VM].address.s_addr) {
			to_control(lc, m, SLOW_LOCAL, PORT_VM, 0);
			return NULL;
		}
		if (total > gw->cfg.mtu) {
			drop(lc, m, C_TOO_BIG);
			return NULL;
		}
		peer = wg_allowedips_lookup(gw->dev, AF_INET, &ip->dst_addr);
		*inner_len = total;
		*ecn = ip->type_of_service & ECN_MASK;
		break;
	}
	case RTE_ETHER_TYPE_IPV6: {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
		uint32_t total;

		if (len < RTE_ETHER_HDR_LEN + sizeof(*ip6) || rte_be_to_cpu_32(ip6->vtc_flow) >> 28 != 6 ||
		    (total = sizeof(*ip6) + rte_be_to_cpu_16(ip6->payload_len)) > len - RTE_ETHER_HDR_LEN) {
			drop(lc, m, C_MALFORMED_FRAME);
			return NULL;
		}
		if (ip6->dst_addr[0] == 0xff) { /* multicast: neighbour discovery, MLD */
			drop(lc, m, C_NOT_FOR_US);
			return NULL;
		}
		if (total > gw->cfg.mtu) {
			drop(lc, m, C_TOO_BIG);
			return NULL;
		}
		peer = wg_allowedips_lookup(gw->dev, AF_INET6, ip6->dst_addr);
		*inner_len = total;
		*ecn = (uint8_t)(rte_be_to_cpu_32(ip6->vtc_flow) >> 20) & ECN_MASK;
		break;
	}
	default:
		drop(lc, m, C_NOT_IP);
		return NULL;
	}
	if (!peer) {
		drop(lc, m, C_NO_PEER);
		return NULL;
	}
	return peer;
}

static void from_vms(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	uint8_t ecn[BURST];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct wg_peer *peer;
		uint32_t inner_len;

		COUNT(&lc->counters, rx_packets[PORT_VM], 1);
		COUNT(&lc->counters, rx_bytes[PORT_VM], rte_pktmbuf_pkt_len(m));
		peer = classify_vm(lc, m, &inner_len, &ecn[k]);
		if (!peer)
			continue;
		/* Drop the Ethernet header and any padding behind the IP packet. */
		rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - inner_len);
		if (!prepare_encrypt(m, peer, &tx[k], inner_len)) {
			drop(lc, m, C_TOO_BIG);
			continue;
		}
		ready[k++] = m;
	}
	encrypt_and_send(lc, tx, ready, ecn, k, now);
}

/* ---- backbone -> VM side ---- */

/* Validates one backbone frame. Data messages are added to rx[]; everything
 * else is handed on or dropped here. */
static bool classify_backbone(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t listen_port,
			      struct wg_rx *rx, uint8_t *tos)
{
	struct gateway *gw = lc->gw;
	uint32_t len = rte_pktmbuf_data_len(m), ihl, total, udp_len, msg_len, type;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp;
	uint8_t *msg;

	if (len < RTE_ETHER_HDR_LEN) {
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_BACKBONE])) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		to_control(lc, m, SLOW_ARP, PORT_BACKBONE, 0);
		return false;
	}
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	if (len < RTE_ETHER_HDR_LEN + sizeof(*ip) || (ip->version_ihl >> 4) != 4 ||
	    (ihl = (ip->version_ihl & 0xfu) * 4) < sizeof(*ip) ||
	    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN || total < ihl) {
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	if (ip->dst_addr != gw->cfg.port[PORT_BACKBONE].address.s_addr) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		drop(lc, m, C_FRAGMENT);
		return false;
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		to_control(lc, m, SLOW_LOCAL, PORT_BACKBONE, 0);
		return false;
	}
	if (ip->next_proto_id != IPPROTO_UDP || total < ihl + sizeof(*udp)) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (udp_len < sizeof(*udp) || udp_len > total - ihl) {
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	if (rte_be_to_cpu_16(udp->dst_port) != listen_port) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	msg = (uint8_t *)(udp + 1);
	msg_len = udp_len - sizeof(*udp);
	if (msg_len < 4) {
		drop(lc, m, C_UNKNOWN_TYPE);
		return false;
	}
	/* A little-endian type word: 1-4 with three zero bytes. */
	type = (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 24;
	switch (type) {
	case WG_MSG_DATA:
		rx->msg = msg;
		rx->len = msg_len;
		rx->src.family = AF_INET;
		rx->src.addr.v4.s_addr = ip->src_addr;
		rx->src.port = rte_be_to_cpu_16(udp->src_port);
		rx->relayed = false;
		*tos = ip->type_of_service;
		return true;
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
	case WG_MSG_COOKIE:
		if (msg_len != (type == WG_MSG_INITIATION ? WG_INITIATION_LEN
				: type == WG_MSG_RESPONSE ? WG_RESPONSE_LEN : WG_COOKIE_LEN)) {
			drop(lc, m, WG_DROP_MALFORMED);
			return false;
		}
		to_control(lc, m, SLOW_HANDSHAKE, PORT_BACKBONE, 0);
		return false;
	default:
		drop(lc, m, C_UNKNOWN_TYPE);
		return false;
	}
}

/* RFC 6040 decapsulation: congestion marked on the way is kept if the inner
 * packet can carry it. */
static void ecn_decap(uint8_t outer_tos, uint8_t *inner)
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

/* The decrypted inner packet becomes an Ethernet frame on the VM port. */
static void deliver(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_rx *rx, uint8_t tos)
{
	uint16_t offset = (uint16_t)(rx->plain - rte_pktmbuf_mtod(m, uint8_t *));
	struct rte_ether_hdr *eth;
	uint32_t next_hop;

	ecn_decap(tos, rx->plain);
	rte_pktmbuf_adj(m, (uint16_t)(offset - RTE_ETHER_HDR_LEN));
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (RTE_ETHER_HDR_LEN + rx->plain_len));
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if ((rx->plain[0] >> 4) != 4) {
		/* IPv6 VM neighbours are resolved by neighbour discovery, which this
		 * gateway does not speak yet: counted, not guessed. */
		drop(lc, m, C_NO_NEIGHBOUR);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	next_hop = ((struct rte_ipv4_hdr *)rx->plain)->dst_addr;
	COUNT(&lc->counters, decrypted, 1);
	pipeline_emit(lc, PORT_VM, m, next_hop);
}

static void from_backbone(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct gateway *gw = lc->gw;
	uint16_t listen_port = wg_device_listen_port(gw->dev);
	struct wg_rx rx[BURST];
	struct rte_mbuf *data[BURST];
	uint8_t tos[BURST];
	bool attention = false;
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		COUNT(&lc->counters, rx_packets[PORT_BACKBONE], 1);
		COUNT(&lc->counters, rx_bytes[PORT_BACKBONE], rte_pktmbuf_pkt_len(pkts[i]));
		if (classify_backbone(lc, pkts[i], listen_port, &rx[k], &tos[k]))
			data[k++] = pkts[i];
	}
	wg_decrypt_burst(lc->crypto, gw->dev, rx, k, now, &attention);
	for (unsigned i = 0; i < k; i++) {
		if (rx[i].status != WG_OK) {
			drop(lc, data[i], rx[i].status);
		} else if (rx[i].keepalive) {
			COUNT(&lc->counters, keepalives_received, 1);
			rte_pktmbuf_free(data[i]);
		} else {
			deliver(lc, data[i], &rx[i], tos[i]);
		}
	}
	if (attention)
		gateway_wake_control(gw);
}

/* ---- the worker loop ---- */

static unsigned drain_to_port(struct lcore_ctx *lc, unsigned port)
{
	struct rte_mbuf *pkts[BURST];
	unsigned n = rte_ring_dequeue_burst(lc->gw->to_port[port], (void **)pkts, BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		lc->tx[port][lc->ntx[port]++] = pkts[i];
		if (lc->ntx[port] == TX_BUF)
			flush_port(lc, port);
	}
	return n;
}

/* Adaptive idle: after a stretch of empty polls, sleep in growing steps up to
 * IDLE_MAX_US, offline for RCU so reclamation does not wait on a sleeper. */
#define IDLE_SPINS 512
#define IDLE_MAX_US 1000

static void idle_wait(struct lcore_ctx *lc, unsigned *empty, unsigned *sleep_us)
{
	struct timespec ts;

	if (++*empty < IDLE_SPINS) {
		rte_pause();
		return;
	}
	*sleep_us = *sleep_us ? (*sleep_us * 2 > IDLE_MAX_US ? IDLE_MAX_US : *sleep_us * 2) : 10;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)*sleep_us * 1000;
	rte_rcu_qsbr_thread_offline(lc->gw->qsbr, lc->qsbr_id);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(lc->gw->qsbr, lc->qsbr_id);
}

int pipeline_worker(void *arg)
{
	struct lcore_ctx *lc = arg;
	struct gateway *gw = lc->gw;
	struct rte_mbuf *pkts[BURST];
	unsigned empty = 0, sleep_us = 0;

	rte_rcu_qsbr_thread_register(gw->qsbr, lc->qsbr_id);
	rte_rcu_qsbr_thread_online(gw->qsbr, lc->qsbr_id);
	while (!atomic_load_explicit(&gw->quit, memory_order_relaxed)) {
		uint64_t now = mono_ns();
		unsigned work = 0, n;

		n = rte_eth_rx_burst(gw->port_id[PORT_VM], 0, pkts, BURST);
		if (n)
			from_vms(lc, pkts, n, now);
		work += n;
		n = rte_eth_rx_burst(gw->port_id[PORT_BACKBONE], 0, pkts, BURST);
		if (n)
			from_backbone(lc, pkts, n, now);
		work += n;
		for (unsigned p = 0; p < PORT_COUNT; p++) {
			work += drain_to_port(lc, p);
			if (lc->ntx[p])
				flush_port(lc, p);
		}
		rte_rcu_qsbr_quiescent(gw->qsbr, lc->qsbr_id);

		if (work) {
			empty = 0;
			sleep_us = 0;
		} else if (!gw->cfg.busy_poll) {
			idle_wait(lc, &empty, &sleep_us);
		}
	}
	rte_rcu_qsbr_thread_offline(gw->qsbr, lc->qsbr_id);
	rte_rcu_qsbr_thread_unregister(gw->qsbr, lc->qsbr_id);
	return 0;
}
