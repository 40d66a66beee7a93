/* SPDX-License-Identifier: MIT */
/*
 * The client side of a local UNIX stream socket that speaks in lines: the
 * gateway's UAPI and control sockets, the WAN emulator's. Connect, send a
 * request whole, read until the reply says it is complete, with a timeout:
 * meshd, hopmesh-ctl, wanemctl and the benchmarks all need exactly this.
 */
#ifndef HOPMESH_UNIXSOCK_H
#define HOPMESH_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "textbuf.h"

/* A connected stream socket (close-on-exec), or -1 with err set. */
int unixsock_connect(const char *path, char *err, size_t errlen);

/* All n bytes, retrying short writes and EINTR; never raises SIGPIPE. */
bool unixsock_write_all(int fd, const void *p, size_t n);

/* Appends what arrives to b until done(b, arg) holds, or the peer closes (then
 * done decides), or no byte came for timeout_ms, or memory ran out. done may
 * be NULL: read until the peer closes. */
bool unixsock_read_until(int fd, struct textbuf *b, int timeout_ms,
			 bool (*done)(const struct textbuf *b, void *arg), void *arg);

/* Connect, send req, read the reply as above: the reply (malloc'd,
 * NUL-terminated) or NULL with err set. */
char *unixsock_request(const char *path, const char *req, size_t reqlen, int timeout_ms,
		       bool (*done)(const struct textbuf *b, void *arg), void *arg, char *err,
		       size_t errlen);

/* done() for replies that end at their first newline. */
bool unixsock_line_done(const struct textbuf *b, void *arg);

#endif
