// SPDX-License-Identifier: MIT
/*
 * Backbone -> VM, top to bottom.
 *
 *   backbone port (queue w): rx burst -> ingress_burst()
 *     classify_backbone():
 *       parse_outer(): Ethernet, IPv4/IPv6, UDP to our address and port;
 *         ARP, ND, packets to us -> main lcore
 *       relay header: relay_check() (version, hop, path, loop; then the
 *         previous hop: a gateway we share a key with, sending from its
 *         endpoint, whose tag verifies (relay_auth.c); then the hop limit,
 *         and, to relay it, residency);
 *         we are its destination -> strip it (a relay's notice to us as a
 *         source -> main lcore); a relay on its path -> relay_forward() to
 *         the next gateway the header names (never by our own path table),
 *         undecrypted, with the hop advanced and our tag for the next hop,
 *         on through underlay_encap(); no peer, endpoint or key for it, or
 *         our link to it down (meshd's word) -> a notice to the source
 *         instead (underlay_send_notice())
 *       handshakes -> main lcore
 *       data: session_owner(): ours -> the burst; another worker's -> its
 *         hand-off ring; no one's -> claim_decrypt(), at once
 *     wg_decrypt_burst(): index, AEAD, replay window, cryptokey check
 *     finish() -> deliver(): ECN, our overlay address -> main lcore (probes,
 *       LSAs, ping); hop_spend_ttl(), neigh_output(): Ethernet to the VM
 *     tx burst on the VM port (worker.c, lcore_tx_flush())
 *
 * A session's replay window has one writer, the worker that owns the session:
 * the first whose data for it authenticates. Its packets that arrive
 * elsewhere are handed over; the others never touch the window.
 *
 * Why a claim waits for authentication: a receiver index is no secret (it is
 * on the wire), so a worker that claimed on sight let a forged packet pick
 * the owner, or, naming another index in the same slot, push the live one's
 * record out; the next packet then made a second owner while the first still
 * had the session's packets in its burst, and two workers wrote one window.
 * Now a worker that finds a session unclaimed marks the slot pending (a CAS,
 * so one worker at a time), decrypts that one packet on the spot, and then
 * either records itself as owner (the packet authenticated: tunnels/ set
 * rx->peer) or puts back what the slot held (a forgery changes nothing).
 * While a slot is pending, data for it goes to the worker holding it, which
 * looks again when it takes it from its ring. Why not the worker's number in
 * the index: tunnels/ picks indices and knows nothing of workers, and RSS, not
 * the index, decides where a flow lands, so most packets would need a
 * hand-off (docs/ARCHITECTURE.md has the figures).
 *
 * The owner of a live session never changes: a record is replaced only by an
 * authentic packet with another index in the same slot, and the index table
 * (as many slots, INDEX_BITS) holds one live index per slot, so the record it
 * replaces is of a session that has ended. Nothing here locks, allocates or
 * makes a syscall per packet; the CAS is paid once per session (and per
 * forgery naming an unclaimed slot).
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
#include "relay_auth.h"
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

/* What relay_check() made of a relay header. */
enum relay_verdict {
	RELAY_DROPPED, /* counted */
	RELAY_DELIVER, /* we are the destination */
	RELAY_FORWARD, /* we are a relay on its path */
};

/* The gateway that sent r on this hop, checked: a gateway of ours with a
 * key, sending from its peer's endpoint (a frame of its replayed from
 * elsewhere is not), and r's tag by that key over the header and msg
 * (docs/PROTOCOL.md "Relay tag"). The endpoint is the one WireGuard keeps
 * current from the gateway's own authenticated direct packets. */
static bool relay_authentic(struct lcore_ctx *lc, struct rte_mbuf *m, const struct outer *o,
			    const struct relay_hdr *r, uint16_t self)
{
	uint16_t prev = relay_prev_hop(r);
	struct gw_entry *e = routes_gateway(lc->gw->routes, prev);
	const struct relay_key *key = e ? atomic_load_explicit(&e->relay_key, memory_order_acquire) : NULL;
	struct wg_peer *peer = e ? atomic_load_explicit(&e->peer, memory_order_acquire) : NULL;
	const uint8_t *msg = (const uint8_t *)(r + 1);
	struct wg_endpoint from;

	if (!peer || !key) {
		lcore_drop(lc, m, GW_DROP_RELAY_UNKNOWN_HOP);
		return false;
	}
	wg_peer_endpoint(peer, &from);
	if (!wg_endpoint_equal(&from, &o->src)) {
		lcore_drop(lc, m, GW_DROP_RELAY_WRONG_SOURCE);
		return false;
	}
	if (!relay_verify(key, r, prev, self, msg, o->len - RELAY_LEN)) {
		lcore_drop(lc, m, GW_DROP_RELAY_BAD_TAG);
		return false;
	}
	return true;
}

