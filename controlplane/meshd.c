// SPDX-License-Identifier: MIT
/*
 * meshd: one per gateway host.
 *
 *   meshd -c /etc/hopmesh/meshd.conf     (--help: usage on stdout)
 *
 * Its loop, every probe interval (50 ms by default):
 *   - read the gateway's probe results, update each link's statistics
 *     (links.c) and feed them to the topology with the other gateways' links
 *     as their LSAs said (meshd_lsa.c: read from the gateway, which receives
 *     them);
 *   - send our own links to every other gateway's meshd as an LSA when they
 *     changed, and every publish interval anyway (meshd_lsa.c);
 *   - recompute the paths (topology/, with hysteresis) and install any that
 *     changed as the gateway's paths (path set);
 * and when the registry's thread (meshd_registry.c) posts a load (on a
 * change, every few seconds, retrying when it failed), when the gateway
 * answers again after a silence (a restarted gateway is empty), or every few
 * seconds anyway:
 *   - make the gateway's peers, gateway ids and routes match the last good
 *     snapshot (reconcile.c); a failed load keeps it: the registry being
 *     down never tears a working tunnel down;
 * every second: render the metrics; and on request, our state to `meshctl
 * status` and our link-state database to `meshctl link show`
 * (meshd_status.c). Nothing here waits on the registry, and nothing of ours
 * is written to it: it holds configuration only.
 * Under systemd (sd_notify; nothing without NOTIFY_SOCKET): READY=1 after the
 * first registry pass, whether the registry and the gateway answered or not
 * (meshd's job is to wait for them); WATCHDOG=1 from the loop every half
 * interval; STOPPING=1 on SIGTERM.
 *
 * The config file (meshd_config.c), for instance:
 *
 *   [meshd]
 *   gateway = eu-west            # our name in the registry
 *   registry = dir:/var/lib/hopmesh/registry   # or etcd:http://h:2379,...
 *   interface = hm0              # the gateway's name: /var/run/wireguard/hm0.sock
 *   control = /var/run/hopmesh/hm0.ctl
 *   metrics = 127.0.0.1:9464     # Prometheus, GET /metrics; empty: off
 *   backbone_interface = eth1    # watched with netlink; empty: none
 *   underlay = 4                 # 6: peers' IPv6 endpoints first
 *   probe_interval_ms = 50       # 10-60000
 *   detect_multiplier = 5        # silent intervals before a link is down
 *   link_holddown_ms = 1000      # back up after a down: answered this long,
 *   link_holddown_max_ms = 8000  # doubled per flap up to this,
 *   link_flap_halflife_ms = 30000 # the flap count halving this often,
 *   link_holddown_loss_pct = 20  # and probe loss under this over it
 *   publish_interval_ms = 1000   # our LSA sent again at least this often
 *   link_lease_s = 5             # and kept by the other meshds this long
 *   registry_compact_s = 60      # etcd history kept (lowest id compacts)
 *   hold_ms = 1000               # a better path must stay better this long
 *   [etcd]                       # optional: ca_file, cert_file, key_file,
 *                                # username, password, timeout_ms
 */
#include <inttypes.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "gwclient.h"
#include "meshd.h"

#define RECONCILE_EVERY_NS (5 * 1000000000ULL)
#define RETRY_EVERY_NS (1000000000ULL)
#define DEFERRED_EVERY_NS (100 * 1000000ULL)

uint64_t meshd_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void meshd_log(struct meshd *d, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "meshd %s: ", d->cfg.gateway);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the registry ---- */

static void log_new_problems(struct meshd *d)
{
	for (unsigned i = 0; i < d->snap.nproblems; i++) {
		bool seen = false;

		for (unsigned k = 0; k < d->nproblems_seen && !seen; k++)
			seen = !strcmp(d->problems_seen[k], d->snap.problems[i]);
		if (seen)
			continue;
		meshd_log(d, "registry entry ignored: %s", d->snap.problems[i]);
		char **grown = realloc(d->problems_seen, (d->nproblems_seen + 1) * sizeof(char *));

		if (grown) {
			d->problems_seen = grown;
			d->problems_seen[d->nproblems_seen++] = strdup(d->snap.problems[i]);
		}
	}
}

/* Our own links, as we measure them now (every tick); the other gateways'
 * come from their LSAs (meshd_lsa.c). */
