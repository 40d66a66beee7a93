// SPDX-License-Identifier: MIT
/*
 * The anti-replay window (tunnels/replay.c): acceptance in and out of order,
 * duplicates, the exact edge of the window, sliding far forward, the counter
 * limit, a randomized comparison with a plain set-of-seen-counters model, and
 * the same rules end to end through wg_decrypt_burst().
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wg.h"

_Static_assert(WG_REPLAY_WINDOW >= 2048, "the window must hold at least 2048 counters");
_Static_assert(WG_REPLAY_WINDOW == WG_REPLAY_BITS - 64, "window is the ring less one word");

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static struct wg_replay *new_window(void)
{
	struct wg_replay *r = malloc(sizeof(*r));

	assert_non_null(r);
	/* Garbage first: init must clear all of it. */
	memset(r, 0xa5, sizeof(*r));
	wg_replay_init(r);
	return r;
}

#define ACCEPT(r, c)                                                                          \
	do {                                                                                   \
		uint64_t c_ = (c);                                                             \
		if (!wg_replay_check((r), c_))                                                 \
			fail_msg("counter %llu rejected, expected accepted (line %d)",         \
				 (unsigned long long)c_, __LINE__);                            \
	} while (0)
#define REJECT(r, c)                                                                          \
	do {                                                                                   \
		uint64_t c_ = (c);                                                             \
		if (wg_replay_check((r), c_))                                                  \
			fail_msg("counter %llu accepted, expected rejected (line %d)",         \
				 (unsigned long long)c_, __LINE__);                            \
	} while (0)

/* ---- the window on its own ---- */

static void test_in_order(void **state)
{
	struct wg_replay *r = new_window();
	const uint64_t last = 3 * WG_REPLAY_BITS + 77;

	(void)state;
	for (uint64_t c = 0; c <= last; c++) {
		ACCEPT(r, c);
		REJECT(r, c);
		if (c && c % 7 == 0)
			REJECT(r, c - 1);
	}
	/* Everything up to the newest has been seen or is too old. */
	for (uint64_t c = 0; c <= last; c++)
		REJECT(r, c);
	ACCEPT(r, last + 1);
	/* Re-initialising forgets it all. */
	wg_replay_init(r);
	ACCEPT(r, 0);
	ACCEPT(r, last);
	free(r);
}

