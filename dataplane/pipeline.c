// SPDX-License-Identifier: MIT
/*
 * The packet's way through the gateway, top to bottom.
 *
 *   VM port (queue w)                        backbone port (queue w)
 *   rx burst -> from_vms()                   rx burst -> from_backbone()
 *     route_burst4(): IPv4 routes in bulk      ARP, ND, packets to us -> main lcore
 *     ARP, ND, packets to us -> main lcore     parse_outer(): Ethernet, IPv4/IPv6,
 *     validate IPv4/IPv6                         UDP to our address and port
 *     find_path(): route -> gateway -> path    relay header: for us -> strip it;
 *       (or allowed-ips, plain WireGuard)        for another -> relay_forward(),
 *     TTL (ours and each relay's), MTU           never decrypted
 *       -> ICMP errors by the main lcore
 *     encrypt_and_send():                      handshakes -> main lcore
 *       wg_encrypt_burst()                     data: the session's owner worker
 *       relay header if the path has one         (hand-off ring otherwise)
 *       encap(): outer IPv4/IPv6 and UDP       wg_decrypt_burst(): index, AEAD,
 *       emit_ip(): next-hop MAC                  replay window, cryptokey check
 *     tx burst on the backbone port            deliver(): TTL, Ethernet to the VM
 *                                              tx burst on the VM port
 *
 * A session's replay window has one writer: data messages are decrypted by the
 * worker that owns their session (the first to receive it, session_owner())
 * and handed over to it if they arrive elsewhere. Sending needs no owner: the nonce is one atomic
 * increment. Frames the main lcore builds come back through gw->to_port and
 * leave in worker 0's bursts. Nothing here locks, allocates or makes a syscall
 * per packet.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "gateway.h"

#define BURST 32
#define NO_ROUTE4 UINT32_MAX
#define IP4_LEN ((unsigned)sizeof(struct rte_ipv4_hdr))
#define IP6_LEN ((unsigned)sizeof(struct rte_ipv6_hdr))
#define UDP_LEN ((unsigned)sizeof(struct rte_udp_hdr))
#define ECN_MASK 3
#define ECN_CE 3
#define ECN_ECT0 2
#define ICMP6_NS 135
#define ICMP6_NA 136

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

static struct pkt_meta *hand_over(struct rte_mbuf *m, enum slow_reason why, unsigned port)
{
	struct pkt_meta *meta = pkt_meta(m);

	memset(meta, 0, sizeof(*meta));
	meta->reason = (uint8_t)why;
	meta->port = (uint8_t)port;
	return meta;
}

static void to_control(struct lcore_ctx *lc, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(lc->gw->to_control, m)) {
		drop(lc, m, C_SLOWPATH_FULL);
		return;
	}
	gateway_wake_control(lc->gw);
}

static void slow(struct lcore_ctx *lc, struct rte_mbuf *m, enum slow_reason why, unsigned port)
{
	hand_over(m, why, port);
	to_control(lc, m);
}

/* ---- transmit ---- */

static void flush_port(struct lcore_ctx *lc, unsigned port)
{
	struct gateway *gw = lc->gw;
	unsigned n = lc->ntx[port], sent = 0;

	for (int tries = 0; sent < n && tries < 4; tries++)
		sent += rte_eth_tx_burst(gw->port_id[port], (uint16_t)lc->worker, lc->tx[port] + sent,
					 (uint16_t)(n - sent));
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

void neigh_key4(uint8_t key[16], uint32_t ip)
{
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &ip, 4);
}

