// SPDX-License-Identifier: MIT
/*
 * mac1, mac2 and cookie replies under load (whitepaper 5.4.7, Linux
 * drivers/net/wireguard/cookie.c and receive.c), and the per-source rate limiter
 * (ratelimiter.c), through the injected clock.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wg.h"

#define MS (NS / 1000)
#define REKEY_TIMEOUT_NS (5 * NS)
#define JITTER_MAX_NS (NS / 3)
#define COOKIE_USABLE_NS ((120 - 5) * NS) /* COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY */
#define RL_BURST 5

static void set_load(struct node *n, bool force)
{
	struct wg_tuning tu;

	wg_device_get_tuning(n->dev, &tu);
	tu.force_under_load = force;
	wg_device_set_tuning(n->dev, &tu);
}

static struct wg_endpoint endpoint(const char *s)
{
	struct wg_endpoint ep;

	assert_true(wg_endpoint_parse(&ep, s));
	return ep;
}

static enum wg_drop rx(struct node *n, const void *msg, size_t len, const struct wg_endpoint *from,
		       unsigned backlog)
{
	return wg_device_handshake_rx(n->dev, msg, len, from, backlog, test_now);
}

/* a initiates now; the initiation is copied to *out and a's queue emptied. */
static void initiate(struct node *a, struct node *b, struct wg_msg_initiation *out)
{
	clear_sent(a);
	wg_peer_initiate(peer_of(a, b), test_now);
	assert_int_equal(a->nsent, 1);
	assert_int_equal(a->sent[0].len, WG_INITIATION_LEN);
	assert_int_equal(a->sent[0].data[0], WG_MSG_INITIATION);
	memcpy(out, a->sent[0].data, sizeof(*out));
	clear_sent(a);
}

/* b, under load, answers msg from "from" with a cookie reply; it is checked and
 * copied to *out. */
static void expect_cookie_reply(struct node *b, const void *msg, size_t len,
				const struct wg_endpoint *from, unsigned backlog,
				struct wg_msg_cookie *out)
{
	uint32_t sender;

	clear_sent(b);
	assert_int_equal(rx(b, msg, len, from, backlog), WG_DROP_MAC2);
	assert_int_equal(b->nsent, 1);
	assert_int_equal(b->sent[0].len, WG_COOKIE_LEN);
	assert_int_equal(b->sent[0].data[0], WG_MSG_COOKIE);
	assert_null(b->sent[0].peer);
	assert_true(wg_endpoint_equal(&b->sent[0].to, from));
	memcpy(out, b->sent[0].data, sizeof(*out));
	memcpy(&sender, (const uint8_t *)msg + 4, 4);
	assert_int_equal(out->receiver, sender);
	clear_sent(b);
}

/* mac1 as the holder of public key pub would check it. */
static void fix_mac1(uint8_t *msg, size_t len, const uint8_t pub[WG_KEY_LEN])
{
	uint8_t key[WG_HASH_LEN];

	wg_hash(key, "mac1----", 8, pub, WG_KEY_LEN);
	wg_mac(msg + len - 2 * WG_MAC_LEN, key, WG_KEY_LEN, msg, len - 2 * WG_MAC_LEN, NULL, 0);
}

/* ---- the cookie round trip ---- */

/* Under load an initiation without mac2 gets a 64-byte cookie reply and no
 * handshake work; the initiator takes the cookie but does not resend at once;
 * its retransmission after REKEY_TIMEOUT carries mac2 and completes the
 * handshake with the loaded responder. */
