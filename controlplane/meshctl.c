// SPDX-License-Identifier: MIT
/*
 * meshctl: the operator's view of the mesh, through the registry.
 *
 *   meshctl [--registry URL] [--json] peer add NAME --id N --public-key KEY
 *           --endpoint HOST:PORT [--endpoint6 [ADDR]:PORT] --prefix P [--prefix P]...
 *           [--overlay4 A] [--overlay6 A] [--region R] [--zone Z]
 *   meshctl peer del NAME | peer list
 *   meshctl vm add NAME --address A --gateway G | vm del NAME | vm list
 *   meshctl link show | route show [--from GW] | trace ADDRESS [--from GW]
 *   meshctl policy show | policy set [hop_limit=N] [residency=on|off] [loss_penalty_ms=X]
 *
 * The registry is --registry, else $HOPMESH_REGISTRY, else
 * dir:/var/lib/hopmesh/registry. Human tables by default; --json prints one
 * JSON document (docs/MESHCTL.md). Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "registry.h"
#include "topofeed.h"
#include "topology.h"

static bool json_out;

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "meshctl: %s\n", msg);
	fprintf(stderr,
		"usage: meshctl [--registry URL] [--json] [--etcd-ca FILE] [--etcd-cert FILE --etcd-key FILE]\n"
		"               [--etcd-user NAME (password in $HOPMESH_ETCD_PASSWORD)] COMMAND\n"
		"  peer add NAME --id N --public-key KEY --endpoint HOST:PORT [--endpoint6 [ADDR]:PORT]\n"
		"           --prefix P [--prefix P]... [--overlay4 A] [--overlay6 A] [--region R] [--zone Z]\n"
		"  peer del NAME | peer list\n"
		"  vm add NAME --address A --gateway G | vm del NAME | vm list\n"
		"  link show | route show [--from GW] | trace ADDRESS [--from GW]\n"
		"  policy show | policy set [hop_limit=N] [residency=on|off] [loss_penalty_ms=X]\n");
	return 2;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "meshctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static json_t *parsed(char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return j ? j : json_null();
}

static bool load(struct registry *r, struct reg_snapshot *s)
{
	char err[256];

	if (registry_load(r, s, err, sizeof(err))) {
		fprintf(stderr, "meshctl: registry: %s\n", err);
		return false;
	}
	for (unsigned i = 0; i < s->nproblems && !json_out; i++)
		fprintf(stderr, "meshctl: warning: registry entry ignored: %s\n", s->problems[i]);
	return true;
}

/* ---- peers (gateways) ---- */

static bool option_value(int *i, int argc, char **argv, const char **out)
{
	if (*i + 1 >= argc)
		return false;
	*out = argv[++*i];
	return true;
}

static bool fill(char *dst, size_t size, const char *v, const char *what, char *why, size_t len)
{
	if (strlen(v) >= size) {
		snprintf(why, len, "%s too long: %s", what, v);
		return false;
	}
	strcpy(dst, v);
	return true;
}

