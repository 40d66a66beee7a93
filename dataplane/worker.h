/* SPDX-License-Identifier: MIT */
/* The worker lcores' loop (worker.c). */
#ifndef HOPMESH_DATAPLANE_WORKER_H
#define HOPMESH_DATAPLANE_WORKER_H

/* rte_eal_remote_launch() entry; arg: the worker's struct lcore_ctx. */
int worker_run(void *arg);

#endif
