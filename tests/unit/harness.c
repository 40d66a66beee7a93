// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <endian.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "wg.h"

uint64_t test_now = 1000 * NS;
uint64_t test_wall_ns = 1700000000ULL * NS;

static bool cap_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		     const uint8_t *msg, size_t len)
{
	struct node *n = ctx;
	struct sent_msg *m;

	/* Like a network with no relay: nowhere to send without an address. */
	if (to->family == AF_UNSPEC)
		return false;
	assert_true(n->nsent < MAX_SENT);
	assert_true(len <= sizeof(m->data));
	m = &n->sent[n->nsent++];
	m->peer = peer;
	m->to = *to;
	m->len = len;
	memcpy(m->data, msg, len);
	return true;
}

static void cap_session_ready(void *ctx, struct wg_peer *peer)
{
	struct node *n = ctx;
	void *pkts[WG_MAX_STAGED_PACKETS];
	unsigned k = wg_peer_unstage(peer, pkts, WG_MAX_STAGED_PACKETS);

	n->session_ready_calls++;
	/* Staged packets in these tests are malloc'd inner packets: send them. */
	for (unsigned i = 0; i < k; i++) {
		uint8_t *inner = pkts[i];
		uint32_t len = ntohs(((struct iphdr *)inner)->tot_len);
		uint8_t buf[2048];
		struct wg_tx tx = { .peer = peer, .msg = buf, .len = len };

		memcpy(buf + WG_DATA_HEADER_LEN, inner, len);
		free(inner);
		if (wg_encrypt_burst(n->crypto, &tx, 1, test_now) == 1)
			cap_send(n, peer, &tx.dst, buf, tx.len);
	}
}

static void cap_free_staged(void *ctx, void *pkt)
{
	struct node *n = ctx;

	n->staged_freed++;
	free(pkt);
}

static uint64_t fake_wall(void *ctx)
{
	(void)ctx;
	return test_wall_ns + test_now;
}

static void quiet_log(void *ctx, int level, const char *msg)
{
	(void)ctx, (void)level, (void)msg;
}

void node_init(struct node *n, const char *ip, uint16_t port)
{
	struct wg_ops ops = {
		.ctx = n,
		.send = cap_send,
		.session_ready = cap_session_ready,
		.free_staged = cap_free_staged,
		.wall_ns = fake_wall,
		.log = quiet_log,
	};

	memset(n, 0, sizeof(*n));
	n->dev = wg_device_new(&ops, 10);
	assert_non_null(n->dev);
	n->crypto = wg_crypto_new();
	assert_non_null(n->crypto);
	randombytes_buf(n->priv, sizeof(n->priv));
	n->priv[0] &= 248;
	n->priv[31] = (n->priv[31] & 127) | 64;
	wg_device_set_private_key(n->dev, n->priv, test_now);
	assert_true(wg_device_public_key(n->dev, n->pub));
	assert_true(inet_pton(AF_INET, ip, &n->addr.addr.v4) == 1);
	n->addr.family = AF_INET;
	n->addr.port = port;
	wg_device_set_listen_port(n->dev, port);
}

void node_free(struct node *n)
{
	wg_crypto_free(n->crypto);
	wg_device_free(n->dev);
}

static void add_prefix(struct wg_peer *p, const char *net)
{
	char buf[64], *slash;
	uint8_t addr[16];

	snprintf(buf, sizeof(buf), "%s", net);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		assert_int_equal(wg_peer_allowedip_add(p, AF_INET, addr, (uint8_t)atoi(slash + 1)), 0);
	else {
		assert_int_equal(inet_pton(AF_INET6, buf, addr), 1);
		assert_int_equal(wg_peer_allowedip_add(p, AF_INET6, addr, (uint8_t)atoi(slash + 1)), 0);
	}
}

void node_pair(struct node *a, struct node *b, const char *a_net, const char *b_net,
	       const uint8_t *psk)
{
	struct wg_peer *pa = wg_peer_add(a->dev, b->pub); /* a's view of b */
	struct wg_peer *pb = wg_peer_add(b->dev, a->pub);

	assert_non_null(pa);
	assert_non_null(pb);
	wg_peer_set_endpoint(pa, &b->addr);
	wg_peer_set_endpoint(pb, &a->addr);
	add_prefix(pa, b_net);
	add_prefix(pb, a_net);
	wg_device_commit_allowedips(a->dev);
	wg_device_commit_allowedips(b->dev);
	if (psk) {
		wg_peer_set_preshared_key(pa, psk);
		wg_peer_set_preshared_key(pb, psk);
	}
}

