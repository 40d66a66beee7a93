// SPDX-License-Identifier: MIT
/*
 * The protocol's timers (whitepaper section 6, Linux drivers/net/wireguard/timers.c)
 * driven through the injected clock: nothing here sleeps, every deadline is
 * reached by moving test_now and calling wg_device_tick().
 *
 * Expectations are written from the kernel's semantics; where a check pins an
 * exact boundary (a nanosecond either side of it) it says so, and the kernel's
 * rule it follows.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wg.h"

/* The protocol's constants as the whitepaper and the kernel state them, written
 * out here rather than taken from tunnels.h so that a wrong constant there shows. */
#define MS (NS / 1000)
#define REKEY_TIMEOUT_NS (5 * NS)
#define JITTER_MAX_NS (NS / 3)
#define KEEPALIVE_NS (10 * NS)
#define REKEY_AFTER_TIME_NS (120 * NS)
#define REJECT_AFTER_TIME_NS (180 * NS)
#define MAX_TIMER_HANDSHAKES (90 / 5)
#define ZERO_AFTER_NS (3 * REJECT_AFTER_TIME_NS)
#define LASTMINUTE_NS ((180 - 10 - 5) * NS)
#define REKEY_AFTER_MSGS (1ULL << 60)
#define REJECT_AFTER_MSGS (UINT64_MAX - (1ULL << 13)) /* 2^64 - 2^13 - 1 */

static bool is_keepalive(const struct sent_msg *m)
{
	return m->len == WG_DATA_MIN_LEN && m->data[0] == WG_MSG_DATA;
}

static unsigned count_keepalives(const struct node *n)
{
	unsigned c = 0;

	for (unsigned i = 0; i < n->nsent; i++)
		c += is_keepalive(&n->sent[i]);
	return c;
}

/* The receiving end authenticates m as a keepalive. */
static void check_keepalive(struct node *to, const struct sent_msg *m, const struct wg_endpoint *from)
{
	uint8_t buf[2048];
	struct wg_rx rx = { .msg = buf, .len = (uint32_t)m->len, .src = *from };
	bool attention = false;

	assert_true(is_keepalive(m));
	memcpy(buf, m->data, m->len);
	assert_int_equal(wg_decrypt_burst(to->crypto, to->dev, &rx, 1, test_now, &attention), 0);
	assert_int_equal(rx.status, WG_OK);
	assert_true(rx.keepalive);
}

/* Tick n every step from test_now through until; stop at the first tick after
 * which n has sent one more message of type. Returns that tick's time, or 0 (and
 * leaves test_now at until). */
static uint64_t tick_until(struct node *n, uint32_t type, uint64_t until, uint64_t step)
{
	unsigned before = count_type(n, type);

	for (;;) {
		wg_device_tick(n->dev, test_now);
		if (count_type(n, type) > before)
			return test_now;
		if (test_now >= until)
			return 0;
		test_now = test_now + step > until ? until : test_now + step;
	}
}

/* Tick both nodes every step through until, discarding what they send. */
static void idle_until(struct node *a, struct node *b, uint64_t until, uint64_t step)
{
	for (;;) {
		wg_device_tick(a->dev, test_now);
		wg_device_tick(b->dev, test_now);
		clear_sent(a);
		clear_sent(b);
		if (test_now >= until)
			return;
		test_now = test_now + step > until ? until : test_now + step;
	}
}

/* A malloc'd inner packet, as the harness's session_ready expects. */
static void *staged_packet_from(const char *src, const char *dst)
{
	uint8_t buf[WG_DATA_HEADER_LEN + 64];
	uint32_t len = make_ipv4(buf, src, dst, 8);
	uint8_t *p = malloc(len);

	assert_non_null(p);
	memcpy(p, buf + WG_DATA_HEADER_LEN, len);
	return p;
}

static void *staged_packet(void)
{
	return staged_packet_from("10.1.0.2", "10.2.0.2");
}

static int a_sends(struct node *a, struct node *b, uint8_t *buf, uint32_t *len)
{
	return send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 20, buf, len);
}

static int b_sends(struct node *a, struct node *b, uint8_t *buf, uint32_t *len)
{
	return send_data(b, peer_of(b, a), "10.2.0.2", "10.1.0.2", 20, buf, len);
}

/* A data message from a under keypair kp with any counter, sealed by hand, so
 * counters the sender would refuse can still reach the receiver. */
static uint32_t forge_data(struct node *a, struct wg_keypair *kp, uint64_t counter, uint8_t *out)
{
	struct wg_msg_data *hdr = (struct wg_msg_data *)out;
	uint32_t len = make_ipv4(out, "10.1.0.2", "10.2.0.2", 12);
	uint32_t padded = (len + 15) & ~15u;

	memset(out + WG_DATA_HEADER_LEN + len, 0, padded - len);
	hdr->type = htole32(WG_MSG_DATA);
	hdr->receiver = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	assert_true(wg_aead_seal(a->crypto, out + WG_DATA_HEADER_LEN, out + WG_DATA_HEADER_LEN,
				 padded, NULL, 0, counter, kp->send_key));
	return WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
}

/* ---- retransmit_handshake ---- */

/* No response: a fresh initiation every REKEY_TIMEOUT + jitter, 1 + 19 in all
 * (the kernel gives up once attempts exceed MAX_TIMER_HANDSHAKES, "after 20
 * attempts"), then staged packets are freed and nothing more is sent. The
 * half-done handshake is erased 3 * REJECT_AFTER_TIME after giving up; new data
 * starts over. */
