// SPDX-License-Identifier: MIT
/*
 * fuzz_gateway: the gateway's packet path (dataplane/) fed arbitrary frames on
 * both ports. The real gateway runs on in-memory ring ports (tests/lib/
 * gwharness.c) under an EAL without hugepages, shared files or root, set up
 * once: two workers, routes to gateways 2, 3 and 4 (4 through relay 2), two
 * far gateways (2 and 3: tunnels/ devices) with live sessions, renewed by real handshakes
 * through the rings when they age, a VM per queue. Nothing runs on threads:
 * each input is driven in this one, as the lcores would drive it:
 *   frames into the rx rings -> worker_poll() of each worker (egress,
 *   ingress, hand-off, tx) -> main_lcore_drain() (handshakes, ARP, ND, ICMP,
 *   staging, neighbours, probes) and, every 10 ms or when asked,
 *   main_lcore_tick() -> gwh_service() (the harness takes the tx rings:
 *   answers ARP, gives handshakes to the far devices) ... until nothing moves.
 * Then every mbuf must be back in the pool, or accounted for where the gateway
 * keeps packets on purpose (frames waiting for a neighbour, packets staged for
 * a handshake, rings): a leak or a double free is reported as a crash.
 *
 * An input is a sequence of frames, each
 *   [ctl] [length, 2 bytes big-endian] [length bytes, or what is left]
 * ctl:
 *   bit 0     port: 0 VM, 1 backbone
 *   bit 1     queue (worker) 0 or 1
 *   bits 2-3  form of the bytes:
 *             0 raw: the whole frame, Ethernet header on;
 *             1 eth: the harness puts an Ethernet header in front (to the
 *               gateway's MAC from the neighbour on that queue: the VM, or the
 *               far gateway), EtherType from the first byte (4x IPv4, 6x IPv6,
 *               else ARP);
 *             2 backbone: Ethernet, IPv4 and UDP from far gateway q to the
 *               gateway's listen port, the bytes the UDP payload (WireGuard
 *               messages, relay headers); VM: as 1 with the IP packet's
 *               lengths and IPv4 header checksum made right;
 *             3 backbone sealed: the bytes are an inner IP packet (lengths and
 *               checksum made right), encrypted by far gateway q in its live
 *               session and sent as 2: decryption, the inner checks,
 *               allowed-ips and the way to the VM run; VM: as 2 with the
 *               source address VM q's
 *   bit 4     backbone 2/3: a relay header in front of the message, the
 *             last hop of a path to us (gateway 1) through the far gateway
 *             the frame comes from, with the other far gateway's id as its
 *             source, tagged by the far gateway it comes from (so the
 *             relayed message is delivered); with 3 the message is sealed
 *             by far gateway q and travels from the other one's address
 *   bit 5     run the packet path now (else all frames go in one burst at the
 *             end)
 *   bit 6     a main lcore tick after this frame
 *   bit 7     backbone 2: the authenticators made right, as a member
 *             would: a valid mac1 (under the gateway's key) on a handshake
 *             initiation or response, and, when the bytes themselves begin
 *             with a relay header whose sender on this hop is far gateway 0
 *             or 1 (gateways 2 and 3), that gateway's tag on it (so the
 *             relay checks after the tag, forwarding and notices are
 *             reached, not only the tag check)
 * The gateway's key is fixture identity 2 of tests/fixtures/wireguard-go and
 * identity 1 is one of its peers (gateway 4), so the captured handshake of the seed corpus
 * authenticates (once: its timestamp is then old).
 *
 * ASan does not see inside DPDK's mempool memory (mbuf data): a read past a
 * frame's end within its mbuf goes unnoticed. UBSan, crashes, malloc'd state
 * and the mbuf accounting are checked.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <sanitizer/lsan_interface.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "fuzz_common.h"
#include "gateway.h"
#include "gwharness.h"
#include "lcore_io.h"
#include "mainlcore.h"
#include "neigh.h"
#include "packet.h"
#include "relay_auth.h"
#include "routes.h"
#include "underlay.h"
#include "worker.h"
/* wg.h (peer->staged_count) and DPDK's rte_cycles.h both define NS_PER_S. */
#undef NS_PER_S
#include "wg.h"

