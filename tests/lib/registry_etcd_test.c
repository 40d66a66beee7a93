// SPDX-License-Identifier: MIT
/*
 * The registry's etcd back end against a real etcd, run by
 * tests/netns/registry_etcd.sh, which starts the etcds on loopback and says
 * where they are in the environment:
 *
 *   HM_ETCD_URL        a plain etcd (http://127.0.0.1:PORT)
 *   HM_ETCD_DOWN       an endpoint where nothing listens
 *   HM_ETCD_AUTH_URL   an etcd on https (CA: HM_ETCD_TLS_DIR) with authentication on, user root,
 *   HM_ETCD_AUTH_PASS  this password, and simple tokens that expire fast
 *   HM_ETCD_GW_PASS    the password of the users gw-victim and gw-aaa on it, each in its
 *                      gateway's role (docs/OPERATIONS.md, "Who may write what"), and of
 *                      operator, in hopmesh-operator
 *   HM_ETCD_TLS_URL    an etcd on https that wants client certificates,
 *   HM_ETCD_TLS_DIR    with ca.pem, client.pem, client-key.pem, other-ca.pem
 *
 * "registry-etcd-test" runs the cmocka tests; "registry-etcd-test cluster"
 * the one on a 3-member cluster (HM_ETCD_CLUSTER, see there);
 * "registry-etcd-test churn URL WRITES_PER_S SECONDS" adds and deletes VM
 * records at that rate, as an operator's meshctl would, for the soak test;
 * "registry-etcd-test watch URL SECONDS" prints a line per wake-up of the
 * watch fd and per reload, for the script's restart test, and ends early and
 * cleanly (registry_close, so a sanitizer build checks for leaks) on SIGTERM.
 */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "registry.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "registry-etcd-test: %s is not set (run tests/netns/registry_etcd.sh)\n",
			name);
		exit(2);
	}
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct registry *open_url(const char *endpoints, const struct reg_options *o)
{
	char url[512], err[512] = "";
	struct registry *r;

	snprintf(url, sizeof(url), "etcd:%s", endpoints);
	r = registry_open(url, o, err, sizeof(err));
	if (!r)
		fail_msg("registry_open(%s): %s", url, err);
	return r;
}

static struct registry *open_plain(void)
{
	return open_url(env("HM_ETCD_URL"), NULL);
}

/* Empties /hopmesh/ of the plain etcd (etcdctl from etcd-client). */
static int wipe(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "ETCDCTL_API=3 etcdctl --endpoints=%s del --prefix /hopmesh/ >/dev/null",
		 env("HM_ETCD_URL"));
	return system(cmd) == 0 ? 0 : -1;
}

/* etcdctl put KEY VALUE (neither has a single quote in it). */
static void etcdctl_put(const char *key, const char *value)
{
	char *cmd;

	assert_true(asprintf(&cmd, "ETCDCTL_API=3 etcdctl --endpoints=%s put '%s' '%s' >/dev/null",
			     env("HM_ETCD_URL"), key, value) > 0);
	if (system(cmd) != 0)
		fail_msg("failed: %.200s", cmd);
	free(cmd);
}

