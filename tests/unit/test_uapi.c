// SPDX-License-Identifier: MIT
/*
 * The cross-platform userspace API (https://www.wireguard.com/xplatform/):
 * "set=1" of every key, "get=1" parsed line by line, malformed input, protocol
 * violations, and input arriving in pieces. The expected behaviour is
 * wireguard-go's (device/uapi.go), which wg(8) talks to over the same socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "wg.h"

/* ---- a device with one UAPI connection ---- */

#define FX_MAX_SENT 64

struct fx {
	struct wg_device *dev;
	struct wg_uapi *u;
	unsigned nsent;
	struct {
		struct wg_peer *peer;
		struct wg_endpoint to;
		size_t len;
		uint8_t type;
	} sent[FX_MAX_SENT];
};

static bool fx_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		    const uint8_t *msg, size_t len)
{
	struct fx *f = ctx;

	if (f->nsent < FX_MAX_SENT) {
		f->sent[f->nsent].peer = peer;
		f->sent[f->nsent].to = *to;
		f->sent[f->nsent].len = len;
		f->sent[f->nsent].type = len ? msg[0] : 0;
	}
	f->nsent++;
	return true;
}

static uint64_t fx_wall(void *ctx)
{
	(void)ctx;
	return test_wall_ns + test_now;
}

static void fx_log(void *ctx, int level, const char *msg)
{
	(void)ctx, (void)level, (void)msg;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wg_ops ops = {
		.ctx = f,
		.send = fx_send,
		.wall_ns = fx_wall,
		.log = fx_log,
	};

	assert_non_null(f);
	f->dev = wg_device_new(&ops, 10);
	assert_non_null(f->dev);
	f->u = wg_uapi_new(f->dev);
	assert_non_null(f->u);
	return f;
}

static void fx_free(struct fx *f)
{
	wg_uapi_free(f->u);
	wg_device_free(f->dev);
	free(f);
}

/* Messages of one type sent to one endpoint ("ip:port" or "[ip6]:port"). */
static unsigned fx_sent_to(const struct fx *f, uint8_t type, const char *to)
{
	unsigned c = 0;

	for (unsigned i = 0; i < f->nsent && i < FX_MAX_SENT; i++) {
		char buf[80];

		wg_endpoint_format(&f->sent[i].to, buf, sizeof(buf));
		if (f->sent[i].type == type && !strcmp(buf, to))
			c++;
	}
	return c;
}

/* ---- strings ---- */

static char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;

	assert_true(vasprintf(&s, fmt, ap) >= 0);
	return s;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Takes every pending reply byte out of the connection. */
static char *take_output(struct wg_uapi *u)
{
	size_t len;
	const char *o = wg_uapi_output(u, &len);
	char *s = malloc(len + 1);

	assert_non_null(s);
	if (len)
		memcpy(s, o, len);
	s[len] = '\0';
	assert_int_equal(strlen(s), len); /* replies are text */
	wg_uapi_consumed(u, len);
	wg_uapi_output(u, &len);
	assert_int_equal(len, 0);
	return s;
}

/* Feeds a request that must not close the connection; returns the replies. */
static char *request(struct fx *f, const char *text)
{
	assert_true(wg_uapi_feed(f->u, text, strlen(text), test_now));
	return take_output(f->u);
}

static bool feed(struct wg_uapi *u, const char *s)
{
	return wg_uapi_feed(u, s, strlen(s), test_now);
}

/* A reply must be exactly "errno=N\n\n": returns N. */
static int reply_errno(const char *reply)
{
	const char *p = reply;
	long v = 0;
	bool neg = false;

	if (strncmp(p, "errno=", 6))
		fail_msg("reply is not an errno line: \"%s\"", reply);
	p += 6;
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		fail_msg("bad errno value: \"%s\"", reply);
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (strcmp(p, "\n\n"))
		fail_msg("reply does not end in one blank line: \"%s\"", reply);
	return (int)(neg ? -v : v);
}

/* "set=1\n" + lines + "\n"; returns the errno of its reply. */
static int set(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set(struct fx *f, const char *fmt, ...)
{
	va_list ap;
	char *body, *text, *reply;
	int e;

	va_start(ap, fmt);
	body = xvasprintf(fmt, ap);
	va_end(ap);
	text = xasprintf("set=1\n%s\n", body);
	reply = request(f, text);
	e = reply_errno(reply);
	free(reply);
	free(text);
	free(body);
	return e;
}

/* ---- keys ---- */

static void hex(char out[65], const uint8_t k[WG_KEY_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = digits[k[i] >> 4];
		out[2 * i + 1] = digits[k[i] & 15];
	}
	out[64] = '\0';
}

static void upper_hex(char out[65], const uint8_t k[WG_KEY_LEN])
{
	hex(out, k);
	for (int i = 0; i < 64; i++)
		if (out[i] >= 'a' && out[i] <= 'f')
			out[i] = (char)(out[i] - 'a' + 'A');
}

static void rand_key(uint8_t k[WG_KEY_LEN])
{
	randombytes_buf(k, WG_KEY_LEN);
}

static void rand_private(uint8_t k[WG_KEY_LEN])
{
	rand_key(k);
	k[0] &= 248;
	k[31] = (k[31] & 127) | 64;
}

static void pub_of(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
}

/* A key and its hex spelling, for building requests. */
struct key {
	uint8_t k[WG_KEY_LEN];
	char h[65];
};

static void key_rand(struct key *k)
{
	rand_key(k->k);
	hex(k->h, k->k);
}

static void key_set(struct key *k, const uint8_t raw[WG_KEY_LEN])
{
	memcpy(k->k, raw, WG_KEY_LEN);
	hex(k->h, k->k);
}

/* ---- the reply of "get=1", parsed strictly ---- */

#define MAX_PEERS 128
#define MAX_AIPS 16

struct gpeer {
	uint8_t pub[WG_KEY_LEN], psk[WG_KEY_LEN];
	bool has_endpoint;
	char endpoint[80];
	uint64_t hs_sec, hs_nsec, tx, rx, keepalive;
	unsigned naips;
	char aips[MAX_AIPS][64];
};

struct gdev {
	bool has_priv, has_port, has_fwmark;
	uint8_t priv[WG_KEY_LEN];
	uint64_t port, fwmark;
	unsigned npeers;
	struct gpeer peers[MAX_PEERS];
};

enum { P_PUB, P_PSK, P_PROTO, P_EP, P_HSSEC, P_HSNSEC, P_TX, P_RX, P_KA, P_AIP, P_N };
static const char *const peer_keys[P_N] = {
	"public_key", "preshared_key", "protocol_version", "endpoint",
	"last_handshake_time_sec", "last_handshake_time_nsec", "tx_bytes", "rx_bytes",
	"persistent_keepalive_interval", "allowed_ip",
};
enum { D_PRIV, D_PORT, D_FWMARK, D_N };
static const char *const dev_keys[D_N] = { "private_key", "listen_port", "fwmark" };

static int key_index(const char *const *names, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], key))
			return i;
	return -1;
}

/* As Go's %d prints it: digits, no sign, no leading zero. */
static uint64_t parse_dec(const char *key, const char *v)
{
	uint64_t n = 0;

	if (!*v || (v[0] == '0' && v[1]))
		fail_msg("%s: not a plain decimal: \"%s\"", key, v);
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			fail_msg("%s: not a plain decimal: \"%s\"", key, v);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	return n;
}