/* A relay header (docs/PROTOCOL.md), checked against what we are: each way to
 * fail is a drop of its own. The form first (cheap, and says nothing about
 * who sent it), then who sent it, then the limit, so that a hop_limit drop is
 * always a member's frame. The path is the source's; whatever our own table
 * says about its destination is not asked. o->len >= RELAY_LEN. */
static enum relay_verdict relay_check(struct lcore_ctx *lc, struct rte_mbuf *m,
				      const struct outer *o, const struct relay_hdr *r)
{
	uint16_t self = routes_self(lc->gw->routes), seen[RELAY_MAX_PATH + 1];
	unsigned limit = routes_hop_limit(lc->gw->routes), n = r->path_len;

	const uint8_t *msg = (const uint8_t *)(r + 1);

	/* One hop is a notice's alone (underlay.h): no other message needs a
	 * relay header to go direct. */
	if (r->version != RELAY_VERSION || n < 1 || (n == 1 && !relay_notice_ok(msg, o->len - RELAY_LEN)) ||
	    n > RELAY_MAX_PATH || r->hop < 1 || r->hop > n || !r->src_gw ||
	    !relay_msg_ok(msg, o->len - RELAY_LEN)) {
		lcore_drop(lc, m, GW_DROP_RELAY_MALFORMED);
		return RELAY_DROPPED;
	}
	if (!self || rte_be_to_cpu_16(r->path[r->hop - 1]) != self) {
		lcore_drop(lc, m, GW_DROP_RELAY_NOT_FOR_US);
		return RELAY_DROPPED;
	}
	/* The path is loop-free only if no gateway is named twice (the source
	 * included); an id 0 is no gateway, the header is broken. */
	seen[0] = rte_be_to_cpu_16(r->src_gw);
	for (unsigned i = 0; i < n; i++) {
		seen[i + 1] = rte_be_to_cpu_16(r->path[i]);
		if (!seen[i + 1]) {
			lcore_drop(lc, m, GW_DROP_RELAY_MALFORMED);
			return RELAY_DROPPED;
		}
		for (unsigned j = 0; j <= i; j++)
			if (seen[j] == seen[i + 1]) {
				lcore_drop(lc, m, GW_DROP_RELAY_LOOP);
				return RELAY_DROPPED;
			}
	}
	if (!relay_authentic(lc, m, o, r, self))
		return RELAY_DROPPED;
	/* The lower of the source's limit and ours: a source with a stale
	 * limit gets no further than this gateway allows. */
	if (n > r->hop_limit || n > limit) {
		lcore_drop(lc, m, GW_DROP_HOP_LIMIT);
		return RELAY_DROPPED;
	}
	if (r->hop == n)
		return RELAY_DELIVER;
	/* Residency by our own copy of the policy and the zones: a source
	 * with a stale table takes a zone's traffic no further than here. */
	if (!routes_path_resident(lc->gw->routes, seen, n + 1)) {
		lcore_drop(lc, m, GW_DROP_RESIDENCY);
		return RELAY_DROPPED;
	}
	return RELAY_FORWARD;
}

/* A relayed message for a gateway after us on its path: on to the next one
 * the header names, undecrypted, with the hop advanced and signed for it. */
static void relay_forward(struct lcore_ctx *lc, struct rte_mbuf *m, const struct outer *o,
			  struct relay_hdr *r)
{
	uint16_t next_gw = rte_be_to_cpu_16(r->path[r->hop]);
	const struct relay_key *key = path_gateway_key(lc->gw, next_gw);
	struct gw_entry *e = routes_gateway(lc->gw->routes, next_gw);
	struct wg_endpoint next;

	/* No peer, endpoint or key for it (no key: the next gateway would drop
	 * what we send as forged): the source is told at once, as below. */
	if (!key || !path_gateway_endpoint(lc->gw, next_gw, &next)) {
		COUNT(&lc->counters, drop[GW_DROP_RELAY_UNREACHABLE], 1);
		underlay_send_notice(lc, m, r, next_gw);
		return;
	}
	/* Our link to it is down (meshd's word): what we send is lost, and
	 * the source would not know until its next measurement of our links
	 * reached it. It hears from us now, by the frame itself. */
	if (atomic_load_explicit(&e->link_down, memory_order_relaxed)) {
		COUNT(&lc->counters, drop[GW_DROP_RELAY_NEXT_DOWN], 1);
		underlay_send_notice(lc, m, r, next_gw);
		return;
	}
	/* Two gateways with one address, or an endpoint that roamed: the path
	 * would bounce the frame back, which no correct path does. */
	if (wg_endpoint_equal(&next, &o->src)) {
		lcore_drop(lc, m, GW_DROP_RELAY_LOOP);
		return;
	}
	r->hop++;
	relay_sign(key, r, routes_self(lc->gw->routes), next_gw, (const uint8_t *)(r + 1),
		   o->len - RELAY_LEN);
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
	uint32_t index;      /* BB_CLAIM: the receiver index being claimed */
	uint64_t prev_owner; /* BB_CLAIM: what its owner slot held before */
};