/* Out of order inside the window: each counter exactly once, in any order. */
static void test_out_of_order_once(void **state)
{
	struct wg_replay *r = new_window();
	const uint64_t high = 50003;
	uint64_t *order = malloc(WG_REPLAY_WINDOW * sizeof(*order));

	(void)state;
	assert_non_null(order);
	rng_state = 1;
	ACCEPT(r, high);
	for (uint64_t i = 0; i < WG_REPLAY_WINDOW; i++)
		order[i] = high - WG_REPLAY_WINDOW + i;
	for (uint64_t i = WG_REPLAY_WINDOW - 1; i > 0; i--) {
		uint64_t j = rnd_below(i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint64_t i = 0; i < WG_REPLAY_WINDOW; i++) {
		ACCEPT(r, order[i]);
		REJECT(r, order[i]);
		REJECT(r, order[rnd_below(i + 1)]); /* any one already taken */
	}
	for (uint64_t i = 0; i < WG_REPLAY_WINDOW; i++)
		REJECT(r, order[i]);
	REJECT(r, high);
	/* The newest did not move while the old ones came in. */
	assert_int_equal(r->next, high + 1);
	free(order);
	free(r);
}

/* Duplicates anywhere: in a stream with gaps, reordering and repeats, what
 * has been accepted is never accepted again. */
static void test_duplicates(void **state)
{
	struct wg_replay *r = new_window();

	(void)state;
	ACCEPT(r, 0);
	REJECT(r, 0);
	ACCEPT(r, 2);
	ACCEPT(r, 1);
	REJECT(r, 1);
	REJECT(r, 2);
	ACCEPT(r, 64);   /* next word */
	ACCEPT(r, 63);
	ACCEPT(r, 65);
	REJECT(r, 63);
	REJECT(r, 64);
	REJECT(r, 65);
	ACCEPT(r, 1000);
	ACCEPT(r, 3);    /* still inside the window, never seen */
	REJECT(r, 3);
	REJECT(r, 0);
	REJECT(r, 1000);
	ACCEPT(r, 999);
	ACCEPT(r, 1001);
	REJECT(r, 999);
	REJECT(r, 1001);
	free(r);
}

/* Older than the window behind the newest: rejected, seen or not, and the
 * rejection leaves the window as it was. */
static void test_too_old(void **state)
{
	struct wg_replay *r = new_window();
	const uint64_t high = 5 * WG_REPLAY_BITS + 1234;

	(void)state;
	ACCEPT(r, high);
	for (uint64_t c = 0; c < high - WG_REPLAY_WINDOW; c++)
		REJECT(r, c);
	REJECT(r, 0);
	assert_int_equal(r->next, high + 1);
	/* None of that touched the window: all of it is still unseen. */
	for (uint64_t c = high - WG_REPLAY_WINDOW; c < high; c++)
		ACCEPT(r, c);
	free(r);
}

/* The oldest counter still accepted is newest - WG_REPLAY_WINDOW; the one
 * before it is not. Checked for every position of the newest inside a word
 * and around the ring's wrap. */
static void check_edge(uint64_t high)
{
	struct wg_replay *r = new_window();

	ACCEPT(r, high);
	if (high >= WG_REPLAY_WINDOW + 1)
		REJECT(r, high - WG_REPLAY_WINDOW - 1);
	if (high >= WG_REPLAY_WINDOW) {
		ACCEPT(r, high - WG_REPLAY_WINDOW);
		REJECT(r, high - WG_REPLAY_WINDOW);
		/* One newer and the edge moves on by one. */
		ACCEPT(r, high + 1);
		if (high >= WG_REPLAY_WINDOW + 2)
			REJECT(r, high - WG_REPLAY_WINDOW - 1);
		REJECT(r, high - WG_REPLAY_WINDOW); /* too old now, and seen */
		ACCEPT(r, high + 1 - WG_REPLAY_WINDOW);
		REJECT(r, high + 1 - WG_REPLAY_WINDOW);
		ACCEPT(r, high + 1 - WG_REPLAY_WINDOW + 1);
	} else {
		/* Fewer than the window's worth so far: everything back to 0. */
		ACCEPT(r, 0);
		REJECT(r, 0);
	}
	ACCEPT(r, high - 1 > 0 ? high - 1 : high + 2);
	free(r);
}

static void test_window_edge(void **state)
{
	static const int64_t around[] = { -130, -129, -128, -127, -65, -64, -63, -2, -1, 0,
					  1, 2, 63, 64, 65, 127, 128, 129 };

	(void)state;
	for (uint64_t h = WG_REPLAY_WINDOW - 3; h < WG_REPLAY_WINDOW + 200; h++)
		check_edge(h);
	for (uint64_t k = 1; k <= 5; k++)
		for (unsigned i = 0; i < sizeof(around) / sizeof(around[0]); i++)
			check_edge(k * WG_REPLAY_BITS + (uint64_t)around[i]);
	for (uint64_t h = (1ULL << 40); h < (1ULL << 40) + 130; h++)
		check_edge(h);
	check_edge(1);
	check_edge(63);
	check_edge(64);
	check_edge(WG_REPLAY_WINDOW - 64);
	check_edge(WG_REJECT_AFTER_MESSAGES - 3); /* high + 1 stays below the last counter */

	/* The same edge spelled out for one value. */
	struct wg_replay *r = new_window();

	ACCEPT(r, 10000);
	REJECT(r, 10000 - WG_REPLAY_WINDOW - 1); /* 1871 */
	ACCEPT(r, 10000 - WG_REPLAY_WINDOW);     /* 1872 */
	free(r);
}

/* Sliding forward clears what is no longer in the window and only that:
 * counters in the new window that were never seen are accepted, those seen
 * before the slide are still refused. */
static void jump(uint64_t start, uint64_t d)
{
	struct wg_replay *r = new_window();
	uint64_t top = start + d, from;

	/* Every counter of a full window seen. */
	for (uint64_t c = start - WG_REPLAY_WINDOW; c <= start; c++)
		ACCEPT(r, c);
	ACCEPT(r, top);
	from = top >= WG_REPLAY_WINDOW ? top - WG_REPLAY_WINDOW : 0;
	if (from > 0)
		REJECT(r, from - 1);
	for (uint64_t c = from; c < top; c++) {
		if (c > start)
			ACCEPT(r, c);
		else
			REJECT(r, c);
	}
	for (uint64_t c = from; c <= top; c++)
		REJECT(r, c);
	free(r);
}

static void test_big_jump(void **state)
{
	static const uint64_t steps[] = {
		1, 2, 63, 64, 65, 127, 128, 129, 1000, 4096, 8127, 8128, 8129, 8130,
		8191, 8192, 8193, 8255, 8256, 8257, 16383, 16384, 16385, 100000, 1ULL << 40,
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		jump(20000, steps[i]);
		jump(20000 + 37, steps[i]);
		jump(WG_REPLAY_BITS * 4 - 1, steps[i]);
	}

	/* The whole ring set (0..8191 in order), then one ring further: every bit
	 * that counted for the old counters must have been cleared. */
	struct wg_replay *r = new_window();

	for (uint64_t c = 0; c < WG_REPLAY_BITS; c++)
		ACCEPT(r, c);
	ACCEPT(r, 2 * WG_REPLAY_BITS - 1);
	for (uint64_t c = WG_REPLAY_BITS - 1 + 64; c < 2 * WG_REPLAY_BITS - 1; c++)
		ACCEPT(r, c);
	for (uint64_t c = 0; c < 2 * WG_REPLAY_BITS; c++)
		REJECT(r, c);
	free(r);
}

/* Counters at and beyond the limit are never accepted, and do not disturb the
 * window; the last valid counter is accepted once and then the key is done. */
static void test_counter_limits(void **state)
{
	struct wg_replay *r = new_window();

	(void)state;
	REJECT(r, WG_REJECT_AFTER_MESSAGES);
	REJECT(r, WG_REJECT_AFTER_MESSAGES + 1);
	REJECT(r, UINT64_MAX - 1);
	REJECT(r, UINT64_MAX);
	assert_int_equal(r->next, 0);
	ACCEPT(r, 100);
	REJECT(r, WG_REJECT_AFTER_MESSAGES);
	REJECT(r, UINT64_MAX);
	assert_int_equal(r->next, 101);
	ACCEPT(r, 99);
	ACCEPT(r, 0);

	/* Up to the last valid counter. */
	ACCEPT(r, WG_REJECT_AFTER_MESSAGES - 2);
	REJECT(r, 100); /* the jump left it far behind */
	ACCEPT(r, WG_REJECT_AFTER_MESSAGES - 1);
	REJECT(r, WG_REJECT_AFTER_MESSAGES - 1);
	REJECT(r, WG_REJECT_AFTER_MESSAGES - 2);
	REJECT(r, WG_REJECT_AFTER_MESSAGES);
	REJECT(r, WG_REJECT_AFTER_MESSAGES + 1);
	REJECT(r, UINT64_MAX);
	/* The receive path retires the key on exactly this condition
	 * (receive.c: replay.next >= WG_REJECT_AFTER_MESSAGES), which is what makes
	 * "nothing more is accepted" hold end to end; see test_e2e_counter_limit. */
	assert_true(r->next >= WG_REJECT_AFTER_MESSAGES);

	/* Straight to the last valid counter from nothing. */
	wg_replay_init(r);
	ACCEPT(r, WG_REJECT_AFTER_MESSAGES - 1);
	assert_true(r->next >= WG_REJECT_AFTER_MESSAGES);
	REJECT(r, WG_REJECT_AFTER_MESSAGES - 1);
	REJECT(r, WG_REJECT_AFTER_MESSAGES);
	REJECT(r, UINT64_MAX);
	REJECT(r, WG_REJECT_AFTER_MESSAGES - 1 - WG_REPLAY_WINDOW - 1);

	/* Just under it the window is still open. */
	wg_replay_init(r);
	ACCEPT(r, WG_REJECT_AFTER_MESSAGES - 2);
	assert_true(r->next < WG_REJECT_AFTER_MESSAGES);
	free(r);
}

/* ---- randomized against a model: the set of counters seen ---- */

#define MODEL_SPAN (1u << 26) /* counters covered by the model's bitmap */

struct model {
	uint64_t base;
	uint8_t *seen; /* bit per counter from base */
	bool any;
	uint64_t high;
};

static bool model_check(struct model *m, uint64_t c)
{
	uint64_t i = c - m->base;

	if (c >= WG_REJECT_AFTER_MESSAGES)
		return false;
	if (m->any && c + WG_REPLAY_WINDOW < m->high)
		return false;
	if (m->seen[i / 8] & (1u << (i % 8)))
		return false;
	m->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	if (!m->any || c > m->high)
		m->high = c;
	m->any = true;
	return true;
}

#define RECENT 32

/* Returns how many counters at or past the limit it tried. */
static uint64_t random_walk(uint64_t base, uint64_t seed, unsigned steps)
{
	struct wg_replay *r = new_window();
	struct model m = { .base = base, .seen = calloc(MODEL_SPAN / 8, 1) };
	uint64_t accepted = 0, rejected = 0, too_old = 0, repeats = 0, past = 0, done = 0;
	uint64_t recent[RECENT] = { 0 };
	unsigned nrecent = 0;

	assert_non_null(m.seen);
	rng_state = seed;
	for (unsigned s = 0; s < steps; s++) {
		uint64_t k = rnd_below(1000), c, off = m.any ? m.high - base : 0;
		bool want, got;

		if (k < 350)
			c = off + rnd_below(80);                /* a little ahead, or the newest */
		else if (k < 700)
			c = off - (off < 8300 ? rnd_below(off + 1) : rnd_below(8300)); /* behind */
		else if (k < 880 && nrecent)
			c = recent[rnd_below(nrecent < RECENT ? nrecent : RECENT)] - base; /* again */
		else if (k < 920)
			c = off + 64 * rnd_below(130) + rnd_below(3); /* words ahead */
		else if (k < 930)
			c = off + 8000 + rnd_below(400);        /* about a window ahead */
		else if (k < 932)
			c = off + rnd_below(40000);             /* far ahead */
		else
			c = rnd_below(off + 1);                 /* anywhere behind */
		if (c >= MODEL_SPAN - 1)
			break;
		c += base;
		if (m.any && m.high == WG_REJECT_AFTER_MESSAGES - 1)
			break; /* the key is finished (see test_counter_limits) */
		if (c >= WG_REJECT_AFTER_MESSAGES)
			past++;
		else if (m.any && c + WG_REPLAY_WINDOW < m.high)
			too_old++;
		else if (m.seen[(c - base) / 8] & (1u << ((c - base) % 8)))
			repeats++;
		want = model_check(&m, c);
		got = wg_replay_check(r, c);
		if (want != got)
			fail_msg("step %u: counter %llu (newest %llu): got %d, model says %d", s,
				 (unsigned long long)c, (unsigned long long)m.high, got, want);
		if (got) {
			accepted++;
			recent[nrecent++ % RECENT] = c;
		} else {
			rejected++;
		}
		done++;
	}
	if (getenv("REPLAY_STATS"))
		fprintf(stderr,
			"walk: %llu steps, %llu accepted, %llu rejected (%llu too old, "
			"%llu repeats, %llu past the limit), newest %llu\n",
			(unsigned long long)done, (unsigned long long)accepted,
			(unsigned long long)rejected, (unsigned long long)too_old,
			(unsigned long long)repeats, (unsigned long long)past,
			(unsigned long long)(m.high - base));
	/* Enough of every outcome for the comparison to mean something. */
	assert_true(done > 10000);
	assert_true(accepted > done / 5);
	assert_true(too_old > done / 20);
	assert_true(repeats > done / 10);
	free(m.seen);
	free(r);
	return past;
}

static void test_randomized(void **state)
{
	(void)state;
	assert_int_equal(random_walk(0, 11, 200000), 0);
	assert_int_equal(random_walk((1ULL << 48) + 17, 12, 200000), 0);
	/* Running into the limit: counters at and past it are refused. */
	assert_true(random_walk(WG_REJECT_AFTER_MESSAGES - 6000000, 13, 200000) > 20);
}

/* ---- end to end through the data path ---- */

static void pair_up(struct node **a, struct node **b)
{
	*a = malloc(sizeof(**a));
	*b = malloc(sizeof(**b));
	assert_non_null(*a);
	assert_non_null(*b);
	node_init(*a, "192.0.2.1", 51820);
	node_init(*b, "192.0.2.2", 51820);
	node_pair(*a, *b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	handshake(*a, *b);
}

static void unpair(struct node *a, struct node *b)
{
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

static uint64_t counter_of(const uint8_t *msg)
{
	uint64_t c;

	memcpy(&c, msg + 8, 8);
	return le64toh(c);
}

/* A data message from a under its current key with any counter, built by hand
 * (the sender never uses a counter twice or at the limit). */
static uint32_t forge(struct node *a, struct wg_peer *peer, uint64_t counter, uint8_t *buf)
{
	struct wg_keypair *kp = atomic_load(&peer->current);
	uint32_t len = make_ipv4(buf, "10.1.0.2", "10.2.0.2", 12), padded = (len + 15) & ~15u;
	uint32_t type = htole32(WG_MSG_DATA), receiver;
	uint64_t ctr = htole64(counter);

	assert_non_null(kp);
	receiver = htole32(kp->remote_index);
	memset(buf + WG_DATA_HEADER_LEN + len, 0, padded - len);
	memcpy(buf, &type, 4);
	memcpy(buf + 4, &receiver, 4);
	memcpy(buf + 8, &ctr, 8);
	assert_true(wg_aead_seal(a->crypto, buf + WG_DATA_HEADER_LEN, buf + WG_DATA_HEADER_LEN,
				 padded, NULL, 0, counter, kp->send_key));
	return WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
}

/* (a) The same message twice: the second is a replay, and counts for nothing. */
static void test_e2e_duplicate(void **state)
{
	struct node *a, *b;
	uint8_t buf[2048], copy[2048], copy2[2048];
	struct wg_peer_stats before, after;
	uint32_t len;

	(void)state;
	pair_up(&a, &b);
	assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 100, buf, &len), WG_OK);
	memcpy(copy, buf, len);
	memcpy(copy2, buf, len);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	wg_peer_stats(peer_of(b, a), &before);
	assert_int_equal(recv_data(b, copy, len, &a->addr), WG_DROP_REPLAY);
	assert_int_equal(recv_data(b, copy2, len, &a->addr), WG_DROP_REPLAY);
	wg_peer_stats(peer_of(b, a), &after);
	assert_int_equal(after.rx_bytes, before.rx_bytes);
	/* The session goes on: the next message is fine, and also only once. */
	assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 10, buf, &len), WG_OK);
	memcpy(copy, buf, len);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	assert_int_equal(recv_data(b, copy, len, &a->addr), WG_DROP_REPLAY);
	/* The forger is sound: a fresh counter built by hand is accepted once. */
	len = forge(a, peer_of(a, b), 1000, buf);
	memcpy(copy, buf, len);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	assert_int_equal(recv_data(b, copy, len, &a->addr), WG_DROP_REPLAY);
	unpair(a, b);
}