/* As wireguard-go writes keys: 64 lowercase hex digits. */
static void parse_hex_key(const char *key, const char *v, uint8_t out[WG_KEY_LEN])
{
	if (strlen(v) != 64)
		fail_msg("%s: not 64 hex digits: \"%s\"", key, v);
	for (int i = 0; i < 64; i++) {
		char c = v[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			fail_msg("%s: not lowercase hex: \"%s\"", key, v);
		if (i & 1)
			out[i / 2] = (uint8_t)(out[i / 2] | d);
		else
			out[i / 2] = (uint8_t)(d << 4);
	}
}

static void parse_get(const char *text, struct gdev *g)
{
	static const char tail[] = "errno=0\n\n";
	size_t len = strlen(text), tl = sizeof(tail) - 1;
	char *copy, *line, *nl;
	int dev_pos = -1, peer_pos = -1;
	struct gpeer *p = NULL;

	memset(g, 0, sizeof(*g));
	if (len < tl || strcmp(text + len - tl, tail))
		fail_msg("get reply does not end in errno=0 and a blank line: \"%s\"", text);
	copy = strndup(text, len - tl);
	assert_non_null(copy);
	for (line = copy; *line; line = nl + 1) {
		char *eq, *value;
		int i;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if (!*line)
			fail_msg("blank line inside a get reply");
		eq = strchr(line, '=');
		if (!eq)
			fail_msg("get line without '=': \"%s\"", line);
		*eq = '\0';
		value = eq + 1;

		if (!strcmp(line, "public_key")) {
			if (p && peer_pos < P_KA)
				fail_msg("peer ends before persistent_keepalive_interval");
			assert_true(g->npeers < MAX_PEERS);
			p = &g->peers[g->npeers++];
			peer_pos = P_PUB;
			parse_hex_key(line, value, p->pub);
			continue;
		}
		if (!p) {
			i = key_index(dev_keys, D_N, line);
			if (i < 0)
				fail_msg("unexpected device key in get: \"%s\"", line);
			if (i <= dev_pos)
				fail_msg("device key out of order in get: \"%s\"", line);
			dev_pos = i;
			if (i == D_PRIV) {
				g->has_priv = true;
				parse_hex_key(line, value, g->priv);
			} else if (i == D_PORT) {
				g->has_port = true;
				g->port = parse_dec(line, value);
			} else {
				g->has_fwmark = true;
				g->fwmark = parse_dec(line, value);
			}
			continue;
		}
		i = key_index(peer_keys, P_N, line);
		if (i < 0)
			fail_msg("unexpected peer key in get: \"%s\"", line);
		if (i == P_AIP) {
			if (peer_pos < P_KA)
				fail_msg("allowed_ip before persistent_keepalive_interval");
			peer_pos = P_AIP;
			assert_true(p->naips < MAX_AIPS);
			assert_true(strlen(value) < sizeof(p->aips[0]));
			strcpy(p->aips[p->naips++], value);
			continue;
		}
		{
			int want = peer_pos + 1;

			if (want == P_EP && i != P_EP)
				want++;
			if (i != want)
				fail_msg("peer key \"%s\" out of order (expected \"%s\")", line,
					 want < P_N ? peer_keys[want] : "public_key");
		}
		peer_pos = i;
		switch (i) {
		case P_PSK:
			parse_hex_key(line, value, p->psk);
			break;
		case P_PROTO:
			if (strcmp(value, "1"))
				fail_msg("protocol_version=%s", value);
			break;
		case P_EP:
			p->has_endpoint = true;
			assert_true(strlen(value) < sizeof(p->endpoint));
			strcpy(p->endpoint, value);
			break;
		case P_HSSEC:
			p->hs_sec = parse_dec(line, value);
			break;
		case P_HSNSEC:
			p->hs_nsec = parse_dec(line, value);
			assert_true(p->hs_nsec < NS);
			break;
		case P_TX:
			p->tx = parse_dec(line, value);
			break;
		case P_RX:
			p->rx = parse_dec(line, value);
			break;
		case P_KA:
			p->keepalive = parse_dec(line, value);
			break;
		}
	}
	if (p && peer_pos < P_KA)
		fail_msg("last peer ends before persistent_keepalive_interval");
	free(copy);
}

static struct gdev *get(struct fx *f)
{
	struct gdev *g = malloc(sizeof(*g));
	char *reply = request(f, "get=1\n\n");

	assert_non_null(g);
	parse_get(reply, g);
	free(reply);
	return g;
}

static struct gpeer *gpeer(struct gdev *g, const uint8_t pub[WG_KEY_LEN])
{
	for (unsigned i = 0; i < g->npeers; i++)
		if (!memcmp(g->peers[i].pub, pub, WG_KEY_LEN))
			return &g->peers[i];
	return NULL;
}

static bool has_aip(const struct gpeer *p, const char *prefix)
{
	for (unsigned i = 0; i < p->naips; i++)
		if (!strcmp(p->aips[i], prefix))
			return true;
	return false;
}

/* ---- device state ---- */

static struct wg_peer *route(struct fx *f, const char *ip)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return wg_allowedips_lookup(f->dev, AF_INET, a);
	assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
	return wg_allowedips_lookup(f->dev, AF_INET6, a);
}

static struct wg_peer *lookup(struct fx *f, const struct key *k)
{
	return wg_peer_lookup(f->dev, k->k);
}

static void assert_endpoint(struct wg_peer *peer, const char *ip, uint16_t port)
{
	struct wg_endpoint ep;
	uint8_t a[16];

	wg_peer_endpoint(peer, &ep);
	assert_int_equal(ep.port, port);
	if (inet_pton(AF_INET, ip, a) == 1) {
		assert_int_equal(ep.family, AF_INET);
		assert_memory_equal(&ep.addr.v4, a, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
		assert_int_equal(ep.family, AF_INET6);
		assert_memory_equal(&ep.addr.v6, a, 16);
	}
}

static void assert_no_endpoint(struct wg_peer *peer)
{
	struct wg_endpoint ep;

	wg_peer_endpoint(peer, &ep);
	assert_int_equal(ep.family, AF_UNSPEC);
}

/* ---- get on a fresh device ---- */

static void test_get_empty(void **state)
{
	struct fx *f = fx_new();
	char *reply;

	(void)state;
	reply = request(f, "get=1\n\n");
	/* No identity, no port, no mark, no peers: only the status. */
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	fx_free(f);
}

/* ---- device keys ---- */

static void test_device_keys(void **state)
{
	struct fx *f = fx_new();
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], got[WG_KEY_LEN];
	char ph[65], zero[65];
	struct gdev *g;

	(void)state;
	rand_private(priv);
	pub_of(pub, priv);
	hex(ph, priv);
	assert_int_equal(set(f, "private_key=%s\nlisten_port=51820\nfwmark=4294967295\n", ph), 0);
	assert_true(wg_device_public_key(f->dev, got));
	assert_memory_equal(got, pub, WG_KEY_LEN);
	assert_int_equal(wg_device_listen_port(f->dev), 51820);
	assert_int_equal(f->dev->fwmark, UINT32_MAX);

	g = get(f);
	assert_true(g->has_priv);
	assert_memory_equal(g->priv, priv, WG_KEY_LEN);
	assert_true(g->has_port);
	assert_int_equal(g->port, 51820);
	assert_true(g->has_fwmark);
	assert_int_equal(g->fwmark, 4294967295u);
	assert_int_equal(g->npeers, 0);
	free(g);

	/* Leading zeros are decimal, as strconv.ParseUint reads them. */
	assert_int_equal(set(f, "listen_port=065535\nfwmark=0001\n"), 0);
	assert_int_equal(wg_device_listen_port(f->dev), 65535);
	assert_int_equal(f->dev->fwmark, 1);
	g = get(f);
	assert_int_equal(g->port, 65535);
	assert_int_equal(g->fwmark, 1);
	free(g);

	/* Zero values are not reported; an all-zero private key removes the
	 * identity; listen port 0 picks a port of the dynamic range, reported
	 * as wireguard-go reports the one its socket got. */
	memset(zero, '0', 64);
	zero[64] = '\0';
	assert_int_equal(set(f, "fwmark=0\nlisten_port=0\nprivate_key=%s\n", zero), 0);
	assert_false(wg_device_public_key(f->dev, got));
	assert_in_range(wg_device_listen_port(f->dev), 49152, 65535);
	assert_int_equal(f->dev->fwmark, 0);
	g = get(f);
	assert_false(g->has_priv);
	assert_true(g->has_port);
	assert_int_equal(g->port, wg_device_listen_port(f->dev));
	assert_false(g->has_fwmark);
	free(g);

	/* Uppercase hex is hex (Go's hex.DecodeString); get answers in lowercase. */
	upper_hex(ph, priv);
	assert_int_equal(set(f, "private_key=%s\n", ph), 0);
	assert_true(wg_device_public_key(f->dev, got));
	assert_memory_equal(got, pub, WG_KEY_LEN);
	g = get(f);
	assert_true(g->has_priv);
	assert_memory_equal(g->priv, priv, WG_KEY_LEN);
	free(g);
	fx_free(f);
}

/* wireguard-go (NoisePrivateKey.FromMaybeZeroHex) and the kernel clamp the
 * private key as it is set, so get reports the clamped key. */
static void test_private_key_clamped(void **state)
{
	struct fx *f = fx_new();
	uint8_t raw[WG_KEY_LEN], clamped[WG_KEY_LEN], pub[WG_KEY_LEN], got[WG_KEY_LEN];
	char h[65];
	struct gdev *g;

	(void)state;
	rand_key(raw);
	raw[0] |= 7;    /* low three bits set */
	raw[31] |= 128; /* top bit set */
	raw[31] &= (uint8_t)~64;
	memcpy(clamped, raw, WG_KEY_LEN);
	clamped[0] &= 248;
	clamped[31] = (clamped[31] & 127) | 64;
	pub_of(pub, clamped);
	hex(h, raw);
	assert_int_equal(set(f, "private_key=%s\n", h), 0);
	assert_true(wg_device_public_key(f->dev, got));
	assert_memory_equal(got, pub, WG_KEY_LEN);
	g = get(f);
	assert_true(g->has_priv);
	assert_memory_equal(g->priv, clamped, WG_KEY_LEN);
	free(g);
	fx_free(f);
}