/* gw->owner, one word per receiver-index slot: index << 8 | flags | worker. */
#define OWNER_WORKER 0x3fu
#define OWNER_CLAIMED 0x40u /* the worker's data for this index authenticated */
#define OWNER_PENDING 0x80u /* the worker is authenticating one packet */
_Static_assert(MAX_WORKERS <= OWNER_WORKER + 1, "worker number must fit the owner word");

static uint64_t owner_word(uint32_t index, unsigned flags, unsigned worker)
{
	return (uint64_t)index << 8 | flags | worker;
}

/* Which worker decrypts data for index: its owner, or the worker holding a
 * pending claim on its slot. OWNER_NONE: no one, and this worker now holds
 * the slot pending (*prev what it held, for claim_decrypt() to settle). A
 * peer's tunnel is one UDP flow, which the NIC's hash (or af_packet's fanout)
 * keeps on one queue, so hand-offs are rare: relayed traffic, roaming. */
#define OWNER_NONE (~0u)
static unsigned session_owner(struct gateway *gw, uint32_t index, unsigned me, uint64_t *prev)
{
	_Atomic uint64_t *slot = &gw->owner[index & ((1u << INDEX_BITS) - 1)];
	uint64_t cur = atomic_load_explicit(slot, memory_order_acquire);

	for (;;) {
		if ((cur & (OWNER_CLAIMED | OWNER_PENDING)) && (uint32_t)(cur >> 8) == index)
			return cur & OWNER_WORKER;
		/* Another worker is authenticating data of this slot: only it may
		 * write the slot until it is done. (Never this worker: it settles
		 * its claim before it classifies the next packet.) */
		if (cur & OWNER_PENDING)
			return cur & OWNER_WORKER;
		/* Unclaimed, or the record of another index: an ended session, or
		 * a forgery if this packet's index is the one that is not live. */
		if (atomic_compare_exchange_strong_explicit(slot, &cur,
							    owner_word(index, OWNER_PENDING, me),
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			*prev = cur;
			return OWNER_NONE;
		}
	}
}

/* What classify_backbone() made of a frame. */
enum bb_verdict {
	BB_DONE,  /* handed on or dropped */
	BB_BURST, /* data this worker decrypts: in rx */
	BB_CLAIM, /* data of an unclaimed session, in rx: claim_decrypt() it now */
};

/* Validates one backbone frame. Data messages this worker owns or is
 * claiming are filled into rx and job; everything else is handed on or
 * dropped here. */
static enum bb_verdict classify_backbone(struct lcore_ctx *lc, struct rte_mbuf *m,
					 uint16_t listen_port, struct wg_rx *rx, struct bb_job *job)
{
	struct gateway *gw = lc->gw;
	struct relay_hdr *relay = NULL;
	enum bb_verdict verdict = BB_BURST;
	struct outer o;
	uint32_t type, receiver;
	uint8_t *msg;

	if (!parse_outer(lc, m, listen_port, &o))
		return BB_DONE;
	msg = o.payload;
	if (o.len >= 2 && msg[0] == RELAY_TYPE) {
		relay = (struct relay_hdr *)msg;
		/* Too short for its header (relay_check() checks what is behind). */
		if (o.len < RELAY_LEN) {
			lcore_drop(lc, m, GW_DROP_RELAY_MALFORMED);
			return BB_DONE;
		}
		switch (relay_check(lc, m, &o, relay)) {
		case RELAY_DROPPED:
			return BB_DONE;
		case RELAY_FORWARD:
			relay_forward(lc, m, &o, relay);
			return BB_DONE;
		case RELAY_DELIVER:
			break;
		}
		msg += RELAY_LEN;
		o.len -= RELAY_LEN;
		/* A relay's notice to us, a source (relay_check() checked its
		 * length): on to the main lcore, which keeps it for meshd. */
		if (msg[0] == RELAY_NOTICE_TYPE && relay_notice_ok(msg, o.len)) {
			uint16_t from = rte_be_to_cpu_16(relay->src_gw);

			rte_pktmbuf_adj(m, (uint16_t)(msg - rte_pktmbuf_mtod(m, uint8_t *)));
			rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - o.len));
			lcore_note(m, SLOW_NOTICE, PORT_BACKBONE)->src_gw = from;
			lcore_to_main(lc, m);
			return BB_DONE;
		}
	}
	if (o.len < 4) {
		lcore_drop(lc, m, GW_DROP_UNKNOWN_TYPE);
		return BB_DONE;
	}
	/* A little-endian type word: 1-4 with three zero bytes. */
	type = (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 24;
	switch (type) {
	case WG_MSG_DATA:
		if (o.len >= 8 && gw->workers > 1) {
			memcpy(&receiver, msg + 4, 4);
			receiver = rte_le_to_cpu_32(receiver);
			unsigned owner = session_owner(gw, receiver, lc->worker, &job->prev_owner);

			if (owner == OWNER_NONE) {
				job->index = receiver;
				verdict = BB_CLAIM;
			} else if (owner != lc->worker) {
				if (rte_ring_enqueue(gw->handoff[owner], m))
					lcore_drop(lc, m, GW_DROP_HANDOFF_FULL);
				else
					COUNT(&lc->counters, handed_off, 1);
				return BB_DONE;
			}
		}
		rx->msg = msg;
		rx->len = o.len;
		rx->src = o.src;
		rx->relayed = relay != NULL;
		job->tos = o.tos;
		job->hops = relay ? relay->path_len : 1;
		return verdict;
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
	case WG_MSG_COOKIE: {
		struct pkt_meta *meta;

		if (o.len != exact_length((uint8_t)type)) {
			lcore_drop(lc, m, WG_DROP_MALFORMED);
			return BB_DONE;
		}
		meta = lcore_note(m, SLOW_HANDSHAKE, PORT_BACKBONE);
		meta->relayed = relay != NULL;
		meta->src_gw = relay ? rte_be_to_cpu_16(relay->src_gw) : 0;
		lcore_to_main(lc, m);
		return BB_DONE;
	}
	default:
		lcore_drop(lc, m, GW_DROP_UNKNOWN_TYPE);
		return BB_DONE;
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
	if (!hop_spend_ttl(lc, m, PORT_BACKBONE, 1, NULL))
		return;
	if ((rx->plain[0] >> 4) == 4)
		neigh_key4(next_hop, ((struct rte_ipv4_hdr *)rx->plain)->dst_addr);
	else
		memcpy(next_hop, ((struct rte_ipv6_hdr *)rx->plain)->dst_addr, 16);
	COUNT(&lc->counters, decrypted, 1);
	COUNT(&lc->counters, hops[job->hops < HOP_BUCKETS ? job->hops : HOP_BUCKETS - 1], 1);
	neigh_output(lc, PORT_VM, m, next_hop);
}

/* A decrypted (or refused) message: dropped with its reason, counted as a
 * keepalive, or delivered. */
static void finish(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_rx *rx,
		   const struct bb_job *job)
{
	if (rx->status != WG_OK) {
		lcore_drop(lc, m, rx->status);
	} else if (rx->keepalive) {
		COUNT(&lc->counters, keepalives_received, 1);
		rte_pktmbuf_free(m);
	} else {
		deliver(lc, m, rx, job);
	}
}

/* The packet of an unclaimed session whose slot this worker holds pending:
 * decrypted alone, so that the slot is settled before anything else is
 * classified. tunnels/ sets rx->peer only when the AEAD tag and the replay
 * window passed: then this worker owns the session, else the slot is put
 * back as it was. */
static void claim_decrypt(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_rx *rx,
			  const struct bb_job *job, uint64_t now, bool *attention)
{
	struct gateway *gw = lc->gw;
	_Atomic uint64_t *slot = &gw->owner[job->index & ((1u << INDEX_BITS) - 1)];

	wg_decrypt_burst(lc->crypto, gw->dev, rx, 1, now, attention);
	atomic_store_explicit(slot,
			      rx->peer ? owner_word(job->index, OWNER_CLAIMED, lc->worker)
				       : job->prev_owner,
			      memory_order_release);
	finish(lc, m, rx, job);
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
		switch (classify_backbone(lc, pkts[i], listen_port, &rx[k], &job[k])) {
		case BB_BURST:
			data[k++] = pkts[i];
			break;
		case BB_CLAIM:
			claim_decrypt(lc, pkts[i], &rx[k], &job[k], now, &attention);
			break;
		case BB_DONE:
			break;
		}
	}
	wg_decrypt_burst(lc->crypto, gw->dev, rx, k, now, &attention);
	for (unsigned i = 0; i < k; i++)
		finish(lc, data[i], &rx[i], &job[i]);
	if (attention)
		lcore_wake_main(gw);
}
