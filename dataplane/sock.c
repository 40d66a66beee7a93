// SPDX-License-Identifier: MIT
/*
 * UNIX stream servers driven by the main lcore's epoll: the WireGuard UAPI
 * socket and the gateway's control socket speak different protocols over the
 * same non-blocking accept/read/write machinery, kept here once.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"
#include "tunnels.h" /* wg_memzero */

#define MAX_PENDING_OUTPUT (16u << 20)

struct sock_conn {
	struct sock_server *srv;
	struct sock_conn *next;
	int fd;
	void *state;
	bool want_out;
};

struct sock_server {
	int fd, epoll_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct sock_protocol *proto;
	void *arg;
	struct sock_conn *conns;
};

static int mkdir_p(const char *dir)
{
	char buf[256], *p;

	if (strlen(dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, dir);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file left by a crashed process is replaced; one a live process
 * still answers on is not. */
static bool path_in_use(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

struct sock_server *sock_server_open(const char *path, int epoll_fd,
				     const struct sock_protocol *proto, void *arg, char *err,
				     size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct sock_server *s;
	char dir[sizeof(addr.sun_path)];
	mode_t old_umask;
	int r;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	strcpy(dir, path);
	if ((r = mkdir_p(dirname(dir)))) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return NULL;
	}
	if (path_in_use(&addr)) {
		snprintf(err, errlen, "%s: another process is serving this name", path);
		return NULL;
	}
	unlink(path);

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->epoll_fd = epoll_fd;
	s->proto = proto;
	s->arg = arg;
	strcpy(s->path, path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	old_umask = umask(0077);
	r = s->fd < 0 ? -1 : bind(s->fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (r || listen(s->fd, 16)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	ev.data.ptr = s;
	epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->fd, &ev);
	return s;
}

static void conn_close(struct sock_conn *c)
{
	struct sock_server *s = c->srv;

	for (struct sock_conn **pc = &s->conns; *pc; pc = &(*pc)->next) {
		if (*pc == c) {
			*pc = c->next;
			break;
		}
	}
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->proto->close(c->state);
	free(c);
}

static void set_want_out(struct sock_conn *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == want)
		return;
	c->want_out = want;
	epoll_ctl(c->srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what the protocol has pending; false if the peer is gone. */
static bool flush_output(struct sock_conn *c)
{
	const struct sock_protocol *p = c->srv->proto;
	size_t len;
	const char *out;

	while ((out = p->output(c->state, &len)) && len) {
		ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return false;
		p->consumed(c->state, (size_t)n);
	}
	out = p->output(c->state, &len);
	if (out && len > MAX_PENDING_OUTPUT)
		return false; /* a client that asks and never reads */
	set_want_out(c, out && len);
	return true;
}

static void accept_all(struct sock_server *s)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct sock_conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c || !(c->state = s->proto->open(s->arg))) {
			free(c);
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->next = s->conns;
		s->conns = c;
		ev.data.ptr = c;
		epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void conn_event(struct sock_conn *c, uint32_t events)
{
	char buf[16384];
	bool open = true;

	if (events & EPOLLIN) {
		for (;;) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				open = false;
				break;
			}
			if (!c->srv->proto->input(c->state, buf, (size_t)n)) {
				open = false;
				break;
			}
		}
		/* Requests may carry keys. */
		wg_memzero(buf, sizeof(buf));
	}
	/* Answer what was asked even when the client closed its side after asking. */
	if (!flush_output(c) || !open || (events & (EPOLLERR | EPOLLHUP)))
		conn_close(c);
}

bool sock_server_event(struct sock_server *s, void *tag, uint32_t events)
{
	if (tag == s) {
		accept_all(s);
		return true;
	}
	for (struct sock_conn *c = s->conns; c; c = c->next) {
		if (c == tag) {
			conn_event(c, events);
			return true;
		}
	}
	return false;
}

void sock_server_close(struct sock_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	unlink(s->path);
	free(s);
}
