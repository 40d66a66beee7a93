// SPDX-License-Identifier: MIT
/*
 * The gateway's packet path without a network and without root: the real
 * dataplane/ code, set up by gateway_setup() on two net_null ports under an
 * EAL with no hugepages and no shared files (--no-huge --no-shconf). Nothing runs the lcores'
 * loops: a test hands a burst of frames it built to egress_burst() or
 * ingress_burst() as worker w would, then looks where each went: a drop
 * counter, the main lcore's queue (gw.to_main, with its note), a worker's tx
 * batch, another worker's hand-off ring. The main lcore's part (ICMP errors)
 * is called the same way, and its frames read from gw.to_port.
 *
 *   classification, VM side and backbone side
 *   relay: hop limit, no route, loop, forwarded with one more hop
 *   hand-off of data messages to the worker that owns their session
 *   ICMP time exceeded and too big, built by the main lcore; fragmentation
 *   ECN across the tunnel (RFC 6040)
 *   drop reason names
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
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
#include "neigh.h"
#include "packet.h"
#include "routes.h"
#include "underlay.h"

#define LISTEN_PORT 51820
#define MTU 1420
#define SELF_ID 1
#define FAR_ID 2 /* a gateway with a peer, at FAR_IP:LISTEN_PORT */
#define FAR_IP "192.0.2.2"
#define VM_IP "10.1.0.5"     /* a local VM */
#define REMOTE_VM "10.2.0.5" /* behind the far gateway (its allowed-ips) */

static struct gateway gw;
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

/* The main lcore's queue holds exactly one packet, handed over for why. */
static struct rte_mbuf *to_main(enum slow_reason why, unsigned port)
{
	struct rte_mbuf *m = take(gw.to_main);

	assert_non_null(m);
	assert_int_equal(pkt_meta(m)->reason, why);
	assert_int_equal(pkt_meta(m)->port, port);
	return m;
}