static void test_cookie_roundtrip(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	struct wg_msg_initiation init, retry;
	struct wg_msg_cookie reply;
	struct wg_peer_stats st;
	uint8_t expect[WG_MAC_LEN];
	uint64_t t0 = test_now, t1;

	set_load(b, true);
	initiate(a, b, &init);
	assert_true(wg_is_zero(init.macs.mac2, WG_MAC_LEN));
	expect_cookie_reply(b, &init, sizeof(init), &a->addr, 0, &reply);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 0);
	assert_int_equal(ba->handshake.state, WG_HS_ZEROED);
	wg_peer_stats(ba, &st);
	assert_int_equal(st.rx_bytes, 0);

	assert_false(ab->cookie.valid);
	assert_int_equal(rx(a, &reply, sizeof(reply), &b->addr, 0), WG_OK);
	assert_true(ab->cookie.valid);
	assert_int_equal(a->nsent, 0);
	/* Nothing until the retransmission is due. */
	for (test_now = t0; test_now < t0 + REKEY_TIMEOUT_NS; test_now += 10 * MS)
		wg_device_tick(a->dev, test_now);
	assert_int_equal(a->nsent, 0);
	for (test_now = t0 + REKEY_TIMEOUT_NS; !a->nsent && test_now <= t0 + 6 * NS; test_now += MS)
		wg_device_tick(a->dev, test_now);
	t1 = test_now - MS;
	assert_in_range(t1 - t0, REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
	assert_int_equal(a->nsent, 1);
	assert_int_equal(a->sent[0].data[0], WG_MSG_INITIATION);
	memcpy(&retry, a->sent[0].data, sizeof(retry));
	assert_false(wg_is_zero(retry.macs.mac2, WG_MAC_LEN));
	wg_mac(expect, ab->cookie.cookie, WG_MAC_LEN, &retry, WG_INITIATION_LEN - WG_MAC_LEN, NULL, 0);
	assert_memory_equal(expect, retry.macs.mac2, WG_MAC_LEN);

	/* Still under load, b now does the handshake. */
	test_now = t1;
	clear_sent(a);
	assert_int_equal(rx(b, &retry, sizeof(retry), &a->addr, 0), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	assert_int_equal(count_type(b, WG_MSG_COOKIE), 0);
	deliver(b, a);
	wg_peer_stats(ab, &st);
	assert_true(st.has_session);
	deliver(a, b);
	wg_device_tick(b->dev, test_now);
	wg_peer_stats(ba, &st);
	assert_true(st.has_session);
	assert_int_equal(st.handshakes_completed, 1);
}

/* The initiator can be the one under load: it answers a response without mac2
 * with a cookie reply, which the responder takes (its index now names a
 * session), and the next response carries mac2. */
static void test_cookie_for_response(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_msg_cookie reply;
	struct wg_peer_stats st;

	set_load(a, true);
	initiate(a, b, &init);
	assert_int_equal(rx(b, &init, sizeof(init), &a->addr, 0), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	memcpy(&resp, b->sent[0].data, sizeof(resp));
	assert_true(wg_is_zero(resp.macs.mac2, WG_MAC_LEN));
	expect_cookie_reply(a, &resp, sizeof(resp), &b->addr, 0, &reply);
	assert_int_equal(ab->handshake.state, WG_HS_CREATED_INITIATION);
	wg_peer_stats(ab, &st);
	assert_false(st.has_session);

	assert_int_equal(rx(b, &reply, sizeof(reply), &a->addr, 0), WG_OK);
	assert_true(ba->cookie.valid);

	test_now += REKEY_TIMEOUT_NS + JITTER_MAX_NS;
	initiate(a, b, &init);
	clear_sent(b);
	assert_int_equal(rx(b, &init, sizeof(init), &a->addr, 0), WG_OK);
	memcpy(&resp, b->sent[0].data, sizeof(resp));
	assert_false(wg_is_zero(resp.macs.mac2, WG_MAC_LEN));
	assert_int_equal(rx(a, &resp, sizeof(resp), &b->addr, 0), WG_OK);
	wg_peer_stats(ab, &st);
	assert_true(st.has_session);
}

/* ---- cookie replies that must not be believed ---- */

/* Wrong receiver index: UNKNOWN_INDEX. Corrupted ciphertext or nonce: COOKIE.
 * None of them changes the peer's cookie state, so the genuine reply still
 * works afterwards; once used, the same reply again is refused. */
static void test_cookie_reply_rejected(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	struct wg_msg_initiation init;
	struct wg_msg_cookie reply, bad;
	struct wg_peer_cookie before;

	set_load(b, true);
	initiate(a, b, &init);
	expect_cookie_reply(b, &init, sizeof(init), &a->addr, 0, &reply);
	memcpy(&before, &ab->cookie, sizeof(before));
	assert_true(before.have_sent_mac1);
	assert_false(before.valid);

	/* Same table slot, different index. */
	bad = reply;
	bad.receiver ^= htole32(0x80000000u);
	assert_int_equal(rx(a, &bad, sizeof(bad), &b->addr, 0), WG_DROP_UNKNOWN_INDEX);
	bad = reply;
	bad.receiver = htole32(le32toh(reply.receiver) + 1);
	assert_int_equal(rx(a, &bad, sizeof(bad), &b->addr, 0), WG_DROP_UNKNOWN_INDEX);
	assert_memory_equal(&ab->cookie, &before, sizeof(before));

	for (size_t i = 0; i < sizeof(reply.encrypted_cookie); i += 5) {
		bad = reply;
		bad.encrypted_cookie[i] ^= 0x10;
		assert_int_equal(rx(a, &bad, sizeof(bad), &b->addr, 0), WG_DROP_COOKIE);
	}
	bad = reply;
	bad.nonce[WG_COOKIE_NONCE_LEN - 1] ^= 1;
	assert_int_equal(rx(a, &bad, sizeof(bad), &b->addr, 0), WG_DROP_COOKIE);
	assert_memory_equal(&ab->cookie, &before, sizeof(before));
	assert_int_equal(a->nsent, 0);

	assert_int_equal(rx(a, &reply, sizeof(reply), &b->addr, 0), WG_OK);
	assert_true(ab->cookie.valid);
	assert_false(ab->cookie.have_sent_mac1);
	memcpy(&before, &ab->cookie, sizeof(before));
	test_now += NS;
	assert_int_equal(rx(a, &reply, sizeof(reply), &b->addr, 0), WG_DROP_COOKIE);
	assert_memory_equal(&ab->cookie, &before, sizeof(before));
}

/* A reply must answer the last mac1 we sent: one for an older initiation, or
 * one for a message we never sent (same sender index, other contents, valid
 * mac1), is refused and changes nothing. */
static void test_cookie_reply_for_other_mac1(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	struct wg_msg_initiation m0, m1, forged;
	struct wg_msg_cookie r0, rf, r1;
	struct wg_peer_cookie before;

	set_load(b, true);
	initiate(a, b, &m0);
	expect_cookie_reply(b, &m0, sizeof(m0), &a->addr, 0, &r0);
	test_now += REKEY_TIMEOUT_NS + JITTER_MAX_NS;
	initiate(a, b, &m1);
	assert_memory_not_equal(m0.macs.mac1, m1.macs.mac1, WG_MAC_LEN);
	memcpy(&before, &ab->cookie, sizeof(before));

	/* r0 names m0's index, which the new initiation replaced... */
	assert_int_not_equal(rx(a, &r0, sizeof(r0), &b->addr, 0), WG_OK);
	/* ...and even under m1's index it answers m0's mac1. */
	r0.receiver = m1.sender;
	assert_int_equal(rx(a, &r0, sizeof(r0), &b->addr, 0), WG_DROP_COOKIE);
	assert_memory_equal(&ab->cookie, &before, sizeof(before));

	forged = m1;
	forged.ephemeral[0] ^= 1;
	fix_mac1((uint8_t *)&forged, sizeof(forged), b->pub);
	expect_cookie_reply(b, &forged, sizeof(forged), &a->addr, 0, &rf);
	assert_int_equal(rf.receiver, m1.sender);
	assert_int_equal(rx(a, &rf, sizeof(rf), &b->addr, 0), WG_DROP_COOKIE);
	assert_memory_equal(&ab->cookie, &before, sizeof(before));

	expect_cookie_reply(b, &m1, sizeof(m1), &a->addr, 0, &r1);
	assert_int_equal(rx(a, &r1, sizeof(r1), &b->addr, 0), WG_OK);
	assert_true(ab->cookie.valid);
}

/* ---- mac1 ---- */

/* A wrong mac1 is dropped before anything else, loaded or not, and under load
 * it earns no cookie reply. So is a message whose mac1 is keyed for someone else. */
static void test_bad_mac1(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct node *c = malloc(sizeof(*c));
	struct wg_peer *ba = peer_of(b, a);
	struct wg_msg_initiation init, bad;
	struct wg_msg_response resp;
	struct wg_msg_cookie reply;

	assert_non_null(c);
	node_init(c, "192.0.2.3", 51820);
	node_pair(a, c, "10.1.0.0/24", "10.3.0.0/24", NULL);
	initiate(a, b, &init);
	for (int load = 0; load <= 1; load++) {
		set_load(b, load);
		set_load(c, load);
		for (size_t i = 0; i < WG_MAC_LEN; i += 3) {
			bad = init;
			bad.macs.mac1[i] ^= 0x01;
			assert_int_equal(rx(b, &bad, sizeof(bad), &a->addr, 0), WG_DROP_MAC1);
		}
		/* A body changed under an intact mac1. */
		bad = init;
		bad.encrypted_timestamp[0] ^= 0x01;
		assert_int_equal(rx(b, &bad, sizeof(bad), &a->addr, 0), WG_DROP_MAC1);
		assert_int_equal(rx(c, &init, sizeof(init), &a->addr, 0), WG_DROP_MAC1);
		assert_int_equal(b->nsent, 0);
		assert_int_equal(c->nsent, 0);
		assert_int_equal(ba->handshake.state, WG_HS_ZEROED);
	}

	/* A garbage mac2 is answered with a cookie under load and ignored without. */
	bad = init;
	memset(bad.macs.mac2, 0xa5, WG_MAC_LEN);
	set_load(b, true);
	expect_cookie_reply(b, &bad, sizeof(bad), &a->addr, 0, &reply);
	set_load(b, false);
	test_now += 2 * NS; /* past the linger of the forced load */
	assert_int_equal(rx(b, &bad, sizeof(bad), &a->addr, 0), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	memcpy(&resp, b->sent[0].data, sizeof(resp));
	clear_sent(b);

	/* Responses too: a corrupted mac1 is dropped by a, loaded or not. */
	for (int load = 0; load <= 1; load++) {
		set_load(a, load);
		resp.macs.mac1[7] ^= 0x40;
		assert_int_equal(rx(a, &resp, sizeof(resp), &b->addr, 0), WG_DROP_MAC1);
		resp.macs.mac1[7] ^= 0x40;
		assert_int_equal(a->nsent, 0);
	}
	node_free(c);
	free(c);
}

/* ---- the per-source rate limiter ---- */

/* Obtain, through b's cookie replies to a's initiations, an initiation whose mac2
 * is valid when it comes from each of the given sources, in order. Each costs
 * one REKEY_TIMEOUT (+ jitter) of a's initiation rate limit. */
static void initiations_for(struct node *a, struct node *b, const struct wg_endpoint *src,
			    unsigned n, struct wg_msg_initiation *out)
{
	struct wg_msg_initiation m;
	struct wg_msg_cookie reply;

	initiate(a, b, &m);
	for (unsigned i = 0; i < n; i++) {
		expect_cookie_reply(b, &m, sizeof(m), &src[i], 0, &reply);
		assert_int_equal(rx(a, &reply, sizeof(reply), &b->addr, 0), WG_OK);
		test_now += REKEY_TIMEOUT_NS + JITTER_MAX_NS;
		initiate(a, b, &out[i]);
		assert_false(wg_is_zero(out[i].macs.mac2, WG_MAC_LEN));
		m = out[i];
	}
}

/* Under load with a valid mac2, one source (an IPv4 address, whatever its port)
 * gets a burst of 5 handshakes and then 20 per second; beyond that
 * RATELIMITED. Another address has its own allowance. Without load nothing is
 * rate-limited. */
static void test_ratelimiter(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_endpoint src[3] = { a->addr, endpoint("198.51.100.7:51820"),
				      endpoint("192.0.2.1:40000") };
	struct wg_msg_initiation m[3];
	struct wg_msg_cookie reply;
	uint64_t t;
	enum wg_drop r;

	set_load(b, true);
	initiations_for(a, b, src, 3, m);
	/* m[0] has mac2 for src[0], m[1] for src[1], m[2] for src[2]: a cookie
	 * is bound to the address and port it was sent to. */
	expect_cookie_reply(b, &m[0], sizeof(m[0]), &src[2], 0, &reply);
	expect_cookie_reply(b, &m[2], sizeof(m[2]), &src[0], 0, &reply);
	t = test_now;
	for (int i = 0; i < RL_BURST; i++) {
		r = rx(b, &m[0], sizeof(m[0]), &src[0], 0);
		/* Allowed through to the handshake: the first is taken, the copies
		 * are replays. */
		assert_int_equal(r, i == 0 ? WG_OK : WG_DROP_REPLAYED_INITIATION);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_RATELIMITED);
	/* Same address, other port: same bucket. */
	assert_int_equal(rx(b, &m[2], sizeof(m[2]), &src[2], 0), WG_DROP_RATELIMITED);

	/* 25 ms later: half a token, still limited; another address is not. */
	test_now = t + 25 * MS;
	assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_RATELIMITED);
	assert_int_equal(rx(b, &m[1], sizeof(m[1]), &src[1], 0), WG_OK);
	/* 50 ms after the burst: one token. */
	test_now = t + 50 * MS;
	assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_REPLAYED_INITIATION);
	assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_RATELIMITED);

	/* A second later the whole burst is back, and no more. */
	test_now = t + 1050 * MS;
	for (int i = 0; i < RL_BURST; i++)
		assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_REPLAYED_INITIATION);
	assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_RATELIMITED);

	/* Without load (and past its one-second linger) no limit at all. */
	set_load(b, false);
	test_now += 2 * NS;
	for (int i = 0; i < 20; i++)
		assert_int_equal(rx(b, &m[0], sizeof(m[0]), &src[0], 0), WG_DROP_REPLAYED_INITIATION);
}

