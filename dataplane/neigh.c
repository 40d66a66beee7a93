// SPDX-License-Identifier: MIT
/*
 * Neighbours of each port, learned and refreshed by ARP (IPv4) and neighbour
 * discovery (IPv6, RFC 4861) on the main lcore. One table per port keyed by a
 * 16-byte address, IPv4 as ::ffff:a.b.c.d; a key lives in one of the
 * NEIGH_WINDOW slots from its hash on.
 *
 * Workers read a slot without locks: its key and MAC are read between two
 * reads of the slot's sequence number, which the main lcore makes odd while it
 * gives the slot to another neighbour, so a reader sees one neighbour's key
 * with that neighbour's MAC or no match. A MAC alone changes in one 64-bit
 * word with a valid bit.
 *
 * Everything here is bounded, because anyone who can send a packet to an
 * address nobody has (a VM anywhere in the mesh) makes this gateway resolve
 * it: NEIGH_UNRESOLVED_MAX neighbours in resolution per port, NEIGH_HOLD
 * frames parked per neighbour, NEIGH_PARKED_MAX on the gateway, each excess
 * frame dropped with its own counter. An unresolved neighbour is given up after
 * NEIGH_RESOLVE_NS, a resolved one forgotten when it has not answered for
 * NEIGH_STALE_NS; when a key's slots are all taken, the one confirmed longest
 * ago among those that may go (given up, or unconfirmed past the refresh time)
 * is reclaimed. ARP and ND never make a slot: they update the neighbours we
 * asked about or already know (Linux with arp_accept=0 does the same for
 * unsolicited ARP), so a segment's chatter or a forged flood cannot fill the
 * table.
 *
 *   any lcore: neigh_output(): Ethernet header, MAC from neigh_lookup(),
 *     lcore_tx(); unknown MAC -> main lcore (SLOW_NEIGH) -> neigh_resolve()
 *   main lcore: neigh_resolve() parks the frame (slot_new() for a new
 *     neighbour) and solicits (ARP or ND); neigh_input_arp() /
 *     neigh_input_nd() learn(), answer, send what was parked;
 *     neigh_maintain() asks again, gives up (no_neighbour), forgets.
 */
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_jhash.h>

#include "gateway.h"
#include "lcore_io.h"
#include "neigh.h"
#include "packet.h"

#define VALID (1ULL << 63)
#define MS 1000000ULL
#define REQUEST_INTERVAL (1000 * MS)
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
	uint64_t want[2];

	memcpy(want, key, 16);
	for (unsigned i = 0; i < NEIGH_WINDOW; i++) {
		const struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		uint64_t v;

		if ((seq & 1) || atomic_load_explicit(&s->key[0], memory_order_relaxed) != want[0] ||
		    atomic_load_explicit(&s->key[1], memory_order_relaxed) != want[1])
			continue;
		v = atomic_load_explicit(&s->mac, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		/* Given to another neighbour meanwhile: the main lcore decides. */
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq || !(v & VALID))
			return false;
		unpack(v, mac);
		return true;
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

/* now - then, 0 if then is later: a time taken after now (another clock
 * read in the same turn) is no age, never an unsigned wrap to "ages ago". */
static uint64_t age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}


/* A neighbour's key: never all zero (a free slot's), nor 0.0.0.0. */
static bool key_usable(const uint8_t key[16])
{
	static const uint8_t zero[16];

	return memcmp(key, zero, 16) && !(is_v4(key) && !memcmp(key + 12, zero, 4));
}

/* What the workers see of s: key (NULL: free) with no MAC yet. */
static void slot_publish(struct neigh_slot *s, const uint8_t *key)
{
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	uint64_t w[2] = { 0, 0 };

	if (key)
		memcpy(w, key, 16);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->key[0], w[0], memory_order_relaxed);
	atomic_store_explicit(&s->key[1], w[1], memory_order_relaxed);
	atomic_store_explicit(&s->mac, 0, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

static struct neigh_slot *find(struct neigh_table *t, const uint8_t key[16])
{
	unsigned h = slot_of(key);

	for (unsigned i = 0; i < NEIGH_WINDOW; i++) {
		struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];

		if (s->state != NEIGH_FREE && !memcmp(s->addr, key, 16))
			return s;
	}
	return NULL;
}