#define WORKERS 2
#define SELF_ID 1
#define MAX_FRAMES 64
#define MAX_ROUNDS 64
#define TICK_NS (10 * FZ_MS)
/* Sessions renewed well before REKEY_AFTER_TIME (120 s) would make the
 * gateway start its own handshake. */
#define SESSION_RENEW_NS (90 * FZ_NS)

#define C_PORT 0x01
#define C_QUEUE 0x02
#define C_FORM 0x0c
#define C_RELAY 0x10
#define C_PUMP 0x20
#define C_TICK 0x40
#define C_MAC1 0x80
#define FORM_RAW 0
#define FORM_ETH 1
#define FORM_UDP 2
#define FORM_SEALED 3

static struct gateway gw;
static struct gwh H;
static struct wg_peer *gw_peer[WORKERS]; /* the gateway's view of far gateway q */
static uint64_t last_tick, ticks, session_at[WORKERS];
static unsigned baseline; /* mbufs in use, nothing held, after setup */
static uint8_t gw_mac1_key[WG_KEY_LEN];
/* The relay pair key as far gateway q derives it (its device, our public
 * key): the gateway must derive the same one to verify what q signs. */
static struct relay_key *far_relay_key[WORKERS];

/* What the gateway and the harness counted: why a setup step failed. */
static void print_counters(void)
{
	struct lcore_ctx *lcs[WORKERS + 1] = { gw.main_lc, gw.worker_lc[0], gw.worker_lc[1] };

	for (unsigned i = 0; i < WORKERS + 1; i++) {
		const struct counters *c = &lcs[i]->counters;

		fprintf(stderr, "  %s: rx %lu/%lu tx %lu/%lu handshakes %lu keepalives %lu", i ? "worker" : "main",
			c->rx_packets[0], c->rx_packets[1], c->tx_packets[0], c->tx_packets[1],
			c->handshakes_received, c->keepalives_received);
		for (unsigned r = 1; r < GW_DROP__COUNT; r++)
			if (c->drop[r])
				fprintf(stderr, " %s=%lu", gw_drop_name(r), c->drop[r]);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "  harness: arp answers %lu, handshakes %lu, keepalives %lu, stray %lu\n",
		H.arp_answers, H.handshakes, H.keepalives, H.stray);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_gateway setup: %s\n", what);
	if (gw.main_lc)
		print_counters();
	_exit(1);
}