static void feed_own_links(struct meshd *d)
{
	for (unsigned id = 1; id <= d->link_top; id++) {
		struct meshd_link *l = &d->link[id];

		if (!l->probed || !d->self_id || id == d->self_id)
			continue;
		topofeed_link(d->topo, d->self_id, (uint16_t)id, l->stats.rtt_ms,
			      link_loss(&l->stats, &d->cfg.probe), meshd_link_up(d, l),
			      l->stats.jitter_ms);
	}
}

/* Links relays said are down, out of our paths until NOTICE_HOLD_NS has
 * passed (the relay's LSA decides after that). */
static void feed_notices(struct meshd *d)
{
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		const struct meshd_notice *n = &d->notice[id];

		if (n->at_ns && d->now_ns - n->at_ns < NOTICE_HOLD_NS)
			topo_set_link_down(d->topo, (uint16_t)id, n->unreachable);
	}
}

static void apply_policy(struct meshd *d)
{
	topofeed_policy(&d->snap, &d->policy);
	d->policy.hold_ns = d->cfg.hold_ms * 1000000ULL;
}

/* A load's result from the registry's thread: fresh (moved in) or NULL with
 * err. False when it failed (the last good state stays). */
static bool took_registry(struct meshd *d, struct reg_snapshot *fresh, const char *err)
{
	if (!fresh) {
		if (d->registry_up)
			meshd_log(d, "registry unreachable (%s): keeping the last good state", err);
		d->registry_up = false;
		return false;
	}
	if (!d->registry_up && d->have_snap)
		meshd_log(d, "registry reachable again");
	d->registry_up = true;
	if (d->have_snap)
		reg_snapshot_free(&d->snap);
	d->snap = *fresh;
	d->have_snap = true;
	d->self = NULL;
	for (unsigned i = 0; i < d->snap.ngateways; i++)
		if (!strcmp(d->snap.gateways[i].name, d->cfg.gateway))
			d->self = &d->snap.gateways[i];
	/* Said once per absence: the registry reloads every second or so. */
	if (!d->self && !d->said_absent)
		meshd_log(d, "no gateway named %s in the registry: waiting", d->cfg.gateway);
	else if (d->self && d->said_absent)
		meshd_log(d, "gateway %s is in the registry (id %u)", d->cfg.gateway, d->self->id);
	d->said_absent = !d->self;
	if (d->self && d->self_id != d->self->id) {
		topo_router_free(d->router);
		d->self_id = d->self->id;
		d->router = topo_router_new(d->topo, d->self_id);
	}
	log_new_problems(d);
	apply_policy(d);
	return true;
}

/* At start a path through a relay can look best only because our own
 * direct link has not answered yet while the others' links are already
 * advertised, or answered first with a sample our own stall delayed; within
 * the switch margins it would then stay for good. So no routing (traffic
 * goes direct) until the RTT estimate of a link to every gateway of the
 * registry is seeded (links.h: the least of its first samples), or for
 * WARMUP_NS at most. */
#define WARMUP_NS (3 * 1000000000ULL)

static bool routing_ready(struct meshd *d, uint64_t now)
{
	if (!d->routing_since_ns)
		d->routing_since_ns = now;
	if (now - d->routing_since_ns >= WARMUP_NS)
		return true;
	for (unsigned i = 0; i < d->snap.ngateways; i++) {
		unsigned id = d->snap.gateways[i].id;

		if (id != d->self_id && !(d->link[id].probed && link_rtt_seeded(&d->link[id].stats)))
			return false;
	}
	return true;
}

/* For SETTLE_NS from the first look at routing, a better path needs no
 * margins, only the hold and an advantage above the two paths' jitter: the
 * margins keep settled paths from moving on noise, and would otherwise keep
 * for good a choice made while links were still settling (a gateway that
 * stalled at start left a region on a relay 10 % dearer than direct). */
#define SETTLE_NS (15 * 1000000000ULL)

static unsigned route_update(struct meshd *d, uint64_t now)
{
	struct topo_policy p = d->policy;

	if (now - d->routing_since_ns < SETTLE_NS)
		p.switch_margin = p.switch_margin_ms = 0;
	return topo_router_update(d->router, &p, now);
}

static void reconcile_all(struct meshd *d, uint64_t now)
{
	d->now_ns = now;
	if (!d->self)
		return;
	if (reconcile_peers(d) && reconcile_control(d))
		d->reconciled_ns = now;
	topofeed_gateways(&d->feed, d->topo, &d->snap);
	topofeed_lsdb(d->topo, &d->snap, &d->lsdb, d->self_id);
	feed_own_links(d);
	feed_notices(d);
	if (d->router && routing_ready(d, now)) {
		route_update(d, now);
		install_paths(d);
	}
}