static void drop_parked(struct gateway *gw, struct neigh_table *t, struct neigh_slot *s,
			unsigned reason)
{
	for (unsigned i = 0; i < s->nheld; i++)
		lcore_drop(gw->main_lc, s->held[i], reason);
	t->parked -= s->nheld;
	s->nheld = 0;
}

static void slot_free(struct gateway *gw, struct neigh_table *t, struct neigh_slot *s,
		      unsigned reason)
{
	drop_parked(gw, t, s, reason);
	if (s->state == NEIGH_UNRESOLVED)
		t->unresolved--;
	t->entries--;
	s->state = NEIGH_FREE;
	slot_publish(s, NULL);
}

/* May s go to make room for another neighbour? Given up (maintain will free
 * it), or resolved but silent past the refresh time. */
static bool reclaimable(const struct neigh_slot *s, uint64_t now, uint64_t *since)
{
	if (s->state == NEIGH_UNRESOLVED) {
		*since = s->created;
		return age(now, s->created) >= NEIGH_RESOLVE_NS;
	}
	*since = s->confirmed;
	return age(now, s->confirmed) > NEIGH_REFRESH_NS;
}

/* A new unresolved neighbour for key (not in the table), or NULL: too many
 * unresolved on this port, or every slot of key's window taken by a
 * neighbour that may not go. */
static struct neigh_slot *slot_new(struct gateway *gw, unsigned port, const uint8_t key[16],
				   uint64_t now)
{
	struct neigh_table *t = gw->neigh[port];
	struct neigh_slot *slot = NULL, *victim = NULL;
	uint64_t oldest = UINT64_MAX, since;
	unsigned h = slot_of(key);

	if (t->unresolved >= NEIGH_UNRESOLVED_MAX)
		return NULL;
	for (unsigned i = 0; i < NEIGH_WINDOW && !slot; i++) {
		struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];

		if (s->state == NEIGH_FREE)
			slot = s;
		else if (reclaimable(s, now, &since) && since < oldest)
			oldest = since, victim = s;
	}
	if (!slot && !victim)
		return NULL;
	if (!slot) {
		slot_free(gw, t, victim, GW_DROP_NEIGH_TABLE_FULL);
		slot = victim;
	}
	memcpy(slot->addr, key, 16);
	slot->state = NEIGH_UNRESOLVED;
	slot->nheld = 0;
	slot->created = now;
	slot->confirmed = 0;
	slot->last_request = now;
	slot_publish(slot, key);
	t->entries++;
	t->unresolved++;
	return slot;
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
	gw->neigh[port]->parked -= s->nheld;
	s->nheld = 0;
}

/* key is at mac, says the link: believed for a neighbour with a slot (one we
 * asked about or know), ignored for any other. */
static void learn(struct gateway *gw, unsigned port, const uint8_t key[16],
		  const struct rte_ether_addr *mac, uint64_t now)
{
	struct neigh_table *t = gw->neigh[port];
	struct neigh_slot *s = find(t, key);

	if (!s)
		return;
	atomic_store_explicit(&s->mac, pack(mac), memory_order_release);
	if (s->state == NEIGH_UNRESOLVED) {
		s->state = NEIGH_RESOLVED;
		t->unresolved--;
	}
	s->confirmed = now;
	send_held(gw, port, s, mac);
}

/* ---- ARP ---- */

