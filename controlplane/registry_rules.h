/* SPDX-License-Identifier: MIT */
/*
 * The rules records obey, alone and together. The ones meshctl uses are
 * public (registry.h: reg_*_check, reg_*_fits, reg_policy_default); these
 * two are for the library's own assembly and writes.
 */
#ifndef HOPMESH_REGISTRY_RULES_H
#define HOPMESH_REGISTRY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/* reg_vm_fits without the address uniqueness check: the gateway is in s and
 * holds the address (assembly checks uniqueness in one sorted pass). */
bool reg_vm_fits_gateway(const struct reg_snapshot *s, const struct reg_vm *vm, char *why,
			 size_t len);

/* No VM of s is behind gateway name (so it may be deleted). */
bool reg_gateway_unused(const struct reg_snapshot *s, const char *name, char *why, size_t len);

#endif