/* ---- links ---- */

/* Every link that ever answered (two at least) silent at once: the cause is
 * on this side (the gateway stalled on a busy host, or its own uplink), not
 * in any one link, so none of them is damped for it. */
static bool local_stall(struct meshd *d)
{
	unsigned n = 0;

	for (unsigned id = 1; id <= d->link_top; id++) {
		const struct meshd_link *ml = &d->link[id];

		if (!ml->probed || (!ml->stats.ever_up && !ml->stats.flaps_total))
			continue;
		if (ml->stats.answering)
			return false;
		n++;
	}
	if (n < 2)
		return false;
	for (unsigned id = 1; id <= d->link_top; id++)
		if (d->link[id].probed)
			link_not_a_flap(&d->link[id].stats);
	return true;
}

/* The relays' notices in a probe dump: true if one is new. A count that
 * changed is a new notice (fewer: the gateway restarted); one older than
 * the hold is history, not news. */
static bool read_notices(struct meshd *d, json_t *dump, uint64_t now)
{
	bool fresh = false;
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(dump, "notices"), i, n) {
		json_int_t from = json_integer_value(json_object_get(n, "from"));
		json_int_t to = json_integer_value(json_object_get(n, "unreachable"));
		json_int_t age = json_integer_value(json_object_get(n, "age_ms"));
		uint64_t count = (uint64_t)json_integer_value(json_object_get(n, "count"));
		struct meshd_notice *mn;

		if (from < 1 || from > REG_MAX_GATEWAY_ID || to < 1 || to > REG_MAX_GATEWAY_ID || age < 0)
			continue;
		mn = &d->notice[from];
		if (count == mn->count)
			continue;
		mn->count = count;
		if ((uint64_t)age * 1000000ULL >= NOTICE_HOLD_NS)
			continue;
		if (!mn->at_ns || mn->unreachable != to || now - mn->at_ns >= NOTICE_HOLD_NS)
			meshd_log(d, "gateway %lld says its link to gateway %lld is down: not relaying through "
				  "it for %llu ms", (long long)from, (long long)to, NOTICE_HOLD_NS / 1000000ULL);
		mn->unreachable = (uint16_t)to;
		mn->at_ns = now - (uint64_t)age * 1000000ULL;
		fresh = true;
	}
	return fresh;
}

static bool read_probes(struct meshd *d, uint64_t now)
{
	char err[256] = "", req[48];
	const char *reply;
	json_t *j, *l, *s;
	bool changed = false, stalled, went[REG_MAX_GATEWAY_ID + 1] = { false };
	size_t i, k;

	/* Only the samples newer than those we read: a dump consumes nothing,
	 * so an operator's `hopmesh-ctl NAME probe dump` takes none from us. */
	snprintf(req, sizeof(req), "probe dump %" PRIu64, d->probe_seq);
	reply = gw_ctl_conn_get(&d->ctl, d->cfg.control, req, err, sizeof(err));
	j = reply ? json_loads(reply, 0, NULL) : NULL;
	/* Said on each change only: this runs every probe interval. */
	if (!j && d->gateway_answered)
		meshd_log(d, "the gateway does not answer (%s): keeping its state", err[0] ? err : "bad reply");
	else if (j && !d->gateway_answered)
		meshd_log(d, "the gateway answers on %s", d->cfg.control);
	d->gateway_answered = j != NULL;
	if (!j) {
		d->gateway_up = false;
		return false;
	}
	d->gateway_up = true;
	d->probe_interval_ms = (unsigned)json_integer_value(json_object_get(j, "interval_ms"));
	d->probe_seq = (uint64_t)json_integer_value(json_object_get(j, "seq"));
	json_array_foreach(json_object_get(j, "links"), i, l) {
		unsigned id = (unsigned)json_integer_value(json_object_get(l, "gateway"));
		json_t *samples = json_object_get(l, "rtt_us");
		uint32_t rtt[256];
		unsigned n = 0;
		struct meshd_link *ml;

		if (!id || id > REG_MAX_GATEWAY_ID)
			continue;
		ml = &d->link[id];
		json_array_foreach(samples, k, s)
			if (n < 256)
				rtt[n++] = (uint32_t)json_integer_value(s);
		ml->probed = true;
		if (id > d->link_top)
			d->link_top = id;
		ml->sent = (uint64_t)json_integer_value(json_object_get(l, "sent"));
		ml->received = (uint64_t)json_integer_value(json_object_get(l, "received"));
		ml->since_reply_ms = json_integer_value(json_object_get(l, "since_reply_ms"));
		went[id] = link_feed(&ml->stats, &d->cfg.probe, ml->sent, ml->received, ml->since_reply_ms,
				     rtt, n, now);
	}
	changed |= read_notices(d, j, now);
	json_decref(j);
	stalled = local_stall(d);
	for (unsigned id = 1; id <= d->link_top; id++) {
		struct meshd_link *ml = &d->link[id];

		if (!went[id])
			continue;
		changed = true;
		if (ml->stats.up)
			meshd_log(d, "link to gateway %u up", id);
		else if (stalled)
			meshd_log(d, "link to gateway %u down (every link silent at once: this gateway "
				  "stalled, not a flap)", id);
		else
			meshd_log(d, "link to gateway %u down (flap %" PRIu64 "; back up once it has "
				  "answered for %" PRIu64 " ms with probe loss under %.0f %%)", id,
				  ml->stats.flaps_total, link_holddown_ms(&ml->stats, &d->cfg.probe),
				  d->cfg.probe.holddown_max_loss * 100);
	}
	return changed;
}