/* Taking the private key of a configured peer removes that peer (it would be
 * talking to itself): Device.SetPrivateKey. */
static void test_private_key_removes_matching_peer(void **state)
{
	struct fx *f = fx_new();
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	struct key me, other;
	char ph[65];
	struct gdev *g;

	(void)state;
	rand_private(priv);
	pub_of(pub, priv);
	hex(ph, priv);
	key_set(&me, pub);
	key_rand(&other);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.0.0/16\npublic_key=%s\n"
			     "allowed_ip=10.2.0.0/16\n", me.h, other.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	assert_int_equal(set(f, "private_key=%s\n", ph), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	assert_null(lookup(f, &me));
	assert_null(route(f, "10.1.2.3"));
	assert_ptr_equal(route(f, "10.2.3.4"), lookup(f, &other));
	g = get(f);
	assert_int_equal(g->npeers, 1);
	assert_non_null(gpeer(g, other.k));
	free(g);
	fx_free(f);
}

/* ---- peer keys ---- */

static void test_peer_keys(void **state)
{
	struct fx *f = fx_new();
	uint8_t priv[WG_KEY_LEN];
	struct key a, b, psk;
	char ph[65];
	struct wg_peer *pa, *pb;
	struct gdev *g;
	struct gpeer *ga, *gb;
	uint8_t zero[WG_KEY_LEN] = { 0 };

	(void)state;
	rand_private(priv);
	hex(ph, priv);
	key_rand(&a);
	key_rand(&b);
	key_rand(&psk);
	assert_int_equal(set(f,
			     "private_key=%s\n"
			     "listen_port=51820\n"
			     "public_key=%s\n"
			     "protocol_version=1\n"
			     "preshared_key=%s\n"
			     "endpoint=192.0.2.7:51821\n"
			     "persistent_keepalive_interval=25\n"
			     "allowed_ip=10.1.0.0/16\n"
			     "allowed_ip=10.9.8.7/32\n"
			     "allowed_ip=fd00:1::/64\n"
			     "public_key=%s\n"
			     "endpoint=[2001:0db8:0000::5]:1234\n"
			     "allowed_ip=10.3.0.0/24\n"
			     "allowed_ip=2001:db8:0:0:0:0:0:0/32\n",
			     ph, a.h, psk.h, b.h),
			 0);

	/* State */
	pa = lookup(f, &a);
	pb = lookup(f, &b);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	assert_memory_equal(pa->preshared_key, psk.k, WG_KEY_LEN);
	assert_memory_equal(pb->preshared_key, zero, WG_KEY_LEN);
	assert_endpoint(pa, "192.0.2.7", 51821);
	assert_endpoint(pb, "2001:db8::5", 1234);
	assert_int_equal(pa->persistent_keepalive, 25);
	assert_int_equal(pb->persistent_keepalive, 0);
	assert_ptr_equal(route(f, "10.1.200.1"), pa);
	assert_ptr_equal(route(f, "10.9.8.7"), pa);
	assert_null(route(f, "10.9.8.6"));
	assert_ptr_equal(route(f, "fd00:1::42"), pa);
	assert_null(route(f, "fd00:2::42"));
	assert_ptr_equal(route(f, "10.3.0.255"), pb);
	assert_null(route(f, "10.3.1.0"));
	assert_ptr_equal(route(f, "2001:db8:ffff::1"), pb);

	/* get */
	g = get(f);
	assert_true(g->has_priv);
	assert_memory_equal(g->priv, priv, WG_KEY_LEN);
	assert_int_equal(g->port, 51820);
	assert_false(g->has_fwmark);
	assert_int_equal(g->npeers, 2);
	ga = gpeer(g, a.k);
	gb = gpeer(g, b.k);
	assert_non_null(ga);
	assert_non_null(gb);
	assert_memory_equal(ga->psk, psk.k, WG_KEY_LEN);
	assert_memory_equal(gb->psk, zero, WG_KEY_LEN);
	assert_true(ga->has_endpoint);
	assert_string_equal(ga->endpoint, "192.0.2.7:51821");
	assert_true(gb->has_endpoint);
	assert_string_equal(gb->endpoint, "[2001:db8::5]:1234");
	assert_int_equal(ga->keepalive, 25);
	assert_int_equal(gb->keepalive, 0);
	assert_int_equal(ga->hs_sec, 0);
	assert_int_equal(ga->hs_nsec, 0);
	assert_int_equal(gb->hs_sec, 0);
	assert_int_equal(gb->rx, 0);
	assert_int_equal(ga->naips, 3);
	assert_true(has_aip(ga, "10.1.0.0/16"));
	assert_true(has_aip(ga, "10.9.8.7/32"));
	assert_true(has_aip(ga, "fd00:1::/64"));
	assert_int_equal(gb->naips, 2);
	assert_true(has_aip(gb, "10.3.0.0/24"));
	assert_true(has_aip(gb, "2001:db8::/32"));
	free(g);

	/* Changing one peer's endpoint and psk leaves the rest alone. */
	assert_int_equal(set(f, "public_key=%s\nendpoint=[::ffff:192.0.2.9]:7\npreshared_key=%064d\n",
			     a.h, 0), 0);
	assert_ptr_equal(lookup(f, &a), pa);
	assert_endpoint(pa, "::ffff:192.0.2.9", 7);
	assert_memory_equal(pa->preshared_key, zero, WG_KEY_LEN);
	g = get(f);
	ga = gpeer(g, a.k);
	assert_non_null(ga);
	assert_string_equal(ga->endpoint, "[::ffff:192.0.2.9]:7");
	assert_memory_equal(ga->psk, zero, WG_KEY_LEN);
	assert_int_equal(ga->keepalive, 25);
	assert_int_equal(ga->naips, 3);
	free(g);

	/* A peer with nothing but its key: no endpoint line at all. */
	{
		struct key c;

		key_rand(&c);
		assert_int_equal(set(f, "public_key=%s\n", c.h), 0);
		assert_no_endpoint(lookup(f, &c));
		g = get(f);
		assert_int_equal(g->npeers, 3);
		assert_non_null(gpeer(g, c.k));
		assert_false(gpeer(g, c.k)->has_endpoint);
		assert_int_equal(gpeer(g, c.k)->naips, 0);
		free(g);
	}
	fx_free(f);
}

/* Keys in uppercase hex name the same peer as in lowercase. */
static void test_uppercase_hex_keys(void **state)
{
	struct fx *f = fx_new();
	struct key a, psk;
	char ua[65], upsk[65];
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&psk);
	upper_hex(ua, a.k);
	upper_hex(upsk, psk.k);
	assert_int_equal(set(f, "public_key=%s\npreshared_key=%s\n", ua, upsk), 0);
	assert_non_null(lookup(f, &a));
	assert_memory_equal(lookup(f, &a)->preshared_key, psk.k, WG_KEY_LEN);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.4.0.0/16\n", a.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	g = get(f);
	assert_int_equal(g->npeers, 1);
	assert_non_null(gpeer(g, a.k));
	assert_memory_equal(g->peers[0].psk, psk.k, WG_KEY_LEN);
	assert_true(has_aip(&g->peers[0], "10.4.0.0/16"));
	free(g);
	fx_free(f);
}

/* Turning persistent keepalive on sends a keepalive at once, which without a
 * session means a handshake initiation (handlePostConfig -> SendKeepalive). */
