// SPDX-License-Identifier: MIT
/*
 * The cross-platform userspace API (https://www.wireguard.com/xplatform/): the
 * "get=1" / "set=1" text protocol wg(8) speaks over /var/run/wireguard/NAME.sock.
 * Semantics follow wireguard-go, the reference userspace implementation: a set
 * applies line by line and its first error is reported as a negative errno.
 * Unlike wireguard-go, which answers at the bad line and then misreads the rest
 * of the request as new operations (and closes), we skip to the request's
 * closing blank line, answer there and keep the connection: wg(8) sees the same.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

#define UAPI_LINE_MAX 4096

enum uapi_state { IDLE, GET_BLANK, SET, SET_SKIP };

struct wg_uapi {
	struct wg_device *dev;
	enum uapi_state state;
	char line[UAPI_LINE_MAX];
	size_t line_len;
	int error; /* first error of the current set, as a positive errno */

	/* The peer a set is configuring. A "dummy" absorbs lines for a peer that
	 * was removed, is our own key, or must not be created (update_only). */
	struct wg_peer *peer;
	bool in_peer_section, dummy, created, keepalive_on;

	char *out;
	size_t out_len, out_cap;
};

struct wg_uapi *wg_uapi_new(struct wg_device *dev)
{
	struct wg_uapi *u = calloc(1, sizeof(*u));

	if (u)
		u->dev = dev;
	return u;
}

void wg_uapi_free(struct wg_uapi *u)
{
	if (!u)
		return;
	/* A private key may have passed through the line buffer or the output. */
	wg_memzero(u->line, sizeof(u->line));
	if (u->out) {
		wg_memzero(u->out, u->out_cap);
		free(u->out);
	}
	free(u);
}

const char *wg_uapi_output(const struct wg_uapi *u, size_t *len)
{
	*len = u->out_len;
	return u->out;
}

void wg_uapi_consumed(struct wg_uapi *u, size_t n)
{
	if (n > u->out_len)
		n = u->out_len;
	if (!n)
		return; /* out is still NULL before the first reply */
	memmove(u->out, u->out + n, u->out_len - n);
	wg_memzero(u->out + u->out_len - n, n);
	u->out_len -= n;
}

static void out_printf(struct wg_uapi *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct wg_uapi *u, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (u->out_len + (size_t)n + 1 > u->out_cap) {
		size_t cap = (u->out_cap ? u->out_cap : 4096);
		char *grown;

		while (cap < u->out_len + (size_t)n + 1)
			cap *= 2;
		/* Not realloc: the old buffer may hold a private key and must be wiped. */
		grown = malloc(cap);
		if (!grown)
			return;
		if (u->out) {
			memcpy(grown, u->out, u->out_len);
			wg_memzero(u->out, u->out_cap);
			free(u->out);
		}
		u->out = grown;
		u->out_cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(u->out + u->out_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	u->out_len += (size_t)n;
}

static void out_key(struct wg_uapi *u, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char hex[65];

	wg_key_to_hex(hex, key);
	out_printf(u, "%s=%s\n", name, hex);
	wg_memzero(hex, sizeof(hex));
}

static void out_allowedip(void *arg, sa_family_t family, const uint8_t *addr, uint8_t cidr)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, buf, sizeof(buf));
	out_printf(arg, "allowed_ip=%s/%u\n", buf, cidr);
}

static bool out_peer(struct wg_peer *peer, void *arg)
{
	struct wg_uapi *u = arg;
	struct wg_peer_stats st;
	struct wg_endpoint ep;
	char epbuf[80];

	wg_peer_stats(peer, &st);
	out_key(u, "public_key", peer->public_key);
	out_key(u, "preshared_key", peer->preshared_key);
	out_printf(u, "protocol_version=1\n");
	wg_peer_endpoint(peer, &ep);
	if (ep.family != AF_UNSPEC) {
		wg_endpoint_format(&ep, epbuf, sizeof(epbuf));
		out_printf(u, "endpoint=%s\n", epbuf);
	}
	out_printf(u, "last_handshake_time_sec=%" PRIu64 "\n", st.last_handshake_wall_ns / NS_PER_S);
	out_printf(u, "last_handshake_time_nsec=%" PRIu64 "\n", st.last_handshake_wall_ns % NS_PER_S);
	out_printf(u, "tx_bytes=%" PRIu64 "\n", st.tx_bytes);
	out_printf(u, "rx_bytes=%" PRIu64 "\n", st.rx_bytes);
	out_printf(u, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive);
	wg_aip_for_peer(&u->dev->allowedips, peer, out_allowedip, u);
	return true;
}