void pipeline_emit_ip(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m,
		      const uint8_t next_hop[16])
{
	uint8_t version = *rte_pktmbuf_mtod(m, uint8_t *) >> 4;
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);

	if (!eth) {
		drop(lc, m, C_MALFORMED_FRAME);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(version == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (!neigh_lookup(lc->gw->neigh[port], next_hop, &eth->dst_addr)) {
		if (lc->is_worker) {
			memcpy(hand_over(m, SLOW_NEIGH, port)->next_hop, next_hop, 16);
			to_control(lc, m);
		} else {
			neigh_resolve(lc->gw, port, next_hop, m, mono_ns());
		}
		return;
	}
	rte_ether_addr_copy(&lc->gw->mac[port], &eth->src_addr);
	queue_tx(lc, port, m);
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

void pipeline_underlay_next_hop(const struct gateway *gw, const struct wg_endpoint *dst,
				uint8_t key[16])
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

/* Outer IP and UDP in front of the payload at the mbuf's start (a WireGuard
 * message, maybe behind a relay header), then out of the backbone port. */
static void encap(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
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
			drop(lc, m, C_MALFORMED_FRAME);
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
			drop(lc, m, C_MALFORMED_FRAME);
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
		drop(lc, m, WG_DROP_NO_ENDPOINT);
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
	pipeline_underlay_next_hop(gw, dst, next_hop);
	pipeline_emit_ip(lc, PORT_BACKBONE, m, next_hop);
}

/* ---- paths: which gateway, through which relay ---- */

struct path {
	struct wg_peer *peer; /* whose session encrypts: the destination's */
	uint16_t dst_gw;      /* 0: a plain WireGuard peer, no gateway id */
	uint16_t via_gw;      /* dst_gw when direct */
	uint8_t hops;         /* backbone hops: 1 direct, 2 through one relay */
};

static bool path_to_gateway(struct gateway *gw, uint16_t id, struct path *p)
{
	struct gw_entry *e = routes_gateway(gw->routes, id);
	uint32_t word;

	if (!e || !(p->peer = atomic_load_explicit(&e->peer, memory_order_acquire)))
		return false;
	word = atomic_load_explicit(&e->path, memory_order_relaxed);
	p->dst_gw = id;
	p->via_gw = word ? path_via(word) : id;
	p->hops = word ? path_hops(word) : 1;
	return true;
}

/* Routes first (id: the route's gateway, 0 for none); without one, the peer
 * whose allowed-ips hold the address, as plain WireGuard would send (and as
 * wireguard-go peers expect). */
static bool find_path(struct gateway *gw, sa_family_t family, const void *dst, uint16_t id,
		      struct path *p)
{
	if (id)
		return path_to_gateway(gw, id, p);
	p->peer = wg_allowedips_lookup(gw->dev, family, dst);
	if (!p->peer)
		return false;
	p->dst_gw = (uint16_t)wg_peer_user(p->peer);
	p->via_gw = p->dst_gw;
	p->hops = 1;
	if (p->dst_gw) {
		struct path via;

		if (path_to_gateway(gw, p->dst_gw, &via))
			*p = via;
	}
	return true;
}

static bool relayed(const struct path *p)
{
	return p->via_gw != p->dst_gw;
}

/* The endpoint to send to for a path: the relay's, or the peer's own. */
static bool first_hop(struct gateway *gw, const struct path *p, const struct wg_endpoint *own,
		      struct wg_endpoint *out)
{
	struct gw_entry *via;
	struct wg_peer *vp;

	if (!relayed(p)) {
		*out = *own;
		return own->family != AF_UNSPEC;
	}
	via = routes_gateway(gw->routes, p->via_gw);
	if (!via || !(vp = atomic_load_explicit(&via->peer, memory_order_acquire)))
		return false;
	wg_peer_endpoint(vp, out);
	return out->family != AF_UNSPEC;
}

static void put_relay_header(struct rte_mbuf *m, const struct gateway *gw, const struct path *p)
{
	struct relay_hdr *r = rte_pktmbuf_mtod(m, struct relay_hdr *);

	r->type = RELAY_TYPE;
	r->version = RELAY_VERSION;
	r->hops = 1;
	r->hop_limit = gw->cfg.hop_limit;
	r->dst_gw = rte_cpu_to_be_16(p->dst_gw);
	r->src_gw = rte_cpu_to_be_16(routes_self(gw->routes));
}

/* A WireGuard message at the mbuf's start goes to its peer, relayed if the
 * path says so. */
static bool send_on_path(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p,
			 const struct wg_endpoint *own, uint8_t tos)
{
	struct wg_endpoint hop;

	if (!first_hop(lc->gw, p, own, &hop))
		return false;
	if (relayed(p)) {
		if (!rte_pktmbuf_prepend(m, RELAY_LEN))
			return false;
		put_relay_header(m, lc->gw, p);
	}
	encap(lc, m, &hop, tos);
	return true;
}

bool pipeline_send_message(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_peer *peer,
			   const struct wg_endpoint *to)
{
	uint16_t id = peer ? (uint16_t)wg_peer_user(peer) : 0;
	struct path p = { .peer = peer, .dst_gw = id, .via_gw = id, .hops = 1 };

	if (id)
		path_to_gateway(lc->gw, id, &p);
	return send_on_path(lc, m, &p, to, 0);
}

bool pipeline_send_relayed(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t dst_gw)
{
	struct wg_endpoint own;
	struct path p;

	if (!path_to_gateway(lc->gw, dst_gw, &p))
		return false;
	wg_peer_endpoint(p.peer, &own);
	return send_on_path(lc, m, &p, &own, 0);
}

/* ---- VM side -> backbone ---- */

/* RFC 6040 normal mode: the outer header carries the inner ECN field, except
 * that congestion already experienced is not signalled twice. */
static uint8_t outer_tos(uint8_t inner_ecn)
{
	return inner_ecn == ECN_CE ? ECN_ECT0 : inner_ecn;
}

struct vm_job {
	struct path path;
	uint8_t ecn;
};

static unsigned overhead(const struct path *p)
{
	return WG_DATA_HEADER_LEN + (relayed(p) ? RELAY_LEN : 0);
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
			if (!send_on_path(lc, m, &job[i].path, &tx[i].dst, outer_tos(job[i].ecn)))
				drop(lc, m, WG_DROP_NO_ENDPOINT);
			break;
		case WG_DROP_NO_SESSION:
			rte_pktmbuf_adj(m, (uint16_t)overhead(&job[i].path));
			if (lc->is_worker)
				slow(lc, m, SLOW_STAGE, PORT_VM);
			else
				wg_peer_stage(tx[i].peer, m, now);
			break;
		default:
			drop(lc, m, tx[i].status);
		}
	}
}