static void test_persistent_keepalive_sends(void **state)
{
	struct fx *f = fx_new();
	uint8_t priv[WG_KEY_LEN];
	char ph[65];
	struct key a, b;
	struct gdev *g;

	(void)state;
	rand_private(priv);
	hex(ph, priv);
	key_rand(&a);
	key_rand(&b);
	assert_int_equal(set(f, "private_key=%s\npublic_key=%s\nendpoint=192.0.2.7:51821\n"
			     "persistent_keepalive_interval=25\n"
			     "public_key=%s\nendpoint=192.0.2.8:51821\n", ph, a.h, b.h), 0);
	assert_int_equal(fx_sent_to(f, WG_MSG_INITIATION, "192.0.2.7:51821"), 1);
	assert_int_equal(fx_sent_to(f, WG_MSG_INITIATION, "192.0.2.8:51821"), 0);
	assert_int_equal(f->nsent, 1);

	/* Already on: setting it again sends nothing. */
	test_now += 6 * NS;
	assert_int_equal(set(f, "public_key=%s\npersistent_keepalive_interval=25\n", a.h), 0);
	assert_int_equal(f->nsent, 1);

	/* Off, then on again: one more. */
	assert_int_equal(set(f, "public_key=%s\npersistent_keepalive_interval=0\n", a.h), 0);
	assert_int_equal(lookup(f, &a)->persistent_keepalive, 0);
	assert_int_equal(f->nsent, 1);
	test_now += 6 * NS;
	assert_int_equal(set(f, "public_key=%s\npersistent_keepalive_interval=30\n", a.h), 0);
	assert_int_equal(fx_sent_to(f, WG_MSG_INITIATION, "192.0.2.7:51821"), 2);
	g = get(f);
	assert_int_equal(gpeer(g, a.k)->keepalive, 30);
	/* The initiations were sent to the peer: they count as transmitted. */
	assert_int_equal(gpeer(g, a.k)->tx, 2 * WG_INITIATION_LEN);
	assert_int_equal(gpeer(g, b.k)->tx, 0);
	free(g);

	/* The last value of the section decides: on then off again in one set sends
	 * nothing, as pkaOn is recomputed on every line. */
	test_now += 6 * NS;
	assert_int_equal(set(f, "public_key=%s\npersistent_keepalive_interval=5\n"
			     "persistent_keepalive_interval=5\n", b.h), 0);
	assert_int_equal(fx_sent_to(f, WG_MSG_INITIATION, "192.0.2.8:51821"), 0);
	fx_free(f);
}

/* ---- allowed ips ---- */

static void test_allowed_ip_masked(void **state)
{
	struct fx *f = fx_new();
	struct key a;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.2.3/24\nallowed_ip=fd00::1234/64\n"
			     "allowed_ip=192.0.2.1/0\nallowed_ip=::1/0\n", a.h), 0);
	g = get(f);
	assert_int_equal(g->peers[0].naips, 4);
	assert_true(has_aip(&g->peers[0], "10.1.2.0/24"));
	assert_true(has_aip(&g->peers[0], "fd00::/64"));
	assert_true(has_aip(&g->peers[0], "0.0.0.0/0"));
	assert_true(has_aip(&g->peers[0], "::/0"));
	free(g);
	assert_ptr_equal(route(f, "203.0.113.1"), lookup(f, &a));
	assert_ptr_equal(route(f, "2001:db8::1"), lookup(f, &a));
	fx_free(f);
}

/* "allowed_ip=-prefix" removes a prefix of this peer (wireguard-go 256bcbd,
 * in 0.0.20250522; wg(8) sends it since v1.0.20250521. 0.0.20220316 answered
 * it with -EINVAL). */
static void test_allowed_ip_remove_form(void **state)
{
	struct fx *f = fx_new();
	struct key a, b;
	struct wg_peer *pa, *pb;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.0.0.0/8\nallowed_ip=fd00::/8\n"
			     "public_key=%s\nallowed_ip=10.1.0.0/16\nallowed_ip=10.2.0.0/16\n"
			     "allowed_ip=fd00:1::/32\n", a.h, b.h), 0);
	pa = lookup(f, &a);
	pb = lookup(f, &b);
	assert_ptr_equal(route(f, "10.1.2.3"), pb);
	assert_ptr_equal(route(f, "fd00:1::1"), pb);

	/* b drops 10.1/16 (spelled with host bits) and its IPv6 prefix; 10.1.x falls back to a. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=-10.1.2.3/16\nallowed_ip=-fd00:1::/32\n", b.h), 0);
	assert_ptr_equal(route(f, "10.1.2.3"), pa);
	assert_ptr_equal(route(f, "fd00:1::1"), pa);
	assert_ptr_equal(route(f, "10.2.2.3"), pb);

	/* Removing a prefix that belongs to another peer, or to nobody, is no error
	 * and changes nothing. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=-10.0.0.0/8\nallowed_ip=-172.16.0.0/12\n"
			     "allowed_ip=-10.2.0.0/15\n", b.h), 0);
	assert_ptr_equal(route(f, "10.200.0.1"), pa);
	assert_ptr_equal(route(f, "10.2.2.3"), pb);

	g = get(f);
	assert_int_equal(gpeer(g, a.k)->naips, 2);
	assert_true(has_aip(gpeer(g, a.k), "10.0.0.0/8"));
	assert_true(has_aip(gpeer(g, a.k), "fd00::/8"));
	assert_int_equal(gpeer(g, b.k)->naips, 1);
	assert_true(has_aip(gpeer(g, b.k), "10.2.0.0/16"));
	free(g);

	/* Removed then added again in one set: present. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=-10.2.0.0/16\nallowed_ip=10.2.0.0/16\n", b.h), 0);
	assert_ptr_equal(route(f, "10.2.2.3"), pb);
	/* Added then removed: absent. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.5.0.0/16\nallowed_ip=-10.5.0.0/16\n", b.h), 0);
	assert_ptr_equal(route(f, "10.5.0.1"), pa);
	fx_free(f);
}

/* A prefix belongs to one peer: giving it to another moves it. */
static void test_allowed_ip_moves_between_peers(void **state)
{
	struct fx *f = fx_new();
	struct key a, b;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.0.0/16\nallowed_ip=10.2.0.0/16\n"
			     "public_key=%s\nallowed_ip=10.1.0.0/16\n", a.h, b.h), 0);
	assert_ptr_equal(route(f, "10.1.0.1"), lookup(f, &b));
	assert_ptr_equal(route(f, "10.2.0.1"), lookup(f, &a));
	g = get(f);
	assert_int_equal(gpeer(g, a.k)->naips, 1);
	assert_true(has_aip(gpeer(g, a.k), "10.2.0.0/16"));
	assert_int_equal(gpeer(g, b.k)->naips, 1);
	assert_true(has_aip(gpeer(g, b.k), "10.1.0.0/16"));
	free(g);
	fx_free(f);
}

/* wireguard-go (peer.trieEntries, PushBack) and the kernel (allowedips_list,
 * list_add_tail / list_move_tail) report a peer's prefixes in the order they
 * were given, which is what "wg showconf" then prints. */
static void test_allowed_ip_insertion_order(void **state)
{
	static const char *const order[] = {
		"10.2.0.0/16", "fd00::/8", "10.1.0.0/16", "192.168.0.0/24", "10.0.0.0/8",
	};
	struct fx *f = fx_new();
	struct key a;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=%s\nallowed_ip=%s\nallowed_ip=%s\n"
			     "allowed_ip=%s\nallowed_ip=%s\n", a.h, order[0], order[1], order[2],
			     order[3], order[4]), 0);
	g = get(f);
	assert_int_equal(g->peers[0].naips, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_string_equal(g->peers[0].aips[i], order[i]);
	free(g);
	/* Given again, a prefix moves to the end. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=%s\n", a.h, order[1]), 0);
	g = get(f);
	assert_int_equal(g->peers[0].naips, 5);
	assert_string_equal(g->peers[0].aips[0], order[0]);
	assert_string_equal(g->peers[0].aips[1], order[2]);
	assert_string_equal(g->peers[0].aips[2], order[3]);
	assert_string_equal(g->peers[0].aips[3], order[4]);
	assert_string_equal(g->peers[0].aips[4], order[1]);
	free(g);
	fx_free(f);
}

static void test_replace_allowed_ips(void **state)
{
	struct fx *f = fx_new();
	struct key a, b;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::/8\n"
			     "allowed_ip=10.2.0.0/16\npublic_key=%s\nallowed_ip=10.3.0.0/16\n", a.h, b.h), 0);
	assert_int_equal(set(f, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.7.0.0/16\n", a.h), 0);
	assert_null(route(f, "10.1.0.1"));
	assert_null(route(f, "10.2.0.1"));
	assert_null(route(f, "fd00::1"));
	assert_ptr_equal(route(f, "10.7.0.1"), lookup(f, &a));
	assert_ptr_equal(route(f, "10.3.0.1"), lookup(f, &b)); /* other peers keep theirs */
	g = get(f);
	assert_int_equal(gpeer(g, a.k)->naips, 1);
	assert_true(has_aip(gpeer(g, a.k), "10.7.0.0/16"));
	assert_int_equal(gpeer(g, b.k)->naips, 1);
	free(g);

	/* Alone, it leaves the peer with none. */
	assert_int_equal(set(f, "public_key=%s\nreplace_allowed_ips=true\n", a.h), 0);
	assert_null(route(f, "10.7.0.1"));
	g = get(f);
	assert_int_equal(gpeer(g, a.k)->naips, 0);
	free(g);
	fx_free(f);
}

/* ---- peer lifetime: remove, update_only, replace_peers, our own key ---- */