static int peer_add(struct registry *r, int argc, char **argv)
{
	struct reg_gateway g = { 0 };
	struct reg_snapshot s;
	char why[256], err[256];
	const char *v;
	bool have_key = false;
	int rc;

	if (argc < 1 || argv[0][0] == '-')
		return usage("peer add needs a NAME");
	if (!fill(g.name, sizeof(g.name), argv[0], "name", why, sizeof(why)))
		return usage(why);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		char *end;

		if (!option_value(&i, argc, argv, &v))
			return usage("an option without its value");
		if (!strcmp(o, "--id")) {
			unsigned long id = strtoul(v, &end, 10);

			if (*end || !*v || id < 1 || id > REG_MAX_GATEWAY_ID)
				return usage("--id must be 1-4095");
			g.id = (uint16_t)id;
		} else if (!strcmp(o, "--public-key")) {
			size_t n;

			if (strlen(v) != 44 || sodium_base642bin(g.public_key, 32, v, 44, NULL, &n, NULL,
								 sodium_base64_VARIANT_ORIGINAL) || n != 32)
				return usage("--public-key must be a WireGuard public key (44 base64 characters)");
			have_key = true;
		} else if (!strcmp(o, "--endpoint")) {
			if (!fill(g.endpoint4, sizeof(g.endpoint4), v, "endpoint", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--endpoint6")) {
			if (!fill(g.endpoint6, sizeof(g.endpoint6), v, "endpoint", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--prefix")) {
			if (g.nprefixes == REG_MAX_PREFIXES)
				return usage("too many prefixes");
			if (!fill(g.prefixes[g.nprefixes++], REG_ADDR_LEN, v, "prefix", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--overlay4")) {
			if (!fill(g.overlay4, sizeof(g.overlay4), v, "address", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--overlay6")) {
			if (!fill(g.overlay6, sizeof(g.overlay6), v, "address", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--region")) {
			if (!fill(g.region, sizeof(g.region), v, "region", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--zone")) {
			if (!fill(g.zone, sizeof(g.zone), v, "zone", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--private-key")) {
			return usage("the registry takes public keys only: a private key never leaves its host");
		} else {
			return usage("unknown option for peer add");
		}
	}
	if (!have_key)
		return usage("peer add needs --public-key");
	if (!g.id)
		return usage("peer add needs --id");
	if (!g.region[0])
		strcpy(g.region, g.name);
	if (!reg_gateway_check(&g, why, sizeof(why)))
		return fail("%s", why);
	if (!load(r, &s))
		return 1;
	rc = reg_gateway_fits(&s, &g, why, sizeof(why)) ? 0 : fail("%s", why);
	reg_snapshot_free(&s);
	if (rc)
		return rc;
	if (registry_put_gateway(r, &g, err, sizeof(err)))
		return fail("%s", err);
	if (json_out)
		print_json(parsed(reg_gateway_json(&g)));
	else
		printf("gateway %s added (id %u)\n", g.name, g.id);
	return 0;
}

static int peer_list(struct registry *r)
{
	struct reg_snapshot s;
	char key[45];

	if (!load(r, &s))
		return 1;
	if (json_out) {
		json_t *a = json_array();

		for (unsigned i = 0; i < s.ngateways; i++)
			json_array_append_new(a, parsed(reg_gateway_json(&s.gateways[i])));
		print_json(json_pack("{s:o}", "gateways", a));
	} else {
		printf("%-16s %5s %-16s %-8s %-24s %-44s %s\n", "NAME", "ID", "REGION", "ZONE",
		       "ENDPOINT", "PUBLIC KEY", "PREFIXES");
		for (unsigned i = 0; i < s.ngateways; i++) {
			const struct reg_gateway *g = &s.gateways[i];

			sodium_bin2base64(key, sizeof(key), g->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
			printf("%-16s %5u %-16s %-8s %-24s %-44s", g->name, g->id, g->region,
			       g->zone[0] ? g->zone : "-", g->endpoint4[0] ? g->endpoint4 : g->endpoint6, key);
			for (unsigned k = 0; k < g->nprefixes; k++)
				printf("%s%s", k ? "," : " ", g->prefixes[k]);
			putchar('\n');
		}
	}
	reg_snapshot_free(&s);
	return 0;
}

/* ---- VMs ---- */

static int vm_add(struct registry *r, int argc, char **argv)
{
	struct reg_vm vm = { 0 };
	struct reg_snapshot s;
	char why[256], err[256];
	const char *v;
	int rc;

	if (argc < 1 || argv[0][0] == '-')
		return usage("vm add needs a NAME");
	if (!fill(vm.name, sizeof(vm.name), argv[0], "name", why, sizeof(why)))
		return usage(why);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!option_value(&i, argc, argv, &v))
			return usage("an option without its value");
		if (!strcmp(o, "--address")) {
			if (!fill(vm.address, sizeof(vm.address), v, "address", why, sizeof(why)))
				return usage(why);
		} else if (!strcmp(o, "--gateway")) {
			if (!fill(vm.gateway, sizeof(vm.gateway), v, "gateway", why, sizeof(why)))
				return usage(why);
		} else {
			return usage("unknown option for vm add");
		}
	}
	if (!vm.address[0] || !vm.gateway[0])
		return usage("vm add needs --address and --gateway");
	if (!reg_vm_check(&vm, why, sizeof(why)))
		return fail("%s", why);
	if (!load(r, &s))
		return 1;
	rc = reg_vm_fits(&s, &vm, why, sizeof(why)) ? 0 : fail("%s", why);
	reg_snapshot_free(&s);
	if (rc)
		return rc;
	if (registry_put_vm(r, &vm, err, sizeof(err)))
		return fail("%s", err);
	if (json_out)
		print_json(parsed(reg_vm_json(&vm)));
	else
		printf("vm %s added (%s behind %s)\n", vm.name, vm.address, vm.gateway);
	return 0;
}

static int vm_list(struct registry *r)
{
	struct reg_snapshot s;

	if (!load(r, &s))
		return 1;
	if (json_out) {
		json_t *a = json_array();

		for (unsigned i = 0; i < s.nvms; i++)
			json_array_append_new(a, parsed(reg_vm_json(&s.vms[i])));
		print_json(json_pack("{s:o}", "vms", a));
	} else {
		printf("%-32s %-40s %s\n", "NAME", "ADDRESS", "GATEWAY");
		for (unsigned i = 0; i < s.nvms; i++)
			printf("%-32s %-40s %s\n", s.vms[i].name, s.vms[i].address, s.vms[i].gateway);
	}
	reg_snapshot_free(&s);
	return 0;
}

/* ---- links, routes, trace ---- */

static const struct reg_gateway *gw_by_name(const struct reg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

static const struct reg_gateway *gw_by_id(const struct reg_snapshot *s, unsigned id)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (s->gateways[i].id == id)
			return &s->gateways[i];
	return NULL;
}

static const struct reg_link *link_of(const struct reg_snapshot *s, const char *a, const char *b)
{
	for (unsigned i = 0; i < s->nlinks; i++)
		if (!strcmp(s->links[i].from, a) && !strcmp(s->links[i].to, b))
			return &s->links[i];
	return NULL;
}

static int link_show(struct registry *r)
{
	struct reg_snapshot s;

	if (!load(r, &s))
		return 1;
	if (json_out) {
		json_t *a = json_array();

		for (unsigned i = 0; i < s.nlinks; i++)
			json_array_append_new(a, parsed(reg_link_json(&s.links[i])));
		print_json(json_pack("{s:o}", "links", a));
	} else {
		printf("%-16s %-16s %-5s %9s %9s %9s %9s %7s %9s\n", "FROM", "TO", "STATE", "RTT ms",
		       "p50", "p90", "p99", "LOSS", "JITTER ms");
		for (unsigned i = 0; i < s.nlinks; i++) {
			const struct reg_link *l = &s.links[i];

			printf("%-16s %-16s %-5s %9.1f %9.1f %9.1f %9.1f %6.1f%% %9.2f\n", l->from, l->to,
			       l->up ? "up" : "DOWN", l->rtt_ms, l->rtt_p50_ms, l->rtt_p90_ms, l->rtt_p99_ms,
			       l->loss * 100, l->jitter_ms);
		}
	}
	reg_snapshot_free(&s);
	return 0;
}

/* The graph as the registry's links describe it (topofeed.c, as meshd's),
 * and the policy. */
static struct topo *graph(const struct reg_snapshot *s, struct topo_policy *p)
{
	struct topofeed feed = { .present = { false } };
	struct topo *t = topo_new(REG_MAX_GATEWAY_ID);

	if (!t)
		return NULL;
	topofeed_policy(s, p);
	topofeed_registry(&feed, t, s, 0);
	return t;
}

static json_t *path_json(const struct reg_snapshot *s, const struct topo_path *p)
{
	json_t *hops = json_array();

	for (unsigned h = 0; h < p->hops; h++) {
		const struct reg_gateway *a = gw_by_id(s, p->gw[h]), *b = gw_by_id(s, p->gw[h + 1]);
		const struct reg_link *l = a && b ? link_of(s, a->name, b->name) : NULL;

		json_array_append_new(hops, json_pack("{s:s,s:s,s:f,s:f,s:b}", "from", a ? a->name : "?",
						      "to", b ? b->name : "?", "rtt_ms", l ? l->rtt_ms : 0.0,
						      "loss", l ? l->loss : 0.0, "up", l && l->up));
	}
	return hops;
}

static void print_path(const struct reg_snapshot *s, const struct topo_path *p)
{
	for (unsigned h = 0; h < p->hops; h++) {
		const struct reg_gateway *a = gw_by_id(s, p->gw[h]), *b = gw_by_id(s, p->gw[h + 1]);
		const struct reg_link *l = a && b ? link_of(s, a->name, b->name) : NULL;

		printf("    %u. %-14s -> %-14s rtt %7.1f ms  loss %5.1f%%\n", h + 1, a ? a->name : "?",
		       b ? b->name : "?", l ? l->rtt_ms : 0, l ? l->loss * 100 : 0);
	}
}

static int route_show(struct registry *r, const char *from)
{
	struct reg_snapshot s;
	struct topo_policy pol;
	struct topo *t;
	json_t *all = json_array();

	if (!load(r, &s))
		return 1;
	if (from && !gw_by_name(&s, from)) {
		reg_snapshot_free(&s);
		json_decref(all);
		return fail("no gateway named %s", from);
	}
	if (!(t = graph(&s, &pol))) {
		reg_snapshot_free(&s);
		json_decref(all);
		return fail("%s", "out of memory");
	}
	if (!json_out)
		printf("%-16s %-16s %-16s %4s %9s\n", "FROM", "TO", "VIA", "HOPS", "COST ms");
	for (unsigned i = 0; i < s.ngateways; i++) {
		const struct reg_gateway *a = &s.gateways[i];

		if (from && strcmp(a->name, from))
			continue;
		for (unsigned j = 0; j < s.ngateways; j++) {
			const struct reg_gateway *b = &s.gateways[j], *via;
			struct topo_path p;
			bool ok;

			if (a == b)
				continue;
			ok = topo_best_path(t, &pol, a->id, b->id, &p);
			via = ok && p.hops > 1 ? gw_by_id(&s, p.gw[1]) : b;
			if (json_out)
				json_array_append_new(all, json_pack("{s:s,s:s,s:s,s:i,s:f,s:b,s:o}", "from", a->name,
								     "to", b->name, "via", via ? via->name : "?",
								     "hops", ok ? (int)p.hops : 0, "cost_ms",
								     ok ? p.cost : -1.0, "reachable", ok,
								     "path", ok ? path_json(&s, &p) : json_array()));
			else if (ok)
				printf("%-16s %-16s %-16s %4u %9.1f\n", a->name, b->name,
				       via ? via->name : "?", p.hops, p.cost);
			else
				printf("%-16s %-16s %-16s %4s %9s\n", a->name, b->name, "-", "-",
				       "unreachable");
		}
	}
	if (json_out)
		print_json(json_pack("{s:s,s:i,s:b,s:o}", "computed_from", "registry link measurements",
				     "hop_limit", (int)pol.hop_limit, "residency", pol.residency, "routes", all));
	else
		json_decref(all);
	topo_free(t);
	reg_snapshot_free(&s);
	return 0;
}

static bool prefix_holds(const char *prefix, const unsigned char *addr, int family)
{
	char buf[REG_ADDR_LEN], *slash;
	unsigned char net[16];
	unsigned bits, bytes = family == AF_INET ? 4 : 16;

	snprintf(buf, sizeof(buf), "%s", prefix);
	if (!(slash = strchr(buf, '/')))
		return false;
	*slash = '\0';
	bits = (unsigned)atoi(slash + 1);
	if (inet_pton(family, buf, net) != 1 || bits > bytes * 8)
		return false;
	for (unsigned b = 0; b < bits; b++)
		if ((net[b / 8] ^ addr[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

static int trace(struct registry *r, const char *address, const char *from)
{
	unsigned char addr[16];
	int family = strchr(address, ':') ? AF_INET6 : AF_INET;
	const struct reg_gateway *dst = NULL;
	struct reg_snapshot s;
	struct topo_policy pol;
	struct topo *t;
	json_t *all = json_array();

	if (inet_pton(family, address, addr) != 1)
		return usage("trace needs an IPv4 or IPv6 address");
	if (!load(r, &s))
		return 1;
	for (unsigned i = 0; i < s.ngateways && !dst; i++)
		for (unsigned k = 0; k < s.gateways[i].nprefixes && !dst; k++)
			if (prefix_holds(s.gateways[i].prefixes[k], addr, family))
				dst = &s.gateways[i];
	if (!dst || (from && !gw_by_name(&s, from)) || !(t = graph(&s, &pol))) {
		reg_snapshot_free(&s);
		json_decref(all);
		return dst ? fail("no gateway named %s", from ? from : "") : fail("no gateway holds %s", address);
	}
	if (!json_out)
		printf("%s is behind %s\n", address, dst->name);
	for (unsigned i = 0; i < s.ngateways; i++) {
		const struct reg_gateway *a = &s.gateways[i];
		struct topo_path p;

		if (a == dst || (from && strcmp(a->name, from)))
			continue;
		if (!topo_best_path(t, &pol, a->id, dst->id, &p)) {
			if (json_out)
				json_array_append_new(all, json_pack("{s:s,s:b}", "from", a->name, "reachable", 0));
			else
				printf("  from %s: unreachable\n", a->name);
			continue;
		}
		if (json_out) {
			json_array_append_new(all, json_pack("{s:s,s:b,s:i,s:f,s:o}", "from", a->name, "reachable",
							     1, "hops", (int)p.hops, "rtt_ms", p.cost,
							     "path", path_json(&s, &p)));
		} else {
			printf("  from %s: %u backbone hop%s\n", a->name, p.hops, p.hops == 1 ? "" : "s");
			print_path(&s, &p);
		}
	}
	if (json_out)
		print_json(json_pack("{s:s,s:s,s:o}", "address", address, "gateway", dst->name, "paths", all));
	else
		json_decref(all);
	topo_free(t);
	reg_snapshot_free(&s);
	return 0;
}

/* ---- policy ---- */

static int policy(struct registry *r, int argc, char **argv)
{
	struct reg_snapshot s;
	struct reg_policy p;
	char why[256], err[256];

	if (!load(r, &s))
		return 1;
	p = s.policy;
	reg_snapshot_free(&s);
	if (argc >= 1 && !strcmp(argv[0], "set")) {
		if (argc < 2)
			return usage("policy set needs hop_limit=N, residency=on|off or loss_penalty_ms=X");
		for (int i = 1; i < argc; i++) {
			char *eq = strchr(argv[i], '='), *end;

			if (!eq)
				return usage("policy set takes key=value");
			*eq++ = '\0';
			if (!strcmp(argv[i], "hop_limit")) {
				p.hop_limit = (unsigned)strtoul(eq, &end, 10);
				if (*end || !*eq)
					return usage("hop_limit must be a number");
			} else if (!strcmp(argv[i], "residency")) {
				if (strcmp(eq, "on") && strcmp(eq, "off"))
					return usage("residency must be on or off");
				p.residency = !strcmp(eq, "on");
			} else if (!strcmp(argv[i], "loss_penalty_ms")) {
				p.loss_penalty_ms = strtod(eq, &end);
				if (*end || !*eq)
					return usage("loss_penalty_ms must be a number");
			} else {
				return usage("policy keys: hop_limit, residency, loss_penalty_ms");
			}
		}
		if (!reg_policy_check(&p, why, sizeof(why)))
			return fail("%s", why);
		if (registry_put_policy(r, &p, err, sizeof(err)))
			return fail("%s", err);
	} else if (argc != 1 || strcmp(argv[0], "show")) {
		return usage("policy show | policy set ...");
	}
	if (json_out)
		print_json(parsed(reg_policy_json(&p)));
	else
		printf("hop_limit %u\nresidency %s\nloss_penalty_ms %g\n", p.hop_limit,
		       p.residency ? "on" : "off", p.loss_penalty_ms);
	return 0;
}

/* peer del / vm del: a name that is not there is an error, not a no-op, so a
 * typo does not pass for success. */
static int del(struct registry *r, bool gateway, const char *name)
{
	struct reg_snapshot s;
	char err[256];
	bool found = false;

	if (!load(r, &s))
		return 1;
	for (unsigned i = 0; gateway && i < s.ngateways && !found; i++)
		found = !strcmp(s.gateways[i].name, name);
	for (unsigned i = 0; !gateway && i < s.nvms && !found; i++)
		found = !strcmp(s.vms[i].name, name);
	reg_snapshot_free(&s);
	if (!found)
		return fail("no %s named %s", gateway ? "gateway" : "vm", name);
	if ((gateway ? registry_del_gateway : registry_del_vm)(r, name, err, sizeof(err)))
		return fail("%s", err);
	if (json_out)
		print_json(json_pack("{s:s,s:s}", "deleted", gateway ? "gateway" : "vm", "name", name));
	else
		printf("%s %s deleted\n", gateway ? "gateway" : "vm", name);
	return 0;
}

static int dispatch(struct registry *r, int argc, char **argv)
{
	const char *from = NULL;

	if (argc < 2 && !(argc == 1 && !strcmp(argv[0], "help")))
		return usage(argc ? "missing subcommand" : "missing command");
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--from")) {
			from = argv[i + 1];
			memmove(argv + i, argv + i + 2, (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			break;
		}
	if (!strcmp(argv[0], "peer") && !strcmp(argv[1], "add"))
		return peer_add(r, argc - 2, argv + 2);
	if (!strcmp(argv[0], "peer") && !strcmp(argv[1], "del") && argc == 3)
		return del(r, true, argv[2]);
	if (!strcmp(argv[0], "peer") && !strcmp(argv[1], "list") && argc == 2)
		return peer_list(r);
	if (!strcmp(argv[0], "vm") && !strcmp(argv[1], "add"))
		return vm_add(r, argc - 2, argv + 2);
	if (!strcmp(argv[0], "vm") && !strcmp(argv[1], "del") && argc == 3)
		return del(r, false, argv[2]);
	if (!strcmp(argv[0], "vm") && !strcmp(argv[1], "list") && argc == 2)
		return vm_list(r);
	if (!strcmp(argv[0], "link") && !strcmp(argv[1], "show") && argc == 2)
		return link_show(r);
	if (!strcmp(argv[0], "route") && !strcmp(argv[1], "show") && argc == 2)
		return route_show(r, from);
	if (!strcmp(argv[0], "trace") && argc == 2)
		return trace(r, argv[1], from);
	if (!strcmp(argv[0], "policy"))
		return policy(r, argc - 1, argv + 1);
	return usage("unknown command");
}

int main(int argc, char **argv)
{
	const char *url = getenv("HOPMESH_REGISTRY");
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "etcd-ca", required_argument, NULL, 'C' },
		{ "etcd-cert", required_argument, NULL, 'E' },
		{ "etcd-key", required_argument, NULL, 'K' },
		{ "etcd-user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reg_options ro = { 0 };
	struct registry *r;
	char err[256];
	int opt, rc;

	/* Options before the command; the command's own options are its own. */
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt == 'r')
			url = optarg;
		else if (opt == 'j')
			json_out = true;
		else if (opt == 'C')
			ro.ca_file = optarg;
		else if (opt == 'E')
			ro.cert_file = optarg;
		else if (opt == 'K')
			ro.key_file = optarg;
		else if (opt == 'U')
			ro.username = optarg;
		else
			return usage(opt == 'h' ? NULL : "unknown option");
	}
	/* Never an option: a password on the command line is in ps and in the
	 * shell's history. */
	ro.password = getenv("HOPMESH_ETCD_PASSWORD");
	if (ro.username && !ro.password)
		return fail("%s", "--etcd-user needs the password in $HOPMESH_ETCD_PASSWORD");
	if ((ro.cert_file != NULL) != (ro.key_file != NULL))
		return usage("--etcd-cert and --etcd-key go together");
	if (sodium_init() < 0)
		return fail("%s", "libsodium did not initialise");
	if (!url)
		url = "dir:/var/lib/hopmesh/registry";
	if (optind >= argc)
		return usage("missing command");
	r = registry_open(url, &ro, err, sizeof(err));
	if (!r)
		return fail("%s", err);
	rc = dispatch(r, argc - optind, argv + optind);
	registry_close(r);
	return rc;
}
