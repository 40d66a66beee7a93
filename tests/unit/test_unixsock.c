// SPDX-License-Identifier: MIT
/*
 * common/unixsock.c against a real listening socket in a temp directory,
 * served by a forked child: a reply complete at its newline, a reply that
 * ends when the server closes, a server that never answers (timeout), and a
 * path that does not fit sockaddr_un.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "unixsock.h"

enum serve { SERVE_LINE, SERVE_CLOSE, SERVE_SILENT };

struct fixture {
	char dir[64], path[128];
	pid_t child;
};

/* The child echoes what it read, prefixed, as the chosen kind of server. */
static void serve(int lfd, enum serve how)
{
	char buf[256];
	int fd = accept(lfd, NULL, NULL);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (n <= 0)
		_exit(1);
	if (how == SERVE_SILENT) {
		pause();
		_exit(0);
	}
	if (write(fd, "got ", 4) != 4 || write(fd, buf, (size_t)n) != n)
		_exit(1);
	if (how == SERVE_LINE)
		pause(); /* the client must stop at the newline, not wait for close */
	close(fd);
	_exit(0);
}

static struct fixture *start(enum serve how)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/hm-unixsock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	strcpy(a.sun_path, f->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	f->child = fork();
	assert_true(f->child >= 0);
	if (!f->child)
		serve(lfd, how);
	close(lfd);
	return f;
}

static void stop(struct fixture *f)
{
	kill(f->child, SIGKILL);
	waitpid(f->child, NULL, 0);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
}

static void test_reply_complete_at_newline(void **state)
{
	struct fixture *f = start(SERVE_LINE);
	char err[256] = "";
	char *r = unixsock_request(f->path, "ping\n", 5, 2000, unixsock_line_done, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(r);
	assert_string_equal(r, "got ping\n");
	free(r);
	stop(f);
}

static void test_reply_ends_at_close(void **state)
{
	struct fixture *f = start(SERVE_CLOSE);
	char err[256] = "";
	char *r = unixsock_request(f->path, "a b", 3, 2000, NULL, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(r);
	assert_string_equal(r, "got a b");
	free(r);
	stop(f);
}

static void test_silent_server_times_out(void **state)
{
	struct fixture *f = start(SERVE_SILENT);
	char err[256] = "";
	char *r = unixsock_request(f->path, "x\n", 2, 200, unixsock_line_done, NULL, err, sizeof(err));

	(void)state;
	assert_null(r);
	assert_non_null(strstr(err, "no complete reply"));
	stop(f);
}

static void test_bad_paths(void **state)
{
	char err[256] = "", longpath[200];

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(unixsock_connect(longpath, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path too long"));
	assert_int_equal(unixsock_connect("/nonexistent/hm.sock", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_complete_at_newline),
		cmocka_unit_test(test_reply_ends_at_close),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_bad_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
