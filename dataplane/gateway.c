// SPDX-License-Identifier: MIT
/*
 * A gateway's life: set up its ports (a queue pair per worker), rings, tables
 * and WireGuard device; run its workers and its main lcore; tear it down.
 * hopmesh-gw (main.c) is this with a config file and a command line; the
 * pipeline benchmark (perf/) drives the same code over in-memory ports.
 */
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "gateway.h"
#include "lcore_io.h"
#include "mainlcore.h"
#include "neigh.h"
#include "lsa.h"
#include "probe.h"
#include "routes.h"
#include "worker.h"

#define MBUFS 16383
#define MBUF_CACHE 256
#define RING_SIZE 1024
/* The main lcore's queues (enum slow_queue). Handshakes: tunnels/ counts
 * 512 queued as "under load" (cookies), so room for twice that; ARP and ND
 * need little room: answers and learning are idempotent. */
static const unsigned slow_queue_size[SLOWQ__COUNT] = {
	[SLOWQ_HANDSHAKE] = 1024, [SLOWQ_ARP_ND] = 512, [SLOWQ_OTHER] = 1024,
};
#define HANDOFF_SIZE 4096
#define PORT_DESC 1024
#define RETIRE_QUEUE 4096

/* net_af_xdp prefers busy polling unless told busy_budget=0: the kernel then
 * holds a port's frames until the application polls again, which a worker
 * asleep in adaptive idle does not do (a ping every 10 ms took 2.4 ms per
 * round trip through two gateways instead of 0.3). The operator's devargs
 * are not ours to change; say so at start. */
static bool port_af_xdp_defers(const struct rte_eth_dev_info *info)
{
	const struct rte_devargs *da = rte_dev_devargs(info->device);
	const char *a = da && da->args ? da->args : "";

	if (strcmp(info->driver_name, "net_af_xdp"))
		return false;
	for (const char *p = strstr(a, "busy_budget=0"); p; p = strstr(p + 1, "busy_budget=0"))
		if ((p == a || p[-1] == ',') && (p[13] == ',' || p[13] == '\0'))
			return false;
	return true;
}

/* One queue pair per worker. Where the device spreads by hash (RSS, or
 * net_af_packet's fanout with qpairs=N), a peer's tunnel stays on one queue;
 * what lands elsewhere is handed over to the session's owner (ingress.c). */
static bool port_start(struct gateway *gw, unsigned which)
{
	const char *name = gw->cfg.port[which].device;
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t id, rxd = PORT_DESC, txd = PORT_DESC, q = (uint16_t)gw->workers;

	if (rte_eth_dev_get_port_by_name(name, &id)) {
		fprintf(stderr, "%s: no DPDK port named %s (check the --vdev in eal)\n", gw->cfg.name, name);
		return false;
	}
	if (rte_eth_dev_info_get(id, &info) || info.max_rx_queues < q || info.max_tx_queues < q) {
		fprintf(stderr, "%s: port %s has fewer than %u queue pairs (net_af_packet: qpairs=%u; net_af_xdp: queue_count=%u)\n",
			gw->cfg.name, name, q, q, q);
		return false;
	}
	if (!gw->cfg.busy_poll && port_af_xdp_defers(&info))
		fprintf(stderr, "%s: port %s: net_af_xdp without busy_budget=0 holds frames while an idle worker "
			"sleeps (up to a millisecond per gateway): add busy_budget=0 to its --vdev, or set idle = poll\n",
			gw->cfg.name, name);
	if (q > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
						   (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
	}
	if (rte_eth_dev_configure(id, q, q, &conf) || rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd))
		goto fail;
	for (uint16_t i = 0; i < q; i++)
		if (rte_eth_rx_queue_setup(id, i, rxd, rte_eth_dev_socket_id(id), NULL, gw->pool) ||
		    rte_eth_tx_queue_setup(id, i, txd, rte_eth_dev_socket_id(id), NULL))
			goto fail;
	if (rte_eth_dev_start(id) || rte_eth_macaddr_get(id, &gw->mac[which]))
		goto fail;
	/* Neighbour discovery speaks to multicast groups. */
	rte_eth_allmulticast_enable(id);
	gw->port_id[which] = id;
	return true;
fail:
	fprintf(stderr, "%s: cannot start port %s\n", gw->cfg.name, name);
	return false;
}

static void retired_free(void *p, void *elems, unsigned n)
{
	struct retired *e = elems;

	(void)p;
	for (unsigned i = 0; i < n; i++)
		e[i].destroy(e[i].obj);
}

static bool rcu_setup(struct gateway *gw)
{
	size_t size = rte_rcu_qsbr_get_memsize(gw->workers);
	struct rte_rcu_qsbr_dq_parameters params = {
		.name = "retired",
		.size = RETIRE_QUEUE,
		.esize = sizeof(struct retired),
		.trigger_reclaim_limit = RETIRE_QUEUE / 4,
		.max_reclaim_size = RETIRE_QUEUE / 4,
		.free_fn = retired_free,
	};

	gw->qsbr = rte_zmalloc("qsbr", size, RTE_CACHE_LINE_SIZE);
	if (!gw->qsbr || rte_rcu_qsbr_init(gw->qsbr, gw->workers))
		return false;
	params.v = gw->qsbr;
	gw->retired = rte_rcu_qsbr_dq_create(&params);
	return gw->retired != NULL;
}

static struct rte_ring *ring(const char *name, unsigned i, unsigned size, unsigned flags)
{
	char full[32];

