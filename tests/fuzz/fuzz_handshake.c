// SPDX-License-Identifier: MIT
/*
 * fuzz_handshake: the handshake consumers behind mac1 (Noise initiation and
 * response, cookie replies, mac2 under load).
 *
 * Every input gets fresh devices and a freshly seeded random source, so it
 * always does the same thing: responder "R" (fixture identity 2) with peer 1,
 * and where the mode needs it an initiator "I" (identity 1) with peer 2. The
 * captures of tests/fixtures/wireguard-go are between the same two keys, so
 * their messages are valid here.
 *
 * Input: [mode] [flags] then the rest.
 *   mode % 6
 *     0  rest is an initiation body: type set, padded or cut to 148 bytes,
 *        mac1 made valid for R; to R
 *     1  R initiates; rest is a response body: type set, receiver = R's
 *        pending index, 92 bytes, mac1 valid; to R
 *     2  I's valid initiation, mutated by rest (see mutate()), mac1 redone; to R
 *     3  I's valid initiation to R; R's response mutated by rest, mac1 redone;
 *        to I
 *     4  I initiates to R under load, R answers with a cookie reply; rest[0]
 *        bit 0: the cookie reply is rest[1..] (type set, receiver = I's
 *        index), else the valid reply mutated by rest[1..]; to I. If I took
 *        it, I initiates again (now with mac2) and R must accept.
 *     5  rest as it is, to R
 *   flags
 *     bit 0  both sides use the fixture PSK
 *     bit 1  R is under load: it demands mac2; the harness obtains the cookie
 *            as an initiator would (opening R's cookie reply) and sends again
 *     bit 2  messages to R arrive through a relay
 *     bit 3  from an IPv6 source address (the cookie covers the source)
 *     bit 4  do not repair: keep mac1, type and indices as the input has them
 *     bit 5  deliver the final message twice (replayed initiation)
 *     bit 6  late: two minutes pass before the follow-up step (timers fire,
 *            the cookie and its secret age out)
 *     bit 7  complete the handshake: the response to the initiator, its
 *            keepalive back, a tick on each side
 *
 * Oracles (beyond the sanitizers): a message the receiver accepts must not
 * differ from the valid one in any authenticated byte; an unmodified valid
 * initiation must be accepted and a replay of it refused; an unmodified
 * exchange ends with a session on both sides.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "wg.h"

#define F_PSK 0x01
#define F_LOAD 0x02
#define F_RELAYED 0x04
#define F_V6 0x08
#define F_NOFIX 0x10
#define F_TWICE 0x20
#define F_LATE 0x40
#define F_COMPLETE 0x80

#define MAX_MUTATIONS 32

static struct fz_node R, I;
static bool have_i;
static uint8_t flags;
static struct wg_endpoint from_i; /* where R sees I's messages come from */
static uint8_t r_mac1_key[WG_KEY_LEN], i_mac1_key[WG_KEY_LEN], r_cookie_key[WG_KEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char label_cookie[8] = "cookie--";
	uint8_t pub[WG_KEY_LEN];

	(void)argc, (void)argv;
	fz_init();
	fz_pub(2, pub);
	fz_mac1_key(r_mac1_key, pub);
	wg_hash(r_cookie_key, label_cookie, sizeof(label_cookie), pub, WG_KEY_LEN);
	fz_pub(1, pub);
	fz_mac1_key(i_mac1_key, pub);
	return 0;
}

/* Mutations: triples (op, offset, value); offset modulo the message length. */
static void mutate(uint8_t *msg, size_t len, const uint8_t *m, size_t mlen)
{
	for (size_t k = 0; k + 3 <= mlen && k / 3 < MAX_MUTATIONS; k += 3) {
		size_t off = m[k + 1] % len;

		switch (m[k] & 3) {
		case 0:
			msg[off] ^= m[k + 2];
			break;
		case 1:
			msg[off] = m[k + 2];
			break;
		case 2:
			msg[off] = (uint8_t)(msg[off] + m[k + 2]);
			break;
		case 3: /* a whole little-endian word: types and indices */
			off &= ~(size_t)3;
			if (off + 4 <= len)
				fz_le32(msg + off, m[k + 2]);
			break;
		}
	}
}

