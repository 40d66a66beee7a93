// SPDX-License-Identifier: MIT
/*
 * fuzz_messages: the receive path, as the dataplane drives it. A device "B"
 * (fixture identity 2) has one peer "A" (identity 1) and a live session with it,
 * made once by a real handshake in memory and made again whenever it has aged,
 * expired or been erased. Each input is one UDP payload received by B, routed
 * by its first byte as the dataplane does: type 4 to wg_decrypt_burst() (in a
 * buffer of its exact length, since decryption works in place), anything else
 * to wg_device_handshake_rx().
 *
 * Random bytes never authenticate, so the first three bytes of the input steer
 * it deeper:
 *   [0] flags
 *       bits 0-1  0: the payload as it is;
 *                 1: splice a receiver index of B's live sessions in (data
 *                    and cookie replies; responses get B's pending handshake
 *                    index) and fix the type word: reaches the AEAD;
 *                 2: as 1, and seal the payload's bytes 16.. under that
 *                    session's key with the counter of bytes 8..15: the
 *                    message authenticates, so the replay window, the inner
 *                    packet checks and allowed-ips run;
 *                 3: as 2, the counter relative to the replay window's edge
 *                    (bytes 8..9 as a signed 16-bit offset)
 *       bit 2     wg_device_tick() before
 *       bit 3     wg_device_tick() after
 *       bit 4     under load (a long backlog) for handshake messages
 *       bit 5     arrived through a relay
 *       bit 6     from another address (byte [1] bit 7: IPv6): roaming
 *       bit 7     data: the message twice in one burst (the second must be a
 *                 replay); handshake: a valid mac1
 *   [1] session: bits 0-1 0/3 current, 1 previous, 2 next (else current);
 *       bit 6: data at the dataplane's alignment (2 mod 4: an mbuf's UDP
 *       payload behind Ethernet, IPv4 and UDP headers) instead of malloc's;
 *       bit 7: the other address of bit 6 of [0] is IPv6
 *   [2] the fake clock moves by [2] * 10 ms more than 1 ms (255: ten minutes,
 *       past every timer of the session)
 * then the payload.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "wg.h"

#define F_MODE 0x03
#define F_TICK_BEFORE 0x04
#define F_TICK_AFTER 0x08
#define F_LOAD 0x10
#define F_RELAYED 0x20
#define F_ROAM 0x40
#define F_EXTRA 0x80

#define MODE_RAW 0
#define MODE_SPLICE 1
#define MODE_SEAL 2
#define MODE_SEAL_RELATIVE 3

#define S_MBUF_ALIGN 0x40
#define MBUF_OFFSET 2 /* (14 + 20 + 8) % 4 */

/* Renew the session well before REJECT_AFTER_TIME (180 s) ends it, but let a
 * few iterations see it expired. */
#define SESSION_RENEW_AGE (185 * FZ_NS)

static struct fz_node A, B; /* B is the device under test */
static uint8_t b_mac1_key[WG_KEY_LEN];

static struct wg_keypair *slot(_Atomic(struct wg_keypair *) *s)
{
	return atomic_load_explicit(s, memory_order_relaxed);
}

static bool session_fresh(void)
{
	struct wg_keypair *kp = B.peer ? slot(&B.peer->current) : NULL;

	return kp && atomic_load(&kp->recv_valid) && fz_now - kp->birth < SESSION_RENEW_AGE;
}

/* A initiates, the messages go back and forth, B confirms on A's keepalive. */
static bool handshake(void)
{
	/* Past the initiation rate limit (5 s), B's under-load hysteresis (1 s) and
	 * the flood limit, with a newer TAI64N timestamp. */
	fz_advance(6 * FZ_NS);
	A.nsent = B.nsent = 0;
	wg_peer_initiate(A.peer, fz_now);
	for (int round = 0; round < 4 && (A.nsent || B.nsent); round++) {
		fz_deliver(&A, &B);
		fz_deliver(&B, &A);
	}
	wg_device_tick(B.dev, fz_now);
	A.nsent = B.nsent = 0;
	return session_fresh() && slot(&B.peer->current)->birth + 6 * FZ_NS > fz_now;
}

static void setup(void)
{
	fz_node_init(&A, 1);
	fz_node_init(&B, 2);
	fz_node_pair(&A, &B, false);
	fz_mac1_key(b_mac1_key, B.pub);
	if (!handshake())
		fz_fail("no session between the fixture devices");
}

