// SPDX-License-Identifier: MIT
/*
 * VM -> backbone, top to bottom.
 *
 *   VM port (queue w): rx burst -> egress_burst()
 *     route_burst4(): the burst's IPv4 routes (destinations and sources) in
 *       one bulk lookup
 *     classify_vm(): ARP, ND -> main lcore;
 *       validate IPv4/IPv6; vm_source4_ok()/vm_source6_ok(): only this
 *       gateway's VMs' addresses as source; packets to us -> main lcore;
 *       path_find(): route -> gateway -> path (or allowed-ips, plain WireGuard);
 *       hop_spend_ttl() (ours and each relay's), fits_mtu()
 *         -> ICMP errors and fragmentation by the main lcore
 *     prepare_encrypt(): room for the WireGuard (and relay) header
 *     encrypt_and_send():
 *       wg_encrypt_burst(); no session yet -> staged by the main lcore
 *       underlay_send(): relay header if the path has one, outer IPv4/IPv6
 *         and UDP, neigh_output(): next-hop MAC
 *     tx burst on the backbone port (worker.c, lcore_tx_flush())
 *
 * The main lcore enters at prepare_encrypt() with packets it holds (staged,
 * ICMP errors, fragments, probes): egress_send_to_peer(), _routed(), _direct().
 * Sending needs no session owner: the nonce is one atomic increment.
 */
#include <string.h>

#include <rte_ip.h>

#include "egress.h"
#include "gateway.h"
#include "hop.h"
#include "lcore_io.h"
#include "packet.h"
#include "routes.h"
#include "underlay.h"

#define BURST 32
#define NO_ROUTE4 UINT32_MAX

struct vm_job {
	struct path path;
	uint8_t ecn;
};

/* The routes of a burst's IPv4 destinations and sources in one bulk lookup:
 * with many /32 routes each lookup is a cache miss or two, which a burst
 * overlaps. */
static void route_burst4(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n,
			 uint32_t *route4, uint32_t *src_route4)
{
	uint32_t addr[2 * BURST];
	uint16_t gw_of[2 * BURST];
	uint8_t at[BURST];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

		route4[i] = src_route4[i] = NO_ROUTE4;
		if (rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN + IP4_LEN ||
		    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
			continue;
		addr[2 * k] = ip->dst_addr;
		addr[2 * k + 1] = ip->src_addr;
		at[k++] = (uint8_t)i;
	}
	if (!k)
		return;
	routes_lookup4_bulk(lc->gw->routes, addr, 2 * k, gw_of);
	for (unsigned j = 0; j < k; j++) {
		route4[at[j]] = gw_of[2 * j];
		src_route4[at[j]] = gw_of[2 * j + 1];
	}
}

/* Whether a VM may send from an address: one the routes give this gateway
 * (its prefixes, and where the control plane installs them, its VMs' own
 * addresses), or one no route gives anyone inside the VM port's own subnet
 * (a gateway the control plane has told nothing: plain WireGuard). Never
 * another gateway's, never the gateway's own (its VM-side and overlay
 * addresses: a VM posing as the gateway could answer probes in its name),
 * never unspecified. route: the route of the address (0: none). */
static bool vm_source4_ok(struct gateway *gw, uint32_t src, uint16_t route)
{
	const struct port_config *vm = &gw->cfg.port[PORT_VM];
	uint16_t self = routes_self(gw->routes);
	uint32_t mask;

	if (!src || src == vm->address.s_addr ||
	    (self && src == routes_gateway(gw->routes, self)->overlay4.s_addr))
		return false;
	if (route)
		return route == self;
	if (!vm->address.s_addr || !vm->prefix_len || vm->prefix_len > 32)
		return false;
	mask = rte_cpu_to_be_32(~0u << (32 - vm->prefix_len));
	return !((src ^ vm->address.s_addr) & mask);
}

