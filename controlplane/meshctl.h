/* SPDX-License-Identifier: MIT */
/*
 * meshctl's modules, internal to it: the commands (meshctl.c, the table and
 * the registry's commands; meshctl_status.c, `status`; meshctl_routes.c, what
 * `route show` and `trace` read from the gateways) compute what to show,
 * and hand it to one of two printers: the human tables (meshctl_table.c) or
 * the JSON documents (meshctl_json.c, docs/MESHCTL.md). A printer only
 * prints: it reads nothing and decides nothing.
 */
#ifndef HOPMESH_MESHCTL_H
#define HOPMESH_MESHCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lsdb.h"
#include "registry.h"
#include "topology.h"

/* A path as gateway ids, source first (gw[0]), destination last (gw[n - 1]). */
#define MC_MAX_PATH 8
struct mc_path {
	unsigned n;                   /* 0: none */
	uint16_t gw[MC_MAX_PATH];
	unsigned hops;                /* backbone hops as its holder says them */
	double cost_ms;               /* meshd's cost (its choice only), else < 0 */
};

/* One gateway as read from here (meshctl_routes.c): its meshd's status
 * (installed paths and meshd's choices, of one moment), else its control
 * socket (installed paths only), else nothing. */
struct mc_gw_view {
	const struct reg_gateway *gw;
	bool installed_read;          /* its installed paths are known */
	bool meshd_read;              /* its meshd's choices are known */
	char source[256];             /* the socket they were read from */
	char why[640];                /* what could not be read, and why */
	json_t *installed, *chosen;   /* records per destination id (meshd_status.c) */
	bool used;                    /* shown: a source, or a relay trace followed */
};

/* What the gateway `from` does to reach `to` (installed, read from it), what
 * its meshd chose, and what the registry's measurements give now (recomputed
 * here, with no hysteresis: meshd moves only when a path stays better). */
enum mc_installed { MC_UNKNOWN, MC_NONE, MC_INSTALLED };
struct mc_route {
	const struct reg_gateway *from, *to;
	const struct mc_gw_view *view;  /* from's */
	enum mc_installed installed_state;
	struct mc_path installed;
	bool bound;                   /* the gateway has a peer for `to` */
	bool source_routed;           /* installed names every hop (else relays use their own) */
	bool chosen_known, chosen_reachable;
	struct mc_path chosen;
	bool computed_known;          /* a meshd's links were read to compute on */
	bool reachable;               /* the computed best */
	struct topo_path path;
	/* installed differs from meshd's choice (mark '*') or from the
	 * computed best (mark '~'); false when either side is unknown. */
	bool differs_chosen, differs_computed;
	/* trace: the hops a packet takes, each gateway's installed path
	 * followed (source routing: the source's alone); walk_unknown when a
	 * relay's could not be read, walk_loop when it came back. */
	struct mc_path walk;
	bool walk_unknown, walk_loop;
};

/* The links one meshd routes on, as its socket's "links" said: the reply
 * (doc, printed by link show) and the same links as a database (db, what
 * route show computes on). */
struct mc_links {
	json_t *doc;
	const char *source;   /* the gateway whose meshd answered */
	struct lsdb db;
};

struct mc_routes {
	const struct reg_snapshot *s;
	struct mc_links links;        /* what the best paths are computed on */
	char links_why[512];          /* why there are none (links.doc NULL) */
	struct topo_policy pol;
	struct mc_route *r;
	unsigned n;
	struct mc_gw_view *views;     /* the sources' */
	unsigned nviews;
	const char *run_dir;
};

struct mc_printer {
	void (*gateway_added)(const struct reg_gateway *g);
	void (*vm_added)(const struct reg_vm *vm);
	void (*deleted)(const char *kind, const char *name);
	void (*gateways)(const struct reg_snapshot *s);
	void (*vms)(const struct reg_snapshot *s);
	void (*links)(const struct mc_links *l);
	void (*routes)(const struct mc_routes *rs);
	void (*trace)(const struct mc_routes *rs, const char *address, const struct reg_gateway *dst);
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

/* Where the gateways' and meshds' sockets are on this host when --run-dir
 * does not say: $HOPMESH_RUN_DIR, else /var/run/hopmesh. */
static inline const char *mc_run_dir(void)
{
	const char *dir = getenv("HOPMESH_RUN_DIR");

	return dir && *dir ? dir : "/var/run/hopmesh";
}

/* meshctl_status.c */
int mc_status(struct mc_ctx *c, int argc, char **argv);

/* meshctl_routes.c: the links the meshd of gateway `from` (NULL: the first
 * by name in run_dir that answers) routes on; 0 or a failure said.
 * mc_links_free releases them. */
int mc_links_read(struct mc_links *l, const char *from, const char *run_dir);
void mc_links_free(struct mc_links *l);
/* route show and trace. rs->r from `from` (every gateway if NULL) to `dst`
 * (every other if NULL), each filled from the gateways' views read in
 * run_dir and the best path computed here on the links of from's meshd (or
 * the first that answers); 0 or a failure said. mc_routes_free releases
 * what it holds. */
int mc_routes_read(struct mc_routes *rs, const struct reg_snapshot *s, const char *from,
		   const struct reg_gateway *dst, const char *run_dir);
void mc_routes_free(struct mc_routes *rs);

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

/* The link from gateway id a to gateway id b that route show computed on,
 * or NULL. */
static inline const struct lsdb_link *mc_link_of(const struct mc_routes *rs, unsigned a, unsigned b)
{
	return lsdb_find(&rs->links.db, (uint16_t)a, (uint16_t)b, NULL);
}

#endif
