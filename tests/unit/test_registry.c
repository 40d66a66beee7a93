// SPDX-License-Identifier: MIT
/*
 * The service registry (controlplane/registry.h) on its embedded back end, in
 * a temp dir, no root: put/load/del of every record type, the validation
 * rules one by one with good and bad inputs, checks across records, corrupt
 * files written directly (skipped and reported while everything else loads),
 * an earlier version's link files left alone, concurrent writers in several
 * processes, and the inotify watch fd; and the base64 codec (registry_codec.h), against the decoder it
 * replaced. The etcd back end is tested against a real etcd by
 * tests/netns/registry_etcd.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "registry.h"
#include "registry_codec.h"
#include "registry_json.h"

static char tmpdir[64];
static char url[128];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hopmesh-reg-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(url, sizeof(url), "dir:%s/reg", tmpdir);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct registry *open_reg(void)
{
	char err[256] = "";
	struct registry *r = registry_open(url, NULL, err, sizeof(err));

	if (!r)
		fail_msg("registry_open(%s): %s", url, err);
	return r;
}

/* Writes DIR/reg/rel by hand, making the folders on the way. */
static void write_file(const char *rel, const char *text)
{
	char path[1024], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/reg/%s", tmpdir, rel);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int unlink_rel(const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/reg/%s", tmpdir, rel);
	return unlink(path);
}

static bool exists(const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/reg/%s", tmpdir, rel);
	return stat(path, &st) == 0;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void key_of(uint8_t key[32], unsigned seed)
{
	unsigned i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(seed * 31 + i * 7 + 1);
	/* one key per seed: the registry refuses a key two gateways share */
	key[0] = (uint8_t)seed;
	key[1] = (uint8_t)(seed >> 8);
}

static struct reg_gateway gw(const char *name, unsigned id, const char *prefix)
{
	struct reg_gateway g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	g.id = (uint16_t)id;
	snprintf(g.region, sizeof(g.region), "region-%u", id);
	key_of(g.public_key, id);
	snprintf(g.endpoint4, sizeof(g.endpoint4), "192.0.2.%u:51820", id % 250 + 1);
	if (prefix) {
		snprintf(g.prefixes[0], sizeof(g.prefixes[0]), "%s", prefix);
		g.nprefixes = 1;
	}
	return g;
}

static struct reg_vm vm(const char *name, const char *addr, const char *gateway)
{
	struct reg_vm v;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.address, sizeof(v.address), "%s", addr);
	snprintf(v.gateway, sizeof(v.gateway), "%s", gateway);
	return v;
}

