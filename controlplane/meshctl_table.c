// SPDX-License-Identifier: MIT
/*
 * meshctl's human printer: aligned tables with a header line, one record a
 * line (the default output; -j gives meshctl_json.c's documents instead).
 */
#include <stdio.h>

#include <sodium.h>

#include "meshctl.h"

static void gateway_added(const struct reg_gateway *g)
{
	printf("gateway %s added (id %u)\n", g->name, g->id);
}

static void vm_added(const struct reg_vm *vm)
{
	printf("vm %s added (%s behind %s)\n", vm->name, vm->address, vm->gateway);
}

static void deleted(const char *kind, const char *name)
{
	printf("%s %s deleted\n", kind, name);
}

static void gateways(const struct reg_snapshot *s)
{
	char key[45];

	printf("%-16s %5s %-16s %-8s %-24s %-44s %s\n", "NAME", "ID", "REGION", "ZONE", "ENDPOINT",
	       "PUBLIC KEY", "PREFIXES");
	for (unsigned i = 0; i < s->ngateways; i++) {
		const struct reg_gateway *g = &s->gateways[i];

		sodium_bin2base64(key, sizeof(key), g->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
		printf("%-16s %5u %-16s %-8s %-24s %-44s", g->name, g->id, g->region, g->zone[0] ? g->zone : "-",
		       g->endpoint4[0] ? g->endpoint4 : g->endpoint6, key);
		for (unsigned k = 0; k < g->nprefixes; k++)
			printf("%s%s", k ? "," : " ", g->prefixes[k]);
		putchar('\n');
	}
}

static void vms(const struct reg_snapshot *s)
{
	printf("%-32s %-40s %s\n", "NAME", "ADDRESS", "GATEWAY");
	for (unsigned i = 0; i < s->nvms; i++)
		printf("%-32s %-40s %s\n", s->vms[i].name, s->vms[i].address, s->vms[i].gateway);
}

static void links(const struct reg_snapshot *s)
{
	printf("%-16s %-16s %-5s %9s %9s %9s %9s %7s %9s\n", "FROM", "TO", "STATE", "RTT ms", "p50", "p90",
	       "p99", "LOSS", "JITTER ms");
	for (unsigned i = 0; i < s->nlinks; i++) {
		const struct reg_link *l = &s->links[i];

		printf("%-16s %-16s %-5s %9.1f %9.1f %9.1f %9.1f %6.1f%% %9.2f\n", l->from, l->to,
		       l->up ? "up" : "DOWN", l->rtt_ms, l->rtt_p50_ms, l->rtt_p90_ms, l->rtt_p99_ms,
		       l->loss * 100, l->jitter_ms);
	}
}

static void routes(const struct reg_snapshot *s, const struct topo_policy *p, const struct mc_route *r,
		   unsigned n)
{
	(void)p;
	printf("%-16s %-16s %-16s %4s %9s\n", "FROM", "TO", "VIA", "HOPS", "COST ms");
	for (unsigned i = 0; i < n; i++) {
		const struct reg_gateway *via = r[i].path.hops > 1 ? mc_gw_by_id(s, r[i].path.gw[1]) : r[i].to;

		if (r[i].reachable)
			printf("%-16s %-16s %-16s %4u %9.1f\n", r[i].from->name, r[i].to->name,
			       via ? via->name : "?", r[i].path.hops, r[i].path.cost);
		else
			printf("%-16s %-16s %-16s %4s %9s\n", r[i].from->name, r[i].to->name, "-", "-",
			       "unreachable");
	}
}

static void trace(const struct reg_snapshot *s, const char *address, const struct reg_gateway *dst,
		  const struct mc_route *r, unsigned n)
{
	printf("%s is behind %s\n", address, dst->name);
	for (unsigned i = 0; i < n; i++) {
		const struct topo_path *p = &r[i].path;

		if (!r[i].reachable) {
			printf("  from %s: unreachable\n", r[i].from->name);
			continue;
		}
		printf("  from %s: %u backbone hop%s\n", r[i].from->name, p->hops, p->hops == 1 ? "" : "s");
		for (unsigned h = 0; h < p->hops; h++) {
			const struct reg_gateway *a = mc_gw_by_id(s, p->gw[h]), *b = mc_gw_by_id(s, p->gw[h + 1]);
			const struct reg_link *l = mc_link_of(s, p->gw[h], p->gw[h + 1]);

			printf("    %u. %-14s -> %-14s rtt %7.1f ms  loss %5.1f%%\n", h + 1, a ? a->name : "?",
			       b ? b->name : "?", l ? l->rtt_ms : 0, l ? l->loss * 100 : 0);
		}
	}
}

static void policy(const struct reg_policy *p)
{
	printf("hop_limit %u\nresidency %s\nloss_penalty_ms %g\n", p->hop_limit, p->residency ? "on" : "off",
	       p->loss_penalty_ms);
}

/* ---- status ---- */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : "-";
}

