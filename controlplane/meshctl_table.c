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

static double real_of(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void links(const struct mc_links *l)
{
	json_t *e;
	size_t i;

	printf("%-16s %-16s %-5s %9s %9s %9s %9s %7s %9s %7s\n", "FROM", "TO", "STATE", "RTT ms", "p50", "p90",
	       "p99", "LOSS", "JITTER ms", "AGE s");
	json_array_foreach(json_object_get(l->doc, "links"), i, e)
		printf("%-16s %-16s %-5s %9.1f %9.1f %9.1f %9.1f %6.1f%% %9.2f %7.1f\n",
		       json_string_value(json_object_get(e, "from")) ?: "?",
		       json_string_value(json_object_get(e, "to")) ?: "?",
		       json_is_true(json_object_get(e, "up")) ? "up" : "DOWN", real_of(e, "rtt_ms"),
		       real_of(e, "rtt_p50_ms"), real_of(e, "rtt_p90_ms"), real_of(e, "rtt_p99_ms"), real_of(e, "loss") * 100,
		       real_of(e, "jitter_ms"), real_of(e, "age_ms") / 1000);
	printf("\nAs the meshd of %s holds them: its own links as it measures them (age 0), the\n"
	       "others' as their meshds last advertised them (AGE: since that arrived).\n", l->source);
}

/* ---- route show, trace ---- */

static const char *gw_name(const struct reg_snapshot *s, unsigned id)
{
	const struct reg_gateway *g = mc_gw_by_id(s, id);

	return g ? g->name : "?";
}

/* "direct", "via R" or "via R1,R2": the relays of p. */
static const char *path_text(const struct reg_snapshot *s, const struct mc_path *p, char *buf, size_t len)
{
	size_t used;

	if (p->n <= 2)
		return p->n == 2 ? "direct" : "none";
	used = (size_t)snprintf(buf, len, "via");
	for (unsigned h = 1; h + 1 < p->n && used < len; h++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", h == 1 ? " " : ",", gw_name(s, p->gw[h]));
	return buf;
}

static void computed_path(const struct mc_route *r, struct mc_path *p)
{
	p->n = 0;
	p->cost_ms = r->path.cost;
	p->hops = r->path.hops;
	for (unsigned h = 0; r->reachable && h <= r->path.hops && h < MC_MAX_PATH; h++)
		p->gw[p->n++] = r->path.gw[h];
}

static const char *mark_of(const struct mc_route *r)
{
	return r->differs_chosen ? (r->differs_computed ? "*~" : "*") : r->differs_computed ? "~" : "";
}

/* The gateways whose paths could not be read, and why. */
static void unknown_views(const struct mc_routes *rs)
{
	for (unsigned i = 0; i < rs->nviews; i++) {
		const struct mc_gw_view *v = &rs->views[i];

		if (!v->used)
			continue;
		if (!v->installed_read)
			printf("? %s: installed paths unknown: %s\n", v->gw->name, v->why);
		else if (!v->meshd_read)
			printf("? %s: meshd's choice unknown (installed paths read from %s): %s\n", v->gw->name,
			       v->source, v->why);
	}
}

static void routes(const struct mc_routes *rs)
{
	bool marked = false;

	printf("%-14s %-14s %-2s %-22s %4s  %-22s %8s  %-22s %8s\n", "FROM", "TO", "", "INSTALLED", "HOPS",
	       "MESHD CHOSE", "COST ms", "COMPUTED BEST", "COST ms");
	for (unsigned i = 0; i < rs->n; i++) {
		const struct mc_route *r = &rs->r[i];
		char b1[96], b2[96], b3[96], hops[8] = "?", c1[16] = "?", c2[16] = "-";
		const char *inst = "?", *chose = "?", *best = r->computed_known ? "unreachable" : "?";
		struct mc_path reg;

		if (r->installed_state == MC_NONE)
			inst = "none", hops[0] = '-', hops[1] = '\0';
		else if (r->installed_state == MC_INSTALLED) {
			inst = path_text(rs->s, &r->installed, b1, sizeof(b1));
			snprintf(hops, sizeof(hops), "%u", r->installed.hops);
		}
		if (r->chosen_known && !r->chosen_reachable)
			chose = "no path (direct)", c1[0] = '-', c1[1] = '\0';
		else if (r->chosen_known) {
			chose = path_text(rs->s, &r->chosen, b2, sizeof(b2));
			snprintf(c1, sizeof(c1), "%.1f", r->chosen.cost_ms);
		}
		if (r->reachable) {
			computed_path(r, &reg);
			best = path_text(rs->s, &reg, b3, sizeof(b3));
			snprintf(c2, sizeof(c2), "%.1f", r->path.cost);
		}
		marked |= *mark_of(r) != '\0';
		printf("%-14s %-14s %-2s %-22s %4s  %-22s %8s  %-22s %8s\n", r->from->name, r->to->name,
		       mark_of(r), inst, hops, chose, c1, best, c2);
	}
	printf("\nINSTALLED: the path the gateway holds, read from it now (through its meshd, else\n"
	       "its control socket) in %s.\n"
	       "MESHD CHOSE: its meshd's choice, which moves only when a better path stays better.\n"
	       "COMPUTED BEST: computed here, without that hold, on the links the meshd of %s\n"
	       "holds (meshctl link show): it may differ while meshd holds a path.\n", rs->run_dir,
	       rs->links.source ? rs->links.source : "(none answered)");
	if (!rs->links.source)
		printf("? computed best unknown: %s\n", rs->links_why);
	if (marked)
		printf("* installed differs from meshd's choice   ~ installed differs from the computed best\n");
	unknown_views(rs);
}

static void hop_lines(const struct mc_routes *rs, const struct mc_path *p)
{
	const struct reg_snapshot *s = rs->s;

	for (unsigned h = 0; h + 1 < p->n; h++) {
		const struct lsdb_link *l = mc_link_of(rs, p->gw[h], p->gw[h + 1]);

		if (l)
			printf("    %u. %-14s -> %-14s rtt %7.1f ms  loss %5.1f%%\n", h + 1, gw_name(s, p->gw[h]),
			       gw_name(s, p->gw[h + 1]), l->rtt_ms, l->loss * 100);
		else
			printf("    %u. %-14s -> %-14s (no measurement held)\n", h + 1, gw_name(s, p->gw[h]),
			       gw_name(s, p->gw[h + 1]));
	}
}

static void trace(const struct mc_routes *rs, const char *address, const struct reg_gateway *dst)
{
	bool marked = false;

	printf("%s is behind %s\n", address, dst->name);
	for (unsigned i = 0; i < rs->n; i++) {
		const struct mc_route *r = &rs->r[i];
		const struct mc_path *w = &r->walk;
		char b1[96], b2[96];
		struct mc_path reg;

		if (r->walk_unknown && w->n == 1)
			printf("  from %s: unknown (its installed paths could not be read)\n", r->from->name);
		else if (r->walk_unknown)
			printf("  from %s: %u backbone hop%s known, then %s's path is unknown\n", r->from->name,
			       w->hops, w->hops == 1 ? "" : "s", gw_name(rs->s, w->gw[w->n - 1]));
		else if (r->walk_loop)
			printf("  from %s: the installed paths do not reach %s (a loop, or too long)\n",
			       r->from->name, dst->name);
		else
			printf("  from %s: %u backbone hop%s, as the gateways hold them%s\n", r->from->name, w->hops,
			       w->hops == 1 ? "" : "s", w->hops > rs->pol.hop_limit
			       ? " (more than the hop limit: dropped on the way)" : "");
		hop_lines(rs, w);
		computed_path(r, &reg);
		marked |= *mark_of(r) != '\0';
		printf("    %-2s meshd chose: %s; computed best: %s\n", mark_of(r),
		       !r->chosen_known ? "?" : !r->chosen_reachable ? "no path (direct)"
					       : path_text(rs->s, &r->chosen, b1, sizeof(b1)),
		       r->reachable ? path_text(rs->s, &reg, b2, sizeof(b2))
				    : r->computed_known ? "unreachable" : "?");
	}
	if (marked)
		printf("\n* installed differs from meshd's choice   ~ installed differs from the computed best\n");
	unknown_views(rs);
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
