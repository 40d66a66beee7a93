// SPDX-License-Identifier: MIT
/*
 * The underlay: a WireGuard message's way to another gateway, top to bottom.
 *
 *   underlay_send_message()   handshakes, cookies (main lcore); without a
 *                             peer, to `to` directly: an answer to a
 *                             message that came direct
 *   underlay_send_back()      an answer to a relayed one: back the way it
 *                             came, first to the previous hop
 *   underlay_send_notice()    a relay's notice to a source whose frame it
 *                             cannot forward: back the way the frame came
 *   egress.c, after encryption
 *        |
 *   underlay_send(): path_first_hop() (the first relay's endpoint or the
 *     peer's); a relayed path within the hop limit and residency gets a
 *     relay header in front naming the whole path,
 *     its tag for the first hop (relay_sign(), relay_auth.c)
 *   underlay_encap(): outer IPv4/IPv6 and UDP (ingress.c's relay_forward()
 *     enters here too), underlay_next_hop()
 *   neigh_output(): Ethernet, out of the backbone port
 *
 * Paths come from routes.c: a gateway's path word names every gateway after
 * us; without a route, allowed-ips picks the peer, as plain WireGuard does.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "gateway.h"
#include "lcore_io.h"
#include "neigh.h"
#include "packet.h"
#include "relay_auth.h"
#include "routes.h"
#include "underlay.h"

_Static_assert(RELAY_MAX_PATH == HOP_LIMIT_MAX && RELAY_MAX_PATH == PATH_WORD_HOPS,
	       "the configuration, the path word and the relay header agree on the longest path");

/* ---- paths ---- */

bool path_to_gateway(struct gateway *gw, uint16_t dst_gw, struct path *p)
{
	struct gw_entry *e = routes_gateway(gw->routes, dst_gw);
	uint64_t word;

	if (!e || !(p->peer = atomic_load_explicit(&e->peer, memory_order_acquire)))
		return false;
	/* One load: the whole path is of one "path set". */
	word = atomic_load_explicit(&e->path, memory_order_relaxed);
	p->dst_gw = dst_gw;
	p->hops = word ? (uint8_t)path_word_hops(word) : 1;
	for (unsigned i = 0; i < RELAY_MAX_PATH; i++)
		p->gw[i] = i < p->hops ? (word ? path_word_gw(word, i) : dst_gw) : 0;
	return true;
}

bool path_gateway_endpoint(struct gateway *gw, uint16_t id, struct wg_endpoint *out)
{
	struct gw_entry *e = routes_gateway(gw->routes, id);
	struct wg_peer *peer;

	if (!e || !(peer = atomic_load_explicit(&e->peer, memory_order_acquire)))
		return false;
	wg_peer_endpoint(peer, out);
	return out->family != AF_UNSPEC;
}

/* (As wireguard-go peers expect, a packet no route covers goes to the peer
 * whose allowed-ips hold it.) */
bool path_find(struct gateway *gw, sa_family_t family, const void *dst, uint16_t dst_gw,
	       struct path *p)
{
	if (dst_gw)
		return path_to_gateway(gw, dst_gw, p);
	p->peer = wg_allowedips_lookup(gw->dev, family, dst);
	if (!p->peer)
		return false;
	p->dst_gw = (uint16_t)wg_peer_user(p->peer);
	p->hops = 1;
	memset(p->gw, 0, sizeof(p->gw));
	p->gw[0] = p->dst_gw;
	if (p->dst_gw) {
		struct path via;

		if (path_to_gateway(gw, p->dst_gw, &via))
			*p = via;
	}
	return true;
}

const struct relay_key *path_gateway_key(struct gateway *gw, uint16_t id)
{
	struct gw_entry *e = routes_gateway(gw->routes, id);

	return e ? atomic_load_explicit(&e->relay_key, memory_order_acquire) : NULL;
}

void path_back(const struct relay_hdr *r, struct path *p)
{
	memset(p, 0, sizeof(*p));
	p->dst_gw = rte_be_to_cpu_16(r->src_gw);
	p->hops = r->hop;
	for (unsigned i = 0; i + 1 < r->hop; i++)
		p->gw[i] = rte_be_to_cpu_16(r->path[r->hop - 2 - i]);
	p->gw[r->hop - 1] = p->dst_gw;
}

bool path_first_hop(struct gateway *gw, const struct path *p, const struct wg_endpoint *own,
		    struct wg_endpoint *out)
{
	if (!path_relayed(p)) {
		*out = *own;
		return own->family != AF_UNSPEC;
	}
	return path_gateway_endpoint(gw, p->gw[0], out);
}