/* Room for the WireGuard (and relay) header in front, padding and tag behind. */
static bool prepare_encrypt(struct rte_mbuf *m, const struct path *p, struct wg_tx *tx)
{
	uint32_t inner_len = rte_pktmbuf_pkt_len(m);

	if (rte_pktmbuf_tailroom(m) < WG_DATA_TAILROOM || !rte_pktmbuf_prepend(m, (uint16_t)overhead(p)))
		return false;
	tx->peer = p->peer;
	tx->msg = rte_pktmbuf_mtod_offset(m, uint8_t *, relayed(p) ? RELAY_LEN : 0);
	tx->len = inner_len;
	return true;
}

static uint8_t ecn_of(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (ip[1] & ECN_MASK) : ((ip[1] >> 4) & ECN_MASK);
}

void pipeline_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			   unsigned n, uint64_t now)
{
	uint16_t id = (uint16_t)wg_peer_user(peer);
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	struct vm_job job[BURST];

	while (n) {
		unsigned k = 0, take = n < BURST ? n : BURST;

		for (unsigned i = 0; i < take; i++) {
			job[k].path = (struct path){ .peer = peer, .dst_gw = id, .via_gw = id, .hops = 1 };
			if (id)
				path_to_gateway(lc->gw, id, &job[k].path);
			job[k].path.peer = peer;
			job[k].ecn = ecn_of(rte_pktmbuf_mtod(pkts[i], uint8_t *));
			if (!prepare_encrypt(pkts[i], &job[k].path, &tx[k])) {
				drop(lc, pkts[i], C_TOO_BIG);
				continue;
			}
			ready[k++] = pkts[i];
		}
		encrypt_and_send(lc, tx, ready, job, k, now);
		pkts += take;
		n -= take;
	}
}

void pipeline_send_routed(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *ip = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		struct wg_tx tx;
		struct vm_job job;
		bool v4 = (ip[0] >> 4) == 4;

		sa_family_t family = v4 ? AF_INET : AF_INET6;
		const void *dst = ip + (v4 ? 16 : 24);

		if (!find_path(lc->gw, family, dst, routes_lookup(lc->gw->routes, family, dst),
			       &job.path)) {
			drop(lc, pkts[i], C_NO_PEER);
			continue;
		}
		job.ecn = ecn_of(ip);
		if (!prepare_encrypt(pkts[i], &job.path, &tx)) {
			drop(lc, pkts[i], C_TOO_BIG);
			continue;
		}
		encrypt_and_send(lc, &tx, &pkts[i], &job, 1, now);
	}
}

