// SPDX-License-Identifier: MIT
/*
 * The main lcore: everything that is not the per-packet path. It sleeps in
 * epoll until a socket has work, the worker wakes it (eventfd), a signal
 * arrives, or the next tick is due (every TICK_MS: protocol timers, ARP upkeep,
 * reclamation of memory the worker may have been reading).
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

#include "gateway.h"

#define TICK_MS 10
#define SLOW_BURST 32

int slow_meta_offset = -1;

bool slow_meta_register(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "hopmesh_slow_meta",
		.size = sizeof(struct slow_meta),
		.align = __alignof__(struct slow_meta),
	};

	slow_meta_offset = rte_mbuf_dynfield_register(&desc);
	return slow_meta_offset >= 0;
}

void control_drop(struct gateway *gw, struct rte_mbuf *m, unsigned reason)
{
	COUNT(&gw->control_ctx->counters, drop[reason], 1);
	rte_pktmbuf_free(m);
}

void control_transmit(struct gateway *gw, unsigned port, struct rte_mbuf *m)
{
	struct counters *c = &gw->control_ctx->counters;

	COUNT(c, tx_packets[port], 1);
	COUNT(c, tx_bytes[port], rte_pktmbuf_pkt_len(m));
	if (rte_ring_enqueue(gw->to_port[port], m))
		control_drop(gw, m, C_TX_FULL);
}

/* ---- what tunnels/ asks of us ---- */

static void wg_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		    const uint8_t *msg, size_t len)
{
	struct gateway *gw = ctx;
	struct lcore_ctx *lc = gw->control_ctx;
	struct rte_mbuf *m;
	uint8_t *dst;

	(void)peer;
	if (to->family != AF_INET) {
		COUNT(&lc->counters, drop[WG_DROP_NO_ENDPOINT], 1);
		return;
	}
	m = rte_pktmbuf_alloc(gw->pool);
	if (!m) {
		COUNT(&lc->counters, drop[C_NO_MBUF], 1);
		return;
	}
	dst = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) +
							   sizeof(struct rte_udp_hdr) + len));
	if (!dst) {
		control_drop(gw, m, C_TOO_BIG);
		return;
	}
	memcpy(dst + RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr), msg,
	       len);
	pipeline_encap_udp4(lc, m, to, (uint32_t)len, 0);
	pipeline_emit(lc, PORT_BACKBONE, m, pipeline_next_hop(gw, to->addr.v4.s_addr));
}

static void wg_session_ready(void *ctx, struct wg_peer *peer)
{
	struct gateway *gw = ctx;
	void *pkts[WG_MAX_STAGED_PACKETS];
	unsigned n = wg_peer_unstage(peer, pkts, WG_MAX_STAGED_PACKETS);

	pipeline_send_to_peer(gw->control_ctx, peer, (struct rte_mbuf **)pkts, n, mono_ns());
}

static void wg_free_staged(void *ctx, void *pkt)
{
	struct gateway *gw = ctx;

	control_drop(gw, pkt, C_STAGED_DROPPED);
}

static void wg_retire(void *ctx, void *obj, void (*destroy)(void *))
{
	struct gateway *gw = ctx;
	struct retired r = { obj, destroy };

	if (rte_rcu_qsbr_dq_enqueue(gw->retired, &r) == 0)
		return;
	/* Queue full even after reclaiming: wait out a grace period here. */
	rte_rcu_qsbr_synchronize(gw->qsbr, RTE_QSBR_THRID_INVALID);
	destroy(obj);
}

static void wg_log(void *ctx, int level, const char *msg)
{
	struct gateway *gw = ctx;

	fprintf(stderr, "%s: %s%s\n", gw->cfg.name, level ? "" : "error: ", msg);
}

