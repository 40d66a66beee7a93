// SPDX-License-Identifier: MIT
/*
 * meshd's own socket, for `meshctl status`: what meshd measures and decides,
 * as it is in meshd's memory now, never recomputed by the client.
 *
 *   status_open:  a UNIX socket (mode 0600) beside the gateway's control
 *                 socket (meshd_sock.h: RUN_DIR/NAME.meshd for
 *                 RUN_DIR/NAME.ctl); what meshd's loop watches is an epoll
 *                 set of this module's own: the socket, its clients, and a
 *                 timer that ends clients that are too slow;
 *   status_serve: from the loop, whenever that set is ready: accepts, reads
 *                 and writes without ever waiting (non-blocking sockets, a
 *                 state per client), so a client that connects and sends
 *                 nothing, or reads nothing, costs the loop nothing;
 *                 request lines in the control socket's framing
 *                 (docs/CONTROL.md), so gw_ctl_get speaks it: "status" -> the
 *                 document below, "links" -> every link meshd routes on
 *                 (its own and its link-state database's: {"gateway","id",
 *                 "links":[{"from","from_id","to","to_id","up","rtt_ms",
 *                 "rtt_p50_ms","rtt_p90_ms","rtt_p99_ms","loss","jitter_ms",
 *                 "updated_unix_ms","age_ms"}]}), "registry" ->
 *                 {"registry_up":B,"registry_revision":R} (what "status" says
 *                 of them, without asking the gateway: cheap enough to poll),
 *                 "version" ->
 *                 {"protocol":1,"meshd":NAME}, anything else an error;
 *   status_close: the clients and the socket file go with meshd.
 *
 * A client has CLIENT_MS from its connection to the last byte of its replies
 * (request lines without "version" are answered when that time is up, and
 * the client has as long again); MAX_CLIENTS are served at once, a new one
 * taking the place of the oldest.
 * The replies are built when the request is complete, in one pass of the
 * loop, so each is a consistent snapshot of the state without a lock; the
 * one wait in building them is the gateway's own control socket, which meshd
 * asks on every pass anyway.
 *
 *   {"gateway":NAME,"id":N,"interface":I,"control":PATH,"registry":URL,
 *    "registry_up":B,"registry_revision":R,"gateway_up":B,"backbone_up":B,
 *    "links":[{"id","to","up","rtt_ms","rtt_p50_ms","rtt_p90_ms","rtt_p99_ms",
 *              "loss","jitter_ms","probes_sent","probes_received","since_reply_ms"}],
 *    "paths":[{"id","to","hops","via","cost_ms","path":[NAME,...],"path_ids":[ID,...]}],
 *    "installed":[{"id","to","hops","via","bound","source_routed","path":[NAME,...],
 *                  "path_ids":[ID,...]}],
 *    "installed_error":TEXT}
 *
 * "registry_revision" is the etcd revision of the registry snapshot meshd
 * holds (0: none yet, or the embedded registry): a write with a revision up
 * to it has reached this meshd. "paths" are the router's choices (meshd's memory); "installed" what the
 * gateway holds, read from its control socket ("dump gateways") for this
 * reply, so the two are of the same moment and `meshctl route show` can show
 * where they differ. Both paths start with this gateway and end with the
 * destination. "installed_error" is there instead of "installed" when the
 * gateway did not answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gwclient.h"
#include "meshd_sock.h"
#include "meshd.h"
#include "textbuf.h"

#define CLIENT_MS 2000     /* a client's whole exchange */
#define SWEEP_MS 250       /* how often slow clients are looked for */
#define MAX_CLIENTS 16
#define TAG_LISTEN MAX_CLIENTS
#define TAG_SWEEP (MAX_CLIENTS + 1)

struct client {
	int fd;                  /* -1: a free place */
	uint64_t since_ns;       /* accepted then */
	char req[512];
	size_t len;
	bool replying;           /* the request is read; out is being sent */
	char *out;
	size_t outlen, sent;
};

static char socket_path[200];
static struct client clients[MAX_CLIENTS];
static unsigned nclients;
static int set_fd = -1, listen_fd = -1, sweep_fd = -1;

static bool watch(int fd, uint32_t events, uint32_t tag, int op)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	return !epoll_ctl(set_fd, op, fd, &ev);
}

