// SPDX-License-Identifier: MIT
/*
 * The main lcore: everything that is not the per-packet path. It sleeps in
 * epoll until a socket has work, a worker wakes it (eventfd), a signal arrives,
 * or the next tick is due (every TICK_MS: protocol timers, neighbour upkeep,
 * route table upkeep, reclamation of memory the workers may have been reading).
 *
 *   main_lcore_run(): epoll (wake-up eventfd, signals, UAPI and control sockets)
 *     main_lcore_drain(): what the workers handed over (gw->to_main[], the
 *       queues taking turns, handshakes first, each within a budget), by reason:
 *       handshakes -> tunnels/ (wg_device_handshake_rx*); ARP, ND, neighbours
 *       -> neigh.c; ICMP, fragments -> icmp.c; staged -> the peer's queue;
 *       our overlay address -> overlay.c (probes, LSAs)
 *     main_lcore_tick(), every TICK_MS: tunnels/ timers, routes_maintain(),
 *       probe_tick(), neighbour priming and upkeep, RCU reclamation
 *     systemd (sd_notify; nothing without NOTIFY_SOCKET): READY=1 once the
 *       sockets listen, WATCHDOG=1 every half interval while every worker
 *       comes round its loop (watchdog.h), STOPPING=1 on the way out
 *   tunnels/ calls back through main_lcore_wg_ops(): handshake messages out
 *   by underlay.c, staged packets out by egress.c once a session is up, a
 *   peer added or removed bound to or unbound from its gateway (routes.c).
 *
 * Frames it sends leave through lcore_io.c's rings to worker 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <rte_ip.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include <systemd/sd-daemon.h>

#include "ctl.h"
#include "egress.h"
#include "gateway.h"
#include "icmp.h"
#include "lcore_io.h"
#include "mainlcore.h"
#include "neigh.h"
#include "overlay.h"
#include "probe.h"
#include "routes.h"
#include "sock.h"
#include "uapi_socket.h"
#include "underlay.h"
#include "watchdog.h"

#define TICK_MS 10 /* also the finest probe interval */
#define SLOW_BURST 32u

/* Set while a handshake message is being answered. What tunnels/ sends
 * meanwhile (a response, a cookie reply, the keepalive that confirms a
 * session, all to the message's sender) goes back the way the message came:
 * to the address it came from, or through the relays it came by, first to the
 * previous hop that authenticated it (underlay_send_back()). That way has just
 * been shown to work; our own path to the sender need not: during a key
 * rotation it may run through a relay that does not know the new key yet, and
 * a lost response costs the initiator REKEY_TIMEOUT. Main lcore only. */
static struct {
	const struct wg_endpoint *from; /* non-NULL while answering */
	const struct relay_hdr *relay;	/* the message's relay header, if relayed */
} answering;

/* ---- what tunnels/ asks of us ---- */

static bool wg_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		    const uint8_t *msg, size_t len)
{
	struct gateway *gw = ctx;
	struct lcore_ctx *lc = gw->main_lc;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	uint8_t *dst;

	if (!m) {
		COUNT(&lc->counters, drop[GW_DROP_NO_MBUF], 1);
		return false;
	}
	dst = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (!dst) {
		lcore_drop(gw->main_lc, m, GW_DROP_TOO_BIG);
		return false;
	}
	memcpy(dst, msg, len);
	if (answering.from ? answering.relay ? underlay_send_back(lc, m, answering.relay)
					     : underlay_send_message(lc, m, NULL, answering.from)
			   : underlay_send_message(lc, m, peer, to))
		return true;
	lcore_drop(gw->main_lc, m, WG_DROP_NO_ENDPOINT);
	return false;
}

static void wg_session_ready(void *ctx, struct wg_peer *peer)
{
	struct gateway *gw = ctx;
	void *pkts[WG_MAX_STAGED_PACKETS];
	unsigned n = wg_peer_unstage(peer, pkts, WG_MAX_STAGED_PACKETS);

	egress_send_to_peer(gw->main_lc, peer, (struct rte_mbuf **)pkts, n, mono_ns());
}

static void wg_free_staged(void *ctx, void *pkt)
{
	struct gateway *gw = ctx;

	lcore_drop(gw->main_lc, pkt, GW_DROP_STAGED_DROPPED);
}

