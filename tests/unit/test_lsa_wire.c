// SPDX-License-Identifier: MIT
/*
 * common/lsa_wire.c: a part's form as the gateway checks it, its
 * hexadecimal both ways, and the reading of "lsa dump SINCE wire" that meshd
 * does by hand: every part of a well-shaped dump read, one whose bytes are
 * not a part skipped, and a reply off the shape stopped where it leaves it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <endian.h>

#include "lsa_wire.h"

/* A part of origin with links to first, first + 1, ...; its length. */
static size_t part(uint8_t *p, uint16_t origin, unsigned nlinks, uint16_t first)
{
	struct lsa_hdr h = {
		.magic = htobe32(LSA_MAGIC), .version = LSA_VERSION, .nparts = 1, .nlinks = (uint8_t)nlinks,
		.origin = htobe16(origin), .lifetime_s = htobe16(5), .seq = htobe64(42),
	};

	memcpy(p, &h, sizeof(h));
	for (unsigned i = 0; i < nlinks; i++) {
		struct lsa_link l = { .to = htobe16((uint16_t)(first + i)), .flags = LSA_LINK_UP,
				      .rtt_us = htobe32(1000 + i) };

		memcpy(p + sizeof(h) + i * sizeof(l), &l, sizeof(l));
	}
	return sizeof(h) + nlinks * sizeof(struct lsa_link);
}

static void form(void **state)
{
	uint8_t p[LSA_BYTES_MAX + 8];
	struct lsa_hdr *h = (struct lsa_hdr *)p;
	size_t n;

	(void)state;
	n = part(p, 7, 3, 1);
	assert_true(lsa_part_well_formed(p, n));
	assert_false(lsa_part_well_formed(p, n - 1));
	assert_false(lsa_part_well_formed(p, n + 1));
	assert_false(lsa_part_well_formed(p, 10));
	n = part(p, 2, 3, 1); /* a link to itself */
	assert_false(lsa_part_well_formed(p, n));
	n = part(p, 7, LSA_LINKS_MAX, 100);
	assert_true(lsa_part_well_formed(p, n));
	h->nlinks = LSA_LINKS_MAX + 1;
	assert_false(lsa_part_well_formed(p, n + sizeof(struct lsa_link)));
	n = part(p, 7, 1, 1);
	h->part = 1; /* part 1 of 1 */
	assert_false(lsa_part_well_formed(p, n));
	n = part(p, LSA_GATEWAY_ID_MAX + 1, 1, 1);
	assert_false(lsa_part_well_formed(p, n));
}

