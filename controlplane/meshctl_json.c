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

static void links(const struct reg_snapshot *s)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < s->nlinks; i++)
		json_array_append_new(a, parsed(reg_link_json(&s->links[i])));
	emit(json_pack("{s:o}", "links", a));
}

static json_t *path_json(const struct reg_snapshot *s, const struct topo_path *p)
{
	json_t *hops = json_array();

	for (unsigned h = 0; h < p->hops; h++) {
		const struct reg_gateway *a = mc_gw_by_id(s, p->gw[h]), *b = mc_gw_by_id(s, p->gw[h + 1]);
		const struct reg_link *l = mc_link_of(s, p->gw[h], p->gw[h + 1]);

		json_array_append_new(hops, json_pack("{s:s,s:s,s:f,s:f,s:b}", "from", a ? a->name : "?",
						      "to", b ? b->name : "?", "rtt_ms", l ? l->rtt_ms : 0.0,
						      "loss", l ? l->loss : 0.0, "up", l && l->up));
	}
	return hops;
}

static void routes(const struct reg_snapshot *s, const struct topo_policy *p, const struct mc_route *r,
		   unsigned n)
{
	json_t *all = json_array();

	for (unsigned i = 0; i < n; i++) {
		const struct reg_gateway *via = r[i].reachable && r[i].path.hops > 1
						? mc_gw_by_id(s, r[i].path.gw[1]) : r[i].to;

		json_array_append_new(all, json_pack("{s:s,s:s,s:s,s:i,s:f,s:b,s:o}", "from", r[i].from->name,
			"to", r[i].to->name, "via", via ? via->name : "?",
			"hops", r[i].reachable ? (int)r[i].path.hops : 0,
			"cost_ms", r[i].reachable ? r[i].path.cost : -1.0, "reachable", r[i].reachable,
			"path", r[i].reachable ? path_json(s, &r[i].path) : json_array()));
	}
	emit(json_pack("{s:s,s:i,s:b,s:o}", "computed_from", "registry link measurements", "hop_limit",
		       (int)p->hop_limit, "residency", p->residency, "routes", all));
}

static void trace(const struct reg_snapshot *s, const char *address, const struct reg_gateway *dst,
		  const struct mc_route *r, unsigned n)
{
	json_t *all = json_array();

	for (unsigned i = 0; i < n; i++)
		if (!r[i].reachable)
			json_array_append_new(all, json_pack("{s:s,s:b}", "from", r[i].from->name, "reachable", 0));
		else
			json_array_append_new(all, json_pack("{s:s,s:b,s:i,s:f,s:o}", "from", r[i].from->name,
				"reachable", 1, "hops", (int)r[i].path.hops, "rtt_ms", r[i].path.cost,
				"path", path_json(s, &r[i].path)));
	emit(json_pack("{s:s,s:s,s:o}", "address", address, "gateway", dst->name, "paths", all));
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