static bool vm_source6_ok(struct gateway *gw, const uint8_t *src)
{
	const struct port_config *vm = &gw->cfg.port[PORT_VM];
	uint16_t self = routes_self(gw->routes), route;
	unsigned bits = vm->prefix6_len;

	static const uint8_t unspecified[16];

	/* src sits in the frame at any alignment: compared bytewise. */
	if (!memcmp(src, unspecified, sizeof(unspecified)) ||
	    gateway_ip6_is_ours(gw, PORT_VM, src) ||
	    (self && !memcmp(src, routes_gateway(gw->routes, self)->overlay6.s6_addr, 16)))
		return false;
	if ((route = routes_lookup(gw->routes, AF_INET6, src)))
		return route == self;
	if (IN6_IS_ADDR_UNSPECIFIED(&vm->address6) || !bits || bits > 128 ||
	    memcmp(src, vm->address6.s6_addr, bits / 8))
		return false;
	return bits % 8 == 0 ||
	       !((src[bits / 8] ^ vm->address6.s6_addr[bits / 8]) & (uint8_t)(0xff00 >> (bits % 8)));
}

/* Over the path's MTU: ICMP "too big" (IPv6, or IPv4 with DF), or fragments
 * cut by the main lcore (IPv4 without DF). Returns false if it went there. */
static bool fits_mtu(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p)
{
	uint16_t mtu = (uint16_t)(lc->gw->cfg.mtu - (path_relayed(p) ? RELAY_LEN : 0));
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);

	if (rte_pktmbuf_pkt_len(m) <= mtu)
		return true;
	if ((ip[0] >> 4) == 4 &&
	    !(((struct rte_ipv4_hdr *)ip)->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))) {
		lcore_note(m, SLOW_FRAGMENT, PORT_VM)->mtu = mtu;
		lcore_to_main(lc, m);
		return false;
	}
	hop_icmp_error(lc, m, PORT_VM, ICMP_TOO_BIG, 0, mtu, GW_DROP_TOO_BIG);
	return false;
}

/* Validates one VM frame and leaves it at its IP header with a path; false if
 * it went elsewhere (main lcore, ICMP, drop). route4, src_route4: the routes
 * of its IPv4 destination and source, looked up for the whole burst
 * (NO_ROUTE4: not looked up). */
static bool classify_vm(struct lcore_ctx *lc, struct rte_mbuf *m, uint32_t route4,
			uint32_t src_route4, struct vm_job *job)
{
	uint16_t dst_gw;
	struct gateway *gw = lc->gw;
	uint32_t len = rte_pktmbuf_data_len(m), total;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const void *dst;
	sa_family_t family;
	bool local;

	if (len < RTE_ETHER_HDR_LEN) {
		lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
		return false;
	}
	/* Our own frames (and the host stack's on the same interface) echo back
	 * on some PMDs. */
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_VM])) {
		lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
		return false;
	}
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		lcore_slow(lc, m, SLOW_ARP, PORT_VM);
		return false;
	case RTE_ETHER_TYPE_IPV4: {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP4_LEN || (ip->version_ihl >> 4) != 4 ||
		    (ip->version_ihl & 0xf) < 5 ||
		    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN ||
		    total < (ip->version_ihl & 0xfu) * 4) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return false;
		}
		if (!vm_source4_ok(gw, ip->src_addr,
				   src_route4 != NO_ROUTE4 ? (uint16_t)src_route4
							   : routes_lookup(gw->routes, AF_INET, &ip->src_addr))) {
			lcore_drop(lc, m, GW_DROP_VM_SPOOFED_SOURCE);
			return false;
		}
		if (ip->dst_addr == gw->cfg.port[PORT_VM].address.s_addr) {
			lcore_slow(lc, m, SLOW_LOCAL, PORT_VM);
			return false;
		}
		family = AF_INET;
		dst = &ip->dst_addr;
		dst_gw = route4 != NO_ROUTE4 ? (uint16_t)route4 : routes_lookup(gw->routes, family, dst);
		break;
	}
	case RTE_ETHER_TYPE_IPV6: {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP6_LEN || rte_be_to_cpu_32(ip6->vtc_flow) >> 28 != 6 ||
		    (total = IP6_LEN + rte_be_to_cpu_16(ip6->payload_len)) > len - RTE_ETHER_HDR_LEN) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return false;
		}
		if (ip6_is_nd(ip6, total)) {
			lcore_slow(lc, m, SLOW_ND, PORT_VM);
			return false;
		}
		if (ip6->dst_addr[0] == 0xff) { /* other multicast: MLD, router solicitation */
			lcore_drop(lc, m, GW_DROP_NOT_FOR_US);
			return false;
		}
		local = gateway_ip6_is_ours(gw, PORT_VM, ip6->dst_addr);
		/* A link-local source (fe80::/10) is the VM's own on this link:
		 * good for talking to us, never forwarded. */
		if (!(local && ip6->src_addr[0] == 0xfe && (ip6->src_addr[1] & 0xc0) == 0x80) &&
		    !vm_source6_ok(gw, ip6->src_addr)) {
			lcore_drop(lc, m, GW_DROP_VM_SPOOFED_SOURCE);
			return false;
		}
		if (local) {
			lcore_slow(lc, m, SLOW_LOCAL, PORT_VM);
			return false;
		}
		family = AF_INET6;
		dst = ip6->dst_addr;
		dst_gw = routes_lookup(gw->routes, family, dst);
		break;
	}
	default:
		lcore_drop(lc, m, GW_DROP_NOT_IP);
		return false;
	}
	/* Drop the Ethernet header and any padding behind the IP packet. */
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - total));
	if (!path_find(gw, family, dst, dst_gw, &job->path)) {
		lcore_drop(lc, m, GW_DROP_NO_PEER);
		return false;
	}
	if (!hop_spend_ttl(lc, m, PORT_VM, job->path.hops, job->path.gw) ||
	    !fits_mtu(lc, m, &job->path))
		return false;
	job->ecn = hop_ecn(rte_pktmbuf_mtod(m, uint8_t *));
	return true;
}