/* ---- under load by backlog ---- */

/* Load means a backlog of at least wg_tuning.under_load_backlog (the kernel's
 * MAX_QUEUED_INCOMING_HANDSHAKES / 8 = 512 by default), and lasts one second
 * after the backlog was last that long. */
static void test_under_load_backlog(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_msg_initiation m;
	struct wg_msg_cookie reply;
	struct wg_tuning tu;
	unsigned thr;
	uint64_t t;

	wg_device_get_tuning(b->dev, &tu);
	assert_false(tu.force_under_load);
	thr = tu.under_load_backlog;
	assert_int_equal(thr, 4096 / 8);
	initiate(a, b, &m);
	t = test_now;

	/* Below the threshold: no cookie needed, the handshake proceeds. */
	assert_int_equal(rx(b, &m, sizeof(m), &a->addr, thr - 1), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	clear_sent(b);
	/* At it: a cookie reply. (The same message otherwise is a replay, which
	 * tells "not loaded" apart below.) */
	test_now = t + 100 * MS;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, thr, &reply);
	/* The load lingers for a second, whatever the backlog now. */
	test_now = t + 600 * MS;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 0, &reply);
	test_now = t + 1100 * MS - 1;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 0, &reply);
	test_now = t + 1100 * MS;
	assert_int_equal(rx(b, &m, sizeof(m), &a->addr, 0), WG_DROP_REPLAYED_INITIATION);
	assert_int_equal(b->nsent, 0);

	/* Each loaded message restarts the second. */
	test_now = t + 2000 * MS;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, thr + 100, &reply);
	test_now = t + 2900 * MS;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, thr, &reply);
	test_now = t + 3500 * MS;
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 0, &reply);
	test_now = t + 3900 * MS;
	assert_int_equal(rx(b, &m, sizeof(m), &a->addr, 0), WG_DROP_REPLAYED_INITIATION);

	/* The threshold is the tuning's. */
	tu.under_load_backlog = 8;
	wg_device_set_tuning(b->dev, &tu);
	test_now = t + 5000 * MS;
	assert_int_equal(rx(b, &m, sizeof(m), &a->addr, 7), WG_DROP_REPLAYED_INITIATION);
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 8, &reply);
}

