/* SPDX-License-Identifier: MIT */
/*
 * Counters: every drop has a reason and a counter. Each lcore writes its own
 * struct counters; the control socket sums them (ctl.c).
 *
 * The gateway's own drop reasons are declared once, in foreach_gw_drop below:
 * the list yields the enum and the names the control socket prints under
 * "drops" (which are also meshd's metric labels). Reasons
 * 0 .. WG_DROP__COUNT-1 are tunnels/' enum wg_drop, named by wg_drop_name().
 */
#ifndef HOPMESH_DATAPLANE_COUNTERS_H
#define HOPMESH_DATAPLANE_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

#include "config.h"
#include "tunnels.h"

/* _(ENUM_SUFFIX, "printed name", "why") */
#define foreach_gw_drop(_)                                                                      \
	_(MALFORMED_FRAME, "malformed_frame", "bad Ethernet/IP/UDP framing")                     \
	_(FRAGMENT, "fragment", "outer IP fragment: WireGuard is never fragmented by peers")    \
	_(NOT_FOR_US, "not_for_us", "backbone frame to another address or port")                \
	_(UNKNOWN_TYPE, "unknown_message_type", "UDP to our port that is no WireGuard or relay message") \
	_(NO_PEER, "no_peer_for_destination", "VM packet to an address no route or allowed-ip covers") \
	_(TOO_BIG, "too_big", "over the path MTU: ICMP sent back")                               \
	_(NOT_IP, "not_ip", "VM-side frame that is neither IP, ARP nor ND")                      \
	_(MULTI_SEGMENT, "multi_segment", "frame in more than one mbuf: the packet path reads frames whole") \
	_(NO_NEIGHBOUR, "no_neighbour", "gave up resolving a MAC")                               \
	_(NEIGH_QUEUE_FULL, "neigh_queue_full", "a neighbour being resolved had its frames parked already: the oldest dropped") \
	_(NEIGH_PARKED_FULL, "neigh_parked_full", "the gateway had its most frames parked for resolution") \
	_(NEIGH_TABLE_FULL, "neigh_table_full", "no slot for a new neighbour: too many unresolved, or its slots all fresh") \
	_(SLOWPATH_FULL_HANDSHAKE, "slowpath_full_handshake", "main lcore's handshake queue full") \
	_(SLOWPATH_FULL_ARP_ND, "slowpath_full_arp_nd", "main lcore's ARP/ND queue full")        \
	_(SLOWPATH_FULL_OTHER, "slowpath_full_other", "main lcore's queue for the rest full")    \
	_(TX_FULL, "tx_full", "port would not take the frame")                                   \
	_(NO_MBUF, "no_mbuf", "pool empty")                                                      \
	_(STAGED_DROPPED, "staged_dropped", "waited for a handshake that did not come")          \
	_(TTL_EXCEEDED, "ttl_exceeded", "inner TTL / hop limit ran out: ICMP sent back")         \
	_(HOP_LIMIT, "hop_limit", "relay path longer than the header's or our own hop limit")     \
	_(RELAY_LOOP, "relay_loop", "relay path names a gateway twice, or leads back where it came from") \
	_(RELAY_MALFORMED, "relay_malformed", "relay header of another version, or its hop or path impossible") \
	_(RELAY_NOT_FOR_US, "relay_not_for_us", "relay header whose current hop names another gateway") \
	_(RELAY_UNREACHABLE, "relay_unreachable", "relay with no peer, endpoint or key for the next gateway named: the source is told") \
	_(RELAY_NEXT_DOWN, "relay_next_down", "relay whose link to the next gateway named is down: the source is told") \
	_(RELAY_UNKNOWN_HOP, "relay_unknown_hop", "relay frame whose previous hop is no gateway we share a key with") \
	_(RELAY_WRONG_SOURCE, "relay_wrong_source", "relay frame from another address than its previous hop's endpoint") \
	_(RELAY_BAD_TAG, "relay_bad_tag", "relay frame whose hop tag does not verify: forged or altered") \
	_(RESIDENCY, "residency", "relay path through another zone than the one its source and destination share") \
	_(HANDOFF_FULL, "handoff_full", "another worker's queue full")                           \
	_(ICMP_RATELIMITED, "icmp_ratelimited", "ICMP error not sent: over its rate")           \
	_(PROBE_WRONG_SESSION, "probe_reply_wrong_session", "probe reply not through the session of the gateway it names") \
	_(PROBE_WRONG_SOURCE, "probe_reply_wrong_source", "probe reply not from its gateway's overlay address") \
	_(PROBE_UNKNOWN_SEQ, "probe_reply_unknown_seq", "probe reply to no probe we have outstanding") \
	_(PROBE_DUPLICATE, "probe_reply_duplicate", "probe reply to a probe already answered")   \
	_(LSA_MALFORMED, "lsa_malformed", "link-state advertisement out of form or range")         \
	_(LSA_UNBOUND_SOURCE, "lsa_unbound_source", "link-state advertisement through a session not yet bound to a gateway with an overlay address") \
	_(LSA_WRONG_SOURCE, "lsa_wrong_source", "link-state advertisement not from the gateway it names, through its session") \
	_(LSA_STALE, "lsa_stale", "link-state advertisement no newer than the one kept")          \
	_(VM_SPOOFED_SOURCE, "vm_spoofed_source", "VM packet from an address not given to this gateway's VMs")

enum gw_drop {
	GW_DROP__FIRST = WG_DROP__COUNT - 1, /* the gateway's reasons follow tunnels/' */
#define _(sym, name, why) GW_DROP_##sym,
	foreach_gw_drop(_)
#undef _
	GW_DROP__COUNT
};

/* The name of drop reason i (a wg_drop or a gw_drop) as the control socket
 * prints it; "unknown" past the last. */
const char *gw_drop_name(unsigned i);

#define HOP_BUCKETS 8

struct counters {
	uint64_t drop[GW_DROP__COUNT];
	uint64_t rx_packets[PORT_COUNT], rx_bytes[PORT_COUNT];
	uint64_t tx_packets[PORT_COUNT], tx_bytes[PORT_COUNT];
	uint64_t encrypted, decrypted, keepalives_received, handshakes_received;
	uint64_t relayed;     /* forwarded for others without decrypting */
	uint64_t handed_off;  /* data messages passed to their session's worker */
	uint64_t icmp_sent;
	uint64_t notices_sent;     /* as a relay: next hop unreachable, to a source */
	uint64_t notices_received; /* as a source, from a relay on one of our paths */
	uint64_t lsas_sent, lsas_received; /* link-state parts (lsa.c) */
	uint64_t hops[HOP_BUCKETS]; /* delivered packets by backbone hops (index = hops) */
} __rte_cache_aligned;

/* Single writer per struct: plain loads and stores, no lock prefix. */
#define COUNT(c, field, n) \
	__atomic_store_n(&(c)->field, __atomic_load_n(&(c)->field, __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

#endif