static enum wg_drop rx(struct fz_node *to, const uint8_t *msg, size_t len,
		       const struct wg_endpoint *from, bool relayed)
{
	/* An exact-size copy: the sanitizers see any read past the message. */
	uint8_t *copy = malloc(len ? len : 1);
	enum wg_drop r;

	FZ_CHECK(copy != NULL);
	memcpy(copy, msg, len);
	if (relayed)
		r = wg_device_handshake_rx_relayed(to->dev, copy, len, from, 0, fz_now);
	else
		r = wg_device_handshake_rx(to->dev, copy, len, from, 0, fz_now);
	free(copy);
	FZ_CHECK((unsigned)r < WG_DROP__COUNT);
	fz_log("%s <- type %u, %zu bytes: %s", to == &R ? "R" : "I",
	       len >= 4 ? fz_get_le32(msg) : 0, len, wg_drop_name(r));
	return r;
}

/* To R from I's address. Under load, a message with a valid mac1 and no valid
 * mac2 draws a cookie reply: open it as the initiator would, put the mac2 it
 * allows on the message (in place) and send again. */
static enum wg_drop to_r(uint8_t *msg, size_t len)
{
	unsigned before = R.nsent;
	enum wg_drop r = rx(&R, msg, len, &from_i, flags & F_RELAYED);
	uint8_t cookie[WG_MAC_LEN];

	if (r != WG_DROP_MAC2 || !(flags & F_LOAD) || len < 2 * WG_MAC_LEN)
		return r;
	for (unsigned i = before; i < R.nsent; i++) {
		const uint8_t *c = R.sent[i].data;

		if (R.sent[i].len != WG_COOKIE_LEN || fz_get_le32(c) != WG_MSG_COOKIE)
			continue;
		FZ_CHECK(!memcmp(c + 4, msg + 4, 4)); /* answers the sender index */
		FZ_CHECK(wg_xaead_open(cookie, c + 32, 32, msg + len - 2 * WG_MAC_LEN, WG_MAC_LEN,
				       c + 8, r_cookie_key));
		wg_mac(msg + len - WG_MAC_LEN, cookie, WG_MAC_LEN, msg, len - WG_MAC_LEN, NULL, 0);
		R.nsent = before;
		return rx(&R, msg, len, &from_i, flags & F_RELAYED);
	}
	fz_fail("R demanded mac2 without sending a cookie reply");
}

static enum wg_drop to_i(const uint8_t *msg, size_t len)
{
	return rx(&I, msg, len, &R.addr, false);
}

static void setup(bool need_i)
{
	struct wg_tuning t;

	fz_node_init(&R, 2);
	fz_node_add_peer(&R, 1, flags & F_PSK);
	if (flags & F_LOAD) {
		wg_device_get_tuning(R.dev, &t);
		t.force_under_load = true;
		wg_device_set_tuning(R.dev, &t);
	}
	have_i = need_i;
	if (need_i) {
		fz_node_init(&I, 1);
		fz_node_add_peer(&I, 2, flags & F_PSK);
	}
	memset(&from_i, 0, sizeof(from_i));
	if (flags & F_V6) {
		from_i.family = AF_INET6;
		from_i.addr.v6.s6_addr[0] = 0x20;
		from_i.addr.v6.s6_addr[1] = 0x01;
		from_i.addr.v6.s6_addr[2] = 0x0d;
		from_i.addr.v6.s6_addr[3] = 0xb8;
		from_i.addr.v6.s6_addr[15] = 1;
		from_i.port = 51820;
	} else {
		from_i.family = AF_INET;
		from_i.addr.v4.s_addr = htonl(0x0a5a0001); /* 10.90.0.1 */
		from_i.port = 51820;
	}
}

static void teardown(void)
{
	fz_node_free(&R);
	if (have_i)
		fz_node_free(&I);
	have_i = false;
}

static bool has_session(const struct fz_node *n)
{
	struct wg_peer_stats st;

	wg_peer_stats(n->peer, &st);
	return st.has_session;
}

static void late(void)
{
	if (!(flags & F_LATE))
		return;
	fz_advance(120 * FZ_NS);
	wg_device_tick(R.dev, fz_now);
	if (have_i)
		wg_device_tick(I.dev, fz_now);
	/* What the timers sent is not part of the exchange; and let the rate
	 * limit of initiations pass, should they have sent one. */
	R.nsent = 0;
	if (have_i)
		I.nsent = 0;
	fz_advance((WG_REKEY_TIMEOUT + 1) * FZ_NS);
}

/* After R accepted an initiation from I: the response to I, I's keepalive to R,
 * and R's tick that confirms the session. With expect (nothing was tampered
 * with and nothing was late) both must end up with a session. */
