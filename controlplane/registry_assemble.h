/* SPDX-License-Identifier: MIT */
/*
 * Snapshot assembly: what a back end read (registry_entries.h) made into a
 * validated reg_snapshot, every entry left out reported as a problem line.
 */
#ifndef HOPMESH_REGISTRY_ASSEMBLE_H
#define HOPMESH_REGISTRY_ASSEMBLE_H

#include "registry.h"
#include "registry_entries.h"

/* Builds a snapshot out of what was read: each entry parsed and checked,
 * then across entries (gateways by the seniority of their claims, oldest
 * first: one whose id, key or prefix clashes with an older claim is skipped
 * whole; VMs outside their gateway or with a taken address are skipped). A
 * gateway or VM of last whose entry turned corrupt keeps last's version;
 * between unclaimed records, those in last win. last may be NULL. Never
 * fails but on memory. */
int reg_assemble(const struct reg_entries *es, const struct reg_snapshot *last,
		 struct reg_snapshot *out);

#endif
