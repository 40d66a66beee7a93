/* SPDX-License-Identifier: MIT */
/*
 * The link-state database (lsdb.c): every other gateway's links as its own
 * meshd last advertised them (common/lsa_wire.h), one record per origin and
 * part, each forgotten when its lifetime is over unless renewed. Pure: time
 * is a parameter, no I/O. meshd keeps one from its gateway's "lsa dump";
 * meshctl builds one from a meshd's "links" reply, to compute paths on the
 * graph that meshd holds. Memory grows with the origins heard and their
 * parts, never with the largest possible mesh.
 */
#ifndef HOPMESH_LSDB_H
#define HOPMESH_LSDB_H

#include <stdbool.h>
#include <stdint.h>

#include "lsa_wire.h"
#include "registry.h"

struct lsdb_link {
	uint16_t to;
	bool up;
	double rtt_ms, p50_ms, p90_ms, p99_ms, jitter_ms, loss;
};

struct lsdb_part {
	uint64_t seq;         /* the origin's: its wall clock in ns */
	uint64_t heard_ns;    /* our clock: when it arrived */
	uint64_t expires_ns;  /* and when its lifetime ends */
	unsigned n;
	struct lsdb_link link[LSA_LINKS_MAX]; /* ascending by to */
};

struct lsdb_origin {
	unsigned nparts;
	struct lsdb_part *part[LSA_PARTS_MAX];
};

/* Zero it before the first use. */
struct lsdb {
	struct lsdb_origin *origin[REG_MAX_GATEWAY_ID + 1];
	/* No part expires before next_expiry_ns (when known): meshd expires
	 * every pass, and a scan of every origin's parts each time cost more
	 * than the rest of reading the dump. */
	bool expiry_known;
	uint64_t next_expiry_ns;
};

/* One part, heard at heard_ns, to live lifetime_ns from then: kept if newer
 * than the part of that number held (or that one's time is over), and then
 * the origin's parts at nparts and beyond, older, are dropped. links must be
 * ascending by to. 1 if kept, 0 if not newer, -1 out of range or out of
 * memory. */
int lsdb_put(struct lsdb *db, uint16_t origin, uint64_t seq, unsigned part, unsigned nparts,
	     const struct lsdb_link *links, unsigned n, uint64_t heard_ns, uint64_t lifetime_ns,
	     uint64_t now);
/* Drops the parts whose time is over; gone[id] set for each origin that lost
 * one (gone may be NULL). Returns how many went. */
unsigned lsdb_expire(struct lsdb *db, uint64_t now, bool *gone);
/* from's advertised link to to, or NULL; *part (if not NULL) the part it
 * came in. */
const struct lsdb_link *lsdb_find(const struct lsdb *db, uint16_t from, uint16_t to,
				  const struct lsdb_part **part);
void lsdb_clear(struct lsdb *db);

#endif
