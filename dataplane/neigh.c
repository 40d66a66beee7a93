// SPDX-License-Identifier: MIT
/*
 * Neighbours of each port, learned and refreshed by ARP (IPv4) and neighbour
 * discovery (IPv6, RFC 4861) on the main lcore. One table per port keyed by a
 * 16-byte address, IPv4 as ::ffff:a.b.c.d.
 *
 * Workers read a slot without locks: its address is written once and then
 * marked ready, and the MAC is one 64-bit word with a valid bit, so a reader
 * sees the old MAC or the new one, never half of each. Slots are never freed; a
 * gateway's neighbours (its VMs, its underlay next hops) are few. Frames that
 * wait for a MAC are held here, a few per neighbour, for 3 seconds.
 *
 *   any lcore: neigh_output(): Ethernet header, MAC from neigh_lookup(),
 *     lcore_tx(); unknown MAC -> main lcore (SLOW_NEIGH) -> neigh_resolve()
 *   main lcore: neigh_resolve() holds the frame and solicits (ARP or ND);
 *     neigh_input_arp() / neigh_input_nd() learn, answer, send what was held;
 *     neigh_maintain() refreshes, gives up (no_neighbour).
 */
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_jhash.h>

#include "gateway.h"
#include "lcore_io.h"
#include "neigh.h"
#include "packet.h"

#define PROBES 32
#define VALID (1ULL << 63)
#define MS 1000000ULL
#define HOLD_TIME (3000 * MS)
#define REQUEST_INTERVAL (1000 * MS)
#define REFRESH_AFTER (60000 * MS)
#define REFRESH_INTERVAL (10000 * MS)

#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SOURCE_LL 1
#define ND_OPT_TARGET_LL 2
#define ND_NA_SOLICITED 0x40
#define ND_NA_OVERRIDE 0x20
#define ND_HEADER_LEN 24 /* type, code, checksum, flags/reserved, target */

static bool is_v4(const uint8_t key[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(key, prefix, 12);
}

static unsigned slot_of(const uint8_t key[16])
{
	uint32_t aligned[4]; /* keys often point into packets; jhash reads words */

	memcpy(aligned, key, 16);
	return rte_jhash(aligned, 16, 0x9e3779b9) & (NEIGH_SLOTS - 1);
}

static uint64_t pack(const struct rte_ether_addr *mac)
{
	uint64_t v = 0;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v = v << 8 | mac->addr_bytes[i];
	return v | VALID;
}

static void unpack(uint64_t v, struct rte_ether_addr *mac)
{
	for (int i = RTE_ETHER_ADDR_LEN - 1; i >= 0; i--, v >>= 8)
		mac->addr_bytes[i] = (uint8_t)v;
}

bool neigh_lookup(const struct neigh_table *t, const uint8_t key[16], struct rte_ether_addr *mac)
{
	unsigned h = slot_of(key);

	for (unsigned i = 0; i < PROBES; i++) {
		const struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];

		if (!atomic_load_explicit(&s->ready, memory_order_acquire))
			return false;
		if (!memcmp(s->addr, key, 16)) {
			uint64_t v = atomic_load_explicit(&s->mac, memory_order_relaxed);

			if (!(v & VALID))
				return false;
			unpack(v, mac);
			return true;
		}
	}
	return false;
}

void neigh_key4(uint8_t key[16], uint32_t ip)
{
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &ip, 4);
}

void neigh_output(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m,
		  const uint8_t next_hop[16])
{
	uint8_t version = *rte_pktmbuf_mtod(m, uint8_t *) >> 4;
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);

	if (!eth) {
		lcore_drop(lc, m, GW_DROP_MALFORMED_FRAME);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(version == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (!neigh_lookup(lc->gw->neigh[port], next_hop, &eth->dst_addr)) {
		if (lc->is_worker) {
			memcpy(lcore_note(m, SLOW_NEIGH, port)->next_hop, next_hop, 16);
			lcore_to_main(lc, m);
		} else {
			neigh_resolve(lc->gw, port, next_hop, m, mono_ns());
		}
		return;
	}
	rte_ether_addr_copy(&lc->gw->mac[port], &eth->src_addr);
	lcore_tx(lc, port, m);
}

/* ---- main lcore ---- */

static struct neigh_slot *find(struct neigh_table *t, const uint8_t key[16], bool create)
{
	unsigned h = slot_of(key);

	for (unsigned i = 0; i < PROBES; i++) {
		struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];

		if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
			if (!create)
				return NULL;
			memcpy(s->addr, key, 16);
			atomic_store_explicit(&s->mac, 0, memory_order_relaxed);
			atomic_store_explicit(&s->ready, 1, memory_order_release);
			return s;
		}
		if (!memcmp(s->addr, key, 16))
			return s;
	}
	return NULL;
}

