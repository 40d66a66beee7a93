/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark shares: what it prints about the machine it ran on
 * (figures from a shared, noisy machine mean little without them), its
 * clock, and the comparator its medians sort with.
 */
#ifndef HOPMESH_BENCH_ENV_H
#define HOPMESH_BENCH_ENV_H

#include <stddef.h>
#include <stdint.h>

/* "AMD EPYC ... (family 26, model 2)" and the number of logical CPUs. */
void bench_cpu_model(char *out, size_t len, unsigned *ncpu);
/* The 1-minute load average, or -1. */
double bench_loadavg(void);
/* CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);
/* qsort comparator of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

#endif
