/* SPDX-License-Identifier: MIT */
/* The main lcore's loop (mainlcore.c). */
#ifndef HOPMESH_DATAPLANE_MAINLCORE_H
#define HOPMESH_DATAPLANE_MAINLCORE_H

struct gateway;
struct wg_ops;

/* Until SIGINT/SIGTERM or gw->quit; 0, or 1 if the sockets would not open. */
int main_lcore_run(struct gateway *gw);
/* What tunnels/ calls back into, for gw's device. */
const struct wg_ops *main_lcore_wg_ops(struct gateway *gw);

#endif
