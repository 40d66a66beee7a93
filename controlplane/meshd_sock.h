/* SPDX-License-Identifier: MIT */
/*
 * Where meshd's own socket is (meshd_status.c serves it, `meshctl status`
 * reads it): beside the gateway's control socket, RUN_DIR/NAME.meshd for
 * RUN_DIR/NAME.ctl (".meshd" appended to a path not ending in ".ctl"). It
 * speaks the control socket's framing (docs/CONTROL.md), so gw_ctl_get(path,
 * "status", ...) reads it.
 */
#ifndef HOPMESH_MESHD_SOCK_H
#define HOPMESH_MESHD_SOCK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* False if the path does not fit in len. */
static inline bool meshd_sock_path(const char *control, char *out, size_t len)
{
	size_t n = strlen(control);

	if (n >= 4 && !strcmp(control + n - 4, ".ctl"))
		n -= 4;
	return (size_t)snprintf(out, len, "%.*s.meshd", (int)n, control) < len;
}

#endif