static void maintain(void)
{
	if (session_fresh())
		return;
	if (handshake()) {
		fz_log("new session");
		return;
	}
	fz_log("no new session: new devices");
	/* B's state went somewhere a handshake from A cannot bring back (it should
	 * not): start over rather than fuzz a dead session. */
	fz_node_free(&A);
	fz_node_free(&B);
	setup();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_init();
	setup();
	return 0;
}

static struct wg_keypair *pick(uint8_t sel)
{
	struct wg_keypair *kp = NULL;

	if (!B.peer)
		return NULL;
	if ((sel & 3) == 1)
		kp = slot(&B.peer->previous);
	else if ((sel & 3) == 2)
		kp = slot(&B.peer->next);
	return kp ? kp : slot(&B.peer->current);
}

static struct wg_endpoint source(uint8_t flags, uint8_t sel)
{
	struct wg_endpoint ep = A.addr;

	if (!(flags & F_ROAM))
		return ep;
	if (sel & 0x80) {
		memset(&ep, 0, sizeof(ep));
		ep.family = AF_INET6;
		ep.addr.v6.s6_addr[0] = 0x20;
		ep.addr.v6.s6_addr[1] = 0x01;
		ep.addr.v6.s6_addr[2] = 0x0d;
		ep.addr.v6.s6_addr[3] = 0xb8;
		ep.addr.v6.s6_addr[15] = 1;
		ep.port = 4500;
	} else {
		ep.addr.v4.s_addr ^= htonl(0x80); /* 10.90.0.129 */
		ep.port = 10000 + sel;
	}
	return ep;
}

static bool authenticated(uint8_t status)
{
	return status == WG_OK || status == WG_DROP_INNER_MALFORMED || status == WG_DROP_ALLOWEDIPS;
}

static void data_message(uint8_t flags, uint8_t sel, const uint8_t *p, size_t len)
{
	unsigned mode = flags & F_MODE, n = (flags & F_EXTRA) ? 2 : 1;
	struct wg_keypair *kp = pick(sel);
	bool seal = mode >= MODE_SEAL && kp && len >= WG_DATA_HEADER_LEN;
	size_t mlen = seal ? len + WG_TAG_LEN : len;
	size_t shift = (sel & S_MBUF_ALIGN) ? MBUF_OFFSET : 0;
	struct wg_rx rx[2];
	uint8_t *mem[2] = { NULL, NULL }, *buf[2] = { NULL, NULL };
	bool attention = false;
	uint64_t counter = 0;

	/* Ends where the message ends, so that ASan sees any read past it. */
	mem[0] = malloc(shift + mlen);
	FZ_CHECK(mem[0] != NULL);
	buf[0] = mem[0] + shift;
	memcpy(buf[0], p, len);
	if (mode != MODE_RAW && kp && len >= 8) {
		fz_le32(buf[0], WG_MSG_DATA);
		fz_le32(buf[0] + 4, kp->entry.index);
	}
	if (seal) {
		uint8_t *body = buf[0] + WG_DATA_HEADER_LEN;

		counter = fz_get_le64(buf[0] + 8);
		if (mode == MODE_SEAL_RELATIVE)
			counter = kp->replay.next + (uint64_t)(int64_t)(int16_t)(uint16_t)counter;
		fz_le64(buf[0] + 8, counter);
		FZ_CHECK(wg_aead_seal(fz_crypto(&A), body, body, len - WG_DATA_HEADER_LEN, NULL, 0,
				      counter, kp->recv_key));
	}
	for (unsigned i = 0; i < n; i++) {
		if (i) {
			mem[i] = malloc(shift + mlen);
			FZ_CHECK(mem[i] != NULL);
			buf[i] = mem[i] + shift;
			memcpy(buf[i], buf[0], mlen);
		}
		memset(&rx[i], 0, sizeof(rx[i]));
		rx[i].msg = buf[i];
		rx[i].len = (uint32_t)mlen;
		rx[i].src = source(flags, sel);
		rx[i].relayed = flags & F_RELAYED;
	}

	unsigned deliver = wg_decrypt_burst(fz_crypto(&B), B.dev, rx, n, fz_now, &attention);
	unsigned counted = 0;
	bool v4;

	for (unsigned i = 0; i < n; i++) {
		FZ_CHECK(rx[i].status < WG_DROP__COUNT);
		if (authenticated(rx[i].status)) {
			FZ_CHECK(rx[i].peer == B.peer);
			FZ_CHECK(rx[i].plain == buf[i] + WG_DATA_HEADER_LEN);
		}
		if (rx[i].status != WG_OK)
			continue;
		if (rx[i].keepalive) {
			FZ_CHECK(mlen == WG_DATA_MIN_LEN && rx[i].plain_len == 0);
			continue;
		}
		counted++;
		v4 = (rx[i].plain[0] >> 4) == 4;
		FZ_CHECK(rx[i].plain_len > 0 && rx[i].plain_len <= mlen - WG_DATA_MIN_LEN);
		FZ_CHECK(v4 || (rx[i].plain[0] >> 4) == 6);
		/* Delivered only if its source is the sending peer's. */
		FZ_CHECK(wg_allowedips_lookup(B.dev, v4 ? AF_INET : AF_INET6,
					      rx[i].plain + (v4 ? 12 : 8)) == B.peer);
	}
	FZ_CHECK(deliver == counted);
	for (unsigned i = 0; i < n; i++)
		fz_log("data %zu bytes%s (counter %llu): %s%s", mlen, seal ? " sealed" : "",
		       (unsigned long long)counter, wg_drop_name(rx[i].status),
		       rx[i].keepalive ? " keepalive" : "");
	if (seal) {
		/* Sealed under a key B holds: it can fail for age or the window, never
		 * for the tag. */
		FZ_CHECK(rx[0].status != WG_DROP_DECRYPT);
		/* The same counter twice in one burst: the second is a replay, or
		 * the key has just reached REJECT_AFTER_MESSAGES with the first. */
		if (n == 2 && authenticated(rx[0].status))
			FZ_CHECK(rx[1].status == WG_DROP_REPLAY ||
				 (rx[1].status == WG_DROP_KEY_EXPIRED &&
				  counter == WG_REJECT_AFTER_MESSAGES - 1));
	}
	if (attention)
		wg_device_tick(B.dev, fz_now);
	free(mem[0]);
	free(mem[1]);
}