static void test_retransmit_gives_up(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	uint64_t times[64], t0 = test_now, gave_up = 0;
	uint8_t eph[WG_KEY_LEN], last[WG_INITIATION_LEN];
	unsigned n = 0;
	bool jittered = false;
	void *pkt;

	for (int i = 0; i < 3; i++)
		wg_peer_stage(ab, staged_packet(), test_now);
	/* Three packets, one initiation. */
	assert_int_equal(a->nsent, 1);
	assert_int_equal(a->sent[0].data[0], WG_MSG_INITIATION);
	memcpy(eph, ((const struct wg_msg_initiation *)a->sent[0].data)->ephemeral, WG_KEY_LEN);
	times[n++] = test_now;
	clear_sent(a);

	for (test_now = t0 + MS; test_now <= t0 + 200 * NS; test_now += MS) {
		wg_device_tick(a->dev, test_now);
		if (a->nsent) {
			const struct wg_msg_initiation *m = (const void *)a->sent[0].data;

			assert_int_equal(a->nsent, 1);
			assert_int_equal(a->sent[0].len, WG_INITIATION_LEN);
			assert_int_equal(m->type, htole32(WG_MSG_INITIATION));
			/* A new handshake each time, not a copy of the old message. */
			assert_memory_not_equal(m->ephemeral, eph, WG_KEY_LEN);
			memcpy(eph, m->ephemeral, WG_KEY_LEN);
			memcpy(last, a->sent[0].data, WG_INITIATION_LEN);
			assert_true(n < 64);
			times[n++] = test_now;
			clear_sent(a);
		}
		if (!gave_up && a->staged_freed)
			gave_up = test_now;
	}

	assert_int_equal(n, 1 + MAX_TIMER_HANDSHAKES + 1);
	for (unsigned i = 1; i < n; i++) {
		uint64_t gap = times[i] - times[i - 1];

		assert_in_range(gap, REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
		if (gap > REKEY_TIMEOUT_NS + MS)
			jittered = true;
	}
	assert_true(jittered);
	/* Given up one more timeout after the last attempt, not before. */
	assert_true(gave_up != 0);
	assert_in_range(gave_up - times[n - 1], REKEY_TIMEOUT_NS,
			REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
	assert_int_equal(a->staged_freed, 3);
	assert_int_equal(wg_peer_unstage(ab, &pkt, 1), 0);

	/* The pending handshake lives until zero_key_material, 540 s later. */
	assert_int_equal(ab->handshake.state, WG_HS_CREATED_INITIATION);
	for (test_now = t0 + 201 * NS; test_now < gave_up + ZERO_AFTER_NS; test_now += NS)
		wg_device_tick(a->dev, test_now);
	test_now = gave_up + ZERO_AFTER_NS - 1;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(ab->handshake.state, WG_HS_CREATED_INITIATION);
	assert_int_equal(a->nsent, 0);
	test_now = gave_up + ZERO_AFTER_NS;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(ab->handshake.state, WG_HS_ZEROED);
	assert_true(wg_is_zero(ab->handshake.chaining_key, WG_HASH_LEN));
	assert_int_equal(a->nsent, 0);
	/* A late answer to the last attempt finds nothing. */
	assert_int_equal(wg_device_handshake_rx(b->dev, last, sizeof(last), &a->addr, 0, test_now), WG_OK);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	assert_int_equal(wg_device_handshake_rx(a->dev, b->sent[0].data, b->sent[0].len, &b->addr, 0,
						test_now),
			 WG_DROP_HANDSHAKE);

	/* New data: a new round of attempts, from zero. */
	test_now += NS;
	wg_peer_stage(ab, staged_packet(), test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	assert_int_equal(ab->timers.handshake_attempts, 0);
	clear_sent(a);
	{
		uint64_t staged_at = test_now;
		uint64_t t = tick_until(a, WG_MSG_INITIATION, staged_at + 6 * NS, MS);

		assert_in_range(t - staged_at, REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
	}
	assert_int_equal(a->staged_freed, 3);
}

/* The first retransmission comes 5 s + at most 1/3 s after the initiation, and
 * a response ends the retransmissions and the count of attempts. */
static void test_retransmit_stops_on_response(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	struct wg_peer_stats st;
	uint64_t t0 = test_now, t1;

	wg_peer_initiate(ab, t0);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	clear_sent(a);
	/* Nothing before REKEY_TIMEOUT. */
	test_now = t0 + REKEY_TIMEOUT_NS - 1;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(a->nsent, 0);
	t1 = tick_until(a, WG_MSG_INITIATION, t0 + 6 * NS, MS);
	assert_in_range(t1 - t0, REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
	assert_int_equal(a->nsent, 1);
	assert_int_equal(ab->timers.handshake_attempts, 1);

	/* b answers the latest attempt. */
	deliver(a, b);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	deliver(b, a);
	wg_peer_stats(ab, &st);
	assert_true(st.has_session);
	assert_int_equal(ab->timers.handshake_attempts, 0);
	clear_sent(a);
	/* No retransmission after that, for as long as nothing else happens. */
	assert_int_equal(tick_until(a, WG_MSG_INITIATION, t1 + 60 * NS, 10 * MS), 0);
}

/* ---- send_keepalive ---- */

/* Data received and nothing sent back for KEEPALIVE_TIMEOUT: exactly one
 * keepalive, an empty data message of 32 bytes, at exactly 10 s (no jitter). */
static void test_send_keepalive(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t;

	handshake(a, b);
	test_now += NS;
	t = test_now;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(b->dev, test_now);
	assert_int_equal(b->nsent, 0);

	test_now = t + KEEPALIVE_NS - 1;
	wg_device_tick(b->dev, test_now);
	assert_int_equal(b->nsent, 0);
	test_now = t + KEEPALIVE_NS;
	wg_device_tick(b->dev, test_now);
	assert_int_equal(b->nsent, 1);
	assert_int_equal(b->sent[0].len, 32);
	assert_int_equal(b->sent[0].data[0], WG_MSG_DATA);
	assert_ptr_equal(b->sent[0].peer, peer_of(b, a));
	assert_true(wg_endpoint_equal(&b->sent[0].to, &a->addr));
	check_keepalive(a, &b->sent[0], &b->addr);

	/* One only. */
	assert_int_equal(tick_until(b, WG_MSG_DATA, t + 60 * NS, 100 * MS), 0);
	assert_int_equal(b->nsent, 1);
}

/* More data while the timer runs: the kernel sends one keepalive at 10 s and,
 * because more data came meanwhile, one more 10 s after that; then stops. */
static void test_send_keepalive_need_another(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t;

	handshake(a, b);
	test_now += NS;
	t = test_now;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(b->dev, test_now);
	test_now = t + 5 * NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(b->dev, test_now);

	assert_int_equal(tick_until(b, WG_MSG_DATA, t + 30 * NS, 100 * MS), t + KEEPALIVE_NS);
	assert_int_equal(tick_until(b, WG_MSG_DATA, t + 40 * NS, 100 * MS), t + 2 * KEEPALIVE_NS);
	assert_int_equal(count_keepalives(b), 2);
	assert_int_equal(tick_until(b, WG_MSG_DATA, t + 90 * NS, 100 * MS), 0);
	assert_int_equal(b->nsent, 2);
}

/* Data received, then data sent back within 10 s: no keepalive. */
static void test_no_keepalive_after_sending(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t;

	handshake(a, b);
	test_now += NS;
	t = test_now;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(b->dev, test_now);
	test_now = t + 3 * NS;
	assert_int_equal(b_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(b->dev, test_now);
	for (test_now = t + 3 * NS; test_now <= t + 30 * NS; test_now += 100 * MS)
		wg_device_tick(b->dev, test_now);
	assert_int_equal(count_keepalives(b), 0);
}

/* ---- new_handshake ---- */

/* Data sent and nothing received for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (+ jitter):
 * an initiation. The deadline runs from the first unanswered packet; more
 * sending does not push it back. */
static void test_new_handshake(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t, fired;

	handshake(a, b);
	test_now += NS;
	t = test_now;
	for (int i = 0; i < 3; i++) {
		test_now = t + (uint64_t)i * 5 * NS;
		assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
		wg_device_tick(a->dev, test_now);
	}
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	test_now = t + 15 * NS - MS;
	fired = tick_until(a, WG_MSG_INITIATION, t + 16 * NS, MS);
	assert_in_range(fired - t, 15 * NS, 15 * NS + JITTER_MAX_NS + MS);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* Anything authenticated coming back cancels it. */
static void test_new_handshake_cancelled_by_receive(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t;

	handshake(a, b);
	test_now += NS;
	t = test_now;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	test_now = t + 7 * NS;
	assert_int_equal(b_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(a, buf, len, &b->addr), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(tick_until(a, WG_MSG_INITIATION, t + 40 * NS, 10 * MS), 0);
}

/* ---- zero_key_material ---- */

/* 3 * REJECT_AFTER_TIME after the last session was derived, both ends erase
 * their sessions: no session in the stats, and data for the old index no longer
 * names anything (until then it was merely expired). */
static void test_zero_key_material(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	uint8_t old[2048], buf[2048];
	uint32_t oldlen;
	struct wg_peer_stats st;
	uint64_t t0 = test_now;

	handshake(a, b);
	test_now = t0 + NS;
	assert_int_equal(a_sends(a, b, old, &oldlen), WG_OK);

	idle_until(a, b, t0 + ZERO_AFTER_NS - 1, NS);
	assert_non_null(atomic_load(&ab->current));
	assert_non_null(atomic_load(&ba->current));
	memcpy(buf, old, oldlen);
	assert_int_equal(recv_data(b, buf, oldlen, &a->addr), WG_DROP_KEY_EXPIRED);

	test_now = t0 + ZERO_AFTER_NS;
	wg_device_tick(a->dev, test_now);
	wg_device_tick(b->dev, test_now);
	assert_null(atomic_load(&ab->current));
	assert_null(atomic_load(&ab->previous));
	assert_null(atomic_load(&ab->next));
	assert_null(atomic_load(&ba->current));
	assert_null(atomic_load(&ba->previous));
	assert_null(atomic_load(&ba->next));
	assert_int_equal(ab->handshake.state, WG_HS_ZEROED);
	assert_int_equal(ba->handshake.state, WG_HS_ZEROED);
	wg_peer_stats(ab, &st);
	assert_false(st.has_session);
	wg_peer_stats(ba, &st);
	assert_false(st.has_session);
	memcpy(buf, old, oldlen);
	assert_int_equal(recv_data(b, buf, oldlen, &a->addr), WG_DROP_UNKNOWN_INDEX);
	/* And sending now needs a new handshake. */
	assert_int_equal(a_sends(a, b, buf, &oldlen), WG_DROP_NO_SESSION);
}

/* A later session re-arms it: the clock runs from the last one derived. */
static void test_zero_key_material_rearmed(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	uint64_t t0 = test_now, t1;

	handshake(a, b);
	test_now = t0 + 100 * NS;
	t1 = test_now;
	handshake(a, b);
	idle_until(a, b, t1 + ZERO_AFTER_NS - 1, 10 * NS);
	assert_non_null(atomic_load(&ab->current));
	assert_non_null(atomic_load(&ba->current));
	assert_non_null(atomic_load(&ba->previous));
	test_now = t1 + ZERO_AFTER_NS;
	wg_device_tick(a->dev, test_now);
	wg_device_tick(b->dev, test_now);
	assert_null(atomic_load(&ab->current));
	assert_null(atomic_load(&ba->current));
	assert_null(atomic_load(&ba->previous));
}

/* ---- persistent keepalive ---- */

/* Interval N: a keepalive whenever N s pass with no authenticated packet either
 * way; anything received restarts the interval; 0 turns it off. */
static void test_persistent_keepalive(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b), *ba = peer_of(b, a);
	const uint64_t N = 7 * NS;
	uint64_t t1;

	handshake(a, b);
	test_now += NS;
	t1 = test_now;
	wg_peer_set_persistent_keepalive(ab, 7, test_now);
	assert_int_equal(a->nsent, 0);
	for (uint64_t k = 1; k <= 2; k++) {
		test_now = t1 + k * N - 1;
		wg_device_tick(a->dev, test_now);
		assert_int_equal(a->nsent, 0);
		test_now = t1 + k * N;
		wg_device_tick(a->dev, test_now);
		assert_int_equal(a->nsent, 1);
		assert_int_equal(a->sent[0].len, 32);
		check_keepalive(b, &a->sent[0], &a->addr);
		clear_sent(a);
	}
	/* b's keepalive arrives 2 s later: the next one is N after it. */
	test_now = t1 + 2 * N + 2 * NS;
	wg_send_keepalive(ba, test_now);
	assert_int_equal(count_keepalives(b), 1);
	deliver(b, a);
	wg_device_tick(a->dev, test_now);
	test_now = t1 + 3 * N;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(a->nsent, 0);
	test_now = t1 + 3 * N + 2 * NS - 1;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(a->nsent, 0);
	test_now = t1 + 3 * N + 2 * NS;
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_keepalives(a), 1);
	clear_sent(a);

	/* Off. */
	wg_peer_set_persistent_keepalive(ab, 0, test_now);
	for (uint64_t end = test_now + 60 * NS; test_now <= end; test_now += 100 * MS)
		wg_device_tick(a->dev, test_now);
	assert_int_equal(a->nsent, 0);
}

/* ---- rekey after time ---- */

/* The initiator sending on a session older than REKEY_AFTER_TIME starts a new
 * handshake at its next tick; the new session then carries the traffic. */
static void test_rekey_after_time(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	struct wg_keypair *first;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t0 = test_now;

	handshake(a, b);
	first = atomic_load(&ab->current);
	test_now = t0 + REKEY_AFTER_TIME_NS - NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);

	test_now = t0 + REKEY_AFTER_TIME_NS + NS / 2;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	/* The data path only notes it; the control thread initiates. */
	assert_int_equal(a->nsent, 0);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);

	/* Complete it: a sends under the new session and does not ask again. */
	deliver(a, b);
	deliver(b, a);
	assert_ptr_not_equal(atomic_load(&ab->current), first);
	clear_sent(a);
	test_now += 6 * NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
}

/* Kernel rule (send.c keep_key_fresh): wg_birthdate_has_expired(birth,
 * REKEY_AFTER_TIME), i.e. birth + 120 s <= now: a send at exactly 120 s rekeys. */
static void test_rekey_after_time_boundary(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t0 = test_now;

	handshake(a, b);
	test_now = t0 + REKEY_AFTER_TIME_NS - 1;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	test_now = t0 + REKEY_AFTER_TIME_NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* The responder never initiates for the session's age alone when sending. */
static void test_responder_no_rekey_after_time(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t0 = test_now;

	handshake(a, b);
	test_now = t0 + REKEY_AFTER_TIME_NS + 10 * NS;
	assert_int_equal(b_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(b->dev, test_now);
	test_now += NS;
	assert_int_equal(b_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(b->dev, test_now);
	assert_int_equal(count_type(b, WG_MSG_INITIATION), 0);
}

/* wg_tuning.rekey_after_time_s shortens it (and only it). */
static void test_rekey_after_time_tuned(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_tuning tu;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t0 = test_now;

	wg_device_get_tuning(a->dev, &tu);
	assert_int_equal(tu.rekey_after_time_s, 120);
	tu.rekey_after_time_s = 30;
	wg_device_set_tuning(a->dev, &tu);
	handshake(a, b);
	test_now = t0 + 29 * NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	test_now = t0 + 31 * NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	/* Rejection is still 180 s away: the old session keeps working. */
	test_now = t0 + 170 * NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
}

/* ---- reject after time ---- */

/* At REJECT_AFTER_TIME a session neither encrypts (NO_SESSION, so the caller
 * stages and handshakes) nor decrypts (KEY_EXPIRED), on either end; a
 * nanosecond earlier it still does both. */
static void test_reject_after_time(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t m_ab[2048], m_ab2[2048], m_ba[2048], m_ba2[2048], buf[2048];
	uint32_t l_ab, l_ab2, l_ba, l_ba2, len;
	struct wg_peer_stats st;
	uint64_t t0 = test_now;

	handshake(a, b);
	test_now = t0 + REJECT_AFTER_TIME_NS - 1;
	assert_int_equal(a_sends(a, b, m_ab, &l_ab), WG_OK);
	assert_int_equal(a_sends(a, b, m_ab2, &l_ab2), WG_OK);
	assert_int_equal(b_sends(a, b, m_ba, &l_ba), WG_OK);
	assert_int_equal(b_sends(a, b, m_ba2, &l_ba2), WG_OK);
	assert_int_equal(recv_data(b, m_ab, l_ab, &a->addr), WG_OK);
	assert_int_equal(recv_data(a, m_ba, l_ba, &b->addr), WG_OK);

	test_now = t0 + REJECT_AFTER_TIME_NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_DROP_NO_SESSION);
	assert_int_equal(b_sends(a, b, buf, &len), WG_DROP_NO_SESSION);
	assert_int_equal(recv_data(b, m_ab2, l_ab2, &a->addr), WG_DROP_KEY_EXPIRED);
	assert_int_equal(recv_data(a, m_ba2, l_ba2, &b->addr), WG_DROP_KEY_EXPIRED);
	wg_peer_stats(peer_of(a, b), &st);
	assert_false(st.has_session);
	wg_peer_stats(peer_of(b, a), &st);
	assert_false(st.has_session);
	/* Staging what could not be sent starts a handshake. */
	wg_peer_stage(peer_of(a, b), staged_packet(), test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* ---- rekey / reject after messages (white-box: the send counter is set) ---- */

static void set_send_counter(struct wg_peer *peer, uint64_t v)
{
	struct wg_keypair *kp = atomic_load(&peer->current);

	assert_non_null(kp);
	atomic_store(&kp->send_counter, v);
}

/* Well past REKEY_AFTER_MESSAGES either end initiates, the responder too; well
 * before it nobody does. */
static void test_rekey_after_messages(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;

	handshake(a, b);
	test_now += 6 * NS; /* clear of the handshake rate limit */
	set_send_counter(peer_of(a, b), REKEY_AFTER_MSGS - 10);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	set_send_counter(peer_of(a, b), REKEY_AFTER_MSGS + 10);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);

	set_send_counter(peer_of(b, a), REKEY_AFTER_MSGS + 10);
	assert_int_equal(b_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(b->dev, test_now);
	assert_int_equal(count_type(b, WG_MSG_INITIATION), 1);
}

/* Kernel rule (send.c keep_key_fresh): sending_counter > REKEY_AFTER_MESSAGES,
 * read after the nonce was taken, so the packet with nonce 2^60 (counter then
 * 2^60 + 1) is the first to ask for a new handshake; nonce 2^60 - 1 is not. */
static void test_rekey_after_messages_boundary(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;

	handshake(a, b);
	test_now += 6 * NS;
	set_send_counter(peer_of(a, b), REKEY_AFTER_MSGS - 1);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK); /* nonce 2^60 */
	assert_int_equal(le64toh(((struct wg_msg_data *)buf)->counter), REKEY_AFTER_MSGS);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* Sending at REJECT_AFTER_MESSAGES and beyond is refused and invalidates the
 * session for sending; receiving refuses counters that high. */
static void test_reject_after_messages(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_keypair *kp;
	struct wg_peer_stats st;
	uint8_t buf[2048];
	uint32_t len;

	handshake(a, b);
	test_now += NS;
	kp = atomic_load(&peer_of(a, b)->current);
	set_send_counter(peer_of(a, b), REJECT_AFTER_MSGS - 100);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	set_send_counter(peer_of(a, b), REJECT_AFTER_MSGS);
	assert_int_equal(a_sends(a, b, buf, &len), WG_DROP_NO_SESSION);
	wg_peer_stats(peer_of(a, b), &st);
	assert_false(st.has_session);
	/* Invalid for good, even with a counter that would fit. */
	atomic_store(&kp->send_counter, 5);
	assert_int_equal(a_sends(a, b, buf, &len), WG_DROP_NO_SESSION);

	/* The receiver drops a counter at the limit and keeps accepting below it. */
	len = forge_data(a, kp, REJECT_AFTER_MSGS, buf);
	assert_int_not_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	len = forge_data(a, kp, REJECT_AFTER_MSGS - 99, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	len = forge_data(a, kp, UINT64_MAX, buf);
	assert_int_not_equal(recv_data(b, buf, len, &a->addr), WG_OK);
}

/* REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1 (whitepaper 6; wireguard-go
 * RejectAfterMessages): nonces below it are usable, so nonce 2^64 - 2^13 - 2 is
 * sent and received; once the receiver has seen it (its counter reached the
 * limit) the session refuses everything else as expired. */
static void test_reject_after_messages_boundary(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_keypair *kp;
	uint8_t buf[2048];
	uint32_t len;

	handshake(a, b);
	test_now += NS;
	kp = atomic_load(&peer_of(a, b)->current);
	/* Receiver: just below the limit everything authentic and new is taken. */
	len = forge_data(a, kp, REJECT_AFTER_MSGS - 2, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	len = forge_data(a, kp, REJECT_AFTER_MSGS - 3, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	len = forge_data(a, kp, REJECT_AFTER_MSGS - 1, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	len = forge_data(a, kp, REJECT_AFTER_MSGS - 4, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_KEY_EXPIRED);

	/* Sender: the last nonce below the limit goes out, the next does not. */
	set_send_counter(peer_of(a, b), REJECT_AFTER_MSGS - 1);
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(le64toh(((struct wg_msg_data *)buf)->counter), REJECT_AFTER_MSGS - 1);
	assert_int_equal(a_sends(a, b, buf, &len), WG_DROP_NO_SESSION);
}

/* ---- receive side: the last-minute handshake ---- */

static void b_keepalive_to_a(struct node *a, struct node *b)
{
	clear_sent(b);
	wg_send_keepalive(peer_of(b, a), test_now);
	assert_int_equal(count_keepalives(b), 1);
	assert_int_equal(deliver(b, a), 1);
}

/* The initiator receiving on a session older than REJECT_AFTER_TIME -
 * KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s) initiates, once per session. */
static void test_lastminute_handshake(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	uint64_t t0 = test_now, t1;

	handshake(a, b);
	test_now = t0 + LASTMINUTE_NS - NS;
	b_keepalive_to_a(a, b);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);

	test_now = t0 + LASTMINUTE_NS + NS / 2;
	t1 = test_now;
	b_keepalive_to_a(a, b);
	assert_int_equal(a->nsent, 0); /* the control thread does it */
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	clear_sent(a);

	/* Once: again after the rate limit has passed, still on the old session,
	 * nothing. The retransmission would be due just then: disarmed, so that
	 * only the last-minute rule could send. */
	assert_in_range(ab->timers.retransmit_handshake - t1, REKEY_TIMEOUT_NS,
			REKEY_TIMEOUT_NS + JITTER_MAX_NS);
	ab->timers.retransmit_handshake = 0;
	test_now = t1 + REKEY_TIMEOUT_NS + JITTER_MAX_NS;
	b_keepalive_to_a(a, b);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 0);
	/* Not the rate limit that held it back. */
	wg_peer_initiate(ab, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* The responder does not: it waits for the initiator. */
static void test_lastminute_not_responder(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t buf[2048];
	uint32_t len;
	uint64_t t0 = test_now;

	handshake(a, b);
	test_now = t0 + LASTMINUTE_NS + NS;
	assert_int_equal(a_sends(a, b, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_device_tick(b->dev, test_now);
	assert_int_equal(count_type(b, WG_MSG_INITIATION), 0);
}

/* Kernel rule (receive.c keep_key_fresh): on any data received, the age that
 * counts is that of the *current* keypair (if we initiated it), whichever
 * keypair the packet came under. Here a packet on the previous session arrives
 * when the current one is 165.5 s old. */
static void test_lastminute_checks_current_keypair(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	uint8_t old[2048];
	uint32_t oldlen;
	uint64_t t0 = test_now, t1;

	handshake(a, b);
	test_now = t0 + NS / 2;
	assert_int_equal(b_sends(a, b, old, &oldlen), WG_OK); /* under the first session */
	test_now = t0 + 6 * NS;
	t1 = test_now;
	handshake(a, b);
	assert_non_null(atomic_load(&peer_of(a, b)->previous));

	test_now = t1 + LASTMINUTE_NS + NS / 2;
	assert_int_equal(recv_data(a, old, oldlen, &b->addr), WG_OK);
	wg_device_tick(a->dev, test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
}

/* ---- the initiation rate limit ---- */

/* Asking for an initiation every millisecond from "from": when one first goes,
 * or 0 if none by until. */
static uint64_t initiation_opens(struct node *a, struct wg_peer *ab, uint64_t from, uint64_t until)
{
	unsigned before = count_type(a, WG_MSG_INITIATION);

	for (test_now = from; test_now <= until; test_now += MS) {
		wg_peer_initiate(ab, test_now);
		if (count_type(a, WG_MSG_INITIATION) > before)
			return test_now;
	}
	return 0;
}

/* Waits between handshake messages: each within [REKEY_TIMEOUT, REKEY_TIMEOUT
 * + 1/3 s] (a millisecond for the probing), and jittered: several are more than
 * 2 ms past REKEY_TIMEOUT and they spread over more than a tenth of the range
 * (all n inside one such window by chance: n * 10^-(n-1)). */
static void check_jittered(const uint64_t *gap, unsigned n)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned late = 0;

	for (unsigned i = 0; i < n; i++) {
		assert_in_range(gap[i], REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
		late += gap[i] > REKEY_TIMEOUT_NS + 2 * MS;
		lo = gap[i] < lo ? gap[i] : lo;
		hi = gap[i] > hi ? gap[i] : hi;
	}
	assert_true(late >= 2);
	assert_true(hi - lo > JITTER_MAX_NS / 10);
}

/* At most one initiation per REKEY_TIMEOUT + jitter however often it is asked
 * for, by wg_peer_initiate, by staging, or both while ticking; never less than
 * REKEY_TIMEOUT apart (the kernel's limit), never more than 1/3 s beyond it. */
static void test_initiation_rate_limit(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ab = peer_of(a, b);
	uint64_t t0 = test_now, times[32], gaps[32], end;
	unsigned n = 0, k = 0;

	wg_peer_initiate(ab, t0);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	test_now = t0 + NS;
	wg_peer_initiate(ab, test_now);
	test_now = t0 + 2 * NS;
	wg_peer_stage(ab, staged_packet(), test_now);
	assert_int_equal(ab->staged_count, 1);
	test_now = t0 + REKEY_TIMEOUT_NS - 1;
	wg_peer_initiate(ab, test_now);
	wg_peer_stage(ab, staged_packet(), test_now);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 1);
	times[n++] = t0;
	times[n++] = initiation_opens(a, ab, t0 + REKEY_TIMEOUT_NS,
				      t0 + REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
	assert_int_not_equal(times[1], 0);
	assert_int_equal(count_type(a, WG_MSG_INITIATION), 2);
	clear_sent(a);

	/* A minute of asking every millisecond, staging every 20, ticking. */
	for (end = test_now + 60 * NS; test_now <= end; test_now += MS, k++) {
		unsigned before = a->nsent;

		wg_peer_initiate(ab, test_now);
		if (k % 20 == 0)
			wg_peer_stage(ab, staged_packet(), test_now);
		wg_device_tick(a->dev, test_now);
		assert_true(a->nsent - before <= 1);
		if (a->nsent > before) {
			assert_int_equal(a->sent[a->nsent - 1].data[0], WG_MSG_INITIATION);
			assert_true(n < 32);
			times[n++] = test_now;
		}
	}
	for (unsigned i = 1; i < n; i++)
		gaps[i - 1] = times[i] - times[i - 1];
	check_jittered(gaps, n - 1);
	assert_in_range(n - 2, 11, 12);
}

/* A response counts as a handshake message sent: the responder does not also
 * initiate within REKEY_TIMEOUT (+ jitter) of it. Eight responses, each opening
 * the way for b's own initiation at a jittered moment. */
static void test_initiation_rate_limit_after_response(void **state)
{
	struct pair *p = *state;
	struct node *a = p->a, *b = p->b;
	struct wg_peer *ba = peer_of(b, a);
	uint64_t gaps[8];

	for (unsigned i = 0; i < 8; i++) {
		uint64_t t = test_now, opened;

		clear_sent(a);
		wg_peer_initiate(peer_of(a, b), t);
		deliver(a, b);
		assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
		clear_sent(b);
		test_now = t + NS;
		wg_peer_initiate(ba, test_now);
		test_now = t + REKEY_TIMEOUT_NS - 1;
		wg_peer_initiate(ba, test_now);
		assert_int_equal(b->nsent, 0);
		opened = initiation_opens(b, ba, t + REKEY_TIMEOUT_NS,
					  t + REKEY_TIMEOUT_NS + JITTER_MAX_NS + MS);
		assert_int_not_equal(opened, 0);
		assert_int_equal(count_type(b, WG_MSG_INITIATION), 1);
		/* Answered, so that b's initiation is not outstanding when a's
		 * next one comes (that would be a crossing: the yield's test). */
		deliver(b, a);
		deliver(a, b);
		clear_sent(a);
		clear_sent(b);
		gaps[i] = opened - t;
		/* Clear of both rate limits for the next round (a's initiation
		 * was still outstanding when b's came: a may yield). */
		test_now = opened + REKEY_TIMEOUT_NS + JITTER_MAX_NS + WG_CROSSED_YIELD_NS + MS;
	}
	check_jittered(gaps, 8);
}

/* ---- simultaneous initiations ---- */

/*
 * Two nodes joined by a link with a one-way delay, each sending a packet to the
 * other every period from the same instant: both stage it and initiate at once,
 * each answers the other's initiation and drops the answer to its own (so does
 * the kernel). Whatever retries next must not do it in step with the other
 * side, or that repeats for as long as the traffic lasts.
 */
#define SIM_QUEUE 8192

struct sim_msg {
	uint64_t due;
	struct node *to, *from;
	uint32_t len;
	uint8_t data[WG_INITIATION_LEN + 64];
};

struct sim {
	struct node *a, *b;
	uint64_t delay;
	struct sim_msg *q; /* in flight, in order: one delay for all */
	unsigned head, tail;
	unsigned data_to_a, data_to_b; /* data messages that arrived and decrypted */
	unsigned initiations;
};

static void sim_push(struct sim *s, struct node *from, const uint8_t *msg, size_t len)
{
	struct sim_msg *m;

	assert_true(s->tail - s->head < SIM_QUEUE);
	assert_true(len <= sizeof(m->data));
	m = &s->q[s->tail++ % SIM_QUEUE];
	m->due = test_now + s->delay;
	m->from = from;
	m->to = from == s->a ? s->b : s->a;
	m->len = (uint32_t)len;
	memcpy(m->data, msg, len);
	s->initiations += msg[0] == WG_MSG_INITIATION;
}

static void sim_collect(struct sim *s, struct node *n)
{
	for (unsigned i = 0; i < n->nsent; i++)
		sim_push(s, n, n->sent[i].data, n->sent[i].len);
	clear_sent(n);
}

static void sim_deliver(struct sim *s)
{
	while (s->head != s->tail && s->q[s->head % SIM_QUEUE].due <= test_now) {
		struct sim_msg *m = &s->q[s->head++ % SIM_QUEUE];

		if (m->data[0] != WG_MSG_DATA)
			wg_device_handshake_rx(m->to->dev, m->data, m->len, &m->from->addr, 0, test_now);
		else if (recv_data(m->to, m->data, m->len, &m->from->addr) == WG_OK &&
			 m->len > WG_DATA_MIN_LEN)
			(*(m->to == s->a ? &s->data_to_a : &s->data_to_b))++;
	}
}

/* One packet from n to the other: sent if a session allows, else staged. */
static void sim_send(struct sim *s, struct node *n)
{
	bool is_a = n == s->a;
	const char *src = is_a ? "10.1.0.2" : "10.2.0.2", *dst = is_a ? "10.2.0.2" : "10.1.0.2";
	struct wg_peer *peer = peer_of(n, is_a ? s->b : s->a);
	uint8_t buf[256];
	uint32_t len;

	if (send_data(n, peer, src, dst, 8, buf, &len) == WG_OK)
		sim_push(s, n, buf, len);
	else
		wg_peer_stage(peer, staged_packet_from(src, dst), test_now);
}

/* From now, a millisecond at a time, both send every period until each has had
 * data from the other. Returns how long that took, or 0 if not within limit. */
static uint64_t sim_run(struct sim *s, uint64_t period, uint64_t limit)
{
	uint64_t t0 = test_now;

	for (;; test_now += MS) {
		sim_deliver(s);
		wg_device_tick(s->a->dev, test_now);
		wg_device_tick(s->b->dev, test_now);
		if ((test_now - t0) % period == 0) {
			sim_send(s, s->a);
			sim_send(s, s->b);
		}
		sim_collect(s, s->a);
		sim_collect(s, s->b);
		if (s->data_to_a && s->data_to_b)
			return test_now - t0;
		if (test_now - t0 >= limit)
			return 0;
	}
}

static uint64_t simultaneous(struct pair *p, uint64_t delay, uint64_t period, uint64_t limit,
			     unsigned *initiations)
{
	struct sim s = { .a = p->a, .b = p->b, .delay = delay };
	uint64_t took;

	s.q = calloc(SIM_QUEUE, sizeof(*s.q));
	assert_non_null(s.q);
	took = sim_run(&s, period, limit);
	free(s.q);
	*initiations = s.initiations;
	return took;
}

/* Saturating traffic both ways (a packet every millisecond), 2 ms apart: the
 * first attempt collides by construction; the session works within three
 * retries. Without jitter on what the traffic triggers, each retry leaves both
 * sides at the same moment, collides again, and no session ever forms. */
static void test_simultaneous_initiation(void **state)
{
	unsigned inits;
	uint64_t took = simultaneous(*state, 2 * MS, MS, 60 * NS, &inits);

	if (!took || took >= 3 * (REKEY_TIMEOUT_NS + JITTER_MAX_NS + 10 * MS))
		fail_msg("no session after %.3f s (0: none in 60 s), %u initiations",
			 (double)took / NS, inits);
}

/* Crossed initiations at the rig's one-way delays (25 ms, and 125 ms as
 * eu-west <-> ap-northeast), with meshd's probe interval (50 ms) as traffic, from
 * the same instant on both sides, twenty times each: the greater key yields
 * (timers.c, wg_timers_handshake_crossed), so every time the session forms at
 * the first retry, however the jitter falls. Without the yield, two retries
 * within one delay of each other cross again (about one trial in five at 25 ms),
 * and the rig saw 15 s without a session. */
static void test_simultaneous_initiation_wan(void **state)
{
	static const uint64_t delays[] = { 25 * MS, 125 * MS };
	unsigned inits;

	(void)state;
	for (unsigned d = 0; d < 2; d++) {
		uint64_t bound = REKEY_TIMEOUT_NS + JITTER_MAX_NS + 6 * delays[d] + 60 * MS;

		for (int i = 0; i < 20; i++) {
			struct pair *p = pair_new();
			uint64_t took = simultaneous(p, delays[d], 50 * MS, 60 * NS, &inits);

			pair_free(p);
			if (!took || took > bound)
				fail_msg("delay %u ms, trial %d: session after %.3f s (0: none in 60 s; "
					 "bound %.3f s), %u initiations",
					 (unsigned)(delays[d] / MS), i, (double)took / NS,
					 (double)bound / NS, inits);
		}
	}
}

/* Only the greater key yields, and only after a crossing: the other side's
 * limit and an uncrossed responder's are REKEY_TIMEOUT plus jitter. */
static void test_crossed_yield_greater_key_only(void **state)
{
	struct pair *p = *state;
	struct wg_peer *ab = peer_of(p->a, p->b), *ba = peer_of(p->b, p->a);
	bool a_greater = memcmp(p->a->pub, p->b->pub, WG_KEY_LEN) > 0;
	struct wg_peer *greater = a_greater ? ab : ba, *lesser = a_greater ? ba : ab;

	(void)state;
	wg_peer_initiate(ab, test_now);
	wg_peer_initiate(ba, test_now);
	deliver(p->a, p->b);
	deliver(p->b, p->a);
	assert_true(ab->handshake.crossed && ba->handshake.crossed);
	assert_in_range(greater->handshake_wait, REKEY_TIMEOUT_NS + NS,
			REKEY_TIMEOUT_NS + NS + JITTER_MAX_NS);
	assert_in_range(lesser->handshake_wait, REKEY_TIMEOUT_NS, REKEY_TIMEOUT_NS + JITTER_MAX_NS);
}

#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_retransmit_gives_up),
		T(test_retransmit_stops_on_response),
		T(test_send_keepalive),
		T(test_send_keepalive_need_another),
		T(test_no_keepalive_after_sending),
		T(test_new_handshake),
		T(test_new_handshake_cancelled_by_receive),
		T(test_zero_key_material),
		T(test_zero_key_material_rearmed),
		T(test_persistent_keepalive),
		T(test_rekey_after_time),
		T(test_rekey_after_time_boundary),
		T(test_responder_no_rekey_after_time),
		T(test_rekey_after_time_tuned),
		T(test_reject_after_time),
		T(test_rekey_after_messages),
		T(test_rekey_after_messages_boundary),
		T(test_reject_after_messages),
		T(test_reject_after_messages_boundary),
		T(test_lastminute_handshake),
		T(test_lastminute_not_responder),
		T(test_lastminute_checks_current_keypair),
		T(test_initiation_rate_limit),
		T(test_initiation_rate_limit_after_response),
		T(test_simultaneous_initiation),
		T(test_simultaneous_initiation_wan),
		T(test_crossed_yield_greater_key_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
