// SPDX-License-Identifier: MIT
/*
 * The in-memory world around a gateway (gwharness.h), bottom to top:
 *   frames: gwh_put_eth(), gwh_put_ip_udp(), gwh_make_inner()
 *   ports: gwh_make_port() (rte_eth_from_rings), gwh_inject() into an rx
 *     ring, gwh_send_arp()
 *   far gateways: tunnels/ devices whose sends (far_send()) become frames in
 *     the backbone rx rings
 *   serving: gwh_service() drains the tx rings; gwh_dispatch() answers ARP
 *     and gives handshake messages and keepalives to their far device
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <rte_arp.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "gateway.h"
#include "gwharness.h"
#include "lcore_io.h"

#define TICK_NS 10000000ull

/* ---- frames ---- */

void gwh_put_eth(uint8_t *p, const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
		 uint16_t type)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(type);
}

void gwh_put_ip_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		    uint32_t payload)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(GWH_IP4_LEN + GWH_UDP_LEN + payload));
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(GWH_UDP_LEN + payload));
	udp->dgram_cksum = 0;
}

void gwh_make_inner(uint8_t *p, uint32_t size, uint32_t src, uint32_t dst, uint16_t sport,
		    uint16_t dport)
{
	gwh_put_ip_udp(p, src, dst, sport, dport, size - GWH_IP4_LEN - GWH_UDP_LEN);
	for (uint32_t i = GWH_IP4_LEN + GWH_UDP_LEN; i < size; i++)
		p[i] = gwh_pattern(i);
}

/* ---- ports and neighbours ---- */

bool gwh_make_port(struct gwh *h, unsigned p, const char *name, unsigned ring_size)
{
	char rname[RTE_RING_NAMESIZE];
	int id;

	for (unsigned w = 0; w < h->W; w++) {
		snprintf(rname, sizeof(rname), "bp_%s_rx%u", name, w);
		h->rx[p][w] = rte_ring_create(rname, ring_size, (int)rte_socket_id(),
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rname, sizeof(rname), "bp_%s_tx%u", name, w);
		h->tx[p][w] = rte_ring_create(rname, ring_size, (int)rte_socket_id(),
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!h->rx[p][w] || !h->tx[p][w])
			return false;
	}
	id = rte_eth_from_rings(name, h->rx[p], h->W, h->tx[p], h->W, rte_socket_id());
	if (id < 0 || rte_eth_dev_get_name_by_port((uint16_t)id, h->gw->cfg.port[p].device))
		return false;
	return true;
}

void gwh_drain_rings(struct gwh *h)
{
	struct rte_mbuf *pkts[64];
	unsigned n;

	for (unsigned p = 0; p < PORT_COUNT; p++)
		for (unsigned w = 0; w < h->W; w++) {
			while (h->rx[p][w] && (n = rte_ring_dequeue_burst(h->rx[p][w], (void **)pkts, 64, NULL)))
				rte_pktmbuf_free_bulk(pkts, n);
			while (h->tx[p][w] && (n = rte_ring_dequeue_burst(h->tx[p][w], (void **)pkts, 64, NULL)))
				rte_pktmbuf_free_bulk(pkts, n);
		}
}

void gwh_free_rings(struct gwh *h)
{
	for (unsigned p = 0; p < PORT_COUNT; p++)
		for (unsigned w = 0; w < h->W; w++) {
			rte_ring_free(h->rx[p][w]);
			rte_ring_free(h->tx[p][w]);
		}
}

void gwh_learn_gateway(struct gwh *h)
{
	wg_device_public_key(h->gw->dev, h->gw_pub);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		h->gw_ip[p] = h->gw->cfg.port[p].address.s_addr;
		h->gw_mac[p] = h->gw->mac[p];
	}
}

struct gwh_far *gwh_far_by_ip(struct gwh *h, uint32_t ip)
{
	for (unsigned w = 0; w < h->W; w++)
		if (h->far[w].ip == ip)
			return &h->far[w];
	return NULL;
}

struct gwh_vm *gwh_vm_by_ip(struct gwh *h, uint32_t ip)
{
	for (unsigned w = 0; w < h->W; w++)
		if (h->vm[w].ip == ip)
			return &h->vm[w];
	return NULL;
}

