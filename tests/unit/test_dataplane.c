// SPDX-License-Identifier: MIT
/*
 * The gateway's packet path without a network and without root: the real
 * dataplane/ code, set up by gateway_setup() on two net_null ports under an
 * EAL with no hugepages and no shared files (--no-huge --no-shconf). Nothing runs the lcores'
 * loops: a test hands a burst of frames it built to egress_burst() or
 * ingress_burst() as worker w would, then looks where each went: a drop
 * counter, the main lcore's queues (gw.to_main[], with its note), a worker's tx
 * batch, another worker's hand-off ring. The main lcore's part (ICMP errors)
 * is called the same way, and its frames read from gw.to_port.
 *
 *   classification, VM side and backbone side; frames in two mbufs refused
 *   relay (header v2, source-routed): each way a header fails, counted under
 *   its own reason, nothing forwarded; forwarding by the header over 2, 3 and
 *   4 hops whatever the relay's own paths say; delivery at the destination;
 *   the source's "path set", "hop_limit set", header and dump; the TTL spent
 *   hop-by-hop tags (relay_auth.c): the pair key both ends derive; forged,
 *   altered, replayed-from-elsewhere frames and unknown previous hops each
 *   dropped under their reason; a removed gateway's key gone at once; a
 *   cookie reply sent back the way its handshake came; a relay whose link
 *   to the next hop is down: the frame dropped, a notice to the source back
 *   the way it came (one per period), and at the source the notice kept
 *   for meshd (probe dump), a forged one dropped
 *   for every relay, and ICMP in the name of the relay where it runs out
 *   hand-off of data messages to the worker that owns their session, with
 *   sessions made by a handshake with a second tunnels/ device (the far
 *   gateway's): only authentic data claims a session; forgeries move no
 *   owner; copies through two workers are replays to the one owner, also
 *   with both workers running at once (two threads)
 *   ICMP time exceeded and too big, built by the main lcore; fragmentation
 *   link probes: forged replies (wrong source, wrong session, unknown or
 *   answered sequence) change no link figure; the RTT is our own clock's
 *   VM-side source check: another gateway's address, an unassigned one, the
 *   gateway's own are dropped; link-local IPv6 only to the gateway itself
 *   ECN across the tunnel (RFC 6040)
 *   the main lcore's queues under an ARP flood and a handshake flood
 *   drop reason names; names and arguments in the control socket's JSON
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "counters.h"
#include "egress.h"
#include "gateway.h"
#include "hop.h"
#include "icmp.h"
#include "ingress.h"
#include "lcore_io.h"
#include "mainlcore.h"
#include "neigh.h"
#include "packet.h"
#include "lsa.h"
#include "overlay.h"
#include "probe.h"
#include "relay_auth.h"
#include "routes.h"
#include "textbuf.h"
#include "underlay.h"

#define LISTEN_PORT 51820
#define MTU 1420
#define SELF_ID 1
#define FAR_ID 2 /* a gateway with a peer, at FAR_IP:LISTEN_PORT */
#define FAR_IP "192.0.2.2"
#define VM_IP "10.1.0.5"     /* a local VM */
#define REMOTE_VM "10.2.0.5" /* behind the far gateway (its allowed-ips) */

static struct gateway gw;
static uint8_t far_priv[WG_KEY_LEN]; /* the far gateway's key (its device: far_handshake()) */
static const struct rte_ether_addr vm_mac = { { 0x02, 0, 0, 0, 0, 0x05 } };
static const struct rte_ether_addr bb_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static uint64_t drops(unsigned lcore, unsigned reason)
{
	struct lcore_ctx *lc = lcore < MAX_WORKERS ? gw.worker_lc[lcore] : gw.main_lc;

	return lc->counters.drop[reason];
}

/* ---- frames ---- */

static struct rte_mbuf *frame(const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
			      uint16_t type, unsigned len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw.pool);
	struct rte_ether_hdr *eth;

	assert_non_null(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + len));
	assert_non_null(eth);
	memset(eth, 0, RTE_ETHER_HDR_LEN + len);
	eth->src_addr = *src;
	eth->dst_addr = *dst;
	eth->ether_type = rte_cpu_to_be_16(type);
	return m;
}

/* IPv4/UDP with payload bytes behind the UDP header, all of it zero. */
static struct rte_mbuf *udp4(const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
			     const char *from, uint16_t sport, const char *to, uint16_t dport,
			     uint8_t ttl, uint8_t tos, uint16_t frag, unsigned payload)
{
	struct rte_mbuf *m = frame(src, dst, RTE_ETHER_TYPE_IPV4, IP4_LEN + UDP_LEN + payload);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IP4_LEN + UDP_LEN + payload));
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->time_to_live = ttl;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = ip4(from);
	ip->dst_addr = ip4(to);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(UDP_LEN + payload));
	return m;
}

/* A VM's packet to dst through the gateway. */
static struct rte_mbuf *from_vm(const char *dst, uint8_t ttl, uint8_t tos, uint16_t frag,
				unsigned payload)
{
	return udp4(&vm_mac, &gw.mac[PORT_VM], VM_IP, 4000, dst, 5000, ttl, tos, frag, payload);
}

/* A backbone frame from src:sport to our listen port carrying msg. */
static struct rte_mbuf *from_backbone(const char *src, uint16_t sport, const void *msg,
				      unsigned len)
{
	struct rte_mbuf *m = udp4(&bb_mac, &gw.mac[PORT_BACKBONE], src, sport, "192.0.2.1",
				  LISTEN_PORT, 64, 0, 0, len);

	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN), msg, len);
	return m;
}

static void vm_in(unsigned worker, struct rte_mbuf *m)
{
	egress_burst(gw.worker_lc[worker], &m, 1, mono_ns());
}

static void backbone_in(unsigned worker, struct rte_mbuf *m)
{
	ingress_burst(gw.worker_lc[worker], &m, 1, mono_ns(), false);
}

/* The one packet in ring r (NULL if empty); the ring must hold no more. */
static struct rte_mbuf *take(struct rte_ring *r)
{
	struct rte_mbuf *m = NULL;

	if (rte_ring_dequeue(r, (void **)&m))
		return NULL;
	assert_int_equal(rte_ring_count(r), 0);
	return m;
}

/* The main lcore's queue for why holds exactly one packet, handed over for
 * why. */
static struct rte_mbuf *to_main(enum slow_reason why, unsigned port)
{
	struct rte_mbuf *m = take(gw.to_main[lcore_slow_queue(why)]);

	assert_non_null(m);
	assert_int_equal(pkt_meta(m)->reason, why);
	assert_int_equal(pkt_meta(m)->port, port);
	return m;
}

static void nothing_queued(void)
{
	for (unsigned q = 0; q < SLOWQ__COUNT; q++)
		assert_int_equal(rte_ring_count(gw.to_main[q]), 0);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		assert_int_equal(rte_ring_count(gw.to_port[p]), 0);
	for (unsigned w = 0; w < gw.workers; w++) {
		assert_int_equal(rte_ring_count(gw.handoff[w]), 0);
		for (unsigned p = 0; p < PORT_COUNT; p++)
			assert_int_equal(gw.worker_lc[w]->ntx[p], 0);
	}
}

/* ---- setup ---- */