void pipeline_send_direct(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf *m,
			  uint64_t now)
{
	uint16_t id = (uint16_t)wg_peer_user(peer);
	struct vm_job job = { .path = { .peer = peer, .dst_gw = id, .via_gw = id, .hops = 1 } };
	struct wg_tx tx;

	job.ecn = ecn_of(rte_pktmbuf_mtod(m, uint8_t *));
	if (!prepare_encrypt(m, &job.path, &tx)) {
		drop(lc, m, C_TOO_BIG);
		return;
	}
	/* Without a session the probe is simply lost: staged probes would only
	 * come back late and lie about the RTT. */
	wg_encrypt_burst(lc->crypto, &tx, 1, now);
	if (tx.status == WG_DROP_NO_SESSION) {
		wg_peer_initiate(peer, now);
		drop(lc, m, WG_DROP_NO_SESSION);
		return;
	}
	if (tx.status != WG_OK) {
		drop(lc, m, tx.status);
		return;
	}
	COUNT(&lc->counters, encrypted, 1);
	rte_pktmbuf_adj(m, (uint16_t)(tx.msg - rte_pktmbuf_mtod(m, uint8_t *)));
	m->data_len = (uint16_t)tx.len;
	m->pkt_len = tx.len;
	if (!send_on_path(lc, m, &job.path, &tx.dst, outer_tos(job.ecn)))
		drop(lc, m, WG_DROP_NO_ENDPOINT);
}

/* Hand a VM packet (at its IP header) to the main lcore for an ICMP error. */
static void icmp_error(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned port,
		       enum icmp_kind kind, uint16_t speaker_gw, uint16_t mtu, unsigned reason)
{
	struct pkt_meta *meta = hand_over(m, SLOW_ICMP, port);

	meta->icmp_kind = (uint8_t)kind;
	meta->src_gw = speaker_gw;
	meta->mtu = mtu;
	COUNT(&lc->counters, drop[reason], 1);
	to_control(lc, m);
}

/*
 * Each gateway is a router hop, and so is each relay, which cannot see the
 * inner header: the sending gateway counts the relays' hops for them and
 * answers in the relay's name when the TTL would run out there, so traceroute
 * shows every gateway on the path. Returns false if the packet went to ICMP.
 */
static bool spend_ttl(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned port, const struct path *p,
		      unsigned hops)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	bool v4 = (ip[0] >> 4) == 4;
	uint8_t *ttl = ip + (v4 ? 8 : 7);

	if (*ttl <= hops) {
		uint16_t speaker = *ttl <= 1 ? 0 : p->via_gw;

		icmp_error(lc, m, port, ICMP_TIME_EXCEEDED, speaker, 0, C_TTL_EXCEEDED);
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

/* Over the path's MTU: ICMP "too big" (IPv6, or IPv4 with DF), or fragments
 * cut by the main lcore (IPv4 without DF). Returns false if it went there. */
static bool fits_mtu(struct lcore_ctx *lc, struct rte_mbuf *m, const struct path *p)
{
	uint16_t mtu = (uint16_t)(lc->gw->cfg.mtu - (relayed(p) ? RELAY_LEN : 0));
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);

	if (rte_pktmbuf_pkt_len(m) <= mtu)
		return true;
	if ((ip[0] >> 4) == 4 &&
	    !(((struct rte_ipv4_hdr *)ip)->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))) {
		hand_over(m, SLOW_FRAGMENT, PORT_VM)->mtu = mtu;
		to_control(lc, m);
		return false;
	}
	icmp_error(lc, m, PORT_VM, ICMP_TOO_BIG, 0, mtu, C_TOO_BIG);
	return false;
}

bool ip6_is_ours(const struct gateway *gw, unsigned port, const uint8_t *addr)
{
	const struct in6_addr *a = &gw->cfg.port[port].address6;

	return !IN6_IS_ADDR_UNSPECIFIED(a) && !memcmp(addr, a->s6_addr, 16);
}

/* Neighbour solicitations and advertisements go to the main lcore. */
static bool is_nd(const struct rte_ipv6_hdr *ip6, uint32_t len)
{
	const uint8_t *icmp = (const uint8_t *)(ip6 + 1);

	return ip6->proto == IPPROTO_ICMPV6 && len >= IP6_LEN + 4 &&
	       (icmp[0] == ICMP6_NS || icmp[0] == ICMP6_NA);
}

/* Validates one VM frame and leaves it at its IP header with a path; false if
 * it went elsewhere (main lcore, ICMP, drop). route4: the route of its IPv4
 * destination, looked up for the whole burst (NO_ROUTE4: not looked up). */