/* (b) A window's worth of messages, sent in order and delivered newest first:
 * all accepted; the next older one is outside the window. */
#define E2E_MSGS (WG_REPLAY_WINDOW + 16)
#define E2E_SLOT 128

static void test_e2e_reverse_order(void **state)
{
	struct node *a, *b;
	uint8_t *msgs = malloc((size_t)E2E_MSGS * E2E_SLOT), keep[E2E_SLOT];
	uint32_t *lens = malloc(E2E_MSGS * sizeof(*lens)), keep_len;
	unsigned accepted = 0, first_accepted;
	uint64_t top;

	(void)state;
	assert_non_null(msgs);
	assert_non_null(lens);
	pair_up(&a, &b);
	for (unsigned i = 0; i < E2E_MSGS; i++) {
		assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 0,
					   msgs + (size_t)i * E2E_SLOT, &lens[i]),
				 WG_OK);
		assert_true(lens[i] <= E2E_SLOT);
		if (i)
			assert_int_equal(counter_of(msgs + (size_t)i * E2E_SLOT),
					 counter_of(msgs + (size_t)(i - 1) * E2E_SLOT) + 1);
	}
	top = counter_of(msgs + (size_t)(E2E_MSGS - 1) * E2E_SLOT);
	keep_len = lens[E2E_MSGS - 1];
	memcpy(keep, msgs + (size_t)(E2E_MSGS - 1) * E2E_SLOT, keep_len);

	/* Newest first, then each older one: the newest and the WG_REPLAY_WINDOW
	 * before it are all taken. */
	first_accepted = E2E_MSGS - 1 - WG_REPLAY_WINDOW;
	for (unsigned i = E2E_MSGS; i-- > first_accepted;) {
		int st = recv_data(b, msgs + (size_t)i * E2E_SLOT, lens[i], &a->addr);

		if (st != WG_OK)
			fail_msg("message %u (counter %llu, newest %llu) dropped: %s", i,
				 (unsigned long long)counter_of(msgs + (size_t)i * E2E_SLOT),
				 (unsigned long long)top, wg_drop_name(st));
		accepted++;
	}
	assert_true(accepted >= 2048);
	assert_int_equal(accepted, WG_REPLAY_WINDOW + 1);
	/* The next older one, and all before it: outside the window. */
	for (unsigned i = first_accepted; i-- > 0;) {
		assert_true(counter_of(msgs + (size_t)i * E2E_SLOT) + WG_REPLAY_WINDOW < top);
		assert_int_equal(recv_data(b, msgs + (size_t)i * E2E_SLOT, lens[i], &a->addr),
				 WG_DROP_REPLAY);
	}
	/* The newest again: a replay. */
	assert_int_equal(recv_data(b, keep, keep_len, &a->addr), WG_DROP_REPLAY);
	/* And the session carries on in order. */
	{
		uint8_t buf[2048];
		uint32_t len;

		assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 0, buf, &len),
				 WG_OK);
		assert_int_equal(counter_of(buf), top + 1);
		assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	}
	free(msgs);
	free(lens);
	unpair(a, b);
}

