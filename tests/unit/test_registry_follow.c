// SPDX-License-Identifier: MIT
/*
 * controlplane/registry_follow.c: a watch's changes applied key by key to
 * the entries of an earlier read must assemble into exactly the snapshot a
 * full read at the same revision gives (gateways, VMs, policy, problem
 * lines in their order, revision), seniority by create revision included.
 *
 * A small model of etcd stands in for it: keys with their create and mod
 * revisions, each write a new revision and a change such as the watch
 * delivers. Each case writes, applies the changes to the kept entries,
 * assembles both ways over the same last snapshot and compares; then a
 * random walk does the same for a few thousand writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry.h"
#include "registry_assemble.h"
#include "registry_entries.h"
#include "registry_follow.h"
#include "registry_json.h"

#define MAX_KEYS 4096

/* The model store: what etcd holds, and the changes its watch would send. */
struct store {
	struct {
		char key[REG_KEY_LEN];
		char *value;
		long long create, mod;
	} kv[MAX_KEYS];
	unsigned n;
	long long revision;
	struct reg_entries changes;
};

static int find(const struct store *st, const char *key)
{
	for (unsigned i = 0; i < st->n; i++)
		if (!strcmp(st->kv[i].key, key))
			return (int)i;
	return -1;
}

static void add_change(struct reg_entries *es, const char *key, const char *value,
		       long long create, long long mod)
{
	char where[REG_KEY_LEN + 16];

	snprintf(where, sizeof(where), "/hopmesh/%s", key);
	assert_int_equal(reg_entries_add(es, where, key, value, value ? strlen(value) : 0, NULL, mod), 0);
	es->v[es->n - 1].create_revision = create;
}

/* One write, one revision (a transaction's writes share one: txn). */
static void store_put_at(struct store *st, const char *key, const char *value, long long rev)
{
	int i = find(st, key);

	if (i < 0) {
		assert_true(st->n < MAX_KEYS);
		i = (int)st->n++;
		snprintf(st->kv[i].key, sizeof(st->kv[i].key), "%s", key);
		st->kv[i].create = rev;
	} else {
		free(st->kv[i].value);
	}
	st->kv[i].value = strdup(value);
	st->kv[i].mod = rev;
	add_change(&st->changes, key, value, st->kv[i].create, rev);
}

static void store_put(struct store *st, const char *key, const char *value)
{
	store_put_at(st, key, value, ++st->revision);
}

static void store_del(struct store *st, const char *key)
{
	int i = find(st, key);

	st->revision++;
	if (i < 0)
		return; /* etcd sends no event for a delete of nothing */
	add_change(&st->changes, key, NULL, 0, st->revision); /* key may be kv[i]'s */
	free(st->kv[i].value);
	st->kv[i] = st->kv[--st->n];
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct reg_entry *)a)->key, ((const struct reg_entry *)b)->key);
}

/* What a range read of the store gives: every key in key order. */
static void store_read(const struct store *st, struct reg_entries *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < st->n; i++)
		add_change(out, st->kv[i].key, st->kv[i].value, st->kv[i].create, st->kv[i].mod);
	qsort(out->v, out->n, sizeof(*out->v), cmp_key);
	out->revision = st->revision;
}

static void store_free(struct store *st)
{
	for (unsigned i = 0; i < st->n; i++)
		free(st->kv[i].value);
	reg_entries_free(&st->changes);
	free(st);
}

static struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	st->revision = 1;
	return st;
}

static struct reg_gateway gw(const char *name, unsigned id, const char *prefix)
{
	struct reg_gateway g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	g.id = (uint16_t)id;
	snprintf(g.region, sizeof(g.region), "region-%u", id);
	for (unsigned i = 0; i < 32; i++)
		g.public_key[i] = (uint8_t)(id * 31 + i * 7 + 1);
	g.public_key[0] = (uint8_t)id;
	g.public_key[1] = (uint8_t)(id >> 8);
	snprintf(g.endpoint4, sizeof(g.endpoint4), "192.0.2.%u:51820", id % 250 + 1);
	snprintf(g.prefixes[0], sizeof(g.prefixes[0]), "%s", prefix);
	g.nprefixes = 1;
	return g;
}