static struct reg_gateway gw(const char *name, unsigned id, const char *prefix)
{
	struct reg_gateway g;
	unsigned i;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	g.id = (uint16_t)id;
	snprintf(g.region, sizeof(g.region), "region-%u", id);
	for (i = 0; i < 32; i++)
		g.public_key[i] = (uint8_t)(id * 13 + i + 1);
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

#define OK(call)                                                                               \
	do {                                                                                   \
		char e_[512] = "";                                                             \
		if ((call) != 0)                                                               \
			fail_msg("%s failed: %s (line %d)", #call, e_, __LINE__);              \
	} while (0)
#define FAILS(call, expect)                                                                    \
	do {                                                                                   \
		char e_[512] = "";                                                             \
		if ((call) == 0)                                                               \
			fail_msg("%s succeeded, expected a failure (line %d)", #call, __LINE__); \
		if (!strstr(e_, (expect)))                                                     \
			fail_msg("%s: error '%s' does not mention '%s' (line %d)", #call, e_,  \
				 (expect), __LINE__);                                          \
		print_message("  refused as expected: %s\n", e_);                             \
	} while (0)
#define ERRBUF e_, sizeof(e_)

static void load_ok(struct registry *r, struct reg_snapshot *s)
{
	char err[512] = "";

	if (registry_load(r, s, err, sizeof(err)) != 0)
		fail_msg("registry_load: %s", err);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* ---- plain etcd ---- */

static void test_put_load_del(void **state)
{
	struct registry *r = open_plain();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16"), g2 = gw("us-1", 2, "fd00:2::/48");
	struct reg_vm v = vm("web.eu", "10.1.0.5", "eu-1");
	struct reg_policy p = {.hop_limit = 4, .residency = true, .loss_penalty_ms = 10};
	struct reg_snapshot s;

	(void)state;
	load_ok(r, &s);
	assert_int_equal(s.ngateways + s.nvms + s.nproblems, 0);
	assert_int_equal(s.policy.hop_limit, 2);
	reg_snapshot_free(&s);

	OK(registry_put_gateway(r, &g, ERRBUF));
	OK(registry_put_gateway(r, &g2, ERRBUF));
	OK(registry_put_vm(r, &v, ERRBUF));
	OK(registry_put_policy(r, &p, ERRBUF));
	load_ok(r, &s);
	assert_int_equal(s.nproblems, 0);
	assert_int_equal(s.ngateways, 2);
	assert_memory_equal(&s.gateways[0], &g, sizeof(g));
	assert_memory_equal(&s.gateways[1], &g2, sizeof(g2));
	assert_int_equal(s.nvms, 1);
	assert_memory_equal(&s.vms[0], &v, sizeof(v));
	assert_int_equal(s.policy.hop_limit, 4);
	assert_true(s.policy.residency);
	reg_snapshot_free(&s);

	/* the checks across records hold here too */
	{
		struct reg_gateway bad = gw("ap-1", 1, "10.3.0.0/16");

		FAILS(registry_put_gateway(r, &bad, ERRBUF), "already gateway eu-1");
		bad = gw("ap-1", 3, "10.1.4.0/24");
		FAILS(registry_put_gateway(r, &bad, ERRBUF), "overlaps gateway eu-1");
		v = vm("db", "10.1.0.6", "nowhere");
		FAILS(registry_put_vm(r, &v, ERRBUF), "unknown gateway");
		FAILS(registry_del_gateway(r, "eu-1", ERRBUF), "delete them first");
	}

	OK(registry_del_vm(r, "web.eu", ERRBUF));
	FAILS(registry_del_vm(r, "web.eu", ERRBUF), "not found");
	OK(registry_del_gateway(r, "eu-1", ERRBUF));
	FAILS(registry_del_gateway(r, "eu-1", ERRBUF), "not found");
	load_ok(r, &s);
	assert_int_equal(s.ngateways, 1);
	assert_int_equal(s.nvms, 0);
	reg_snapshot_free(&s);
	registry_close(r);
}

/* etcdctl put KEY with VALUE's len bytes on its stdin: any bytes at all. */
static void etcdctl_put_bytes(const char *key, const char *value, size_t len)
{
	char cmd[8192];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s put '%s' >/dev/null",
		 env("HM_ETCD_URL"), key);
	p = popen(cmd, "w");
	assert_non_null(p);
	assert_int_equal(fwrite(value, 1, len, p), len);
	assert_int_equal(pclose(p), 0);
}

/* The one problem line that names key (a problem line starts with it, cut
 * with "..." when it is long). */
static const char *problem_of(const struct reg_snapshot *s, const char *key)
{
	const char *found = NULL;
	unsigned i;

	for (i = 0; i < s->nproblems; i++) {
		if (strncmp(s->problems[i], key, strlen(key)) || !strchr(":.", s->problems[i][strlen(key)]))
			continue;
		if (found)
			fail_msg("two problems name %s", key);
		found = s->problems[i];
	}
	if (!found)
		fail_msg("no problem names %s", key);
	return found;
}

/* Entries put corrupt straight into etcd are reported, one line each, and
 * the rest loads: bad JSON, secrets, clashes, bytes that are not text,
 * values over the record limit, keys outside the layout or of any length.
 * An earlier version's links/FROM/TO, outside the layout now, are neither
 * read nor a problem, whatever they hold. */
static void test_corrupt(void **state)
{
	struct registry *r = open_plain();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_vm v = vm("web", "10.1.0.5", "eu-1");
	struct reg_snapshot s;
	char *big, longkey[5200];
	unsigned i;

	(void)state;
	OK(registry_put_gateway(r, &g, ERRBUF));
	OK(registry_put_vm(r, &v, ERRBUF));
	etcdctl_put("/hopmesh/gateways/trunc", "{\"name\":\"trunc\",\"id\":");
	etcdctl_put("/hopmesh/gateways/leaky",
		    "{\"name\":\"leaky\",\"id\":9,\"region\":\"x\",\"public_key\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\",\"endpoint4\":\"192.0.2.1:1\","
		    "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\"}");
	etcdctl_put("/hopmesh/gateways/zz",
		    "{\"name\":\"zz\",\"id\":8,\"region\":\"x\",\"public_key\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\",\"endpoint4\":\"192.0.2.1:1\","
		    "\"prefixes\":[\"10.1.2.0/24\"]}");
	etcdctl_put("/hopmesh/vms/wg",
		    "{\"name\":\"wg\",\"address\":\"10.1.0.7\",\"gateway\":\"eu-1\","
		    "\"wg\":{\"PresharedKey\":\"x\"}}");
	etcdctl_put("/hopmesh/vms/array", "[1,2]");
	etcdctl_put("/hopmesh/vms/BAD", "{}");
	etcdctl_put("/hopmesh/vms/a/b", "{}"); /* deeper than the layout */
	/* an earlier version's links: good, corrupt, with a secret, too deep */
	etcdctl_put("/hopmesh/links/eu-1/us-1",
		    "{\"from\":\"eu-1\",\"to\":\"us-1\",\"rtt_ms\":12.5,\"up\":true}");
	etcdctl_put("/hopmesh/links/us-1/eu-1", "{\"from\":");
	etcdctl_put("/hopmesh/links/eu-1/ap-1",
		    "{\"from\":\"eu-1\",\"to\":\"ap-1\",\"wg\":{\"PresharedKey\":\"x\"}}");
	etcdctl_put("/hopmesh/links/a/b/c", "{}");
	etcdctl_put_bytes("/hopmesh/vms/nul", "{\"name\":\0\"nul\"}", 15);
	etcdctl_put_bytes("/hopmesh/vms/latin1", "{\"name\":\"caf\xe9\"}", 14);
	etcdctl_put("/hopmesh/policy", ""); /* an empty value: etcd does not send it */
	big = malloc(100000);
	assert_non_null(big);
	memset(big, ' ', 100000);
	big[0] = '{';
	big[99999] = '}';
	etcdctl_put_bytes("/hopmesh/gateways/big", big, 100000);
	free(big);
	/* a key far longer than any of the layout, in it and beside it */
	memcpy(longkey, "/hopmesh/vms/", 13);
	memset(longkey + 13, 'k', 5000);
	longkey[5013] = '\0';
	etcdctl_put(longkey, "{}");
	memcpy(longkey, "/hopmesh/zzz", 12);
	etcdctl_put(longkey, "{}");
	/* neither ours nor a problem */
	etcdctl_put("/hopmesh-other/x", "garbage");
	etcdctl_put("/hopmesh/README", "garbage");

	load_ok(r, &s);
	for (i = 0; i < s.nproblems; i++) {
		print_message("  problem: %s\n", s.problems[i]);
		assert_true(strlen(s.problems[i]) < 800);
		assert_null(strchr(s.problems[i], '\n'));
	}
	assert_non_null(strstr(problem_of(&s, "/hopmesh/gateways/trunc"), "bad JSON"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/gateways/leaky"), "private key field"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/gateways/zz"), "overlaps gateway eu-1"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/wg"), "private key field"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/array"), "not a JSON object"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/BAD"), "bad key"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/a/b"), "bad key"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/nul"), "NUL byte"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/vms/latin1"), "bad JSON"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/policy"), "default policy"));
	assert_non_null(strstr(problem_of(&s, "/hopmesh/gateways/big"), "record limit"));
	memcpy(longkey, "/hopmesh/vms/", 13);
	longkey[200] = '\0'; /* the line names 200 bytes of it, then "..." */
	assert_non_null(strstr(problem_of(&s, longkey), "bad key"));
	assert_int_equal(s.nproblems, 12);
	assert_int_equal(s.ngateways, 1);
	assert_memory_equal(&s.gateways[0], &g, sizeof(g));
	assert_int_equal(s.nvms, 1);
	assert_memory_equal(&s.vms[0], &v, sizeof(v));
	for (i = 0; i < s.nproblems; i++)
		assert_null(strstr(s.problems[i], "/hopmesh/links/"));
	assert_int_equal(s.policy.hop_limit, 2);
	reg_snapshot_free(&s);

	/* writes still check against what validates, through all of that */
	v = vm("db", "10.1.0.6", "eu-1");
	OK(registry_put_vm(r, &v, ERRBUF));
	registry_close(r);
}

/* More keys than one page of a range (2000): every page is read, at one
 * revision, and a long key on the way is paged past. */
static void test_paging(void **state)
{
	struct registry *r = open_plain();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	char cmd[512], key[3100];
	int batch, i;

	(void)state;
	OK(registry_put_gateway(r, &g, ERRBUF));
	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s txn >/dev/null",
		 env("HM_ETCD_URL"));
	for (batch = 0; batch < 21; batch++) {
		FILE *p = popen(cmd, "w");

		assert_non_null(p);
		fputs("\n", p); /* no compares; then the puts */
		for (i = batch * 100; i < batch * 100 + 100; i++)
			/* the value in Go's double-quoted form (etcdctl unquotes it) */
			fprintf(p, "put /hopmesh/vms/vm-%04d \"{\\\"name\\\":\\\"vm-%04d\\\","
				   "\\\"address\\\":\\\"10.1.%d.%d\\\",\\\"gateway\\\":"
				   "\\\"eu-1\\\"}\"\n",
				i, i, i / 200, i % 200 + 1);
		fputs("\n\n", p);
		assert_int_equal(pclose(p), 0);
	}
	/* between vm-1999 and vm-2000, and too long for the layout */
	snprintf(key, sizeof(key), "/hopmesh/vms/vm-1999-");
	memset(key + strlen(key), 'x', 3000);
	key[sizeof(key) - 1] = '\0';
	etcdctl_put(key, "{}");