__attribute__((format(printf, 1, 2))) static void command(const char *fmt, ...)
{
	char line[256], out[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	routes_command(gw.routes, &gw, line, out, sizeof(out));
	assert_null(strstr(out, "error"));
}

static int setup(void **state)
{
	char prefix[64];
	char *argv[] = { "test_dataplane", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			 "--no-shconf", prefix, "-l", "0", "--vdev=net_null0", "--vdev=net_null1",
			 "--log-level=error", NULL };
	uint8_t key[WG_KEY_LEN], far_pub[WG_KEY_LEN];
	char b64[45];
	struct wg_endpoint ep;
	struct wg_peer *peer;
	uint32_t net;

	(void)state;
	snprintf(prefix, sizeof(prefix), "--file-prefix=test_dataplane%d", (int)getpid());
	if (sodium_init() < 0 || rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return -1;
	snprintf(gw.cfg.name, sizeof(gw.cfg.name), "tdp");
	gw.cfg.listen_port = LISTEN_PORT;
	gw.cfg.mtu = MTU;
	gw.cfg.workers = gw.workers = 2;
	gw.cfg.hop_limit = HOP_LIMIT_MAX; /* the ceiling */
	gw.cfg.host_routes = 1024;
	gw.cfg.busy_poll = true;
	snprintf(gw.cfg.port[PORT_VM].device, sizeof(gw.cfg.port[PORT_VM].device), "net_null0");
	snprintf(gw.cfg.port[PORT_BACKBONE].device, sizeof(gw.cfg.port[PORT_BACKBONE].device),
		 "net_null1");
	gw.cfg.port[PORT_VM].address.s_addr = ip4("10.1.0.1");
	gw.cfg.port[PORT_VM].prefix_len = 16;
	gw.cfg.port[PORT_BACKBONE].address.s_addr = ip4("192.0.2.1");
	gw.cfg.port[PORT_BACKBONE].prefix_len = 24;
	randombytes_buf(key, sizeof(key));
	if (!gateway_setup(&gw, key))
		return -1;

	/* The far gateway: a peer with an endpoint and allowed-ips, gateway 2. */
	randombytes_buf(far_priv, sizeof(far_priv));
	far_priv[0] &= 248;
	far_priv[31] = (far_priv[31] & 127) | 64;
	crypto_scalarmult_curve25519_base(far_pub, far_priv);
	peer = wg_peer_add(gw.dev, far_pub);
	if (!peer || !wg_endpoint_parse(&ep, FAR_IP ":51820"))
		return -1;
	wg_peer_set_endpoint(peer, &ep);
	net = ip4("10.2.0.0");
	wg_peer_allowedip_add(peer, AF_INET, &net, 16);
	wg_device_commit_allowedips(gw.dev);
	wg_key_to_base64(b64, far_pub);
	command("gateway self %u", SELF_ID);
	command("gateway set %u %s overlay4=10.2.0.1", FAR_ID, b64);
	routes_maintain(gw.routes, &gw);
	return routes_gateway(gw.routes, FAR_ID)->peer ? 0 : -1;
}

static void far_free(void);

static int teardown(void **state)
{
	(void)state;
	far_free();
	gateway_teardown(&gw);
	rte_eal_cleanup();
	return 0;
}

/* ---- classification ---- */

static void test_vm_classification(void **state)
{
	uint64_t before;

	(void)state;
	before = drops(0, GW_DROP_MALFORMED_FRAME);
	vm_in(0, frame(&vm_mac, &gw.mac[PORT_VM], RTE_ETHER_TYPE_IPV4, 10));
	assert_int_equal(drops(0, GW_DROP_MALFORMED_FRAME), before + 1);

	before = drops(0, GW_DROP_NOT_IP);
	vm_in(0, frame(&vm_mac, &gw.mac[PORT_VM], 0x88cc /* LLDP */, 60));
	assert_int_equal(drops(0, GW_DROP_NOT_IP), before + 1);

	/* Our own frame echoed back by the port. */
	before = drops(0, GW_DROP_NOT_FOR_US);
	vm_in(0, udp4(&gw.mac[PORT_VM], &vm_mac, VM_IP, 1, REMOTE_VM, 2, 64, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_NOT_FOR_US), before + 1);

	before = drops(0, GW_DROP_NO_PEER);
	vm_in(0, from_vm("10.9.9.9", 64, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_NO_PEER), before + 1);
	nothing_queued();

	vm_in(0, frame(&vm_mac, &gw.mac[PORT_VM], RTE_ETHER_TYPE_ARP, 28));
	rte_pktmbuf_free(to_main(SLOW_ARP, PORT_VM));
	vm_in(0, from_vm("10.1.0.1", 64, 0, 0, 10));
	rte_pktmbuf_free(to_main(SLOW_LOCAL, PORT_VM));

	/* A path, but no session yet: staged by the main lcore, at its IP header,
	 * its TTL spent. */
	{
		struct rte_mbuf *m;

		vm_in(0, from_vm(REMOTE_VM, 64, 0, 0, 10));
		m = to_main(SLOW_STAGE, PORT_VM);
		assert_int_equal(rte_pktmbuf_pkt_len(m), IP4_LEN + UDP_LEN + 10);
		assert_int_equal(rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->time_to_live, 63);
		assert_int_equal(rte_ipv4_cksum(rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)), 0);
		rte_pktmbuf_free(m);
	}
	nothing_queued();
}

static void test_backbone_classification(void **state)
{
	uint8_t msg[WG_INITIATION_LEN] = { 0 };
	struct rte_mbuf *m;
	uint64_t before;

	(void)state;
	before = drops(0, GW_DROP_NOT_FOR_US);
	m = udp4(&bb_mac, &gw.mac[PORT_BACKBONE], FAR_IP, 51820, "192.0.2.99", LISTEN_PORT, 64, 0, 0, 32);
	backbone_in(0, m);
	m = udp4(&bb_mac, &gw.mac[PORT_BACKBONE], FAR_IP, 51820, "192.0.2.1", 9999, 64, 0, 0, 32);
	backbone_in(0, m);
	assert_int_equal(drops(0, GW_DROP_NOT_FOR_US), before + 2);

	before = drops(0, GW_DROP_FRAGMENT);
	m = udp4(&bb_mac, &gw.mac[PORT_BACKBONE], FAR_IP, 51820, "192.0.2.1", LISTEN_PORT, 64, 0,
		 RTE_IPV4_HDR_MF_FLAG, 32);
	backbone_in(0, m);
	assert_int_equal(drops(0, GW_DROP_FRAGMENT), before + 1);

	before = drops(0, GW_DROP_UNKNOWN_TYPE);
	msg[0] = 7;
	backbone_in(0, from_backbone(FAR_IP, 51820, msg, 32));
	assert_int_equal(drops(0, GW_DROP_UNKNOWN_TYPE), before + 1);

	/* Handshake messages have one length each. */
	before = drops(0, WG_DROP_MALFORMED);
	msg[0] = WG_MSG_INITIATION;
	backbone_in(0, from_backbone(FAR_IP, 51820, msg, WG_INITIATION_LEN - 1));
	assert_int_equal(drops(0, WG_DROP_MALFORMED), before + 1);
	backbone_in(0, from_backbone(FAR_IP, 51820, msg, WG_INITIATION_LEN));
	m = to_main(SLOW_HANDSHAKE, PORT_BACKBONE);
	assert_int_equal(pkt_meta(m)->relayed, 0);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* A frame chained from two mbufs (as a port with scatter on may deliver)
 * never reaches the packet path, which reads frames whole: counted received
 * and dropped as multi_segment at the receive entry; the frames around it go
 * on, in order. */
static void test_multi_segment(void **state)
{
	struct lcore_ctx *lc = gw.worker_lc[0];
	uint64_t before = drops(0, GW_DROP_MULTI_SEGMENT), rx = lc->counters.rx_packets[PORT_VM];
	struct rte_mbuf *pkts[3], *a, *b, *tail;

	(void)state;
	a = from_vm(REMOTE_VM, 64, 0, 0, 10);
	b = from_vm(REMOTE_VM, 64, 0, 0, 10);
	pkts[0] = a;
	pkts[1] = frame(&vm_mac, &gw.mac[PORT_VM], RTE_ETHER_TYPE_IPV4, IP4_LEN);
	tail = rte_pktmbuf_alloc(gw.pool);
	assert_non_null(tail);
	assert_non_null(rte_pktmbuf_append(tail, UDP_LEN + 10));
	assert_int_equal(rte_pktmbuf_chain(pkts[1], tail), 0);
	assert_int_equal(pkts[1]->nb_segs, 2);
	pkts[2] = b;

	assert_int_equal(lcore_rx_whole(lc, PORT_VM, pkts, 3), 2);
	assert_ptr_equal(pkts[0], a);
	assert_ptr_equal(pkts[1], b);
	assert_int_equal(drops(0, GW_DROP_MULTI_SEGMENT), before + 1);
	assert_int_equal(lc->counters.rx_packets[PORT_VM], rx + 1);
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
	nothing_queued();
}

/* ---- gateways bound to peers ---- */

#define LATE_ID 12 /* a gateway whose peer comes and goes */

/* A peer added for a known gateway is its peer at once, before any tick
 * (routes_maintain): a VM packet sent right after `wg set peer` would
 * otherwise find no peer and start no handshake. Removed, it is unbound;
 * added again, bound again. */
static void test_peer_bound_when_added(void **state)
{
	uint8_t key[WG_KEY_LEN];
	char b64[45];
	struct wg_peer *p;

	(void)state;
	randombytes_buf(key, sizeof(key));
	wg_key_to_base64(b64, key);
	command("gateway set %u %s overlay4=10.%u.0.1", LATE_ID, b64, LATE_ID);
	assert_null(atomic_load(&routes_gateway(gw.routes, LATE_ID)->peer));
	/* One gateway per key: the peer has one gateway to be bound to. */
	{
		char line[128], out[256], want[64];

		snprintf(line, sizeof(line), "gateway set %u %s", LATE_ID + 1, b64);
		routes_command(gw.routes, &gw, line, out, sizeof(out));
		snprintf(want, sizeof(want), "already belongs to gateway %u", LATE_ID);
		assert_non_null(strstr(out, want));
	}
	for (int round = 0; round < 2; round++) {
		p = wg_peer_add(gw.dev, key);
		assert_non_null(p);
		assert_ptr_equal(atomic_load(&routes_gateway(gw.routes, LATE_ID)->peer), p);
		wg_peer_remove(gw.dev, p);
		assert_null(atomic_load(&routes_gateway(gw.routes, LATE_ID)->peer));
	}
	command("gateway del %u", LATE_ID);
}

/* ---- relay ---- */

#define SRC_ID 9         /* the source of relayed frames, at PREV_IP (9 in dumps) */
#define PREV_IP "192.0.2.9" /* the hop before us (unless the path says otherwise) */
#define R3_IP "192.0.2.13" /* gateways 3 and 4: relays with peers and endpoints */
#define R4_IP "192.0.2.14"
#define NOPEER_ID 5      /* a gateway whose peer we do not have */

/* Gateway id with a peer of a fresh key at ip:51820 (ip NULL: no peer). */
static void relay_gateway(uint16_t id, const char *ip)
{
	uint8_t key[WG_KEY_LEN];
	char b64[45], ep_text[32];
	struct wg_endpoint ep;
	struct wg_peer *peer;

	randombytes_buf(key, sizeof(key));
	if (ip) {
		peer = wg_peer_add(gw.dev, key);
		assert_non_null(peer);
		snprintf(ep_text, sizeof(ep_text), "%s:51820", ip);
		assert_true(wg_endpoint_parse(&ep, ep_text));
		wg_peer_set_endpoint(peer, &ep);
	}
	wg_key_to_base64(b64, key);
	command("gateway set %u %s overlay4=10.%u.0.1", id, b64, id);
	routes_maintain(gw.routes, &gw);
	assert_true(!ip == !routes_gateway(gw.routes, id)->peer);
}

/* A relay header from SRC_ID for the given hop of a path of n gateways. */
static void relay_header(struct relay_hdr *r, uint8_t hop, uint8_t hop_limit, uint8_t n,
			 const uint16_t *path)
{
	relay_hdr_init(r, SRC_ID, hop, hop_limit, n, path);
}

/* The address of gateway id (SRC_ID and the unknown ones: PREV_IP). */
static const char *gw_ip(uint16_t id)
{
	return id == FAR_ID ? FAR_IP : id == 3 ? R3_IP : id == 4 ? R4_IP : PREV_IP;
}

/* The previous hop of r, whatever its fields say (PREV_IP's gateway if its
 * hop is impossible). */
static uint16_t prev_of(const struct relay_hdr *r)
{
	return r->hop >= 1 && r->hop <= r->path_len && r->path_len <= RELAY_MAX_PATH ? relay_prev_hop(r)
										      : SRC_ID;
}

/* r's tag as its previous hop writes it for us (none if we share no key
 * with it), over the message msg of len bytes. */
static void sign_as_prev(struct relay_hdr *r, const uint8_t *msg, uint32_t len)
{
	uint16_t prev = prev_of(r);
	const struct relay_key *k = path_gateway_key(&gw, prev);

	if (k)
		relay_sign(k, r, prev, SELF_ID, msg, len);
}

/* A relayed data message of 32 bytes from src, port 51820, into worker 0,
 * signed by the previous hop the header names. */
static void relay_in_from(const char *src, const struct relay_hdr *r)
{
	uint8_t msg[RELAY_LEN + 32] = { 0 };

	memcpy(msg, r, RELAY_LEN);
	msg[RELAY_LEN] = WG_MSG_DATA;
	sign_as_prev((struct relay_hdr *)msg, msg + RELAY_LEN, 32);
	backbone_in(0, from_backbone(src, 51820, msg, sizeof(msg)));
}

/* The same from the previous hop's own address. */
static void relay_in(const struct relay_hdr *r)
{
	relay_in_from(gw_ip(prev_of(r)), r);
}

/* One relayed frame with header (hop, hop_limit, n, path...) is dropped for
 * reason, counted once, and nothing is sent or queued. */
static void relay_dropped(unsigned reason, uint8_t hop, uint8_t hop_limit, unsigned n, ...)
{
	uint16_t path[8] = { 0 };
	struct relay_hdr r;
	uint64_t before = drops(0, reason), relayed = gw.worker_lc[0]->counters.relayed;
	va_list ap;

	va_start(ap, n);
	for (unsigned i = 0; i < n && i < 8; i++)
		path[i] = (uint16_t)va_arg(ap, unsigned);
	va_end(ap);
	relay_header(&r, hop, hop_limit, (uint8_t)n, path);
	relay_in(&r);
	assert_int_equal(drops(0, reason), before + 1);
	assert_int_equal(gw.worker_lc[0]->counters.relayed, relayed);
	nothing_queued();
}

/* The frame the relay sent on: to ip (whose MAC the main lcore is asked to
 * resolve), undecrypted, its header that of in with hop advanced by one and
 * our tag for the next gateway. */
static void relayed_to(const char *ip, const struct relay_hdr *in)
{
	uint16_t next = rte_be_to_cpu_16(in->path[in->hop]);
	struct rte_mbuf *m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	struct rte_ipv4_hdr *iph = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(iph + 1);
	struct relay_hdr want = *in, *r = (struct relay_hdr *)(udp + 1);
	uint8_t key[16];

	assert_int_equal(iph->dst_addr, ip4(ip));
	assert_int_equal(rte_ipv4_cksum(iph), 0);
	assert_int_equal(rte_be_to_cpu_16(udp->dgram_len), UDP_LEN + RELAY_LEN + 32);
	want.hop++;
	assert_memory_equal(r, &want, offsetof(struct relay_hdr, tag));
	assert_int_equal(((uint8_t *)(r + 1))[0], WG_MSG_DATA);
	assert_non_null(path_gateway_key(&gw, next));
	assert_true(relay_verify(path_gateway_key(&gw, next), r, SELF_ID, next, (uint8_t *)(r + 1), 32));
	assert_false(relay_verify(path_gateway_key(&gw, next), r, SELF_ID, FAR_ID + next,
				  (uint8_t *)(r + 1), 32));
	neigh_key4(key, ip4(ip));
	assert_memory_equal(pkt_meta(m)->next_hop, key, 16);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* Every malformed, misdirected, over-long or looping header is dropped with
 * its own reason at the first gateway that sees it, nothing forwarded. */
static void test_relay_drops(void **state)
{
	uint8_t msg[RELAY_LEN + 2] = { RELAY_TYPE, RELAY_VERSION };
	uint64_t before;

	(void)state;
	relay_gateway(SRC_ID, PREV_IP);
	relay_gateway(3, R3_IP);
	relay_gateway(4, R4_IP);
	relay_gateway(NOPEER_ID, NULL);

	/* Version, hop and path length out of their ranges; id 0 on the path. */
	{
		struct relay_hdr r;
		uint16_t path[2] = { SELF_ID, FAR_ID };

		relay_header(&r, 1, 4, 2, path);
		r.version = 1;
		before = drops(0, GW_DROP_RELAY_MALFORMED);
		relay_in(&r);
		assert_int_equal(drops(0, GW_DROP_RELAY_MALFORMED), before + 1);
		r.version = RELAY_VERSION;
		r.src_gw = 0;
		relay_in(&r);
		assert_int_equal(drops(0, GW_DROP_RELAY_MALFORMED), before + 2);
		nothing_queued();
	}
	relay_dropped(GW_DROP_RELAY_MALFORMED, 0, 4, 2, SELF_ID, FAR_ID);
	relay_dropped(GW_DROP_RELAY_MALFORMED, 3, 4, 2, SELF_ID, FAR_ID);
	relay_dropped(GW_DROP_RELAY_MALFORMED, 1, 4, 1, SELF_ID);
	relay_dropped(GW_DROP_RELAY_MALFORMED, 1, 8, 5, SELF_ID, 3, 4, 6, FAR_ID);
	relay_dropped(GW_DROP_RELAY_MALFORMED, 1, 4, 3, SELF_ID, 0, FAR_ID);
	/* Too short to hold the header and a message type. */
	before = drops(0, GW_DROP_RELAY_MALFORMED);
	backbone_in(0, from_backbone(PREV_IP, 51820, msg, sizeof(msg)));
	assert_int_equal(drops(0, GW_DROP_RELAY_MALFORMED), before + 1);
	nothing_queued();

	/* The hop it is on names another gateway (whatever comes after). */
	relay_dropped(GW_DROP_RELAY_NOT_FOR_US, 1, 4, 2, 3, FAR_ID);
	relay_dropped(GW_DROP_RELAY_NOT_FOR_US, 2, 4, 3, SELF_ID, 3, FAR_ID);
	relay_dropped(GW_DROP_RELAY_NOT_FOR_US, 2, 4, 2, FAR_ID, SELF_ID + 10);

	/* Longer than the header's limit, or than ours: a limit of 255 in the
	 * header buys nothing past our own. */
	relay_dropped(GW_DROP_HOP_LIMIT, 1, 2, 3, SELF_ID, 3, FAR_ID);
	command("hop_limit set 2");
	relay_dropped(GW_DROP_HOP_LIMIT, 1, 255, 3, SELF_ID, 3, FAR_ID);
	command("hop_limit set 4");

	/* A gateway twice, the source included. */
	relay_dropped(GW_DROP_RELAY_LOOP, 1, 4, 3, SELF_ID, SRC_ID, FAR_ID);
	relay_dropped(GW_DROP_RELAY_LOOP, 1, 4, 3, SELF_ID, FAR_ID, FAR_ID);
	relay_dropped(GW_DROP_RELAY_LOOP, 2, 4, 4, 3, SELF_ID, 3, FAR_ID);
	relay_dropped(GW_DROP_RELAY_LOOP, 1, 4, 4, SELF_ID, 3, SELF_ID, FAR_ID);
	/* Or a next hop at the address it came from: the source gateway's
	 * endpoint is the far gateway's (one address for two gateways). */
	{
		struct relay_hdr r;
		uint16_t path[2] = { SELF_ID, FAR_ID };
		struct wg_peer *src = routes_gateway(gw.routes, SRC_ID)->peer;
		struct wg_endpoint ep, far_ep;

		wg_peer_endpoint(src, &ep);
		assert_true(wg_endpoint_parse(&far_ep, FAR_IP ":51820"));
		wg_peer_set_endpoint(src, &far_ep);
		relay_header(&r, 1, 4, 2, path);
		before = drops(0, GW_DROP_RELAY_LOOP);
		relay_in_from(FAR_IP, &r);
		assert_int_equal(drops(0, GW_DROP_RELAY_LOOP), before + 1);
		nothing_queued();
		wg_peer_set_endpoint(src, &ep);
	}
}

/* A relay forwards to the next gateway the header names, with the hop
 * advanced, over paths of 2, 3 and 4 hops, and never asks its own table. */
static void test_relay_forward(void **state)
{
	uint16_t p2[] = { SELF_ID, FAR_ID }, p3[] = { SELF_ID, 3, FAR_ID },
		 p4a[] = { SELF_ID, 4, 3, FAR_ID }, p4b[] = { 3, SELF_ID, 4, FAR_ID },
		 p4c[] = { 4, 3, SELF_ID, FAR_ID };
	struct relay_hdr r;
	uint64_t relayed = gw.worker_lc[0]->counters.relayed;

	(void)state;
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	relayed_to(FAR_IP, &r);
	relay_header(&r, 1, 3, 3, p3);
	relay_in(&r);
	relayed_to(R3_IP, &r);
	/* The three relays of a 4-hop path: first, second, last. */
	relay_header(&r, 1, 4, 4, p4a);
	relay_in(&r);
	relayed_to(R4_IP, &r);
	relay_header(&r, 2, 4, 4, p4b);
	relay_in(&r);
	relayed_to(R4_IP, &r);
	relay_header(&r, 3, 4, 4, p4c);
	relay_in(&r);
	relayed_to(FAR_IP, &r);
	assert_int_equal(gw.worker_lc[0]->counters.relayed, relayed + 5);

	/* Our own paths to the destination and to the next hop say otherwise
	 * (through 3, and a loop back through the previous relay): ignored. */
	command("path set %u 3 %u", FAR_ID, FAR_ID);
	command("path set 4 3 4");
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	relayed_to(FAR_IP, &r);
	relay_header(&r, 1, 4, 4, p4a);
	relay_in(&r);
	relayed_to(R4_IP, &r);
	command("path del %u", FAR_ID);
	command("path del 4");
}

/* Gateway id's entry again, with its key (a fresh one if it has none) and
 * zone ("": none). */
static void zone_set(uint16_t id, const char *zone)
{
	struct gw_entry *e = routes_gateway(gw.routes, id);
	uint8_t key[WG_KEY_LEN];
	char b64[45];

	if (e->configured)
		memcpy(key, e->public_key, sizeof(key));
	else
		randombytes_buf(key, sizeof(key));
	wg_key_to_base64(b64, key);
	command("gateway set %u %s overlay4=10.%u.0.1%s%s", id, b64, id, *zone ? " zone=" : "", zone);
	routes_maintain(gw.routes, &gw);
}

/* A message of 32 bytes from us to gateway 2 on the path installed. */
static void send_to_far(void)
{
	struct wg_endpoint own;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw.pool);
	struct path p;

	assert_true(path_to_gateway(&gw, FAR_ID, &p));
	wg_peer_endpoint(p.peer, &own);
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 32), WG_MSG_DATA, 32);
	assert_true(underlay_send(gw.worker_lc[0], m, &p, &own, 0));
}

/* Residency on: a frame whose source and destination share a zone is
 * relayed only if every gateway between them (we included) is of that zone,
 * whatever the source's table said, and the source sends none that is not;
 * paths between zones, and residency off, are left alone. */
