// SPDX-License-Identifier: MIT
/*
 * meshd's allocator settings. A registry load at scale (10,000 VMs from
 * etcd) makes large transient buffers; glibc's default then raises its mmap
 * and trim thresholds to the largest buffer freed (up to 32 and 64 MB), so
 * from the next load on those buffers come from the heap and the memory
 * stays with the process when freed: at 100 gateways and 10,000 VMs, about
 * 24 MB free but resident in each of the loop's and the registry thread's
 * arenas (of 73 MB RSS). Fixed thresholds keep large buffers in their own
 * mappings, given back on free, and a heap's free top given back past 1 MB.
 */
#include <malloc.h>

#include "meshd.h"

#define MMAP_THRESHOLD (256 * 1024)
#define TRIM_THRESHOLD (1024 * 1024)

void meshd_malloc_tune(void)
{
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
}