	load_ok(r, &s);
	for (i = 0; i < (int)s.nproblems && i < 5; i++)
		print_message("  problem: %.120s\n", s.problems[i]);
	assert_int_equal(s.nproblems, 1);
	assert_non_null(strstr(s.problems[0], "bad key"));
	assert_int_equal(s.ngateways, 1);
	assert_int_equal(s.nvms, 2100);
	for (i = 0; i < 2100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "vm-%04d", i);
		assert_string_equal(s.vms[i].name, name); /* sorted, none twice */
	}
	reg_snapshot_free(&s);
	registry_close(r);
}

/* A change made through another handle wakes the watch within a second. */
static void test_watch(void **state)
{
	struct registry *r = open_plain(), *w = open_plain();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	uint64_t t0;
	int fd;

	(void)state;
	fd = registry_watch_fd(w);
	assert_true(fd >= 0);
	/* the stream's start wakes it once (a reload is due) */
	assert_true(readable(fd, 5000));
	usleep(200 * 1000);
	registry_watch_ack(w);
	assert_false(readable(fd, 300));

	t0 = now_ms();
	OK(registry_put_gateway(r, &g, ERRBUF));
	assert_true(readable(fd, 1000));
	print_message("  watch woke %llu ms after the put began\n",
		      (unsigned long long)(now_ms() - t0));
	registry_watch_ack(w);
	assert_false(readable(fd, 300));
	etcdctl_put("/hopmesh/policy", "{\"hop_limit\":3}");
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	OK(registry_del_gateway(r, "eu-1", ERRBUF));
	assert_true(readable(fd, 1000));
	registry_watch_ack(w);
	registry_close(w);
	registry_close(r);
}