/* ---- cookie age ---- */

/* A cookie is used for mac2 while younger than COOKIE_SECRET_MAX_AGE -
 * COOKIE_SECRET_LATENCY (115 s): at 109 s the loaded responder accepts the
 * initiation; at 116 s it goes without mac2 and gets a new cookie reply. The
 * boundary itself: used at 115 s - 1 ns, not at 115 s. */
static void test_cookie_expiry(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	struct wg_msg_initiation m, probe;
	struct wg_msg_cookie reply;
	uint64_t tc;

	set_load(b, true);
	initiate(a, b, &m);
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 0, &reply);
	tc = test_now;
	assert_int_equal(rx(a, &reply, sizeof(reply), &b->addr, 0), WG_OK);

	test_now = tc + 109 * NS;
	initiate(a, b, &m);
	assert_false(wg_is_zero(m.macs.mac2, WG_MAC_LEN));
	assert_int_equal(rx(b, &m, sizeof(m), &a->addr, 0), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	clear_sent(b);

	test_now = tc + 116 * NS;
	initiate(a, b, &m);
	assert_true(wg_is_zero(m.macs.mac2, WG_MAC_LEN));
	expect_cookie_reply(b, &m, sizeof(m), &a->addr, 0, &reply);

	/* The boundary, on a's cookie as it was (white-box). */
	ab->cookie.valid = true;
	ab->cookie.birth = tc;
	probe = m;
	wg_cookie_add_macs(ab, (uint8_t *)&probe, sizeof(probe), tc + COOKIE_USABLE_NS - 1);
	assert_false(wg_is_zero(probe.macs.mac2, WG_MAC_LEN));
	probe = m;
	memset(probe.macs.mac2, 0xff, WG_MAC_LEN);
	wg_cookie_add_macs(ab, (uint8_t *)&probe, sizeof(probe), tc + COOKIE_USABLE_NS);
	assert_true(wg_is_zero(probe.macs.mac2, WG_MAC_LEN));
}

#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cookie_roundtrip),
		T(test_cookie_for_response),
		T(test_cookie_reply_rejected),
		T(test_cookie_reply_for_other_mac1),
		T(test_bad_mac1),
		T(test_ratelimiter),
		T(test_under_load_backlog),
		T(test_cookie_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
