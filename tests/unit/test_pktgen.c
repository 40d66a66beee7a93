// SPDX-License-Identifier: MIT
/*
 * perf/pktgen_lib.c, no ports: a built frame parses back to what went in;
 * every truncation of it, and every header length that claims more than is
 * there, is foreign, never read past (ASan would say); another run's frame
 * is foreign; the IMIX is 7:4:1 in every period; flows are distinct and
 * deterministic up to 1,000,000; percentiles of known samples stay within
 * the histogram's stated error; the window counts duplicates and
 * reordering and not loss.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pktgen.h"

#define RUN 0x5eed1234u

static const struct pg_tmpl tmpl = {
	.dst_mac = { 2, 0, 0, 0, 0, 1 },
	.src_mac = { 2, 0, 0, 0, 0, 2 },
	.src_ip = 0x0a010009,
	.dst_ip = 0x0a020009,
	.dst_port = 9,
	.ttl = 64,
	.run = RUN,
	.flows = 16,
};

static void frame_round_trip(void **state)
{
	uint8_t buf[2048];
	struct pg_rx_info info;

	(void)state;
	for (unsigned size = PG_SIZE_MIN; size <= PG_SIZE_MAX; size++) {
		size_t len = pg_frame_build(buf, sizeof(buf), &tmpl, size, 1000 + size, 77 * size);

		assert_int_equal(len, PG_ETH_LEN + size);
		buf[PG_ETH_LEN + 8] = 61; /* three routers on the way */
		assert_int_equal(pg_frame_parse(buf, len, RUN, &info), PG_OURS);
		assert_int_equal(info.seq, 1000 + size);
		assert_int_equal(info.tsc, 77 * size);
		assert_int_equal(info.ttl_sent, 64);
		assert_int_equal(info.ttl_now, 61);
		assert_int_equal(info.ip_len, size);
		/* A port may pad behind the IP packet. */
		assert_int_equal(pg_frame_parse(buf, len + 100, RUN, &info), PG_OURS);
	}
	assert_int_equal(pg_frame_build(buf, sizeof(buf), &tmpl, PG_SIZE_MIN - 1, 0, 0), 0);
	assert_int_equal(pg_frame_build(buf, sizeof(buf), &tmpl, PG_SIZE_MAX + 1, 0, 0), 0);
	assert_int_equal(pg_frame_build(buf, PG_ETH_LEN + 99, &tmpl, 100, 0, 0), 0);
}

/* Each length read from the frame, in a heap block of exactly the frame's
 * size so that a read past it is an ASan report. */
static enum pg_parse_result parse_exact(const uint8_t *frame, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct pg_rx_info info;
	enum pg_parse_result r;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	r = pg_frame_parse(copy, len, RUN, &info);
	free(copy);
	return r;
}

static void frame_bad_lengths(void **state)
{
	uint8_t buf[2048], bad[2048];
	size_t len = pg_frame_build(buf, sizeof(buf), &tmpl, 100, 5, 6);
	uint8_t *ip = bad + PG_ETH_LEN, *udp = ip + PG_IP_LEN;

	(void)state;
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(parse_exact(buf, cut), PG_OURS);

	/* IP total length past the frame, and under its own header. */
	memcpy(bad, buf, len);
	ip[2] = 0, ip[3] = 101;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	ip[2] = 0, ip[3] = 19;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	/* Header length under 20, and past the total length. */
	memcpy(bad, buf, len);
	ip[0] = 0x44;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	ip[0] = 0x4f, ip[2] = 0, ip[3] = 40;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	/* Header length 60 inside a total of 64: no room for UDP behind it. */
	ip[3] = 64;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	/* UDP length past the IP packet, under its own header, too short for
	 * our payload. */
	memcpy(bad, buf, len);
	udp[4] = 0, udp[5] = 81;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	udp[5] = 7;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_SHORT);
	udp[5] = PG_UDP_LEN + PG_PAYLOAD_LEN - 1;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_MAGIC);
	/* Not IPv4, not UDP, a fragment. */
	memcpy(bad, buf, len);
	bad[12] = 0x86, bad[13] = 0xdd;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_NOT_UDP4);
	memcpy(bad, buf, len);
	ip[0] = 0x65;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_NOT_UDP4);
	memcpy(bad, buf, len);
	ip[9] = 6;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_NOT_UDP4);
	memcpy(bad, buf, len);
	ip[6] = 0x20; /* more fragments */
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_NOT_UDP4);
	/* Someone else's UDP, and ours from another run. */
	memcpy(bad, buf, len);
	udp[PG_UDP_LEN] ^= 1;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_MAGIC);
	memcpy(bad, buf, len);
	udp[PG_UDP_LEN + 7] ^= 1;
	assert_int_equal(parse_exact(bad, len), PG_FOREIGN_MAGIC);
}