static void nothing_queued(void)
{
	assert_int_equal(rte_ring_count(gw.to_main), 0);
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
	uint8_t key[WG_KEY_LEN], far_priv[WG_KEY_LEN], far_pub[WG_KEY_LEN];
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
	gw.cfg.hop_limit = 8;
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

static int teardown(void **state)
{
	(void)state;
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

/* ---- relay ---- */

static void relay_in(const char *src, uint16_t dst_gw, uint8_t hops, uint8_t version)
{
	uint8_t msg[RELAY_LEN + 32] = { 0 };
	struct relay_hdr *r = (struct relay_hdr *)msg;

	r->type = RELAY_TYPE;
	r->version = version;
	r->hops = hops;
	r->hop_limit = 8;
	r->dst_gw = rte_cpu_to_be_16(dst_gw);
	r->src_gw = rte_cpu_to_be_16(9);
	msg[RELAY_LEN] = WG_MSG_DATA;
	backbone_in(0, from_backbone(src, 51820, msg, sizeof(msg)));
}

static void test_relay(void **state)
{
	uint64_t before, relayed;
	struct rte_mbuf *m;
	struct relay_hdr *r;

	(void)state;
	before = drops(0, GW_DROP_UNKNOWN_TYPE);
	relay_in("192.0.2.3", FAR_ID, 1, RELAY_VERSION + 1);
	relay_in("192.0.2.3", FAR_ID, 0, RELAY_VERSION);
	assert_int_equal(drops(0, GW_DROP_UNKNOWN_TYPE), before + 2);

	/* At its hop limit, a packet for another gateway goes no further. */
	before = drops(0, GW_DROP_HOP_LIMIT);
	relay_in("192.0.2.3", FAR_ID, 8, RELAY_VERSION);
	assert_int_equal(drops(0, GW_DROP_HOP_LIMIT), before + 1);

	before = drops(0, GW_DROP_NO_ROUTE);
	relay_in("192.0.2.3", 77, 1, RELAY_VERSION);
	assert_int_equal(drops(0, GW_DROP_NO_ROUTE), before + 1);

	/* Back where it came from. */
	before = drops(0, GW_DROP_RELAY_LOOP);
	relay_in(FAR_IP, FAR_ID, 1, RELAY_VERSION);
	assert_int_equal(drops(0, GW_DROP_RELAY_LOOP), before + 1);
	nothing_queued();

	/* Forwarded undecrypted with one more hop, towards the far gateway,
	 * whose MAC the main lcore is asked to resolve. */
	relayed = gw.worker_lc[0]->counters.relayed;
	relay_in("192.0.2.3", FAR_ID, 7, RELAY_VERSION);
	assert_int_equal(gw.worker_lc[0]->counters.relayed, relayed + 1);
	m = to_main(SLOW_NEIGH, PORT_BACKBONE);
	{
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		uint8_t key[16];

		assert_int_equal(ip->dst_addr, ip4(FAR_IP));
		assert_int_equal(rte_ipv4_cksum(ip), 0);
		r = (struct relay_hdr *)((uint8_t *)(ip + 1) + UDP_LEN);
		assert_int_equal(r->type, RELAY_TYPE);
		assert_int_equal(r->hops, 8);
		assert_int_equal(rte_be_to_cpu_16(r->dst_gw), FAR_ID);
		assert_int_equal(rte_be_to_cpu_16(r->src_gw), 9);
		neigh_key4(key, ip4(FAR_IP));
		assert_memory_equal(pkt_meta(m)->next_hop, key, 16);
	}
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* ---- hand-off between workers ---- */

static void data_in(unsigned worker, uint32_t receiver)
{
	uint8_t msg[WG_DATA_HEADER_LEN + 16] = { WG_MSG_DATA };
	uint32_t le = rte_cpu_to_le_32(receiver);

	memcpy(msg + 4, &le, 4);
	backbone_in(worker, from_backbone(FAR_IP, 51820, msg, sizeof(msg)));
}

static void test_handoff(void **state)
{
	const uint32_t owned = 0x12340005, fresh = 0x56780006;
	_Atomic uint64_t *slot = &gw.owner[owned & ((1u << INDEX_BITS) - 1)];
	uint64_t handed, unknown;
	struct rte_mbuf *m;

	(void)state;
	/* Worker 1 owns the session: worker 0 hands its message over. */
	atomic_store(slot, (uint64_t)owned << 8 | 1);
	handed = gw.worker_lc[0]->counters.handed_off;
	data_in(0, owned);
	assert_int_equal(gw.worker_lc[0]->counters.handed_off, handed + 1);
	m = take(gw.handoff[1]);
	assert_non_null(m);
	/* Worker 1 takes it from its ring (rx already counted) and decrypts:
	 * no such session here, a drop counted by worker 1. */
	unknown = drops(1, WG_DROP_UNKNOWN_INDEX);
	ingress_burst(gw.worker_lc[1], &m, 1, mono_ns(), true);
	assert_int_equal(drops(1, WG_DROP_UNKNOWN_INDEX), unknown + 1);

	/* The first worker to see an index claims it. */
	data_in(1, fresh);
	assert_int_equal(atomic_load(&gw.owner[fresh & ((1u << INDEX_BITS) - 1)]),
			 (uint64_t)fresh << 8 | 1);
	data_in(0, fresh);
	m = take(gw.handoff[1]);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	nothing_queued();
}

/* ---- ICMP ---- */

/* The VM introduces itself: an ARP request for our VM-side address, whose
 * reply the main lcore queues for the VM port. */
static void vm_arp(void)
{
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, mac;
	struct rte_mbuf *m = frame(&vm_mac, &bcast, RTE_ETHER_TYPE_ARP, sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	uint8_t key[16];

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
	neigh_key4(key, ip4(VM_IP));
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

/* ---- names ---- */

static void test_drop_names(void **state)
{
	(void)state;
	/* What meshd and the tests parse. */
	assert_string_equal(gw_drop_name(GW_DROP_MALFORMED_FRAME), "malformed_frame");
	assert_string_equal(gw_drop_name(GW_DROP_UNKNOWN_TYPE), "unknown_message_type");
	assert_string_equal(gw_drop_name(GW_DROP_NO_PEER), "no_peer_for_destination");
	assert_string_equal(gw_drop_name(GW_DROP_SLOWPATH_FULL), "slowpath_full");
	assert_string_equal(gw_drop_name(GW_DROP_ICMP_RATELIMITED), "icmp_ratelimited");
	assert_string_equal(gw_drop_name(WG_DROP_NO_SESSION), wg_drop_name(WG_DROP_NO_SESSION));
	assert_string_equal(gw_drop_name(GW_DROP__COUNT), "unknown");
	for (unsigned i = 1; i < GW_DROP__COUNT; i++)
		for (unsigned j = i + 1; j < GW_DROP__COUNT; j++)
			assert_string_not_equal(gw_drop_name(i), gw_drop_name(j));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_ecn),
		cmocka_unit_test(test_vm_classification),
		cmocka_unit_test(test_backbone_classification),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_icmp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
