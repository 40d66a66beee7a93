// SPDX-License-Identifier: MIT
/*
 * meshctl's JSON printer (-j, --json): one document on stdout, pretty-printed,
 * members sorted (docs/MESHCTL.md). Records are the registry's own JSON.
 */
#include <stdio.h>
#include <stdlib.h>

#include "meshctl.h"

static void emit(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

/* The registry's text of a record, as a JSON value. */
static json_t *parsed(char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return j ? j : json_null();
}

static void gateway_added(const struct reg_gateway *g)
{
	emit(parsed(reg_gateway_json(g)));
}

static void vm_added(const struct reg_vm *vm)
{
	emit(parsed(reg_vm_json(vm)));
}

static void deleted(const char *kind, const char *name)
{
	emit(json_pack("{s:s,s:s}", "deleted", kind, "name", name));
}

static void gateways(const struct reg_snapshot *s)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < s->ngateways; i++)
		json_array_append_new(a, parsed(reg_gateway_json(&s->gateways[i])));
	emit(json_pack("{s:o}", "gateways", a));
}

static void vms(const struct reg_snapshot *s)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < s->nvms; i++)
		json_array_append_new(a, parsed(reg_vm_json(&s->vms[i])));
	emit(json_pack("{s:o}", "vms", a));
}

static void links(const struct mc_links *l)
{
	emit(json_pack("{s:s,s:O}", "source", l->source, "links", json_object_get(l->doc, "links")));
}

/* ---- route show, trace ---- */

static const char *gw_name(const struct reg_snapshot *s, unsigned id)
{
	const struct reg_gateway *g = mc_gw_by_id(s, id);

	return g ? g->name : "?";
}

/* The gateways of p, by name. */
static json_t *names_json(const struct reg_snapshot *s, const struct mc_path *p)
{
	json_t *a = json_array();

	for (unsigned h = 0; h < p->n; h++)
		json_array_append_new(a, json_string(gw_name(s, p->gw[h])));
	return a;
}

/* Each backbone hop of p with the measurement of its link computed on. */
static json_t *links_json(const struct mc_routes *rs, const struct mc_path *p)
{
	const struct reg_snapshot *s = rs->s;
	json_t *hops = json_array();

	for (unsigned h = 0; h + 1 < p->n; h++) {
		const struct lsdb_link *l = mc_link_of(rs, p->gw[h], p->gw[h + 1]);

		json_array_append_new(hops, json_pack("{s:s,s:s,s:f,s:f,s:b}", "from", gw_name(s, p->gw[h]),
						      "to", gw_name(s, p->gw[h + 1]), "rtt_ms", l ? l->rtt_ms : 0.0,
						      "loss", l ? l->loss : 0.0, "up", l && l->up));
	}
	return hops;
}

static const char *via_of(const struct reg_snapshot *s, const struct mc_path *p)
{
	return p->n > 2 ? gw_name(s, p->gw[1]) : p->n ? gw_name(s, p->gw[p->n - 1]) : "";
}

static json_t *installed_json(const struct mc_routes *rs, const struct mc_route *r)
{
	if (r->installed_state == MC_UNKNOWN)
		return json_pack("{s:b,s:s}", "known", 0, "why", r->view->why);
	if (r->installed_state == MC_NONE)
		return json_pack("{s:b,s:b,s:s}", "known", 1, "held", 0, "read_from", r->view->source);
	return json_pack("{s:b,s:b,s:s,s:i,s:s,s:o,s:b,s:b}", "known", 1, "held", 1, "read_from",
			 r->view->source, "hops", (int)r->installed.hops, "via", via_of(rs->s, &r->installed),
			 "path", names_json(rs->s, &r->installed), "bound", r->bound, "source_routed",
			 r->source_routed);
}

static json_t *chosen_json(const struct mc_routes *rs, const struct mc_route *r)
{
	if (!r->chosen_known)
		return json_pack("{s:b,s:s}", "known", 0, "why", r->view->why);
	if (!r->chosen_reachable)
		return json_pack("{s:b,s:b}", "known", 1, "reachable", 0);
	return json_pack("{s:b,s:b,s:i,s:s,s:f,s:o}", "known", 1, "reachable", 1, "hops",
			 (int)r->chosen.hops, "via", via_of(rs->s, &r->chosen), "cost_ms", r->chosen.cost_ms,
			 "path", names_json(rs->s, &r->chosen));
}