static bool classify_vm(struct lcore_ctx *lc, struct rte_mbuf *m, uint32_t route4,
			struct vm_job *job)
{
	uint16_t id;
	struct gateway *gw = lc->gw;
	uint32_t len = rte_pktmbuf_data_len(m), total;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const void *dst;
	sa_family_t family;

	if (len < RTE_ETHER_HDR_LEN) {
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	/* Our own frames (and the host stack's on the same interface) echo back
	 * on some PMDs. */
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_VM])) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		slow(lc, m, SLOW_ARP, PORT_VM);
		return false;
	case RTE_ETHER_TYPE_IPV4: {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP4_LEN || (ip->version_ihl >> 4) != 4 ||
		    (ip->version_ihl & 0xf) < 5 ||
		    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN ||
		    total < (ip->version_ihl & 0xfu) * 4) {
			drop(lc, m, C_MALFORMED_FRAME);
			return false;
		}
		if (ip->dst_addr == gw->cfg.port[PORT_VM].address.s_addr) {
			slow(lc, m, SLOW_LOCAL, PORT_VM);
			return false;
		}
		family = AF_INET;
		dst = &ip->dst_addr;
		id = route4 != NO_ROUTE4 ? (uint16_t)route4 : routes_lookup(gw->routes, family, dst);
		break;
	}
	case RTE_ETHER_TYPE_IPV6: {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP6_LEN || rte_be_to_cpu_32(ip6->vtc_flow) >> 28 != 6 ||
		    (total = IP6_LEN + rte_be_to_cpu_16(ip6->payload_len)) > len - RTE_ETHER_HDR_LEN) {
			drop(lc, m, C_MALFORMED_FRAME);
			return false;
		}
		if (is_nd(ip6, total)) {
			slow(lc, m, SLOW_ND, PORT_VM);
			return false;
		}
		if (ip6_is_ours(gw, PORT_VM, ip6->dst_addr)) {
			slow(lc, m, SLOW_LOCAL, PORT_VM);
			return false;
		}
		if (ip6->dst_addr[0] == 0xff) { /* other multicast: MLD, router solicitation */
			drop(lc, m, C_NOT_FOR_US);
			return false;
		}
		family = AF_INET6;
		dst = ip6->dst_addr;
		id = routes_lookup(gw->routes, family, dst);
		break;
	}
	default:
		drop(lc, m, C_NOT_IP);
		return false;
	}
	/* Drop the Ethernet header and any padding behind the IP packet. */
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - total));
	if (!find_path(gw, family, dst, id, &job->path)) {
		drop(lc, m, C_NO_PEER);
		return false;
	}
	if (!spend_ttl(lc, m, PORT_VM, &job->path, job->path.hops) || !fits_mtu(lc, m, &job->path))
		return false;
	job->ecn = ecn_of(rte_pktmbuf_mtod(m, uint8_t *));
	return true;
}

/* The routes of a burst's IPv4 destinations in one bulk lookup: with many
 * /32 routes each lookup is a cache miss or two, which a burst overlaps. */
static void route_burst4(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n,
			 uint32_t *route4)
{
	uint32_t addr[BURST];
	uint16_t gw[BURST];
	uint8_t at[BURST];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		route4[i] = NO_ROUTE4;
		if (rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN + IP4_LEN ||
		    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
			continue;
		addr[k] = ((const struct rte_ipv4_hdr *)(eth + 1))->dst_addr;
		at[k++] = (uint8_t)i;
	}
	if (k < 2)
		return; /* one lookup: classify_vm's own is as good */
	routes_lookup4_bulk(lc->gw->routes, addr, k, gw);
	for (unsigned j = 0; j < k; j++)
		route4[at[j]] = gw[j];
}

static void from_vms(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct wg_tx tx[BURST];
	struct rte_mbuf *ready[BURST];
	struct vm_job job[BURST];
	uint32_t route4[BURST];
	unsigned k = 0;

	route_burst4(lc, pkts, n, route4);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		COUNT(&lc->counters, rx_packets[PORT_VM], 1);
		COUNT(&lc->counters, rx_bytes[PORT_VM], rte_pktmbuf_pkt_len(m));
		if (!classify_vm(lc, m, route4[i], &job[k]))
			continue;
		if (!prepare_encrypt(m, &job[k].path, &tx[k])) {
			drop(lc, m, C_TOO_BIG);
			continue;
		}
		ready[k++] = m;
	}
	encrypt_and_send(lc, tx, ready, job, k, now);
}

