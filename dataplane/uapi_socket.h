/* SPDX-License-Identifier: MIT */
/* The WireGuard UAPI on /var/run/wireguard/NAME.sock (uapi_socket.c). */
#ifndef HOPMESH_DATAPLANE_UAPI_SOCKET_H
#define HOPMESH_DATAPLANE_UAPI_SOCKET_H

#include <stddef.h>

struct gateway;
struct sock_server;

struct sock_server *uapi_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);

#endif