static json_int_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static double real(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void status_peers(json_t *doc)
{
	json_t *p;
	size_t i;

	printf("\n%-16s %5s %-28s %-16s %14s %14s\n", "PEER", "ID", "ENDPOINT", "HANDSHAKE", "RX BYTES",
	       "TX BYTES");
	json_array_foreach(json_object_get(doc, "peers"), i, p) {
		char age[32] = "never";

		if (json_is_number(json_object_get(p, "handshake_age_s")))
			snprintf(age, sizeof(age), "%.1f s ago", real(p, "handshake_age_s"));
		printf("%-16s %5" JSON_INTEGER_FORMAT " %-28s %-16s %14" JSON_INTEGER_FORMAT
		       " %14" JSON_INTEGER_FORMAT "\n", str(p, "name"), num(p, "id"), str(p, "endpoint"), age,
		       num(p, "rx_bytes"), num(p, "tx_bytes"));
	}
}

static void status_links(json_t *doc)
{
	json_t *l;
	size_t i;

	printf("\n%-16s %-5s %9s %9s %9s %9s %7s %9s\n", "LINK TO", "STATE", "RTT ms", "p50", "p90", "p99",
	       "LOSS", "JITTER ms");
	json_array_foreach(json_object_get(doc, "links"), i, l)
		printf("%-16s %-5s %9.1f %9.1f %9.1f %9.1f %6.1f%% %9.2f\n", str(l, "to"),
		       json_is_true(json_object_get(l, "up")) ? "up" : "DOWN", real(l, "rtt_ms"),
		       real(l, "rtt_p50_ms"), real(l, "rtt_p90_ms"), real(l, "rtt_p99_ms"),
		       real(l, "loss") * 100, real(l, "jitter_ms"));
}

static void status_paths(json_t *doc)
{
	json_t *p;
	size_t i;

	printf("\n%-16s %-16s %4s %9s  %s\n", "PATH TO", "VIA", "HOPS", "COST ms", "BOUND");
	json_array_foreach(json_object_get(doc, "paths"), i, p) {
		char cost[16] = "-";

		if (json_is_number(json_object_get(p, "cost_ms")))
			snprintf(cost, sizeof(cost), "%.1f", real(p, "cost_ms"));
		printf("%-16s %-16s %4" JSON_INTEGER_FORMAT " %9s  %s\n", str(p, "to"), str(p, "via"),
		       num(p, "hops"), cost, json_is_true(json_object_get(p, "bound")) ? "yes" : "no");
	}
}

static void status_drops(json_t *doc)
{
	const char *reason;
	json_t *v;

	if (!json_object_get(doc, "drops"))
		return;
	printf("\n%-28s %14s\n", "DROPS", "PACKETS");
	json_object_foreach(json_object_get(doc, "drops"), reason, v)
		if (json_integer_value(v))
			printf("%-28s %14" JSON_INTEGER_FORMAT "\n", reason, json_integer_value(v));
	printf("%-28s %14" JSON_INTEGER_FORMAT "\n", "total", num(doc, "drops_total"));
}

static void status(json_t *doc)
{
	json_t *m = json_object_get(doc, "meshd");

	printf("gateway %s (id %" JSON_INTEGER_FORMAT "), interface %s\n", str(doc, "gateway"), num(doc, "id"),
	       str(doc, "interface"));
	if (json_is_true(json_object_get(m, "answering")))
		printf("meshd: registry %s (%s), gateway %s, backbone %s\n",
		       json_is_true(json_object_get(m, "registry_up")) ? "up" : "DOWN", str(m, "registry"),
		       json_is_true(json_object_get(m, "gateway_up")) ? "up" : "DOWN",
		       json_is_true(json_object_get(m, "backbone_up")) ? "up" : "DOWN");
	else
		printf("meshd: not answering on %s\n", str(doc, "meshd_socket"));
	status_peers(doc);
	status_links(doc);
	status_paths(doc);
	status_drops(doc);
}

const struct mc_printer mc_table_printer = {
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