static void command(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void command(const char *fmt, ...)
{
	char line[256], out[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	routes_command(gw.routes, &gw, line, out, sizeof(out));
	if (strstr(out, "error")) {
		fprintf(stderr, "fuzz_gateway setup: %s: %s\n", line, out);
		_exit(1);
	}
}

/* ---- driving the lcores ---- */

/* One pass of every lcore's loop and of the world around the ports. */
static unsigned pump_once(bool tick)
{
	uint64_t now = mono_ns();
	unsigned work = 0;

	for (unsigned w = 0; w < WORKERS; w++)
		work += worker_poll(gw.worker_lc[w]);
	work += main_lcore_drain(&gw, now);
	if (tick || now - last_tick >= TICK_NS) {
		last_tick = now;
		main_lcore_tick(&gw, now, ++ticks);
	}
	return work + gwh_service(&H);
}

static void pump(bool tick)
{
	for (unsigned i = 0; i < MAX_ROUNDS && pump_once(tick && !i); i++)
		;
}

/* ---- where mbufs may rest between inputs ---- */

static bool count_staged(struct wg_peer *peer, void *arg)
{
	*(unsigned *)arg += peer->staged_count;
	return true;
}

static unsigned held_mbufs(void)
{
	unsigned n = 0;

	for (unsigned q = 0; q < SLOWQ__COUNT; q++)
		n += rte_ring_count(gw.to_main[q]);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		n += rte_ring_count(gw.to_port[p]) + gw.main_lc->ntx[p];
		for (unsigned i = 0; i < NEIGH_SLOTS; i++)
			n += gw.neigh[p]->slot[i].nheld;
		for (unsigned w = 0; w < WORKERS; w++)
			n += rte_ring_count(H.rx[p][w]) + rte_ring_count(H.tx[p][w]) +
			     gw.worker_lc[w]->ntx[p];
	}
	for (unsigned w = 0; w < WORKERS; w++)
		n += rte_ring_count(gw.handoff[w]);
	wg_device_for_each_peer(gw.dev, count_staged, &n);
	return n;
}

static void check_mbufs(void)
{
	unsigned in_use = rte_mempool_in_use_count(gw.pool), held = held_mbufs();

	if (in_use != baseline + held) {
		fprintf(stderr, "fuzz_gateway: %u mbufs in use, %u held by the gateway, %u before: %s\n",
			in_use, held, baseline, in_use > baseline + held ? "leaked" : "freed twice");
		fz_fail("mbufs in use == baseline + held");
	}
}

/* ---- sessions ---- */

static bool session_live(unsigned q)
{
	struct wg_peer_stats a, b;

	wg_peer_stats(H.far[q].peer, &a);
	wg_peer_stats(gw_peer[q], &b);
	return a.has_session && b.has_session && mono_ns() - session_at[q] < SESSION_RENEW_NS;
}

/* A handshake from far gateway q through the rings, confirmed to the gateway
 * by the far side's keepalive. False if it did not complete (an input may have
 * emptied the pool or filled the neighbour table). */
static bool handshake(unsigned q)
{
	uint64_t now = mono_ns();

	session_at[q] = now;
	wg_peer_initiate(H.far[q].peer, now);
	struct wg_peer_stats a, b;

	for (unsigned i = 0; i < 20; i++) {
		pump(false);
		wg_peer_stats(H.far[q].peer, &a);
		wg_peer_stats(gw_peer[q], &b);
		if (a.has_session && b.has_session)
			return true;
		usleep(1000);
	}
	fz_log("handshake with far gateway %u: far side %s, gateway side %s", q,
	       a.has_session ? "up" : "down", b.has_session ? "up" : "down");
	return false;
}

static void keep_sessions(void)
{
	for (unsigned q = 0; q < WORKERS; q++)
		if (!session_live(q))
			handshake(q);
}

/* ---- setup ---- */

static void peer_for(struct wg_peer **out, const uint8_t pub[WG_KEY_LEN], uint32_t ip,
		     const char *net4, uint8_t len4, const char *net6, uint8_t len6)
{
	struct wg_endpoint ep = { .family = AF_INET, .port = GWH_LISTEN_PORT };
	struct wg_peer *peer = wg_peer_add(gw.dev, pub);
	uint8_t a[16];

	if (!peer)
		die("wg_peer_add");
	ep.addr.v4.s_addr = ip;
	wg_peer_set_endpoint(peer, &ep);
	inet_pton(AF_INET, net4, a);
	wg_peer_allowedip_add(peer, AF_INET, a, len4);
	if (net6) {
		inet_pton(AF_INET6, net6, a);
		wg_peer_allowedip_add(peer, AF_INET6, a, len6);
	}
	if (out)
		*out = peer;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal[] = { "fuzz_gateway", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
			"--no-shconf", prefix, "-l", "0", "--log-level=error", NULL };
	uint8_t key[WG_KEY_LEN], fixture1[WG_KEY_LEN];
	char b64[3][45];

	(void)argc, (void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=fuzz_gateway%d", (int)getpid());
	if (sodium_init() < 0 || rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("EAL");
	fz_verbose = getenv("HOPMESH_FUZZ_VERBOSE") != NULL;

	snprintf(gw.cfg.name, sizeof(gw.cfg.name), "fuzzgw");
	gw.cfg.listen_port = GWH_LISTEN_PORT;
	gw.cfg.mtu = 1420;
	gw.cfg.workers = gw.workers = WORKERS;
	gw.cfg.hop_limit = HOP_LIMIT_MAX;
	gw.cfg.host_routes = 1024;
	gw.cfg.busy_poll = true;
	inet_pton(AF_INET, "10.1.0.1", &gw.cfg.port[PORT_VM].address);
	gw.cfg.port[PORT_VM].prefix_len = 16;
	inet_pton(AF_INET6, "fd00:1::1", &gw.cfg.port[PORT_VM].address6);
	gw.cfg.port[PORT_VM].prefix6_len = 64;
	inet_pton(AF_INET, "192.0.2.1", &gw.cfg.port[PORT_BACKBONE].address);
	gw.cfg.port[PORT_BACKBONE].prefix_len = 24;
	inet_pton(AF_INET6, "2001:db8::1", &gw.cfg.port[PORT_BACKBONE].address6);
	gw.cfg.port[PORT_BACKBONE].prefix6_len = 64;

	/* Ports first (their names go into the config), the pool once the
	 * gateway has made it: one pool for every frame, counted as one. */
	H.gw = &gw;
	H.who = "fuzz_gateway";
	H.W = WORKERS;
	if (!gwh_make_port(&H, PORT_VM, "fzvm", 1024) ||
	    !gwh_make_port(&H, PORT_BACKBONE, "fzbb", 1024))
		die("ring ports");
	fz_key(2, key);
	if (!gateway_setup(&gw, key))
		die("gateway_setup");
	wg_memzero(key, sizeof(key));
	H.pool = gw.pool;
	/* The ring PMD's ports have MAC 0 (and no way to set one), which would
	 * be a frame's source as often as not: the gateway gets addresses of its
	 * own, 02:00:00:00:fe:0p, as a NIC's would be. The ring ports do not
	 * filter by MAC. */
	for (unsigned p = 0; p < PORT_COUNT; p++)
		gw.mac[p] = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0xfe, (uint8_t)p } };
	/* LeakSanitizer does not scan DPDK's memory: what the lcores' contexts
	 * point to (their crypto contexts) would look leaked. */
	__lsan_register_root_region(gw.main_lc, sizeof(*gw.main_lc));
	for (unsigned w = 0; w < WORKERS; w++)
		__lsan_register_root_region(gw.worker_lc[w], sizeof(*gw.worker_lc[w]));
	gwh_learn_gateway(&H);
	fz_mac1_key(gw_mac1_key, H.gw_pub);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		fz_log("gateway port %u: MAC " RTE_ETHER_ADDR_PRT_FMT, p, RTE_ETHER_ADDR_BYTES(&gw.mac[p]));
	H.crypto = wg_crypto_new();
	if (!H.crypto)
		die("wg_crypto_new");

	for (unsigned q = 0; q < WORKERS; q++) {
		gwh_vm_init(&H, q);
		if (!gwh_far_init(&H, q))
			die("far gateway");
		wg_key_to_base64(b64[q], H.far[q].pub);
		far_relay_key[q] = relay_key_new(H.far[q].peer);
		if (!far_relay_key[q])
			die("far gateway's relay key");
	}
	/* Far gateway 0 is gateway 2 (10.100/16, fd64:100::/32), far gateway 1
	 * gateway 3 (10.101/16). Fixture identity 1 is gateway 4 (10.104/16),
	 * reached through 2 as a relay: its handshakes and packets go out with a
	 * relay header to far gateway 0, which answers nothing. */
	peer_for(&gw_peer[0], H.far[0].pub, H.far[0].ip, "10.100.0.0", 16, "fd64:100::", 32);
	peer_for(&gw_peer[1], H.far[1].pub, H.far[1].ip, "10.101.0.0", 16, "fd64:101::", 32);
	fz_pub(1, fixture1);
	wg_key_to_base64(b64[2], fixture1);
	peer_for(NULL, fixture1, htonl(0xc0000263) /* 192.0.2.99 */, "10.104.0.0", 16, "fd91::1", 128);
	wg_device_commit_allowedips(gw.dev);
	command("gateway self %u", SELF_ID);
	command("gateway set 2 %s overlay4=10.100.0.1 overlay6=fd64:100::1", b64[0]);
	command("gateway set 3 %s overlay4=10.101.0.1", b64[1]);
	command("gateway set 4 %s", b64[2]);
	command("route add 10.100.0.0/16 2");
	command("route add 10.100.7.7/32 2");
	command("route add fd64:100::/32 2");
	command("route add 10.101.0.0/16 3");
	command("route add 10.104.0.0/16 4");
	command("route add 10.105.0.0/16 5"); /* a gateway nobody configured */
	command("path set 4 2 4");
	routes_maintain(gw.routes, &gw);

	/* The neighbours introduce themselves; then the sessions. */
	for (unsigned q = 0; q < WORKERS; q++) {
		gwh_send_arp(&H, PORT_BACKBONE, q, &H.far[q].mac, H.far[q].ip, RTE_ARP_OP_REQUEST, NULL,
			     H.gw_ip[PORT_BACKBONE]);
		gwh_send_arp(&H, PORT_VM, q, &H.vm[q].mac, H.vm[q].ip, RTE_ARP_OP_REQUEST, NULL,
			     H.gw_ip[PORT_VM]);
	}
	pump(true);
	for (unsigned q = 0; q < WORKERS; q++)
		if (!handshake(q))
			die("no session with a far gateway");
	pump(true);
	baseline = rte_mempool_in_use_count(gw.pool) - held_mbufs();
	return 0;
}

/* ---- frames from the input ---- */

/* Lengths and the IPv4 header checksum of the IP packet at p (len bytes) made
 * right; with src, its source address too. */
static void fix_ip(uint8_t *p, uint32_t len, const uint8_t *src4, const uint8_t *src6)
{
	if (len >= IP4_LEN && p[0] >> 4 == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		ip->total_length = rte_cpu_to_be_16((uint16_t)len);
		if (src4)
			memcpy(&ip->src_addr, src4, 4);
		ip->hdr_checksum = 0;
		if ((uint32_t)(ip->version_ihl & 0xf) * 4 <= len)
			ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else if (len >= IP6_LEN && p[0] >> 4 == 6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)p;

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(len - IP6_LEN));
		if (src6)
			memcpy(ip6->src_addr, src6, 16);
	}
}

