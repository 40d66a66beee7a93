// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_common.h"
#include "wg.h"

uint64_t fz_now = 1000 * FZ_NS;
/* Wall clock: 2033, later than the captures of the seed corpus, so that their
 * initiations are replays to a device that has had a handshake here. */
static const uint64_t wall_base = UINT64_C(2000000000) * FZ_NS;

void fz_advance(uint64_t ns)
{
	fz_now += ns;
}

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *rng_name(void)
{
	return "hopmesh-fuzz-splitmix64";
}

static uint32_t rng_random(void)
{
	return (uint32_t)(rng_next() >> 32);
}

static void rng_stir(void)
{
}

static void rng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = rng_next();
		size_t k = size - i < 8 ? size - i : 8;

		memcpy(p + i, &v, k);
	}
}

static randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.stir = rng_stir,
	.uniform = NULL, /* libsodium derives it from random() */
	.buf = rng_buf,
	.close = NULL,
};

bool fz_verbose;

void fz_log(const char *fmt, ...)
{
	va_list ap;

	if (!fz_verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fz_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	fz_verbose = getenv("HOPMESH_FUZZ_VERBOSE") != NULL;
	fz_reseed(0);
	/* tunnels/ initialises libsodium (and OpenSSL) on first use, after this. */
	if (randombytes_set_implementation(&rng_impl) != 0 || !wg_crypto_global_init())
		fz_fail("crypto init");
}

void fz_reseed(uint64_t seed)
{
	rng_state = seed ^ UINT64_C(0x686f706d657368); /* "hopmesh" */
}

/* ---- keys of tests/fixtures/wireguard-go (test-only, published) ---- */

static const char *const key_b64[3] = {
	NULL,
	"2JMx63pXOddrQGojEMkAAVWa8IXsCStCChDgd8/8EmY=", /* p1.key */
	"ENq92K9JRSWbtM9fUmEDr+LBVWaC8BEVrI93g2K0a30=", /* p2.key */
};
static const char psk_b64[] = "j2vt4Hdcq3lIksXXX4Kie5/ZyWw6qKJmgl9vc+V2WFY=";

void fz_key(int who, uint8_t priv[WG_KEY_LEN])
{
	if (who < 1 || who > 2 || !wg_key_from_base64(priv, key_b64[who]))
		fz_fail("fixture key");
}

void fz_psk(uint8_t psk[WG_KEY_LEN])
{
	if (!wg_key_from_base64(psk, psk_b64))
		fz_fail("fixture psk");
}

/* ---- devices ---- */

static bool cap_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		     const uint8_t *msg, size_t len)
{
	struct fz_node *n = ctx;

	(void)peer;
	FZ_CHECK(msg != NULL && len > 0);
	if (to->family == AF_UNSPEC || n->nsent == FZ_QUEUE_MAX || len > FZ_MSG_MAX)
		return false;
	n->sent[n->nsent].len = len;
	memcpy(n->sent[n->nsent].data, msg, len);
	n->nsent++;
	return true;
}

static void cap_session_ready(void *ctx, struct wg_peer *peer)
{
	void *pkts[WG_MAX_STAGED_PACKETS];
	unsigned k = wg_peer_unstage(peer, pkts, WG_MAX_STAGED_PACKETS);

	(void)ctx;
	/* The targets never stage packets; should the library hand any back, they
	 * are not ours to send. */
	for (unsigned i = 0; i < k; i++)
		free(pkts[i]);
}

static uint64_t fake_wall(void *ctx)
{
	(void)ctx;
	return wall_base + fz_now;
}

static void quiet_log(void *ctx, int level, const char *msg)
{
	(void)ctx, (void)level, (void)msg;
}

void fz_node_init(struct fz_node *n, int who)
{
	struct wg_ops ops = {
		.send = cap_send,
		.session_ready = cap_session_ready,
		.wall_ns = fake_wall,
		.log = quiet_log,
	};
	uint8_t priv[WG_KEY_LEN];

	memset(n, 0, sizeof(*n));
	n->who = who;
	ops.ctx = n;
	n->dev = wg_device_new(&ops, 10);
	if (!n->dev)
		fz_fail("device");
	fz_key(who, priv);
	wg_device_set_private_key(n->dev, priv, fz_now);
	wg_memzero(priv, sizeof(priv));
	if (!wg_device_public_key(n->dev, n->pub))
		fz_fail("public key");
	n->addr.family = AF_INET;
	n->addr.addr.v4.s_addr = htonl(0x0a5a0000u | (uint32_t)who); /* 10.90.0.who */
	n->addr.port = 51820;
	wg_device_set_listen_port(n->dev, 51820);
}

