/* SPDX-License-Identifier: MIT */
/*
 * Records in JSON, one object per record (docs/REGISTRY.md). The writers of
 * gateway, VM and policy records are public (registry.h: reg_*_json); here
 * are the parsers and the claim record, which only the library uses.
 */
#ifndef HOPMESH_REGISTRY_JSON_H
#define HOPMESH_REGISTRY_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

#define REG_MAX_RECORD (64 * 1024) /* larger stored values are refused */

/* A claim record (registry_entries.h: reg_claims): the gateway and what it
 * claims ("id 5" or a prefix); seq > 0 adds the dir back end's sequence
 * number, its seniority there. */
char *reg_claim_json(const char *gateway, const char *what, long long seq);
/* seq is 0 when the record has none. */
bool reg_claim_parse(const char *text, char *gateway, size_t gwcap, char *what, size_t whatcap,
		     long long *seq, char *why, size_t len);

/* Stored text into a record: true, or false with why (may be NULL). Forms
 * and types only: the record still has to pass its reg_*_check. */
bool reg_gateway_parse(const char *text, struct reg_gateway *g, char *why, size_t len);
bool reg_vm_parse(const char *text, struct reg_vm *vm, char *why, size_t len);
/* Absent fields keep the defaults (reg_policy_default). */
bool reg_policy_parse(const char *text, struct reg_policy *p, char *why, size_t len);

#endif