static uint16_t ether_type_of(const uint8_t *b, uint32_t len)
{
	if (len && b[0] >> 4 == 4)
		return RTE_ETHER_TYPE_IPV4;
	if (len && b[0] >> 4 == 6)
		return RTE_ETHER_TYPE_IPV6;
	return RTE_ETHER_TYPE_ARP;
}

static const struct rte_ether_addr *neighbour_mac(unsigned port, unsigned q)
{
	return port == PORT_VM ? &H.vm[q].mac : &H.far[q].mac;
}

/* The WireGuard message (and relay header) behind Ethernet, IPv4 and UDP from
 * far gateway `from`: m holds hdrs bytes of room, then the message. */
static void put_outer(uint8_t *p, unsigned from, uint32_t msg_len)
{
	gwh_put_eth(p, &H.gw_mac[PORT_BACKBONE], &H.far[from].mac, RTE_ETHER_TYPE_IPV4);
	gwh_put_ip_udp(p + RTE_ETHER_HDR_LEN, H.far[from].ip, H.gw_ip[PORT_BACKBONE], GWH_LISTEN_PORT,
		       GWH_LISTEN_PORT, msg_len);
}

/* The last hop of a path from far gateway src through far gateway via to
 * us; signed later, when the message behind it is in place. */
static void put_relay(uint8_t *p, unsigned src, unsigned via)
{
	uint16_t path[2] = { (uint16_t)(2 + via), SELF_ID };

	relay_hdr_init((struct relay_hdr *)p, (uint16_t)(2 + src), 2, RELAY_MAX_PATH, 2, path);
}

