/* SPDX-License-Identifier: MIT */
/* The gateway's control socket RUN_DIR/NAME.ctl (ctl.c, docs/CONTROL.md). */
#ifndef HOPMESH_DATAPLANE_CTL_H
#define HOPMESH_DATAPLANE_CTL_H

#include <stddef.h>

struct gateway;
struct sock_server;

struct sock_server *ctl_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);

#endif