static void test_remove_peer(void **state)
{
	struct fx *f = fx_new();
	struct key a, b, c, d;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	key_rand(&c);
	key_rand(&d);
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.0.0/16\npublic_key=%s\n"
			     "allowed_ip=10.2.0.0/16\npublic_key=%s\nallowed_ip=10.3.0.0/16\n",
			     a.h, b.h, c.h), 0);
	/* Lines after remove in the same section go nowhere; the next section works. */
	assert_int_equal(set(f, "public_key=%s\nremove=true\nallowed_ip=10.9.0.0/16\n"
			     "endpoint=192.0.2.1:1\npersistent_keepalive_interval=1\n"
			     "preshared_key=%064d\nreplace_allowed_ips=true\nremove=true\n"
			     "update_only=true\nallowed_ip=-10.1.0.0/16\n"
			     "public_key=%s\nendpoint=192.0.2.3:3\n", b.h, 0, c.h), 0);
	assert_ptr_equal(route(f, "10.1.0.1"), lookup(f, &a));
	assert_null(lookup(f, &b));
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	assert_null(route(f, "10.2.0.1"));
	assert_null(route(f, "10.9.0.1"));
	assert_endpoint(lookup(f, &c), "192.0.2.3", 3);
	g = get(f);
	assert_int_equal(g->npeers, 2);
	assert_non_null(gpeer(g, a.k));
	assert_null(gpeer(g, b.k));
	assert_string_equal(gpeer(g, c.k)->endpoint, "192.0.2.3:3");
	free(g);

	/* Removing a peer that does not exist is not an error and creates nothing. */
	assert_int_equal(set(f, "public_key=%s\nremove=true\nallowed_ip=10.4.0.0/16\n", d.h), 0);
	assert_null(lookup(f, &d));
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	assert_null(route(f, "10.4.0.1"));
	/* Configured and then removed in one section: gone. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.4.0.0/16\nremove=true\n", d.h), 0);
	assert_null(lookup(f, &d));
	assert_null(route(f, "10.4.0.1"));
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	fx_free(f);
}

static void test_update_only(void **state)
{
	struct fx *f = fx_new();
	struct key a, b;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	/* Unknown peer: not created, its lines are absorbed. */
	assert_int_equal(set(f, "public_key=%s\nupdate_only=true\nendpoint=192.0.2.1:1\n"
			     "allowed_ip=10.1.0.0/16\npersistent_keepalive_interval=5\n"
			     "preshared_key=%s\nreplace_allowed_ips=true\nallowed_ip=-10.1.0.0/16\n"
			     "update_only=true\n", a.h, a.h), 0);
	assert_null(lookup(f, &a));
	assert_int_equal(wg_device_peer_count(f->dev), 0);
	assert_null(route(f, "10.1.0.1"));
	g = get(f);
	assert_int_equal(g->npeers, 0);
	free(g);
	/* update_only after other lines still undoes the creation. */
	assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.1.0.0/16\nupdate_only=true\n", a.h), 0);
	assert_null(lookup(f, &a));
	assert_null(route(f, "10.1.0.1"));

	/* Existing peer: updated. */
	assert_int_equal(set(f, "public_key=%s\nendpoint=192.0.2.2:2\nallowed_ip=10.2.0.0/16\n", b.h), 0);
	assert_int_equal(set(f, "public_key=%s\nupdate_only=true\nendpoint=[2001:db8::2]:22\n"
			     "allowed_ip=10.3.0.0/16\npersistent_keepalive_interval=9\n", b.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	assert_endpoint(lookup(f, &b), "2001:db8::2", 22);
	assert_ptr_equal(route(f, "10.2.0.1"), lookup(f, &b));
	assert_ptr_equal(route(f, "10.3.0.1"), lookup(f, &b));
	g = get(f);
	assert_int_equal(g->npeers, 1);
	assert_string_equal(g->peers[0].endpoint, "[2001:db8::2]:22");
	assert_int_equal(g->peers[0].keepalive, 9);
	assert_int_equal(g->peers[0].naips, 2);
	free(g);
	fx_free(f);
}

static void test_replace_peers(void **state)
{
	struct fx *f = fx_new();
	struct key a, b, c;
	struct gdev *g;

	(void)state;
	key_rand(&a);
	key_rand(&b);
	key_rand(&c);
	assert_int_equal(set(f, "listen_port=1\npublic_key=%s\nallowed_ip=10.1.0.0/16\n"
			     "public_key=%s\nallowed_ip=10.2.0.0/16\n", a.h, b.h), 0);
	assert_int_equal(set(f, "replace_peers=true\npublic_key=%s\nallowed_ip=10.3.0.0/16\n"
			     "public_key=%s\nendpoint=192.0.2.1:1\n", c.h, a.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 2);
	assert_null(lookup(f, &b));
	assert_null(route(f, "10.1.0.1"));
	assert_null(route(f, "10.2.0.1"));
	assert_ptr_equal(route(f, "10.3.0.1"), lookup(f, &c));
	/* a came back as a new peer: its old prefix is gone. */
	g = get(f);
	assert_int_equal(g->npeers, 2);
	assert_int_equal(gpeer(g, a.k)->naips, 0);
	assert_string_equal(gpeer(g, a.k)->endpoint, "192.0.2.1:1");
	assert_true(has_aip(gpeer(g, c.k), "10.3.0.0/16"));
	assert_int_equal(g->port, 1); /* device settings stay */
	free(g);

	assert_int_equal(set(f, "replace_peers=true\n"), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 0);
	assert_null(route(f, "10.3.0.1"));
	g = get(f);
	assert_int_equal(g->npeers, 0);
	free(g);
	fx_free(f);
}

/* A section for our own public key is read and ignored (a "dummy" peer). */
static void test_own_public_key_ignored(void **state)
{
	struct fx *f = fx_new();
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	struct key me, other;
	char ph[65];
	struct gdev *g;

	(void)state;
	rand_private(priv);
	pub_of(pub, priv);
	hex(ph, priv);
	key_set(&me, pub);
	key_rand(&other);
	assert_int_equal(set(f, "private_key=%s\npublic_key=%s\nendpoint=192.0.2.1:1\n"
			     "allowed_ip=10.5.0.0/16\npersistent_keepalive_interval=5\n"
			     "preshared_key=%s\nallowed_ip=-10.5.0.0/16\n"
			     "replace_allowed_ips=true\nupdate_only=true\nprotocol_version=1\n"
			     "public_key=%s\nallowed_ip=10.6.0.0/16\n", ph, me.h, other.h, other.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	assert_null(lookup(f, &me));
	assert_null(route(f, "10.5.0.1"));
	assert_ptr_equal(route(f, "10.6.0.1"), lookup(f, &other));
	assert_int_equal(f->nsent, 0);
	/* remove=true on it removes nothing else. */
	assert_int_equal(set(f, "public_key=%s\nremove=true\n", me.h), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	g = get(f);
	assert_int_equal(g->npeers, 1);
	assert_null(gpeer(g, me.k));
	assert_non_null(gpeer(g, other.k));
	free(g);
	fx_free(f);
}

/* ---- malformed lines ---- */

struct bad_case {
	const char *line;
	int err;
};

static const struct bad_case bad_device_lines[] = {
	{ "private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", -EINVAL },
	{ "private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", -EINVAL },
	{ "private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00", -EINVAL },
	{ "private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", -EINVAL },
	{ "private_key=0123456789abcdef0123456789abcdef 123456789abcdef0123456789abcdef", -EINVAL },
	{ "private_key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", -EINVAL }, /* base64 */
	{ "private_key=", -EINVAL },
	{ "listen_port=65536", -EINVAL },
	{ "listen_port=-1", -EINVAL },
	{ "listen_port=+1", -EINVAL },
	{ "listen_port= 1", -EINVAL },
	{ "listen_port=1 ", -EINVAL },
	{ "listen_port=", -EINVAL },
	{ "listen_port=0x10", -EINVAL },
	{ "listen_port=1_000", -EINVAL },
	{ "listen_port=99999999999999999999999", -EINVAL },
	{ "fwmark=4294967296", -EINVAL },
	{ "fwmark=-1", -EINVAL },
	{ "fwmark=abc", -EINVAL },
	{ "fwmark=", -EINVAL },
	{ "replace_peers=false", -EINVAL },
	{ "replace_peers=1", -EINVAL },
	{ "replace_peers=TRUE", -EINVAL },
	{ "replace_peers=", -EINVAL },
	{ "bogus=1", -EINVAL },
	{ "=1", -EINVAL },
	{ "=", -EINVAL },
	{ "Private_key=0000000000000000000000000000000000000000000000000000000000000000", -EINVAL },
	{ "protocol_version=1", -EINVAL },    /* a peer key in the device section */
	{ "allowed_ip=10.0.0.0/8", -EINVAL }, /* likewise */
	{ "endpoint=192.0.2.1:1", -EINVAL },
	{ "get=1", -EINVAL },
	{ "public_key=0123", -EINVAL },
	{ "public_key=zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", -EINVAL },
	/* No '=': wireguard-go's IpcErrorProtocol. */
	{ "listen_port", -EPROTO },
	{ "private_key 0123", -EPROTO },
	{ " ", -EPROTO },
};

/* listen_port is applied before the bad line, fwmark after it is not; the
 * connection then serves a get and another set. */
static void test_malformed_device_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_device_lines) / sizeof(bad_device_lines[0]); i++) {
		const struct bad_case *c = &bad_device_lines[i];
		struct fx *f = fx_new();
		char *text = xasprintf("set=1\nlisten_port=1111\n%s\nfwmark=77\n\n", c->line);
		char *reply = request(f, text);
		char want[32];
		struct gdev *g;

		snprintf(want, sizeof(want), "errno=%d\n\n", c->err);
		if (strcmp(reply, want))
			fail_msg("\"%s\": replied \"%s\", want \"%s\"", c->line, reply, want);
		if (wg_device_listen_port(f->dev) != 1111)
			fail_msg("\"%s\": the line before it was not applied", c->line);
		if (f->dev->fwmark != 0)
			fail_msg("\"%s\": the line after it was applied", c->line);
		if (wg_device_peer_count(f->dev) != 0)
			fail_msg("\"%s\": created a peer", c->line);
		g = get(f);
		assert_int_equal(g->port, 1111);
		assert_false(g->has_fwmark);
		assert_false(g->has_priv);
		free(g);
		assert_int_equal(set(f, "fwmark=5\n"), 0);
		assert_int_equal(f->dev->fwmark, 5);
		free(reply);
		free(text);
		fx_free(f);
	}
}

static const struct bad_case bad_peer_lines[] = {
	{ "public_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", -EINVAL },
	{ "public_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01", -EINVAL },
	{ "public_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdex", -EINVAL },
	{ "public_key=", -EINVAL },
	{ "preshared_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", -EINVAL },
	{ "preshared_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX", -EINVAL },
	{ "preshared_key=", -EINVAL },
	{ "endpoint=192.0.2.1", -EINVAL },
	{ "endpoint=192.0.2.1:", -EINVAL },
	{ "endpoint=192.0.2.1:65536", -EINVAL },
	{ "endpoint=192.0.2.1:-1", -EINVAL },
	{ "endpoint=192.0.2.1:1x", -EINVAL },
	{ "endpoint=192.0.2:1", -EINVAL },
	{ "endpoint=300.0.2.1:1", -EINVAL },
	{ "endpoint=192.0.2.01:1", -EINVAL },
	{ "endpoint=example.com:51820", -EINVAL },
	{ "endpoint=localhost:51820", -EINVAL },
	{ "endpoint=:51820", -EINVAL },
	{ "endpoint=[2001:db8::1]", -EINVAL },
	{ "endpoint=[2001:db8::1]:", -EINVAL },
	{ "endpoint=[2001:db8::1]51820", -EINVAL },
	{ "endpoint=[2001:db8::1:51820", -EINVAL },
	{ "endpoint=2001:db8::1:51820", -EINVAL },
	{ "endpoint=[192.0.2.1]:51820", -EINVAL },
	{ "endpoint=[2001:db8::g]:51820", -EINVAL },
	{ "endpoint=", -EINVAL },
	{ "persistent_keepalive_interval=65536", -EINVAL },
	{ "persistent_keepalive_interval=-1", -EINVAL },
	{ "persistent_keepalive_interval=", -EINVAL },
	{ "persistent_keepalive_interval=off", -EINVAL },
	{ "allowed_ip=10.0.0.0", -EINVAL },
	{ "allowed_ip=10.0.0.0/33", -EINVAL },
	{ "allowed_ip=10.0.0.0/-1", -EINVAL },
	{ "allowed_ip=10.0.0.0/", -EINVAL },
	{ "allowed_ip=10.0.0.0/8 ", -EINVAL },
	{ "allowed_ip=10.0.0.0/8/8", -EINVAL },
	{ "allowed_ip=::/129", -EINVAL },
	{ "allowed_ip=10.0.0.256/8", -EINVAL },
	{ "allowed_ip=/8", -EINVAL },
	{ "allowed_ip=example.com/8", -EINVAL },
	{ "allowed_ip=-10.0.0.0/33", -EINVAL },
	{ "allowed_ip=-10.0.0.0", -EINVAL },
	{ "allowed_ip=-", -EINVAL },
	{ "allowed_ip=", -EINVAL },
	{ "replace_allowed_ips=false", -EINVAL },
	{ "replace_allowed_ips=", -EINVAL },
	{ "remove=yes", -EINVAL },
	{ "remove=false", -EINVAL },
	{ "update_only=false", -EINVAL },
	{ "update_only=1", -EINVAL },
	{ "protocol_version=2", -EINVAL },
	{ "protocol_version=0", -EINVAL },
	{ "protocol_version=", -EINVAL },
	{ "listen_port=1", -EINVAL }, /* a device key in a peer section */
	{ "private_key=0000000000000000000000000000000000000000000000000000000000000000", -EINVAL },
	{ "replace_peers=true", -EINVAL },
	{ "bogus=1", -EINVAL },
	{ "=", -EINVAL },
	{ "endpoint", -EPROTO },
	{ "remove", -EPROTO },
};

/* The peer gets its endpoint (before the bad line) but not the allowed-ip and
 * keepalive after it; the connection then serves a get and another set. */
static void test_malformed_peer_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_peer_lines) / sizeof(bad_peer_lines[0]); i++) {
		const struct bad_case *c = &bad_peer_lines[i];
		struct fx *f = fx_new();
		struct key k;
		char *text, *reply, want[32];
		struct wg_peer *p;
		struct gdev *g;

		key_rand(&k);
		text = xasprintf("set=1\npublic_key=%s\nendpoint=192.0.2.9:1111\n%s\n"
				 "allowed_ip=10.9.0.0/16\npersistent_keepalive_interval=77\n\n",
				 k.h, c->line);
		reply = request(f, text);
		snprintf(want, sizeof(want), "errno=%d\n\n", c->err);
		if (strcmp(reply, want))
			fail_msg("\"%s\": replied \"%s\", want \"%s\"", c->line, reply, want);
		p = lookup(f, &k);
		if (!p)
			fail_msg("\"%s\": the peer before it is gone", c->line);
		assert_endpoint(p, "192.0.2.9", 1111);
		if (route(f, "10.9.0.1") || p->persistent_keepalive)
			fail_msg("\"%s\": a line after it was applied", c->line);
		if (wg_device_peer_count(f->dev) != 1)
			fail_msg("\"%s\": peer count %u", c->line, wg_device_peer_count(f->dev));
		g = get(f);
		assert_int_equal(g->npeers, 1);
		assert_string_equal(g->peers[0].endpoint, "192.0.2.9:1111");
		assert_int_equal(g->peers[0].naips, 0);
		assert_int_equal(g->peers[0].keepalive, 0);
		free(g);
		assert_int_equal(set(f, "public_key=%s\nallowed_ip=10.9.0.0/16\n", k.h), 0);
		assert_ptr_equal(route(f, "10.9.0.1"), p);
		free(reply);
		free(text);
		fx_free(f);
	}
}