static void handshake_message(uint8_t flags, uint8_t sel, const uint8_t *p, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	struct wg_endpoint from = source(flags, sel);
	uint32_t type = len >= 4 ? fz_get_le32(p) : 0;
	unsigned backlog = (flags & F_LOAD) ? 4096 : 0;
	enum wg_drop r;

	FZ_CHECK(buf != NULL);
	memcpy(buf, p, len);
	if ((flags & F_MODE) != MODE_RAW) {
		struct wg_keypair *kp = pick(sel);

		if (type == WG_MSG_COOKIE && len == WG_COOKIE_LEN && kp)
			fz_le32(buf + 4, kp->entry.index);
		else if (type == WG_MSG_RESPONSE && len == WG_RESPONSE_LEN && B.peer &&
			 B.peer->handshake.state == WG_HS_CREATED_INITIATION)
			fz_le32(buf + 8, B.peer->handshake.entry.index);
	}
	if ((flags & F_EXTRA) && ((type == WG_MSG_INITIATION && len == WG_INITIATION_LEN) ||
				  (type == WG_MSG_RESPONSE && len == WG_RESPONSE_LEN)))
		fz_set_mac1(buf, len, b_mac1_key);
	if (flags & F_RELAYED)
		r = wg_device_handshake_rx_relayed(B.dev, buf, len, &from, backlog, fz_now);
	else
		r = wg_device_handshake_rx(B.dev, buf, len, &from, backlog, fz_now);
	FZ_CHECK((unsigned)r < WG_DROP__COUNT);
	fz_log("handshake type %u, %zu bytes: %s", type, len, wg_drop_name(r));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, sel, adv;

	if (size < 3)
		return 0;
	flags = data[0];
	sel = data[1];
	adv = data[2];
	data += 3;
	size -= 3;

	fz_advance(FZ_MS + (adv == 255 ? 600 * FZ_NS : adv * 10 * FZ_MS));
	maintain();
	if (flags & F_TICK_BEFORE)
		wg_device_tick(B.dev, fz_now);
	if (size >= 1 && data[0] == WG_MSG_DATA)
		data_message(flags, sel, data, size);
	else
		handshake_message(flags, sel, data, size);
	if (flags & F_TICK_AFTER)
		wg_device_tick(B.dev, fz_now);
	/* What B sent (keepalives, cookie replies, initiations) goes nowhere. */
	B.nsent = 0;
	A.nsent = 0;
	return 0;
}