/* ---- backbone -> VM side ---- */

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
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	if (rte_is_same_ether_addr(&eth->src_addr, &gw->mac[PORT_BACKBONE])) {
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		slow(lc, m, SLOW_ARP, PORT_BACKBONE);
		return false;
	case RTE_ETHER_TYPE_IPV4: {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		if (len < RTE_ETHER_HDR_LEN + IP4_LEN || (ip->version_ihl >> 4) != 4 ||
		    (ihl = (ip->version_ihl & 0xfu) * 4) < IP4_LEN ||
		    (total = rte_be_to_cpu_16(ip->total_length)) > len - RTE_ETHER_HDR_LEN ||
		    total < ihl) {
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
			slow(lc, m, SLOW_LOCAL, PORT_BACKBONE);
			return false;
		}
		if (ip->next_proto_id != IPPROTO_UDP || total < ihl + UDP_LEN) {
			drop(lc, m, C_NOT_FOR_US);
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
			drop(lc, m, C_MALFORMED_FRAME);
			return false;
		}
		if (is_nd(ip6, IP6_LEN + total)) {
			slow(lc, m, SLOW_ND, PORT_BACKBONE);
			return false;
		}
		if (!ip6_is_ours(gw, PORT_BACKBONE, ip6->dst_addr)) {
			drop(lc, m, C_NOT_FOR_US);
			return false;
		}
		if (ip6->proto == IPPROTO_ICMPV6) {
			slow(lc, m, SLOW_LOCAL, PORT_BACKBONE);
			return false;
		}
		/* No extension headers: WireGuard peers send plain UDP. */
		if (ip6->proto != IPPROTO_UDP || total < UDP_LEN) {
			drop(lc, m, ip6->proto == IPPROTO_FRAGMENT ? C_FRAGMENT : C_NOT_FOR_US);
			return false;
		}
		udp = (struct rte_udp_hdr *)(ip6 + 1);
		o->src.family = AF_INET6;
		memcpy(&o->src.addr.v6, ip6->src_addr, 16);
		o->tos = (uint8_t)(rte_be_to_cpu_32(ip6->vtc_flow) >> 20);
		break;
	}
	default:
		drop(lc, m, C_NOT_FOR_US);
		return false;
	}
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (udp_len < UDP_LEN || udp_len > total) {
		drop(lc, m, C_MALFORMED_FRAME);
		return false;
	}
	if (rte_be_to_cpu_16(udp->dst_port) != listen_port) {
		drop(lc, m, C_NOT_FOR_US);
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
		drop(lc, m, C_HOP_LIMIT);
		return;
	}
	if (!path_to_gateway(gw, rte_be_to_cpu_16(r->dst_gw), &p)) {
		drop(lc, m, C_NO_ROUTE);
		return;
	}
	wg_peer_endpoint(p.peer, &own);
	if (!first_hop(gw, &p, &own, &next)) {
		drop(lc, m, C_NO_ROUTE);
		return;
	}
	if (wg_endpoint_equal(&next, &o->src)) {
		drop(lc, m, C_RELAY_LOOP);
		return;
	}
	r->hops++;
	COUNT(&lc->counters, relayed, 1);
	rte_pktmbuf_adj(m, (uint16_t)((uint8_t *)r - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - o->len));
	/* An outer hop like any router's: the ECN field travels on. */
	encap(lc, m, &next, o->tos);
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
			drop(lc, m, C_UNKNOWN_TYPE);
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
		drop(lc, m, C_UNKNOWN_TYPE);
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
					drop(lc, m, C_HANDOFF_FULL);
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
			drop(lc, m, WG_DROP_MALFORMED);
			return false;
		}
		meta = hand_over(m, SLOW_HANDSHAKE, PORT_BACKBONE);
		meta->relayed = relay != NULL;
		meta->src_gw = relay ? rte_be_to_cpu_16(relay->src_gw) : 0;
		to_control(lc, m);
		return false;
	}
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

static bool for_our_overlay(const struct gateway *gw, const uint8_t *ip)
{
	if ((ip[0] >> 4) == 4)
		return !memcmp(ip + 16, &gw->cfg.port[PORT_VM].address.s_addr, 4);
	return ip6_is_ours(gw, PORT_VM, ip + 24);
}