static void test_relay_residency(void **state)
{
	uint16_t p2[] = { SELF_ID, FAR_ID }, p3[] = { SELF_ID, 3, FAR_ID }, to4[] = { SELF_ID, 4 };
	struct relay_hdr r;
	struct rte_mbuf *m;
	uint64_t before;
	char *dump;

	(void)state;
	zone_set(SELF_ID, "us");
	zone_set(SRC_ID, "eu");
	zone_set(FAR_ID, "eu");
	zone_set(3, "eu");
	zone_set(4, "us");
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	relayed_to(FAR_IP, &r);

	command("residency on");
	dump = routes_dump_json(gw.routes, "gateways");
	assert_non_null(strstr(dump, "\"residency\":true"));
	assert_non_null(strstr(dump, "\"overlay4\":\"10.3.0.1\",\"overlay6\":\"::\",\"zone\":\"eu\",\"link\":\"up\"}"));
	assert_non_null(strstr(dump, "\"overlay4\":\"10.4.0.1\",\"overlay6\":\"::\",\"zone\":\"us\",\"link\":\"up\"}"));
	free(dump);
	/* eu -> us (we) -> eu, and eu -> us (we) -> eu -> eu: no further. */
	relay_dropped(GW_DROP_RESIDENCY, 1, 4, 2, SELF_ID, FAR_ID);
	relay_dropped(GW_DROP_RESIDENCY, 1, 4, 3, SELF_ID, 3, FAR_ID);
	/* eu -> us: another zone's traffic, relayed. */
	relay_header(&r, 1, 4, 2, to4);
	relay_in(&r);
	relayed_to(R4_IP, &r);

	/* We are of eu: through us only, and not when a later hop is of us. */
	zone_set(SELF_ID, "eu");
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	relayed_to(FAR_IP, &r);
	relay_header(&r, 1, 4, 3, p3);
	relay_in(&r);
	relayed_to(R3_IP, &r);
	relay_dropped(GW_DROP_RESIDENCY, 1, 4, 3, SELF_ID, 4, FAR_ID);
	/* A destination of no zone: no rule to keep. */
	zone_set(FAR_ID, "");
	relay_header(&r, 1, 4, 3, (uint16_t[]){ SELF_ID, 4, FAR_ID });
	relay_in(&r);
	relayed_to(R4_IP, &r);
	zone_set(FAR_ID, "eu");

	/* The source: a stale path through us is not sent, one through eu is. */
	command("path set 2 4 2");
	before = drops(0, GW_DROP_RESIDENCY);
	send_to_far();
	assert_int_equal(drops(0, GW_DROP_RESIDENCY), before + 1);
	nothing_queued();
	command("path set 2 3 2");
	send_to_far();
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN)->dst_addr,
			 ip4(R3_IP));
	rte_pktmbuf_free(m);
	nothing_queued();

	/* Off again: the stale path goes. */
	command("residency off");
	command("path set 2 4 2");
	send_to_far();
	rte_pktmbuf_free(to_main(SLOW_NEIGH, PORT_BACKBONE));
	nothing_queued();
	command("path del 2");
}

/* At the destination the header is stripped and the message is handled as
 * if it came direct: a handshake goes to the main lcore, marked relayed,
 * with the source gateway to answer a cookie through. */
static void test_relay_deliver(void **state)
{
	uint8_t msg[RELAY_LEN + WG_INITIATION_LEN] = { 0 };
	uint16_t path[] = { 3, 4, SELF_ID };
	struct rte_mbuf *m;

	(void)state;
	relay_header((struct relay_hdr *)msg, 3, 4, 3, path);
	msg[RELAY_LEN] = WG_MSG_INITIATION;
	sign_as_prev((struct relay_hdr *)msg, msg + RELAY_LEN, WG_INITIATION_LEN);
	backbone_in(0, from_backbone(R4_IP, 51820, msg, sizeof(msg)));
	m = to_main(SLOW_HANDSHAKE, PORT_BACKBONE);
	assert_int_equal(pkt_meta(m)->relayed, 1);
	assert_int_equal(pkt_meta(m)->src_gw, SRC_ID);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* The source: "path set" and "hop_limit set" refuse what could never be
 * sent, the dump shows the path and the limits, and a message goes out to
 * the first relay with the whole path in its header. */
static void test_relay_source(void **state)
{
	struct lcore_ctx *lc = gw.worker_lc[0];
	char out[1024], line[128];
	struct wg_endpoint own;
	struct rte_mbuf *m;
	struct relay_hdr *r;
	struct path p;
	char *dump;
	uint64_t before;
	static const char *const refused[] = {
		"path set 2 3",           /* does not end with its destination */
		"path set 2 1 2",         /* through ourselves */
		"path set 2 3 3 2",       /* a repeat */
		"path set 2 3 2 2",
		"path set 2 3 4 5 6 2",   /* five hops */
		"path set 0 2",
		"hop_limit set 0",
		"hop_limit set 5",
		"nexthop set 2 3 2",      /* the old command is gone */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(line, sizeof(line), "%s", refused[i]);
		routes_command(gw.routes, &gw, line, out, sizeof(out));
		if (!strstr(out, "error"))
			fail_msg("accepted: %s", refused[i]);
	}
	command("hop_limit set 3");
	snprintf(line, sizeof(line), "path set 2 3 4 %u 2", NOPEER_ID);
	routes_command(gw.routes, &gw, line, out, sizeof(out));
	assert_non_null(strstr(out, "over the hop limit 3"));
	command("hop_limit set 4");
	command("path set 2 3 4 %u 2", NOPEER_ID);
	dump = routes_dump_json(gw.routes, "gateways");
	assert_non_null(strstr(dump, "\"hop_limit\":4,\"hop_limit_ceiling\":4,\"hop_limit_pushed\":4"));
	assert_non_null(strstr(dump, "\"id\":2,"));
	assert_non_null(strstr(dump, "\"via\":3,\"hops\":4,\"path\":[3,4,5,2]"));
	assert_non_null(strstr(dump, "\"id\":3,"));
	assert_non_null(strstr(dump, "\"via\":3,\"hops\":1,\"path\":[3]"));
	free(dump);

	/* A message for gateway 2 leaves for gateway 3 with the whole path. */
	assert_true(path_to_gateway(&gw, FAR_ID, &p));
	assert_int_equal(p.hops, 4);
	wg_peer_endpoint(p.peer, &own);
	m = rte_pktmbuf_alloc(gw.pool);
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 32), WG_MSG_DATA, 32);
	assert_true(underlay_send(lc, m, &p, &own, 0));
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN)->dst_addr,
			 ip4(R3_IP));
	r = rte_pktmbuf_mtod_offset(m, struct relay_hdr *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
	assert_int_equal(r->type, RELAY_TYPE);
	assert_int_equal(r->version, 3);
	assert_int_equal(r->hop, 1);
	assert_int_equal(r->hop_limit, 4);
	assert_int_equal(r->path_len, 4);
	assert_int_equal(r->flags, 0);
	assert_int_equal(rte_be_to_cpu_16(r->src_gw), SELF_ID);
	assert_int_equal(rte_be_to_cpu_16(r->path[0]), 3);
	assert_int_equal(rte_be_to_cpu_16(r->path[1]), 4);
	assert_int_equal(rte_be_to_cpu_16(r->path[2]), NOPEER_ID);
	assert_int_equal(rte_be_to_cpu_16(r->path[3]), FAR_ID);
	/* Tagged for gateway 3, the first hop, by our key with it. */
	assert_true(relay_verify(path_gateway_key(&gw, 3), r, SELF_ID, 3, (uint8_t *)(r + 1), 32));
	assert_false(relay_verify(path_gateway_key(&gw, 4), r, SELF_ID, 3, (uint8_t *)(r + 1), 32));
	rte_pktmbuf_free(m);
	nothing_queued();

	/* The limit comes down under the installed path: the source drops what
	 * every relay would (counted hop_limit), until a shorter path comes. */
	command("hop_limit set 3");
	assert_true(path_to_gateway(&gw, FAR_ID, &p));
	m = rte_pktmbuf_alloc(gw.pool);
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 32), WG_MSG_DATA, 32);
	before = drops(0, GW_DROP_HOP_LIMIT);
	assert_true(underlay_send(lc, m, &p, &own, 0));
	assert_int_equal(drops(0, GW_DROP_HOP_LIMIT), before + 1);
	nothing_queued();

	/* A 3-hop path under the limit of 3: stamped 3. */
	command("path set 2 4 3 2");
	assert_true(path_to_gateway(&gw, FAR_ID, &p));
	m = rte_pktmbuf_alloc(gw.pool);
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 32), WG_MSG_DATA, 32);
	assert_true(underlay_send(lc, m, &p, &own, 0));
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN)->dst_addr,
			 ip4(R4_IP));
	r = rte_pktmbuf_mtod_offset(m, struct relay_hdr *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
	assert_int_equal(r->hop_limit, 3);
	assert_int_equal(r->path_len, 3);
	assert_int_equal(rte_be_to_cpu_16(r->path[2]), FAR_ID);
	assert_int_equal(r->path[3], 0);
	rte_pktmbuf_free(m);
	nothing_queued();
	dump = routes_dump_json(gw.routes, "gateways");
	assert_non_null(strstr(dump, "\"hop_limit\":3,\"hop_limit_ceiling\":4,\"hop_limit_pushed\":3"));
	free(dump);
	command("hop_limit set 4");
	command("path del 2");
}

static bool no_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		    const uint8_t *msg, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)msg, (void)len;
	return false;
}

/* A tunnels/ device of a fresh key, its public key in pub. */
static struct wg_device *key_device(const struct wg_ops *ops, uint8_t pub[WG_KEY_LEN])
{
	struct wg_device *d = wg_device_new(ops, 8);
	uint8_t priv[WG_KEY_LEN];

	assert_non_null(d);
	randombytes_buf(priv, sizeof(priv));
	wg_device_set_private_key(d, priv, 1);
	assert_true(wg_device_public_key(d, pub));
	return d;
}

/* The pair key: both ends of a pair derive the same one, no one else does,
 * and it depends on the label. */
static void test_relay_pair_key(void **state)
{
	struct wg_ops ops = { .send = no_send };
	uint8_t pa[WG_KEY_LEN], pb[WG_KEY_LEN], pc[WG_KEY_LEN];
	uint8_t ab[WG_KEY_LEN], ba[WG_KEY_LEN], ac[WG_KEY_LEN], other[WG_KEY_LEN];
	struct wg_device *a = key_device(&ops, pa), *b = key_device(&ops, pb), *c = key_device(&ops, pc);

	(void)state;
	assert_true(wg_peer_pair_key(wg_peer_add(a, pb), RELAY_AUTH_LABEL, ab));
	assert_true(wg_peer_pair_key(wg_peer_add(b, pa), RELAY_AUTH_LABEL, ba));
	assert_true(wg_peer_pair_key(wg_peer_add(a, pc), RELAY_AUTH_LABEL, ac));
	assert_true(wg_peer_pair_key(wg_peer_lookup(a, pb), "another protocol", other));
	assert_memory_equal(ab, ba, WG_KEY_LEN);
	assert_memory_not_equal(ab, ac, WG_KEY_LEN);
	assert_memory_not_equal(ab, other, WG_KEY_LEN);
	assert_false(sodium_is_zero(ab, WG_KEY_LEN));
	wg_device_free(a);
	wg_device_free(b);
	wg_device_free(c);
}

/* The tag is what docs/PROTOCOL.md "Relay tag" says, byte for byte:
 * SipHash-2-4-128 keyed by the pair key over header bytes 0-15, sender,
 * receiver and length (big-endian), then a data message's first and last 16
 * bytes or any other message whole; nothing for a message relay_msg_ok()
 * refuses. */
static void test_relay_tag_layout(void **state)
{
	uint8_t data[100] = { WG_MSG_DATA }, resp[WG_RESPONSE_LEN] = { WG_MSG_RESPONSE };
	uint8_t big[RELAY_MSG_WHOLE_MAX + 1] = { WG_MSG_INITIATION };
	uint8_t in[256], tag[RELAY_TAG_LEN], want[RELAY_TAG_LEN], zero[RELAY_TAG_LEN] = { 0 };
	uint16_t path[] = { SELF_ID, FAR_ID };
	struct relay_key k;
	struct relay_hdr r;
	size_t n;

	(void)state;
	randombytes_buf(k.key, sizeof(k.key));
	randombytes_buf(data + 4, sizeof(data) - 4);
	randombytes_buf(resp + 4, sizeof(resp) - 4);
	relay_header(&r, 1, 4, 2, path);

	memcpy(in, &r, 16);
	n = 16;
	memcpy(in + n, "\x12\x34\x56\x78\x00", 5); /* sender, receiver, length */
	in[n + 5] = sizeof(data);
	n += 6;
	memcpy(in + n, data, 16);
	memcpy(in + n + 16, data + sizeof(data) - 16, 16);
	crypto_shorthash_siphashx24(want, in, n + 32, k.key);
	relay_tag(tag, &k, &r, 0x1234, 0x5678, data, sizeof(data));
	assert_memory_equal(tag, want, RELAY_TAG_LEN);

	n = 22;
	in[21] = sizeof(resp);
	memcpy(in + n, resp, sizeof(resp));
	crypto_shorthash_siphashx24(want, in, n + sizeof(resp), k.key);
	relay_tag(tag, &k, &r, 0x1234, 0x5678, resp, sizeof(resp));
	assert_memory_equal(tag, want, RELAY_TAG_LEN);

	/* Too long to be anything but data: never tagged, never accepted. */
	relay_tag(tag, &k, &r, 0x1234, 0x5678, big, sizeof(big));
	assert_memory_equal(tag, zero, RELAY_TAG_LEN);
	memset(r.tag, 0, sizeof(r.tag));
	assert_false(relay_verify(&k, &r, 0x1234, 0x5678, big, sizeof(big)));
	assert_false(relay_verify(&k, &r, 0x1234, 0x5678, data, 31));
}

/* One frame of hop 1 from the source gateway (SRC_ID at PREV_IP) to us and on
 * to the far gateway: its message msg (len bytes) signed, then spoiled by
 * spoil (may be NULL) after signing, sent from src. */
static void auth_frame(const char *src, uint8_t *msg, uint32_t len,
		       void (*spoil)(struct relay_hdr *r, uint8_t *msg, uint32_t *len))
{
	uint8_t frame[RELAY_LEN + 256] = { 0 };
	uint16_t path[] = { SELF_ID, FAR_ID };
	struct relay_hdr *r = (struct relay_hdr *)frame;

	assert_true(len <= 256);
	relay_header(r, 1, 4, 2, path);
	memcpy(frame + RELAY_LEN, msg, len);
	sign_as_prev(r, frame + RELAY_LEN, len);
	if (spoil)
		spoil(r, frame + RELAY_LEN, &len);
	backbone_in(0, from_backbone(src, 51820, frame, RELAY_LEN + len));
}

static void spoil_flags(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)msg, (void)len;
	r->flags ^= 1; /* a byte receivers otherwise ignore */
}
static void spoil_limit(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)msg, (void)len;
	r->hop_limit = 255;
}
static void spoil_tag(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)msg, (void)len;
	r->tag[RELAY_TAG_LEN - 1] ^= 0x80;
}
static void spoil_counter(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)r, (void)len;
	msg[8] ^= 1;
}
static void spoil_last(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)r;
	msg[*len - 1] ^= 1;
}
static void spoil_middle(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)r;
	msg[*len / 2] ^= 1;
}
static void spoil_shorter(struct relay_hdr *r, uint8_t *msg, uint32_t *len)
{
	(void)r, (void)msg;
	*len -= 1;
}