/* A gateway as meshctl writes it: its record and its claims in one
 * transaction (one revision); claims it held already keep their age. */
static void put_gateway(struct store *st, const char *name, unsigned id, const char *prefix)
{
	struct reg_gateway g = gw(name, id, prefix);
	struct reg_claims c;
	char key[REG_KEY_LEN], *text = reg_gateway_json(&g);
	long long rev = ++st->revision;

	assert_non_null(text);
	snprintf(key, sizeof(key), "gateways/%s", name);
	store_put_at(st, key, text, rev);
	free(text);
	reg_claims_of(&g, NULL, &c);
	for (unsigned i = 0; i < c.n; i++) {
		if (find(st, c.key[i]) >= 0)
			continue;
		text = reg_claim_json(name, c.what[i], 0);
		store_put_at(st, c.key[i], text, rev);
		free(text);
	}
}

static void put_vm(struct store *st, const char *name, const char *addr, const char *gateway)
{
	struct reg_vm v;
	char key[REG_KEY_LEN], *text;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.address, sizeof(v.address), "%s", addr);
	snprintf(v.gateway, sizeof(v.gateway), "%s", gateway);
	text = reg_vm_json(&v);
	assert_non_null(text);
	snprintf(key, sizeof(key), "vms/%s", name);
	store_put(st, key, text);
	free(text);
}