/* The decrypted inner packet: one more router hop, then out to the VM. */
static void deliver(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_rx *rx,
		    const struct bb_job *job)
{
	static const struct path self = { 0 };
	uint8_t next_hop[16];

	ecn_decap(job->tos, rx->plain);
	rte_pktmbuf_adj(m, (uint16_t)(rx->plain - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - rx->plain_len));
	if (for_our_overlay(lc->gw, rx->plain)) {
		COUNT(&lc->counters, decrypted, 1);
		hand_over(m, SLOW_OVERLAY, PORT_BACKBONE)->src_gw = (uint16_t)wg_peer_user(rx->peer);
		to_control(lc, m);
		return;
	}
	/* An error about it goes back through the tunnel (port BACKBONE). */
	if (!spend_ttl(lc, m, PORT_BACKBONE, &self, 1))
		return;
	if ((rx->plain[0] >> 4) == 4)
		neigh_key4(next_hop, ((struct rte_ipv4_hdr *)rx->plain)->dst_addr);
	else
		memcpy(next_hop, ((struct rte_ipv6_hdr *)rx->plain)->dst_addr, 16);
	COUNT(&lc->counters, decrypted, 1);
	COUNT(&lc->counters, hops[job->hops < HOP_BUCKETS ? job->hops : HOP_BUCKETS - 1], 1);
	pipeline_emit_ip(lc, PORT_VM, m, next_hop);
}

static void from_backbone(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now,
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
			drop(lc, data[i], rx[i].status);
		} else if (rx[i].keepalive) {
			COUNT(&lc->counters, keepalives_received, 1);
			rte_pktmbuf_free(data[i]);
		} else {
			deliver(lc, data[i], &rx[i], &job[i]);
		}
	}
	if (attention)
		gateway_wake_control(gw);
}

/* ---- the worker loop ---- */

static unsigned drain_ring(struct lcore_ctx *lc, struct rte_ring *r, unsigned port)
{
	struct rte_mbuf *pkts[BURST];
	unsigned n = rte_ring_dequeue_burst(r, (void **)pkts, BURST, NULL);

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
	rte_rcu_qsbr_thread_offline(lc->gw->qsbr, lc->worker);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(lc->gw->qsbr, lc->worker);
}

int pipeline_worker(void *arg)
{
	struct lcore_ctx *lc = arg;
	struct gateway *gw = lc->gw;
	uint16_t q = (uint16_t)lc->worker;
	struct rte_mbuf *pkts[BURST];
	unsigned empty = 0, sleep_us = 0;

	rte_rcu_qsbr_thread_register(gw->qsbr, lc->worker);
	rte_rcu_qsbr_thread_online(gw->qsbr, lc->worker);
	while (!atomic_load_explicit(&gw->quit, memory_order_relaxed)) {
		uint64_t now = mono_ns();
		unsigned work = 0, n;

		n = rte_eth_rx_burst(gw->port_id[PORT_VM], q, pkts, BURST);
		if (n)
			from_vms(lc, pkts, n, now);
		work += n;
		n = rte_eth_rx_burst(gw->port_id[PORT_BACKBONE], q, pkts, BURST);
		if (n)
			from_backbone(lc, pkts, n, now, false);
		work += n;
		/* Data messages other workers received for sessions we own. */
		n = rte_ring_dequeue_burst(gw->handoff[lc->worker], (void **)pkts, BURST, NULL);
		if (n)
			from_backbone(lc, pkts, n, now, true);
		work += n;
		if (lc->worker == 0)
			for (unsigned p = 0; p < PORT_COUNT; p++)
				work += drain_ring(lc, gw->to_port[p], p);
		for (unsigned p = 0; p < PORT_COUNT; p++)
			if (lc->ntx[p])
				flush_port(lc, p);
		rte_rcu_qsbr_quiescent(gw->qsbr, lc->worker);

		if (work) {
			empty = 0;
			sleep_us = 0;
		} else if (!gw->cfg.busy_poll) {
			idle_wait(lc, &empty, &sleep_us);
		}
	}
	rte_rcu_qsbr_thread_offline(gw->qsbr, lc->worker);
	rte_rcu_qsbr_thread_unregister(gw->qsbr, lc->worker);
	return 0;
}
