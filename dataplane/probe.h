/* SPDX-License-Identifier: MIT */
/* Link probes (probe.c), sent and answered by the main lcore. */
#ifndef HOPMESH_DATAPLANE_PROBE_H
#define HOPMESH_DATAPLANE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct gateway;
struct overlay_dgram;
struct probes;

#define PROBE_PORT 51821

bool probe_setup(struct gateway *gw);
void probe_free(struct gateway *gw);
void probe_tick(struct gateway *gw, uint64_t now);
/* A datagram to PROBE_PORT at our overlay address (overlay.c), through gateway
 * src_gw's session. Consumes m. */
void probe_input(struct gateway *gw, struct rte_mbuf *m, const struct overlay_dgram *d,
		 uint16_t src_gw, uint64_t now);
/* A relay's notice (m at its struct relay_notice, underlay.h) that its link to
 * a gateway is down, from relay from: kept with the probes, which meshd reads
 * every interval, so that it avoids that link at once. Consumes m. */
void probe_notice_input(struct gateway *gw, struct rte_mbuf *m, uint16_t from, uint64_t now);
/* The control socket's "probe" commands; replies with one JSON line. */
void probe_command(struct gateway *gw, char **argv, int argc, char *out, size_t outlen);
/* "probe dump [SINCE]": counters and the RTT samples kept, those numbered
 * above SINCE, and the relays' notices; read-only. NULL if memory ran out. */
char *probe_dump_json(struct gateway *gw, uint64_t since, uint64_t now);

#endif