int status_open(struct meshd *d, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if (!meshd_sock_path(d->cfg.control, socket_path, sizeof(socket_path)) ||
	    strlen(socket_path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "status socket: path beside %s too long", d->cfg.control);
		socket_path[0] = '\0';
		return -1;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A file left by a meshd that did not exit cleanly. */
	unlink(socket_path);
	old = umask(0077);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 8)) {
		snprintf(err, errlen, "status socket %s: %s", socket_path, strerror(errno));
		umask(old);
		if (fd >= 0)
			close(fd);
		socket_path[0] = '\0';
		return -1;
	}
	umask(old);
	listen_fd = fd;
	set_fd = epoll_create1(EPOLL_CLOEXEC);
	sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (set_fd < 0 || sweep_fd < 0 || !watch(listen_fd, EPOLLIN, TAG_LISTEN, EPOLL_CTL_ADD) ||
	    !watch(sweep_fd, EPOLLIN, TAG_SWEEP, EPOLL_CTL_ADD)) {
		snprintf(err, errlen, "status socket %s: %s", socket_path, strerror(errno));
		status_close();
		return -1;
	}
	return set_fd;
}

static void client_end(struct client *c)
{
	close(c->fd); /* also takes it out of the set */
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	nclients--;
}

/* The set's fd is meshd's to close (it watches it); the rest is ours. */
void status_close(void)
{
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_end(&clients[i]);
	if (listen_fd >= 0)
		close(listen_fd);
	if (sweep_fd >= 0)
		close(sweep_fd);
	listen_fd = sweep_fd = -1;
	if (socket_path[0])
		unlink(socket_path);
	socket_path[0] = '\0';
}

static const char *name_of(const struct meshd *d, unsigned id)
{
	for (unsigned i = 0; i < d->snap.ngateways; i++)
		if (d->snap.gateways[i].id == id)
			return d->snap.gateways[i].name;
	return "";
}

static json_t *links_json(const struct meshd *d)
{
	json_t *a = json_array();

	for (unsigned id = 1; id <= d->link_top; id++) {
		const struct meshd_link *l = &d->link[id];

		if (!l->probed)
			continue;
		json_array_append_new(a, json_pack("{s:i,s:s,s:b,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I}",
			"id", (int)id, "to", name_of(d, id), "up", meshd_link_up(d, l),
			"rtt_ms", l->stats.rtt_ms, "rtt_p50_ms", link_percentile_ms(&l->stats, 0.5),
			"rtt_p90_ms", link_percentile_ms(&l->stats, 0.9),
			"rtt_p99_ms", link_percentile_ms(&l->stats, 0.99),
			"loss", link_loss(&l->stats, &d->cfg.probe), "jitter_ms", l->stats.jitter_ms,
			"probes_sent", (json_int_t)l->sent, "probes_received", (json_int_t)l->received,
			"since_reply_ms", (json_int_t)l->since_reply_ms));
	}
	return a;
}

/* The router's paths: what meshd installs as the gateway's paths. */
static json_t *paths_json(const struct meshd *d)
{
	json_t *a = json_array();

	for (unsigned i = 0; d->router && i < d->snap.ngateways; i++) {
		const struct reg_gateway *g = &d->snap.gateways[i];
		struct topo_path p;
		json_t *names, *ids;

		if (g->id == d->self_id || !topo_router_path(d->router, g->id, &p))
			continue;
		names = json_array();
		ids = json_array();
		for (unsigned h = 0; h <= p.hops; h++) {
			json_array_append_new(names, json_string(name_of(d, p.gw[h])));
			json_array_append_new(ids, json_integer(p.gw[h]));
		}
		json_array_append_new(a, json_pack("{s:i,s:s,s:i,s:s,s:f,s:o,s:o}", "id", (int)g->id, "to",
			g->name, "hops", (int)p.hops, "via", name_of(d, p.hops > 1 ? p.gw[1] : g->id),
			"cost_ms", p.cost, "path", names, "path_ids", ids));
	}
	return a;
}

/* What the gateway holds: its "dump gateways", read now (gw_dump_installed),
 * with names. NULL with err if it does not answer. */
