// SPDX-License-Identifier: MIT
/*
 * controlplane/gwclient.c's reading of a UAPI get=1 reply, parsed line by
 * line as it arrives (the reply carries the private key, so it is never
 * gathered in a heap buffer): a scripted server on a UNIX socket in a temp
 * dir sends it in small pieces that cut lines and keys anywhere. And its
 * reading of control socket replies: an error is what the JSON says, not a
 * word in it. No root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "gwclient.h"

static char dir[32], sock[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hopmesh-gwc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/wg.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock);
	return rmdir(dir);
}

/* A child that answers one connection with reply, piece bytes at a time. */
static pid_t serve(const char *reply, size_t piece)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	unlink(sock);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char req[64];
		size_t got = 0, n = strlen(reply);
		int c = accept(l, NULL, NULL);

		while (got < 7) {
			ssize_t r = read(c, req + got, sizeof(req) - got);

			if (r <= 0)
				_exit(1);
			got += (size_t)r;
		}
		if (memcmp(req, "get=1\n\n", 7))
			_exit(2);
		for (size_t off = 0; off < n; off += piece) {
			if (write(c, reply + off, off + piece < n ? piece : n - off) < 0)
				_exit(3);
			usleep(200);
		}
		close(c);
		_exit(0);
	}
	close(l);
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#define KEY_A "0101010101010101010101010101010101010101010101010101010101010101"
#define KEY_B "0202020202020202020202020202020202020202020202020202020202020202"

static const char *reply_ok =
	"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
	"listen_port=51820\n"
	"public_key=" KEY_A "\n"
	"endpoint=192.0.2.1:51820\n"
	"allowed_ip=10.1.0.0/24\n"
	"allowed_ip=fd00:1::/64\n"
	"rx_bytes=1234\n"
	"tx_bytes=5678\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=5\n"
	"public_key=" KEY_B "\n"
	"x_too_long=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n"
	"allowed_ip=10.2.0.0/24\n"
	"errno=0\n"
	"\n";

static void test_peers(void **state)
{
	static const size_t pieces[] = { 1, 3, 7, 64, 4096 };

	(void)state;
	for (unsigned k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct gw_peer_state *p = NULL;
		unsigned n = 0;
		char err[256] = "";
		pid_t pid = serve(reply_ok, pieces[k]);

		if (gw_uapi_peers_at(sock, &p, &n, err, sizeof(err)))
			fail_msg("pieces of %zu: %s", pieces[k], err);
		reap(pid);
		assert_int_equal(n, 2);
		assert_int_equal(p[0].public_key[0], 1);
		assert_int_equal(p[0].public_key[31], 1);
		assert_string_equal(p[0].endpoint, "192.0.2.1:51820");
		assert_int_equal(p[0].nallowed, 2);
		assert_string_equal(p[0].allowed[1], "fd00:1::/64");
		assert_int_equal(p[0].rx_bytes, 1234);
		assert_int_equal(p[0].tx_bytes, 5678);
		assert_int_equal(p[0].last_handshake_unix_ns, 1700000000000000005ULL);
		assert_int_equal(p[1].public_key[0], 2);
		assert_string_equal(p[1].endpoint, "");
		/* the overlong line was skipped whole, not cut into a key */
		assert_int_equal(p[1].nallowed, 1);
		assert_string_equal(p[1].allowed[0], "10.2.0.0/24");
		free(p);
	}
}

/* A reply cut short (no "errno=N" and blank line): an error, no peers. */
static void test_cut_short(void **state)
{
	struct gw_peer_state *p = NULL;
	unsigned n = 7;
	char err[256] = "";
	pid_t pid = serve("private_key=" KEY_A "\npublic_key=" KEY_B "\n", 5);

	(void)state;
	assert_int_equal(gw_uapi_peers_at(sock, &p, &n, err, sizeof(err)), -1);
	reap(pid);
	assert_non_null(strstr(err, "no complete reply"));
	assert_null(p);
	assert_int_equal(n, 7);
	/* nobody there */
	unlink(sock);
	assert_int_equal(gw_uapi_peers_at(sock, &p, &n, err, sizeof(err)), -1);
}

