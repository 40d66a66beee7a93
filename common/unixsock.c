// SPDX-License-Identifier: MIT
/*
 * A request/reply client over a UNIX stream socket (unixsock.h):
 * unixsock_request() = unixsock_connect() -> unixsock_write_all() ->
 * unixsock_read_until() -> close.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unixsock.h"

int unixsock_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memcpy(addr.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

bool unixsock_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

bool unixsock_read_until(int fd, struct textbuf *b, int timeout_ms,
			 bool (*done)(const struct textbuf *b, void *arg), void *arg)
{
	char chunk[16384];

	while (!done || !done(b, arg)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return !b->failed && (!done || done(b, arg));
		textbuf_append(b, chunk, (size_t)n);
		if (b->failed)
			return false;
	}
	return true;
}

char *unixsock_request(const char *path, const char *req, size_t reqlen, int timeout_ms,
		       bool (*done)(const struct textbuf *b, void *arg), void *arg, char *err,
		       size_t errlen)
{
	struct textbuf b = { 0 };
	int fd = unixsock_connect(path, err, errlen);
	bool ok;

	if (fd < 0)
		return NULL;
	ok = unixsock_write_all(fd, req, reqlen);
	if (ok && !done)
		shutdown(fd, SHUT_WR); /* the peer answers at end of input */
	ok = ok && unixsock_read_until(fd, &b, timeout_ms, done, arg) && b.s;
	close(fd);
	if (!ok) {
		snprintf(err, errlen, "%s: no complete reply", path);
		free(b.s);
		return NULL;
	}
	return b.s;
}

bool unixsock_line_done(const struct textbuf *b, void *arg)
{
	(void)arg;
	return b->len && memchr(b->s, '\n', b->len);
}