static void wg_peer_added(void *ctx, struct wg_peer *peer)
{
	struct gateway *gw = ctx;

	routes_peer_added(gw->routes, gw, peer);
}

static void wg_peer_removed(void *ctx, struct wg_peer *peer)
{
	struct gateway *gw = ctx;

	routes_peer_removed(gw->routes, gw, peer);
}

static void wg_retire(void *ctx, void *obj, void (*destroy)(void *))
{
	lcore_retire(ctx, obj, destroy);
}

static void wg_log(void *ctx, int level, const char *msg)
{
	struct gateway *gw = ctx;

	fprintf(stderr, "%s: %s%s\n", gw->cfg.name, level ? "" : "error: ", msg);
}

const struct wg_ops *main_lcore_wg_ops(struct gateway *gw)
{
	static struct wg_ops ops = {
		.send = wg_send,
		.session_ready = wg_session_ready,
		.free_staged = wg_free_staged,
		.peer_added = wg_peer_added,
		.peer_removed = wg_peer_removed,
		.retire = wg_retire,
		.log = wg_log,
	};

	ops.ctx = gw;
	return &ops;
}

/* ---- packets the workers handed over ---- */

/* The UDP payload and source of a frame the worker already validated. */
static uint8_t *udp_payload(struct rte_mbuf *m, struct wg_endpoint *from, uint32_t *len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_udp_hdr *udp;

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		udp = (struct rte_udp_hdr *)(ip6 + 1);
		from->family = AF_INET6;
		memcpy(&from->addr.v6, ip6->src_addr, 16);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		udp = (struct rte_udp_hdr *)((uint8_t *)ip + (ip->version_ihl & 0xf) * 4);
		from->family = AF_INET;
		from->addr.v4.s_addr = ip->src_addr;
	}
	from->port = rte_be_to_cpu_16(udp->src_port);
	*len = rte_be_to_cpu_16(udp->dgram_len) - (uint32_t)sizeof(*udp);
	return (uint8_t *)(udp + 1);
}

static void handshake_input(struct gateway *gw, struct rte_mbuf *m, unsigned backlog, uint64_t now)
{
	const struct pkt_meta *meta = pkt_meta(m);
	struct wg_endpoint from;
	enum wg_drop r;
	uint32_t len;
	uint8_t *msg = udp_payload(m, &from, &len);

	COUNT(&gw->main_lc->counters, handshakes_received, 1);
	answering.from = &from;
	if (meta->relayed) {
		/* The worker checked the header (relay_check()) and its tag. */
		answering.relay = (const struct relay_hdr *)msg;
		r = wg_device_handshake_rx_relayed(gw->dev, msg + RELAY_LEN, len - RELAY_LEN, &from,
						   backlog, now);
	} else {
		r = wg_device_handshake_rx(gw->dev, msg, len, &from, backlog, now);
	}
	answering.from = NULL;
	answering.relay = NULL;
	if (r != WG_OK)
		COUNT(&gw->main_lc->counters, drop[r], 1);
	rte_pktmbuf_free(m);
}

/* A VM packet (at its IP header) that found no session: stage it on its peer. */
static void stage_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	bool v4 = (ip[0] >> 4) == 4;
	sa_family_t family = v4 ? AF_INET : AF_INET6;
	const uint8_t *dst = ip + (v4 ? 16 : 24);
	uint16_t id = routes_lookup(gw->routes, family, dst);
	struct gw_entry *e = routes_gateway(gw->routes, id);
	struct wg_peer *peer = e ? atomic_load(&e->peer) : wg_allowedips_lookup(gw->dev, family, dst);

	if (!peer) {
		lcore_drop(gw->main_lc, m, GW_DROP_NO_PEER);
		return;
	}
	wg_peer_stage(peer, m, now);
}