static json_t *installed_json(const struct meshd *d, char *err, size_t errlen)
{
	char *reply = gw_ctl_get(d->cfg.control, "dump gateways", err, errlen);
	json_t *dump = reply ? json_loads(reply, 0, NULL) : NULL;
	json_t *a = gw_dump_installed(dump), *e, *h;
	size_t i, k;

	if (reply && !a)
		snprintf(err, errlen, "%s: no gateway list in its reply to dump gateways", d->cfg.control);
	free(reply);
	json_decref(dump);
	json_array_foreach(a, i, e) {
		json_t *names = json_array();

		json_array_foreach(json_object_get(e, "path_ids"), k, h)
			json_array_append_new(names, json_string(name_of(d, (unsigned)json_integer_value(h))));
		json_object_set_new(e, "path", names);
		json_object_set_new(e, "to", json_string(name_of(d, (unsigned)json_integer_value(
			json_object_get(e, "id")))));
		json_object_set_new(e, "via", json_string(name_of(d, (unsigned)json_integer_value(
			json_object_get(e, "via")))));
	}
	return a;
}

static json_t *lsdb_link_json(const struct meshd *d, unsigned from, const struct lsdb_link *l,
			      uint64_t updated_unix_ms, uint64_t age_ms)
{
	return json_pack("{s:s,s:i,s:s,s:i,s:b,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I}", "from", name_of(d, from),
		"from_id", (int)from, "to", name_of(d, l->to), "to_id", (int)l->to, "up", l->up,
		"rtt_ms", l->rtt_ms, "rtt_p50_ms", l->p50_ms, "rtt_p90_ms", l->p90_ms, "rtt_p99_ms", l->p99_ms,
		"loss", l->loss, "jitter_ms", l->jitter_ms, "updated_unix_ms", (json_int_t)updated_unix_ms,
		"age_ms", (json_int_t)age_ms);
}

/* Every link meshd routes on: ours as measured now, then each other
 * gateway's as its last LSA said (updated: when its meshd made it; age:
 * since it arrived). */
static char *links_text(const struct meshd *d)
{
	struct lsdb_link *own = calloc(REG_MAX_GATEWAY_ID, sizeof(*own));
	uint64_t now = meshd_mono_ns();
	struct timespec ts;
	json_t *a = json_array(), *j;
	unsigned n;
	char *s;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = own && d->self_id ? meshd_lsa_own(d, own) : 0;
	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, lsdb_link_json(d, d->self_id, &own[i],
			(uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, 0));
	free(own);
	for (unsigned id = 1; a && id <= REG_MAX_GATEWAY_ID; id++) {
		const struct lsdb_origin *o = d->lsdb.origin[id];

		for (unsigned p = 0; o && p < LSA_PARTS_MAX; p++) {
			const struct lsdb_part *k = o->part[p];

			for (unsigned i = 0; k && i < k->n; i++)
				json_array_append_new(a, lsdb_link_json(d, id, &k->link[i], k->seq / 1000000,
					now > k->heard_ns ? (now - k->heard_ns) / 1000000 : 0));
		}
	}
	j = a ? json_pack("{s:s,s:i,s:o}", "gateway", d->cfg.gateway, "id", (int)d->self_id, "links", a) : NULL;
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

static char *status_text(const struct meshd *d)
{
	json_t *j = json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:I,s:b,s:b,s:o,s:o}", "gateway", d->cfg.gateway,
		"id", (int)d->self_id, "interface", d->cfg.interface, "control", d->cfg.control,
		"registry", d->cfg.registry, "registry_up", d->registry_up, "registry_revision",
		(json_int_t)(d->have_snap ? d->snap.revision : 0), "gateway_up", d->gateway_up,
		"backbone_up", d->backbone_up, "links", links_json(d), "paths", paths_json(d));
	char err[256] = "", *s;
	json_t *installed = j ? installed_json(d, err, sizeof(err)) : NULL;

	if (installed)
		json_object_set_new(j, "installed", installed);
	else if (j)
		json_object_set_new(j, "installed_error", json_string(err[0] ? err : "out of memory"));
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* One request line's reply, appended to out. */
static void answer(const struct meshd *d, struct textbuf *out, const char *line)
{
	char *s;

	if (!strcmp(line, "status") && (s = status_text(d))) {
		textbuf_printf(out, "%s\n", s);
		free(s);
	} else if (!strcmp(line, "links") && (s = links_text(d))) {
		textbuf_printf(out, "%s\n", s);
		free(s);
	} else if (!strcmp(line, "registry")) {
		textbuf_printf(out, "{\"registry_up\":%s,\"registry_revision\":%lld}\n",
			       d->registry_up ? "true" : "false", d->have_snap ? d->snap.revision : 0LL);
	} else if (!strcmp(line, "version")) {
		textbuf_printf(out, "{\"protocol\":1,\"meshd\":\"%s\"}\n", d->cfg.gateway);
	} else {
		textbuf_printf(out, "{\"error\":\"%s\"}\n",
			       strcmp(line, "status") && strcmp(line, "links")
				       ? "unknown request: status, links, registry or version" : "out of memory");
	}
}