struct wg_peer *peer_of(struct node *n, const struct node *other)
{
	return wg_peer_lookup(n->dev, other->pub);
}

void clear_sent(struct node *n)
{
	n->nsent = 0;
}

unsigned count_type(const struct node *n, uint32_t type)
{
	unsigned c = 0;

	for (unsigned i = 0; i < n->nsent; i++)
		if (n->sent[i].len >= 4 && n->sent[i].data[0] == type)
			c++;
	return c;
}

int recv_data(struct node *b, uint8_t *msg, uint32_t len, const struct wg_endpoint *from)
{
	struct wg_rx rx = { .msg = msg, .len = len, .src = *from };
	bool attention = false;

	wg_decrypt_burst(b->crypto, b->dev, &rx, 1, test_now, &attention);
	return rx.status;
}

unsigned deliver(struct node *from, struct node *to)
{
	unsigned n = from->nsent, done = 0;
	struct sent_msg *copy = malloc(sizeof(*copy) * (n ? n : 1));

	/* Delivery can make "to" send, and "from" may be "to"'s target: copy first. */
	memcpy(copy, from->sent, sizeof(*copy) * n);
	from->nsent = 0;
	for (unsigned i = 0; i < n; i++) {
		struct sent_msg *m = &copy[i];

		if (m->data[0] == WG_MSG_DATA)
			recv_data(to, m->data, (uint32_t)m->len, &from->addr);
		else
			wg_device_handshake_rx(to->dev, m->data, m->len, &from->addr, 0, test_now);
		done++;
	}
	free(copy);
	return done;
}

uint32_t make_ipv4(uint8_t *buf, const char *src, const char *dst, uint32_t payload)
{
	struct iphdr *ip = (struct iphdr *)(buf + WG_DATA_HEADER_LEN);
	uint32_t len = (uint32_t)sizeof(*ip) + payload;

	memset(ip, 0, len);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)len);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	for (uint32_t i = 0; i < payload; i++)
		buf[WG_DATA_HEADER_LEN + sizeof(*ip) + i] = (uint8_t)i;
	return len;
}

int send_data(struct node *a, struct wg_peer *peer, const char *src, const char *dst,
	      uint32_t payload, uint8_t *out, uint32_t *outlen)
{
	struct wg_tx tx = { .peer = peer, .msg = out };

	tx.len = make_ipv4(out, src, dst, payload);
	wg_encrypt_burst(a->crypto, &tx, 1, test_now);
	*outlen = tx.len;
	return tx.status;
}

bool read_key_file(const char *path, uint8_t key[WG_KEY_LEN])
{
	char line[128];
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return wg_key_from_base64(key, line);
}

void handshake(struct node *a, struct node *b)
{
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	struct wg_peer_stats st, before;
	struct wg_keypair *responder_current = atomic_load(&ba->current);

	clear_sent(a);
	clear_sent(b);
	wg_peer_initiate(ab, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	assert_int_equal(a->sent[0].len, WG_INITIATION_LEN);
	deliver(a, b);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	assert_int_equal(b->sent[0].len, WG_RESPONSE_LEN);
	/* The responder may not send under the new session before confirmation. */
	wg_peer_stats(ba, &before);
	assert_ptr_equal(atomic_load(&ba->current), responder_current);
	assert_non_null(atomic_load(&ba->next));
	deliver(b, a);
	wg_peer_stats(ab, &st);
	assert_true(st.has_session);
	/* The initiator confirms at once with a keepalive. */
	assert_int_equal(a->nsent, 1);
	assert_int_equal(a->sent[0].len, WG_DATA_MIN_LEN);
	deliver(a, b);
	wg_device_tick(b->dev, test_now);
	wg_peer_stats(ba, &st);
	assert_true(st.has_session);
	assert_null(atomic_load(&ba->next));
	assert_int_equal(st.handshakes_completed, before.handshakes_completed);
	clear_sent(a);
	clear_sent(b);
}

struct pair *pair_new(void)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	test_now += 10000 * NS;
	p->a = malloc(sizeof(*p->a));
	p->b = malloc(sizeof(*p->b));
	assert_non_null(p->a);
	assert_non_null(p->b);
	node_init(p->a, "192.0.2.1", 51820);
	node_init(p->b, "192.0.2.2", 51820);
	node_pair(p->a, p->b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	return p;
}

void pair_free(struct pair *p)
{
	node_free(p->a);
	node_free(p->b);
	free(p->a);
	free(p->b);
	free(p);
}

int pair_setup(void **state)
{
	*state = pair_new();
	return 0;
}

int pair_teardown(void **state)
{
	pair_free(*state);
	return 0;
}