const struct wg_ops *control_wg_ops(struct gateway *gw)
{
	static struct wg_ops ops = {
		.send = wg_send,
		.session_ready = wg_session_ready,
		.free_staged = wg_free_staged,
		.retire = wg_retire,
		.log = wg_log,
	};

	ops.ctx = gw;
	return &ops;
}

/* ---- packets the worker handed over ---- */

static void handshake_input(struct gateway *gw, struct rte_mbuf *m, unsigned backlog, uint64_t now)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip + (ip->version_ihl & 0xf) * 4);
	struct wg_endpoint from = { .family = AF_INET };
	enum wg_drop r;

	/* The worker checked the framing and the message's exact length. */
	from.addr.v4.s_addr = ip->src_addr;
	from.port = rte_be_to_cpu_16(udp->src_port);
	COUNT(&gw->control_ctx->counters, handshakes_received, 1);
	r = wg_device_handshake_rx(gw->dev, (const uint8_t *)(udp + 1),
				   rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp), &from, backlog, now);
	if (r != WG_OK)
		COUNT(&gw->control_ctx->counters, drop[r], 1);
	rte_pktmbuf_free(m);
}

/* A VM packet (at its IP header) that found no session: stage it on its peer. */
static void stage_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	struct wg_peer *peer;

	if ((ip[0] >> 4) == 4)
		peer = wg_allowedips_lookup(gw->dev, AF_INET, ip + 16);
	else
		peer = wg_allowedips_lookup(gw->dev, AF_INET6, ip + 24);
	if (!peer) {
		control_drop(gw, m, C_NO_PEER);
		return;
	}
	wg_peer_stage(peer, m, now);
}

static unsigned drain_slow_path(struct gateway *gw, uint64_t now)
{
	struct rte_mbuf *pkts[SLOW_BURST];
	unsigned total = 0, n, remaining;

	while ((n = rte_ring_dequeue_burst(gw->to_control, (void **)pkts, SLOW_BURST, &remaining))) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			struct slow_meta *meta = slow_meta(m);

			switch (meta->reason) {
			case SLOW_HANDSHAKE:
				handshake_input(gw, m, remaining + (n - i - 1), now);
				break;
			case SLOW_ARP:
				neigh_input_arp(gw, meta->port, m, now);
				break;
			case SLOW_LOCAL:
				local_input(gw, meta->port, m);
				break;
			case SLOW_STAGE:
				stage_input(gw, m, now);
				break;
			case SLOW_NEIGH:
				neigh_resolve(gw, meta->port, meta->next_hop, m, now);
				break;
			default:
				control_drop(gw, m, C_MALFORMED_FRAME);
			}
		}
		total += n;
		/* Do not starve sockets and timers under a flood. */
		if (total >= 1024)
			break;
	}
	return total;
}

/* ---- the loop ---- */

static int signal_fd_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int control_run(struct gateway *gw)
{
	static char wake_tag, signal_tag;
	struct epoll_event ev, events[32];
	struct sock_server *uapi, *ctl;
	char err[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), sfd = signal_fd_open();
	uint64_t last_tick = 0, ticks = 0;

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
	fprintf(stderr, "%s: running, data-path AEAD %s; wg show %s\n", gw->cfg.name,
		wg_crypto_backend(gw->worker_ctx->crypto), gw->cfg.name);

	while (!atomic_load(&gw->quit)) {
		int n = epoll_wait(ep, events, 32, TICK_MS);
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
		drain_slow_path(gw, now);
		if (now - last_tick >= TICK_MS * 1000000ULL) {
			last_tick = now;
			wg_device_tick(gw->dev, now);
			if (++ticks % 25 == 0)
				neigh_maintain(gw, now);
			rte_rcu_qsbr_dq_reclaim(gw->retired, 256, NULL, NULL, NULL);
		}
	}
	fprintf(stderr, "%s: stopping\n", gw->cfg.name);
	sock_server_close(uapi);
	sock_server_close(ctl);
	close(sfd);
	close(ep);
	return 0;
}
