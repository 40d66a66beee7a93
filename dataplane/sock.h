/* SPDX-License-Identifier: MIT */
/* UNIX stream servers on the main lcore's epoll (sock.c). */
#ifndef HOPMESH_DATAPLANE_SOCK_H
#define HOPMESH_DATAPLANE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sock_protocol {
	void *(*open)(void *arg);
	bool (*input)(void *conn, const char *data, size_t len); /* false: close */
	const char *(*output)(void *conn, size_t *len);
	void (*consumed)(void *conn, size_t n);
	void (*close)(void *conn);
};
struct sock_server;
struct sock_server *sock_server_open(const char *path, int epoll_fd,
				     const struct sock_protocol *proto, void *arg, char *err,
				     size_t errlen);
bool sock_server_event(struct sock_server *s, void *tag, uint32_t events);
void sock_server_close(struct sock_server *s);

#endif
