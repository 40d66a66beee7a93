// SPDX-License-Identifier: MIT
/* The WireGuard UAPI on /var/run/wireguard/NAME.sock, so that wg(8) shows and
 * configures this gateway as it would wireguard-go. The protocol itself is
 * tunnels/uapi.c; this file only binds it to the socket. */
#include <stdio.h>

#include "gateway.h"
#include "lcore_io.h"
#include "sock.h"
#include "uapi_socket.h"

static void *uapi_open(void *arg)
{
	struct gateway *gw = arg;

	return wg_uapi_new(gw->dev);
}

static bool uapi_input(void *conn, const char *data, size_t len)
{
	return wg_uapi_feed(conn, data, len, mono_ns());
}

static const char *uapi_output(void *conn, size_t *len)
{
	return wg_uapi_output(conn, len);
}

static void uapi_consumed(void *conn, size_t n)
{
	wg_uapi_consumed(conn, n);
}

static void uapi_close(void *conn)
{
	wg_uapi_free(conn);
}

static const struct sock_protocol uapi_protocol = {
	.open = uapi_open,
	.input = uapi_input,
	.output = uapi_output,
	.consumed = uapi_consumed,
	.close = uapi_close,
};

struct sock_server *uapi_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen)
{
	char path[128];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", gw->cfg.name);
	return sock_server_open(path, epoll_fd, &uapi_protocol, gw, err, errlen);
}