/* A set replies once, after its blank line; lines take effect as they come. */
static void test_set_reply_after_blank_line(void **state)
{
	struct fx *f = fx_new();
	size_t len;
	char *reply;

	(void)state;
	assert_true(feed(f->u, "set=1\nlisten_port=2\n"));
	wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);
	assert_int_equal(wg_device_listen_port(f->dev), 2);
	assert_true(feed(f->u, "listen_port=x\nlisten_port=3\n"));
	wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);
	assert_int_equal(wg_device_listen_port(f->dev), 2);
	assert_true(feed(f->u, "\n"));
	reply = take_output(f->u);
	assert_string_equal(reply, "errno=-22\n\n");
	free(reply);
	/* The error does not stick to the next request. */
	reply = request(f, "set=1\n\n");
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	fx_free(f);
}

/* ---- protocol violations: the connection must close ---- */

struct raw {
	const char *data;
	size_t len;
};
#define RAW(s) { s, sizeof(s) - 1 }

static const struct raw violations[] = {
	RAW("foo=1\n"),
	RAW("set=2\n"),
	RAW("get=2\n"),
	RAW("get=1 \n"),
	RAW("set=1\r\n"),
	RAW("SET=1\n"),
	RAW("\n"),
	RAW("set\n"),
	RAW("errno=0\n"),
	RAW("set=1\n\n\n"),                  /* a second blank line is an empty operation */
	RAW("get=1\n\nfoo=1\n"),             /* after a complete get */
	RAW("set=1\nlisten_port=1\0\n\n"),   /* NUL inside a set line */
	RAW("set=1\n\0"),
	RAW("\0"),
	RAW("get\0=1\n"),
	RAW("get=1\nx\n"),                   /* get is followed by its blank line only */
	RAW("get=1\nget=1\n\n"),
};