/* The frame is dropped for reason at us, nothing relayed or queued. */
static void auth_dropped(unsigned reason, const char *src, uint8_t *msg, uint32_t len,
			 void (*spoil)(struct relay_hdr *r, uint8_t *msg, uint32_t *len))
{
	uint64_t before = drops(0, reason), relayed = gw.worker_lc[0]->counters.relayed;

	auth_frame(src, msg, len, spoil);
	assert_int_equal(drops(0, reason), before + 1);
	assert_int_equal(gw.worker_lc[0]->counters.relayed, relayed);
	nothing_queued();
}

/* The frame is relayed on to the far gateway. */
static void auth_relayed(const char *src, uint8_t *msg, uint32_t len,
			 void (*spoil)(struct relay_hdr *r, uint8_t *msg, uint32_t *len))
{
	uint64_t relayed = gw.worker_lc[0]->counters.relayed;
	struct rte_mbuf *m;

	auth_frame(src, msg, len, spoil);
	assert_int_equal(gw.worker_lc[0]->counters.relayed, relayed + 1);
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN)->dst_addr,
			 ip4(FAR_IP));
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* What a relay accepts: only a frame its previous hop signed for it, from
 * that hop's endpoint, unchanged in every byte the tag covers. */
static void test_relay_auth(void **state)
{
	uint8_t data[96] = { WG_MSG_DATA }, init[WG_INITIATION_LEN] = { WG_MSG_INITIATION },
		big[RELAY_MSG_WHOLE_MAX + 1] = { WG_MSG_INITIATION };
	uint16_t path[] = { SELF_ID, FAR_ID };
	uint8_t frame[RELAY_LEN + 32] = { 0 };
	struct relay_hdr *r = (struct relay_hdr *)frame;
	const struct relay_key *k3;
	uint64_t before;

	(void)state;
	randombytes_buf(data + 4, sizeof(data) - 4);
	randombytes_buf(init + 4, sizeof(init) - 4);
	auth_relayed(PREV_IP, data, sizeof(data), NULL);
	auth_relayed(PREV_IP, data, 32, NULL); /* a keepalive */
	auth_relayed(PREV_IP, init, sizeof(init), NULL);

	/* Altered after signing: a header byte, the limit, the tag itself, the
	 * counter and the Poly1305 tag of data, its length; any byte of a
	 * handshake message. */
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_flags);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_limit);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_tag);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_counter);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_last);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, data, sizeof(data), spoil_shorter);
	auth_dropped(GW_DROP_RELAY_BAD_TAG, PREV_IP, init, sizeof(init), spoil_middle);
	/* The middle of a data message is the destination's to check (its
	 * Poly1305 tag covers it): relayed, as docs/PROTOCOL.md says. */
	auth_relayed(PREV_IP, data, sizeof(data), spoil_middle);

	/* A genuine frame from another address than its previous hop's. */
	auth_dropped(GW_DROP_RELAY_WRONG_SOURCE, R3_IP, data, sizeof(data), NULL);
	auth_dropped(GW_DROP_RELAY_WRONG_SOURCE, "198.51.100.7", data, sizeof(data), NULL);

	/* Signed with another pair's key (3's with us), from the right address. */
	relay_header(r, 1, 4, 2, path);
	frame[RELAY_LEN] = WG_MSG_DATA;
	k3 = path_gateway_key(&gw, 3);
	assert_non_null(k3);
	relay_sign(k3, r, SRC_ID, SELF_ID, frame + RELAY_LEN, 32);
	before = drops(0, GW_DROP_RELAY_BAD_TAG);
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	assert_int_equal(drops(0, GW_DROP_RELAY_BAD_TAG), before + 1);
	/* A zero tag (what version 2 without authentication sent). */
	memset(r->tag, 0, RELAY_TAG_LEN);
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	assert_int_equal(drops(0, GW_DROP_RELAY_BAD_TAG), before + 2);
	nothing_queued();

	/* A previous hop we share no key with: an id we do not know, one
	 * without a peer. */
	before = drops(0, GW_DROP_RELAY_UNKNOWN_HOP);
	r->src_gw = rte_cpu_to_be_16(77);
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	r->src_gw = rte_cpu_to_be_16(NOPEER_ID);
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	assert_int_equal(drops(0, GW_DROP_RELAY_UNKNOWN_HOP), before + 2);
	nothing_queued();

	/* Inner messages the tag cannot cover: too short, or a handshake-type
	 * message longer than any handshake message. */
	before = drops(0, GW_DROP_RELAY_MALFORMED);
	auth_frame(PREV_IP, data, RELAY_MSG_MIN - 1, NULL);
	auth_frame(PREV_IP, big, sizeof(big), NULL);
	assert_int_equal(drops(0, GW_DROP_RELAY_MALFORMED), before + 2);
	nothing_queued();

	/* The source gateway removed: its frames fail at once; back with a new
	 * key, frames signed with the old one fail as forged. */
	{
		uint8_t frame_old[RELAY_LEN + 32] = { 0 };

		relay_header((struct relay_hdr *)frame_old, 1, 4, 2, path);
		frame_old[RELAY_LEN] = WG_MSG_DATA;
		sign_as_prev((struct relay_hdr *)frame_old, frame_old + RELAY_LEN, 32);
		command("gateway del %u", SRC_ID);
		assert_null(path_gateway_key(&gw, SRC_ID));
		auth_dropped(GW_DROP_RELAY_UNKNOWN_HOP, PREV_IP, data, sizeof(data), NULL);
		relay_gateway(SRC_ID, PREV_IP);
		before = drops(0, GW_DROP_RELAY_BAD_TAG);
		backbone_in(0, from_backbone(PREV_IP, 51820, frame_old, sizeof(frame_old)));
		assert_int_equal(drops(0, GW_DROP_RELAY_BAD_TAG), before + 1);
		nothing_queued();
		auth_relayed(PREV_IP, data, sizeof(data), NULL);
	}
}

/* A cookie reply to a relayed handshake goes back the way it came: first to
 * the relay that handed it to us, with the relays before it reversed, then
 * to the source, tagged for that previous hop. */
static void test_relay_send_back(void **state)
{
	uint16_t path[] = { 3, 4, SELF_ID };
	struct relay_hdr in, *r;
	struct rte_mbuf *m;
	struct path p;

	(void)state;
	relay_header(&in, 3, 4, 3, path);
	path_back(&in, &p);
	assert_int_equal(p.hops, 3);
	assert_int_equal(p.gw[0], 4);
	assert_int_equal(p.gw[1], 3);
	assert_int_equal(p.gw[2], SRC_ID);
	assert_int_equal(p.dst_gw, SRC_ID);

	m = rte_pktmbuf_alloc(gw.pool);
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, WG_COOKIE_LEN), 0, WG_COOKIE_LEN);
	rte_pktmbuf_mtod(m, uint8_t *)[0] = WG_MSG_COOKIE;
	/* (From a worker: the main lcore would resolve the MAC itself.) */
	assert_true(underlay_send_back(gw.worker_lc[0], m, &in));
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	assert_int_equal(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN)->dst_addr,
			 ip4(R4_IP));
	r = rte_pktmbuf_mtod_offset(m, struct relay_hdr *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
	assert_int_equal(r->hop, 1);
	assert_int_equal(r->path_len, 3);
	assert_int_equal(rte_be_to_cpu_16(r->src_gw), SELF_ID);
	assert_int_equal(rte_be_to_cpu_16(r->path[0]), 4);
	assert_int_equal(rte_be_to_cpu_16(r->path[1]), 3);
	assert_int_equal(rte_be_to_cpu_16(r->path[2]), SRC_ID);
	assert_true(relay_verify(path_gateway_key(&gw, 4), r, SELF_ID, 4, (uint8_t *)(r + 1),
				 WG_COOKIE_LEN));
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* The notice a relay sent back for a frame with header in that it could not
 * forward to next: to ip, a relay header from us for the way back (hops
 * gateways, the first of them first_hop), signed for it, and the notice. */
static void notice_sent_to(const char *ip, uint16_t first_hop, unsigned hops, uint16_t next)
{
	struct rte_mbuf *m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	struct rte_ipv4_hdr *iph = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(iph + 1);
	struct relay_hdr *r = (struct relay_hdr *)(udp + 1);
	struct relay_notice *n = (struct relay_notice *)(r + 1);

	assert_int_equal(iph->dst_addr, ip4(ip));
	assert_int_equal(rte_be_to_cpu_16(udp->dgram_len), UDP_LEN + RELAY_LEN + sizeof(*n));
	assert_int_equal(r->type, RELAY_TYPE);
	assert_int_equal(r->hop, 1);
	assert_int_equal(r->path_len, hops);
	assert_int_equal(rte_be_to_cpu_16(r->src_gw), SELF_ID);
	assert_int_equal(rte_be_to_cpu_16(r->path[0]), first_hop);
	assert_int_equal(rte_be_to_cpu_16(r->path[hops - 1]), SRC_ID);
	assert_int_equal(n->type, RELAY_NOTICE_TYPE);
	assert_int_equal(n->reason, RELAY_NOTICE_NEXT_DOWN);
	assert_int_equal(rte_be_to_cpu_16(n->unreachable), next);
	assert_true(relay_verify(path_gateway_key(&gw, first_hop), r, SELF_ID, first_hop,
				 (uint8_t *)n, sizeof(*n)));
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* A relay whose link to the next gateway is down (meshd's "link down")
 * drops the frame, counted, and tells the source back the way the frame
 * came, once per NOTICE_EVERY_MS; the source's gateway takes a notice to its
 * main lcore, which keeps it for meshd in the probe dump. */
static void test_relay_next_down(void **state)
{
	uint16_t p2[] = { SELF_ID, FAR_ID }, p3[] = { 3, SELF_ID, FAR_ID };
	struct lcore_ctx *lc = gw.worker_lc[0];
	uint8_t frame[RELAY_LEN + sizeof(struct relay_notice)] = { 0 };
	struct relay_hdr r, *h = (struct relay_hdr *)frame;
	struct relay_notice *n = (struct relay_notice *)(h + 1);
	uint64_t before = drops(0, GW_DROP_RELAY_NEXT_DOWN), sent = lc->counters.notices_sent;
	uint16_t back[] = { SELF_ID };
	struct rte_mbuf *m;
	char *dump;

	(void)state;
	command("link down %u", FAR_ID);
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	assert_int_equal(drops(0, GW_DROP_RELAY_NEXT_DOWN), before + 1);
	assert_int_equal(lc->counters.notices_sent, sent + 1);
	notice_sent_to(PREV_IP, SRC_ID, 1, FAR_ID);
	/* A flood earns the source no more than one notice a period. */
	relay_in(&r);
	assert_int_equal(drops(0, GW_DROP_RELAY_NEXT_DOWN), before + 2);
	assert_int_equal(lc->counters.notices_sent, sent + 1);
	nothing_queued();
	/* The second relay of three: back through the first. */
	rte_delay_ms(NOTICE_EVERY_MS + 1);
	relay_header(&r, 2, 4, 3, p3);
	relay_in(&r);
	notice_sent_to(R3_IP, 3, 2, FAR_ID);
	/* Up again: forwarded. */
	command("link up %u", FAR_ID);
	relay_header(&r, 1, 4, 2, p2);
	relay_in(&r);
	relayed_to(FAR_IP, &r);
	assert_int_equal(lc->counters.notices_sent, sent + 2);

	/* As the source: gateway SRC_ID says it cannot reach 3. A notice is
	 * the one message that may come with a path of one hop. */
	relay_hdr_init(h, SRC_ID, 1, 4, 1, back);
	n->type = RELAY_NOTICE_TYPE;
	n->reason = RELAY_NOTICE_NEXT_DOWN;
	n->unreachable = rte_cpu_to_be_16(3);
	relay_sign(path_gateway_key(&gw, SRC_ID), h, SRC_ID, SELF_ID, (uint8_t *)n, sizeof(*n));
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	m = to_main(SLOW_NOTICE, PORT_BACKBONE);
	assert_int_equal(pkt_meta(m)->src_gw, SRC_ID);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(*n));
	nothing_queued();
	probe_notice_input(&gw, m, SRC_ID, mono_ns());
	dump = probe_dump_json(&gw, 0, mono_ns());
	assert_non_null(strstr(dump, "\"notices\":[{\"from\":9,\"unreachable\":3,\"count\":1,"));
	free(dump);
	/* Forged (a byte changed after signing): dropped at the tag. */
	n->unreachable = rte_cpu_to_be_16(4);
	before = drops(0, GW_DROP_RELAY_BAD_TAG);
	backbone_in(0, from_backbone(PREV_IP, 51820, frame, sizeof(frame)));
	assert_int_equal(drops(0, GW_DROP_RELAY_BAD_TAG), before + 1);
	nothing_queued();

	/* The next gateway named is one we have no peer for (or none we know):
	 * dropped, and the source told, as when our link to it is down. */
	{
		uint16_t q1[] = { SELF_ID, NOPEER_ID, FAR_ID }, q2[] = { 3, SELF_ID, 77 };

		before = drops(0, GW_DROP_RELAY_UNREACHABLE);
		sent = lc->counters.notices_sent;
		rte_delay_ms(NOTICE_EVERY_MS + 1);
		relay_header(&r, 1, 4, 3, q1);
		relay_in(&r);
		notice_sent_to(PREV_IP, SRC_ID, 1, NOPEER_ID);
		rte_delay_ms(NOTICE_EVERY_MS + 1);
		relay_header(&r, 2, 4, 3, q2);
		relay_in(&r);
		notice_sent_to(R3_IP, 3, 2, 77);
		assert_int_equal(drops(0, GW_DROP_RELAY_UNREACHABLE), before + 2);
		assert_int_equal(lc->counters.notices_sent, sent + 2);
		nothing_queued();
		rte_delay_ms(NOTICE_EVERY_MS + 1);
	}
}

/* The TTL of a VM's packet is spent for every relay of the path, and an
 * error is answered in the name of the relay where it runs out. */
static void test_relay_ttl(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	command("path set 2 3 4 2");
	for (uint8_t ttl = 1; ttl <= 3; ttl++) {
		vm_in(0, from_vm(REMOTE_VM, ttl, 0, 0, 10));
		m = to_main(SLOW_ICMP, PORT_VM);
		assert_int_equal(pkt_meta(m)->icmp_kind, ICMP_TIME_EXCEEDED);
		/* ours, relay 3's, relay 4's */
		assert_int_equal(pkt_meta(m)->src_gw, ttl == 1 ? 0 : ttl == 2 ? 3 : 4);
		rte_pktmbuf_free(m);
	}
	/* TTL 4 is enough for us and two relays: on, with 1 left for the
	 * destination gateway (staged here: no session yet). */
	vm_in(0, from_vm(REMOTE_VM, 4, 0, 0, 10));
	m = to_main(SLOW_STAGE, PORT_VM);
	assert_int_equal(rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->time_to_live, 1);
	rte_pktmbuf_free(m);
	/* The relayed path's MTU is the header's 32 bytes less. */
	vm_in(0, from_vm(REMOTE_VM, 64, 0, RTE_IPV4_HDR_DF_FLAG, MTU - RELAY_LEN - IP4_LEN - UDP_LEN + 1));
	m = to_main(SLOW_ICMP, PORT_VM);
	assert_int_equal(pkt_meta(m)->icmp_kind, ICMP_TOO_BIG);
	assert_int_equal(pkt_meta(m)->mtu, MTU - 32);
	rte_pktmbuf_free(m);
	nothing_queued();
	command("path del 2");
}

/* ---- ICMP ---- */

/* The gateway asks for the VM (neigh_prime(): its request is discarded), the
 * VM asks for the gateway: that request, for our VM-side address, answers
 * ours (the gateway learns only neighbours it asked about) and is answered,
 * the reply queued for the VM port. */
static void vm_arp(void)
{
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, mac;
	struct rte_mbuf *m;
	struct rte_arp_hdr *arp;
	uint8_t key[16];

	neigh_key4(key, ip4(VM_IP));
	neigh_prime(&gw, PORT_VM, key, mono_ns());
	m = take(gw.to_port[PORT_VM]);
	if (m)
		rte_pktmbuf_free(m);
	m = frame(&vm_mac, &bcast, RTE_ETHER_TYPE_ARP, sizeof(struct rte_arp_hdr));
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = vm_mac;
	arp->arp_data.arp_sip = ip4(VM_IP);
	arp->arp_data.arp_tip = ip4("10.1.0.1");
	neigh_input_arp(&gw, PORT_VM, m, mono_ns());
	m = take(gw.to_port[PORT_VM]);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	assert_true(neigh_lookup(gw.neigh[PORT_VM], key, &mac));
	assert_memory_equal(&mac, &vm_mac, sizeof(mac));
}

/* The ICMP error the main lcore sent the VM for m: type, code, and the
 * quoted header of the packet it is about. */
static void icmp_back_to_vm(struct rte_mbuf *m, uint8_t type, uint8_t code, uint16_t mtu)
{
	struct rte_ipv4_hdr orig = *rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	uint64_t sent = gw.main_lc->counters.icmp_sent;

	icmp_error_input(&gw, m, mono_ns());
	assert_int_equal(gw.main_lc->counters.icmp_sent, sent + 1);
	m = take(gw.to_port[PORT_VM]);
	assert_non_null(m);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &vm_mac, sizeof(vm_mac));
	assert_memory_equal(&eth->src_addr, &gw.mac[PORT_VM], sizeof(vm_mac));
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_int_equal(ip->src_addr, ip4("10.1.0.1"));
	assert_int_equal(ip->dst_addr, ip4(VM_IP));
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, type);
	assert_int_equal(icmp->icmp_code, code);
	assert_int_equal(rte_raw_cksum(icmp, rte_be_to_cpu_16(ip->total_length) - IP4_LEN), 0xffff);
	if (mtu)
		assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), mtu);
	assert_int_equal(((struct rte_ipv4_hdr *)(icmp + 1))->dst_addr, orig.dst_addr);
	assert_int_equal(((struct rte_ipv4_hdr *)(icmp + 1))->src_addr, orig.src_addr);
	rte_pktmbuf_free(m);
}

