/* SPDX-License-Identifier: MIT */
/*
 * The bottom of the registry library: how every layer of it words an error
 * (one line into the caller's buffer) and reads the clock. It calls nothing
 * else of the registry.
 */
#ifndef HOPMESH_REGISTRY_BASE_H
#define HOPMESH_REGISTRY_BASE_H

#include <stddef.h>
#include <stdint.h>

/* printf into err (when err and errlen are set), cut to fit. */
void reg_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The monotonic clock (intervals: lock waits, timeouts, backoff). */
uint64_t reg_mono_ms(void);

#endif