static void test_protocol_violations(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++) {
		struct fx *f = fx_new();

		if (wg_uapi_feed(f->u, violations[i].data, violations[i].len, test_now))
			fail_msg("violation %zu (\"%s\") did not close the connection", i,
				 violations[i].data);
		fx_free(f);
	}
}

/* wireguard-go answers a get with trailing input errno=-22 (IpcErrorInvalid). */
static void test_get_trailing_line(void **state)
{
	struct fx *f = fx_new();
	char *reply;

	(void)state;
	assert_false(feed(f->u, "get=1\nlisten_port=1\n"));
	reply = take_output(f->u);
	assert_string_equal(reply, "errno=-22\n\n");
	assert_int_equal(wg_device_listen_port(f->dev), 0);
	free(reply);
	fx_free(f);
}

/* Replies already produced stay when a later violation closes the connection. */
static void test_violation_after_request(void **state)
{
	struct fx *f = fx_new();
	char *reply;

	(void)state;
	assert_false(feed(f->u, "set=1\nlisten_port=9\n\nbogus\n"));
	reply = take_output(f->u);
	assert_string_equal(reply, "errno=0\n\n");
	assert_int_equal(wg_device_listen_port(f->dev), 9);
	free(reply);
	fx_free(f);
}

static void test_line_limit(void **state)
{
	size_t big = 1 << 20;
	char *buf = malloc(big);
	struct fx *f;
	char *text, *reply;

	(void)state;
	assert_non_null(buf);
	/* An endless set line. */
	f = fx_new();
	memset(buf, '1', big);
	assert_true(feed(f->u, "set=1\nlisten_port="));
	assert_false(wg_uapi_feed(f->u, buf, big, test_now));
	fx_free(f);
	/* An endless operation line, given a byte at a time. */
	f = fx_new();
	memset(buf, 'g', big);
	{
		bool open = true;
		size_t i;

		for (i = 0; i < big && open; i++)
			open = wg_uapi_feed(f->u, buf + i, 1, test_now);
		assert_false(open);
		assert_true(i < big);
	}
	fx_free(f);
	/* A long line within the limit is only a bad key. */
	f = fx_new();
	memset(buf, 'k', 1000);
	buf[1000] = '\0';
	text = xasprintf("set=1\n%s=1\n\n", buf);
	reply = request(f, text);
	assert_string_equal(reply, "errno=-22\n\n");
	free(reply);
	free(text);
	reply = request(f, "set=1\nlisten_port=4\n\n");
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	fx_free(f);
	free(buf);
}

/* ---- input in pieces ---- */

static struct key script_a, script_b, script_c, script_psk;

static char *script_new(void)
{
	uint8_t priv[WG_KEY_LEN];
	char ph[65];

	key_rand(&script_a);
	key_rand(&script_b);
	key_rand(&script_c);
	key_rand(&script_psk);
	memset(priv, 0x11, sizeof(priv));
	priv[0] = 0x10;
	priv[31] = 0x51;
	hex(ph, priv);
	return xasprintf("set=1\n"
			 "private_key=%s\n"
			 "listen_port=51820\n"
			 "fwmark=7\n"
			 "replace_peers=true\n"
			 "public_key=%s\n"
			 "preshared_key=%s\n"
			 "endpoint=192.0.2.1:51820\n"
			 "persistent_keepalive_interval=25\n"
			 "replace_allowed_ips=true\n"
			 "allowed_ip=10.1.0.0/16\n"
			 "allowed_ip=fd00:1::/64\n"
			 "public_key=%s\n"
			 "protocol_version=1\n"
			 "endpoint=[2001:db8::2]:1234\n"
			 "allowed_ip=10.2.0.0/16\n"
			 "allowed_ip=-10.2.0.0/16\n"
			 "allowed_ip=10.3.0.0/16\n"
			 "\n"
			 "get=1\n"
			 "\n"
			 "set=1\n"
			 "public_key=%s\n"
			 "endpoint=bogus\n"
			 "allowed_ip=10.9.0.0/16\n"
			 "\n"
			 "set=1\n"
			 "\n"
			 "set=1\n"
			 "public_key=%s\n"
			 "update_only=true\n"
			 "allowed_ip=10.9.0.0/16\n"
			 "public_key=%s\n"
			 "remove=true\n"
			 "\n"
			 "set=1\n"
			 "listen_port\n"
			 "\n"
			 "get=1\n"
			 "\n",
			 ph, script_a.h, script_psk.h, script_b.h, script_c.h, script_c.h, script_b.h);
}

enum chunking { WHOLE, BYTES, RANDOM, SPLIT };

/* Runs the script on a fresh device, fed as asked; returns every reply. */
static char *run_script(const char *script, enum chunking how, unsigned param)
{
	struct fx *f = fx_new();
	size_t len = strlen(script), pos = 0, cap = 65536, olen = 0;
	char *all = malloc(cap);

	assert_non_null(all);
	srand(param);
	while (pos < len) {
		size_t n, got;
		const char *o;

		switch (how) {
		case WHOLE:
			n = len;
			break;
		case BYTES:
			n = 1;
			break;
		case RANDOM:
			n = (size_t)rand() % 24; /* zero-length feeds included */
			break;
		default:
			n = pos < param ? param - pos : len - pos;
			break;
		}
		if (n > len - pos)
			n = len - pos;
		assert_true(wg_uapi_feed(f->u, script + pos, n, test_now));
		pos += n;
		/* Drain only sometimes, and partly, as a socket writer would. */
		o = wg_uapi_output(f->u, &got);
		if (how != RANDOM || rand() % 2) {
			size_t take = how == RANDOM ? got / 2 + (got & 1) : got;

			assert_true(olen + take < cap);
			if (take)
				memcpy(all + olen, o, take);
			olen += take;
			wg_uapi_consumed(f->u, take);
		}
	}
	{
		size_t got;
		const char *o = wg_uapi_output(f->u, &got);

		assert_true(olen + got < cap);
		if (got)
			memcpy(all + olen, o, got);
		olen += got;
	}
	all[olen] = '\0';
	fx_free(f);
	return all;
}

/* Splits "a\n\nb\n\n..." replies at their blank lines. */
static unsigned split_replies(char *s, char **out, unsigned max)
{
	unsigned n = 0;

	while (*s) {
		char *end = strstr(s, "\n\n");

		assert_non_null(end);
		assert_true(n < max);
		out[n++] = s;
		end[1] = '\0';
		s = end + 2;
	}
	return n;
}

static void test_chunked_feeding(void **state)
{
	char *script = script_new();
	char *whole = run_script(script, WHOLE, 0), *copy, *r[16];
	size_t len = strlen(script);
	struct gdev *g = malloc(sizeof(*g));
	char *other;
	unsigned n;

	(void)state;
	assert_non_null(g);
	/* The whole-script replies are right in themselves. */
	copy = strdup(whole);
	n = split_replies(copy, r, 16);
	assert_int_equal(n, 7);
	{
		char *one = xasprintf("%s\n", r[1]);

		parse_get(one, g);
		free(one);
	}
	assert_int_equal(g->npeers, 2);
	assert_int_equal(g->port, 51820);
	assert_int_equal(g->fwmark, 7);
	assert_non_null(gpeer(g, script_b.k));
	assert_string_equal(gpeer(g, script_b.k)->endpoint, "[2001:db8::2]:1234");
	assert_int_equal(gpeer(g, script_b.k)->naips, 1);
	assert_string_equal(gpeer(g, script_b.k)->aips[0], "10.3.0.0/16");
	assert_string_equal(r[0], "errno=0\n");
	assert_string_equal(r[2], "errno=-22\n");
	assert_string_equal(r[3], "errno=0\n");
	assert_string_equal(r[4], "errno=0\n");
	assert_string_equal(r[5], "errno=-71\n");
	{
		char *one = xasprintf("%s\n", r[6]);

		parse_get(one, g);
		free(one);
	}
	/* b removed; c was created by the set that failed after its public_key
	 * line (as in wireguard-go), so update_only then updated it. */
	assert_int_equal(g->npeers, 2);
	assert_non_null(gpeer(g, script_a.k));
	assert_null(gpeer(g, script_b.k));
	assert_non_null(gpeer(g, script_c.k));
	assert_false(gpeer(g, script_c.k)->has_endpoint);
	assert_int_equal(gpeer(g, script_c.k)->naips, 1);
	assert_string_equal(gpeer(g, script_c.k)->aips[0], "10.9.0.0/16");
	assert_int_equal(gpeer(g, script_a.k)->naips, 2);
	assert_int_equal(gpeer(g, script_a.k)->keepalive, 25);
	assert_memory_equal(gpeer(g, script_a.k)->psk, script_psk.k, WG_KEY_LEN);
	free(copy);

	other = run_script(script, BYTES, 0);
	assert_string_equal(other, whole);
	free(other);
	for (unsigned seed = 1; seed <= 50; seed++) {
		other = run_script(script, RANDOM, seed);
		assert_string_equal(other, whole);
		free(other);
	}
	for (unsigned at = 1; at < len; at++) {
		other = run_script(script, SPLIT, at);
		if (strcmp(other, whole))
			fail_msg("split at %u differs:\n%s\nvs\n%s", at, other, whole);
		free(other);
	}
	free(g);
	free(whole);
	free(script);
}