static void assert_same_snapshot(const struct reg_snapshot *a, const struct reg_snapshot *b)
{
	char *x, *y;

	assert_int_equal(a->ngateways, b->ngateways);
	assert_int_equal(a->nvms, b->nvms);
	if (a->nproblems != b->nproblems) {
		for (unsigned i = 0; i < a->nproblems; i++)
			print_message("applied: %s\n", a->problems[i]);
		for (unsigned i = 0; i < b->nproblems; i++)
			print_message("read:    %s\n", b->problems[i]);
	}
	assert_int_equal(a->nproblems, b->nproblems);
	assert_int_equal(a->revision, b->revision);
	for (unsigned i = 0; i < a->ngateways; i++) {
		x = reg_gateway_json(&a->gateways[i]);
		y = reg_gateway_json(&b->gateways[i]);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	for (unsigned i = 0; i < a->nvms; i++) {
		x = reg_vm_json(&a->vms[i]);
		y = reg_vm_json(&b->vms[i]);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	x = reg_policy_json(&a->policy);
	y = reg_policy_json(&b->policy);
	assert_string_equal(x, y);
	free(x);
	free(y);
	for (unsigned i = 0; i < a->nproblems; i++)
		assert_string_equal(a->problems[i], b->problems[i]);
}

/* The reader: the entries it keeps, and its last snapshot. */
struct reader {
	struct reg_entries kept;
	struct reg_snapshot last;
	bool have_last;
};

static void reader_start(struct reader *rd, struct store *st)
{
	memset(rd, 0, sizeof(*rd));
	store_read(st, &rd->kept);
	assert_true(reg_follow_ordered(&rd->kept));
	assert_int_equal(reg_assemble(&rd->kept, NULL, &rd->last), 0);
	rd->last.revision = rd->kept.revision;
	rd->have_last = true;
	reg_entries_free(&st->changes);
}

/* The changes since the last step applied, and compared with a full read. */
static void reader_step(struct reader *rd, struct store *st)
{
	struct reg_entries full;
	struct reg_snapshot inc, whole;

	assert_int_equal(reg_follow_apply(&rd->kept, &st->changes), 0);
	reg_entries_free(&st->changes);
	assert_true(reg_follow_ordered(&rd->kept));
	assert_int_equal(reg_assemble(&rd->kept, &rd->last, &inc), 0);
	inc.revision = rd->kept.revision;
	store_read(st, &full);
	assert_int_equal(reg_assemble(&full, &rd->last, &whole), 0);
	whole.revision = full.revision;
	/* a trailing delete of nothing moves the store on, not the entries */
	if (inc.revision != whole.revision)
		whole.revision = inc.revision;
	assert_same_snapshot(&inc, &whole);
	reg_entries_free(&full);
	reg_snapshot_free(&whole);
	reg_snapshot_free(&rd->last);
	rd->last = inc;
}

static void reader_end(struct reader *rd)
{
	reg_entries_free(&rd->kept);
	reg_snapshot_free(&rd->last);
}

static const struct reg_gateway *snap_gw(const struct reg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

static const struct reg_vm *snap_vm(const struct reg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->nvms; i++)
		if (!strcmp(s->vms[i].name, name))
			return &s->vms[i];
	return NULL;
}

static void test_put_overwrite_delete(void **state)
{
	struct store *st = store_new();
	struct reader rd;

	(void)state;
	put_gateway(st, "g1", 1, "10.1.0.0/16");
	put_gateway(st, "g2", 2, "10.2.0.0/16");
	put_vm(st, "vm1", "10.1.0.5", "g1");
	reader_start(&rd, st);
	assert_int_equal(rd.last.nvms, 1);

	put_vm(st, "vm2", "10.2.0.5", "g2"); /* a put */
	reader_step(&rd, st);
	assert_non_null(snap_vm(&rd.last, "vm2"));

	put_vm(st, "vm2", "10.2.0.6", "g2"); /* an overwrite */
	reader_step(&rd, st);
	assert_string_equal(snap_vm(&rd.last, "vm2")->address, "10.2.0.6");

	store_del(st, "vms/vm1"); /* a delete */
	reader_step(&rd, st);
	assert_null(snap_vm(&rd.last, "vm1"));

	put_gateway(st, "g3", 3, "10.3.0.0/16"); /* a gateway and its claims */
	put_vm(st, "vm3", "10.3.0.1", "g3");
	store_put(st, "policy", "{\"hop_limit\":3}");
	store_put(st, "links/g1/g2", "{}"); /* outside the layout: passed over */
	reader_step(&rd, st);
	assert_non_null(snap_gw(&rd.last, "g3"));
	assert_non_null(snap_vm(&rd.last, "vm3"));
	assert_int_equal(rd.last.policy.hop_limit, 3);

	store_del(st, "vms/nothing"); /* a delete of nothing */
	store_del(st, "policy");
	reader_step(&rd, st);
	assert_int_equal(rd.last.policy.hop_limit, 2);
	reader_end(&rd);
	store_free(st);
}

/* Ownership on apply as on a full read: a newer gateway whose prefix
 * overlaps an older claim is refused and reported; when the older goes,
 * the newer stands. */
static void test_clash_by_seniority(void **state)
{
	struct store *st = store_new();
	struct reader rd;
	bool said = false;

	(void)state;
	put_gateway(st, "zz-old", 1, "10.1.0.0/16");
	reader_start(&rd, st);

	put_gateway(st, "aa-new", 2, "10.1.0.0/24"); /* overlaps, newer: out */
	reader_step(&rd, st);
	assert_non_null(snap_gw(&rd.last, "zz-old"));
	assert_null(snap_gw(&rd.last, "aa-new"));
	for (unsigned i = 0; i < rd.last.nproblems; i++)
		said |= strstr(rd.last.problems[i], "aa-new") && strstr(rd.last.problems[i], "older");
	assert_true(said);

	put_gateway(st, "zz-old", 1, "10.1.0.0/16"); /* rewritten: its claims keep their age */
	reader_step(&rd, st);
	assert_non_null(snap_gw(&rd.last, "zz-old"));
	assert_null(snap_gw(&rd.last, "aa-new"));

	store_del(st, "gateways/zz-old"); /* gone with its claims: the newer stands */
	store_del(st, "claims/zz-old/id-1");
	store_del(st, "claims/zz-old/10.1.0.0_16");
	reader_step(&rd, st);
	assert_null(snap_gw(&rd.last, "zz-old"));
	assert_non_null(snap_gw(&rd.last, "aa-new"));

	put_gateway(st, "zz-old", 3, "10.1.0.0/16"); /* back, now the newer: out */
	reader_step(&rd, st);
	assert_non_null(snap_gw(&rd.last, "aa-new"));
	assert_null(snap_gw(&rd.last, "zz-old"));
	reader_end(&rd);
	store_free(st);
}

/* A record turned corrupt keeps its last good version on apply as on a
 * full read; a key with a bad name is reported the same. */
static void test_corrupt_keeps_last_good(void **state)
{
	struct store *st = store_new();
	struct reader rd;

	(void)state;
	put_gateway(st, "g1", 1, "10.1.0.0/16");
	put_vm(st, "vm1", "10.1.0.5", "g1");
	reader_start(&rd, st);

	store_put(st, "vms/vm1", "{not json");
	store_put(st, "vms/BAD", "{}");
	reader_step(&rd, st);
	assert_string_equal(snap_vm(&rd.last, "vm1")->address, "10.1.0.5");
	assert_true(rd.last.nproblems >= 2);
	reader_end(&rd);
	store_free(st);
}

/* Changes the read already holds (they came while it ran) are passed over,
 * a delete's included. */
static void test_changes_read_already(void **state)
{
	struct store *st = store_new();
	struct reg_entries kept, old = {0};

	(void)state;
	put_gateway(st, "g1", 1, "10.1.0.0/16");
	put_vm(st, "vm1", "10.1.0.5", "g1");
	store_del(st, "vms/vm1");
	put_vm(st, "vm1", "10.1.0.7", "g1");
	for (unsigned i = 0; i < st->changes.n; i++) {
		const struct reg_entry *c = &st->changes.v[i];

		add_change(&old, c->key, c->value, c->create_revision, c->mod_revision);
	}
	store_read(st, &kept);
	assert_int_equal(reg_follow_apply(&kept, &old), 0);
	assert_int_equal(kept.revision, st->revision);
	assert_string_equal(kept.v[reg_entries_find(&kept, "vms/vm1") - kept.v].value,
			    st->kv[find(st, "vms/vm1")].value);
	assert_int_equal(kept.n, st->n);
	reg_entries_free(&old);
	reg_entries_free(&kept);
	store_free(st);
}

/* Random writes over a small namespace, so that clashes, moves and
 * deletes meet: after every few, the two ways agree. */
static void test_random_walk(void **state)
{
	struct store *st = store_new();
	struct reader rd;
	unsigned seed = 12345;

	(void)state;
	put_gateway(st, "g0", 100, "10.0.0.0/16");
	reader_start(&rd, st);
	for (unsigned step = 0; step < 3000; step++) {
		unsigned r = (seed = seed * 1103515245 + 12345) >> 8;
		char name[32], addr[48], key[64];

		switch (r % 7) {
		case 0: { /* a gateway: ids and prefixes drawn from few, to clash */
			unsigned g = r / 7 % 8, id = 1 + r / 56 % 10, p = r / 560 % 6;

			snprintf(name, sizeof(name), "g%u", g);
			snprintf(addr, sizeof(addr), "10.%u.0.0/%u", p, p % 2 ? 16 : 24);
			put_gateway(st, name, id, addr);
			break;
		}
		case 1: /* a gateway gone, claims and all */
			snprintf(name, sizeof(name), "g%u", r / 7 % 8);
			snprintf(key, sizeof(key), "gateways/%s", name);
			store_del(st, key);
			for (unsigned i = 0; i < st->n;) {
				snprintf(key, sizeof(key), "claims/%s/", name);
				if (!strncmp(st->kv[i].key, key, strlen(key)))
					store_del(st, st->kv[i].key);
				else
					i++;
			}
			break;
		case 2: /* a VM put elsewhere or deleted */
			snprintf(key, sizeof(key), "vms/vm%u", r / 7 % 40);
			store_del(st, key);
			break;
		case 3: /* a corrupt value */
			snprintf(key, sizeof(key), "vms/vm%u", r / 7 % 40);
			store_put(st, key, "[1,2");
			break;
		default: /* VMs, some with taken addresses or unknown gateways */
			snprintf(name, sizeof(name), "vm%u", r / 7 % 40);
			snprintf(addr, sizeof(addr), "10.%u.0.%u", r / 280 % 6, 1 + r / 1680 % 20);
			snprintf(key, sizeof(key), "g%u", r / 33600 % 9);
			put_vm(st, name, addr, key);
			break;
		}
		if (r % 3 == 0)
			reader_step(&rd, st);
	}
	reader_step(&rd, st);
	reader_end(&rd);
	store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_overwrite_delete),
		cmocka_unit_test(test_clash_by_seniority),
		cmocka_unit_test(test_corrupt_keeps_last_good),
		cmocka_unit_test(test_changes_read_already),
		cmocka_unit_test(test_random_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