static bool path_resident(struct gateway *gw, const struct path *p)
{
	uint16_t gws[RELAY_MAX_PATH + 1] = { routes_self(gw->routes) };

	for (unsigned i = 0; i < p->hops && i < RELAY_MAX_PATH; i++)
		gws[i + 1] = p->gw[i];
	return routes_path_resident(gw->routes, gws, p->hops + 1u);
}

/* ---- outer headers ---- */

static bool on_link6(const struct port_config *p, const uint8_t *a)
{
	unsigned bits = p->prefix6_len;

	for (unsigned i = 0; i < bits / 8; i++)
		if (a[i] != p->address6.s6_addr[i])
			return false;
	return bits % 8 == 0 ||
	       !((a[bits / 8] ^ p->address6.s6_addr[bits / 8]) & (0xff00 >> (bits % 8)));
}

void underlay_next_hop(const struct gateway *gw, const struct wg_endpoint *dst, uint8_t key[16])
{
	const struct port_config *bb = &gw->cfg.port[PORT_BACKBONE];

	if (dst->family == AF_INET) {
		uint32_t mask = htonl(~0u << (32 - bb->prefix_len)), ip = dst->addr.v4.s_addr;

		if ((ip & mask) != (bb->address.s_addr & mask) && bb->gateway.s_addr)
			ip = bb->gateway.s_addr;
		neigh_key4(key, ip);
	} else if (on_link6(bb, dst->addr.v6.s6_addr) || IN6_IS_ADDR_UNSPECIFIED(&bb->gateway6)) {
		memcpy(key, dst->addr.v6.s6_addr, 16);
	} else {
		memcpy(key, bb->gateway6.s6_addr, 16);
	}
}

void underlay_encap(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
		    uint8_t tos)
{
	struct gateway *gw = lc->gw;
	const struct port_config *bb = &gw->cfg.port[PORT_BACKBONE];
	uint16_t payload = (uint16_t)rte_pktmbuf_pkt_len(m);
	struct rte_udp_hdr *udp;
	uint8_t next_hop[16];

	if (dst->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, IP4_LEN + UDP_LEN);

		if (!ip) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return;
		}
		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = tos;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(IP4_LEN + UDP_LEN + payload));
		ip->packet_id = rte_cpu_to_be_16(lc->ip_id++);
		ip->fragment_offset = 0;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = bb->address.s_addr;
		ip->dst_addr = dst->addr.v4.s_addr;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		/* Zero is a valid IPv4 UDP checksum: the AEAD tag already protects
		 * every byte that matters. */
		udp->dgram_cksum = 0;
	} else if (dst->family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&bb->address6)) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)rte_pktmbuf_prepend(m, IP6_LEN + UDP_LEN);

		if (!ip6) {
			lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
			return;
		}
		udp = (struct rte_udp_hdr *)(ip6 + 1);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)tos << 20);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(UDP_LEN + payload));
		ip6->proto = IPPROTO_UDP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, bb->address6.s6_addr, 16);
		memcpy(ip6->dst_addr, dst->addr.v6.s6_addr, 16);
	} else {
		lcore_drop(lc, m, WG_DROP_NO_ENDPOINT);
		return;
	}
	udp->src_port = rte_cpu_to_be_16(wg_device_listen_port(gw->dev));
	udp->dst_port = rte_cpu_to_be_16(dst->port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(UDP_LEN + payload));
	if (dst->family == AF_INET6) {
		/* Mandatory over IPv6. */
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *), udp);
	}
	underlay_next_hop(gw, dst, next_hop);
	neigh_output(lc, PORT_BACKBONE, m, next_hop);
}

/* ---- a message on its path ---- */

void relay_hdr_init(struct relay_hdr *r, uint16_t src, uint8_t hop, uint8_t hop_limit, uint8_t n,
		    const uint16_t *path)
{
	memset(r, 0, RELAY_LEN);
	r->type = RELAY_TYPE;
	r->version = RELAY_VERSION;
	r->hop = hop;
	r->hop_limit = hop_limit;
	r->path_len = n;
	r->src_gw = rte_cpu_to_be_16(src);
	for (unsigned i = 0; i < n && i < RELAY_MAX_PATH; i++)
		r->path[i] = rte_cpu_to_be_16(path[i]);
}

/* The relay header of a frame on the first hop of path p, stamped with our
 * effective hop limit (the policy's, pushed by meshd); its tag is written
 * last, over the rest. */
static void put_relay_header(struct rte_mbuf *m, struct gateway *gw, const struct path *p,
			     unsigned hop_limit, const struct relay_key *key)
{
	struct relay_hdr *r = rte_pktmbuf_mtod(m, struct relay_hdr *);
	uint16_t self = routes_self(gw->routes);

	relay_hdr_init(r, self, 1, (uint8_t)hop_limit, p->hops, p->gw);
	relay_sign(key, r, self, p->gw[0], (const uint8_t *)(r + 1), rte_pktmbuf_data_len(m) - RELAY_LEN);
}

