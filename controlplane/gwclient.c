// SPDX-License-Identifier: MIT
/* Talking to the local gateway over its two UNIX sockets (gwclient.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "gwclient.h"
#include "textbuf.h"
#include "unixsock.h"

#define TIMEOUT_MS 3000

/* The shared text buffer, as a step that says whether it still holds. */
static bool buf_add(struct textbuf *b, const char *p, size_t n)
{
	textbuf_append(b, p, n);
	return !b->failed;
}

/* A UAPI reply ends with "errno=N\n\n". */
static bool uapi_done(const struct textbuf *b, void *arg)
{
	(void)arg;
	return b->len >= 2 && !strcmp(b->s + b->len - 2, "\n\n") && strstr(b->s, "errno=");
}

static char *uapi_request(const char *name, const char *req, char *err, size_t errlen)
{
	char path[128];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", name);
	return unixsock_request(path, req, strlen(req), TIMEOUT_MS, uapi_done, NULL, err, errlen);
}

/* The reply to get=1 is parsed as it arrives, one line at a time in a fixed
 * buffer: it starts with the interface's private_key, which must not linger
 * in memory. The chunk read and the line live in this frame and are wiped
 * before it returns; nothing of the reply goes to the heap (a growing buffer
 * would leave copies behind at each realloc). */
struct peers_parse {
	struct gw_peer_state *list;
	unsigned count;
	bool saw_errno, done, nomem;
};

static void peers_line(struct peers_parse *p, char *line)
{
	struct gw_peer_state *cur = p->count ? &p->list[p->count - 1] : NULL;
	char *value = strchr(line, '=');

	if (!*line) {
		p->done = p->saw_errno; /* "errno=N" then an empty line ends it */
		return;
	}
	if (!value)
		return;
	*value++ = '\0';
	if (!strcmp(line, "errno")) {
		p->saw_errno = true;
	} else if (!strcmp(line, "public_key")) {
		struct gw_peer_state *grown = realloc(p->list, (p->count + 1) * sizeof(*p->list));

		if (!grown) {
			p->nomem = true;
			return;
		}
		p->list = grown;
		cur = &p->list[p->count++];
		memset(cur, 0, sizeof(*cur));
		sodium_hex2bin(cur->public_key, 32, value, strlen(value), NULL, NULL, NULL);
	} else if (!cur) {
		return; /* the interface's lines: private_key, listen_port, fwmark */
	} else if (!strcmp(line, "endpoint")) {
		snprintf(cur->endpoint, sizeof(cur->endpoint), "%s", value);
	} else if (!strcmp(line, "allowed_ip") && cur->nallowed < GW_MAX_ALLOWED) {
		snprintf(cur->allowed[cur->nallowed++], sizeof(cur->allowed[0]), "%s", value);
	} else if (!strcmp(line, "rx_bytes")) {
		cur->rx_bytes = strtoull(value, NULL, 10);
	} else if (!strcmp(line, "tx_bytes")) {
		cur->tx_bytes = strtoull(value, NULL, 10);
	} else if (!strcmp(line, "last_handshake_time_sec")) {
		cur->last_handshake_unix_ns += strtoull(value, NULL, 10) * 1000000000ULL;
	} else if (!strcmp(line, "last_handshake_time_nsec")) {
		cur->last_handshake_unix_ns += strtoull(value, NULL, 10);
	}
}

int gw_uapi_peers_at(const char *path, struct gw_peer_state **peers, unsigned *n, char *err,
		     size_t errlen)
{
	struct peers_parse p = { 0 };
	char chunk[4096], line[256];
	size_t len = 0;
	bool overlong = false;
	int fd = unixsock_connect(path, err, errlen);

	if (fd < 0)
		return -1;
	if (!unixsock_write_all(fd, "get=1\n\n", 7)) {
		snprintf(err, errlen, "%s: cannot send the request", path);
		close(fd);
		return -1;
	}
	while (!p.done && !p.nomem) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t got;
		int r = poll(&pf, 1, TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got = recv(fd, chunk, sizeof(chunk), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && !p.done && !p.nomem; i++) {
			if (chunk[i] != '\n') {
				if (len + 1 < sizeof(line))
					line[len++] = chunk[i];
				else
					overlong = true; /* no UAPI line is this long: skipped */
				continue;
			}
			line[len] = '\0';
			if (!overlong)
				peers_line(&p, line);
			len = 0;
			overlong = false;
		}
	}
	close(fd);
	sodium_memzero(chunk, sizeof(chunk));
	sodium_memzero(line, sizeof(line));
	if (!p.done) {
		snprintf(err, errlen, "%s: %s", path, p.nomem ? "out of memory" : "no complete reply");
		free(p.list);
		return -1;
	}
	*peers = p.list;
	*n = p.count;
	return 0;
}