struct wg_crypto *fz_crypto(struct fz_node *n)
{
	if (!n->crypto && !(n->crypto = wg_crypto_new()))
		fz_fail("crypto context");
	return n->crypto;
}

void fz_node_free(struct fz_node *n)
{
	wg_crypto_free(n->crypto);
	wg_device_free(n->dev);
	memset(n, 0, sizeof(*n));
}

void fz_pub(int who, uint8_t pub[WG_KEY_LEN])
{
	uint8_t priv[WG_KEY_LEN];

	fz_key(who, priv);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	if (!wg_pubkey(pub, priv))
		fz_fail("fixture public key");
	wg_memzero(priv, sizeof(priv));
}

void fz_node_add_peer(struct fz_node *n, int other, bool psk)
{
	uint8_t k[WG_KEY_LEN], v4[4] = { 10, 91, 0, (uint8_t)other }, v6[16] = { 0xfd, 0x91 };
	struct wg_endpoint ep = { .family = AF_INET, .port = 51820 };

	fz_pub(other, k);
	n->peer = wg_peer_add(n->dev, k);
	if (!n->peer)
		fz_fail("peer add");
	ep.addr.v4.s_addr = htonl(0x0a5a0000u | (uint32_t)other);
	wg_peer_set_endpoint(n->peer, &ep);
	v6[15] = (uint8_t)other;
	if (wg_peer_allowedip_add(n->peer, AF_INET, v4, 32) ||
	    wg_peer_allowedip_add(n->peer, AF_INET6, v6, 128))
		fz_fail("allowed-ips");
	v4[2] = (uint8_t)other;
	v4[3] = 0;
	v6[3] = (uint8_t)other;
	v6[15] = 0;
	if (wg_peer_allowedip_add(n->peer, AF_INET, v4, 24) ||
	    wg_peer_allowedip_add(n->peer, AF_INET6, v6, 64))
		fz_fail("allowed-ips");
	wg_device_commit_allowedips(n->dev);
	if (psk) {
		fz_psk(k);
		wg_peer_set_preshared_key(n->peer, k);
	}
}

void fz_node_pair(struct fz_node *a, struct fz_node *b, bool psk)
{
	fz_node_add_peer(a, b->who, psk);
	fz_node_add_peer(b, a->who, psk);
}

unsigned fz_deliver(struct fz_node *from, struct fz_node *to)
{
	unsigned n = from->nsent;

	/* Delivery makes only "to" send, never "from": the queue stays put. */
	for (unsigned i = 0; i < n; i++) {
		struct fz_msg *m = &from->sent[i];

		if (m->data[0] == WG_MSG_DATA) {
			struct wg_rx rx = {
				.msg = m->data, .len = (uint32_t)m->len, .src = from->addr
			};
			bool attention = false;

			wg_decrypt_burst(fz_crypto(to), to->dev, &rx, 1, fz_now, &attention);
			if (attention)
				wg_device_tick(to->dev, fz_now);
		} else {
			wg_device_handshake_rx(to->dev, m->data, m->len, &from->addr, 0, fz_now);
		}
	}
	from->nsent = 0;
	return n;
}

int fz_find_sent(const struct fz_node *n, uint32_t type)
{
	for (unsigned i = 0; i < n->nsent; i++)
		if (n->sent[i].len >= 4 && fz_get_le32(n->sent[i].data) == type)
			return (int)i;
	return -1;
}

/* ---- wire helpers ---- */

void fz_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t fz_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void fz_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t fz_get_le64(const uint8_t *p)
{
	return (uint64_t)fz_get_le32(p) | (uint64_t)fz_get_le32(p + 4) << 32;
}

void fz_mac1_key(uint8_t key[WG_KEY_LEN], const uint8_t receiver_public[WG_KEY_LEN])
{
	static const char label[8] = "mac1----";

	wg_hash(key, label, sizeof(label), receiver_public, WG_KEY_LEN);
}

void fz_set_mac1(uint8_t *msg, size_t len, const uint8_t key[WG_KEY_LEN])
{
	size_t body = len - 2 * WG_MAC_LEN;

	wg_mac(msg + body, key, WG_KEY_LEN, msg, body, NULL, 0);
}

void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz invariant broken: %s\n", what);
	abort();
}