static void test_icmp(void **state)
{
	uint64_t before;
	struct rte_mbuf *m;

	(void)state;
	vm_arp();

	/* TTL 1: it would die at the far gateway's hop, which is ours to count. */
	before = drops(0, GW_DROP_TTL_EXCEEDED);
	vm_in(0, from_vm(REMOTE_VM, 1, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_TTL_EXCEEDED), before + 1);
	m = to_main(SLOW_ICMP, PORT_VM);
	assert_int_equal(pkt_meta(m)->icmp_kind, ICMP_TIME_EXCEEDED);
	assert_int_equal(pkt_meta(m)->src_gw, 0);
	icmp_back_to_vm(m, 11, 0, 0);

	/* Over the tunnel MTU with DF: fragmentation needed, with the MTU. */
	before = drops(0, GW_DROP_TOO_BIG);
	vm_in(0, from_vm(REMOTE_VM, 64, 0, RTE_IPV4_HDR_DF_FLAG, MTU));
	assert_int_equal(drops(0, GW_DROP_TOO_BIG), before + 1);
	m = to_main(SLOW_ICMP, PORT_VM);
	assert_int_equal(pkt_meta(m)->icmp_kind, ICMP_TOO_BIG);
	assert_int_equal(pkt_meta(m)->mtu, MTU);
	icmp_back_to_vm(m, 3, 4, MTU);

	/* Without DF: cut into fragments by the main lcore instead. */
	vm_in(0, from_vm(REMOTE_VM, 64, 0, 0, MTU));
	m = to_main(SLOW_FRAGMENT, PORT_VM);
	assert_int_equal(pkt_meta(m)->mtu, MTU);
	assert_int_equal(rte_pktmbuf_pkt_len(m), IP4_LEN + UDP_LEN + MTU);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* ---- sessions: who decrypts ---- */

/* The far gateway's end of the tunnel: a tunnels/ device of its own, whose
 * messages the test carries by hand. */
static struct {
	struct wg_device *dev;
	struct wg_crypto *crypto;
	struct wg_peer *peer;   /* us, as it knows us */
	uint8_t msg[256];       /* the last message it sent */
	size_t len;
	uint64_t now;           /* its own clock */
	unsigned handshakes;
	uint32_t receiver;      /* our receiver index for the current session */
} far;

static bool far_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		     const uint8_t *msg, size_t len)
{
	(void)ctx, (void)peer, (void)to;
	assert_true(len <= sizeof(far.msg));
	memcpy(far.msg, msg, len);
	far.len = len;
	return true;
}

static void far_free(void)
{
	if (far.dev)
		wg_device_free(far.dev);
	if (far.crypto)
		wg_crypto_free(far.crypto);
}

/* A second apart per handshake, so each initiation's timestamp is newer. */
static uint64_t far_wall(void *ctx)
{
	(void)ctx;
	return 1700000000ULL * 1000000000ULL + far.handshakes * 1000000000ULL;
}

/* Frees whatever an earlier test that failed left queued. */
static void discard_queued(void)
{
	struct rte_mbuf *m;

	for (unsigned q = 0; q < SLOWQ__COUNT; q++)
		while (!rte_ring_dequeue(gw.to_main[q], (void **)&m))
			rte_pktmbuf_free(m);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		while (!rte_ring_dequeue(gw.to_port[p], (void **)&m))
			rte_pktmbuf_free(m);
	for (unsigned w = 0; w < gw.workers; w++) {
		while (!rte_ring_dequeue(gw.handoff[w], (void **)&m))
			rte_pktmbuf_free(m);
		for (unsigned p = 0; p < PORT_COUNT; p++) {
			for (unsigned i = 0; i < gw.worker_lc[w]->ntx[p]; i++)
				rte_pktmbuf_free(gw.worker_lc[w]->tx[p][i]);
			gw.worker_lc[w]->ntx[p] = 0;
		}
	}
}

/* The far gateway is resolved on the backbone (our request, its ARP), so
 * that the main lcore can send it our handshake response. */
static void backbone_arp(void)
{
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_mbuf *m;
	struct rte_arp_hdr *arp;
	uint8_t key[16];

	neigh_key4(key, ip4(FAR_IP));
	neigh_prime(&gw, PORT_BACKBONE, key, mono_ns());
	m = take(gw.to_port[PORT_BACKBONE]);
	if (m)
		rte_pktmbuf_free(m);
	m = frame(&bb_mac, &bcast, RTE_ETHER_TYPE_ARP, sizeof(struct rte_arp_hdr));
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = bb_mac;
	arp->arp_data.arp_sip = ip4(FAR_IP);
	arp->arp_data.arp_tip = ip4("192.0.2.1");
	neigh_input_arp(&gw, PORT_BACKBONE, m, mono_ns());
	m = take(gw.to_port[PORT_BACKBONE]);
	assert_non_null(m);
	rte_pktmbuf_free(m);
}

/* A new session with the far gateway, which initiates: its initiation goes
 * to our tunnels/ device as the main lcore would hand it over, our response
 * (sent by the main lcore, queued for worker 0) back to it. No data of the
 * session has reached a worker yet. */
static void far_handshake(void)
{
	struct wg_ops ops = { .send = far_send, .wall_ns = far_wall };
	struct wg_endpoint us, them;
	uint8_t pub[WG_KEY_LEN];
	struct rte_mbuf *m;
	uint32_t net = ip4("10.1.0.0"), le;

	discard_queued();
	if (!far.dev) {
		vm_arp();
		backbone_arp();
		far.dev = wg_device_new(&ops, 8);
		far.crypto = wg_crypto_new();
		assert_non_null(far.dev);
		assert_non_null(far.crypto);
		far.now = 1000000000ULL;
		wg_device_set_private_key(far.dev, far_priv, far.now);
		assert_true(wg_device_public_key(gw.dev, pub));
		far.peer = wg_peer_add(far.dev, pub);
		assert_non_null(far.peer);
		assert_true(wg_endpoint_parse(&us, "192.0.2.1:51820"));
		wg_peer_set_endpoint(far.peer, &us);
		assert_int_equal(wg_peer_allowedip_add(far.peer, AF_INET, &net, 16), 0);
		wg_device_commit_allowedips(far.dev);
	} else {
		usleep(30000); /* our flood limit: 50 initiations a second per peer */
	}
	far.handshakes++;
	far.now += 10 * 1000000000ULL; /* past its own limit: one per REKEY_TIMEOUT */
	far.len = 0;
	wg_peer_initiate(far.peer, far.now);
	assert_int_equal(far.len, WG_INITIATION_LEN);
	assert_true(wg_endpoint_parse(&them, FAR_IP ":51820"));
	assert_int_equal(wg_device_handshake_rx(gw.dev, far.msg, far.len, &them, 0, mono_ns()), WG_OK);
	m = take(gw.to_port[PORT_BACKBONE]);
	assert_non_null(m);
	assert_int_equal(rte_pktmbuf_pkt_len(m), RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN + WG_RESPONSE_LEN);
	far.len = 0;
	assert_true(wg_endpoint_parse(&us, "192.0.2.1:51820"));
	assert_int_equal(wg_device_handshake_rx(far.dev,
						rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN),
						WG_RESPONSE_LEN, &us, 0, far.now),
			 WG_OK);
	rte_pktmbuf_free(m);
	/* It confirms with a keepalive, which names our index for the session. */
	assert_int_equal(far.len, WG_DATA_MIN_LEN);
	memcpy(&le, far.msg + 4, 4);
	far.receiver = rte_le_to_cpu_32(le);
	nothing_queued();
}

/* A data message from the far gateway: REMOTE_VM to VM_IP, UDP, seq as its
 * payload. Returns its length; msg needs room for 96 bytes. */