static void slow_input(struct gateway *gw, struct rte_mbuf *m, unsigned backlog, uint64_t now)
{
	struct pkt_meta *meta = pkt_meta(m);

	switch (meta->reason) {
	case SLOW_HANDSHAKE:
		handshake_input(gw, m, backlog, now);
		break;
	case SLOW_ARP:
		neigh_input_arp(gw, meta->port, m, now);
		break;
	case SLOW_ND:
		neigh_input_nd(gw, meta->port, m, now);
		break;
	case SLOW_LOCAL:
		icmp_local_input(gw, meta->port, m);
		break;
	case SLOW_STAGE:
		stage_input(gw, m, now);
		break;
	case SLOW_NEIGH:
		neigh_resolve(gw, meta->port, meta->next_hop, m, now);
		break;
	case SLOW_ICMP:
		icmp_error_input(gw, m, now);
		break;
	case SLOW_FRAGMENT:
		icmp_fragment_input(gw, m, now);
		break;
	case SLOW_OVERLAY:
		overlay_input(gw, m, meta->src_gw, now);
		break;
	case SLOW_NOTICE:
		probe_notice_input(gw, m, meta->src_gw, now);
		break;
	default:
		lcore_drop(gw->main_lc, m, GW_DROP_MALFORMED_FRAME);
	}
}

/* The queues take turns, handshakes first in each turn, a burst each: a
 * packet waits behind at most one burst of each other class per turn, however
 * full their queues. Each queue gives at most its budget per call, so that a
 * call ends (sockets and timers get their turn) and a flood of ARP requests
 * cannot fill worker 0's transmit ring with answers in one go. Handshakes
 * cost the most (two to four X25519 each), hence the smallest budget. */
static const unsigned slow_budget[SLOWQ__COUNT] = {
	[SLOWQ_HANDSHAKE] = 128, [SLOWQ_ARP_ND] = 256, [SLOWQ_OTHER] = 512,
};

unsigned main_lcore_drain(struct gateway *gw, uint64_t now)
{
	unsigned taken[SLOWQ__COUNT] = { 0 }, total = 0;
	bool more = true;

	while (more) {
		more = false;
		for (unsigned q = 0; q < SLOWQ__COUNT; q++) {
			struct rte_mbuf *pkts[SLOW_BURST];
			unsigned want = RTE_MIN(SLOW_BURST, slow_budget[q] - taken[q]), remaining = 0;
			unsigned n = want ? rte_ring_dequeue_burst(gw->to_main[q], (void **)pkts, want,
								   &remaining)
					  : 0;

			/* tunnels/ judges "under load" by the handshakes still
			 * queued behind this one. */
			for (unsigned i = 0; i < n; i++)
				slow_input(gw, pkts[i], remaining + (n - i - 1), now);
			taken[q] += n;
			total += n;
			if (remaining && taken[q] < slow_budget[q])
				more = true;
		}
	}
	return total;
}

bool main_lcore_pending(const struct gateway *gw)
{
	for (unsigned q = 0; q < SLOWQ__COUNT; q++)
		if (rte_ring_count(gw->to_main[q]))
			return true;
	return false;
}

/* Every peer's underlay next hop is kept resolved: a path that switches to a
 * gateway we have not talked to directly must not wait for ARP. */
struct prime_arg {
	struct gateway *gw;
	uint64_t now; /* the tick's: neigh_maintain() right after judges ages by it */
};

static bool prime_peer(struct wg_peer *peer, void *arg)
{
	const struct prime_arg *a = arg;
	struct wg_endpoint ep;
	uint8_t key[16];

	wg_peer_endpoint(peer, &ep);
	if (ep.family != AF_UNSPEC) {
		underlay_next_hop(a->gw, &ep, key);
		neigh_prime(a->gw, PORT_BACKBONE, key, a->now);
	}
	return true;
}

void main_lcore_tick(struct gateway *gw, uint64_t now, uint64_t tick)
{
	wg_device_tick(gw->dev, now);
	routes_maintain(gw->routes, gw);
	probe_tick(gw, now);
	if (tick % 25 == 0) {
		struct prime_arg a = { .gw = gw, .now = now };

		wg_device_for_each_peer(gw->dev, prime_peer, &a);
		neigh_maintain(gw, now);
	}
	rte_rcu_qsbr_dq_reclaim(gw->retired, 256, NULL, NULL, NULL);
}

/* ---- the loop ---- */

static void worker_polls(const struct gateway *gw, uint64_t *polls)
{
	for (unsigned w = 0; w < gw->workers; w++)
		polls[w] = atomic_load_explicit(&gw->worker_lc[w]->polls, memory_order_relaxed);
}