static unsigned overhead(const struct path *p)
{
	return WG_DATA_HEADER_LEN + (path_relayed(p) ? RELAY_LEN : 0);
}

/* Room for the WireGuard (and relay) header in front, padding and tag behind. */
static bool prepare_encrypt(struct rte_mbuf *m, const struct path *p, struct wg_tx *tx)
{
	uint32_t inner_len = rte_pktmbuf_pkt_len(m);

	if (rte_pktmbuf_tailroom(m) < WG_DATA_TAILROOM || !rte_pktmbuf_prepend(m, (uint16_t)overhead(p)))
		return false;
	tx->peer = p->peer;
	tx->msg = rte_pktmbuf_mtod_offset(m, uint8_t *, path_relayed(p) ? RELAY_LEN : 0);
	tx->len = inner_len;
	return true;
}

/* pkts start at the inner IP header and have room before them for the
 * WireGuard header (and relay header); encrypt, then send each its way. */
static void encrypt_and_send(struct lcore_ctx *lc, struct wg_tx *tx, struct rte_mbuf **pkts,
			     const struct vm_job *job, unsigned n, uint64_t now)
{
	wg_encrypt_burst(lc->crypto, tx, n, now);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		switch (tx[i].status) {
		case WG_OK:
			COUNT(&lc->counters, encrypted, 1);
			/* The message is at msg; the relay header, if any, goes before it. */
			rte_pktmbuf_adj(m, (uint16_t)(tx[i].msg - rte_pktmbuf_mtod(m, uint8_t *)));
			m->data_len = (uint16_t)tx[i].len;
			m->pkt_len = tx[i].len;
			if (!underlay_send(lc, m, &job[i].path, &tx[i].dst, hop_outer_tos(job[i].ecn)))
				lcore_drop(lc, m, WG_DROP_NO_ENDPOINT);
			break;
		case WG_DROP_NO_SESSION:
			rte_pktmbuf_adj(m, (uint16_t)overhead(&job[i].path));
			if (lc->is_worker)
				lcore_slow(lc, m, SLOW_STAGE, PORT_VM);
			else
				wg_peer_stage(tx[i].peer, m, now);
			break;
		default:
			lcore_drop(lc, m, tx[i].status);
		}
	}
}