static unsigned far_data(uint8_t *msg, uint32_t seq)
{
	struct wg_tx tx = { .peer = far.peer, .msg = msg, .len = IP4_LEN + UDP_LEN + 4 };
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(msg + WG_DATA_HEADER_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(ip, 0, tx.len);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)tx.len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = ip4(REMOTE_VM);
	ip->dst_addr = ip4(VM_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(5000);
	udp->dst_port = rte_cpu_to_be_16(4000);
	udp->dgram_len = rte_cpu_to_be_16(UDP_LEN + 4);
	memcpy(udp + 1, &seq, 4);
	assert_int_equal(wg_encrypt_burst(far.crypto, &tx, 1, far.now), 1);
	assert_true(tx.len <= 96);
	return tx.len;
}

static void msg_in(unsigned worker, const uint8_t *msg, unsigned len)
{
	backbone_in(worker, from_backbone(FAR_IP, 51820, msg, len));
}

/* What worker w's loop does with its hand-off ring. Returns how many. */
static unsigned drain_handoff(unsigned w)
{
	struct rte_mbuf *pkts[32];
	unsigned n = rte_ring_dequeue_burst(gw.handoff[w], (void **)pkts, 32, NULL);

	if (n)
		ingress_burst(gw.worker_lc[w], pkts, n, mono_ns(), true);
	return n;
}

/* The packets worker w delivered to the VM, by seq (counts[seq]++), taken
 * from its tx batch. Returns how many. */
static unsigned delivered(unsigned w, unsigned *counts, unsigned max)
{
	struct lcore_ctx *lc = gw.worker_lc[w];
	unsigned n = lc->ntx[PORT_VM];

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = lc->tx[PORT_VM][i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint32_t seq;

		assert_memory_equal(&eth->dst_addr, &vm_mac, sizeof(vm_mac));
		assert_int_equal(ip->src_addr, ip4(REMOTE_VM));
		memcpy(&seq, (uint8_t *)(ip + 1) + UDP_LEN, 4);
		assert_true(seq < max);
		counts[seq]++;
		rte_pktmbuf_free(m);
	}
	lc->ntx[PORT_VM] = 0;
	return n;
}

static uint64_t decrypted(unsigned w)
{
	return gw.worker_lc[w]->counters.decrypted;
}

static uint64_t handed_off(unsigned w)
{
	return gw.worker_lc[w]->counters.handed_off;
}

static void data_in(unsigned worker, uint32_t receiver)
{
	uint8_t msg[WG_DATA_HEADER_LEN + 16] = { WG_MSG_DATA };
	uint32_t le = rte_cpu_to_le_32(receiver);

	memcpy(msg + 4, &le, 4);
	backbone_in(worker, from_backbone(FAR_IP, 51820, msg, sizeof(msg)));
}

/* Data for a session another worker owns is handed over; the owner decrypts. */
static void test_handoff(void **state)
{
	const uint32_t unknown_index = 0x56780006;
	uint8_t msg[96];
	unsigned len, counts[2] = { 0 };
	uint64_t unknown, h0 = handed_off(0);

	(void)state;
	far_handshake();
	/* Worker 1 is the first to receive the session's data: it owns it. */
	len = far_data(msg, 0);
	msg_in(1, msg, len);
	assert_int_equal(delivered(1, counts, 2), 1);
	/* What worker 0 receives of it goes to worker 1 (rx already counted). */
	len = far_data(msg, 1);
	msg_in(0, msg, len);
	assert_int_equal(handed_off(0), h0 + 1);
	assert_int_equal(rte_ring_count(gw.handoff[1]), 1);
	assert_int_equal(drain_handoff(1), 1);
	assert_int_equal(delivered(1, counts, 2), 1);
	assert_int_equal(counts[0] + counts[1], 2);

	/* An index that names no session is no one's: each worker drops it. */
	unknown = drops(1, WG_DROP_UNKNOWN_INDEX);
	data_in(1, unknown_index);
	assert_int_equal(drops(1, WG_DROP_UNKNOWN_INDEX), unknown + 1);
	unknown = drops(0, WG_DROP_UNKNOWN_INDEX);
	data_in(0, unknown_index);
	assert_int_equal(drops(0, WG_DROP_UNKNOWN_INDEX), unknown + 1);
	nothing_queued();
}

/* A forgery: msg with its receiver index replaced and its tag spoiled. */
static void forge(uint8_t *out, const uint8_t *msg, unsigned len, uint32_t receiver)
{
	uint32_t le = rte_cpu_to_le_32(receiver);

	memcpy(out, msg, len);
	memcpy(out + 4, &le, 4);
	out[len - 1] ^= 0x80;
}

/* Only an authentic message claims a session for a worker, and no forgery,
 * with the session's index or another that shares its slot, moves it. */
static void test_forgery_claims_nothing(void **state)
{
	const uint32_t mask = (1u << INDEX_BITS) - 1;
	uint8_t msg[96], bad[96];
	unsigned len, counts[8] = { 0 };
	uint32_t r;
	uint64_t dec0, dec1, h0, h1, bad_tag, unknown;

	(void)state;
	far_handshake();
	r = far.receiver;
	dec0 = decrypted(0);
	dec1 = decrypted(1);
	h0 = handed_off(0);
	h1 = handed_off(1);

	/* Before any data: a forgery with the session's own index at worker 1,
	 * dropped there for its tag. */
	len = far_data(msg, 0);
	forge(bad, msg, len, r);
	bad_tag = drops(1, WG_DROP_DECRYPT);
	msg_in(1, bad, len);
	assert_int_equal(drops(1, WG_DROP_DECRYPT), bad_tag + 1);
	/* It claimed nothing: worker 0, the first to receive authentic data,
	 * owns the session. */
	msg_in(0, msg, len);
	assert_int_equal(handed_off(0), h0);
	assert_int_equal(decrypted(0), dec0 + 1);
	assert_int_equal(delivered(0, counts, 8), 1);

	/* Forgeries at worker 1: indices in the session's slot but not its own
	 * (dropped at once), and its own with a bad tag (handed to worker 0,
	 * which drops it). */
	unknown = drops(1, WG_DROP_UNKNOWN_INDEX);
	for (uint32_t k = 1; k <= 3; k++) {
		forge(bad, msg, len, r ^ (k << INDEX_BITS));
		assert_int_equal((r ^ (k << INDEX_BITS)) & mask, r & mask);
		msg_in(1, bad, len);
	}
	assert_int_equal(drops(1, WG_DROP_UNKNOWN_INDEX), unknown + 3);
	bad_tag = drops(0, WG_DROP_DECRYPT);
	forge(bad, msg, len, r);
	msg_in(1, bad, len);
	assert_int_equal(handed_off(1), h1 + 1);
	assert_int_equal(drain_handoff(0), 1);
	assert_int_equal(drops(0, WG_DROP_DECRYPT), bad_tag + 1);
	forge(bad, msg, len, r ^ (7u << INDEX_BITS));
	msg_in(1, bad, len);
	assert_int_equal(drops(1, WG_DROP_UNKNOWN_INDEX), unknown + 4);

	/* Worker 0 still owns it: authentic data at worker 1 goes there. */
	len = far_data(msg, 1);
	msg_in(1, msg, len);
	assert_int_equal(handed_off(1), h1 + 2);
	assert_int_equal(decrypted(1), dec1);
	assert_int_equal(drain_handoff(0), 1);
	assert_int_equal(decrypted(0), dec0 + 2);
	assert_int_equal(delivered(0, counts, 8), 1);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	nothing_queued();
}

#define REPLAYS 24

/* Every authentic message arrives twice, once at each worker, with forgeries
 * in the session's slot between them: each is delivered once, each copy is
 * dropped as a replay, and all of it by the one worker that owns the session. */
static void test_replay_through_two_workers(void **state)
{
	uint8_t msg[REPLAYS][96], bad[96];
	unsigned len[REPLAYS], counts[REPLAYS] = { 0 }, owner, other;
	uint64_t dec[2], replays[2];

	(void)state;
	far_handshake();
	len[0] = far_data(msg[0], 0);
	msg_in(0, msg[0], len[0]);
	owner = 0;
	other = 1;
	assert_int_equal(delivered(owner, counts, REPLAYS), 1);
	for (unsigned w = 0; w < 2; w++) {
		dec[w] = decrypted(w);
		replays[w] = drops(w, WG_DROP_REPLAY);
	}
	msg_in(other, msg[0], len[0]);
	assert_int_equal(drain_handoff(owner), 1);
	for (uint32_t i = 1; i < REPLAYS; i++) {
		unsigned first = i & 1, second = first ^ 1;

		len[i] = far_data(msg[i], i);
		msg_in(first, msg[i], len[i]);
		forge(bad, msg[i], len[i], far.receiver ^ ((i + 1) << INDEX_BITS));
		msg_in(second, bad, len[i]);
		msg_in(second, msg[i], len[i]);
		while (drain_handoff(0) + drain_handoff(1))
			;
	}
	/* Some copies arrive late, once more through each worker. */
	for (uint32_t i = 1; i < REPLAYS; i += 5) {
		msg_in(other, msg[i], len[i]);
		forge(bad, msg[i], len[i], far.receiver ^ (9u << INDEX_BITS));
		msg_in(other, bad, len[i]);
		msg_in(owner, msg[i], len[i]);
		while (drain_handoff(0) + drain_handoff(1))
			;
	}
	assert_int_equal(delivered(other, counts, REPLAYS), 0);
	assert_int_equal(delivered(owner, counts, REPLAYS), REPLAYS - 1);
	for (unsigned i = 0; i < REPLAYS; i++)
		assert_int_equal(counts[i], 1);
	assert_int_equal(decrypted(owner), dec[owner] + REPLAYS - 1);
	assert_int_equal(decrypted(other), dec[other]);
	assert_int_equal(drops(owner, WG_DROP_REPLAY), replays[owner] + REPLAYS + 2 * 5);
	assert_int_equal(drops(other, WG_DROP_REPLAY), replays[other]);
	nothing_queued();
}

/* ---- the same, with both workers at once ---- */

#define RACE 48 /* under TX_BUF: what the owner delivers stays in its batch */

struct racer {
	unsigned worker;
	struct rte_mbuf *pkts[2 * RACE];
};

static atomic_uint racers_ready;

/* Worker w's loop, for one session's traffic: bursts of four from its
 * backbone queue, its hand-off ring between them. */
static void *racer_run(void *arg)
{
	struct racer *r = arg;

	atomic_fetch_add(&racers_ready, 1);
	while (atomic_load(&racers_ready) < 2)
		;
	for (unsigned i = 0; i < 2 * RACE; i += 4) {
		ingress_burst(gw.worker_lc[r->worker], r->pkts + i, 4, mono_ns(), false);
		drain_handoff(r->worker);
	}
	return NULL;
}

/* A fresh session's every message reaches both workers at the same moment,
 * with forgeries behind each (its own index with a bad tag, and others in its
 * slot): one worker claims it and decrypts all of it, each message is
 * delivered once and its copy dropped as a replay. */
static void test_replay_two_workers_at_once(void **state)
{
	static struct racer racer[2];
	uint8_t msg[96], bad[96];
	unsigned len, counts[RACE] = { 0 }, owner;
	uint64_t dec[2], replays[2], refused[2];
	pthread_t t[2];

	(void)state;
	far_handshake();
	for (unsigned w = 0; w < 2; w++) {
		racer[w].worker = w;
		dec[w] = decrypted(w);
		replays[w] = drops(w, WG_DROP_REPLAY);
		refused[w] = drops(w, WG_DROP_DECRYPT) + drops(w, WG_DROP_UNKNOWN_INDEX);
	}
	for (uint32_t i = 0; i < RACE; i++) {
		len = far_data(msg, i);
		for (unsigned w = 0; w < 2; w++) {
			racer[w].pkts[2 * i] = from_backbone(FAR_IP, 51820, msg, len);
			forge(bad, msg, len, far.receiver ^ ((i % 3) << INDEX_BITS));
			racer[w].pkts[2 * i + 1] = from_backbone(FAR_IP, 51820, bad, len);
		}
	}
	atomic_store(&racers_ready, 0);
	for (unsigned w = 0; w < 2; w++)
		assert_int_equal(pthread_create(&t[w], NULL, racer_run, &racer[w]), 0);
	for (unsigned w = 0; w < 2; w++)
		assert_int_equal(pthread_join(t[w], NULL), 0);
	/* What is still on its way from one worker to the other. */
	while (drain_handoff(0) + drain_handoff(1))
		;

	owner = decrypted(0) != dec[0] ? 0 : 1;
	assert_int_equal(decrypted(owner), dec[owner] + RACE);
	assert_int_equal(decrypted(owner ^ 1), dec[owner ^ 1]);
	assert_int_equal(delivered(owner ^ 1, counts, RACE), 0);
	assert_int_equal(delivered(owner, counts, RACE), RACE);
	for (unsigned i = 0; i < RACE; i++)
		assert_int_equal(counts[i], 1);
	assert_int_equal(drops(owner, WG_DROP_REPLAY), replays[owner] + RACE);
	assert_int_equal(drops(owner ^ 1, WG_DROP_REPLAY), replays[owner ^ 1]);
	/* Every forgery refused by one worker or the other. */
	assert_int_equal(drops(0, WG_DROP_DECRYPT) + drops(0, WG_DROP_UNKNOWN_INDEX) +
				 drops(1, WG_DROP_DECRYPT) + drops(1, WG_DROP_UNKNOWN_INDEX),
			 refused[0] + refused[1] + 2 * RACE);
	nothing_queued();
}

/* ---- link probes ---- */

#define PROBE_PORT 51821

struct probe_wire { /* probe.c's message */
	uint32_t magic;
	uint8_t version, kind;
	uint16_t src_gw;
	uint32_t seq;
	uint64_t sent_ns;
} __attribute__((packed));

/* The frames the main lcore queued for the backbone: the one to the far
 * gateway (NULL if none); those to other gateways with a peer are freed. */
static struct rte_mbuf *to_far_gateway(void)
{
	struct rte_mbuf *m, *found = NULL;

	while (!rte_ring_dequeue(gw.to_port[PORT_BACKBONE], (void **)&m)) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

		if (!found && ip->dst_addr == ip4(FAR_IP))
			found = m;
		else
			rte_pktmbuf_free(m);
	}
	return found;
}

/* The probe the main lcore just sent the far gateway, decrypted by the far
 * device: its inner IPv4/UDP packet into inner (48 bytes). */
static void far_takes_probe(uint8_t *inner)
{
	struct rte_mbuf *m = to_far_gateway();
	struct wg_rx rx = { 0 };
	bool attention;

	assert_non_null(m);
	rx.msg = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
	rx.len = rte_pktmbuf_pkt_len(m) - (RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
	assert_true(wg_endpoint_parse(&rx.src, "192.0.2.1:51820"));
	assert_int_equal(wg_decrypt_burst(far.crypto, far.dev, &rx, 1, far.now, &attention), 1);
	assert_int_equal(rx.plain_len, IP4_LEN + UDP_LEN + sizeof(struct probe_wire));
	memcpy(inner, rx.plain, rx.plain_len);
	rte_pktmbuf_free(m);
}

/* tx's inner packet, encrypted by the far gateway, through the backbone to
 * the main lcore's part for our overlay address, run at now. */
static void far_delivers(struct wg_tx *tx, uint64_t now)
{
	struct rte_mbuf *m;

	assert_int_equal(wg_encrypt_burst(far.crypto, tx, 1, far.now), 1);
	msg_in(0, tx->msg, tx->len);
	m = to_main(SLOW_OVERLAY, PORT_BACKBONE);
	assert_int_equal(pkt_meta(m)->src_gw, FAR_ID);
	overlay_input(&gw, m, pkt_meta(m)->src_gw, now);
	nothing_queued();
}

/* The far gateway's reply to the probe in inner, as its gateway would make
 * it (addresses swapped, kind 1, its id), then changed by the caller's
 * arguments: from src (NULL: the far overlay address), naming gateway
 * named, with seq and stamp. Sent through the far gateway's session to
 * worker 0; the main lcore's part runs at now. Returns the drops of reason
 * on the main lcore it caused (0 or 1). */
static uint64_t far_replies(const uint8_t *inner, const char *src, uint16_t named, uint32_t seq,
			    uint64_t stamp, uint64_t now, unsigned reason)
{
	uint8_t msg[128];
	struct wg_tx tx = { .peer = far.peer, .msg = msg, .len = IP4_LEN + UDP_LEN + sizeof(struct probe_wire) };
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(msg + WG_DATA_HEADER_LEN);
	struct probe_wire *w = (struct probe_wire *)((uint8_t *)(ip + 1) + UDP_LEN);
	uint64_t before = drops(MAX_WORKERS, reason);

	memcpy(ip, inner, tx.len);
	ip->dst_addr = ip4("10.1.0.1");
	ip->src_addr = ip4(src ? src : "10.2.0.1");
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	w->kind = 1;
	w->src_gw = rte_cpu_to_be_16(named);
	w->seq = rte_cpu_to_be_32(seq);
	w->sent_ns = stamp;
	far_delivers(&tx, now);
	return drops(MAX_WORKERS, reason) - before;
}

/* What "probe dump" says, at a fixed now. */
static char *probe_figures(uint64_t now)
{
	char *json = probe_dump_json(&gw, 0, now);

	assert_non_null(json);
	return json;
}

/* Before any session: a probe cannot leave. It starts the handshake, is a
 * counted no_session drop, and is not counted as sent, so a link's first
 * handshake does not read as loss (meshd would route around the link). */
static void test_probe_no_session(void **state)
{
	char *argv[] = { "interval", "10" }, out[128], *json;
	uint64_t before = drops(MAX_WORKERS, WG_DROP_NO_SESSION), t0 = mono_ns();
	unsigned bound = 0;

	(void)state;
	/* The gateways the relay tests bound to peers: each is probed. */
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		struct gw_entry *e = routes_gateway(gw.routes, (uint16_t)id);

		bound += id != routes_self(gw.routes) && e && atomic_load(&e->peer);
	}
	assert_true(bound >= 1);
	/* The far gateway resolved: our initiation to it leaves at once (then
	 * freed), not held for its MAC to surface in a later test. */
	backbone_arp();
	probe_command(&gw, argv, 2, out, sizeof(out));
	assert_non_null(strstr(out, "\"ok\""));
	probe_tick(&gw, t0);
	probe_tick(&gw, t0 + 10000000ULL);
	assert_int_equal(drops(MAX_WORKERS, WG_DROP_NO_SESSION), before + 2 * bound);
	/* A link is listed once a probe of it was sent: none was. */
	json = probe_figures(t0 + 10000000ULL);
	assert_non_null(strstr(json, "\"links\":[]"));
	free(json);
	discard_queued(); /* the initiations it started */
	argv[1] = "0";
	probe_command(&gw, argv, 2, out, sizeof(out));
}