/* systemd's watchdog, if it asked for one: petted from this loop, so a stuck
 * main lcore stops it too; and only while every worker moves. A stall is
 * logged once, and so is the recovery. */
static void watchdog_tick(struct gateway *gw, struct gw_watchdog *wd, bool *stalled, uint64_t now)
{
	uint64_t polls[MAX_WORKERS];
	unsigned who = 0;

	worker_polls(gw, polls);
	switch (gw_watchdog_check(wd, polls, now, &who)) {
	case GW_WATCHDOG_PET:
		if (*stalled) {
			fprintf(stderr, "%s: every worker polls again: watchdog petted again\n",
				gw->cfg.name);
			sd_notifyf(0, "STATUS=running, %u worker%s", gw->workers, gw->workers == 1 ? "" : "s");
		}
		*stalled = false;
		sd_notify(0, "WATCHDOG=1");
		break;
	case GW_WATCHDOG_STALLED:
		if (!*stalled) {
			fprintf(stderr, "%s: worker %u has not polled in %llu ms: not petting the systemd watchdog\n",
				gw->cfg.name, who, (unsigned long long)(wd->half_ns / 1000000));
			sd_notifyf(0, "STATUS=worker %u stalled", who);
		}
		*stalled = true;
		break;
	case GW_WATCHDOG_WAIT:
		break;
	}
}

static int signal_fd_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main_lcore_run(struct gateway *gw)
{
	static char wake_tag, signal_tag;
	struct epoll_event ev, events[32];
	struct sock_server *uapi, *ctl;
	char err[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), sfd = signal_fd_open();
	uint64_t last_tick = 0, ticks = 0, wd_usec = 0, polls[MAX_WORKERS];
	struct gw_watchdog wd;
	bool stalled = false;

	if (ep < 0 || sfd < 0) {
		fprintf(stderr, "%s: epoll/signalfd: %s\n", gw->cfg.name, strerror(errno));
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &wake_tag;
	epoll_ctl(ep, EPOLL_CTL_ADD, gw->wake_fd, &ev);
	ev.data.ptr = &signal_tag;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	uapi = uapi_socket_open(gw, ep, err, sizeof(err));
	ctl = uapi ? ctl_socket_open(gw, ep, err, sizeof(err)) : NULL;
	if (!uapi || !ctl) {
		fprintf(stderr, "%s: %s\n", gw->cfg.name, err);
		sock_server_close(uapi);
		close(sfd);
		close(ep);
		return 1;
	}
	fprintf(stderr, "%s: running, %u worker%s, data-path AEAD %s; wg show %s\n", gw->cfg.name,
		gw->workers, gw->workers == 1 ? "" : "s", wg_crypto_backend(gw->worker_lc[0]->crypto),
		gw->cfg.name);
	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	worker_polls(gw, polls);
	gw_watchdog_init(&wd, wd_usec, gw->workers, polls, mono_ns());
	sd_notifyf(0, "READY=1\nSTATUS=running, %u worker%s", gw->workers, gw->workers == 1 ? "" : "s");

	while (!atomic_load(&gw->quit)) {
		/* Work left from a bounded drain: look at the sockets, don't sleep. */
		int n = epoll_wait(ep, events, 32, main_lcore_pending(gw) ? 0 : TICK_MS);
		uint64_t now;

		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;
			uint64_t v;

			if (tag == &wake_tag) {
				if (read(gw->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
				atomic_store(&gw->wake_pending, false);
			} else if (tag == &signal_tag) {
				atomic_store(&gw->quit, true);
			} else if (!sock_server_event(uapi, tag, events[i].events)) {
				sock_server_event(ctl, tag, events[i].events);
			}
		}
		now = mono_ns();
		main_lcore_drain(gw, now);
		if (now - last_tick >= TICK_MS * 1000000ULL) {
			last_tick = now;
			main_lcore_tick(gw, now, ++ticks);
			watchdog_tick(gw, &wd, &stalled, now);
		}
	}
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	fprintf(stderr, "%s: stopping\n", gw->cfg.name);
	sock_server_close(uapi);
	sock_server_close(ctl);
	close(sfd);
	close(ep);
	return 0;
}