/* As much of the replies as the socket takes now; the client ends when all
 * is sent (or the socket fails), else it waits for room. */
static void client_write(struct client *c)
{
	while (c->sent < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0)
			break;
		c->sent += (size_t)w;
	}
	client_end(c);
}

static void client_reply(const struct meshd *d, struct client *c)
{
	struct textbuf out = { .s = NULL };
	char *line, *nl;

	c->req[c->len] = '\0';
	for (line = c->req; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (*line)
			answer(d, &out, line);
	}
	c->out = textbuf_take(&out);
	c->outlen = c->out ? strlen(c->out) : 0;
	c->sent = 0;
	c->replying = true;
	if (!watch(c->fd, EPOLLOUT, (uint32_t)(c - clients), EPOLL_CTL_MOD)) {
		client_end(c);
		return;
	}
	client_write(c);
}

/* What has arrived. The requests are complete at "version" (gw_ctl ends
 * every exchange with it), at the end of the stream, or with a full buffer. */
static void client_read(const struct meshd *d, struct client *c)
{
	while (c->len < sizeof(c->req) - 1) {
		ssize_t n = recv(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			client_end(c);
			return;
		}
		if (n == 0)
			break;
		c->len += (size_t)n;
		c->req[c->len] = '\0';
		if (!strncmp(c->req, "version\n", 8) || strstr(c->req, "\nversion\n"))
			break;
	}
	client_reply(d, c);
}

static void accept_all(const struct meshd *d, uint64_t now)
{
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct client *c = NULL, *oldest = NULL;

		for (unsigned i = 0; i < MAX_CLIENTS && !c; i++) {
			if (clients[i].fd < 0)
				c = &clients[i];
			else if (!oldest || clients[i].since_ns < oldest->since_ns)
				oldest = &clients[i];
		}
		if (!c) {
			/* Full: the newest is likelier to be someone waiting
			 * than the oldest, which has had its time. */
			client_end(oldest);
			c = oldest;
		}
		*c = (struct client){ .fd = fd, .since_ns = now };
		if (!watch(fd, EPOLLIN, (uint32_t)(c - clients), EPOLL_CTL_ADD)) {
			close(fd);
			c->fd = -1;
			continue;
		}
		if (nclients++ == 0) {
			struct itimerspec it = {
				.it_interval = { .tv_nsec = SWEEP_MS * 1000000L },
				.it_value = { .tv_nsec = SWEEP_MS * 1000000L },
			};

			timerfd_settime(sweep_fd, 0, &it, NULL);
		}
		/* Its request is most likely there already. */
		client_read(d, c);
	}
}

/* Clients past their time are ended, but one that sent whole request lines
 * without "version" (typed by hand, say) is answered first and given as long
 * again to read it; the timer stops with the last client. */
static void sweep(const struct meshd *d, uint64_t now)
{
	uint64_t expirations;
	struct itimerspec off = { .it_value = { 0 } };

	if (read(sweep_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0 || now - c->since_ns < CLIENT_MS * 1000000ULL)
			continue;
		if (!c->replying && memchr(c->req, '\n', c->len)) {
			c->since_ns = now;
			client_reply(d, c);
		} else {
			client_end(c);
		}
	}
	if (!nclients)
		timerfd_settime(sweep_fd, 0, &off, NULL);
}

void status_serve(struct meshd *d, int fd)
{
	struct epoll_event ev[MAX_CLIENTS + 2];
	uint64_t now = meshd_mono_ns();
	int n = epoll_wait(fd, ev, MAX_CLIENTS + 2, 0);

	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		struct client *c = tag < MAX_CLIENTS ? &clients[tag] : NULL;

		if (tag == TAG_LISTEN)
			accept_all(d, now);
		else if (tag == TAG_SWEEP)
			sweep(d, now);
		else if (c->fd < 0)
			continue; /* ended earlier in this batch */
		else if (ev[i].events & EPOLLERR)
			client_end(c);
		else if (c->replying)
			client_write(c);
		else
			client_read(d, c);
	}
}