static void complete(bool expect)
{
	uint8_t resp[WG_RESPONSE_LEN];
	int k = fz_find_sent(&R, WG_MSG_RESPONSE);

	FZ_CHECK(k >= 0 && R.sent[k].len == WG_RESPONSE_LEN);
	memcpy(resp, R.sent[k].data, sizeof(resp));
	late();
	expect = expect && !(flags & F_LATE);
	R.nsent = 0;
	I.nsent = 0;
	if (to_i(resp, sizeof(resp)) != WG_OK) {
		FZ_CHECK(!expect);
		return;
	}
	fz_deliver(&I, &R);
	wg_device_tick(R.dev, fz_now);
	wg_device_tick(I.dev, fz_now);
	if (expect) {
		FZ_CHECK(has_session(&I));
		FZ_CHECK(has_session(&R));
	}
}

/* The initiation I sends to R (I.sent is emptied first). */
static bool i_initiation(uint8_t out[WG_INITIATION_LEN])
{
	int k;

	I.nsent = 0;
	wg_peer_initiate(I.peer, fz_now);
	k = fz_find_sent(&I, WG_MSG_INITIATION);
	FZ_CHECK(k >= 0 && I.sent[k].len == WG_INITIATION_LEN);
	memcpy(out, I.sent[k].data, WG_INITIATION_LEN);
	I.nsent = 0;
	return true;
}

static void body(uint8_t *msg, size_t len, uint32_t type, const uint8_t *rest, size_t rlen)
{
	memset(msg, 0, len);
	memcpy(msg, rest, rlen < len ? rlen : len);
	if (!(flags & F_NOFIX))
		fz_le32(msg, type);
}

static void mode_initiation_body(const uint8_t *rest, size_t rlen)
{
	uint8_t msg[WG_INITIATION_LEN];

	setup(false);
	body(msg, sizeof(msg), WG_MSG_INITIATION, rest, rlen);
	if (!(flags & F_NOFIX))
		fz_set_mac1(msg, sizeof(msg), r_mac1_key);
	to_r(msg, sizeof(msg));
	if (flags & F_TWICE)
		to_r(msg, sizeof(msg));
	late();
}

static void mode_response_body(const uint8_t *rest, size_t rlen)
{
	uint8_t msg[WG_RESPONSE_LEN];

	setup(false);
	wg_peer_initiate(R.peer, fz_now);
	FZ_CHECK(R.peer->handshake.state == WG_HS_CREATED_INITIATION);
	body(msg, sizeof(msg), WG_MSG_RESPONSE, rest, rlen);
	if (!(flags & F_NOFIX)) {
		fz_le32(msg + 8, R.peer->handshake.entry.index);
		fz_set_mac1(msg, sizeof(msg), r_mac1_key);
	}
	to_r(msg, sizeof(msg));
	if (flags & F_TWICE)
		to_r(msg, sizeof(msg));
	late();
	wg_device_tick(R.dev, fz_now);
}

static void mode_mutate_initiation(const uint8_t *rest, size_t rlen)
{
	uint8_t orig[WG_INITIATION_LEN], msg[WG_INITIATION_LEN];
	enum wg_drop r;
	bool same;

	setup(true);
	i_initiation(orig);
	memcpy(msg, orig, sizeof(msg));
	mutate(msg, sizeof(msg), rest, rlen);
	if (!(flags & F_NOFIX))
		fz_set_mac1(msg, sizeof(msg), r_mac1_key);
	/* mac2 is R's to check only under load; the rest must be as I made it. */
	same = !memcmp(msg, orig, WG_INITIATION_LEN - WG_MAC_LEN);
	r = to_r(msg, sizeof(msg));
	if (r == WG_OK) {
		FZ_CHECK(!memcmp(msg, orig, 4) && !memcmp(msg + 8, orig + 8, 108));
		if (flags & F_NOFIX)
			FZ_CHECK(!memcmp(msg, orig, WG_INITIATION_LEN - 2 * WG_MAC_LEN));
	}
	if (same)
		FZ_CHECK(r == WG_OK);
	if (flags & F_TWICE)
		FZ_CHECK(to_r(msg, sizeof(msg)) != WG_OK);
	if (r == WG_OK && (flags & F_COMPLETE))
		complete(same);
}