bool underlay_send(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p,
		   const struct wg_endpoint *own, uint8_t tos)
{
	struct wg_endpoint hop;
	unsigned limit;

	if (!path_first_hop(lc->gw, p, own, &hop))
		return false;
	if (path_relayed(p)) {
		const struct relay_key *key;

		/* A path installed before the limit came down: every relay would
		 * drop it, so it is not sent (until meshd installs a shorter one). */
		limit = routes_hop_limit(lc->gw->routes);
		if (p->hops > limit) {
			lcore_drop(lc, m, GW_DROP_HOP_LIMIT);
			return true;
		}
		/* Nor one that leaves the zone: a path installed before the
		 * policy or a zone changed (until meshd installs another). */
		if (!path_resident(lc->gw, p)) {
			lcore_drop(lc, m, GW_DROP_RESIDENCY);
			return true;
		}
		/* No key with the first relay (no identity yet): it would drop
		 * the frame as forged. The message is one segment (egress.c,
		 * mainlcore.c build it so), as the tag reads it. */
		if (!(key = path_gateway_key(lc->gw, p->gw[0])) || !rte_pktmbuf_is_contiguous(m) ||
		    !relay_msg_ok(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m)) ||
		    !rte_pktmbuf_prepend(m, RELAY_LEN))
			return false;
		put_relay_header(m, lc->gw, p, limit, key);
	}
	underlay_encap(lc, m, &hop, tos);
	return true;
}

bool underlay_send_message(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_peer *peer,
			   const struct wg_endpoint *to)
{
	struct path p = path_direct(peer);

	if (p.dst_gw)
		path_to_gateway(lc->gw, p.dst_gw, &p);
	return underlay_send(lc, m, &p, to, 0);
}

bool underlay_send_back(struct lcore_ctx *lc, struct rte_mbuf *m, const struct relay_hdr *r)
{
	struct wg_endpoint none = { .family = AF_UNSPEC };
	struct path p;

	path_back(r, &p);
	return underlay_send(lc, m, &p, &none, 0);
}

void underlay_send_notice(struct lcore_ctx *lc, struct rte_mbuf *m, const struct relay_hdr *r,
			  uint16_t next)
{
	struct gateway *gw = lc->gw;
	struct gw_entry *e = routes_gateway(gw->routes, rte_be_to_cpu_16(r->src_gw));
	uint64_t now = rte_rdtsc(), every = rte_get_tsc_hz() / 1000 * NOTICE_EVERY_MS, last;
	uint16_t self = routes_self(gw->routes);
	const unsigned len = RELAY_LEN + (unsigned)sizeof(struct relay_notice);
	const struct relay_key *key;
	struct relay_notice *n;
	struct relay_hdr in = *r, *h;
	struct wg_endpoint to;
	struct path back;

	/* One worker wins each period (the CAS); the others only free. */
	last = e ? atomic_load_explicit(&e->notice_tsc, memory_order_relaxed) : now;
	if (!e || now - last < every ||
	    !atomic_compare_exchange_strong_explicit(&e->notice_tsc, &last, now, memory_order_relaxed,
						     memory_order_relaxed)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* Back the way r came: the same gateways, so the same keys, and the
	 * same zones as the path the source chose. */
	path_back(&in, &back);
	if (!(key = path_gateway_key(gw, back.gw[0])) || !path_gateway_endpoint(gw, back.gw[0], &to)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* The frame itself becomes the notice: relay_check() let through no
	 * message shorter than one (RELAY_MSG_MIN). */
	rte_pktmbuf_adj(m, (uint16_t)((const uint8_t *)r - rte_pktmbuf_mtod(m, const uint8_t *)));
	if (rte_pktmbuf_pkt_len(m) < len || !rte_pktmbuf_is_contiguous(m)) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - len));
	h = rte_pktmbuf_mtod(m, struct relay_hdr *);
	relay_hdr_init(h, self, 1, in.hop_limit, back.hops, back.gw);
	n = (struct relay_notice *)(h + 1);
	memset(n, 0, sizeof(*n));
	n->type = RELAY_NOTICE_TYPE;
	n->reason = RELAY_NOTICE_NEXT_DOWN;
	n->unreachable = rte_cpu_to_be_16(next);
	relay_sign(key, h, self, back.gw[0], (const uint8_t *)n, sizeof(*n));
	COUNT(&lc->counters, notices_sent, 1);
	underlay_encap(lc, m, &to, 0);
}