/* ---- the loop ---- */

static int timer_open(unsigned interval_ms)
{
	struct itimerspec it = {
		.it_interval = { .tv_sec = interval_ms / 1000, .tv_nsec = (long)(interval_ms % 1000) * 1000000 },
		.it_value = { .tv_sec = 0, .tv_nsec = 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0)
		timerfd_settime(fd, 0, &it, NULL);
	return fd;
}

static int run(struct meshd *d)
{
	struct epoll_event ev = { .events = EPOLLIN }, events[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timer_open(d->cfg.probe.interval_ms);
	int rfd = meshd_registry_fd(d->registry), nfd, sfd, stfd;
	uint64_t last_reconcile = 0, last_render = 0, last_install = 0, last_deferred = 0;
	uint64_t wd_half_ns = 0, last_pet = 0;
	bool ready = false, loaded = false;
	char err[256];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	err[0] = '\0';
	nfd = netlink_open(d, err, sizeof(err));
	if (nfd < 0 && err[0])
		meshd_log(d, "%s: not watching the backbone interface", err);
	err[0] = '\0';
	stfd = status_open(d, err, sizeof(err));
	if (stfd < 0)
		meshd_log(d, "%s: meshctl status will not see meshd", err);
	for (int fd, k = 0; k < 5; k++) {
		fd = k == 0 ? tfd : k == 1 ? rfd : k == 2 ? nfd : k == 3 ? sfd : stfd;
		if (fd < 0)
			continue;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	meshd_log(d, "running: registry %s, gateway %s", d->cfg.registry, d->cfg.interface);
	if (sd_watchdog_enabled(0, &wd_half_ns) > 0)
		wd_half_ns *= 500; /* us to ns, halved */
	else
		wd_half_ns = 0;
	for (;;) {
		int n = epoll_wait(ep, events, 8, -1);
		uint64_t now = meshd_mono_ns(), expirations;
		bool links_changed = false, reconcile_now = false;

		/* Interrupted (a stop and continue, a debugger): nothing is
		 * ready, so this is no pass; what is ready is seen at once. */
		if (n < 0 && errno == EINTR)
			continue;
		/* The loop comes round every probe interval (the timer): a pass
		 * stuck (in the registry, the gateway's sockets) stops the pets. */
		if (wd_half_ns && now - last_pet >= wd_half_ns) {
			last_pet = now;
			sd_notify(0, "WATCHDOG=1");
		}
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == sfd) {
				sd_notify(0, "STOPPING=1\nSTATUS=stopping");
				meshd_log(d, "stopping");
				close(ep);
				if (stfd >= 0)
					close(stfd);
				status_close();
				return 0;
			} else if (fd == stfd) {
				status_serve(d, stfd);
			} else if (fd == rfd) {
				struct reg_snapshot fresh;
				int got = meshd_registry_take(d->registry, &fresh, err, sizeof(err));

				if (got) {
					took_registry(d, got > 0 ? &fresh : NULL, err);
					loaded = reconcile_now = true;
				}
			} else if (fd == nfd) {
				bool was = d->backbone_up;

				netlink_input(d, fd);
				links_changed |= was != d->backbone_up;
			} else if (fd == tfd && read(tfd, &expirations, sizeof(expirations)) > 0) {
				bool was = d->gateway_answered;

				links_changed |= read_probes(d, now);
				links_changed |= meshd_lsa_read(d, now);
				/* Back after a silence: most likely a restarted
				 * gateway with no peers or routes. Now, not at the
				 * next periodic pass; and a fresh load after. */
				if (!was && d->gateway_answered) {
					reconcile_now = true;
					meshd_registry_reload(d->registry);
				}
			}
		}
		/* The gateway made to match: on a load, every few seconds, or
		 * to retry until it matches. */
		if (reconcile_now || (loaded && now - last_reconcile >= RECONCILE_EVERY_NS) ||
		    (loaded && !d->reconciled_ns && now - last_reconcile >= RETRY_EVERY_NS)) {
			last_reconcile = now;
			if (d->have_snap)
				reconcile_all(d, now);
			if (!ready && loaded) {
				ready = true;
				sd_notifyf(0, "READY=1\nSTATUS=registry %s, gateway %s",
					   d->registry_up ? "read" : "not read (retrying)",
					   d->gateway_answered ? "answers" : "does not answer (waiting)");
			}
			continue;
		}
		/* Bindings held back for a handshake: look again soon, not at
		 * the next reload only. */
		if (d->any_deferred && now - last_deferred >= DEFERRED_EVERY_NS) {
			last_deferred = now;
			reconcile_all(d, now);
			continue;
		}
		meshd_lsa_originate(d, now);
		if (!d->router)
			continue;
		/* Paths: at once when a link changed state, else every 100 ms. */
		if (routing_ready(d, now) && (links_changed || now - last_install >= 100000000ULL)) {
			d->now_ns = now;
			feed_own_links(d);
			feed_notices(d);
			if (route_update(d, now) || links_changed ||
			    now - last_install >= 1000000000ULL) {
				install_paths(d);
				last_install = now;
			}
		}
		if (now - last_render >= 1000000000ULL) {
			last_render = now;
			metrics_render(d);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: meshd -c CONFIG\n"
		   "  -c, --config FILE  the config file (docs/OPERATIONS.md)\n"
		   "  -h, --help         this text\n"
		   "meshd keeps the local gateway's peers, gateway ids, routes and paths as the\n"
		   "registry says, measures its links and advertises them to the other meshds;\n"
		   "`meshctl status` and `meshctl link show` read its state on the socket beside\n"
		   "the gateway's control socket.\n");
}

int main(int argc, char **argv)
{
	static struct meshd d;
	struct registry *reg;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	char err[512];
	sigset_t set;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt != 'c') {
			usage(stderr);
			return 2;
		}
		config = optarg;
	}
	meshd_malloc_tune();
	if (!config || optind != argc) {
		fprintf(stderr, "meshd: %s\n", config ? "unexpected argument" : "missing -c CONFIG");
		usage(stderr);
		return 2;
	}
	if (!meshd_config_load(&d.cfg, config, err, sizeof(err))) {
		fprintf(stderr, "meshd: %s\n", err);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_init(&d.metrics_lock, NULL);
	reg = registry_open(d.cfg.registry, &d.cfg.reg, err, sizeof(err));
	d.topo = topo_new(REG_MAX_GATEWAY_ID);
	if (!reg || !d.topo) {
		fprintf(stderr, "meshd: %s\n", reg ? "out of memory" : err);
		return 1;
	}
	topo_policy_default(&d.policy);
	d.gateway_answered = true; /* so that a gateway never reached is logged */
	if (!metrics_start(&d, err, sizeof(err))) {
		fprintf(stderr, "meshd: %s\n", err);
		return 1;
	}
	d.registry = meshd_registry_start(&d, reg, err, sizeof(err));
	if (!d.registry) {
		fprintf(stderr, "meshd: %s\n", err);
		return 1;
	}
	rc = run(&d);
	meshd_registry_stop(d.registry);
	metrics_stop();
	topo_router_free(d.router);
	topo_free(d.topo);
	if (d.have_snap)
		reg_snapshot_free(&d.snap);
	registry_close(reg);
	for (unsigned i = 0; i < d.nproblems_seen; i++)
		free(d.problems_seen[i]);
	free(d.problems_seen);
	free(d.metrics_text);
	free(d.peers);
	free(d.lsa_sent);
	free(d.lsa_now);
	lsdb_clear(&d.lsdb);
	gw_ctl_conn_close(&d.ctl);
	return rc;
}
