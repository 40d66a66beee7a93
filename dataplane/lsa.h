/* SPDX-License-Identifier: MIT */
/*
 * Link-state advertisements (lsa.c, docs/PROTOCOL.md "Link state"): meshd
 * hands its gateway each part of its own LSA ("lsa send HEX"), which the
 * gateway sends to every gateway bound to a peer, by the paths installed; the
 * parts other gateways send are kept, one per origin and part, the newest,
 * and read by meshd ("lsa dump [SINCE]").
 */
#ifndef HOPMESH_DATAPLANE_LSA_H
#define HOPMESH_DATAPLANE_LSA_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "lsa_wire.h"

struct gateway;
struct overlay_dgram;

bool lsa_setup(struct gateway *gw);
void lsa_free(struct gateway *gw);
/* A datagram to LSA_PORT at our overlay address (overlay.c), through gateway
 * src_gw's session. Consumes m. */
void lsa_input(struct gateway *gw, struct rte_mbuf *m, const struct overlay_dgram *d,
	       uint16_t src_gw, uint64_t now);
/* "lsa send HEX": one part of our own LSA, sent to every bound gateway;
 * replies with one JSON line. */
void lsa_send_command(struct gateway *gw, const char *hex, char *out, size_t outlen, uint64_t now);
/* "lsa dump [SINCE]": the parts kept, or those received after the one
 * numbered SINCE, decoded; read-only. NULL if memory ran out. */
char *lsa_dump_json(struct gateway *gw, uint64_t since, uint64_t now);
/* "lsa dump [SINCE] wire": the same parts, each its age and its bytes as
 * received, in hexadecimal (lsa_part_to_hex). */
char *lsa_dump_wire(struct gateway *gw, uint64_t since, uint64_t now);

#endif