static void mode_mutate_response(const uint8_t *rest, size_t rlen)
{
	uint8_t init[WG_INITIATION_LEN], orig[WG_RESPONSE_LEN], msg[WG_RESPONSE_LEN];
	enum wg_drop r;
	bool same;
	int k;

	setup(true);
	i_initiation(init);
	FZ_CHECK(to_r(init, sizeof(init)) == WG_OK);
	k = fz_find_sent(&R, WG_MSG_RESPONSE);
	FZ_CHECK(k >= 0 && R.sent[k].len == WG_RESPONSE_LEN);
	memcpy(orig, R.sent[k].data, sizeof(orig));
	R.nsent = 0;
	/* Late, I has given up on this handshake and started the next. */
	late();
	memcpy(msg, orig, sizeof(msg));
	mutate(msg, sizeof(msg), rest, rlen);
	if (!(flags & F_NOFIX))
		fz_set_mac1(msg, sizeof(msg), i_mac1_key);
	same = !memcmp(msg, orig, WG_RESPONSE_LEN - WG_MAC_LEN) && !(flags & F_LATE);
	r = to_i(msg, sizeof(msg));
	if (r == WG_OK) {
		/* type, receiver, ephemeral and the empty ciphertext */
		FZ_CHECK(!memcmp(msg, orig, 4) && !memcmp(msg + 8, orig + 8, 52));
		if (flags & F_NOFIX)
			FZ_CHECK(!memcmp(msg, orig, WG_RESPONSE_LEN - 2 * WG_MAC_LEN));
		FZ_CHECK(has_session(&I));
	}
	if (same)
		FZ_CHECK(r == WG_OK);
	if (flags & F_TWICE)
		FZ_CHECK(to_i(msg, sizeof(msg)) != WG_OK);
	if (r == WG_OK && (flags & F_COMPLETE)) {
		R.nsent = 0;
		fz_deliver(&I, &R); /* the keepalive that confirms */
		wg_device_tick(R.dev, fz_now);
		wg_device_tick(I.dev, fz_now);
		if (same)
			FZ_CHECK(has_session(&R));
	}
}

static void mode_cookie(const uint8_t *rest, size_t rlen)
{
	uint8_t init[WG_INITIATION_LEN], orig[WG_COOKIE_LEN], msg[WG_COOKIE_LEN];
	bool fuzzed_body = rlen && (rest[0] & 1);
	enum wg_drop r;
	int k;

	flags |= F_LOAD;
	setup(true);
	i_initiation(init);
	FZ_CHECK(rx(&R, init, sizeof(init), &from_i, flags & F_RELAYED) == WG_DROP_MAC2);
	k = fz_find_sent(&R, WG_MSG_COOKIE);
	FZ_CHECK(k >= 0 && R.sent[k].len == WG_COOKIE_LEN);
	memcpy(orig, R.sent[k].data, sizeof(orig));
	R.nsent = 0;
	if (rlen) {
		rest++;
		rlen--;
	}
	if (fuzzed_body) {
		body(msg, sizeof(msg), WG_MSG_COOKIE, rest, rlen);
		if (!(flags & F_NOFIX))
			memcpy(msg + 4, orig + 4, 4); /* I's index */
	} else {
		memcpy(msg, orig, sizeof(msg));
		mutate(msg, sizeof(msg), rest, rlen);
	}
	r = to_i(msg, sizeof(msg));
	if (r == WG_OK)
		FZ_CHECK(!memcmp(msg, orig, sizeof(msg)));
	if (!memcmp(msg, orig, sizeof(msg)))
		FZ_CHECK(r == WG_OK);
	if (flags & F_TWICE)
		FZ_CHECK(to_i(msg, sizeof(msg)) != WG_OK); /* a cookie answers one mac1 */
	if (r != WG_OK)
		return;
	/* I retries after the rekey timeout and its jitter, now with mac2 (unless "late" let
	 * the cookie expire). */
	fz_advance(WG_REKEY_TIMEOUT * FZ_NS + WG_REKEY_TIMEOUT_JITTER_MAX_NS);
	late();
	i_initiation(init);
	r = rx(&R, init, sizeof(init), &from_i, flags & F_RELAYED);
	if (!(flags & F_LATE))
		FZ_CHECK(r == WG_OK);
	if (r == WG_OK && (flags & F_COMPLETE))
		complete(!(flags & F_LATE));
}

static void mode_raw(const uint8_t *rest, size_t rlen)
{
	uint8_t *msg = malloc(rlen ? rlen : 1);

	FZ_CHECK(msg != NULL);
	memcpy(msg, rest, rlen);
	setup(false);
	to_r(msg, rlen);
	late();
	if (flags & F_TWICE)
		to_r(msg, rlen);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	flags = data[1];
	fz_reseed(0);
	fz_advance(FZ_NS);
	switch (data[0] % 6) {
	case 0:
		mode_initiation_body(data + 2, size - 2);
		break;
	case 1:
		mode_response_body(data + 2, size - 2);
		break;
	case 2:
		mode_mutate_initiation(data + 2, size - 2);
		break;
	case 3:
		mode_mutate_response(data + 2, size - 2);
		break;
	case 4:
		mode_cookie(data + 2, size - 2);
		break;
	case 5:
		mode_raw(data + 2, size - 2);
		break;
	}
	teardown();
	return 0;
}
