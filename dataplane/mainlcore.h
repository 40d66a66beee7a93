/* SPDX-License-Identifier: MIT */
/* The main lcore's loop (mainlcore.c). */
#ifndef HOPMESH_DATAPLANE_MAINLCORE_H
#define HOPMESH_DATAPLANE_MAINLCORE_H

#include <stdbool.h>
#include <stdint.h>

struct gateway;
struct wg_ops;

/* Until SIGINT/SIGTERM or gw->quit; 0, or 1 if the sockets would not open. */
int main_lcore_run(struct gateway *gw);
/* The loop's two steps, also for drivers without threads (tests/fuzz): what
 * the workers handed over (returns how many), and the tick (the tick-th, every
 * 10 ms: timers, routes, probes, neighbours, reclamation). */
unsigned main_lcore_drain(struct gateway *gw, uint64_t now);
/* Something is still queued for the main lcore (a drain stopped at a budget). */
bool main_lcore_pending(const struct gateway *gw);
void main_lcore_tick(struct gateway *gw, uint64_t now, uint64_t tick);
/* What tunnels/ calls back into, for gw's device. */
const struct wg_ops *main_lcore_wg_ops(struct gateway *gw);

#endif