int gw_uapi_peers(const char *name, struct gw_peer_state **peers, unsigned *n, char *err,
		  size_t errlen)
{
	char path[128];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", name);
	return gw_uapi_peers_at(path, peers, n, err, errlen);
}

int gw_uapi_set(const char *name, const char *body, char *err, size_t errlen)
{
	struct textbuf req = { 0 };
	char *reply, *e;
	int rc;

	if (!buf_add(&req, "set=1\n", 6) || !buf_add(&req, body, strlen(body)) ||
	    !buf_add(&req, "\n", 1)) {
		free(req.s);
		snprintf(err, errlen, "out of memory");
		return -1000;
	}
	reply = uapi_request(name, req.s, err, errlen);
	sodium_memzero(req.s, req.len);
	free(req.s);
	if (!reply)
		return -1000;
	e = strstr(reply, "errno=");
	rc = e ? atoi(e + 6) : -1000;
	if (rc)
		snprintf(err, errlen, "the gateway refused the change: errno %d", rc);
	free(reply);
	return rc;
}

/* Replies come in order, one per request except quiet successes; the
 * "version" request appended last is always answered, so its reply ends it. */
static bool ctl_done(const struct textbuf *b, void *arg)
{
	const char *v;

	(void)arg;
	return b->s && (v = strstr(b->s, "{\"protocol\"")) && strchr(v, '\n');
}

/* A reply is an error if it says so at its top level, or is no JSON object
 * at all (a reply cut or garbled counts against the request). */
static bool ctl_reply_is_error(const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	bool bad = !json_is_object(j) || json_object_get(j, "error");

	json_decref(j);
	return bad;
}

/* judge: count the error replies, which parses each one; gw_ctl_get's
 * caller parses its reply anyway and reads any error there, and a second
 * parse of meshd's every-pass dumps was as costly as the first. */
static int ctl_run(const char *path, const char *lines, void (*on_reply)(void *arg, const char *json),
		   void *arg, bool judge, char *err, size_t errlen)
{
	struct textbuf req = { 0 }, rep = { 0 };
	int fd = unixsock_connect(path, err, errlen), errors = 0;
	char *save = NULL;
	bool ok;

	if (fd < 0)
		return -1;
	ok = buf_add(&req, lines, strlen(lines)) &&
	     (!req.len || req.s[req.len - 1] == '\n' || buf_add(&req, "\n", 1)) &&
	     buf_add(&req, "version\n", 8) && unixsock_write_all(fd, req.s, req.len) &&
	     unixsock_read_until(fd, &rep, TIMEOUT_MS, ctl_done, NULL) && ctl_done(&rep, NULL);
	close(fd);
	free(req.s);
	if (!ok) {
		snprintf(err, errlen, "%s: no complete reply", path);
		free(rep.s);
		return -1;
	}
	for (char *line = strtok_r(rep.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "{\"protocol\"", 11))
			continue;
		if (judge && ctl_reply_is_error(line))
			errors++;
		if (on_reply)
			on_reply(arg, line);
	}
	free(rep.s);
	return errors;
}

int gw_ctl(const char *path, const char *lines, void (*on_reply)(void *arg, const char *json),
	   void *arg, char *err, size_t errlen)
{
	return ctl_run(path, lines, on_reply, arg, true, err, errlen);
}

static void keep_first(void *arg, const char *json)
{
	char **out = arg;

	if (!*out)
		*out = strdup(json);
}

