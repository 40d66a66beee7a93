// SPDX-License-Identifier: MIT
/*
 * controlplane/lsdb.c, the link-state database: a part replaced only by a
 * newer one (or once its lifetime is over), parts forgotten at the end of
 * their lifetime, an origin that sends fewer parts losing the older ones
 * beyond, links found in whichever part holds them, and nothing out of
 * range kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lsdb.h"

#define S 1000000000ULL

static struct lsdb db;

static int put(uint16_t origin, uint64_t seq, unsigned part, unsigned nparts, uint16_t first,
	       unsigned n, double rtt, uint64_t heard, uint64_t now)
{
	struct lsdb_link l[LSA_LINKS_MAX];

	for (unsigned i = 0; i < n; i++)
		l[i] = (struct lsdb_link){ .to = (uint16_t)(first + i), .up = true, .rtt_ms = rtt };
	return lsdb_put(&db, origin, seq, part, nparts, l, n, heard, 5 * S, now);
}

static double rtt_of(uint16_t from, uint16_t to)
{
	const struct lsdb_link *l = lsdb_find(&db, from, to, NULL);

	return l ? l->rtt_ms : -1;
}

static void newer_only(void **state)
{
	(void)state;
	lsdb_clear(&db);
	assert_int_equal(put(7, 100, 0, 1, 1, 3, 10, 0, 0), 1);
	assert_true(rtt_of(7, 2) == 10);
	/* reordered on the way: an older seq changes nothing, nor the same */
	assert_int_equal(put(7, 99, 0, 1, 1, 3, 20, S, S), 0);
	assert_int_equal(put(7, 100, 0, 1, 1, 3, 20, S, S), 0);
	assert_true(rtt_of(7, 2) == 10);
	assert_int_equal(put(7, 101, 0, 1, 1, 3, 30, S, S), 1);
	assert_true(rtt_of(7, 2) == 30);
	/* the kept part's lifetime over: an origin whose clock went back is
	 * heard again */
	assert_int_equal(put(7, 50, 0, 1, 1, 3, 40, 7 * S, 7 * S), 1);
	assert_true(rtt_of(7, 2) == 40);
	lsdb_clear(&db);
}

static void lifetime(void **state)
{
	bool gone[REG_MAX_GATEWAY_ID + 1] = { false };

	(void)state;
	lsdb_clear(&db);
	assert_int_equal(put(3, 1, 0, 1, 1, 2, 10, 0, 0), 1);
	assert_int_equal(put(4, 1, 0, 1, 1, 2, 10, 2 * S, 2 * S), 1);
	assert_int_equal(lsdb_expire(&db, 5 * S - 1, gone), 0);
	assert_int_equal(lsdb_expire(&db, 5 * S, gone), 1);
	assert_true(gone[3] && !gone[4]);
	assert_null(db.origin[3]);
	assert_true(rtt_of(3, 1) < 0);
	assert_true(rtt_of(4, 1) == 10);
	/* renewed in time: kept */
	assert_int_equal(put(4, 2, 0, 1, 1, 2, 11, 6 * S, 6 * S), 1);
	assert_int_equal(lsdb_expire(&db, 8 * S, NULL), 0);
	assert_true(rtt_of(4, 1) == 11);
	lsdb_clear(&db);
}

/* Expiry remembers the earliest end of a lifetime it saw, and a part put
 * since with an earlier one is still expired in time. */
static void expiry_remembered(void **state)
{
	bool gone[REG_MAX_GATEWAY_ID + 1] = { false };

	(void)state;
	lsdb_clear(&db);
	assert_int_equal(put(3, 1, 0, 1, 1, 2, 10, 4 * S, 4 * S), 1); /* ends at 9 s */
	assert_int_equal(lsdb_expire(&db, 4 * S, gone), 0);
	assert_true(db.expiry_known && db.next_expiry_ns == 9 * S);
	/* heard long ago (its age): it ends before the one held */
	assert_int_equal(put(5, 1, 0, 1, 1, 2, 10, 0, 4 * S), 1); /* ends at 5 s */
	assert_int_equal(db.next_expiry_ns, 5 * S);
	assert_int_equal(lsdb_expire(&db, 5 * S - 1, gone), 0);
	assert_int_equal(lsdb_expire(&db, 5 * S, gone), 1);
	assert_true(gone[5] && !gone[3]);
	assert_int_equal(db.next_expiry_ns, 9 * S);
	assert_int_equal(lsdb_expire(&db, 9 * S, gone), 1);
	assert_true(gone[3]);
	assert_null(db.origin[3]);
	/* nothing held: the next part put sets it again */
	assert_int_equal(put(6, 1, 0, 1, 1, 2, 10, 10 * S, 10 * S), 1);
	assert_int_equal(lsdb_expire(&db, 15 * S - 1, NULL), 0);
	assert_int_equal(lsdb_expire(&db, 15 * S, NULL), 1);
	lsdb_clear(&db);
	assert_false(db.expiry_known);
}

static void parts(void **state)
{
	(void)state;
	lsdb_clear(&db);
	/* 100 links in three parts: 1-48, 49-96, 97-100 */
	assert_int_equal(put(9, 10, 0, 3, 1, 48, 1, 0, 0), 1);
	assert_int_equal(put(9, 10, 1, 3, 49, 48, 2, 0, 0), 1);
	assert_int_equal(put(9, 10, 2, 3, 97, 4, 3, 0, 0), 1);
	assert_true(rtt_of(9, 1) == 1 && rtt_of(9, 48) == 1);
	assert_true(rtt_of(9, 49) == 2 && rtt_of(9, 96) == 2);
	assert_true(rtt_of(9, 100) == 3);
	assert_true(rtt_of(9, 101) < 0);
	/* now two parts: the third, older, goes */
	assert_int_equal(put(9, 11, 0, 2, 1, 48, 4, S, S), 1);
	assert_null(db.origin[9]->part[2]);
	assert_true(rtt_of(9, 100) < 0);
	assert_true(rtt_of(9, 49) == 2); /* part 1 waits for its own renewal */
	lsdb_clear(&db);
}

static void out_of_range(void **state)
{
	struct lsdb_link l = { .to = 1 };

	(void)state;
	lsdb_clear(&db);
	assert_int_equal(lsdb_put(&db, 0, 1, 0, 1, &l, 1, 0, S, 0), -1);
	assert_int_equal(lsdb_put(&db, REG_MAX_GATEWAY_ID + 1, 1, 0, 1, &l, 1, 0, S, 0), -1);
	assert_int_equal(lsdb_put(&db, 5, 1, 1, 1, &l, 1, 0, S, 0), -1);
	assert_int_equal(lsdb_put(&db, 5, 1, 0, LSA_PARTS_MAX + 1, &l, 1, 0, S, 0), -1);
	assert_int_equal(lsdb_put(&db, 5, 1, 0, 1, &l, LSA_LINKS_MAX + 1, 0, S, 0), -1);
	assert_null(db.origin[0]);
	assert_null(lsdb_find(&db, 0, 1, NULL));
	assert_null(lsdb_find(&db, REG_MAX_GATEWAY_ID + 1, 1, NULL));
	lsdb_clear(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(newer_only),
		cmocka_unit_test(lifetime),
		cmocka_unit_test(expiry_remembered),
		cmocka_unit_test(parts),
		cmocka_unit_test(out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