void egress_burst(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	struct vm_job job[BURST];
	uint32_t route4[BURST], src_route4[BURST];
	unsigned k = 0;

	route_burst4(lc, pkts, n, route4, src_route4);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		COUNT(&lc->counters, rx_packets[PORT_VM], 1);
		COUNT(&lc->counters, rx_bytes[PORT_VM], rte_pktmbuf_pkt_len(m));
		if (!classify_vm(lc, m, route4[i], src_route4[i], &job[k]))
			continue;
		if (!prepare_encrypt(m, &job[k].path, &tx[k])) {
			lcore_drop(lc, m, GW_DROP_TOO_BIG);
			continue;
		}
		ready[k++] = m;
	}
	encrypt_and_send(lc, tx, ready, job, k, now);
}

/* ---- the main lcore's packets ---- */

void egress_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			 unsigned n, uint64_t now)
{
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	struct vm_job job[BURST];

	while (n) {
		unsigned k = 0, take = n < BURST ? n : BURST;

		for (unsigned i = 0; i < take; i++) {
			job[k].path = path_direct(peer);
			if (job[k].path.dst_gw)
				path_to_gateway(lc->gw, job[k].path.dst_gw, &job[k].path);
			job[k].path.peer = peer;
			job[k].ecn = hop_ecn(rte_pktmbuf_mtod(pkts[i], uint8_t *));
			if (!prepare_encrypt(pkts[i], &job[k].path, &tx[k])) {
				lcore_drop(lc, pkts[i], GW_DROP_TOO_BIG);
				continue;
			}
			ready[k++] = pkts[i];
		}
		encrypt_and_send(lc, tx, ready, job, k, now);
		pkts += take;
		n -= take;
	}
}

void egress_send_routed(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *ip = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		struct wg_tx tx;
		struct vm_job job;
		bool v4 = (ip[0] >> 4) == 4;

		sa_family_t family = v4 ? AF_INET : AF_INET6;
		const void *dst = ip + (v4 ? 16 : 24);

		if (!path_find(lc->gw, family, dst, routes_lookup(lc->gw->routes, family, dst),
			       &job.path)) {
			lcore_drop(lc, pkts[i], GW_DROP_NO_PEER);
			continue;
		}
		job.ecn = hop_ecn(ip);
		if (!prepare_encrypt(pkts[i], &job.path, &tx)) {
			lcore_drop(lc, pkts[i], GW_DROP_TOO_BIG);
			continue;
		}
		encrypt_and_send(lc, &tx, &pkts[i], &job, 1, now);
	}
}

bool egress_send_direct(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf *m,
			uint64_t now)
{
	struct vm_job job = { .path = path_direct(peer) };
	struct wg_tx tx;

	job.ecn = hop_ecn(rte_pktmbuf_mtod(m, uint8_t *));
	if (!prepare_encrypt(m, &job.path, &tx)) {
		lcore_drop(lc, m, GW_DROP_TOO_BIG);
		return false;
	}
	/* Without a session the probe is simply lost: staged probes would only
	 * come back late and lie about the RTT. */
	wg_encrypt_burst(lc->crypto, &tx, 1, now);
	if (tx.status == WG_DROP_NO_SESSION) {
		wg_peer_initiate(peer, now);
		lcore_drop(lc, m, WG_DROP_NO_SESSION);
		return false;
	}
	if (tx.status != WG_OK) {
		lcore_drop(lc, m, tx.status);
		return false;
	}
	COUNT(&lc->counters, encrypted, 1);
	rte_pktmbuf_adj(m, (uint16_t)(tx.msg - rte_pktmbuf_mtod(m, uint8_t *)));
	m->data_len = (uint16_t)tx.len;
	m->pkt_len = tx.len;
	if (!underlay_send(lc, m, &job.path, &tx.dst, hop_outer_tos(job.ecn))) {
		lcore_drop(lc, m, WG_DROP_NO_ENDPOINT);
		return false;
	}
	return true;
}
