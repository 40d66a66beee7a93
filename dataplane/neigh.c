// SPDX-License-Identifier: MIT
/*
 * IPv4 neighbours of each port, learned and refreshed by ARP on the main lcore.
 *
 * The worker reads a slot without locks: a slot's address is written once,
 * after its MAC word, and the MAC is one 64-bit word with a valid bit, so a
 * reader sees either the old or the new MAC, never half of each. Slots are
 * never freed; a gateway's neighbours (its VMs, its underlay next hop) are few.
 * Frames waiting for a MAC are held here, a few per neighbour, for 3 seconds.
 */
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_jhash.h>

#include "gateway.h"

#define PROBES 32
#define VALID (1ULL << 63)
#define MS 1000000ULL
#define HOLD_TIME (3000 * MS)
#define REQUEST_INTERVAL (1000 * MS)
#define REFRESH_AFTER (60000 * MS)
#define REFRESH_INTERVAL (10000 * MS)

static unsigned slot_of(uint32_t ip)
{
	return rte_jhash_1word(ip, 0x9e3779b9) & (NEIGH_SLOTS - 1);
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

bool neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac)
{
	unsigned h = slot_of(ip);

	for (unsigned i = 0; i < PROBES; i++) {
		const struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];
		uint32_t sip = atomic_load_explicit(&s->ip, memory_order_acquire);

		if (sip == ip) {
			uint64_t v = atomic_load_explicit(&s->mac, memory_order_relaxed);

			if (!(v & VALID))
				return false;
			unpack(v, mac);
			return true;
		}
		if (!sip)
			return false;
	}
	return false;
}

static struct neigh_slot *find(struct neigh_table *t, uint32_t ip, bool create)
{
	unsigned h = slot_of(ip);

	for (unsigned i = 0; i < PROBES; i++) {
		struct neigh_slot *s = &t->slot[(h + i) & (NEIGH_SLOTS - 1)];
		uint32_t sip = atomic_load_explicit(&s->ip, memory_order_relaxed);

		if (sip == ip)
			return s;
		if (!sip) {
			if (!create)
				return NULL;
			atomic_store_explicit(&s->mac, 0, memory_order_relaxed);
			atomic_store_explicit(&s->ip, ip, memory_order_release);
			return s;
		}
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
		control_transmit(gw, port, s->held[i]);
	}
	s->nheld = 0;
}

static void learn(struct gateway *gw, unsigned port, uint32_t ip,
		  const struct rte_ether_addr *mac, uint64_t now, bool create)
{
	struct neigh_slot *s = find(gw->neigh[port], ip, create);

	if (!s)
		return;
	atomic_store_explicit(&s->mac, pack(mac), memory_order_release);
	s->confirmed = now;
	send_held(gw, port, s, mac);
}

static void arp_request(struct gateway *gw, unsigned port, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (!m)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
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
	control_transmit(gw, port, m);
}

void neigh_resolve(struct gateway *gw, unsigned port, uint32_t ip, struct rte_mbuf *m, uint64_t now)
{
	struct neigh_slot *s = ip ? find(gw->neigh[port], ip, true) : NULL;
	struct rte_ether_addr mac;

	if (!s) {
		control_drop(gw, m, C_NO_NEIGHBOUR);
		return;
	}
	if (neigh_lookup(gw->neigh[port], ip, &mac)) {
		/* Learned between the worker's look and ours. */
		s->held[s->nheld++] = m;
		send_held(gw, port, s, &mac);
		return;
	}
	if (s->nheld == NEIGH_HOLD) {
		control_drop(gw, s->held[0], C_NO_NEIGHBOUR);
		memmove(s->held, s->held + 1, (NEIGH_HOLD - 1) * sizeof(s->held[0]));
		s->nheld--;
	}
	if (!s->nheld)
		s->hold_since = now;
	s->held[s->nheld++] = m;
	if (now - s->last_request >= REQUEST_INTERVAL) {
		s->last_request = now;
		arp_request(gw, port, ip);
	}
}

void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t ours = gw->cfg.port[port].address.s_addr, sip, tip;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		control_drop(gw, m, C_MALFORMED_FRAME);
		return;
	}
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	/* Learn from whoever talks to us; only refresh others we already know
	 * (gratuitous ARP), so a segment's chatter cannot fill the table. */
	if (sip && !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha))
		learn(gw, port, sip, &arp->arp_data.arp_sha, now, tip == ours);

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
	control_transmit(gw, port, m);
}

void neigh_maintain(struct gateway *gw, uint64_t now)
{
	for (unsigned port = 0; port < PORT_COUNT; port++) {
		struct neigh_table *t = gw->neigh[port];

		for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
			struct neigh_slot *s = &t->slot[i];
			uint32_t ip = atomic_load_explicit(&s->ip, memory_order_relaxed);
			bool valid = atomic_load_explicit(&s->mac, memory_order_relaxed) & VALID;

			if (!ip)
				continue;
			if (s->nheld && now - s->hold_since > HOLD_TIME) {
				for (unsigned k = 0; k < s->nheld; k++)
					control_drop(gw, s->held[k], C_NO_NEIGHBOUR);
				s->nheld = 0;
			}
			if ((s->nheld && now - s->last_request >= REQUEST_INTERVAL) ||
			    (valid && now - s->confirmed > REFRESH_AFTER &&
			     now - s->last_request > REFRESH_INTERVAL)) {
				s->last_request = now;
				arp_request(gw, port, ip);
			}
		}
	}
}