/* ---- the output buffer ---- */

static void test_consumed(void **state)
{
	struct fx *f = fx_new();
	const char *o;
	size_t len, full_len;
	char *full, *reply;
	struct gdev *g = malloc(sizeof(*g));

	(void)state;
	assert_non_null(g);
	o = wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);
	/* Nothing written yet: consuming nothing, or too much, is harmless (a
	 * socket writer may report 0 bytes written before any reply exists). */
	wg_uapi_consumed(f->u, 0);
	wg_uapi_consumed(f->u, 7);
	wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);

	/* Replies pile up until consumed. */
	assert_true(feed(f->u, "set=1\nlisten_port=77\n\n"));
	assert_true(feed(f->u, "get=1\n\n"));
	o = wg_uapi_output(f->u, &full_len);
	full = strndup(o, full_len);
	assert_non_null(full);
	assert_string_equal(full, "errno=0\n\nlisten_port=77\nerrno=0\n\n");

	wg_uapi_consumed(f->u, 0);
	o = wg_uapi_output(f->u, &len);
	assert_int_equal(len, full_len);
	assert_memory_equal(o, full, len);

	wg_uapi_consumed(f->u, 3);
	o = wg_uapi_output(f->u, &len);
	assert_int_equal(len, full_len - 3);
	assert_memory_equal(o, full + 3, len);

	/* A new reply goes after what is still pending. */
	assert_true(feed(f->u, "set=1\nbogus=1\n\n"));
	o = wg_uapi_output(f->u, &len);
	reply = xasprintf("%serrno=-22\n\n", full + 3);
	assert_int_equal(len, strlen(reply));
	assert_memory_equal(o, reply, len);
	free(reply);

	/* More than pending drops all of it. */
	wg_uapi_consumed(f->u, len + 1000);
	wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);
	wg_uapi_consumed(f->u, 5);
	wg_uapi_output(f->u, &len);
	assert_int_equal(len, 0);

	reply = request(f, "get=1\n\n");
	assert_string_equal(reply, "listen_port=77\nerrno=0\n\n");
	free(reply);
	free(full);

	/* A large reply (growing the buffer) read out in small, uneven pieces. */
	{
		struct key k;
		char *bulk = strdup("set=1\n"), *piece, *joined;
		size_t jl = 0;

		assert_non_null(bulk);
		for (unsigned i = 0; i < 100; i++) {
			char *next;

			key_rand(&k);
			next = xasprintf("%spublic_key=%s\nendpoint=[2001:db8::%x]:%u\n"
					 "allowed_ip=10.%u.0.0/16\nallowed_ip=fd00:%x::/32\n",
					 bulk, k.h, i + 1, 1000 + i, i, i + 1);
			free(bulk);
			bulk = next;
		}
		piece = xasprintf("%s\nget=1\n\n", bulk);
		assert_true(wg_uapi_feed(f->u, piece, strlen(piece), test_now));
		o = wg_uapi_output(f->u, &len);
		assert_true(len > 16384);
		joined = malloc(len + 1);
		assert_non_null(joined);
		full_len = len;
		for (size_t step = 1; jl < full_len; step = step * 3 % 1021 + 1) {
			o = wg_uapi_output(f->u, &len);
			assert_int_equal(len, full_len - jl);
			if (step > len)
				step = len;
			memcpy(joined + jl, o, step);
			jl += step;
			wg_uapi_consumed(f->u, step);
		}
		joined[jl] = '\0';
		assert_true(!strncmp(joined, "errno=0\n\n", 9));
		parse_get(joined + 9, g);
		assert_int_equal(g->npeers, 100);
		for (unsigned i = 0; i < g->npeers; i++)
			assert_int_equal(g->peers[i].naips, 2);
		free(joined);
		free(piece);
		free(bulk);
	}
	free(g);
	fx_free(f);
	wg_uapi_free(NULL);
}

/* ---- get on a device that has talked ---- */

static void test_get_stats_after_handshake(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t psk[WG_KEY_LEN];
	struct wg_peer_stats st;
	struct wg_uapi *u;
	struct gdev *g = malloc(sizeof(*g));
	struct gpeer *p;
	uint64_t done_at;
	size_t len;
	char *reply;

	(void)state;
	assert_non_null(g);
	memset(psk, 0x5a, sizeof(psk));
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51821);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", psk);
	test_now += 123456789; /* a handshake time with nanoseconds */
	wg_peer_initiate(peer_of(a, b), test_now);
	deliver(a, b);
	done_at = test_wall_ns + test_now;
	deliver(b, a);
	deliver(a, b);
	wg_peer_stats(peer_of(a, b), &st);
	assert_true(st.has_session);

	u = wg_uapi_new(a->dev);
	assert_non_null(u);
	assert_true(feed(u, "get=1\n\n"));
	reply = take_output(u);
	parse_get(reply, g);
	free(reply);
	assert_memory_equal(g->priv, a->priv, WG_KEY_LEN);
	assert_int_equal(g->port, 51820);
	assert_int_equal(g->npeers, 1);
	p = &g->peers[0];
	assert_memory_equal(p->pub, b->pub, WG_KEY_LEN);
	assert_memory_equal(p->psk, psk, WG_KEY_LEN);
	assert_string_equal(p->endpoint, "192.0.2.2:51821");
	assert_int_equal(p->hs_sec, done_at / NS);
	assert_int_equal(p->hs_nsec, done_at % NS);
	assert_int_equal(p->hs_nsec, 123456789);
	assert_int_equal(p->tx, st.tx_bytes);
	assert_int_equal(p->rx, st.rx_bytes);
	assert_true(p->tx > 0);
	assert_true(p->rx > 0);
	assert_int_equal(p->naips, 1);
	assert_string_equal(p->aips[0], "10.2.0.0/24");

	/* A set through this connection leaves the session alone. */
	assert_true(feed(u, "set=1\nfwmark=3\n\n"));
	reply = take_output(u);
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	wg_peer_stats(peer_of(a, b), &st);
	assert_true(st.has_session);
	wg_uapi_output(u, &len);
	assert_int_equal(len, 0);

	wg_uapi_free(u);
	free(g);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_empty),
		cmocka_unit_test(test_device_keys),
		cmocka_unit_test(test_private_key_clamped),
		cmocka_unit_test(test_private_key_removes_matching_peer),
		cmocka_unit_test(test_peer_keys),
		cmocka_unit_test(test_uppercase_hex_keys),
		cmocka_unit_test(test_persistent_keepalive_sends),
		cmocka_unit_test(test_allowed_ip_masked),
		cmocka_unit_test(test_allowed_ip_remove_form),
		cmocka_unit_test(test_allowed_ip_moves_between_peers),
		cmocka_unit_test(test_allowed_ip_insertion_order),
		cmocka_unit_test(test_replace_allowed_ips),
		cmocka_unit_test(test_remove_peer),
		cmocka_unit_test(test_update_only),
		cmocka_unit_test(test_replace_peers),
		cmocka_unit_test(test_own_public_key_ignored),
		cmocka_unit_test(test_malformed_device_lines),
		cmocka_unit_test(test_malformed_peer_lines),
		cmocka_unit_test(test_set_reply_after_blank_line),
		cmocka_unit_test(test_protocol_violations),
		cmocka_unit_test(test_get_trailing_line),
		cmocka_unit_test(test_violation_after_request),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_chunked_feeding),
		cmocka_unit_test(test_consumed),
		cmocka_unit_test(test_get_stats_after_handshake),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