static void arp_request(struct gateway *gw, unsigned port, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (!m) {
		COUNT(&gw->main_lc->counters, drop[GW_DROP_NO_MBUF], 1);
		return;
	}
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
	/* Replies to our requests, and anyone's requests and gratuitous ARP,
	 * update the neighbours we have; a request to us is answered from its
	 * own fields, without a slot for its sender. */
	if (sip && !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
		neigh_key4(key, sip);
		learn(gw, port, key, &arp->arp_data.arp_sha, now);
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

	if (!m) {
		COUNT(&gw->main_lc->counters, drop[GW_DROP_NO_MBUF], 1);
		return;
	}
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
			learn(gw, port, ip6->src_addr, ll, now);
		if (for_us && !ip6_unspecified(ip6->src_addr))
			nd_send(gw, port, ND_NA, ip6->src_addr, &eth->src_addr, target,
				ND_NA_SOLICITED | ND_NA_OVERRIDE);
	} else {
		ll = nd_option(icmp + ND_HEADER_LEN, len - ND_HEADER_LEN, ND_OPT_TARGET_LL);
		learn(gw, port, target, ll ? ll : &eth->src_addr, now);
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

static unsigned parked_total(const struct gateway *gw)
{
	unsigned n = 0;

	for (unsigned p = 0; p < PORT_COUNT; p++)
		n += gw->neigh[p]->parked;
	return n;
}

static void request(struct gateway *gw, unsigned port, struct neigh_slot *s, uint64_t now)
{
	s->last_request = now;
	solicit(gw, port, s->addr);
}

void neigh_resolve(struct gateway *gw, unsigned port, const uint8_t key[16], struct rte_mbuf *m,
		   uint64_t now)
{
	struct neigh_table *t = gw->neigh[port];
	struct neigh_slot *s;
	struct rte_ether_addr mac;
	bool fresh = false;

	if (!key_usable(key)) {
		lcore_drop(gw->main_lc, m, GW_DROP_NO_NEIGHBOUR);
		return;
	}
	if (!(s = find(t, key))) {
		if (!(s = slot_new(gw, port, key, now))) {
			lcore_drop(gw->main_lc, m, GW_DROP_NEIGH_TABLE_FULL);
			return;
		}
		fresh = true;
	}
	if (s->state == NEIGH_RESOLVED) {
		/* Learned between the worker's look and ours. */
		unpack(atomic_load_explicit(&s->mac, memory_order_relaxed), &mac);
		s->held[s->nheld++] = m;
		t->parked++;
		send_held(gw, port, s, &mac);
		return;
	}
	if (s->nheld == NEIGH_HOLD) {
		/* Like Linux: the newest frames wait, the oldest goes. */
		lcore_drop(gw->main_lc, s->held[0], GW_DROP_NEIGH_QUEUE_FULL);
		memmove(s->held, s->held + 1, (NEIGH_HOLD - 1) * sizeof(s->held[0]));
		s->nheld--;
		t->parked--;
	}
	if (parked_total(gw) >= NEIGH_PARKED_MAX) {
		lcore_drop(gw->main_lc, m, GW_DROP_NEIGH_PARKED_FULL);
	} else {
		s->held[s->nheld++] = m;
		t->parked++;
	}
	if (fresh || age(now, s->last_request) >= REQUEST_INTERVAL)
		request(gw, port, s, now);
}

void neigh_prime(struct gateway *gw, unsigned port, const uint8_t key[16], uint64_t now)
{
	struct neigh_slot *s;

	if (!key_usable(key))
		return;
	if (!(s = find(gw->neigh[port], key))) {
		if ((s = slot_new(gw, port, key, now)))
			request(gw, port, s, now);
	} else if (s->state == NEIGH_UNRESOLVED && age(now, s->last_request) >= REQUEST_INTERVAL) {
		request(gw, port, s, now);
	}
}

void neigh_maintain(struct gateway *gw, uint64_t now)
{
	for (unsigned port = 0; port < PORT_COUNT; port++) {
		struct neigh_table *t = gw->neigh[port];

		for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
			struct neigh_slot *s = &t->slot[i];

			if (s->state == NEIGH_UNRESOLVED) {
				if (age(now, s->created) >= NEIGH_RESOLVE_NS)
					slot_free(gw, t, s, GW_DROP_NO_NEIGHBOUR);
				else if (age(now, s->last_request) >= REQUEST_INTERVAL)
					request(gw, port, s, now);
			} else if (s->state == NEIGH_RESOLVED) {
				if (age(now, s->confirmed) > NEIGH_STALE_NS)
					slot_free(gw, t, s, GW_DROP_NO_NEIGHBOUR);
				else if (age(now, s->confirmed) > NEIGH_REFRESH_NS &&
					 age(now, s->last_request) > REFRESH_INTERVAL)
					request(gw, port, s, now);
			}
		}
	}
}