bool gwh_inject(struct gwh *h, unsigned port, unsigned q, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(h->rx[port][q], m)) {
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

bool gwh_send_arp(struct gwh *h, unsigned port, unsigned q, const struct rte_ether_addr *mac,
		  uint32_t ip, uint16_t op, const struct rte_ether_addr *dst_mac, uint32_t dst_ip)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_mbuf *m = rte_pktmbuf_alloc(h->pool);
	struct rte_arp_hdr *arp;
	uint8_t *p;

	if (!m || !(p = (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + sizeof(*arp)))) {
		rte_pktmbuf_free(m);
		return false;
	}
	gwh_put_eth(p, dst_mac ? dst_mac : &bcast, mac, RTE_ETHER_TYPE_ARP);
	arp = (struct rte_arp_hdr *)(p + RTE_ETHER_HDR_LEN);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = ip;
	if (dst_mac)
		rte_ether_addr_copy(dst_mac, &arp->arp_data.arp_tha);
	else
		memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = dst_ip;
	return gwh_inject(h, port, q, m);
}

/* ---- the far gateways (tunnels/ devices) ---- */

static bool far_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		     const uint8_t *msg, size_t len)
{
	struct gwh_far *f = ctx;
	struct gwh *h = f->h;
	struct rte_mbuf *m;
	uint8_t *p;

	(void)peer;
	if (to->family != AF_INET || !(m = rte_pktmbuf_alloc(h->pool)))
		return false;
	if (!(p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(GWH_HDRS_LEN + len)))) {
		rte_pktmbuf_free(m);
		return false;
	}
	gwh_put_eth(p, &h->gw_mac[PORT_BACKBONE], &f->mac, RTE_ETHER_TYPE_IPV4);
	gwh_put_ip_udp(p + RTE_ETHER_HDR_LEN, f->ip, to->addr.v4.s_addr, GWH_LISTEN_PORT, to->port,
		       (uint32_t)len);
	memcpy(p + GWH_HDRS_LEN, msg, len);
	return gwh_inject(h, PORT_BACKBONE, f->q, m);
}

static void far_session_ready(void *ctx, struct wg_peer *peer)
{
	(void)ctx, (void)peer;
}

static void far_free_staged(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

static void far_log(void *ctx, int level, const char *msg)
{
	struct gwh_far *f = ctx;

	if (level == 0)
		fprintf(stderr, "%s: far device %u: %s\n", f->h->who, f->q, msg);
}

void gwh_vm_init(struct gwh *h, unsigned q)
{
	h->vm[q].q = q;
	h->vm[q].mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0x01, (uint8_t)q } };
	h->vm[q].ip = htonl(0x0a010000u + 2 + q); /* 10.1.0.2 + q */
}

bool gwh_far_init(struct gwh *h, unsigned q)
{
	struct gwh_far *f = &h->far[q];
	struct wg_ops ops = {
		.ctx = f,
		.send = far_send,
		.session_ready = far_session_ready,
		.free_staged = far_free_staged,
		.log = far_log,
	};
	struct wg_endpoint ep = { .family = AF_INET, .port = GWH_LISTEN_PORT };
	uint8_t priv[WG_KEY_LEN];
	struct in_addr net;

	f->h = h;
	f->q = q;
	f->mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0x02, (uint8_t)q } };
	f->ip = htonl(0xc0000200u + 10 + q);                /* 192.0.2.10 + q */
	f->inner = htonl(0x0a000000u | (100 + q) << 16 | 2); /* 10.(100+q).0.2 */
	f->dev = wg_device_new(&ops, 10);
	if (!f->dev || getrandom(priv, sizeof(priv), 0) != sizeof(priv))
		return false;
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	wg_device_set_private_key(f->dev, priv, mono_ns());
	wg_memzero(priv, sizeof(priv));
	wg_device_public_key(f->dev, f->pub);
	wg_device_set_listen_port(f->dev, GWH_LISTEN_PORT);
	f->peer = wg_peer_add(f->dev, h->gw_pub);
	if (!f->peer)
		return false;
	ep.addr.v4.s_addr = h->gw_ip[PORT_BACKBONE];
	wg_peer_set_endpoint(f->peer, &ep);
	/* As a real peer answers now and then: no "sent, heard nothing back"
	 * handshake from the gateway in the encrypt-only phases. */
	wg_peer_set_persistent_keepalive(f->peer, 5, mono_ns());
	net.s_addr = htonl(0x0a010000u); /* the VMs: 10.1.0.0/16 */
	if (wg_peer_allowedip_add(f->peer, AF_INET, &net, 16))
		return false;
	wg_device_commit_allowedips(f->dev);
	return true;
}