/* The first endpoint is down: every call moves on to the next. */
static void test_failover(void **state)
{
	struct reg_options o = {.timeout_ms = 1000};
	char eps[512];
	struct registry *r, *plain = open_plain();
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_policy p;
	struct reg_snapshot s;
	uint64_t t0;
	int fd;

	(void)state;
	reg_policy_default(&p);
	p.hop_limit = 3;
	snprintf(eps, sizeof(eps), "%s,%s", env("HM_ETCD_DOWN"), env("HM_ETCD_URL"));
	r = open_url(eps, &o);
	t0 = now_ms();
	OK(registry_put_gateway(r, &g, ERRBUF));
	OK(registry_put_policy(r, &p, ERRBUF));
	load_ok(r, &s);
	assert_int_equal(s.ngateways, 1);
	assert_int_equal(s.policy.hop_limit, 3);
	reg_snapshot_free(&s);
	print_message("  3 calls with the first endpoint down: %llu ms\n",
		      (unsigned long long)(now_ms() - t0));
	/* the watch finds the live endpoint too */
	fd = registry_watch_fd(r);
	assert_true(readable(fd, 5000));
	usleep(200 * 1000);
	registry_watch_ack(r);
	g = gw("us-1", 2, "10.2.0.0/16");
	OK(registry_put_gateway(plain, &g, ERRBUF));
	assert_true(readable(fd, 2000));
	registry_close(r);

	/* all endpoints down: an error, quickly */
	snprintf(eps, sizeof(eps), "%s", env("HM_ETCD_DOWN"));
	r = open_url(eps, &o);
	{
		char err[512];

		assert_int_equal(registry_load(r, &s, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "unreachable"));
		print_message("  all down: %s\n", err);
	}
	registry_close(r);
	registry_close(plain);
}

/* Writers in several processes race for one gateway id: the transaction
 * lets exactly one through. */
static void test_racing_writers(void **state)
{
	pid_t pids[4];
	int i, won = 0, status;

	(void)state;
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct registry *r = open_plain();
			struct reg_gateway g;
			char name[32], err[512];
			int rc;

			snprintf(name, sizeof(name), "race-%d", i);
			g = gw(name, 77, NULL);
			rc = registry_put_gateway(r, &g, err, sizeof(err));
			registry_close(r);
			_exit(rc == 0 ? 42 : strstr(err, "already gateway") ? 43 : 44);
		}
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_true(WEXITSTATUS(status) == 42 || WEXITSTATUS(status) == 43);
		won += WEXITSTATUS(status) == 42;
	}
	assert_int_equal(won, 1);
}

/* ---- ownership ---- */

static const char *prefix_problem(const struct reg_snapshot *s, const char *what)
{
	for (unsigned i = 0; i < s->nproblems; i++)
		if (strstr(s->problems[i], what))
			return s->problems[i];
	return "";
}

static const struct reg_gateway *find_gw(const struct reg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

/* Of two records that claim one prefix, the older claim (create revision)
 * wins whatever the names and whichever record is older; written around
 * the library, even with a claim key of its own, the newer claim is
 * ignored on every read. */
static void test_seniority(void **state)
{
	static const char *const names[] = {"aaa", "zzz"};
	unsigned k;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct registry *r = open_plain();
		struct reg_gateway old = gw(names[k], 6, "10.9.0.0/16"), victim = gw("victim", 5, "10.1.0.0/16");
		struct reg_gateway take = old;
		struct reg_snapshot s;
		char key[128], *j;

		OK(registry_put_gateway(r, &old, ERRBUF));
		OK(registry_put_gateway(r, &victim, ERRBUF));
		snprintf(take.prefixes[1], sizeof(take.prefixes[1]), "10.1.2.0/24");
		take.nprefixes = 2;
		FAILS(registry_put_gateway(r, &take, ERRBUF), "overlaps gateway victim");

		j = reg_gateway_json(&take);
		snprintf(key, sizeof(key), "/hopmesh/gateways/%s", names[k]);
		etcdctl_put(key, j);
		free(j);
		snprintf(key, sizeof(key), "/hopmesh/claims/%s/10.1.2.0_24", names[k]);
		etcdctl_put(key, "{\"gateway\":\"aaa\",\"claim\":\"10.1.2.0/24\",\"seq\":1}");
		load_ok(r, &s);
		assert_null(find_gw(&s, names[k]));
		assert_non_null(find_gw(&s, "victim"));
		assert_string_equal(find_gw(&s, "victim")->prefixes[0], "10.1.0.0/16");
		if (!k) /* the claim key names its gateway right: only its age counts */
			assert_non_null(strstr(prefix_problem(&s, "/hopmesh/gateways/aaa"),
					       "the other's claim is older"));
		reg_snapshot_free(&s);

		/* the victim edits its record: its claim keeps its age */
		snprintf(victim.endpoint4, sizeof(victim.endpoint4), "192.0.2.99:51820");
		OK(registry_put_gateway(r, &victim, ERRBUF));
		load_ok(r, &s);
		assert_null(find_gw(&s, names[k]));
		assert_string_equal(find_gw(&s, "victim")->endpoint4, "192.0.2.99:51820");
		reg_snapshot_free(&s);

		/* deleting a gateway takes its claims with it */
		OK(registry_put_gateway(r, &old, ERRBUF));
		OK(registry_del_gateway(r, names[k], ERRBUF));
		OK(registry_del_gateway(r, "victim", ERRBUF));
		load_ok(r, &s);
		assert_int_equal(s.ngateways, 0);
		assert_int_equal(s.nproblems, 0);
		reg_snapshot_free(&s);
		registry_close(r);
		assert_int_equal(wipe(NULL), 0);
	}
}

/* registry_update follows the watch: after the first (full) read, each
 * change is applied key by key (no full read) and gives what a full read
 * over the same last snapshot gives, clashes settled by seniority and
 * corrupt records kept at their last good version included. */