/* The counter limit end to end: counters at or past it are refused even when
 * authentic; the last valid one is accepted, and after it nothing more. */
static void test_e2e_counter_limit(void **state)
{
	struct node *a, *b;
	struct wg_peer *ab;
	struct wg_keypair *kp;
	uint8_t m1[2048], m2[2048], copy[2048], buf[2048];
	uint32_t l1, l2, len;

	(void)state;
	pair_up(&a, &b);
	ab = peer_of(a, b);
	kp = atomic_load(&ab->current);
	assert_non_null(kp);

	/* Authentic messages with counters at and past the limit: refused as
	 * replays, without harming the session. */
	len = forge(a, ab, WG_REJECT_AFTER_MESSAGES, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_REPLAY);
	len = forge(a, ab, UINT64_MAX, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_REPLAY);
	assert_int_equal(send_data(a, ab, "10.1.0.2", "10.2.0.2", 0, buf, &len), WG_OK);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);

	/* The sender's last two counters; it will not use the limit itself. */
	atomic_store(&kp->send_counter, WG_REJECT_AFTER_MESSAGES - 2);
	assert_int_equal(send_data(a, ab, "10.1.0.2", "10.2.0.2", 0, m1, &l1), WG_OK);
	assert_int_equal(send_data(a, ab, "10.1.0.2", "10.2.0.2", 0, m2, &l2), WG_OK);
	assert_int_equal(counter_of(m1), WG_REJECT_AFTER_MESSAGES - 2);
	assert_int_equal(counter_of(m2), WG_REJECT_AFTER_MESSAGES - 1);
	assert_int_equal(send_data(a, ab, "10.1.0.2", "10.2.0.2", 0, buf, &len), WG_DROP_NO_SESSION);

	assert_int_equal(recv_data(b, m1, l1, &a->addr), WG_OK);
	memcpy(copy, m2, l2);
	assert_int_equal(recv_data(b, m2, l2, &a->addr), WG_OK);
	/* After the last valid counter: nothing, not even an unseen counter well
	 * inside the window, nor the limit itself, nor a repeat. */
	len = forge(a, ab, WG_REJECT_AFTER_MESSAGES - 3, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_KEY_EXPIRED);
	len = forge(a, ab, WG_REJECT_AFTER_MESSAGES - 100, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_KEY_EXPIRED);
	len = forge(a, ab, WG_REJECT_AFTER_MESSAGES, buf);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_DROP_KEY_EXPIRED);
	assert_int_equal(recv_data(b, copy, l2, &a->addr), WG_DROP_KEY_EXPIRED);
	unpair(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order_once),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_big_jump),
		cmocka_unit_test(test_counter_limits),
		cmocka_unit_test(test_randomized),
		cmocka_unit_test(test_e2e_duplicate),
		cmocka_unit_test(test_e2e_reverse_order),
		cmocka_unit_test(test_e2e_counter_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