/* In a child serving c: one request read, up to its "version" line. */
static void read_request(int c)
{
	char req[256];
	size_t got = 0;

	while (got < sizeof(req) - 1) {
		ssize_t r = read(c, req + got, sizeof(req) - 1 - got);

		if (r <= 0)
			_exit(1);
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "version\n"))
			return;
	}
}

/* A child that reads one connection's control requests up to "version" and
 * answers with reply. */
static pid_t serve_ctl(const char *reply)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	unlink(sock);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int c = accept(l, NULL, NULL);

		read_request(c);
		if (write(c, reply, strlen(reply)) < 0)
			_exit(3);
		close(c);
		_exit(0);
	}
	close(l);
	return pid;
}

static void count_reply(void *arg, const char *json)
{
	(void)json;
	(*(unsigned *)arg)++;
}

/* A gateway named "error" is no error; an "error" member is, and so is a
 * line that is not a JSON object. */
static void test_ctl_errors(void **state)
{
	char err[256] = "";
	unsigned replies = 0;
	pid_t pid = serve_ctl("{\"self\":1,\"gateways\":[{\"id\":2,\"name\":\"error\"}]}\n"
			      "{\"error\":\"bad prefix x\"}\n"
			      "{\"ok\":true}\n"
			      "{\"protocol\":1,\"gateway\":\"g1\"}\n");

	(void)state;
	assert_int_equal(gw_ctl(sock, "dump gateways\nroute add x 2\nquiet off\n", count_reply,
				&replies, err, sizeof(err)),
			 1);
	reap(pid);
	assert_int_equal(replies, 3);

	pid = serve_ctl("{\"ok\":tr\n{\"protocol\":1,\"gateway\":\"g1\"}\n");
	assert_int_equal(gw_ctl(sock, "quiet off\n", NULL, NULL, err, sizeof(err)), 1);
	reap(pid);
}

/* Answers one request (up to its "version") on c with reply. */
static void answer_one(int c, const char *reply)
{
	static const char version[] = "{\"protocol\":1,\"gateway\":\"g1\"}\n";

	read_request(c);
	if (write(c, reply, strlen(reply)) < 0 || write(c, version, strlen(version)) < 0)
		_exit(3);
}

/* Two requests on one connection, which the gateway then closes (as a
 * restarted one would): the third goes on a new connection. A client that
 * connected for the second would wait on a connection never accepted. */
static void test_ctl_conn_kept(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct gw_ctl_conn c = { 0 };
	char err[256] = "";
	const char *r;
	int l = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	pid_t pid;

	(void)state;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	unlink(sock);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int k = accept(l, NULL, NULL);

		answer_one(k, "{\"n\":1}\n");
		answer_one(k, "{\"n\":2}\n");
		close(k);
		k = accept(l, NULL, NULL);
		answer_one(k, "{\"n\":3}\n");
		close(k);
		_exit(0);
	}
	close(l);
	r = gw_ctl_conn_get(&c, sock, "probe dump 0", err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(r, "{\"n\":1}");
	fd = c.fd;
	r = gw_ctl_conn_get(&c, sock, "lsa dump 0", err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(r, "{\"n\":2}");
	assert_true(c.open && c.fd == fd);
	usleep(50000); /* the child's close arrives */
	r = gw_ctl_conn_get(&c, sock, "probe dump 1", err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(r, "{\"n\":3}");
	reap(pid);
	/* nobody listens now: NULL, and closed */
	unlink(sock);
	usleep(10000);
	assert_null(gw_ctl_conn_get(&c, sock, "probe dump 2", err, sizeof(err)));
	assert_false(c.open);
	gw_ctl_conn_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_conn_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