static void update_step(struct registry *w, int fd, struct registry *r, struct reg_snapshot *last)
{
	struct reg_snapshot inc, whole;
	char err[512] = "";
	bool was_full = true;
	unsigned i;

	assert_true(readable(fd, 2000));
	usleep(200 * 1000); /* the rest of a burst of changes */
	registry_watch_ack(w);
	if (registry_update(w, last, false, &inc, &was_full, err, sizeof(err)) != 0)
		fail_msg("registry_update: %s", err);
	assert_false(was_full);
	if (registry_load_over(r, last, &whole, err, sizeof(err)) != 0)
		fail_msg("registry_load_over: %s", err);
	assert_int_equal(inc.ngateways, whole.ngateways);
	assert_int_equal(inc.nvms, whole.nvms);
	assert_int_equal(inc.nproblems, whole.nproblems);
	assert_int_equal(inc.revision, whole.revision);
	assert_memory_equal(&inc.policy, &whole.policy, sizeof(inc.policy));
	for (i = 0; i < inc.ngateways; i++) {
		char *a = reg_gateway_json(&inc.gateways[i]), *b = reg_gateway_json(&whole.gateways[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	for (i = 0; i < inc.nvms; i++) {
		char *a = reg_vm_json(&inc.vms[i]), *b = reg_vm_json(&whole.vms[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	for (i = 0; i < inc.nproblems; i++)
		assert_string_equal(inc.problems[i], whole.problems[i]);
	reg_snapshot_free(&whole);
	reg_snapshot_free(last);
	*last = inc;
}

static void test_update(void **state)
{
	struct registry *r = open_plain(), *w = open_plain();
	struct reg_gateway g1 = gw("eu-1", 1, "10.1.0.0/16"), g2 = gw("us-1", 2, "10.2.0.0/16");
	struct reg_vm v1 = vm("web-1", "10.1.0.5", "eu-1");
	struct reg_snapshot last;
	bool was_full = false;
	char err[512] = "", *j;
	int fd;

	(void)state;
	OK(registry_put_gateway(r, &g1, ERRBUF));
	fd = registry_watch_fd(w);
	assert_true(fd >= 0);
	assert_true(readable(fd, 5000)); /* the stream's start */
	usleep(200 * 1000);
	registry_watch_ack(w);
	if (registry_update(w, NULL, false, &last, &was_full, err, sizeof(err)) != 0)
		fail_msg("registry_update: %s", err);
	assert_true(was_full);
	assert_int_equal(last.ngateways, 1);

	OK(registry_put_gateway(r, &g2, ERRBUF)); /* a gateway and its claims */
	update_step(w, fd, r, &last);
	assert_int_equal(last.ngateways, 2);
	OK(registry_put_vm(r, &v1, ERRBUF)); /* a VM put, overwritten, deleted */
	update_step(w, fd, r, &last);
	assert_int_equal(last.nvms, 1);
	snprintf(v1.address, sizeof(v1.address), "10.1.0.6");
	OK(registry_put_vm(r, &v1, ERRBUF));
	update_step(w, fd, r, &last);
	assert_string_equal(last.vms[0].address, "10.1.0.6");
	etcdctl_put("/hopmesh/vms/web-1", "{broken"); /* corrupt: the last good one stays */
	update_step(w, fd, r, &last);
	assert_int_equal(last.nvms, 1);
	assert_true(last.nproblems >= 1);
	OK(registry_del_vm(r, "web-1", ERRBUF));
	update_step(w, fd, r, &last);
	assert_int_equal(last.nvms, 0);

	/* written around meshctl: a newer gateway on eu-1's prefix, with a
	 * claim of its own (younger), is left out on apply as on a full read */
	g2 = gw("aa-late", 3, "10.1.0.0/24");
	j = reg_gateway_json(&g2);
	etcdctl_put("/hopmesh/claims/aa-late/10.1.0.0_24",
		    "{\"gateway\":\"aa-late\",\"claim\":\"10.1.0.0/24\"}");
	etcdctl_put("/hopmesh/gateways/aa-late", j);
	free(j);
	update_step(w, fd, r, &last);
	assert_null(find_gw(&last, "aa-late"));
	OK(registry_del_gateway(r, "eu-1", ERRBUF)); /* the older goes: the newer stands */
	update_step(w, fd, r, &last);
	assert_non_null(find_gw(&last, "aa-late"));

	reg_snapshot_free(&last);
	registry_close(w);
	registry_close(r);
}

/* etcdctl as USER on the auth etcd; its exit status. */
static int etcdctl_as(const char *user, const char *pass, const char *args)
{
	char *cmd;
	int rc;

	assert_true(asprintf(&cmd,
			     "ETCDCTL_API=3 etcdctl --endpoints=%s --cacert %s/ca.pem --user '%s:%s' %s "
			     ">/dev/null 2>&1",
			     env("HM_ETCD_AUTH_URL"), env("HM_ETCD_TLS_DIR"), user, pass, args) > 0);
	rc = system(cmd);
	free(cmd);
	return rc;
}

/* The roles of docs/OPERATIONS.md: a gateway's credential reads /hopmesh/
 * and writes nothing at all (records, claims, VMs and policy are the
 * operators', and meshd writes nothing but compactions); etcd refuses every
 * write. An operator's record that takes another's prefix is refused on
 * write and ignored on read. */
static void test_roles(void **state)
{
	static char ca[512];
	static const char *const refused[] = {
		"put /hopmesh/gateways/victimx '{}'",
		"put /hopmesh/policy '{}'",
		"put /hopmesh/vms/web '{}'",
		"put /hopmesh/claims/aaa/10.2.0.0_16 '{}'",   /* its own claims */
		"del /hopmesh/claims/victim/10.1.0.0_16",     /* another's */
		"put /hopmesh/links/aaa/victim '{}'",          /* an earlier version's links */
		"put /hopmesh/anything '{}'",
		"del --prefix /hopmesh/",
		"put /elsewhere '{}'",
	};
	const char *pw = env("HM_ETCD_GW_PASS");
	struct reg_options op = {.username = "operator", .password = pw, .ca_file = ca};
	struct reg_options aaa_o = {.username = "gw-aaa", .password = pw, .ca_file = ca};
	struct reg_options vic_o = {.username = "gw-victim", .password = pw, .ca_file = ca};
	struct registry *oper, *aaa, *vic;
	struct reg_gateway a = gw("aaa", 6, "10.9.0.0/16"), v = gw("victim", 5, "10.1.0.0/16");
	struct reg_gateway take = a, forged = v, moved;
	struct reg_vm web = vm("web", "10.9.0.5", "aaa"), db = vm("db", "10.9.0.6", "aaa");
	struct reg_policy pol;
	struct reg_snapshot s;
	char *j, args[1024];
	unsigned i;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.pem", env("HM_ETCD_TLS_DIR"));
	oper = open_url(env("HM_ETCD_AUTH_URL"), &op);
	aaa = open_url(env("HM_ETCD_AUTH_URL"), &aaa_o);
	vic = open_url(env("HM_ETCD_AUTH_URL"), &vic_o);
	OK(registry_put_gateway(oper, &a, ERRBUF));
	OK(registry_put_gateway(oper, &v, ERRBUF));
	OK(registry_put_vm(oper, &web, ERRBUF));

	/* through the library: another's record, its own, VMs, policy */
	snprintf(forged.endpoint4, sizeof(forged.endpoint4), "198.51.100.1:51820");
	FAILS(registry_put_gateway(aaa, &forged, ERRBUF), "permission denied");
	FAILS(registry_del_gateway(aaa, "victim", ERRBUF), "permission denied");
	moved = a;
	snprintf(moved.endpoint4, sizeof(moved.endpoint4), "198.51.100.2:51820");
	FAILS(registry_put_gateway(aaa, &moved, ERRBUF), "permission denied");
	FAILS(registry_del_gateway(vic, "victim", ERRBUF), "permission denied");
	FAILS(registry_put_vm(aaa, &db, ERRBUF), "permission denied");
	FAILS(registry_del_vm(aaa, "web", ERRBUF), "permission denied");
	reg_policy_default(&pol);
	pol.hop_limit = 3;
	FAILS(registry_put_policy(aaa, &pol, ERRBUF), "permission denied");
	/* around it, with etcdctl: any key, its own claims, anything at all */
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!etcdctl_as("gw-aaa", pw, refused[i]))
			fail_msg("gw-aaa may: etcdctl %s", refused[i]);
	/* reading is allowed: all of it, as the operators wrote it */
	load_ok(aaa, &s);
	assert_int_equal(s.nproblems, 0);
	assert_int_equal(s.ngateways, 2);
	assert_memory_equal(find_gw(&s, "aaa"), &a, sizeof(a));
	assert_memory_equal(find_gw(&s, "victim"), &v, sizeof(v));
	assert_int_equal(s.nvms, 1);
	assert_string_equal(s.vms[0].address, "10.9.0.5");
	assert_int_equal(s.policy.hop_limit, 2);
	reg_snapshot_free(&s);
	OK(registry_del_vm(oper, "web", ERRBUF));

	/* aaa's record made to take the victim's prefix, by an operator:
	 * refused on write, and ignored on read when written around the
	 * library (with a claim key of its own) */
	snprintf(take.prefixes[1], sizeof(take.prefixes[1]), "10.1.2.0/24");
	take.nprefixes = 2;
	FAILS(registry_put_gateway(oper, &take, ERRBUF), "overlaps gateway victim");
	j = reg_gateway_json(&take);
	snprintf(args, sizeof(args), "put /hopmesh/gateways/aaa '%s'", j);
	free(j);
	assert_int_equal(etcdctl_as("operator", pw, args), 0);
	assert_int_equal(etcdctl_as("operator", pw,
				    "put /hopmesh/claims/aaa/10.1.2.0_24 "
				    "'{\"gateway\":\"aaa\",\"claim\":\"10.1.2.0/24\"}'"),
			 0);
	load_ok(vic, &s);
	assert_null(find_gw(&s, "aaa"));
	assert_string_equal(find_gw(&s, "victim")->prefixes[0], "10.1.0.0/16");
	assert_non_null(strstr(prefix_problem(&s, "/hopmesh/gateways/aaa"), "the other's claim is older"));
	/* the compacting meshd uses its gateway's user: etcd lets it */
	assert_true(s.revision > 0);
	OK(registry_compact(vic, s.revision, ERRBUF));
	OK(registry_compact(aaa, s.revision - 1, ERRBUF)); /* compacted already: no error */
	reg_snapshot_free(&s);

	OK(registry_put_gateway(oper, &a, ERRBUF)); /* put right again */
	OK(registry_del_gateway(oper, "aaa", ERRBUF));
	OK(registry_del_gateway(oper, "victim", ERRBUF));
	registry_close(oper);
	registry_close(aaa);
	registry_close(vic);
}

/* ---- authentication ---- */

static void test_auth(void **state)
{
	/* the auth etcd is on https: credentials over http:// are refused */
	static char ca[512];
	struct reg_options o = {.username = "root", .password = env("HM_ETCD_AUTH_PASS"), .ca_file = ca};
	struct reg_options wrong = {.username = "root", .password = "not-the-password", .ca_file = ca};
	struct reg_options none = {.ca_file = ca};
	struct registry *r, *w, *anon, *bad;
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	int fd;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.pem", env("HM_ETCD_TLS_DIR"));
	r = open_url(env("HM_ETCD_AUTH_URL"), &o);
	w = open_url(env("HM_ETCD_AUTH_URL"), &o);
	anon = open_url(env("HM_ETCD_AUTH_URL"), &none);
	bad = open_url(env("HM_ETCD_AUTH_URL"), &wrong);
	FAILS(registry_put_gateway(anon, &g, ERRBUF), "user name is empty");
	FAILS(registry_put_gateway(bad, &g, ERRBUF), "authentication");
	OK(registry_put_gateway(r, &g, ERRBUF));
	load_ok(r, &s);
	assert_int_equal(s.ngateways, 1);
	reg_snapshot_free(&s);

	fd = registry_watch_fd(w);
	assert_true(readable(fd, 5000));
	usleep(200 * 1000);
	registry_watch_ack(w);

	/* the tokens expire (--auth-token-ttl 2): the next call is rejected
	 * once, authenticates again and goes through */
	sleep(4);
	load_ok(r, &s);
	assert_int_equal(s.ngateways, 1);
	reg_snapshot_free(&s);
	OK(registry_del_gateway(r, "eu-1", ERRBUF));
	/* the watch stream keeps working with its token, or got a new one */
	assert_true(readable(fd, 6000));
	registry_close(r);
	registry_close(w);
	registry_close(anon);
	registry_close(bad);
}

/* ---- TLS ---- */

static void test_tls(void **state)
{
	char ca[512], cert[512], key[512], other[512];
	const char *dir = env("HM_ETCD_TLS_DIR");
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_snapshot s;
	struct registry *r;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/client.pem", dir);
	snprintf(key, sizeof(key), "%s/client-key.pem", dir);
	snprintf(other, sizeof(other), "%s/other-ca.pem", dir);
	{
		struct reg_options o = {.ca_file = ca, .cert_file = cert, .key_file = key};

		r = open_url(env("HM_ETCD_TLS_URL"), &o);
		OK(registry_put_gateway(r, &g, ERRBUF));
		load_ok(r, &s);
		assert_int_equal(s.ngateways, 1);
		reg_snapshot_free(&s);
		OK(registry_del_gateway(r, "eu-1", ERRBUF));
		registry_close(r);
	}
	{
		/* no client certificate: etcd refuses the connection */
		struct reg_options o = {.ca_file = ca, .timeout_ms = 1000};

		r = open_url(env("HM_ETCD_TLS_URL"), &o);
		FAILS(registry_put_gateway(r, &g, ERRBUF), "unreachable");
		registry_close(r);
	}
	{
		/* a server certificate from a CA we do not trust */
		struct reg_options o = {.ca_file = other, .cert_file = cert, .key_file = key,
					.timeout_ms = 1000};

		r = open_url(env("HM_ETCD_TLS_URL"), &o);
		FAILS(registry_put_gateway(r, &g, ERRBUF), "unreachable");
		registry_close(r);
	}
}

/* ---- a 3-member cluster losing a member ---- */

/* Until a load goes through, at most ms: how long it took, or fails. */
static uint64_t load_within(struct registry *r, struct reg_snapshot *s, uint64_t ms)
{
	uint64_t t0 = now_ms();
	char err[512] = "";

	while (registry_load(r, s, err, sizeof(err)) != 0) {
		if (now_ms() - t0 > ms)
			fail_msg("no load for %llu ms: %s", (unsigned long long)ms, err);
		usleep(100 * 1000);
	}
	return now_ms() - t0;
}

/* Waits until the watch fd has been quiet for quiet_ms, acking each wake. */
static void settle(struct registry *r, int fd, int quiet_ms, uint64_t max_ms)
{
	uint64_t t0 = now_ms();

	while (readable(fd, quiet_ms)) {
		registry_watch_ack(r);
		if (now_ms() - t0 > max_ms)
			fail_msg("the watch kept waking for %llu ms", (unsigned long long)max_ms);
	}
}

/*
 * HM_ETCD_CLUSTER: the three members' URLs, the first being the leader;
 * HM_ETCD_CLUSTER_LEADER_PID: its PID (started by the script, for this test
 * to end). A handle on all three keeps working when the member it talks to,
 * the leader, is killed: loads and writes go on through the others, and its
 * watch reconnects and reports changes.
 */
static void test_cluster_member_dies(void **state)
{
	const char *eps = env("HM_ETCD_CLUSTER");
	pid_t leader = (pid_t)atoi(env("HM_ETCD_CLUSTER_LEADER_PID"));
	struct reg_options o = {.timeout_ms = 1000};
	struct registry *r = open_url(eps, &o), *w = open_url(eps, &o), *other;
	struct reg_gateway g = gw("eu-1", 1, "10.1.0.0/16");
	struct reg_policy p;
	struct reg_snapshot s;
	uint64_t t0, took;
	int fd, i;

	(void)state;
	assert_true(leader > 1);
	/* the others only: a second client that does not know the dead one */
	other = open_url(strchr(eps, ',') + 1, &o);
	reg_policy_default(&p);
	OK(registry_put_gateway(r, &g, ERRBUF));
	fd = registry_watch_fd(w);
	assert_true(fd >= 0);
	settle(w, fd, 500, 10000);

	assert_int_equal(kill(leader, SIGKILL), 0);
	t0 = now_ms();
	took = load_within(r, &s, 15000);
	print_message("  leader killed: first load after %llu ms\n", (unsigned long long)took);
	assert_int_equal(s.ngateways, 1);
	reg_snapshot_free(&s);

	/* writes go through once a new leader is elected */
	g = gw("us-1", 2, "10.2.0.0/16");
	for (i = 0;; i++) {
		char err[512];

		if (registry_put_gateway(r, &g, err, sizeof(err)) == 0)
			break;
		if (now_ms() - t0 > 15000)
			fail_msg("no write 15 s after the kill: %s", err);
		usleep(200 * 1000);
	}
	print_message("  first write %llu ms after the kill (%d retries)\n",
		      (unsigned long long)(now_ms() - t0), i);

	load_within(other, &s, 1000);
	assert_int_equal(s.ngateways, 2);
	reg_snapshot_free(&s);

	/* the watch moved to a live member: quiet now, and a change wakes it */
	settle(w, fd, 1500, 20000);
	g = gw("ap-1", 3, "10.3.0.0/16");
	OK(registry_put_gateway(other, &g, ERRBUF));
	t0 = now_ms();
	assert_true(readable(fd, 2000));
	print_message("  the watch woke %llu ms after a change\n", (unsigned long long)(now_ms() - t0));
	registry_watch_ack(w);
	load_within(w, &s, 1000);
	assert_int_equal(s.ngateways, 3);
	reg_snapshot_free(&s);

	/* every call of a fresh handle listing the dead member first works */
	registry_close(r);
	r = open_url(eps, &o);
	for (i = 0; i < 5; i++) {
		load_within(r, &s, 0);
		reg_snapshot_free(&s);
		p.hop_limit = (unsigned)i + 1;
		OK(registry_put_policy(r, &p, ERRBUF));
	}
	registry_close(r);
	registry_close(w);
	registry_close(other);
}

/* ---- the script's watch monitor ---- */

static volatile sig_atomic_t monitor_stop;

static void monitor_term(int sig)
{
	(void)sig;
	monitor_stop = 1;
}

static int watch_monitor(const char *endpoints, unsigned seconds)
{
	struct sigaction sa = {.sa_handler = monitor_term};
	char url[512], err[512];
	struct reg_options o = {.timeout_ms = 1000};
	struct registry *r;
	uint64_t end = now_ms() + seconds * 1000ull;
	int fd;

	snprintf(url, sizeof(url), "etcd:%s", endpoints);
	r = registry_open(url, &o, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	fd = registry_watch_fd(r);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (now_ms() < end && !monitor_stop) {
		struct reg_snapshot s;

		if (!readable(fd, 200))
			continue;
		registry_watch_ack(r);
		if (registry_load(r, &s, err, sizeof(err)) == 0) {
			printf("wake: load ok, %u gateways\n", s.ngateways);
			reg_snapshot_free(&s);
		} else {
			printf("wake: load failed: %s\n", err);
		}
	}
	registry_close(r);
	printf("monitor: closed\n");
	return 0;
}

/* Configuration churn, as an operator's meshctl makes it: VM records added
 * and deleted through the registry, wps writes a second for seconds, behind
 * a gateway of the churn's own (put first). At most CHURN_VMS VMs at a time,
 * so the store stays the same size and only etcd's history grows. */
#define CHURN_VMS 50

static int churn(const char *endpoints, unsigned wps, unsigned seconds)
{
	struct registry *r = open_url(endpoints, NULL);
	struct reg_gateway g = gw("churn", REG_MAX_GATEWAY_ID, "10.255.0.0/16");
	uint64_t start = now_ms(), end = start + seconds * 1000ull;
	unsigned added = 0, removed = 0, writes = 0;
	char err[512], name[REG_VM_NAME_LEN];

	if (!wps || registry_put_gateway(r, &g, err, sizeof(err))) {
		fprintf(stderr, "churn: %s\n", wps ? err : "WRITES_PER_S must be > 0");
		registry_close(r);
		return 1;
	}
	while (now_ms() < end) {
		uint64_t next = start + (writes + 1) * 1000ull / wps;
		int rc;

		if (added - removed < CHURN_VMS) {
			char addr[REG_ADDR_LEN];
			struct reg_vm v;

			snprintf(name, sizeof(name), "vm-%u.churn.soak.example", added);
			snprintf(addr, sizeof(addr), "10.255.%u.%u", added / 250 % 256, added % 250 + 1);
			v = vm(name, addr, "churn");
			rc = registry_put_vm(r, &v, err, sizeof(err));
			added++;
		} else {
			snprintf(name, sizeof(name), "vm-%u.churn.soak.example", removed);
			rc = registry_del_vm(r, name, err, sizeof(err));
			removed++;
		}
		if (rc) {
			fprintf(stderr, "churn: %s\n", err);
			registry_close(r);
			return 1;
		}
		writes++;
		if (next > now_ms())
			usleep((useconds_t)(next - now_ms()) * 1000);
	}
	registry_close(r);
	printf("%u writes in %u s\n", writes, seconds);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test_setup(test_put_load_del, wipe),
		cmocka_unit_test_setup(test_corrupt, wipe),
		cmocka_unit_test_setup(test_paging, wipe),
		cmocka_unit_test_setup(test_watch, wipe),
		cmocka_unit_test_setup(test_update, wipe),
		cmocka_unit_test_setup(test_failover, wipe),
		cmocka_unit_test_setup(test_racing_writers, wipe),
		cmocka_unit_test_setup(test_seniority, wipe),
	};
	const struct CMUnitTest secure[] = {
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_tls),
	};
	int rc;

	const struct CMUnitTest cluster[] = {
		cmocka_unit_test(test_cluster_member_dies),
	};

	if (argc == 5 && !strcmp(argv[1], "churn"))
		return churn(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "watch"))
		return watch_monitor(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "cluster"))
		return cmocka_run_group_tests_name("registry etcd cluster", cluster, NULL, NULL) ? 1 : 0;
	if (argc != 1) {
		fprintf(stderr,
			"usage: %s [cluster] | %s watch ENDPOINTS SECONDS | %s churn ENDPOINTS "
			"WRITES_PER_S SECONDS\n",
			argv[0], argv[0], argv[0]);
		return 2;
	}
	rc = cmocka_run_group_tests_name("registry etcd", plain, NULL, NULL);
	rc |= cmocka_run_group_tests_name("registry etcd auth and tls", secure, NULL, NULL);
	return rc ? 1 : 0;
}