static void send_held(struct gateway *gw, unsigned port, struct neigh_slot *s,
		      const struct rte_ether_addr *mac)
{
	for (unsigned i = 0; i < s->nheld; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(s->held[i], struct rte_ether_hdr *);

		rte_ether_addr_copy(mac, &eth->dst_addr);
		rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
		lcore_tx(gw->main_lc, port, s->held[i]);
	}
	s->nheld = 0;
}

static void learn(struct gateway *gw, unsigned port, const uint8_t key[16],
		  const struct rte_ether_addr *mac, uint64_t now, bool create)
{
	struct neigh_slot *s = find(gw->neigh[port], key, create);

	if (!s)
		return;
	atomic_store_explicit(&s->mac, pack(mac), memory_order_release);
	s->confirmed = now;
	send_held(gw, port, s, mac);
}

/* ---- ARP ---- */

static void arp_request(struct gateway *gw, unsigned port, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (!m)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	if (!eth) {
		rte_pktmbuf_free(m);
		return;
	}
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&gw->mac[port], &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = gw->cfg.port[port].address.s_addr;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = ip;
	lcore_tx(gw->main_lc, port, m);
}

void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t ours = gw->cfg.port[port].address.s_addr, sip, tip;
	uint8_t key[16];

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		lcore_drop(gw->main_lc, m, GW_DROP_MALFORMED_FRAME);
		return;
	}
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	/* Learn from whoever talks to us; only refresh others we already know
	 * (gratuitous ARP), so a segment's chatter cannot fill the table. */
	if (sip && !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
		neigh_key4(key, sip);
		learn(gw, port, key, &arp->arp_data.arp_sha, now, tip == ours);
	}
	if (tip != ours || arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* Answer in place. */
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = sip;
	rte_ether_addr_copy(&gw->mac[port], &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = ours;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
	lcore_tx(gw->main_lc, port, m);
}

/* ---- neighbour discovery ---- */

/* An ICMPv6 ND message from our address on port, with a link-layer option. */
static void nd_send(struct gateway *gw, unsigned port, uint8_t type, const uint8_t *dst_ip,
		    const struct rte_ether_addr *dst_mac, const uint8_t *target, uint8_t flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	const unsigned icmp_len = ND_HEADER_LEN + 8;
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip6;
	uint8_t *icmp;

	if (!m)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*eth) + sizeof(*ip6) + icmp_len));
	if (!eth) {
		rte_pktmbuf_free(m);
		return;
	}
	ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	icmp = (uint8_t *)(ip6 + 1);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16((uint16_t)icmp_len);
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = 255; /* RFC 4861: proves it came from the link */
	memcpy(ip6->src_addr, gw->cfg.port[port].address6.s6_addr, 16);
	memcpy(ip6->dst_addr, dst_ip, 16);
	memset(icmp, 0, icmp_len);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[ND_HEADER_LEN] = type == ND_NS ? ND_OPT_SOURCE_LL : ND_OPT_TARGET_LL;
	icmp[ND_HEADER_LEN + 1] = 1; /* 8 bytes */
	memcpy(icmp + ND_HEADER_LEN + 2, &gw->mac[port], RTE_ETHER_ADDR_LEN);
	uint16_t sum = rte_ipv6_udptcp_cksum(ip6, icmp);

	memcpy(icmp + 2, &sum, 2);
	lcore_tx(gw->main_lc, port, m);
}