/* The tag of the relay header at p (len bytes with its message) made right
 * if its sender on this hop is a far gateway: as a member would sign it.
 * Headers a relay would drop before the tag (a hop outside the path) are
 * left as they are. */
static void sign_relay(uint8_t *p, uint32_t len)
{
	struct relay_hdr *r = (struct relay_hdr *)p;
	uint16_t prev;

	if (len < RELAY_LEN || r->type != RELAY_TYPE || r->hop < 1 || r->hop > r->path_len ||
	    r->path_len > RELAY_MAX_PATH)
		return;
	prev = relay_prev_hop(r);
	if (prev < 2 || prev >= 2 + WORKERS)
		return;
	relay_sign(far_relay_key[prev - 2], r, prev, rte_be_to_cpu_16(r->path[r->hop - 1]), p + RELAY_LEN,
		   len - RELAY_LEN);
}

/* A UDP payload of len bytes at p made what a member would send: mac1 on a
 * handshake message (behind a relay header or not), then the relay tag,
 * which covers a handshake message whole. */
static void authenticate(uint8_t *p, uint32_t len)
{
	uint32_t off = len >= RELAY_LEN && p[0] == RELAY_TYPE ? RELAY_LEN : 0;
	const uint8_t *msg = p + off;

	if ((len - off == WG_INITIATION_LEN && msg[0] == WG_MSG_INITIATION) ||
	    (len - off == WG_RESPONSE_LEN && msg[0] == WG_MSG_RESPONSE))
		fz_set_mac1(p + off, len - off, gw_mac1_key);
	if (off)
		sign_relay(p, len);
}