	snprintf(full, sizeof(full), "%s%u", name, i);
	return rte_ring_create(full, size, (int)rte_socket_id(), flags);
}

bool gateway_setup(struct gateway *gw, const uint8_t key[WG_KEY_LEN])
{
	struct wg_tuning tuning;
	uint64_t now = mono_ns();
	char err[256] = "";

	gw->pool = rte_pktmbuf_pool_create("mbufs", MBUFS, MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	/* Workers hand to the main lcore; the main lcore to worker 0's tx. */
	for (unsigned q = 0; q < SLOWQ__COUNT; q++)
		if (!(gw->to_main[q] = ring("to_main", q, slow_queue_size[q], RING_F_SC_DEQ | RING_F_EXACT_SZ)))
			return false;
	gw->to_port[PORT_VM] = ring("to_vm", 0, RING_SIZE, RING_F_SP_ENQ | RING_F_SC_DEQ);
	gw->to_port[PORT_BACKBONE] = ring("to_backbone", 0, RING_SIZE, RING_F_SP_ENQ | RING_F_SC_DEQ);
	for (unsigned w = 0; w < gw->workers; w++)
		if (!(gw->handoff[w] = ring("handoff", w, HANDOFF_SIZE, RING_F_SC_DEQ)))
			return false;
	gw->owner = rte_zmalloc("owner", sizeof(*gw->owner) << INDEX_BITS, RTE_CACHE_LINE_SIZE);
	for (int p = 0; p < PORT_COUNT; p++)
		gw->neigh[p] = rte_zmalloc("neigh", sizeof(struct neigh_table), RTE_CACHE_LINE_SIZE);
	gw->main_lc = rte_zmalloc("main_lc", sizeof(struct lcore_ctx), RTE_CACHE_LINE_SIZE);
	for (unsigned w = 0; w < gw->workers; w++)
		gw->worker_lc[w] = rte_zmalloc("worker_lc", sizeof(struct lcore_ctx), RTE_CACHE_LINE_SIZE);
	gw->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	gw->tx_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!gw->pool || !gw->to_port[0] || !gw->to_port[1] || !gw->neigh[0] ||
	    !gw->neigh[1] || !gw->main_lc || !gw->owner || gw->wake_fd < 0 || gw->tx_wake_fd < 0 ||
	    !pkt_meta_register() ||
	    !rcu_setup(gw)) {
		fprintf(stderr, "%s: out of memory setting up (%s)\n", gw->cfg.name,
			rte_strerror(rte_errno));
		return false;
	}
	if (!probe_setup(gw) || !lsa_setup(gw)) {
		fprintf(stderr, "%s: out of memory for probes\n", gw->cfg.name);
		return false;
	}
	if (!(gw->routes = routes_new(gw->qsbr, gw->cfg.host_routes, gw->cfg.hop_limit, err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", gw->cfg.name, err);
		return false;
	}
	if (!port_start(gw, PORT_VM) || !port_start(gw, PORT_BACKBONE))
		return false;

	gw->dev = wg_device_new(main_lcore_wg_ops(gw), INDEX_BITS);
	if (!gw->dev)
		return false;
	wg_device_set_private_key(gw->dev, key, now);
	wg_device_set_listen_port(gw->dev, gw->cfg.listen_port);
	wg_device_set_mtu(gw->dev, gw->cfg.mtu);
	wg_device_get_tuning(gw->dev, &tuning);
	if (gw->cfg.rekey_after_time)
		tuning.rekey_after_time_s = gw->cfg.rekey_after_time;
	tuning.force_under_load = gw->cfg.force_cookie;
	wg_device_set_tuning(gw->dev, &tuning);

	*gw->main_lc = (struct lcore_ctx){ .gw = gw, .crypto = wg_crypto_new() };
	if (!gw->main_lc->crypto)
		return false;
	for (unsigned w = 0; w < gw->workers; w++) {
		if (!gw->worker_lc[w])
			return false;
		*gw->worker_lc[w] = (struct lcore_ctx){
			.gw = gw, .crypto = wg_crypto_new(), .is_worker = true, .worker = w,
			.ip_id = (uint16_t)(w << 12),
		};
		if (!gw->worker_lc[w]->crypto)
			return false;
	}
	gw->started_ns = now;
	return true;
}

void gateway_teardown(struct gateway *gw)
{
	for (int p = 0; p < PORT_COUNT; p++) {
		rte_eth_dev_stop(gw->port_id[p]);
		rte_eth_dev_close(gw->port_id[p]);
	}
	wg_device_free(gw->dev);
	if (gw->retired) {
		/* The workers have stopped: everything retired can go now. */
		rte_rcu_qsbr_dq_reclaim(gw->retired, ~0u, NULL, NULL, NULL);
		rte_rcu_qsbr_dq_delete(gw->retired);
	}
	routes_free(gw->routes);
	probe_free(gw);
	lsa_free(gw);
	if (gw->main_lc)
		wg_crypto_free(gw->main_lc->crypto);
	for (unsigned w = 0; w < gw->workers; w++)
		if (gw->worker_lc[w])
			wg_crypto_free(gw->worker_lc[w]->crypto);
}


int gateway_run(struct gateway *gw)
{
	unsigned lcore, w = 0;
	int rc;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (w < gw->workers)
			rte_eal_remote_launch(worker_run, gw->worker_lc[w++], lcore);
	}
	rc = main_lcore_run(gw);
	atomic_store(&gw->quit, true);
	rte_eal_mp_wait_lcore();
	return rc;
}
