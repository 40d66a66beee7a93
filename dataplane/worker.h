/* SPDX-License-Identifier: MIT */
/* The worker lcores' loop (worker.c). */
#ifndef HOPMESH_DATAPLANE_WORKER_H
#define HOPMESH_DATAPLANE_WORKER_H

#include <stdint.h>

struct lcore_ctx;

/* rte_eal_remote_launch() entry; arg: the worker's struct lcore_ctx. */
int worker_run(void *arg);
/* One pass of its loop: both ports' queue, the hand-off ring, worker 0's
 * frames from the main lcore, then what was batched goes out. Returns the
 * frames taken. Reads the clock only for a burst with frames. Also for
 * drivers without threads (tests/fuzz). */
unsigned worker_poll(struct lcore_ctx *lc);

#endif