static void hex(void **state)
{
	uint8_t p[LSA_BYTES_MAX], back[LSA_BYTES_MAX];
	char h[2 * LSA_BYTES_MAX + 1], err[128];
	size_t n = part(p, 7, LSA_LINKS_MAX, 100), len = 0;

	(void)state;
	lsa_part_to_hex(p, n, h);
	assert_int_equal(strlen(h), 2 * n);
	assert_true(lsa_part_read_hex(h, 2 * n, back, &len));
	assert_int_equal(len, n);
	assert_memory_equal(back, p, n);
	assert_true(lsa_part_from_hex(h, 7, back, &len, err, sizeof(err)));
	assert_false(lsa_part_from_hex(h, 8, back, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "origin is not this gateway"));
	assert_false(lsa_part_read_hex(h, 2 * n - 1, back, &len));
	assert_false(lsa_part_read_hex(h, 2 * n - 2, back, &len));
	h[9] = 'x';
	assert_false(lsa_part_read_hex(h, 2 * n, back, &len));
	assert_false(lsa_part_from_hex(h, 7, back, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "not hexadecimal"));
	assert_false(lsa_part_read_hex(NULL, 0, back, &len));
	/* Longer than any part: refused before a byte is written. */
	memset(h, 'a', sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	assert_false(lsa_part_read_hex(h, sizeof(h) - 1, back, &len));
}

/* A dump of the given parts (NULL: a part's bytes that are not one). */
static void dump(char *out, size_t outlen, uint64_t seq, unsigned nparts)
{
	uint8_t p[LSA_BYTES_MAX];
	char h[2 * LSA_BYTES_MAX + 1];
	size_t at = (size_t)snprintf(out, outlen, "{\"seq\":%llu,\"lsas\":[", (unsigned long long)seq);

	for (unsigned i = 0; i < nparts; i++) {
		lsa_part_to_hex(p, part(p, (uint16_t)(10 + i), 2, 1), h);
		at += (size_t)snprintf(out + at, outlen - at, "%s{\"age_ms\":%u,\"wire\":\"%s\"}", i ? "," : "",
				       100 * i, h);
	}
	snprintf(out + at, outlen - at, "]}");
}

static int read_all(const char *reply, uint64_t *seq, unsigned *parts, unsigned *skipped)
{
	struct lsa_dump_reader r;
	uint8_t buf[LSA_BYTES_MAX];
	uint64_t age;
	size_t len;
	int more;

	*parts = *skipped = 0;
	if (!lsa_dump_begin(&r, reply, seq))
		return -2;
	while ((more = lsa_dump_next(&r, &age, buf, &len)) > 0) {
		if (more == 2) {
			(*skipped)++;
			continue;
		}
		assert_int_equal(age, 100 * (*parts + *skipped));
		assert_int_equal(be16toh(((struct lsa_hdr *)buf)->origin), 10 + *parts + *skipped);
		assert_int_equal(len, sizeof(struct lsa_hdr) + 2 * sizeof(struct lsa_link));
		(*parts)++;
	}
	return more;
}

static void dump_reader(void **state)
{
	static char reply[16384], bad[16384];
	unsigned parts, skipped;
	uint64_t seq = 0;
	char *at;

	(void)state;
	dump(reply, sizeof(reply), 77, 3);
	assert_int_equal(read_all(reply, &seq, &parts, &skipped), 0);
	assert_int_equal(seq, 77);
	assert_int_equal(parts, 3);
	strcat(reply, "\n");
	assert_int_equal(read_all(reply, &seq, &parts, &skipped), 0);
	dump(reply, sizeof(reply), 5, 0);
	assert_int_equal(read_all(reply, &seq, &parts, &skipped), 0);
	assert_int_equal(parts, 0);

	/* A part whose bytes are not one: skipped, the rest read. */
	dump(reply, sizeof(reply), 77, 3);
	strcpy(bad, reply);
	at = strstr(bad, "\"wire\":\"") + 8;
	memcpy(at, "00", 2); /* the magic's first byte */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), 0);
	assert_int_equal(skipped, 1);

	/* Off the shape: what came before is read, nothing after. */
	strcpy(bad, reply);
	strcpy(strstr(bad, "]}"), "]"); /* cut short */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), -1);
	assert_int_equal(parts, 3);
	strcpy(bad, reply);
	strcat(bad, "x"); /* something after */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), -1);
	strcpy(bad, reply);
	*strstr(bad, "},{") = ';'; /* no separator */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), -1);
	assert_int_equal(parts, 0);
	strcpy(bad, reply);
	at = strstr(bad, "\"age_ms\":100");
	at[9] = '-'; /* a negative age */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), -1);
	assert_int_equal(parts, 1);
	strcpy(bad, reply);
	*strrchr(bad, '"') = '\0'; /* the string never closes */
	assert_int_equal(read_all(bad, &seq, &parts, &skipped), -1);
	assert_int_equal(read_all("{\"seq\":-1,\"lsas\":[]}", &seq, &parts, &skipped), -2);
	assert_int_equal(read_all("{\"seq\":99999999999999999999999,\"lsas\":[]}", &seq, &parts, &skipped), -2);
	assert_int_equal(read_all("{\"error\":\"usage\"}", &seq, &parts, &skipped), -2);
	assert_int_equal(read_all("", &seq, &parts, &skipped), -2);
	assert_int_equal(read_all(NULL, &seq, &parts, &skipped), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(form),
		cmocka_unit_test(hex),
		cmocka_unit_test(dump_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