void gwh_far_free(struct gwh *h)
{
	for (unsigned w = 0; w < h->W; w++) {
		wg_device_free(h->far[w].dev);
		h->far[w].dev = NULL;
	}
}

/* ---- serving ---- */

/* ARP from the gateway: answer its requests for our addresses; a reply to one
 * of ours means it has learned that address. */
static void handle_arp(struct gwh *h, unsigned port, const struct rte_arp_hdr *arp)
{
	uint32_t tip = arp->arp_data.arp_tip;
	const struct rte_ether_addr *mac = NULL;
	bool *ok = NULL;
	unsigned q = 0;

	if (arp->arp_data.arp_sip != h->gw_ip[port])
		return;
	if (port == PORT_BACKBONE) {
		struct gwh_far *f = gwh_far_by_ip(h, tip);

		if (f)
			mac = &f->mac, ok = &f->arp_ok, q = f->q;
	} else {
		struct gwh_vm *v = gwh_vm_by_ip(h, tip);

		if (v)
			mac = &v->mac, ok = &v->arp_ok, q = v->q;
	}
	if (!mac)
		return;
	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
		*ok = true;
	} else if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
		gwh_send_arp(h, port, q, mac, tip, RTE_ARP_OP_REPLY, &h->gw_mac[port], h->gw_ip[port]);
		h->arp_answers++;
	}
}

void gwh_dispatch(struct gwh *h, struct rte_mbuf *m, unsigned port)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint16_t type = len >= RTE_ETHER_HDR_LEN ? rte_be_to_cpu_16(eth->ether_type) : 0;

	if (type == RTE_ETHER_TYPE_ARP && len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_arp_hdr)) {
		handle_arp(h, port, (const struct rte_arp_hdr *)(p + RTE_ETHER_HDR_LEN));
		rte_pktmbuf_free(m);
		return;
	}
	if (port == PORT_BACKBONE && type == RTE_ETHER_TYPE_IPV4 && len >= GWH_HDRS_LEN + 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct gwh_far *f = gwh_far_by_ip(h, ip->dst_addr);
		uint32_t mlen = rte_be_to_cpu_16(udp->dgram_len) - GWH_UDP_LEN;
		uint8_t *msg = (uint8_t *)(udp + 1);
		struct wg_endpoint from = { .family = AF_INET, .port = rte_be_to_cpu_16(udp->src_port) };

		from.addr.v4.s_addr = ip->src_addr;
		if (f && ip->version_ihl == RTE_IPV4_VHL_DEF && ip->next_proto_id == IPPROTO_UDP &&
		    udp->dst_port == rte_cpu_to_be_16(GWH_LISTEN_PORT) && GWH_HDRS_LEN + mlen <= len) {
			uint64_t now = mono_ns();

			if (msg[0] >= WG_MSG_INITIATION && msg[0] <= WG_MSG_COOKIE) {
				enum wg_drop r = wg_device_handshake_rx(f->dev, msg, mlen, &from, 0, now);

				if (r == WG_OK)
					h->handshakes++;
				else
					fprintf(stderr, "%s: far device %u refused a type %u message from the gateway: %s\n",
						h->who, f->q, msg[0], wg_drop_name(r));
				rte_pktmbuf_free(m);
				return;
			}
			if (msg[0] == WG_MSG_DATA) {
				struct wg_rx rx = { .msg = msg, .len = mlen, .src = from };
				bool attention = false;

				wg_decrypt_burst(h->crypto, f->dev, &rx, 1, now, &attention);
				if (rx.status == WG_OK && rx.keepalive)
					h->keepalives++;
				else
					h->stray++;
				rte_pktmbuf_free(m);
				return;
			}
		}
	}
	h->stray++;
	rte_pktmbuf_free(m);
}

unsigned gwh_service(struct gwh *h)
{
	struct rte_mbuf *pkts[64];
	uint64_t now = mono_ns();
	unsigned total = 0, n;

	for (unsigned p = 0; p < PORT_COUNT; p++)
		for (unsigned w = 0; w < h->W; w++)
			while ((n = rte_ring_dequeue_burst(h->tx[p][w], (void **)pkts, 64, NULL))) {
				for (unsigned i = 0; i < n; i++)
					gwh_dispatch(h, pkts[i], p);
				total += n;
			}
	if (now - h->last_tick >= TICK_NS) {
		h->last_tick = now;
		for (unsigned w = 0; w < h->W; w++)
			wg_device_tick(h->far[w].dev, now);
	}
	return total;
}