static void test_probe_forgeries(void **state)
{
	char *argv[] = { "interval", "10" }, out[128], *before, *after;
	uint8_t inner[IP4_LEN + UDP_LEN + sizeof(struct probe_wire)];
	struct probe_wire *w = (struct probe_wire *)(inner + IP4_LEN + UDP_LEN);
	uint64_t t0, t1;
	uint32_t seq;

	(void)state;
	far_handshake();
	/* Its keepalive confirms the session, so that we may send in it. */
	msg_in(0, far.msg, (unsigned)far.len);
	assert_int_equal(drain_handoff(0) + drain_handoff(1), 0);
	wg_device_tick(gw.dev, mono_ns()); /* which confirms it */
	probe_command(&gw, argv, 2, out, sizeof(out));
	assert_non_null(strstr(out, "\"ok\""));
	t0 = mono_ns();
	probe_tick(&gw, t0);
	far_takes_probe(inner);
	assert_int_equal(rte_be_to_cpu_16(((struct rte_udp_hdr *)(inner + IP4_LEN))->dst_port), PROBE_PORT);
	assert_int_equal(w->kind, 0);
	seq = rte_be_to_cpu_32(w->seq);
	t1 = t0 + 5000000; /* the replies arrive 5 ms after */

	before = probe_figures(t1);
	assert_non_null(strstr(before, "\"gateway\":2,\"sent\":1,\"received\":0,"));
	/* A VM behind the far gateway: its own address, through the far
	 * gateway's session, the probe's own sequence number. */
	assert_int_equal(far_replies(inner, REMOTE_VM, FAR_ID, seq, t0, t1, GW_DROP_PROBE_WRONG_SOURCE), 1);
	/* Naming a gateway whose session it did not come through. */
	assert_int_equal(far_replies(inner, NULL, 3, seq, t0, t1, GW_DROP_PROBE_WRONG_SESSION), 1);
	/* Sequence numbers not outstanding: in the probe's slot, and the next. */
	assert_int_equal(far_replies(inner, NULL, FAR_ID, seq ^ 0x10000, t0, t1, GW_DROP_PROBE_UNKNOWN_SEQ), 1);
	assert_int_equal(far_replies(inner, NULL, FAR_ID, seq + 1, t0, t1, GW_DROP_PROBE_UNKNOWN_SEQ), 1);
	/* Through no gateway's session (a peer with no gateway id): as the main
	 * lcore receives it, the session's gateway being 0. */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(gw.pool);
		uint64_t wrong = drops(MAX_WORKERS, GW_DROP_PROBE_WRONG_SESSION);
		uint8_t *p;

		assert_non_null(m);
		p = (uint8_t *)rte_pktmbuf_append(m, sizeof(inner));
		memcpy(p, inner, sizeof(inner));
		((struct rte_ipv4_hdr *)p)->src_addr = ip4("10.2.0.1");
		((struct rte_ipv4_hdr *)p)->dst_addr = ip4("10.1.0.1");
		((struct probe_wire *)(p + IP4_LEN + UDP_LEN))->kind = 1;
		((struct probe_wire *)(p + IP4_LEN + UDP_LEN))->src_gw = 0;
		overlay_input(&gw, m, 0, t1);
		assert_int_equal(drops(MAX_WORKERS, GW_DROP_PROBE_WRONG_SESSION), wrong + 1);
	}
	after = probe_figures(t1);
	assert_string_equal(after, before);
	free(after);
	free(before);

	/* The far gateway's own reply, whose stamp says 1 s: the RTT is ours,
	 * 5 ms. */
	assert_int_equal(far_replies(inner, NULL, FAR_ID, seq, t0 - 995000000, t1, GW_DROP_PROBE_DUPLICATE), 0);
	before = probe_figures(t1);
	assert_non_null(strstr(before, "\"gateway\":2,\"sent\":1,\"received\":1,\"since_reply_ms\":0,\"rtt_us\":[5000]}"));
	/* Once only. */
	assert_int_equal(far_replies(inner, NULL, FAR_ID, seq, t0, t1 + 1000000, GW_DROP_PROBE_DUPLICATE), 1);
	after = probe_figures(t1);
	assert_string_equal(after, before);
	free(after);
	free(before);

	/* A probe OUTSTANDING (64) intervals old is forgotten: its reply too is
	 * refused. */
	for (unsigned i = 1; i <= 64; i++) {
		probe_tick(&gw, t0 + i * 10000000ULL);
		rte_pktmbuf_free(to_far_gateway());
	}
	assert_int_equal(far_replies(inner, NULL, FAR_ID, seq, t0, t1, GW_DROP_PROBE_UNKNOWN_SEQ), 1);
	argv[1] = "0";
	probe_command(&gw, argv, 2, out, sizeof(out));
}

/* ---- link-state advertisements ---- */

/* A part of origin's LSA into buf: n links to gateways 10, 11, ..., the
 * first up, RTTs of 1 ms and up. Returns its length. */
static unsigned lsa_part(uint8_t *buf, uint16_t origin, uint64_t seq, unsigned n)
{
	struct lsa_hdr *h = (struct lsa_hdr *)buf;
	struct lsa_link *l = (struct lsa_link *)(h + 1);

	memset(buf, 0, sizeof(*h) + n * sizeof(*l));
	h->magic = rte_cpu_to_be_32(LSA_MAGIC);
	h->version = LSA_VERSION;
	h->nparts = 1;
	h->nlinks = (uint8_t)n;
	h->origin = rte_cpu_to_be_16(origin);
	h->lifetime_s = rte_cpu_to_be_16(5);
	h->seq = rte_cpu_to_be_64(seq);
	for (unsigned i = 0; i < n; i++) {
		l[i].to = rte_cpu_to_be_16((uint16_t)(10 + i));
		l[i].flags = i == 0 ? LSA_LINK_UP : 0;
		l[i].rtt_us = rte_cpu_to_be_32(1000 * (i + 1));
		l[i].loss = rte_cpu_to_be_16(655);
	}
	return (unsigned)(sizeof(*h) + n * sizeof(*l));
}

/* len bytes of lsa to our LSA port, through the far gateway's session, from
 * src (NULL: the far gateway's overlay address). Returns the drops of reason
 * on the main lcore it caused. */
static uint64_t far_sends_lsa(const uint8_t *lsa, unsigned len, const char *src, uint64_t now,
			      unsigned reason)
{
	uint8_t msg[2048];
	struct wg_tx tx = { .peer = far.peer, .msg = msg, .len = IP4_LEN + UDP_LEN + len };
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(msg + WG_DATA_HEADER_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint64_t before = drops(MAX_WORKERS, reason);

	memset(ip, 0, IP4_LEN + UDP_LEN);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)tx.len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->dst_addr = ip4("10.1.0.1");
	ip->src_addr = ip4(src ? src : "10.2.0.1");
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = udp->dst_port = rte_cpu_to_be_16(LSA_PORT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(UDP_LEN + len));
	memcpy(udp + 1, lsa, len);
	far_delivers(&tx, now);
	return drops(MAX_WORKERS, reason) - before;
}

static void test_lsa(void **state)
{
	uint8_t lsa[LSA_BYTES_MAX], inner[IP4_LEN + UDP_LEN + LSA_BYTES_MAX];
	char hex[2 * LSA_BYTES_MAX + 1], out[256], *json;
	struct lsa_hdr *h = (struct lsa_hdr *)lsa;
	struct lsa_link *l = (struct lsa_link *)(h + 1);
	uint64_t now;
	unsigned len;

	(void)state;
	far_handshake();
	msg_in(0, far.msg, (unsigned)far.len);
	assert_int_equal(drain_handoff(0) + drain_handoff(1), 0);
	wg_device_tick(gw.dev, mono_ns());
	now = mono_ns(); /* after the session: sending in it needs a clock past its start */

	/* The far gateway's own: kept, and dumped decoded. */
	len = lsa_part(lsa, FAR_ID, 100, 2);
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_STALE), 0);
	json = lsa_dump_json(&gw, 0, now);
	assert_non_null(strstr(json, "{\"origin\":2,\"seq\":100,\"part\":0,\"parts\":1,\"lifetime_s\":5,"
				     "\"age_ms\":0,\"links\":[[10,1,1000,0,0,0,0,655],[11,0,2000,0,0,0,0,655]]}"));
	free(json);
	/* And as meshd reads it: the bytes received, which read back whole;
	 * what is not hexadecimal or not a part does not. */
	{
		uint8_t back[LSA_BYTES_MAX];
		char want[sizeof(hex) + 64];
		size_t n = 0;

		lsa_part_to_hex(lsa, len, hex);
		snprintf(want, sizeof(want), "{\"seq\":1,\"lsas\":[{\"age_ms\":0,\"wire\":\"%s\"}]}", hex);
		json = lsa_dump_wire(&gw, 0, now);
		assert_string_equal(json, want);
		free(json);
		assert_true(lsa_part_read_hex(hex, strlen(hex), back, &n));
		assert_int_equal(n, len);
		assert_memory_equal(back, lsa, len);
		assert_false(lsa_part_read_hex(hex, strlen(hex) - 1, back, &n));
		hex[7] = 'g';
		assert_false(lsa_part_read_hex(hex, strlen(hex), back, &n));
		lsa_part_to_hex(lsa, len - 1, hex);
		assert_false(lsa_part_read_hex(hex, strlen(hex), back, &n));
		assert_false(lsa_part_read_hex("", 0, back, &n));
		assert_false(lsa_part_read_hex(NULL, 0, back, &n));
	}
	/* Again, or older: reordered on the way. */
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_STALE), 1);
	len = lsa_part(lsa, FAR_ID, 99, 2);
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_STALE), 1);
	/* A VM behind the far gateway, and another gateway's name. */
	len = lsa_part(lsa, FAR_ID, 200, 2);
	assert_int_equal(far_sends_lsa(lsa, len, REMOTE_VM, now, GW_DROP_LSA_WRONG_SOURCE), 1);
	len = lsa_part(lsa, 3, 200, 2);
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_WRONG_SOURCE), 1);
	/* Before meshd gave the far gateway its overlay address: the start-up
	 * order, told apart from a forgery. */
	{
		struct gw_entry *e = routes_gateway(gw.routes, FAR_ID);
		struct in_addr kept = e->overlay4;

		e->overlay4.s_addr = 0;
		len = lsa_part(lsa, FAR_ID, 200, 2);
		assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_UNBOUND_SOURCE), 1);
		e->overlay4 = kept;
	}
	/* Out of form: each a counted drop. */
	len = lsa_part(lsa, FAR_ID, 200, 2);
	assert_int_equal(far_sends_lsa(lsa, len - 1, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	assert_int_equal(far_sends_lsa(lsa, 10, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	h->nlinks = 3;
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	len = lsa_part(lsa, FAR_ID, 200, 2);
	l[1].to = rte_cpu_to_be_16(FAR_ID); /* a link to itself */
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	l[1].to = l[0].to; /* not ascending */
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	len = lsa_part(lsa, FAR_ID, 200, 2);
	h->part = 1; /* part 1 of 1 */
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	len = lsa_part(lsa, FAR_ID, 200, 2);
	h->lifetime_s = 0;
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_MALFORMED), 1);
	/* None of that changed what is kept. */
	json = lsa_dump_json(&gw, 0, now);
	assert_non_null(strstr(json, "\"origin\":2,\"seq\":100,"));
	free(json);
	/* A newer one replaces it; a dump since the last read has it alone. */
	len = lsa_part(lsa, FAR_ID, 201, 1);
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now, GW_DROP_LSA_STALE), 0);
	json = lsa_dump_json(&gw, 1, now);
	assert_non_null(strstr(json, "{\"seq\":2,\"lsas\":[{\"origin\":2,\"seq\":201,"));
	free(json);
	json = lsa_dump_json(&gw, 2, now);
	assert_string_equal(json, "{\"seq\":2,\"lsas\":[]}");
	free(json);
	/* Past its lifetime, even an older one is taken: an origin whose clock
	 * went back. */
	len = lsa_part(lsa, FAR_ID, 5, 1);
	assert_int_equal(far_sends_lsa(lsa, len, NULL, now + 6000000000ULL, GW_DROP_LSA_STALE), 0);

	/* Ours, sent: checked first, then to the far gateway, byte for byte. */
	lsa_send_command(&gw, "zz", out, sizeof(out), now);
	assert_non_null(strstr(out, "not hexadecimal"));
	len = lsa_part(lsa, FAR_ID, 7, 1);
	for (unsigned i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", lsa[i]);
	lsa_send_command(&gw, hex, out, sizeof(out), now);
	assert_non_null(strstr(out, "its origin is not this gateway"));
	len = lsa_part(lsa, routes_self(gw.routes), 7, 1);
	for (unsigned i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", lsa[i]);
	lsa_send_command(&gw, hex, out, sizeof(out) - 1, now);
	/* One to every bound gateway (the fixture binds several); those
	 * without a session wait for a handshake (staged), as data does. */
	assert_non_null(strstr(out, "{\"ok\":true,\"sent\":"));
	main_lcore_drain(&gw, now);
	{
		struct rte_mbuf *m;
		bool found = false;

		while (!rte_ring_dequeue(gw.to_port[PORT_BACKBONE], (void **)&m)) {
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
			struct wg_rx rx = { 0 };
			bool attention;

			rx.msg = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
			rx.len = rte_pktmbuf_pkt_len(m) - (RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN);
			if (!found && ip->dst_addr == ip4(FAR_IP) && rx.msg[0] == 4) {
				assert_true(wg_endpoint_parse(&rx.src, "192.0.2.1:51820"));
				assert_int_equal(wg_decrypt_burst(far.crypto, far.dev, &rx, 1, far.now, &attention), 1);
				assert_int_equal(rx.plain_len, IP4_LEN + UDP_LEN + len);
				memcpy(inner, rx.plain, rx.plain_len);
				found = true;
			}
			rte_pktmbuf_free(m);
		}
		assert_true(found);
	}
	assert_int_equal(rte_be_to_cpu_16(((struct rte_udp_hdr *)(inner + IP4_LEN))->dst_port), LSA_PORT);
	assert_memory_equal(inner + IP4_LEN + UDP_LEN, lsa, len);
	nothing_queued();
}

/* ---- VM-side source addresses ---- */

static void test_vm_source(void **state)
{
	struct rte_mbuf *m;
	uint64_t spoofed;

	(void)state;
	spoofed = drops(0, GW_DROP_VM_SPOOFED_SOURCE);
	/* Another gateway's VM (in the far peer's allowed-ips),
	 * an address nobody has, the gateway's own, none. */
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], REMOTE_VM, 1, "10.2.0.6", 2, 64, 0, 0, 10));
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.99.0.5", 1, REMOTE_VM, 2, 64, 0, 0, 10));
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.1.0.1", 1, REMOTE_VM, 2, 64, 0, 0, 10));
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "0.0.0.0", 1, REMOTE_VM, 2, 64, 0, 0, 10));
	/* ... also to the gateway itself. */
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.99.0.5", 1, "10.1.0.1", 2, 64, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_VM_SPOOFED_SOURCE), spoofed + 5);
	nothing_queued();

	/* Outside the VM port's subnet, but a route gives it this gateway: ours.
	 * In the subnet, but a route gives it another gateway: not. */
	command("route add 10.77.0.0/16 %u", SELF_ID);
	command("route add 10.1.200.0/24 %u", FAR_ID);
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.77.0.9", 1, "10.1.0.1", 2, 64, 0, 0, 10));
	rte_pktmbuf_free(to_main(SLOW_LOCAL, PORT_VM));
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.1.200.9", 1, "10.1.0.1", 2, 64, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_VM_SPOOFED_SOURCE), spoofed + 6);
	/* The same in a burst (the bulk lookup of sources). */
	{
		struct rte_mbuf *burst[3] = {
			udp4(&vm_mac, &gw.mac[PORT_VM], "10.1.200.9", 1, "10.1.0.1", 2, 64, 0, 0, 10),
			udp4(&vm_mac, &gw.mac[PORT_VM], "10.77.0.9", 1, "10.1.0.1", 2, 64, 0, 0, 10),
			udp4(&vm_mac, &gw.mac[PORT_VM], "10.2.0.9", 1, "10.1.0.1", 2, 64, 0, 0, 10),
		};

		egress_burst(gw.worker_lc[0], burst, 3, mono_ns());
		assert_int_equal(drops(0, GW_DROP_VM_SPOOFED_SOURCE), spoofed + 8);
		rte_pktmbuf_free(to_main(SLOW_LOCAL, PORT_VM));
	}
	command("route del 10.77.0.0/16");
	command("route del 10.1.200.0/24");
	vm_in(0, udp4(&vm_mac, &gw.mac[PORT_VM], "10.77.0.9", 1, "10.1.0.1", 2, 64, 0, 0, 10));
	assert_int_equal(drops(0, GW_DROP_VM_SPOOFED_SOURCE), spoofed + 9);

	/* The VM's own address goes on. */
	vm_in(0, from_vm("10.1.0.1", 64, 0, 0, 10));
	m = to_main(SLOW_LOCAL, PORT_VM);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* IPv6: link-local sources only to the gateway itself. */
