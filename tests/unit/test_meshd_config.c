// SPDX-License-Identifier: MIT
/*
 * controlplane/meshd_config.c on temp files, no root: the checks on secrets
 * (a config holding the etcd password only at mode 0600, the etcd client key
 * likewise), the metrics address parsed whole, the link damping keys, and
 * the registry's refusal of credentials over plain http:// (etcd_http.c,
 * through registry_open: nothing is sent, so no etcd is needed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "meshd.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hopmesh-conf-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/meshd.conf", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/client-key.pem", dir);
	unlink(p);
	return rmdir(dir);
}

static const char *base = "[meshd]\n"
			  "gateway = eu-west\n"
			  "registry = dir:/tmp/hopmesh-conf-nowhere\n"
			  "interface = hm0\n"
			  "control = /tmp/hm0.ctl\n";

/* Writes base + extra to DIR/meshd.conf at mode, loads it: true if loaded,
 * the error in err otherwise. */
static struct meshd_config c; /* the last one loaded */

static bool load(const char *extra, mode_t mode, char *err, size_t errlen)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/meshd.conf", dir);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s", base, extra);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	err[0] = '\0';
	return meshd_config_load(&c, path, err, errlen);
}

static void test_password_file_mode(void **state)
{
	char err[512];

	(void)state;
	/* no password: any mode */
	assert_true(load("", 0644, err, sizeof(err)));
	assert_true(load("[etcd]\nusername = meshd\n", 0644, err, sizeof(err)));
	/* a password: 0600 or stricter only */
	assert_true(load("[etcd]\nusername = meshd\npassword = s3cret\n", 0600, err, sizeof(err)));
	assert_true(load("[etcd]\nusername = meshd\npassword = s3cret\n", 0400, err, sizeof(err)));
	assert_false(load("[etcd]\nusername = meshd\npassword = s3cret\n", 0644, err, sizeof(err)));
	assert_non_null(strstr(err, "holds the etcd password"));
	assert_non_null(strstr(err, "mode 644"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_false(load("[etcd]\nusername = meshd\npassword = s3cret\n", 0640, err, sizeof(err)));
	assert_false(load("[etcd]\nusername = meshd\npassword = s3cret\n", 0604, err, sizeof(err)));
	/* the error never shows the password */
	assert_null(strstr(err, "s3cret"));
}

static void test_key_file(void **state)
{
	char err[512], key[128], extra[256];
	FILE *f;

	(void)state;
	snprintf(key, sizeof(key), "%s/client-key.pem", dir);
	snprintf(extra, sizeof(extra), "[etcd]\nca_file = /x/ca.pem\ncert_file = /x/c.pem\nkey_file = %s\n",
		 key);
	/* missing */
	assert_false(load(extra, 0644, err, sizeof(err)));
	assert_non_null(strstr(err, "key_file"));
	f = fopen(key, "w");
	assert_non_null(f);
	fputs("not really a key\n", f);
	fclose(f);
	assert_int_equal(chmod(key, 0644), 0);
	assert_false(load(extra, 0644, err, sizeof(err)));
	assert_non_null(strstr(err, "is the etcd client key"));
	assert_non_null(strstr(err, "mode 644"));
	assert_int_equal(chmod(key, 0600), 0);
	assert_true(load(extra, 0644, err, sizeof(err)));
	/* another user's key (root can make one) */
	if (geteuid() == 0) {
		assert_int_equal(chown(key, 65534, 65534), 0);
		assert_false(load(extra, 0644, err, sizeof(err)));
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
}

static void test_metrics_address(void **state)
{
	static const char *const good[] = { "127.0.0.1:9464", "0.0.0.0:1", "10.1.2.3:65535" };
	static const char *const bad[] = {
		"127.0.0.1:99999", "127.0.0.1:9x", "127.0.0.1:0", "127.0.0.1:", "127.0.0.1",
		":9464", "localhost:9464", "127.0.0.1:+80", "127.0.0.1:-1", "127.0.0.1: 80",
		"127.0.0.1:65536", "[::1]:9464", "127.0.0.1:18446744073709551617",
	};
	struct sockaddr_in sa;
	char extra[128], err[512];

	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(meshd_metrics_addr(good[i], &sa));
		snprintf(extra, sizeof(extra), "metrics = %s\n", good[i]);
		assert_true(load(extra, 0644, err, sizeof(err)));
	}
	assert_true(meshd_metrics_addr("127.0.0.1:9464", &sa));
	assert_int_equal(ntohs(sa.sin_port), 9464);
	assert_int_equal(ntohl(sa.sin_addr.s_addr), 0x7f000001);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(meshd_metrics_addr(bad[i], &sa));
		snprintf(extra, sizeof(extra), "metrics = %s\n", bad[i]);
		if (load(extra, 0644, err, sizeof(err)))
			fail_msg("metrics = %s was taken", bad[i]);
		assert_non_null(strstr(err, "metrics: IPv4:PORT"));
	}
	/* empty: off */
	assert_true(load("metrics =\n", 0644, err, sizeof(err)));
}

/* The damping keys: defaults, values taken, out of range refused with the
 * key named, a cap below the first hold-down refused. */
static void test_damping_keys(void **state)
{
	static const char *const bad[] = {
		"link_holddown_ms = 600001\n", "link_holddown_ms = -1\n", "link_holddown_max_ms = x\n",
		"link_flap_halflife_ms = 999\n", "link_holddown_loss_pct = 101\n",
		"link_holddown_loss_pct = 0.5\n",
	};
	char err[512];

	(void)state;
	assert_true(load("", 0644, err, sizeof(err)));
	assert_int_equal(c.probe.holddown_ms, 1000);
	assert_int_equal(c.probe.holddown_max_ms, 8000);
	assert_int_equal(c.probe.flap_halflife_ms, 30000);
	assert_true(c.probe.holddown_max_loss > 0.199 && c.probe.holddown_max_loss < 0.201);
	assert_true(load("link_holddown_ms = 500\nlink_holddown_max_ms = 60000\n"
			 "link_flap_halflife_ms = 120000\nlink_holddown_loss_pct = 10\n", 0644, err, sizeof(err)));
	assert_int_equal(c.probe.holddown_ms, 500);
	assert_int_equal(c.probe.holddown_max_ms, 60000);
	assert_int_equal(c.probe.flap_halflife_ms, 120000);
	assert_true(c.probe.holddown_max_loss > 0.099 && c.probe.holddown_max_loss < 0.101);
	assert_true(load("link_holddown_ms = 0\nlink_holddown_max_ms = 0\n", 0644, err, sizeof(err)));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load(bad[i], 0644, err, sizeof(err)))
			fail_msg("%s was taken", bad[i]);
		assert_non_null(strstr(err, "link_"));
	}
	assert_false(load("link_holddown_ms = 9000\n", 0644, err, sizeof(err)));
	assert_non_null(strstr(err, "link_holddown_max_ms must be at least link_holddown_ms"));
}

