/* SPDX-License-Identifier: MIT */
/*
 * The text forms records are made of: names (gateways, regions, zones, VMs),
 * IP addresses, prefixes (ADDRESS/LENGTH) and endpoints (a.b.c.d:PORT,
 * [IPv6]:PORT). Each is judged on its own here; registry_rules.c says which
 * field takes which form and what must hold across records.
 */
#ifndef HOPMESH_REGISTRY_SYNTAX_H
#define HOPMESH_REGISTRY_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1..max characters of a-z, 0-9, '-' (and '.' when dots). */
bool reg_name_valid(const char *s, size_t max, bool dots);
/* A gateway or region name: 1..REG_NAME_LEN-1 of a-z, 0-9, '-'. */
bool reg_gateway_name_valid(const char *s);
/* A VM name: also '.', but not first (never "." or a hidden file). */
bool reg_vm_name_valid(const char *s);

/* An address (len 32 or 128) or a prefix, in network byte order. */
struct reg_pfx {
	int af;       /* AF_INET or AF_INET6 */
	unsigned len; /* prefix length; 32 or 128 for an address */
	uint8_t a[16];
};

/* An IPv4 or IPv6 address (no prefix length, no zone index). */
bool reg_addr_parse(const char *s, struct reg_pfx *p);
/* ADDRESS/LENGTH without host bits; why (may be NULL) says what is wrong. */
bool reg_prefix_parse(const char *s, struct reg_pfx *p, char *why, size_t len);
bool reg_pfx_overlap(const struct reg_pfx *a, const struct reg_pfx *b);
bool reg_pfx_contains(const struct reg_pfx *p, const struct reg_pfx *addr);
bool reg_addr_equal(const struct reg_pfx *a, const struct reg_pfx *b);

/* a.b.c.d:PORT (af AF_INET) or [IPv6]:PORT (AF_INET6), port 1..65535. */
bool reg_endpoint_valid(const char *s, int af);

#endif