/* One frame into the rx ring of (port, q); false if it could not be built. */
static bool frame_in(uint8_t ctl, const uint8_t *b, uint32_t len)
{
	unsigned port = ctl & C_PORT ? PORT_BACKBONE : PORT_VM, q = (ctl & C_QUEUE) ? 1 : 0;
	unsigned form = (ctl & C_FORM) >> 2;
	bool relay = port == PORT_BACKBONE && (ctl & C_RELAY) && form >= FORM_UDP;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw.pool);
	uint32_t room;
	uint8_t *p;

	if (!m)
		return false;
	room = rte_pktmbuf_tailroom(m);
	if (form == FORM_RAW) {
		if (len > room)
			len = room;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
		memcpy(p, b, len);
	} else if (port == PORT_VM || form == FORM_ETH) {
		if (len > room - RTE_ETHER_HDR_LEN)
			len = room - RTE_ETHER_HDR_LEN;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + len));
		gwh_put_eth(p, &H.gw_mac[port], neighbour_mac(port, q), ether_type_of(b, len));
		memcpy(p + RTE_ETHER_HDR_LEN, b, len);
		if (port == PORT_VM && form >= FORM_UDP) {
			uint8_t src6[16] = { 0xfd, 0, 0, 1 };

			src6[15] = (uint8_t)(2 + q);
			fix_ip(p + RTE_ETHER_HDR_LEN, len,
			       form == FORM_SEALED ? (const uint8_t *)&H.vm[q].ip : NULL,
			       form == FORM_SEALED ? src6 : NULL);
		}
	} else if (form == FORM_UDP) {
		uint32_t rl = relay ? RELAY_LEN : 0;

		if (len > room - GWH_HDRS_LEN - rl)
			len = room - GWH_HDRS_LEN - rl;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(GWH_HDRS_LEN + rl + len));
		put_outer(p, q, rl + len);
		if (relay)
			put_relay(p + GWH_HDRS_LEN, q ^ 1, q);
		memcpy(p + GWH_HDRS_LEN + rl, b, len);
		if (ctl & C_MAC1)
			authenticate(p + GWH_HDRS_LEN, rl + len);
		else if (relay)
			sign_relay(p + GWH_HDRS_LEN, rl + len);
	} else {
		/* Sealed by far gateway q; relayed, it comes from the other one's
		 * address with q's id in the relay header. */
		uint32_t rl = relay ? RELAY_LEN : 0, off = GWH_HDRS_LEN + rl;
		struct wg_tx tx = { .peer = H.far[q].peer };

		if (len > room - off - WG_DATA_HEADER_LEN - WG_DATA_TAILROOM)
			len = room - off - WG_DATA_HEADER_LEN - WG_DATA_TAILROOM;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(off + WG_DATA_HEADER_LEN + len +
								 WG_DATA_TAILROOM));
		memcpy(p + off + WG_DATA_HEADER_LEN, b, len);
		fix_ip(p + off + WG_DATA_HEADER_LEN, len, NULL, NULL);
		tx.msg = p + off;
		tx.len = len;
		if (wg_encrypt_burst(H.crypto, &tx, 1, mono_ns()) != 1) {
			fz_log("far gateway %u cannot seal: %s", q, wg_drop_name(tx.status));
			rte_pktmbuf_free(m);
			return false;
		}
		put_outer(p, relay ? q ^ 1 : q, rl + tx.len);
		if (relay) {
			put_relay(p + GWH_HDRS_LEN, q, q ^ 1);
			sign_relay(p + GWH_HDRS_LEN, rl + tx.len);
		}
		rte_pktmbuf_trim(m, (uint16_t)(WG_DATA_HEADER_LEN + len + WG_DATA_TAILROOM - tx.len));
	}
	fz_log("frame: port %s queue %u form %u%s, %u bytes", port == PORT_VM ? "vm" : "backbone", q,
	       form, relay ? " relayed" : "", rte_pktmbuf_pkt_len(m));
	return gwh_inject(&H, port, q, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned frames = 0;

	keep_sessions();
	while (size >= 3 && frames < MAX_FRAMES) {
		uint8_t ctl = data[0];
		uint32_t len = (uint32_t)data[1] << 8 | data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = (uint32_t)size;
		frame_in(ctl, data, len);
		data += len;
		size -= len;
		frames++;
		if (ctl & (C_PUMP | C_TICK))
			pump(ctl & C_TICK);
	}
	pump(false);
	if (fz_verbose)
		print_counters();
	check_mbufs();
	return 0;
}
