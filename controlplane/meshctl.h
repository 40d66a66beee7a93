/* SPDX-License-Identifier: MIT */
/*
 * meshctl's modules, internal to it: the commands (meshctl.c, the table and
 * the registry's commands; meshctl_status.c, `status`) compute what to show,
 * and hand it to one of two printers: the human tables (meshctl_table.c) or
 * the JSON documents (meshctl_json.c, docs/MESHCTL.md). A printer only
 * prints: it reads nothing and decides nothing.
 */
#ifndef HOPMESH_MESHCTL_H
#define HOPMESH_MESHCTL_H

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "registry.h"
#include "topology.h"

/* The best path from one gateway to another now (route show, trace). */
struct mc_route {
	const struct reg_gateway *from, *to;
	bool reachable;
	struct topo_path path;
};

struct mc_printer {
	void (*gateway_added)(const struct reg_gateway *g);
	void (*vm_added)(const struct reg_vm *vm);
	void (*deleted)(const char *kind, const char *name);
	void (*gateways)(const struct reg_snapshot *s);
	void (*vms)(const struct reg_snapshot *s);
	void (*links)(const struct reg_snapshot *s);
	void (*routes)(const struct reg_snapshot *s, const struct topo_policy *p, const struct mc_route *r,
		       unsigned n);
	void (*trace)(const struct reg_snapshot *s, const char *address, const struct reg_gateway *dst,
		      const struct mc_route *r, unsigned n);
	void (*policy)(const struct reg_policy *p);
	/* The status document of meshctl_status.c (docs/MESHCTL.md). */
	void (*status)(json_t *doc);
};

extern const struct mc_printer mc_table_printer, mc_json_printer;

/* What a command gets: the registry is open if its entry asks for it. */
struct mc_ctx {
	struct registry *reg;
	const struct mc_printer *out;
	bool json;
};

/* meshctl_status.c */
int mc_status(struct mc_ctx *c, int argc, char **argv);

/* meshctl.c: a usage error (exit 2) or a failure (exit 1), said on stderr. */
int mc_usage(const char *msg);
int mc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Lookups in a snapshot, for the commands and the printers alike. */
static inline const struct reg_gateway *mc_gw_by_name(const struct reg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

static inline const struct reg_gateway *mc_gw_by_id(const struct reg_snapshot *s, unsigned id)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (s->gateways[i].id == id)
			return &s->gateways[i];
	return NULL;
}

/* The published link from gateway id a to gateway id b, or NULL. */
static inline const struct reg_link *mc_link_of(const struct reg_snapshot *s, unsigned a, unsigned b)
{
	const struct reg_gateway *ga = mc_gw_by_id(s, a), *gb = mc_gw_by_id(s, b);

	for (unsigned i = 0; ga && gb && i < s->nlinks; i++)
		if (!strcmp(s->links[i].from, ga->name) && !strcmp(s->links[i].to, gb->name))
			return &s->links[i];
	return NULL;
}

#endif
