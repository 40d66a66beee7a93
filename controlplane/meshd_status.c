// SPDX-License-Identifier: MIT
/*
 * meshd's own socket, for `meshctl status`: what meshd measures and decides,
 * as it is in meshd's memory now, never recomputed by the client.
 *
 *   status_open:  a UNIX socket (mode 0600) beside the gateway's control
 *                 socket (meshd_sock.h: RUN_DIR/NAME.meshd for
 *                 RUN_DIR/NAME.ctl), watched by meshd's loop;
 *   status_serve: one connection, from the loop: request lines in the control
 *                 socket's framing (docs/CONTROL.md), so gw_ctl_get speaks
 *                 it: "status" -> the document below, "version" ->
 *                 {"protocol":1,"meshd":NAME}, anything else an error;
 *   status_close: the socket file goes with meshd.
 *
 * The loop serves it, so the reply is a consistent snapshot of the state
 * without a lock; a client that connects and sends nothing holds the loop for
 * IO_TIMEOUT_MS at most.
 *
 *   {"gateway":NAME,"id":N,"interface":I,"control":PATH,"registry":URL,
 *    "registry_up":B,"gateway_up":B,"backbone_up":B,
 *    "links":[{"id","to","up","rtt_ms","rtt_p50_ms","rtt_p90_ms","rtt_p99_ms",
 *              "loss","jitter_ms","probes_sent","probes_received","since_reply_ms"}],
 *    "paths":[{"id","to","hops","via","cost_ms","path":[NAME,...],"path_ids":[ID,...]}],
 *    "installed":[{"id","to","hops","via","bound","source_routed","path":[NAME,...],
 *                  "path_ids":[ID,...]}],
 *    "installed_error":TEXT}
 *
 * "paths" are the router's choices (meshd's memory); "installed" what the
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "gwclient.h"
#include "meshd_sock.h"
#include "meshd.h"

#define IO_TIMEOUT_MS 200

static char socket_path[200];

int status_open(struct meshd *d, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

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
	return fd;
}

void status_close(void)
{
	if (socket_path[0])
		unlink(socket_path);
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

	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
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

/* The router's paths: what meshd installs as the gateway's nexthops. */
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

static char *status_text(const struct meshd *d)
{
	json_t *j = json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:b,s:b,s:o,s:o}", "gateway", d->cfg.gateway,
		"id", (int)d->self_id, "interface", d->cfg.interface, "control", d->cfg.control,
		"registry", d->cfg.registry, "registry_up", d->registry_up, "gateway_up", d->gateway_up,
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

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void answer(const struct meshd *d, int fd, const char *line)
{
	char *s = NULL, buf[160];

	if (!strcmp(line, "status") && (s = status_text(d))) {
		send_all(fd, s, strlen(s));
		send_all(fd, "\n", 1);
		free(s);
		return;
	}
	if (!strcmp(line, "version"))
		snprintf(buf, sizeof(buf), "{\"protocol\":1,\"meshd\":\"%s\"}\n", d->cfg.gateway);
	else
		snprintf(buf, sizeof(buf), "{\"error\":\"%s\"}\n",
			 strcmp(line, "status") ? "unknown request: status or version" : "out of memory");
	send_all(fd, buf, strlen(buf));
}

void status_serve(struct meshd *d, int lfd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = IO_TIMEOUT_MS * 1000 };
	char req[512], *line, *nl;
	size_t len = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Requests up to "version" (gw_ctl ends every exchange with it), EOF,
	 * the timeout, or a full buffer. */
	while (len < sizeof(req) - 1) {
		ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (!strncmp(req, "version\n", 8) || strstr(req, "\nversion\n"))
			break;
	}
	req[len] = '\0';
	for (line = req; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (*line)
			answer(d, fd, line);
	}
	close(fd);
}
