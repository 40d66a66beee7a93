/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark prints about the machine it ran on: figures from a
 * shared, noisy machine mean little without them.
 */
#ifndef HOPMESH_BENCH_ENV_H
#define HOPMESH_BENCH_ENV_H

#include <stddef.h>

/* "AMD EPYC ... (family 26, model 2)" and the number of logical CPUs. */
void bench_cpu_model(char *out, size_t len, unsigned *ncpu);
/* The 1-minute load average, or -1. */
double bench_loadavg(void);

#endif