static struct rte_mbuf *udp6(const char *from, const char *to)
{
	struct rte_mbuf *m = frame(&vm_mac, &gw.mac[PORT_VM], RTE_ETHER_TYPE_IPV6, IP6_LEN + UDP_LEN + 8);
	struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip6 + 1);

	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16(UDP_LEN + 8);
	ip6->proto = IPPROTO_UDP;
	ip6->hop_limits = 64;
	inet_pton(AF_INET6, from, ip6->src_addr);
	inet_pton(AF_INET6, to, ip6->dst_addr);
	udp->dgram_len = rte_cpu_to_be_16(UDP_LEN + 8);
	return m;
}

static void test_vm_source6(void **state)
{
	uint64_t spoofed = drops(0, GW_DROP_VM_SPOOFED_SOURCE);

	(void)state;
	inet_pton(AF_INET6, "fd00:1::1", &gw.cfg.port[PORT_VM].address6);
	gw.cfg.port[PORT_VM].prefix6_len = 64;
	command("route add fd00:2::/64 %u", FAR_ID);
	routes_maintain(gw.routes, &gw); /* IPv6 routes are published on the tick */
	vm_in(0, udp6("fd00:1::5", "fd00:1::1"));
	rte_pktmbuf_free(to_main(SLOW_LOCAL, PORT_VM));
	vm_in(0, udp6("fe80::5", "fd00:1::1"));
	rte_pktmbuf_free(to_main(SLOW_LOCAL, PORT_VM));
	nothing_queued();
	vm_in(0, udp6("fe80::5", "fd00:2::5"));
	vm_in(0, udp6("fd00:2::9", "fd00:2::5"));
	vm_in(0, udp6("fd00:99::9", "fd00:2::5"));
	vm_in(0, udp6("fd00:1::1", "fd00:2::5"));
	vm_in(0, udp6("::", "fd00:2::5"));
	assert_int_equal(drops(0, GW_DROP_VM_SPOOFED_SOURCE), spoofed + 5);
	nothing_queued();
	command("route del fd00:2::/64");
	routes_maintain(gw.routes, &gw);
	memset(&gw.cfg.port[PORT_VM].address6, 0, sizeof(struct in6_addr));
	gw.cfg.port[PORT_VM].prefix6_len = 0;
}

/* ---- ECN ---- */

static void test_ecn(void **state)
{
	struct rte_ipv4_hdr ip = { .version_ihl = RTE_IPV4_VHL_DEF, .time_to_live = 9 };
	uint8_t ip6[IP6_LEN] = { 0x60 };

	(void)state;
	/* Encapsulation copies the field, CE becoming ECT(0). */
	assert_int_equal(hop_outer_tos(0), 0);
	assert_int_equal(hop_outer_tos(1), 1);
	assert_int_equal(hop_outer_tos(2), 2);
	assert_int_equal(hop_outer_tos(3), 2);
	ip.type_of_service = 0xb9; /* DSCP 46, ECT(1) */
	assert_int_equal(hop_ecn((uint8_t *)&ip), 1);
	ip6[1] = 0x30; /* CE */
	assert_int_equal(hop_ecn(ip6), 3);

	/* Decapsulation: CE outside marks an ECN-capable inner packet. */
	ip.type_of_service = 0xb8 | 2;
	ip.hdr_checksum = rte_ipv4_cksum(&ip);
	hop_ecn_decap(2, (uint8_t *)&ip);
	assert_int_equal(ip.type_of_service, 0xba);
	hop_ecn_decap(3, (uint8_t *)&ip);
	assert_int_equal(ip.type_of_service, 0xbb);
	assert_int_equal(rte_ipv4_cksum(&ip), 0);
	/* ... and never one that is not ECN-capable. */
	ip.type_of_service = 0xb8;
	hop_ecn_decap(3, (uint8_t *)&ip);
	assert_int_equal(ip.type_of_service, 0xb8);
	ip6[1] = 0x10; /* ECT(1) */
	hop_ecn_decap(3, ip6);
	assert_int_equal(ip6[1], 0x30);
	ip6[1] = 0;
	hop_ecn_decap(3, ip6);
	assert_int_equal(ip6[1], 0);
}

/* ---- the main lcore's queues under a flood ---- */

/* An ARP request for our backbone address from a host that floods. */
static struct rte_mbuf *flood_arp(void)
{
	static const struct rte_ether_addr flooder = { { 0x02, 0, 0, 0, 0, 0x66 } };
	struct rte_mbuf *m = frame(&flooder, &gw.mac[PORT_BACKBONE], RTE_ETHER_TYPE_ARP,
				   sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);

	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = flooder;
	arp->arp_data.arp_sip = ip4("192.0.2.66");
	arp->arp_data.arp_tip = ip4("192.0.2.1");
	return m;
}

/* Worker 0 receives n frames from make(), 32 a poll, then last (if any) in
 * the same poll as the final ones. */
static void flood_in(struct rte_mbuf *(*make)(void), unsigned n, struct rte_mbuf *last)
{
	struct rte_mbuf *pkts[32];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		pkts[k++] = make();
		if (k == 32 || (i == n - 1 && !last)) {
			ingress_burst(gw.worker_lc[0], pkts, k, mono_ns(), false);
			k = 0;
		}
	}
	if (last) {
		pkts[k++] = last;
		ingress_burst(gw.worker_lc[0], pkts, k, mono_ns(), false);
	}
}

/* The frames the main lcore queued for the backbone: how many were ARP
 * replies; the handshake response among them, if any, into *response. */
static unsigned backbone_out(struct rte_mbuf **response)
{
	struct rte_mbuf *m;
	unsigned arp = 0;

	*response = NULL;
	while (!rte_ring_dequeue(gw.to_port[PORT_BACKBONE], (void **)&m)) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
			arp++;
			rte_pktmbuf_free(m);
		} else {
			assert_null(*response);
			*response = m;
		}
	}
	return arp;
}

/* A peer rekeys while a neighbour floods ARP faster than the main lcore takes
 * it: in the same poll as 2,000 ARP requests (four times what their queue
 * holds) its initiation is queued, and the main lcore's next turn answers it
 * with a response, not a cookie reply (which is what a shared queue's backlog
 * made of it), while ARP waits within its budget. */
static void test_slowpath_arp_flood(void **state)
{
	uint64_t full = drops(0, GW_DROP_SLOWPATH_FULL_ARP_ND);
	uint64_t hs_full = drops(0, GW_DROP_SLOWPATH_FULL_HANDSHAKE);
	struct wg_endpoint us;
	struct rte_mbuf *m;
	unsigned arp;

	(void)state;
	far_handshake(); /* a session to rekey */
	usleep(30000);   /* our flood limit: 50 initiations a second per peer */
	far.handshakes++;
	far.now += 10 * 1000000000ULL;
	far.len = 0;
	wg_peer_initiate(far.peer, far.now);
	assert_int_equal(far.len, WG_INITIATION_LEN);

	flood_in(flood_arp, 2000, from_backbone(FAR_IP, 51820, far.msg, far.len));
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_ARP_ND]), 512);
	assert_int_equal(drops(0, GW_DROP_SLOWPATH_FULL_ARP_ND), full + 2000 - 512);
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_HANDSHAKE]), 1);
	assert_int_equal(drops(0, GW_DROP_SLOWPATH_FULL_HANDSHAKE), hs_full);

	main_lcore_drain(&gw, mono_ns());
	arp = backbone_out(&m);
	/* ARP got its budget's worth of answers, no more; the rest waits. */
	assert_int_equal(arp, 256);
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_ARP_ND]), 512 - 256);
	assert_true(main_lcore_pending(&gw));
	assert_non_null(m);
	assert_int_equal(rte_pktmbuf_pkt_len(m), RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN + WG_RESPONSE_LEN);
	far.len = 0;
	assert_true(wg_endpoint_parse(&us, "192.0.2.1:51820"));
	assert_int_equal(wg_device_handshake_rx(far.dev,
						rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN + IP4_LEN + UDP_LEN),
						WG_RESPONSE_LEN, &us, 0, far.now),
			 WG_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(far.len, WG_DATA_MIN_LEN); /* the rekeyed session's keepalive */

	while (main_lcore_pending(&gw))
		main_lcore_drain(&gw, mono_ns()), backbone_out(&m);
	discard_queued();
}

/* A handshake initiation, with nothing right in it but type and length. */
static struct rte_mbuf *flood_initiation(void)
{
	uint8_t msg[WG_INITIATION_LEN] = { WG_MSG_INITIATION };

	return from_backbone("192.0.2.77", 40000, msg, sizeof(msg));
}

/* The other way round: a flood of initiations (the handshake queue full)
 * keeps no ARP request from being answered in the main lcore's next turn. Last
 * of the tests: it leaves our device under load (cookies) for a second. */
static void test_slowpath_handshake_flood(void **state)
{
	uint64_t full = drops(0, GW_DROP_SLOWPATH_FULL_HANDSHAKE);
	uint64_t invalid = drops(MAX_WORKERS, WG_DROP_MAC1);
	struct rte_mbuf *m;

	(void)state;
	discard_queued();
	flood_in(flood_initiation, 1500, flood_arp());
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_HANDSHAKE]), 1024);
	assert_int_equal(drops(0, GW_DROP_SLOWPATH_FULL_HANDSHAKE), full + 1500 - 1024);
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_ARP_ND]), 1);

	main_lcore_drain(&gw, mono_ns());
	assert_int_equal(backbone_out(&m), 1);
	assert_null(m);
	/* Handshakes got their budget, no more. */
	assert_int_equal(drops(MAX_WORKERS, WG_DROP_MAC1), invalid + 128);
	assert_int_equal(rte_ring_count(gw.to_main[SLOWQ_HANDSHAKE]), 1024 - 128);
	discard_queued();
}

/* ---- names ---- */

static void test_drop_names(void **state)
{
	(void)state;
	/* What meshd and the tests parse. */
	assert_string_equal(gw_drop_name(GW_DROP_MALFORMED_FRAME), "malformed_frame");
	assert_string_equal(gw_drop_name(GW_DROP_UNKNOWN_TYPE), "unknown_message_type");
	assert_string_equal(gw_drop_name(GW_DROP_NO_PEER), "no_peer_for_destination");
	assert_string_equal(gw_drop_name(GW_DROP_SLOWPATH_FULL_HANDSHAKE), "slowpath_full_handshake");
	assert_string_equal(gw_drop_name(GW_DROP_SLOWPATH_FULL_ARP_ND), "slowpath_full_arp_nd");
	assert_string_equal(gw_drop_name(GW_DROP_ICMP_RATELIMITED), "icmp_ratelimited");
	assert_string_equal(gw_drop_name(WG_DROP_NO_SESSION), wg_drop_name(WG_DROP_NO_SESSION));
	assert_string_equal(gw_drop_name(GW_DROP__COUNT), "unknown");
	for (unsigned i = 1; i < GW_DROP__COUNT; i++)
		for (unsigned j = i + 1; j < GW_DROP__COUNT; j++)
			assert_string_not_equal(gw_drop_name(i), gw_drop_name(j));
}

/* The control socket's replies are JSON whatever a request held: a name is
 * taken only from a safe set (and escaped on output all the same), and an
 * argument a reply would quote back must be printable ASCII without quotes. */
__attribute__((format(printf, 1, 2))) static json_t *reply_json(const char *fmt, ...)
{
	char line[256], out[512];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	routes_command(gw.routes, &gw, line, out, sizeof(out));
	j = json_loads(out, 0, NULL);
	if (!j)
		fail_msg("not JSON: %s", out);
	return j;
}

static void test_ctl_names(void **state)
{
	uint8_t pub[WG_KEY_LEN];
	char b64[45], *dump;
	struct textbuf b = { .s = NULL };
	json_t *j, *e;
	size_t i;
	static const char *const bad[] = { "a\"b", "a\\b", ".hidden", "", "x/y",
					   "0123456789012345678901234567890123" };

	(void)state;
	randombytes_buf(pub, sizeof(pub));
	wg_key_to_base64(b64, pub);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = reply_json("gateway set 9 %s name=%s", b64, bad[i]);
		assert_non_null(json_object_get(j, "error"));
		json_decref(j);
	}
	j = reply_json("route add 10.9.0.0/16\" 9");
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "printable ASCII"));
	json_decref(j);
	j = reply_json("route add 10.9.0.0/16\x01 9");
	assert_non_null(json_object_get(j, "error"));
	json_decref(j);
	j = reply_json("route add bad\\prefix 9");
	assert_non_null(json_object_get(j, "error"));
	json_decref(j);

	j = reply_json("gateway set 9 %s name=eu-west_1.b", b64);
	assert_non_null(json_object_get(j, "ok"));
	json_decref(j);
	dump = routes_dump_json(gw.routes, "gateways");
	assert_non_null(dump);
	j = json_loads(dump, 0, NULL);
	free(dump);
	assert_non_null(j);
	{
		const char *name = NULL;

		json_array_foreach(json_object_get(j, "gateways"), i, e)
			if (json_integer_value(json_object_get(e, "id")) == 9)
				name = json_string_value(json_object_get(e, "name"));
		assert_non_null(name);
		assert_string_equal(name, "eu-west_1.b");
	}
	json_decref(j);
	j = reply_json("gateway del 9");
	json_decref(j);

	/* What the dumps print names with, on what the set keeps out. */
	textbuf_printf(&b, "[");
	textbuf_json_string(&b, "q\"b\\s\n\t\x01 end");
	textbuf_printf(&b, ",");
	textbuf_json_string(&b, "\xff\xfe");
	textbuf_printf(&b, "]");
	dump = textbuf_take(&b);
	j = json_loads(dump, 0, NULL);
	free(dump);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "q\"b\\s\n\t\x01 end");
	assert_int_equal(json_string_length(json_array_get(j, 1)), 4); /* U+00FF U+00FE */
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_ctl_names),
		cmocka_unit_test(test_ecn),
		cmocka_unit_test(test_vm_classification),
		cmocka_unit_test(test_backbone_classification),
		cmocka_unit_test(test_multi_segment),
		cmocka_unit_test(test_relay_drops),
		cmocka_unit_test(test_relay_forward),
		cmocka_unit_test(test_relay_residency),
		cmocka_unit_test(test_relay_deliver),
		cmocka_unit_test(test_relay_source),
		cmocka_unit_test(test_peer_bound_when_added),
		cmocka_unit_test(test_relay_pair_key),
		cmocka_unit_test(test_relay_tag_layout),
		cmocka_unit_test(test_relay_auth),
		cmocka_unit_test(test_relay_send_back),
		cmocka_unit_test(test_relay_next_down),
		cmocka_unit_test(test_relay_ttl),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_probe_no_session),
		/* From here on the far gateway's MAC is known and sessions exist. */
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_forgery_claims_nothing),
		cmocka_unit_test(test_replay_through_two_workers),
		cmocka_unit_test(test_replay_two_workers_at_once),
		cmocka_unit_test(test_probe_forgeries),
		cmocka_unit_test(test_lsa),
		cmocka_unit_test(test_vm_source),
		cmocka_unit_test(test_vm_source6),
		cmocka_unit_test(test_slowpath_arp_flood),
		cmocka_unit_test(test_slowpath_handshake_flood),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