static void do_get(struct wg_uapi *u)
{
	struct wg_device *dev = u->dev;

	if (dev->has_identity)
		out_key(u, "private_key", dev->static_private);
	if (wg_device_listen_port(dev))
		out_printf(u, "listen_port=%u\n", wg_device_listen_port(dev));
	if (dev->fwmark)
		out_printf(u, "fwmark=%u\n", dev->fwmark);
	wg_device_for_each_peer(dev, out_peer, u);
	out_printf(u, "errno=0\n\n");
}

/* Decimal digits only, as Go's strconv.ParseUint: no sign, no spaces. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool parse_prefix(const char *s, sa_family_t *family, uint8_t addr[16], uint8_t *cidr)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	uint64_t bits;
	size_t len;

	if (!slash)
		return false;
	len = (size_t)(slash - s);
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		*family = AF_INET6;
	else
		return false;
	if (!parse_uint(slash + 1, *family == AF_INET ? 32 : 128, &bits))
		return false;
	*cidr = (uint8_t)bits;
	return true;
}

/* End of one peer's lines: what wireguard-go does once a peer is configured. */
static void finish_peer(struct wg_uapi *u, uint64_t now)
{
	if (u->peer && !u->dummy) {
		if (u->keepalive_on)
			wg_send_keepalive(u->peer, now);
		if (u->peer->staged_count)
			u->dev->ops.session_ready(u->dev->ops.ctx, u->peer);
	}
	u->peer = NULL;
	u->dummy = u->created = u->keepalive_on = false;
}

static int device_line(struct wg_uapi *u, const char *key, const char *value, uint64_t now)
{
	struct wg_device *dev = u->dev;
	uint8_t k[WG_KEY_LEN];
	uint64_t v;

	if (!strcmp(key, "private_key")) {
		if (!wg_key_from_hex(k, value))
			return EINVAL;
		wg_device_set_private_key(dev, k, now);
		wg_memzero(k, sizeof(k));
	} else if (!strcmp(key, "listen_port")) {
		if (!parse_uint(value, UINT16_MAX, &v))
			return EINVAL;
		wg_device_set_listen_port(dev, (uint16_t)v);
	} else if (!strcmp(key, "fwmark")) {
		/* Kept and reported for wg(8); a DPDK port has no socket to mark. */
		if (!parse_uint(value, UINT32_MAX, &v))
			return EINVAL;
		dev->fwmark = (uint32_t)v;
	} else if (!strcmp(key, "replace_peers")) {
		if (strcmp(value, "true"))
			return EINVAL;
		while (dev->peers)
			wg_peer_remove(dev, dev->peers);
	} else {
		return EINVAL;
	}
	return 0;
}

static int public_key_line(struct wg_uapi *u, const char *value, uint64_t now)
{
	uint8_t k[WG_KEY_LEN];

	finish_peer(u, now);
	u->in_peer_section = true;
	if (!wg_key_from_hex(k, value))
		return EINVAL;
	if (u->dev->has_identity && !memcmp(k, u->dev->static_public, WG_KEY_LEN)) {
		u->dummy = true;
		return 0;
	}
	u->peer = wg_peer_lookup(u->dev, k);
	if (!u->peer) {
		u->peer = wg_peer_add(u->dev, k);
		if (!u->peer)
			return ENOMEM;
		u->created = true;
	}
	return 0;
}