static void imix_mix(void **state)
{
	(void)state;
	for (unsigned start = 0; start < 3 * PG_IMIX_PERIOD; start++) {
		unsigned n64 = 0, n594 = 0, n1420 = 0;

		for (unsigned i = start; i < start + PG_IMIX_PERIOD; i++) {
			unsigned s = pg_packet_size(PG_SIZE_IMIX, i);

			n64 += s == 64, n594 += s == 594, n1420 += s == 1420;
		}
		assert_int_equal(n64, 7);
		assert_int_equal(n594, 4);
		assert_int_equal(n1420, 1);
	}
	assert_int_equal(pg_packet_size(200, 12345), 200);
}

static void flows_distinct(void **state)
{
	uint8_t *seen = calloc(PG_FLOWS_MAX, 1);
	uint32_t base = 0x0a010009, ip;
	uint16_t port;

	(void)state;
	assert_non_null(seen);
	for (uint64_t f = 0; f < PG_FLOWS_MAX; f++) {
		uint64_t key;

		pg_flow(base, f, &ip, &port);
		assert_true(port >= PG_SPORT_MIN);
		/* Back from (address, port) to the flow: one each. */
		key = (uint64_t)(ip - base) * PG_SPORTS + (port - PG_SPORT_MIN);
		assert_int_equal(key, f);
		assert_int_equal(seen[key], 0);
		seen[key] = 1;
	}
	free(seen);
	pg_flow(base, 0, &ip, &port);
	assert_int_equal(ip, base);
	assert_int_equal(port, PG_SPORT_MIN);
	/* 1,000,000 flows span 16 source addresses. */
	pg_flow(base, PG_FLOWS_MAX - 1, &ip, &port);
	assert_int_equal(ip, base + 15);
}

static void percentiles(void **state)
{
	struct pg_hist *h = calloc(1, sizeof(*h));
	uint64_t v;

	(void)state;
	assert_non_null(h);
	assert_int_equal(pg_hist_percentile(h, 0.5), 0);
	/* 1..100000: the sample of rank ceil(p n) is p n itself. */
	for (v = 1; v <= 100000; v++)
		pg_hist_add(h, v * 1000);
	assert_int_equal(h->min, 1000);
	assert_int_equal(h->max, 100000000);
	struct {
		double p;
		uint64_t exact;
	} want[] = { { 0.5, 50000000 }, { 0.99, 99000000 }, { 0.999, 99900000 }, { 1, 100000000 } };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t got = pg_hist_percentile(h, want[i].p);

		assert_true(got >= want[i].exact);
		assert_true(got - want[i].exact <= want[i].exact >> PG_HIST_SUB);
	}
	/* Small values are exact; one sample is every percentile. */
	memset(h, 0, sizeof(*h));
	pg_hist_add(h, 37);
	assert_int_equal(pg_hist_percentile(h, 0.5), 37);
	assert_int_equal(pg_hist_percentile(h, 0.999), 37);
	/* The top bucket holds the largest values without running over. */
	pg_hist_add(h, UINT64_MAX);
	assert_int_equal(pg_hist_percentile(h, 1), UINT64_MAX);
	free(h);
}

static void window_counts(void **state)
{
	struct pg_window *w = calloc(1, sizeof(*w));
	uint64_t order[] = { 0, 1, 2, 5, 3, 3, 4, 9, 9, 6 };

	(void)state;
	assert_non_null(w);
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		pg_window_add(w, order[i]);
	assert_int_equal(w->unique, 8);     /* 0 1 2 3 4 5 6 9: 7 and 8 lost */
	assert_int_equal(w->duplicates, 2); /* 3, 9 */
	assert_int_equal(w->reordered, 3);  /* 3 after 5, 4, 6 after 9 */

	/* A slot used again a window later is a new packet, not a duplicate. */
	memset(w, 0, sizeof(*w));
	for (uint64_t s = 0; s < 3ULL * PG_WINDOW; s += 7)
		assert_true(pg_window_add(w, s));
	assert_int_equal(w->duplicates, 0);
	assert_int_equal(w->reordered, 0);
	/* Behind the window: counted, reordered, not a duplicate. */
	assert_true(pg_window_add(w, 0));
	assert_int_equal(w->too_old, 1);
	/* A jump of more than the window forgets what was before it. */
	assert_true(pg_window_add(w, 100ULL * PG_WINDOW));
	assert_true(pg_window_add(w, 100ULL * PG_WINDOW - 7));
	assert_false(pg_window_add(w, 100ULL * PG_WINDOW - 7));
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_round_trip),
		cmocka_unit_test(frame_bad_lengths),
		cmocka_unit_test(imix_mix),
		cmocka_unit_test(flows_distinct),
		cmocka_unit_test(percentiles),
		cmocka_unit_test(window_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