static json_t *best_json(const struct mc_routes *rs, const struct mc_route *r)
{
	struct mc_path p = { .n = 0 };

	if (!r->computed_known)
		return json_pack("{s:b,s:s}", "known", 0, "why", rs->links_why);
	if (!r->reachable)
		return json_pack("{s:b,s:b}", "known", 1, "reachable", 0);
	for (unsigned h = 0; h <= r->path.hops && h < MC_MAX_PATH; h++)
		p.gw[p.n++] = r->path.gw[h];
	return json_pack("{s:b,s:b,s:i,s:s,s:f,s:o,s:o}", "known", 1, "reachable", 1, "hops",
			 (int)r->path.hops, "via", via_of(rs->s, &p), "cost_ms", r->path.cost, "path",
			 names_json(rs->s, &p), "links", links_json(rs, &p));
}

/* The parts of a route both commands show. */
static json_t *route_json(const struct mc_routes *rs, const struct mc_route *r)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:b}", "from", r->from->name, "to", r->to->name,
			 "installed", installed_json(rs, r), "meshd_choice", chosen_json(rs, r),
			 "computed_best", best_json(rs, r), "differs_from_meshd", r->differs_chosen,
			 "differs_from_computed", r->differs_computed);
}

static json_t *unknown_json(const struct mc_routes *rs)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < rs->nviews; i++)
		if (rs->views[i].used && (!rs->views[i].installed_read || !rs->views[i].meshd_read))
			json_array_append_new(a, json_pack("{s:s,s:b,s:b,s:s}", "gateway", rs->views[i].gw->name,
				"installed_read", rs->views[i].installed_read, "meshd_read",
				rs->views[i].meshd_read, "why", rs->views[i].why));
	return a;
}

/* The gateway whose meshd's links the best paths were computed on. */
static json_t *computed_on(const struct mc_routes *rs)
{
	return rs->links.source ? json_string(rs->links.source) : json_null();
}

static void routes(const struct mc_routes *rs)
{
	json_t *all = json_array();

	for (unsigned i = 0; i < rs->n; i++)
		json_array_append_new(all, route_json(rs, &rs->r[i]));
	emit(json_pack("{s:s,s:i,s:b,s:o,s:o,s:o}", "run_dir", rs->run_dir, "hop_limit", (int)rs->pol.hop_limit,
		       "residency", rs->pol.residency, "computed_on", computed_on(rs), "routes", all, "unknown",
		       unknown_json(rs)));
}

static void trace(const struct mc_routes *rs, const char *address, const struct reg_gateway *dst)
{
	json_t *all = json_array();

	for (unsigned i = 0; i < rs->n; i++) {
		const struct mc_route *r = &rs->r[i];
		json_t *e = route_json(rs, r);

		json_object_set_new(e, "taken", json_pack("{s:b,s:b,s:i,s:o,s:o}", "known", !r->walk_unknown,
			"reaches", !r->walk_unknown && !r->walk_loop, "hops", (int)r->walk.hops,
			"gateways", names_json(rs->s, &r->walk), "path", links_json(rs, &r->walk)));
		json_array_append_new(all, e);
	}
	emit(json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "address", address, "gateway", dst->name, "run_dir",
		       rs->run_dir, "computed_on", computed_on(rs), "paths", all, "unknown", unknown_json(rs)));
}

static void policy(const struct reg_policy *p)
{
	emit(parsed(reg_policy_json(p)));
}

static void status(json_t *doc)
{
	emit(json_incref(doc));
}

const struct mc_printer mc_json_printer = {
	.gateway_added = gateway_added,
	.vm_added = vm_added,
	.deleted = deleted,
	.gateways = gateways,
	.vms = vms,
	.links = links,
	.routes = routes,
	.trace = trace,
	.policy = policy,
	.status = status,
};