static int peer_line(struct wg_uapi *u, const char *key, const char *value, uint64_t now)
{
	struct wg_peer *peer = u->dummy ? NULL : u->peer;
	uint8_t k[WG_KEY_LEN], addr[16], cidr;
	struct wg_endpoint ep;
	sa_family_t family;
	uint64_t v;

	if (!strcmp(key, "update_only")) {
		if (strcmp(value, "true"))
			return EINVAL;
		if (u->created && peer) {
			wg_peer_remove(u->dev, peer);
			u->peer = NULL;
			u->dummy = true;
		}
	} else if (!strcmp(key, "remove")) {
		if (strcmp(value, "true"))
			return EINVAL;
		if (peer)
			wg_peer_remove(u->dev, peer);
		u->peer = NULL;
		u->dummy = true;
	} else if (!strcmp(key, "preshared_key")) {
		if (!wg_key_from_hex(k, value))
			return EINVAL;
		if (peer)
			wg_peer_set_preshared_key(peer, k);
		wg_memzero(k, sizeof(k));
	} else if (!strcmp(key, "endpoint")) {
		if (!wg_endpoint_parse(&ep, value))
			return EINVAL;
		if (peer)
			wg_peer_set_endpoint(peer, &ep);
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		if (!parse_uint(value, UINT16_MAX, &v))
			return EINVAL;
		if (peer) {
			u->keepalive_on = peer->persistent_keepalive == 0 && v != 0;
			wg_peer_set_persistent_keepalive(peer, (uint16_t)v, now);
		}
	} else if (!strcmp(key, "replace_allowed_ips")) {
		if (strcmp(value, "true"))
			return EINVAL;
		if (peer)
			wg_peer_allowedips_clear(peer);
	} else if (!strcmp(key, "allowed_ip")) {
		bool remove = value[0] == '-';

		if (!parse_prefix(value + remove, &family, addr, &cidr))
			return EINVAL;
		if (!peer)
			return 0;
		if (remove)
			wg_peer_allowedip_remove(peer, family, addr, cidr);
		else if (wg_peer_allowedip_add(peer, family, addr, cidr))
			return ENOMEM;
	} else if (!strcmp(key, "protocol_version")) {
		if (strcmp(value, "1"))
			return EINVAL;
	} else {
		return EINVAL;
	}
	return 0;
}

static int set_line(struct wg_uapi *u, char *line, uint64_t now)
{
	char *value = strchr(line, '=');

	if (!value)
		return EPROTO;
	*value++ = '\0';
	if (!strcmp(line, "public_key"))
		return public_key_line(u, value, now);
	if (!u->in_peer_section)
		return device_line(u, line, value, now);
	return peer_line(u, line, value, now);
}

static void finish_set(struct wg_uapi *u, uint64_t now)
{
	finish_peer(u, now);
	wg_device_commit_allowedips(u->dev);
	out_printf(u, "errno=%d\n\n", u->error ? -u->error : 0);
	u->state = IDLE;
}

/* Returns false when the connection must close. */
static bool handle_line(struct wg_uapi *u, char *line, uint64_t now)
{
	switch (u->state) {
	case IDLE:
		if (!strcmp(line, "get=1")) {
			u->state = GET_BLANK;
			return true;
		}
		if (!strcmp(line, "set=1")) {
			u->state = SET;
			u->error = 0;
			u->in_peer_section = false;
			u->peer = NULL;
			u->dummy = u->created = u->keepalive_on = false;
			return true;
		}
		return false;
	case GET_BLANK:
		if (line[0]) {
			out_printf(u, "errno=%d\n\n", -EINVAL);
			return false;
		}
		do_get(u);
		u->state = IDLE;
		return true;
	case SET:
		if (!line[0]) {
			finish_set(u, now);
			return true;
		}
		u->error = set_line(u, line, now);
		if (u->error)
			u->state = SET_SKIP;
		return true;
	case SET_SKIP:
		if (!line[0])
			finish_set(u, now);
		return true;
	}
	return false;
}

bool wg_uapi_feed(struct wg_uapi *u, const char *data, size_t len, uint64_t now)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			/* NUL inside a line would hide the rest of it from the parser. */
			if (data[i] == '\0' || u->line_len == UAPI_LINE_MAX - 1)
				return false;
			u->line[u->line_len++] = data[i];
			continue;
		}
		u->line[u->line_len] = '\0';
		bool ok = handle_line(u, u->line, now);
		wg_memzero(u->line, u->line_len);
		u->line_len = 0;
		if (!ok)
			return false;
	}
	return true;
}
