// SPDX-License-Identifier: MIT
/*
 * Error text and the clock for every layer of the registry
 * (registry_base.h). reg_err formats one line into the caller's buffer;
 * reg_mono_ms reads CLOCK_MONOTONIC, for intervals.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "registry_base.h"

void reg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

uint64_t reg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