/* Credentials over http:// are refused when the registry opens; over
 * https://, or without credentials, it opens (nothing is sent yet). */
static void test_plain_http_credentials(void **state)
{
	const struct reg_options user = { .username = "root", .password = "pw" };
	const struct reg_options cert = { .cert_file = "/x/c.pem", .key_file = "/x/k.pem" };
	const struct reg_options user_tls = { .username = "root", .password = "pw",
					      .ca_file = "/x/ca.pem" };
	char err[512];
	struct registry *r;

	(void)state;
	assert_null(registry_open("etcd:http://127.0.0.1:1", &user, err, sizeof(err)));
	assert_non_null(strstr(err, "plain http://"));
	assert_non_null(strstr(err, "user name and password"));
	assert_null(strstr(err, "pw\""));
	/* one plain endpoint among https ones is enough to refuse */
	assert_null(registry_open("etcd:https://127.0.0.1:1,http://127.0.0.1:2", &user_tls, err,
				  sizeof(err)));
	assert_non_null(strstr(err, "http://127.0.0.1:2"));
	assert_null(registry_open("etcd:http://127.0.0.1:1", &cert, err, sizeof(err)));
	assert_non_null(strstr(err, "client certificate"));
	/* HOST:PORT without a CA is http:// */
	assert_null(registry_open("etcd:127.0.0.1:1", &user, err, sizeof(err)));
	/* and with one, https:// */
	r = registry_open("etcd:127.0.0.1:1", &user_tls, err, sizeof(err));
	assert_non_null(r);
	registry_close(r);
	r = registry_open("etcd:https://127.0.0.1:1", &user_tls, err, sizeof(err));
	assert_non_null(r);
	registry_close(r);
	r = registry_open("etcd:http://127.0.0.1:1", NULL, err, sizeof(err));
	assert_non_null(r);
	registry_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_password_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damping_keys, setup, teardown),
		cmocka_unit_test(test_plain_http_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
