// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_env.h"

void bench_cpu_model(char *out, size_t len, unsigned *ncpu)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	unsigned family = 0, model = 0;

	snprintf(out, len, "unknown");
	*ncpu = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		v += 2;
		v[strcspn(v, "\n")] = '\0';
		if (!strncmp(line, "processor", 9))
			(*ncpu)++;
		else if (!strncmp(line, "model name", 10) && *ncpu == 1)
			snprintf(out, len, "%s", v);
		else if (!strncmp(line, "cpu family", 10) && *ncpu == 1)
			family = (unsigned)atoi(v);
		else if (!strncmp(line, "model\t", 6) && *ncpu == 1)
			model = (unsigned)atoi(v);
	}
	fclose(f);
	if (family) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, " (family %u, model %u)", family, model);
	}
}

double bench_loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}