char *gw_ctl_get(const char *path, const char *line, char *err, size_t errlen)
{
	char *out = NULL;

	if (ctl_run(path, line, keep_first, &out, false, err, errlen) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

void gw_ctl_conn_close(struct gw_ctl_conn *c)
{
	if (c->open)
		close(c->fd);
	c->open = false;
	free(c->rep.s);
	c->rep = (struct textbuf){ .s = NULL };
}

/* Nothing is owed on an idle connection: anything to read, or a hang-up,
 * means the gateway closed it (it restarted) or broke the protocol. */
static bool conn_idle_ok(const struct gw_ctl_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* The reply is read into c's buffer, emptied but not freed: meshd's dumps
 * grew a fresh one from nothing (and copied it out) twice a pass. */
const char *gw_ctl_conn_get(struct gw_ctl_conn *c, const char *path, const char *line, char *err,
			    size_t errlen)
{
	struct textbuf req = { 0 };
	char *nl;
	bool ok;

	if (c->open && !conn_idle_ok(c))
		gw_ctl_conn_close(c);
	if (!c->open) {
		if ((c->fd = unixsock_connect(path, err, errlen)) < 0)
			return NULL;
		c->open = true;
	}
	c->rep.len = 0;
	c->rep.failed = false;
	if (c->rep.s)
		c->rep.s[0] = '\0';
	ok = buf_add(&req, line, strlen(line)) && buf_add(&req, "\nversion\n", 9) &&
	     unixsock_write_all(c->fd, req.s, req.len) &&
	     unixsock_read_until(c->fd, &c->rep, TIMEOUT_MS, ctl_done, NULL) && ctl_done(&c->rep, NULL);
	free(req.s);
	/* The first line is the reply; the version's alone: none came. */
	if (!ok || !strncmp(c->rep.s, "{\"protocol\"", 11)) {
		snprintf(err, errlen, "%s: no complete reply", path);
		gw_ctl_conn_close(c);
		return NULL;
	}
	if ((nl = strchr(c->rep.s, '\n')))
		*nl = '\0';
	return c->rep.s;
}

json_t *gw_dump_gateway(json_t *dump, json_int_t id)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(dump, "gateways"), i, e)
		if (json_integer_value(json_object_get(e, "id")) == id)
			return e;
	return NULL;
}

unsigned gw_dump_path(json_t *entry, unsigned *ids, unsigned max)
{
	json_int_t id = json_integer_value(json_object_get(entry, "id"));
	json_int_t via = json_integer_value(json_object_get(entry, "via"));
	json_t *path = json_object_get(entry, "path"), *v;
	unsigned n = 0;
	size_t i;

	if (id <= 0 || !max)
		return 0;
	if (json_is_array(path) && json_array_size(path)) {
		json_array_foreach(path, i, v) {
			if (n == max || !json_is_integer(v) || json_integer_value(v) <= 0)
				return 0; /* a path we cannot read is not shown as one */
			ids[n++] = (unsigned)json_integer_value(v);
		}
		return ids[n - 1] == (unsigned)id ? n : 0;
	}
	/* "hops" above 2 without a "path": the gateway names its first relay
	 * only; the hops between are the relays' own business. */
	if (json_integer_value(json_object_get(entry, "hops")) > 1 && via > 0 && via != id && max >= 2)
		ids[n++] = (unsigned)via;
	ids[n++] = (unsigned)id;
	return n;
}

json_t *gw_dump_installed(json_t *dump)
{
	json_int_t self = json_integer_value(json_object_get(dump, "self"));
	json_t *list = json_object_get(dump, "gateways"), *a, *e;
	size_t i;

	if (!json_is_array(list) || !(a = json_array()))
		return NULL;
	json_array_foreach(list, i, e) {
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		unsigned path[GW_MAX_PATH];
		unsigned n = gw_dump_path(e, path, GW_MAX_PATH);
		json_t *ids;

		if (id == self || id <= 0)
			continue;
		ids = json_array();
		json_array_append_new(ids, json_integer(self));
		for (unsigned h = 0; h < n; h++)
			json_array_append_new(ids, json_integer(path[h]));
		json_array_append_new(a, json_pack("{s:I,s:I,s:I,s:b,s:b,s:o}", "id", id, "hops",
			json_integer_value(json_object_get(e, "hops")), "via", (json_int_t)(n > 1 ? path[0] : (unsigned)id),
			"bound", json_is_true(json_object_get(e, "bound")), "source_routed",
			json_is_array(json_object_get(e, "path")), "path_ids", ids));
	}
	return a;
}