#define PUT_OK(call)                                                                           \
	do {                                                                                   \
		char e_[512] = "";                                                             \
		if ((call) != 0)                                                               \
			fail_msg("%s failed: %s (line %d)", #call, e_, __LINE__);              \
	} while (0)
#define ERRBUF e_, sizeof(e_)

/* A write that must be refused, with an error naming `expect`. */
#define PUT_FAIL(call, expect)                                                                 \
	do {                                                                                   \
		char e_[512] = "";                                                             \
		if ((call) == 0)                                                               \
			fail_msg("%s succeeded, expected refusal (line %d)", #call, __LINE__); \
		if (!strstr(e_, (expect)))                                                     \
			fail_msg("%s: error '%s' does not mention '%s' (line %d)", #call, e_,  \
				 (expect), __LINE__);                                          \
	} while (0)

static void load_ok(struct registry *r, struct reg_snapshot *s)
{
	char err[256] = "";

	if (registry_load(r, s, err, sizeof(err)) != 0)
		fail_msg("registry_load: %s", err);
}

static void load_over_ok(struct registry *r, const struct reg_snapshot *last, struct reg_snapshot *s)
{
	char err[256] = "";

	if (registry_load_over(r, last, s, err, sizeof(err)) != 0)
		fail_msg("registry_load_over: %s", err);
}

static void assert_no_problems(const struct reg_snapshot *s)
{
	unsigned i;

	for (i = 0; i < s->nproblems; i++)
		print_message("unexpected problem: %s\n", s->problems[i]);
	assert_int_equal(s->nproblems, 0);
}

static const struct reg_gateway *find_gw(const struct reg_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

static const struct reg_vm *find_vm(const struct reg_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->nvms; i++)
		if (!strcmp(s->vms[i].name, name))
			return &s->vms[i];
	return NULL;
}

/* The one problem line that mentions what, or a failure. */
static const char *problem_with(const struct reg_snapshot *s, const char *what)
{
	const char *found = NULL;
	unsigned i;

	for (i = 0; i < s->nproblems; i++) {
		if (strstr(s->problems[i], what)) {
			if (found)
				fail_msg("two problems mention '%s'", what);
			found = s->problems[i];
		}
	}
	if (!found) {
		for (i = 0; i < s->nproblems; i++)
			print_message("problem: %s\n", s->problems[i]);
		fail_msg("no problem mentions '%s'", what);
	}
	return found;
}

/* ---- put, load, del of every record type ---- */

static void test_roundtrip(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16"), g2 = gw("us-1", 2, "10.2.0.0/16");
	struct reg_vm v = vm("web-1.eu", "10.1.2.3", "eu-1");
	struct reg_policy p = {.hop_limit = 3, .residency = true, .loss_penalty_ms = 250.5};
	struct reg_snapshot s;

	(void)state;
	snprintf(g.zone, sizeof(g.zone), "eu");
	snprintf(g.endpoint6, sizeof(g.endpoint6), "[2001:db8::1]:51820");
	snprintf(g.overlay4, sizeof(g.overlay4), "10.1.0.1");
	snprintf(g.overlay6, sizeof(g.overlay6), "fd00:1::1");
	snprintf(g.prefixes[1], sizeof(g.prefixes[1]), "fd00:1::/48");
	g.nprefixes = 2;

	/* empty registry: defaults */
	load_ok(r, &s);
	assert_int_equal(s.ngateways + s.nvms, 0);
	assert_int_equal(s.policy.hop_limit, 2);
	assert_false(s.policy.residency);
	assert_true(s.policy.loss_penalty_ms == 1000);
	assert_no_problems(&s);
	reg_snapshot_free(&s);

	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	PUT_OK(registry_put_gateway(r, &g2, ERRBUF));
	PUT_OK(registry_put_vm(r, &v, ERRBUF));
	PUT_OK(registry_put_policy(r, &p, ERRBUF));

	load_ok(r, &s);
	assert_no_problems(&s);
	assert_int_equal(s.ngateways, 2);
	assert_string_equal(s.gateways[0].name, "eu-1"); /* sorted by name */
	assert_memory_equal(&s.gateways[0], &g, sizeof(g));
	assert_memory_equal(&s.gateways[1], &g2, sizeof(g2));
	assert_int_equal(s.nvms, 1);
	assert_memory_equal(&s.vms[0], &v, sizeof(v));
	assert_int_equal(s.policy.hop_limit, 3);
	assert_true(s.policy.residency);
	assert_true(s.policy.loss_penalty_ms == 250.5);
	reg_snapshot_free(&s);

	/* replace, then delete */
	snprintf(g2.region, sizeof(g2.region), "us-east");
	PUT_OK(registry_put_gateway(r, &g2, ERRBUF));
	PUT_FAIL(registry_del_gateway(r, "eu-1", ERRBUF), "delete them first");
	PUT_OK(registry_del_vm(r, "web-1.eu", ERRBUF));
	PUT_FAIL(registry_del_vm(r, "web-1.eu", ERRBUF), "not found");
	PUT_OK(registry_del_gateway(r, "eu-1", ERRBUF));
	PUT_FAIL(registry_del_gateway(r, "eu-1", ERRBUF), "not found");
	PUT_FAIL(registry_del_gateway(r, "../etc", ERRBUF), "not valid");
	PUT_FAIL(registry_del_vm(r, ".hidden", ERRBUF), "not valid");

	load_ok(r, &s);
	assert_no_problems(&s);
	assert_int_equal(s.ngateways, 1);
	assert_string_equal(s.gateways[0].region, "us-east");
	assert_int_equal(s.nvms, 0);
	reg_snapshot_free(&s);
	registry_close(r);
}

static void test_json_format(void **state)
{
	struct reg_gateway g = gw("eu-1", 7, "10.1.0.0/16");
	struct reg_vm v = vm("db.eu", "fd00::5", "eu-1");
	struct reg_policy p;
	char *j;

	(void)state;
	memset(g.public_key, 0, 32);
	g.public_key[31] = 1;
	snprintf(g.zone, sizeof(g.zone), "eu");
	j = reg_gateway_json(&g);
	assert_string_equal(j, "{\"name\":\"eu-1\",\"id\":7,\"region\":\"region-7\",\"zone\":\"eu\","
			       "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\","
			       "\"endpoint4\":\"192.0.2.8:51820\",\"endpoint6\":\"\",\"overlay4\":\"\","
			       "\"overlay6\":\"\",\"prefixes\":[\"10.1.0.0/16\"]}");
	free(j);
	j = reg_vm_json(&v);
	assert_string_equal(j, "{\"name\":\"db.eu\",\"address\":\"fd00::5\",\"gateway\":\"eu-1\"}");
	free(j);
	reg_policy_default(&p);
	j = reg_policy_json(&p);
	assert_string_equal(j, "{\"hop_limit\":2,\"residency\":false,\"loss_penalty_ms\":1000.0}");
	free(j);
}

/* ---- validation ---- */

#define GOOD_GW(mut)                                                                           \
	do {                                                                                   \
		struct reg_gateway g_ = gw("eu-1", 1, "10.1.0.0/16");                           \
		char why_[256] = "";                                                           \
		mut;                                                                           \
		if (!reg_gateway_check(&g_, why_, sizeof(why_)))                               \
			fail_msg("%s refused: %s (line %d)", #mut, why_, __LINE__);            \
	} while (0)
#define BAD_GW(mut, expect)                                                                    \
	do {                                                                                   \
		struct reg_gateway g_ = gw("eu-1", 1, "10.1.0.0/16");                           \
		char why_[256] = "";                                                           \
		mut;                                                                           \
		if (reg_gateway_check(&g_, why_, sizeof(why_)))                                \
			fail_msg("%s accepted (line %d)", #mut, __LINE__);                     \
		if (!strstr(why_, (expect)))                                                   \
			fail_msg("%s: '%s' does not mention '%s'", #mut, why_, (expect));      \
	} while (0)
#define SET(field, val) snprintf(g_.field, sizeof(g_.field), "%s", (val))

static void test_gateway_check(void **state)
{
	(void)state;
	GOOD_GW((void)0);
	/* names */
	GOOD_GW(SET(name, "a"));
	GOOD_GW(SET(name, "0123456789-abcdefghijklmnopqrst")); /* 31 */
	BAD_GW(SET(name, ""), "gateway name");
	BAD_GW(SET(name, "EU-1"), "gateway name");
	BAD_GW(SET(name, "eu_1"), "gateway name");
	BAD_GW(SET(name, "eu.1"), "gateway name");
	BAD_GW(SET(name, "eu/1"), "gateway name");
	BAD_GW(memset(g_.name, 'a', sizeof(g_.name)), "too long");
	/* id */
	GOOD_GW(g_.id = 4095);
	BAD_GW(g_.id = 0, "id 0");
	BAD_GW(g_.id = 4096, "id 4096");
	/* region, zone */
	BAD_GW(SET(region, ""), "region");
	BAD_GW(SET(region, "Eu West"), "region");
	GOOD_GW(SET(zone, "eu-gdpr"));
	BAD_GW(SET(zone, "EU"), "zone");
	/* key */
	BAD_GW(memset(g_.public_key, 0, 32), "all zeros");
	/* endpoints */
	BAD_GW((SET(endpoint4, ""), SET(endpoint6, "")), "no endpoint");
	GOOD_GW((SET(endpoint4, ""), SET(endpoint6, "[2001:db8::1]:51820")));
	GOOD_GW(SET(endpoint4, "198.51.100.7:1"));
	GOOD_GW(SET(endpoint4, "198.51.100.7:65535"));
	BAD_GW(SET(endpoint4, "198.51.100.7"), "endpoint");
	BAD_GW(SET(endpoint4, "198.51.100.7:0"), "endpoint");
	BAD_GW(SET(endpoint4, "198.51.100.7:65536"), "endpoint");
	BAD_GW(SET(endpoint4, "198.51.100.7:051820"), "endpoint");
	BAD_GW(SET(endpoint4, "198.51.100.7:+5"), "endpoint");
	BAD_GW(SET(endpoint4, "256.1.1.1:5"), "endpoint");
	BAD_GW(SET(endpoint4, "gw.example.com:5"), "endpoint");
	BAD_GW(SET(endpoint4, "[2001:db8::1]:5"), "endpoint");
	BAD_GW(SET(endpoint6, "2001:db8::1:51820"), "endpoint");
	BAD_GW(SET(endpoint6, "[1.2.3.4]:51820"), "endpoint");
	BAD_GW(SET(endpoint6, "[2001:db8::1]"), "endpoint");
	BAD_GW(SET(endpoint6, "[fe80::1%eth0]:51820"), "endpoint");
	/* overlay addresses */
	GOOD_GW((SET(overlay4, "10.1.0.1"), SET(overlay6, "fd00::1")));
	BAD_GW(SET(overlay4, "10.1.0.1/16"), "overlay4");
	BAD_GW(SET(overlay4, "fd00::1"), "overlay4");
	BAD_GW(SET(overlay6, "10.1.0.1"), "overlay6");
	BAD_GW(SET(overlay6, "fd00::g"), "overlay6");
	/* prefixes */
	GOOD_GW(g_.nprefixes = 0);
	GOOD_GW(SET(prefixes[0], "10.1.2.3/32"));
	GOOD_GW(SET(prefixes[0], "2001:db8::/32"));
	GOOD_GW(SET(prefixes[0], "0.0.0.0/0"));
	GOOD_GW((SET(prefixes[1], "fd00:1::/48"), g_.nprefixes = 2));
	BAD_GW(SET(prefixes[0], "10.1.0.1/16"), "host bits");
	BAD_GW(SET(prefixes[0], "2001:db8::1/32"), "host bits");
	BAD_GW(SET(prefixes[0], "10.1.0.0/33"), "length");
	BAD_GW(SET(prefixes[0], "10.1.0.0/016"), "length");
	BAD_GW(SET(prefixes[0], "10.1.0.0/"), "length");
	BAD_GW(SET(prefixes[0], "2001:db8::/129"), "length");
	BAD_GW(SET(prefixes[0], "10.1.0.0"), "ADDRESS/LENGTH");
	BAD_GW(SET(prefixes[0], "10.1.0/24"), "bad address");
	BAD_GW((SET(prefixes[1], "10.1.128.0/17"), g_.nprefixes = 2), "overlap");
	BAD_GW(g_.nprefixes = REG_MAX_PREFIXES + 1, "at most");
}

static void test_other_checks(void **state)
{
	struct reg_vm v;
	struct reg_policy p;
	char why[256];

	(void)state;
	v = vm("web-1.eu.example", "10.1.2.3", "eu-1");
	assert_true(reg_vm_check(&v, why, sizeof(why)));
	v = vm("web", "2001:db8::7", "eu-1");
	assert_true(reg_vm_check(&v, why, sizeof(why)));
	v = vm("", "10.1.2.3", "eu-1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm(".web", "10.1.2.3", "eu-1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm("Web", "10.1.2.3", "eu-1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm("web", "10.1.2.0/24", "eu-1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	assert_non_null(strstr(why, "address"));
	v = vm("web", "10.1.2.256", "eu-1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm("web", "10.1.2.3", "eu.1");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm("web", "10.1.2.3", "");
	assert_false(reg_vm_check(&v, why, sizeof(why)));
	v = vm("web", "10.1.2.3", "eu-1");
	memset(v.name, 'a', 63);
	v.name[63] = '\0';
	assert_true(reg_vm_check(&v, why, sizeof(why)));
	memset(v.name, 'a', sizeof(v.name));
	assert_false(reg_vm_check(&v, why, sizeof(why)));

	reg_policy_default(&p);
	assert_true(reg_policy_check(&p, why, sizeof(why)));
	p.hop_limit = 1;
	assert_true(reg_policy_check(&p, why, sizeof(why)));
	p.hop_limit = 8;
	assert_true(reg_policy_check(&p, why, sizeof(why)));
	p.hop_limit = 0;
	assert_false(reg_policy_check(&p, why, sizeof(why)));
	assert_non_null(strstr(why, "hop_limit"));
	p.hop_limit = 9;
	assert_false(reg_policy_check(&p, why, sizeof(why)));
	p.hop_limit = 2;
	p.loss_penalty_ms = 0;
	assert_true(reg_policy_check(&p, why, sizeof(why)));
	p.loss_penalty_ms = -1;
	assert_false(reg_policy_check(&p, why, sizeof(why)));
	assert_non_null(strstr(why, "loss_penalty_ms"));
	p.loss_penalty_ms = NAN;
	assert_false(reg_policy_check(&p, why, sizeof(why)));
}

static void test_fits(void **state)
{
	struct reg_gateway gws[2] = {gw("eu-1", 1, "10.1.0.0/16"), gw("us-1", 2, "fd00:2::/48")};
	struct reg_vm vms[1] = {vm("web", "10.1.2.3", "eu-1")};
	struct reg_snapshot s = {.gateways = gws, .ngateways = 2, .vms = vms, .nvms = 1};
	struct reg_gateway g;
	struct reg_vm v;
	char why[256];

	(void)state;
	g = gw("ap-1", 3, "10.3.0.0/16");
	assert_true(reg_gateway_fits(&s, &g, why, sizeof(why)));
	g = gw("ap-1", 1, "10.3.0.0/16");
	assert_false(reg_gateway_fits(&s, &g, why, sizeof(why)));
	assert_non_null(strstr(why, "id 1"));
	g = gw("ap-1", 3, "10.0.0.0/8");
	assert_false(reg_gateway_fits(&s, &g, why, sizeof(why)));
	assert_non_null(strstr(why, "overlaps gateway eu-1"));
	g = gw("ap-1", 3, "10.1.7.0/24");
	assert_false(reg_gateway_fits(&s, &g, why, sizeof(why)));
	g = gw("ap-1", 3, "fd00:2:0:1::/64");
	assert_false(reg_gateway_fits(&s, &g, why, sizeof(why)));
	assert_non_null(strstr(why, "us-1"));
	g = gw("ap-1", 3, "fd00:3::/48");
	assert_true(reg_gateway_fits(&s, &g, why, sizeof(why)));
	/* replacing a gateway by name is not a clash with itself ... */
	g = gw("eu-1", 1, "10.1.0.0/17");
	assert_true(reg_gateway_fits(&s, &g, why, sizeof(why)));
	/* ... but must keep its VMs inside */
	g = gw("eu-1", 1, "10.1.128.0/17");
	assert_false(reg_gateway_fits(&s, &g, why, sizeof(why)));
	assert_non_null(strstr(why, "vm web"));

	v = vm("db", "10.1.9.9", "eu-1");
	assert_true(reg_vm_fits(&s, &v, why, sizeof(why)));
	v = vm("db", "10.1.9.9", "ap-1");
	assert_false(reg_vm_fits(&s, &v, why, sizeof(why)));
	assert_non_null(strstr(why, "unknown gateway"));
	v = vm("db", "10.2.9.9", "eu-1");
	assert_false(reg_vm_fits(&s, &v, why, sizeof(why)));
	assert_non_null(strstr(why, "outside"));
	v = vm("db", "fd00:2::9", "eu-1");
	assert_false(reg_vm_fits(&s, &v, why, sizeof(why)));
	v = vm("db", "fd00:2::9", "us-1");
	assert_true(reg_vm_fits(&s, &v, why, sizeof(why)));
	v = vm("db", "10.1.2.3", "eu-1");
	assert_false(reg_vm_fits(&s, &v, why, sizeof(why)));
	assert_non_null(strstr(why, "already vm web"));
	v = vm("web", "10.1.2.3", "eu-1"); /* itself, again */
	assert_true(reg_vm_fits(&s, &v, why, sizeof(why)));
}

static void test_writes_refused(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16"), bad;
	struct reg_vm v;
	struct reg_policy p;
	struct reg_snapshot s;

	(void)state;
	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	bad = gw("us-1", 1, "10.2.0.0/16");
	PUT_FAIL(registry_put_gateway(r, &bad, ERRBUF), "already gateway eu-1");
	bad = gw("us-1", 2, "10.1.128.0/24");
	PUT_FAIL(registry_put_gateway(r, &bad, ERRBUF), "overlaps gateway eu-1");
	bad = gw("us-1", 2, "10.1.0.1/24");
	PUT_FAIL(registry_put_gateway(r, &bad, ERRBUF), "host bits");
	bad = gw("us-1", 2, "10.2.0.0/16");
	memset(bad.public_key, 0, 32);
	PUT_FAIL(registry_put_gateway(r, &bad, ERRBUF), "public key");
	v = vm("web", "10.1.0.5", "nowhere");
	PUT_FAIL(registry_put_vm(r, &v, ERRBUF), "unknown gateway");
	v = vm("web", "10.9.0.5", "eu-1");
	PUT_FAIL(registry_put_vm(r, &v, ERRBUF), "outside");
	v = vm("web", "10.1.0.5", "eu-1");
	PUT_OK(registry_put_vm(r, &v, ERRBUF));
	v = vm("web2", "10.1.0.5", "eu-1");
	PUT_FAIL(registry_put_vm(r, &v, ERRBUF), "already vm web");
	{
		/* one public key, two gateways: refused */
		struct reg_gateway twin = gw("twin", 40, "10.40.0.0/16");

		memcpy(twin.public_key, g.public_key, sizeof(twin.public_key));
		PUT_FAIL(registry_put_gateway(r, &twin, ERRBUF), "public key is already gateway");
	}
	g.nprefixes = 0;
	PUT_FAIL(registry_put_gateway(r, &g, ERRBUF), "outside its prefixes");
	reg_policy_default(&p);
	p.hop_limit = 9;
	PUT_FAIL(registry_put_policy(r, &p, ERRBUF), "hop_limit");
	load_ok(r, &s);
	assert_no_problems(&s);
	assert_int_equal(s.ngateways, 1);
	assert_int_equal(s.gateways[0].nprefixes, 1);
	assert_int_equal(s.nvms, 1);
	reg_snapshot_free(&s);
	registry_close(r);
}

static void test_open_errors(void **state)
{
	char err[256];

	(void)state;
	assert_null(registry_open("ftp://x", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "dir:PATH"));
	assert_null(registry_open("dir:", NULL, err, sizeof(err)));
	assert_null(registry_open("etcd:", NULL, err, sizeof(err)));
	assert_null(registry_open("etcd:ftp://127.0.0.1:1", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "http"));
	assert_null(registry_open("dir:/proc/nope/reg", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/nope"));
}

/* An etcd that is not there: an error quickly, not a hang or a crash. */
static void test_etcd_unreachable(void **state)
{
	struct reg_options o = {.timeout_ms = 500};
	struct reg_snapshot s;
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	char err[512];
	struct registry *r = registry_open("etcd:http://127.0.0.1:1,127.0.0.1:2", &o, err,
					   sizeof(err));

	(void)state;
	assert_non_null(r);
	assert_int_equal(registry_load(r, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unreachable"));
	assert_non_null(strstr(err, "2 endpoints"));
	reg_snapshot_free(&s);
	assert_int_equal(registry_put_gateway(r, &g, err, sizeof(err)), -1);
	registry_close(r);
}

/* ---- base64 (registry_codec.h) ---- */

/* The hand-written decoder the registry used before libsodium's, verbatim
 * but for its name: the reference the codec must agree with, input for
 * input (accept, refuse, and the bytes). */
static const char old_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int old_b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(old_b64_alphabet, c);
	return p ? (int)(p - old_b64_alphabet) : -1;
}

static long old_b64_decode(const char *text, size_t textlen, void *out, size_t outcap)
{
	uint8_t *o = out;
	size_t i, n = 0, pad = 0;

	if (textlen % 4)
		return -1;
	if (textlen && text[textlen - 1] == '=')
		pad++;
	if (textlen > 1 && text[textlen - 2] == '=')
		pad++;
	if (textlen / 4 * 3 - pad > outcap)
		return -1;
	for (i = 0; i < textlen; i += 4) {
		int v[4], k;
		bool last = i + 4 == textlen;

		for (k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				if (text[i + k] != '=')
					return -1;
				v[k] = 0;
			} else if ((v[k] = old_b64_value(text[i + k])) < 0) {
				return -1;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];

		o[n++] = (uint8_t)(w >> 16);
		if (!(last && pad == 2))
			o[n++] = (uint8_t)(w >> 8);
		if (!(last && pad >= 1))
			o[n++] = (uint8_t)w;
		/* canonical: the bits the padding drops are zero */
		if (last && ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff))))
			return -1;
	}
	return (long)n;
}

struct b64_tally {
	unsigned long cases, accepted, differ;
};

/* One input through both decoders at a few capacities (32: a key, with
 * reg_b64_decode_exact too). */
static void b64_compare(struct b64_tally *t, const char *text, size_t len)
{
	static const size_t caps[] = {0, 1, 2, 3, 31, 32, 33, 64};
	unsigned i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		uint8_t a[64], b[64];
		long ra, rb;

		memset(a, 0xa5, sizeof(a));
		memset(b, 0x5a, sizeof(b));
		ra = old_b64_decode(text, len, a, caps[i]);
		rb = reg_b64_decode(text, len, b, caps[i]);
		t->cases++;
		if (ra >= 0)
			t->accepted++;
		if (ra != rb || (ra > 0 && memcmp(a, b, (size_t)ra))) {
			if (t->differ++ < 5)
				print_message("differ: '%.*s' (%zu chars) cap %zu: old %ld, new %ld\n",
					      (int)len, text, len, caps[i], ra, rb);
		}
		if (caps[i] == 32) {
			bool ok = reg_b64_decode_exact(text, len, b, 32);

			if (ok != (ra == 32) || (ok && memcmp(a, b, 32))) {
				if (t->differ++ < 5)
					print_message("exact differs: '%.*s'\n", (int)len, text);
			}
			if (!ok) {
				static const uint8_t zero[32];

				assert_memory_equal(b, zero, 32); /* no half-decoded key left */
			}
		}
	}
}

static void test_b64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",	    "Zg==",	"Zm8=",	    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	uint8_t key[32], back[32];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = reg_b64_encode(plain[i], strlen(plain[i]));
		char out[16];

		assert_non_null(e);
		assert_string_equal(e, coded[i]);
		free(e);
		assert_int_equal(reg_b64_decode(coded[i], strlen(coded[i]), out, sizeof(out)),
				 strlen(plain[i]));
		assert_memory_equal(out, plain[i], strlen(plain[i]));
	}
	/* every key length round trip: 44 characters, one '=' */
	for (i = 0; i < 256; i++) {
		char *e;

		key_of(key, i);
		e = reg_b64_encode(key, sizeof(key));
		assert_non_null(e);
		assert_int_equal(strlen(e), 44);
		assert_int_equal(e[43], '=');
		assert_true(reg_b64_decode_exact(e, strlen(e), back, sizeof(back)));
		assert_memory_equal(back, key, sizeof(key));
		free(e);
	}
}

/* libsodium's decoder accepts and refuses exactly what the old one did:
 * every string of up to 2 bytes, every 4 characters and every key tail over
 * a set that has each kind of character (alphabet, padding, URL-safe,
 * space, NUL, other), each one-character change, deletion and insertion of
 * a key, and random strings. */
static void test_b64_as_before(void **state)
{
	static const char set[] = "AQgw+/=-_ \n\0zZ09Bh*";
	const size_t nset = sizeof(set) - 1;
	struct b64_tally t = {0};
	char text[64], *good;
	uint8_t key[32];
	size_t i, j, k, l, pos;
	unsigned seed = 12345;

	(void)state;
	for (i = 0; i < 256; i++) {
		text[0] = (char)i;
		b64_compare(&t, text, 0);
		b64_compare(&t, text, 1);
		for (j = 0; j < 256; j++) {
			text[1] = (char)j;
			b64_compare(&t, text, 2);
		}
	}
	key_of(key, 7);
	good = reg_b64_encode(key, sizeof(key));
	assert_non_null(good);
	for (i = 0; i < nset; i++)
		for (j = 0; j < nset; j++)
			for (k = 0; k < nset; k++)
				for (l = 0; l < nset; l++) {
					char q[4] = {set[i], set[j], set[k], set[l]};

					b64_compare(&t, q, 4);
					memcpy(text, good, 40); /* the key's last quantum */
					memcpy(text + 40, q, 4);
					b64_compare(&t, text, 44);
				}
	for (pos = 0; pos < 44; pos++) {
		for (i = 0; i < 256; i++) { /* changed */
			memcpy(text, good, 44);
			text[pos] = (char)i;
			b64_compare(&t, text, 44);
		}
		memcpy(text, good, pos); /* deleted */
		memcpy(text + pos, good + pos + 1, 43 - pos);
		b64_compare(&t, text, 43);
		b64_compare(&t, good, pos); /* cut */
		for (i = 0; i < nset; i++) { /* inserted */
			memcpy(text, good, pos);
			text[pos] = set[i];
			memcpy(text + pos + 1, good + pos, 44 - pos);
			b64_compare(&t, text, 45);
		}
	}
	for (i = 0; i < 200000; i++) {
		size_t len = (seed = seed * 1103515245 + 12345) >> 16 & 63;

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			/* mostly the alphabet, so that some are valid */
			text[j] = (seed >> 16) % 8 ? old_b64_alphabet[(seed >> 20) & 63]
						   : set[(seed >> 20) % nset];
		}
		if (len >= 1 && (seed >> 28) & 1)
			text[len - 1] = '=';
		if (len >= 2 && (seed >> 29) & 1)
			text[len - 2] = '=';
		b64_compare(&t, text, len);
	}
	free(good);
	print_message("base64: %lu cases, %lu accepted by the old decoder, %lu differ\n", t.cases,
		      t.accepted, t.differ);
	assert_true(t.accepted > 10000); /* the comparison saw valid text too */
	assert_int_equal(t.differ, 0);
}

/* The bad public keys of a stored gateway record, each refused as before
 * (the two of test_corrupt_entries among them), a good one taken. */
static void test_b64_bad_keys(void **state)
{
	static const char *const bad[] = {
		"c2hvcnQ=",                                      /* 5 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF=", /* padding bits set */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", /* one of them */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE",  /* padding missing */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE==", /* padding extra */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", /* 31 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 36 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 33 bytes */
		"-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", /* URL-safe alphabet */
		"_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
		"AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAE=", /* a space */
		" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\\n", /* JSON escape: a newline */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=AAE=", /* '=' inside */
		"*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
		"",
		/* UTF-8 'é' (2 bytes) for "AA": libsodium 1.0.18 alone reads
		 * each byte as '/' and takes this for a key */
		"\303\251AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
	};
	const unsigned nbad = sizeof(bad) / sizeof(bad[0]);
	struct registry *r = open_reg();
	struct reg_snapshot s;
	char file[64], text[512];
	uint8_t key[32];
	unsigned i;

	(void)state;
	for (i = 0; i < nbad; i++) {
		snprintf(file, sizeof(file), "gateways/bk-%u.json", i);
		snprintf(text, sizeof(text),
			 "{\"name\":\"bk-%u\",\"id\":%u,\"region\":\"x\",\"public_key\":\"%s\","
			 "\"endpoint4\":\"192.0.2.1:1\",\"prefixes\":[\"10.%u.0.0/16\"]}",
			 i, 100 + i, bad[i], 100 + i);
		write_file(file, text);
	}
	write_file("gateways/good.json",
		   "{\"name\":\"good\",\"id\":99,\"region\":\"x\","
		   "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\","
		   "\"endpoint4\":\"192.0.2.1:1\",\"prefixes\":[\"10.99.0.0/16\"]}");
	load_ok(r, &s);
	assert_int_equal(s.ngateways, 1);
	assert_string_equal(s.gateways[0].name, "good");
	assert_int_equal(s.gateways[0].public_key[31], 1);
	assert_int_equal(s.nproblems, nbad);
	for (i = 0; i < nbad; i++) {
		snprintf(file, sizeof(file), "gateways/bk-%u.json", i);
		assert_non_null(strstr(problem_with(&s, file),
				       "public_key is not the base64 of 32 bytes"));
	}
	reg_snapshot_free(&s);
	registry_close(r);
	/* and the codec itself, NUL included */
	for (i = 0; i < nbad; i++)
		if (!strstr(bad[i], "\\n"))
			assert_false(reg_b64_decode_exact(bad[i], strlen(bad[i]), key, sizeof(key)));
	assert_false(reg_b64_decode_exact("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\0", 45, key,
					  sizeof(key)));
	assert_false(reg_b64_decode_exact("AAAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAAE=", 44, key,
					  sizeof(key)));
	assert_true(reg_b64_decode_exact("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", 44, key,
					 sizeof(key)));
}

/* ---- corrupt entries ---- */

static void test_corrupt_entries(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway a = gw("eu-1", 1, "10.1.0.0/16"), b = gw("us-1", 2, "10.2.0.0/16");
	struct reg_vm v1 = vm("web", "10.1.0.5", "eu-1"), v2 = vm("db", "10.2.0.5", "us-1");
	struct reg_snapshot s;
	char *j;
	unsigned i;

	(void)state;
	PUT_OK(registry_put_gateway(r, &a, ERRBUF));
	PUT_OK(registry_put_gateway(r, &b, ERRBUF));
	PUT_OK(registry_put_vm(r, &v1, ERRBUF));
	PUT_OK(registry_put_vm(r, &v2, ERRBUF));

	/* truncated JSON */
	{
		struct reg_gateway t = gw("trunc", 10, "10.10.0.0/16");

		j = reg_gateway_json(&t);
		j[strlen(j) / 2] = '\0';
		write_file("gateways/trunc.json", j);
		free(j);
	}
	/* bad key: not 32 bytes of base64 */
	write_file("gateways/badkey.json",
		   "{\"name\":\"badkey\",\"id\":11,\"region\":\"x\",\"public_key\":\"c2hvcnQ=\","
		   "\"endpoint4\":\"192.0.2.1:1\",\"prefixes\":[\"10.11.0.0/16\"]}");
	/* base64 with the padding bits set: not canonical */
	write_file("gateways/badpad.json",
		   "{\"name\":\"badpad\",\"id\":15,\"region\":\"x\","
		   "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF=\","
		   "\"endpoint4\":\"192.0.2.1:1\",\"prefixes\":[\"10.15.0.0/16\"]}");
	/* a prefix overlapping eu-1's, under a name that sorts later */
	{
		struct reg_gateway o = gw("zz-over", 12, "10.1.128.0/17");

		j = reg_gateway_json(&o);
		write_file("gateways/zz-over.json", j);
		free(j);
	}
	/* a private key, even in another spelling or nested */
	{
		struct reg_gateway p = gw("leaky", 13, "10.13.0.0/16");
		char text[1024];

		j = reg_gateway_json(&p);
		snprintf(text, sizeof(text), "%.*s,\"private_key\":\"%s\"}", (int)strlen(j) - 1, j,
			 "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");
		write_file("gateways/leaky.json", text);
		free(j);
		write_file("vms/leaky-vm.json",
			   "{\"name\":\"leaky-vm\",\"address\":\"10.1.0.9\",\"gateway\":\"eu-1\","
			   "\"extra\":{\"WG_PrivateKey\":\"x\"}}");
	}
	/* a file name that is not a valid name, a name that does not match */
	write_file("gateways/BAD.json", "{}");
	{
		struct reg_gateway m = gw("other", 14, "10.14.0.0/16");

		j = reg_gateway_json(&m);
		write_file("gateways/mismatch.json", j);
		free(j);
	}
	/* wrong types, duplicate fields, not an object */
	write_file("vms/types.json", "{\"name\":\"types\",\"address\":5,\"gateway\":\"eu-1\"}");
	write_file("vms/dup.json",
		   "{\"name\":\"dup\",\"address\":\"10.1.0.7\",\"address\":\"10.1.0.8\",\"gateway\":\"eu-1\"}");
	write_file("vms/array.json", "[1,2]");
	/* a VM of a gateway that was skipped, and one outside its gateway */
	write_file("vms/orphan.json", "{\"name\":\"orphan\",\"address\":\"10.11.0.1\",\"gateway\":\"badkey\"}");
	write_file("vms/outside.json", "{\"name\":\"outside\",\"address\":\"10.2.0.1\",\"gateway\":\"eu-1\"}");
	/* the same address as web: web sorts first and keeps it */
	write_file("vms/zzz-same.json", "{\"name\":\"zzz-same\",\"address\":\"10.1.0.5\",\"gateway\":\"eu-1\"}");
	/* a corrupt policy: defaults instead */
	write_file("policy.json", "{\"hop_limit\":99}");
	/* files that are not records are not looked at */
	write_file("gateways/.eu-2.json.tmp", "garbage");
	write_file("gateways/notes.txt", "garbage");
	write_file("README", "garbage");
	/* unknown fields are ignored (a newer writer's) */
	write_file("gateways/newer.json",
		   "{\"name\":\"newer\",\"id\":20,\"region\":\"x\","
		   "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\","
		   "\"endpoint4\":\"192.0.2.1:1\",\"prefixes\":[\"10.20.0.0/16\"],\"tags\":[\"gpu\"]}");

	load_ok(r, &s);
	for (i = 0; i < s.nproblems; i++)
		print_message("  problem: %s\n", s.problems[i]);
	assert_non_null(strstr(problem_with(&s, "gateways/trunc.json"), "bad JSON"));
	assert_non_null(strstr(problem_with(&s, "gateways/badkey.json"), "public_key"));
	assert_non_null(strstr(problem_with(&s, "gateways/badpad.json"), "public_key"));
	assert_non_null(strstr(problem_with(&s, "gateways/zz-over.json"), "overlaps gateway eu-1"));
	assert_non_null(strstr(problem_with(&s, "gateways/leaky.json"), "private"));
	assert_non_null(strstr(problem_with(&s, "vms/leaky-vm.json"), "private"));
	assert_non_null(strstr(problem_with(&s, "gateways/BAD.json"), "bad key"));
	assert_non_null(strstr(problem_with(&s, "gateways/mismatch.json"), "key says"));
	assert_non_null(strstr(problem_with(&s, "vms/types.json"), "not a string"));
	assert_non_null(strstr(problem_with(&s, "vms/dup.json"), "bad JSON"));
	assert_non_null(strstr(problem_with(&s, "vms/array.json"), "object"));
	assert_non_null(strstr(problem_with(&s, "vms/orphan.json"), "unknown gateway badkey"));
	assert_non_null(strstr(problem_with(&s, "vms/outside.json"), "outside"));
	assert_non_null(strstr(problem_with(&s, "vms/zzz-same.json"), "already vm web"));
	assert_non_null(strstr(problem_with(&s, "policy.json"), "hop_limit"));
	assert_int_equal(s.nproblems, 15);
	for (i = 0; i < s.nproblems; i++)
		assert_null(strchr(s.problems[i], '\n'));

	/* everything else loads */
	assert_int_equal(s.ngateways, 3);
	assert_non_null(find_gw(&s, "eu-1"));
	assert_non_null(find_gw(&s, "us-1"));
	assert_non_null(find_gw(&s, "newer"));
	assert_memory_equal(find_gw(&s, "eu-1"), &a, sizeof(a));
	assert_int_equal(s.nvms, 2);
	assert_non_null(find_vm(&s, "web"));
	assert_non_null(find_vm(&s, "db"));
	assert_int_equal(s.policy.hop_limit, 2);
	reg_snapshot_free(&s);

	/* The overlap check on write sees only what validates: a gateway
	 * overlapping the corrupt one is accepted; one overlapping a good
	 * one is not. */
	{
		struct reg_gateway g = gw("ap-1", 30, "10.13.0.0/16");

		PUT_OK(registry_put_gateway(r, &g, ERRBUF));
		g = gw("ap-2", 31, "10.2.3.0/24");
		PUT_FAIL(registry_put_gateway(r, &g, ERRBUF), "overlaps gateway us-1");
	}
	registry_close(r);
}

/* A reader holding a last good snapshot (meshd): a record in use whose entry
 * turns corrupt keeps its last good version, and a newcomer that clashes with
 * a record in use loses even when its name sorts first. A reader without one
 * (meshctl) sees the store as it is. */
static void test_load_over_last_good(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway a = gw("eu-1", 1, "10.1.0.0/16"), b = gw("us-1", 2, "10.2.0.0/16");
	struct reg_vm v1 = vm("web", "10.1.0.5", "eu-1"), v2 = vm("db", "10.2.0.5", "us-1");
	struct reg_policy p;
	struct reg_snapshot last, s;
	char *j;

	(void)state;
	PUT_OK(registry_put_gateway(r, &a, ERRBUF));
	PUT_OK(registry_put_gateway(r, &b, ERRBUF));
	PUT_OK(registry_put_vm(r, &v1, ERRBUF));
	PUT_OK(registry_put_vm(r, &v2, ERRBUF));
	reg_policy_default(&p);
	p.hop_limit = 3;
	PUT_OK(registry_put_policy(r, &p, ERRBUF));
	load_ok(r, &last);
	assert_no_problems(&last);

	/* us-1 truncated, web with a bad address, the policy out of range */
	j = reg_gateway_json(&b);
	j[strlen(j) / 2] = '\0';
	write_file("gateways/us-1.json", j);
	free(j);
	write_file("vms/web.json", "{\"name\":\"web\",\"address\":\"10.1.0.999\",\"gateway\":\"eu-1\"}");
	write_file("policy.json", "{\"hop_limit\":0}");
	/* newcomers that sort first and clash with records in use */
	{
		struct reg_gateway o = gw("aa-over", 12, "10.1.128.0/17");

		j = reg_gateway_json(&o);
		write_file("gateways/aa-over.json", j);
		free(j);
		o = gw("ab-same-id", 2, "10.30.0.0/16");
		j = reg_gateway_json(&o);
		write_file("gateways/ab-same-id.json", j);
		free(j);
	}
	write_file("vms/aa-same.json", "{\"name\":\"aa-same\",\"address\":\"10.2.0.5\",\"gateway\":\"us-1\"}");

	load_over_ok(r, &last, &s);
	assert_non_null(strstr(problem_with(&s, "gateways/us-1.json"), "last good version"));
	assert_non_null(strstr(problem_with(&s, "vms/web.json"), "last good version"));
	assert_non_null(strstr(problem_with(&s, "policy.json"), "last good policy"));
	assert_non_null(strstr(problem_with(&s, "gateways/aa-over.json"), "overlaps gateway eu-1"));
	assert_non_null(strstr(problem_with(&s, "gateways/ab-same-id.json"), "id 2"));
	assert_non_null(strstr(problem_with(&s, "vms/aa-same.json"), "already vm db"));
	assert_int_equal(s.nproblems, 6);
	assert_int_equal(s.ngateways, 2);
	assert_memory_equal(find_gw(&s, "eu-1"), &a, sizeof(a));
	assert_memory_equal(find_gw(&s, "us-1"), &b, sizeof(b));
	assert_int_equal(s.nvms, 2);
	assert_string_equal(find_vm(&s, "web")->address, "10.1.0.5");
	assert_non_null(find_vm(&s, "db"));
	assert_int_equal(s.policy.hop_limit, 3);

	/* Over that snapshot again: the same (the kept versions stay kept). */
	{
		struct reg_snapshot again;

		load_over_ok(r, &s, &again);
		assert_int_equal(again.ngateways, 2);
		assert_memory_equal(find_gw(&again, "us-1"), &b, sizeof(b));
		assert_int_equal(again.policy.hop_limit, 3);
		reg_snapshot_free(&again);
	}
	reg_snapshot_free(&s);

	/* Without a last good snapshot the same: eu-1 holds its claims, the
	 * files written by hand have none, and names do not decide. */
	load_ok(r, &s);
	assert_null(find_gw(&s, "us-1"));
	assert_null(find_gw(&s, "aa-over"));
	assert_non_null(strstr(problem_with(&s, "gateways/aa-over.json"), "it has no claim"));
	assert_non_null(find_gw(&s, "eu-1"));
	assert_int_equal(s.policy.hop_limit, 2);
	reg_snapshot_free(&s);

	/* A record deleted for real is gone, last good version or not. */
	PUT_OK(registry_del_vm(r, "db", ERRBUF));
	load_over_ok(r, &last, &s);
	assert_null(find_vm(&s, "db"));
	reg_snapshot_free(&s);

	/* A record that names another: the line names both, the last good
	 * version stays. */
	{
		struct reg_gateway o = a;

		snprintf(o.name, sizeof(o.name), "eu-9");
		j = reg_gateway_json(&o);
		write_file("gateways/eu-1.json", j);
		free(j);
	}
	write_file("vms/web.json", "{\"name\":\"web-2\",\"address\":\"10.1.0.5\",\"gateway\":\"eu-1\"}");
	load_over_ok(r, &last, &s);
	assert_non_null(strstr(problem_with(&s, "gateways/eu-1.json"),
			       "record names gateway 'eu-9', key says 'eu-1'; keeping"));
	assert_non_null(strstr(problem_with(&s, "vms/web.json"),
			       "record names vm 'web-2', key says 'web'; keeping"));
	assert_memory_equal(find_gw(&s, "eu-1"), &a, sizeof(a));
	assert_string_equal(find_vm(&s, "web")->address, "10.1.0.5");
	reg_snapshot_free(&s);
	reg_snapshot_free(&last);
	registry_close(r);
}

/* What a gateway put stores: its public key and the documented fields,
 * nothing else; and every spelling of a secret's field is refused on load. */
static void test_public_keys_only(void **state)
{
	static const char *const fields[] = {"name", "id", "region", "zone", "public_key",
					     "endpoint4", "endpoint6", "overlay4", "overlay6",
					     "prefixes"};
	struct registry *r = open_reg();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	char path[256], *j;
	json_error_t je;
	json_t *o;
	unsigned i;

	(void)state;
	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	snprintf(path, sizeof(path), "%s/reg/gateways/eu-1.json", tmpdir);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		fail_msg("%s: %s", path, je.text);
	assert_int_equal(json_object_size(o), sizeof(fields) / sizeof(fields[0]));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_non_null(json_object_get(o, fields[i]));
	/* key_of(1): bytes 1, 0, 46, 53, ...: the base64 of exactly those */
	assert_string_equal(json_string_value(json_object_get(o, "public_key")),
			    "AQAuNTxDSlFYX2ZtdHuCiZCXnqWss7rByM/W3eTr8vk=");
	json_decref(o);

	/* a gateway record, good but for a secret one object down */
	g = gw("us-1", 2, "10.2.0.0/16");
	j = reg_gateway_json(&g);
	o = json_loads(j, 0, &je);
	free(j);
	assert_non_null(o);
	json_object_set_new(o, "peer", json_pack("{s:s}", "preshared_key", "x"));
	snprintf(path, sizeof(path), "%s/reg/gateways/us-1.json", tmpdir);
	assert_int_equal(json_dump_file(o, path, 0), 0);
	json_decref(o);
	write_file("vms/v1.json",
		   "{\"name\":\"v1\",\"address\":\"10.1.0.1\",\"gateway\":\"eu-1\",\"Secret\":1}");
	write_file("policy.json", "{\"hop_limit\":3,\"keys\":[{\"PrivateKey\":\"x\"}]}");
	load_ok(r, &s);
	assert_non_null(strstr(problem_with(&s, "gateways/us-1.json"), "private key field 'preshared_key'"));
	assert_non_null(strstr(problem_with(&s, "vms/v1.json"), "private key field 'Secret'"));
	assert_non_null(strstr(problem_with(&s, "policy.json"), "private key field 'PrivateKey'"));
	assert_int_equal(s.nproblems, 3);
	assert_int_equal(s.ngateways, 1);
	assert_int_equal(s.nvms, 0);
	assert_int_equal(s.policy.hop_limit, 2); /* the default, not the leaky record's */
	reg_snapshot_free(&s);
	registry_close(r);
}

/* Files that cannot be records: too large, NUL bytes, not UTF-8, a folder,
 * a FIFO (must not block the load), a name too long. Each is one problem
 * line of bounded length; everything else loads. */
static void test_unreadable_entries(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	char path[512], name[300], *big;
	FILE *f;
	unsigned i;

	(void)state;
	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	big = malloc(70000);
	assert_non_null(big);
	memset(big, ' ', 69999);
	big[0] = '{';
	big[69998] = '}';
	big[69999] = '\0';
	write_file("gateways/big.json", big);
	free(big);
	snprintf(path, sizeof(path), "%s/reg/gateways/nul.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("{\"name\":\"nul\"\0}", 1, 15, f);
	fclose(f);
	write_file("gateways/latin1.json", "{\"name\":\"caf\xe9\"}");
	snprintf(path, sizeof(path), "%s/reg/gateways/folder.json", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/reg/vms/fifo.json", tmpdir);
	assert_int_equal(mkfifo(path, 0644), 0);
	memset(name, 'a', 250);
	snprintf(name + 250, sizeof(name) - 250, ".json");
	snprintf(path, sizeof(path), "vms/%s", name);
	write_file(path, "{}");
	/* folders deeper than the layout */
	write_file("gateways/deep/x.json", "{}");
	write_file("claims/eu-1/deep/x.json", "{}");

	load_ok(r, &s);
	for (i = 0; i < s.nproblems; i++) {
		print_message("  problem: %s\n", s.problems[i]);
		assert_true(strlen(s.problems[i]) < 800);
	}
	assert_non_null(strstr(problem_with(&s, "big.json"), "larger than 65536 bytes"));
	assert_non_null(strstr(problem_with(&s, "nul.json"), "NUL"));
	assert_non_null(strstr(problem_with(&s, "latin1.json"), "bad JSON"));
	assert_non_null(strstr(problem_with(&s, "folder.json"), "not a regular file"));
	assert_non_null(strstr(problem_with(&s, "fifo.json"), "not a regular file"));
	assert_non_null(strstr(problem_with(&s, "vms/aaaa"), "bad key"));
	assert_int_equal(s.nproblems, 6);
	assert_int_equal(s.ngateways, 1);
	assert_memory_equal(&s.gateways[0], &g, sizeof(g));
	reg_snapshot_free(&s);
	registry_close(r);
}

/* ---- an earlier version's links ---- */

/* Link measurements are no longer records: DIR/links/, where an earlier
 * version kept them, is not made, read or watched. */
static void test_old_links_left_alone(void **state)
{
	struct registry *r = open_reg(), *w;
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	int fd;

	(void)state;
	assert_false(exists("links"));
	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	/* as an earlier version wrote them: live, expired, corrupt, secret */
	write_file("links/eu-1/us-1.json",
		   "{\"from\":\"eu-1\",\"to\":\"us-1\",\"rtt_ms\":5,\"up\":true,"
		   "\"expires_unix_ms\":99999999999999}");
	write_file("links/eu-1/ap-1.json",
		   "{\"from\":\"eu-1\",\"to\":\"ap-1\",\"rtt_ms\":5,\"expires_unix_ms\":1000}");
	write_file("links/ap-1/eu-1.json", "{\"from\":");
	write_file("links/ap-1/us-1.json", "{\"wg\":{\"PresharedKey\":\"x\"}}");
	w = open_reg();
	load_ok(w, &s);
	assert_no_problems(&s);
	assert_int_equal(s.ngateways, 1);
	assert_memory_equal(&s.gateways[0], &g, sizeof(g));
	reg_snapshot_free(&s);

	/* rewriting them wakes no one */
	fd = registry_watch_fd(w);
	assert_true(fd >= 0);
	registry_watch_ack(w);
	write_file("links/eu-1/us-1.json", "{\"from\":\"eu-1\",\"to\":\"us-1\",\"rtt_ms\":6}");
	write_file("links/us-1/eu-1.json", "{}");
	assert_false(readable(fd, 300));
	/* a record does */
	write_file("policy.json", "{\"hop_limit\":3}");
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	registry_close(w);
	registry_close(r);
}

/* ---- concurrent writers ---- */

#define WRITERS 4
#define PER_WRITER 40

static void writer(int w)
{
	struct registry *r = open_reg();
	char err[256], name[32], addr[48];
	int i;

	for (i = 0; i < PER_WRITER; i++) {
		struct reg_gateway g;
		struct reg_vm v;
		struct reg_policy p;

		snprintf(name, sizeof(name), "gw-%d-%d", w, i);
		snprintf(addr, sizeof(addr), "10.%d.%d.0/24", 100 + w, i);
		g = gw(name, (unsigned)(100 + w * 100 + i), addr);
		snprintf(g.region, sizeof(g.region), "writer-%d", w);
		if (registry_put_gateway(r, &g, err, sizeof(err)) != 0) {
			fprintf(stderr, "writer %d: %s\n", w, err);
			_exit(1);
		}
		snprintf(name, sizeof(name), "vm-%d-%d.base", w, i);
		snprintf(addr, sizeof(addr), "10.0.%d.%d", w, i + 1);
		v = vm(name, addr, "base");
		if (registry_put_vm(r, &v, err, sizeof(err)) != 0) {
			fprintf(stderr, "writer %d: %s\n", w, err);
			_exit(1);
		}
		/* everyone rewrites the same record too */
		reg_policy_default(&p);
		p.hop_limit = (unsigned)i % 8 + 1;
		p.loss_penalty_ms = w * 1000 + i;
		if (registry_put_policy(r, &p, err, sizeof(err)) != 0) {
			fprintf(stderr, "writer %d: %s\n", w, err);
			_exit(1);
		}
	}
	/* all writers race for one id under different names: the lock makes
	 * the check and the write one step, so exactly one wins */
	{
		struct reg_gateway g;

		snprintf(name, sizeof(name), "race-%d", w);
		g = gw(name, 4000, NULL);
		_exit(registry_put_gateway(r, &g, err, sizeof(err)) == 0 ? 42 : 43);
	}
}

static void test_concurrent_writers(void **state)
{
	struct registry *r = open_reg();
	struct reg_gateway base = gw("base", 1, "10.0.0.0/16");
	struct reg_snapshot s;
	pid_t pids[WRITERS];
	int w, i, won = 0, loads = 0, status;
	unsigned running = WRITERS;

	(void)state;
	PUT_OK(registry_put_gateway(r, &base, ERRBUF));
	for (w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0)
			writer(w);
	}
	/* a reader meanwhile never sees a partial or inconsistent record */
	while (running) {
		load_ok(r, &s);
		assert_no_problems(&s);
		reg_snapshot_free(&s);
		loads++;
		running = 0;
		for (w = 0; w < WRITERS; w++)
			if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == 0)
				running++;
			else if (pids[w] > 0) {
				assert_true(WIFEXITED(status));
				assert_true(WEXITSTATUS(status) == 42 || WEXITSTATUS(status) == 43);
				won += WEXITSTATUS(status) == 42;
				pids[w] = 0;
			}
	}
	print_message("  %d loads during the writes\n", loads);
	assert_int_equal(won, 1);

	load_ok(r, &s);
	assert_no_problems(&s);
	assert_int_equal(s.ngateways, 1 + WRITERS * PER_WRITER + 1);
	assert_int_equal(s.nvms, WRITERS * PER_WRITER);
	for (w = 0; w < WRITERS; w++) {
		for (i = 0; i < PER_WRITER; i++) {
			char name[32], addr[48];
			struct reg_gateway g;
			const struct reg_gateway *got;
			const struct reg_vm *v;

			snprintf(name, sizeof(name), "gw-%d-%d", w, i);
			snprintf(addr, sizeof(addr), "10.%d.%d.0/24", 100 + w, i);
			g = gw(name, (unsigned)(100 + w * 100 + i), addr);
			memset(g.region, 0, sizeof(g.region));
			snprintf(g.region, sizeof(g.region), "writer-%d", w);
			got = find_gw(&s, name);
			assert_non_null(got);
			assert_memory_equal(got, &g, sizeof(g));
			snprintf(name, sizeof(name), "vm-%d-%d.base", w, i);
			snprintf(addr, sizeof(addr), "10.0.%d.%d", w, i + 1);
			v = find_vm(&s, name);
			assert_non_null(v);
			assert_string_equal(v->address, addr);
		}
	}
	/* the policy one writer put last, whole */
	assert_int_equal(s.policy.hop_limit, (PER_WRITER - 1) % 8 + 1);
	assert_int_equal((long long)s.policy.loss_penalty_ms % 1000, PER_WRITER - 1);
	reg_snapshot_free(&s);
	registry_close(r);
}

/* ---- watch ---- */

/* The lock (item: a local user holding it froze meshd). The file is made
 * 0600; one with group or other access is narrowed; one another user owns
 * is refused (as root: chown it). A held lock makes a writer fail after its
 * bounded wait with an error that says so, and never holds up a load. */
static void test_lock(void **state)
{
	struct reg_options opt = { .lock_wait_ms = 200 };
	struct reg_policy p;
	struct reg_snapshot s;
	char path[256], err[512] = "";
	struct registry *r;
	struct stat st;
	uint64_t t0, took;
	int fd;

	(void)state;
	reg_policy_default(&p);
	r = registry_open(url, &opt, err, sizeof(err));
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/reg/.lock", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* held by someone else: the write fails in about lock_wait_ms */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	t0 = now_ms();
	assert_int_not_equal(registry_put_policy(r, &p, err, sizeof(err)), 0);
	took = now_ms() - t0;
	assert_non_null(strstr(err, "another writer has held"));
	assert_true(took >= 200 && took < 5000);
	/* a load does not take it (it would wait for as long as it is held: for
	 * ever, here) */
	load_ok(r, &s);
	reg_snapshot_free(&s);
	/* released: written at once */
	flock(fd, LOCK_UN);
	close(fd);
	PUT_OK(registry_put_policy(r, &p, ERRBUF));
	registry_close(r);

	/* an old 0644 lock file is made 0600 */
	assert_int_equal(chmod(path, 0644), 0);
	r = open_reg();
	registry_close(r);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* one another user owns is refused (only root can make one) */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_null(registry_open(url, NULL, err, sizeof(err)));
		assert_non_null(strstr(err, "owned by uid 65534"));
		/* removed: made again, ours */
		assert_int_equal(unlink(path), 0);
		r = open_reg();
		registry_close(r);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
	}
	/* a symlink in its place is not followed */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/tmp/hopmesh-nowhere", path), 0);
	assert_null(registry_open(url, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "lock file"));
}

static void test_watch(void **state)
{
	struct registry *r = open_reg(), *w = open_reg();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	char *j;
	int fd;

	(void)state;
	fd = registry_watch_fd(w);
	assert_true(fd >= 0);
	assert_int_equal(registry_watch_fd(w), fd);
	registry_watch_ack(w);
	assert_false(readable(fd, 0));

	PUT_OK(registry_put_gateway(r, &g, ERRBUF));
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	assert_false(readable(fd, 0));

	/* a claim in a folder that did not exist when the watch began (the
	 * put above made claims/eu-1/) */
	j = reg_claim_json("eu-1", "10.9.0.0/16", 99);
	write_file("claims/eu-1/10.9.0.0_16.json", j);
	free(j);
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	assert_false(readable(fd, 0));
	assert_int_equal(unlink_rel("claims/eu-1/10.9.0.0_16.json"), 0);
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);

	/* a file written by hand, and a delete */
	write_file("policy.json", "{\"hop_limit\":3}");
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	PUT_OK(registry_del_gateway(r, "eu-1", ERRBUF));
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	assert_false(readable(fd, 0));

	registry_close(w);
	registry_close(r);
}

static long long seq_of(const char *rel)
{
	char path[1024], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/reg/%s", tmpdir, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "\"seq\":");
	assert_non_null(p);
	return atoll(p + 6);
}

/* Ownership by seniority: of two records that claim one prefix or one id,
 * the older claim wins, whatever the names, on write and on every read. */
static void test_seniority(void **state)
{
	static const char *const names[] = {"aaa", "zzz"};
	unsigned k;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct registry *r;
		struct reg_gateway old = gw(names[k], 6, "10.9.0.0/16"), victim = gw("victim", 5, "10.1.0.0/16");
		struct reg_gateway take = old, same_id = gw("thief", 5, "10.7.0.0/16");
		struct reg_snapshot s;
		long long vseq;
		char *j, rel[128];

		{
			char cmd[200];

			snprintf(cmd, sizeof(cmd), "rm -rf %s/reg", tmpdir);
			assert_int_equal(system(cmd), 0);
		}
		r = open_reg();
		/* the offender's record is the older one: it only edits it later */
		PUT_OK(registry_put_gateway(r, &old, ERRBUF));
		PUT_OK(registry_put_gateway(r, &victim, ERRBUF));
		assert_true(exists("claims/victim/id-5.json"));
		assert_true(exists("claims/victim/10.1.0.0_16.json"));
		vseq = seq_of("claims/victim/10.1.0.0_16.json");
		snprintf(rel, sizeof(rel), "claims/%s/10.9.0.0_16.json", names[k]);
		assert_true(vseq > seq_of(rel));

		/* through the library: refused on write */
		snprintf(take.prefixes[1], sizeof(take.prefixes[1]), "10.1.2.0/24");
		take.nprefixes = 2;
		PUT_FAIL(registry_put_gateway(r, &take, ERRBUF), "overlaps gateway victim");
		PUT_FAIL(registry_put_gateway(r, &same_id, ERRBUF), "id 5 is already gateway victim");

		/* around it (the record rewritten by hand, even with a claim
		 * file of its own): ignored on read, the victim keeps all */
		j = reg_gateway_json(&take);
		snprintf(rel, sizeof(rel), "gateways/%s.json", names[k]);
		write_file(rel, j);
		free(j);
		load_ok(r, &s);
		assert_null(find_gw(&s, names[k]));
		assert_non_null(strstr(problem_with(&s, rel), "overlaps gateway victim's 10.1.0.0/16"));
		assert_non_null(strstr(problem_with(&s, rel), "it has no claim"));
		assert_memory_equal(find_gw(&s, "victim"), &victim, sizeof(victim));
		reg_snapshot_free(&s);
		snprintf(rel, sizeof(rel), "claims/%s/10.1.2.0_24.json", names[k]);
		j = reg_claim_json(names[k], "10.1.2.0/24", vseq + 100);
		write_file(rel, j);
		free(j);
		load_ok(r, &s);
		assert_null(find_gw(&s, names[k]));
		snprintf(rel, sizeof(rel), "gateways/%s.json", names[k]);
		assert_non_null(strstr(problem_with(&s, rel), "the other's claim is older"));
		assert_non_null(find_gw(&s, "victim"));
		reg_snapshot_free(&s);

		/* the victim edits its record: its claims keep their age */
		PUT_OK(registry_put_gateway(r, &old, ERRBUF)); /* the offender puts itself right */
		snprintf(victim.endpoint4, sizeof(victim.endpoint4), "192.0.2.99:51820");
		PUT_OK(registry_put_gateway(r, &victim, ERRBUF));
		assert_int_equal(seq_of("claims/victim/10.1.0.0_16.json"), vseq);
		snprintf(rel, sizeof(rel), "claims/%s/10.1.2.0_24.json", names[k]);
		assert_false(exists(rel)); /* given up with the edit */

		/* a record whose id is taken, by hand: the older id wins */
		j = reg_gateway_json(&same_id);
		write_file("gateways/thief.json", j);
		free(j);
		load_ok(r, &s);
		assert_null(find_gw(&s, "thief"));
		assert_non_null(strstr(problem_with(&s, "gateways/thief.json"), "id 5 is already gateway victim"));
		assert_non_null(find_gw(&s, "victim"));
		assert_non_null(find_gw(&s, names[k]));
		reg_snapshot_free(&s);

		/* a prefix given up and one deleted gateway: their claims go */
		victim.nprefixes = 1;
		snprintf(victim.prefixes[0], sizeof(victim.prefixes[0]), "10.1.0.0/17");
		PUT_OK(registry_put_gateway(r, &victim, ERRBUF));
		assert_false(exists("claims/victim/10.1.0.0_16.json"));
		assert_true(seq_of("claims/victim/10.1.0.0_17.json") > vseq);
		assert_int_equal(unlink_rel("gateways/thief.json"), 0);
		snprintf(rel, sizeof(rel), "claims/%s", names[k]);
		PUT_OK(registry_del_gateway(r, names[k], ERRBUF));
		assert_false(exists(rel));
		load_ok(r, &s);
		assert_no_problems(&s);
		assert_int_equal(s.ngateways, 1);
		reg_snapshot_free(&s);
		registry_close(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup_dir, teardown_dir),
		cmocka_unit_test(test_json_format),
		cmocka_unit_test(test_gateway_check),
		cmocka_unit_test(test_other_checks),
		cmocka_unit_test(test_fits),
		cmocka_unit_test_setup_teardown(test_writes_refused, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_open_errors, setup_dir, teardown_dir),
		cmocka_unit_test(test_etcd_unreachable),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_as_before),
		cmocka_unit_test_setup_teardown(test_b64_bad_keys, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_corrupt_entries, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_over_last_good, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_seniority, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_public_keys_only, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unreadable_entries, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_old_links_left_alone, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_watch, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_lock, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
