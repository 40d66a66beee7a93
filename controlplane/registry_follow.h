/* SPDX-License-Identifier: MIT */
/*
 * Following the store: the changes a back end's watch delivered (puts and
 * deletes, each with etcd's revisions) applied to the entries of an earlier
 * read, key by key, so that a reader holding them assembles what a full
 * read at the same revision would give without reading everything again.
 */
#ifndef HOPMESH_REGISTRY_FOLLOW_H
#define HOPMESH_REGISTRY_FOLLOW_H

#include <stdbool.h>

#include "registry_entries.h"

/* A change is an entry (registry_entries.h); one with neither value nor
 * read_error is a delete. kept must be in key order (an etcd range gives
 * it so, and apply keeps it so: assembly then meets the entries in the
 * order a full read gives, its problem lines included). Changes at or
 * below kept->revision (already in what was read) are passed over; kept's
 * revision becomes that of the newest change applied. 0, or -1
 * on no memory (kept then partly changed: read everything again). */
int reg_follow_apply(struct reg_entries *kept, const struct reg_entries *changes);

/* Is es in strict key order (so apply may take it as a base)? */
bool reg_follow_ordered(const struct reg_entries *es);

#endif