static void nd_solicit(struct gateway *gw, unsigned port, const uint8_t target[16])
{
	/* To the solicited-node multicast group of the target. */
	uint8_t group[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
	struct rte_ether_addr mac = { { 0x33, 0x33, 0xff } };

	if (IN6_IS_ADDR_UNSPECIFIED(&gw->cfg.port[port].address6))
		return;
	memcpy(group + 13, target + 13, 3);
	memcpy(mac.addr_bytes + 3, target + 13, 3);
	nd_send(gw, port, ND_NS, group, &mac, target, 0);
}

/* The link-layer address option of type want, if the message has one. */
static const struct rte_ether_addr *nd_option(const uint8_t *opt, uint32_t len, uint8_t want)
{
	while (len >= 8) {
		uint32_t olen = opt[1] * 8u;

		if (!olen || olen > len)
			return NULL;
		if (opt[0] == want && olen >= 8)
			return (const struct rte_ether_addr *)(opt + 2);
		opt += olen;
		len -= olen;
	}
	return NULL;
}

void neigh_input_nd(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	const uint8_t *icmp = (const uint8_t *)(ip6 + 1), *target = icmp + 8;
	const struct rte_ether_addr *ll;
	uint32_t len = rte_be_to_cpu_16(ip6->payload_len);

	/* The worker checked the frame holds the whole IPv6 payload. */
	if (len < ND_HEADER_LEN || ip6->hop_limits != 255 || icmp[1] != 0) {
		lcore_drop(gw->main_lc, m, GW_DROP_MALFORMED_FRAME);
		return;
	}
	if (icmp[0] == ND_NS) {
		bool for_us = gateway_ip6_is_ours(gw, port, target);

		ll = nd_option(icmp + ND_HEADER_LEN, len - ND_HEADER_LEN, ND_OPT_SOURCE_LL);
		if (ll && !ip6_unspecified(ip6->src_addr))
			learn(gw, port, ip6->src_addr, ll, now, for_us);
		if (for_us && !ip6_unspecified(ip6->src_addr))
			nd_send(gw, port, ND_NA, ip6->src_addr, &eth->src_addr, target,
				ND_NA_SOLICITED | ND_NA_OVERRIDE);
	} else {
		ll = nd_option(icmp + ND_HEADER_LEN, len - ND_HEADER_LEN, ND_OPT_TARGET_LL);
		learn(gw, port, target, ll ? ll : &eth->src_addr, now, false);
	}
	rte_pktmbuf_free(m);
}

/* ---- resolution and upkeep ---- */

static void solicit(struct gateway *gw, unsigned port, const uint8_t key[16])
{
	uint32_t ip;

	if (is_v4(key)) {
		memcpy(&ip, key + 12, 4);
		arp_request(gw, port, ip);
	} else {
		nd_solicit(gw, port, key);
	}
}

void neigh_resolve(struct gateway *gw, unsigned port, const uint8_t key[16], struct rte_mbuf *m,
		   uint64_t now)
{
	static const uint8_t zero[16];
	struct neigh_slot *s = NULL;
	struct rte_ether_addr mac;

	if (memcmp(key, zero, 16) && !(is_v4(key) && !memcmp(key + 12, zero, 4)))
		s = find(gw->neigh[port], key, true);
	if (!s) {
		lcore_drop(gw->main_lc, m, GW_DROP_NO_NEIGHBOUR);
		return;
	}
	if (neigh_lookup(gw->neigh[port], key, &mac)) {
		/* Learned between the worker's look and ours. */
		s->held[s->nheld++] = m;
		send_held(gw, port, s, &mac);
		return;
	}
	if (s->nheld == NEIGH_HOLD) {
		lcore_drop(gw->main_lc, s->held[0], GW_DROP_NO_NEIGHBOUR);
		memmove(s->held, s->held + 1, (NEIGH_HOLD - 1) * sizeof(s->held[0]));
		s->nheld--;
	}
	if (!s->nheld)
		s->hold_since = now;
	s->held[s->nheld++] = m;
	if (now - s->last_request >= REQUEST_INTERVAL) {
		s->last_request = now;
		solicit(gw, port, key);
	}
}

void neigh_prime(struct gateway *gw, unsigned port, const uint8_t key[16], uint64_t now)
{
	struct neigh_slot *s = find(gw->neigh[port], key, true);

	if (s && !(atomic_load_explicit(&s->mac, memory_order_relaxed) & VALID) &&
	    now - s->last_request >= REQUEST_INTERVAL) {
		s->last_request = now;
		solicit(gw, port, key);
	}
}

void neigh_maintain(struct gateway *gw, uint64_t now)
{
	for (unsigned port = 0; port < PORT_COUNT; port++) {
		struct neigh_table *t = gw->neigh[port];

		for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
			struct neigh_slot *s = &t->slot[i];
			bool valid;

			if (!atomic_load_explicit(&s->ready, memory_order_relaxed))
				continue;
			valid = atomic_load_explicit(&s->mac, memory_order_relaxed) & VALID;
			if (s->nheld && now - s->hold_since > HOLD_TIME) {
				for (unsigned k = 0; k < s->nheld; k++)
					lcore_drop(gw->main_lc, s->held[k], GW_DROP_NO_NEIGHBOUR);
				s->nheld = 0;
			}
			if ((s->nheld && now - s->last_request >= REQUEST_INTERVAL) ||
			    (valid && now - s->confirmed > REFRESH_AFTER &&
			     now - s->last_request > REFRESH_INTERVAL)) {
				s->last_request = now;
				solicit(gw, port, s->addr);
			}
		}
	}
}
