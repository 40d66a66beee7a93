// SPDX-License-Identifier: MIT
/*
 * meshctl: the operator's CLI (docs/MESHCTL.md).
 *
 *   meshctl [--registry URL] [-j|--json] [etcd options] COMMAND [ARGS]
 *
 * main() takes the global options, finds COMMAND in subcommands[] (name,
 * function, arguments, help line, whether it needs the registry), opens the
 * registry if so, and runs the function with the command's own arguments.
 * The registry's commands are here: they read or change the registry and
 * hand what to show to a printer (meshctl.h): human tables by default
 * (meshctl_table.c), one JSON document with -j (meshctl_json.c). `status`
 * reads a gateway and its meshd instead (meshctl_status.c); `route show` and
 * `trace` read the paths the gateways hold, beside meshd's choices and the
 * registry's recomputation (meshctl_routes.c).
 *
 * The registry is --registry, else $HOPMESH_REGISTRY, else
 * dir:/var/lib/hopmesh/registry. Exit status: 0 done, 1 failed, 2 bad usage;
 * --help and `meshctl help` print the commands on stdout and exit 0.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshctl.h"
#include "registry.h"

static void print_commands(FILE *f);

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: meshctl [--registry URL] [-j|--json] [--etcd-ca FILE] [--etcd-cert FILE --etcd-key FILE]\n"
		"               [--etcd-user NAME (password in $HOPMESH_ETCD_PASSWORD)] COMMAND [ARGS]\n");
	print_commands(f);
}

int mc_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "meshctl: %s\n", msg);
	print_usage(stderr);
	return 2;
}

int mc_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "meshctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static bool load(struct mc_ctx *c, struct reg_snapshot *s)
{
	char err[256];

	if (registry_load(c->reg, s, err, sizeof(err))) {
		fprintf(stderr, "meshctl: registry: %s\n", err);
		return false;
	}
	for (unsigned i = 0; i < s->nproblems && !c->json; i++)
		fprintf(stderr, "meshctl: warning: registry entry ignored: %s\n", s->problems[i]);
	return true;
}

static int no_arguments(const char *command, int argc)
{
	if (argc) {
		fprintf(stderr, "meshctl: %s takes no arguments\n", command);
		return mc_usage(NULL);
	}
	return 0;
}

/* ---- gateways ---- */

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

static int gateway_add(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_gateway g = { 0 };
	char why[256], err[256];
	const char *v;
	bool have_key = false;

	if (argc < 1 || argv[0][0] == '-')
		return mc_usage("gateway add needs a NAME");
	if (!fill(g.name, sizeof(g.name), argv[0], "name", why, sizeof(why)))
		return mc_usage(why);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		char *end;

		if (!option_value(&i, argc, argv, &v))
			return mc_usage("an option without its value");
		if (!strcmp(o, "--id")) {
			unsigned long id = strtoul(v, &end, 10);

			if (*end || !*v || id < 1 || id > REG_MAX_GATEWAY_ID)
				return mc_usage("--id must be 1-4095");
			g.id = (uint16_t)id;
		} else if (!strcmp(o, "--public-key")) {
			size_t n;

			if (strlen(v) != 44 || sodium_base642bin(g.public_key, 32, v, 44, NULL, &n, NULL,
								 sodium_base64_VARIANT_ORIGINAL) || n != 32)
				return mc_usage("--public-key must be a WireGuard public key (44 base64 characters)");
			have_key = true;
		} else if (!strcmp(o, "--endpoint")) {
			if (!fill(g.endpoint4, sizeof(g.endpoint4), v, "endpoint", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--endpoint6")) {
			if (!fill(g.endpoint6, sizeof(g.endpoint6), v, "endpoint", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--prefix")) {
			if (g.nprefixes == REG_MAX_PREFIXES)
				return mc_usage("too many prefixes");
			if (!fill(g.prefixes[g.nprefixes++], REG_ADDR_LEN, v, "prefix", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--overlay4")) {
			if (!fill(g.overlay4, sizeof(g.overlay4), v, "address", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--overlay6")) {
			if (!fill(g.overlay6, sizeof(g.overlay6), v, "address", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--region")) {
			if (!fill(g.region, sizeof(g.region), v, "region", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--zone")) {
			if (!fill(g.zone, sizeof(g.zone), v, "zone", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--private-key")) {
			return mc_usage("the registry takes public keys only: a private key never leaves its host");
		} else {
			return mc_usage("unknown option for gateway add");
		}
	}
	if (!have_key)
		return mc_usage("gateway add needs --public-key");
	if (!g.id)
		return mc_usage("gateway add needs --id");
	if (!g.region[0])
		strcpy(g.region, g.name);
	if (!reg_gateway_check(&g, why, sizeof(why)))
		return mc_fail("%s", why);
	/* The write checks it against the registry (reg_gateway_fits, seniority
	 * of claims) as one step with the write: a read here first would only
	 * double the time at scale. */
	if (registry_put_gateway(c->reg, &g, err, sizeof(err)))
		return mc_fail("%s", err);
	c->out->gateway_added(&g);
	return 0;
}

static int gateway_list(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_snapshot s;

	(void)argv;
	if (no_arguments("gateway list", argc))
		return 2;
	if (!load(c, &s))
		return 1;
	c->out->gateways(&s);
	reg_snapshot_free(&s);
	return 0;
}

/* ---- VMs ---- */

static int vm_add(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_vm vm = { 0 };
	char why[256], err[256];
	const char *v;

	if (argc < 1 || argv[0][0] == '-')
		return mc_usage("vm add needs a NAME");
	if (!fill(vm.name, sizeof(vm.name), argv[0], "name", why, sizeof(why)))
		return mc_usage(why);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!option_value(&i, argc, argv, &v))
			return mc_usage("an option without its value");
		if (!strcmp(o, "--address")) {
			if (!fill(vm.address, sizeof(vm.address), v, "address", why, sizeof(why)))
				return mc_usage(why);
		} else if (!strcmp(o, "--gateway")) {
			if (!fill(vm.gateway, sizeof(vm.gateway), v, "gateway", why, sizeof(why)))
				return mc_usage(why);
		} else {
			return mc_usage("unknown option for vm add");
		}
	}
	if (!vm.address[0] || !vm.gateway[0])
		return mc_usage("vm add needs --address and --gateway");
	if (!reg_vm_check(&vm, why, sizeof(why)))
		return mc_fail("%s", why);
	/* checked across records by the write, as one step with it */
	if (registry_put_vm(c->reg, &vm, err, sizeof(err)))
		return mc_fail("%s", err);
	c->out->vm_added(&vm);
	return 0;
}

static int vm_list(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_snapshot s;

	(void)argv;
	if (no_arguments("vm list", argc))
		return 2;
	if (!load(c, &s))
		return 1;
	c->out->vms(&s);
	reg_snapshot_free(&s);
	return 0;
}

/* ---- policy ---- */

static int policy_show(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_snapshot s;

	(void)argv;
	if (no_arguments("policy show", argc))
		return 2;
	if (!load(c, &s))
		return 1;
	c->out->policy(&s.policy);
	reg_snapshot_free(&s);
	return 0;
}

static int policy_set(struct mc_ctx *c, int argc, char **argv)
{
	struct reg_snapshot s;
	struct reg_policy p;
	char why[256], err[256];

	if (argc < 1)
		return mc_usage("policy set needs hop_limit=N, residency=on|off or loss_penalty_ms=X");
	if (!load(c, &s))
		return 1;
	p = s.policy;
	reg_snapshot_free(&s);
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;

		if (!eq)
			return mc_usage("policy set takes key=value");
		*eq++ = '\0';
		if (!strcmp(argv[i], "hop_limit")) {
			p.hop_limit = (unsigned)strtoul(eq, &end, 10);
			if (*end || !*eq)
				return mc_usage("hop_limit must be a number");
		} else if (!strcmp(argv[i], "residency")) {
			if (strcmp(eq, "on") && strcmp(eq, "off"))
				return mc_usage("residency must be on or off");
			p.residency = !strcmp(eq, "on");
		} else if (!strcmp(argv[i], "loss_penalty_ms")) {
			p.loss_penalty_ms = strtod(eq, &end);
			if (*end || !*eq)
				return mc_usage("loss_penalty_ms must be a number");
		} else {
			return mc_usage("policy keys: hop_limit, residency, loss_penalty_ms");
		}
	}
	if (!reg_policy_check(&p, why, sizeof(why)))
		return mc_fail("%s", why);
	if (registry_put_policy(c->reg, &p, err, sizeof(err)))
		return mc_fail("%s", err);
	c->out->policy(&p);
	return 0;
}

/* gateway del / vm del: a name that is not there is an error, not a no-op, so a
 * typo does not pass for success. */
static int del(struct mc_ctx *c, bool gateway, int argc, char **argv)
{
	const char *kind = gateway ? "gateway" : "vm", *name;
	struct reg_snapshot s;
	char err[256];
	bool found = false;

	if (argc != 1 || argv[0][0] == '-') {
		fprintf(stderr, "meshctl: %s del takes one NAME\n", gateway ? "gateway" : "vm");
		return mc_usage(NULL);
	}
	name = argv[0];
	if (!load(c, &s))
		return 1;
	for (unsigned i = 0; gateway && i < s.ngateways && !found; i++)
		found = !strcmp(s.gateways[i].name, name);
	for (unsigned i = 0; !gateway && i < s.nvms && !found; i++)
		found = !strcmp(s.vms[i].name, name);
	reg_snapshot_free(&s);
	if (!found)
		return mc_fail("no %s named %s", kind, name);
	if ((gateway ? registry_del_gateway : registry_del_vm)(c->reg, name, err, sizeof(err)))
		return mc_fail("%s", err);
	c->out->deleted(kind, name);
	return 0;
}

static int gateway_del(struct mc_ctx *c, int argc, char **argv)
{
	return del(c, true, argc, argv);
}

static int vm_del(struct mc_ctx *c, int argc, char **argv)
{
	return del(c, false, argc, argv);
}

/* ---- links, routes, trace ---- */

/* --from GW and --run-dir DIR anywhere in the arguments; the rest stay in
 * order. False with a usage error said. */
static bool take_options(int *argc, char **argv, const char **from, const char **run_dir)
{
	for (int i = 0; i < *argc;) {
		const char **to = !strcmp(argv[i], "--from") ? from : !strcmp(argv[i], "--run-dir") ? run_dir : NULL;

		if (!to) {
			i++;
			continue;
		}
		if (i + 1 >= *argc) {
			mc_usage(to == from ? "--from needs a gateway name" : "--run-dir needs a directory");
			return false;
		}
		*to = argv[i + 1];
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(*argv));
		*argc -= 2;
	}
	return true;
}

static int link_show(struct mc_ctx *c, int argc, char **argv)
{
	const char *from = NULL, *run_dir = mc_run_dir();
	struct mc_links l;

	if (!take_options(&argc, argv, &from, &run_dir))
		return 2;
	if (no_arguments("link show", argc))
		return 2;
	if (mc_links_read(&l, from, run_dir))
		return 1;
	c->out->links(&l);
	mc_links_free(&l);
	return 0;
}

static int route_show(struct mc_ctx *c, int argc, char **argv)
{
	const char *from = NULL, *run_dir = mc_run_dir();
	struct reg_snapshot s;
	struct mc_routes rs;
	int rc;

	if (!take_options(&argc, argv, &from, &run_dir))
		return 2;
	if (no_arguments("route show [--from GW] [--run-dir DIR]", argc))
		return 2;
	if (!load(c, &s))
		return 1;
	if (from && !mc_gw_by_name(&s, from))
		rc = mc_fail("no gateway named %s", from);
	else if (!(rc = mc_routes_read(&rs, &s, from, NULL, run_dir))) {
		c->out->routes(&rs);
		mc_routes_free(&rs);
	}
	reg_snapshot_free(&s);
	return rc;
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

static int trace(struct mc_ctx *c, int argc, char **argv)
{
	const char *from = NULL, *address, *run_dir = mc_run_dir();
	const struct reg_gateway *dst = NULL;
	unsigned char addr[16];
	struct reg_snapshot s;
	struct mc_routes rs;
	int family, rc;

	if (!take_options(&argc, argv, &from, &run_dir))
		return 2;
	if (argc != 1)
		return mc_usage("trace takes one ADDRESS (and --from GW, --run-dir DIR)");
	address = argv[0];
	family = strchr(address, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, address, addr) != 1)
		return mc_usage("trace needs an IPv4 or IPv6 address");
	if (!load(c, &s))
		return 1;
	for (unsigned i = 0; i < s.ngateways && !dst; i++)
		for (unsigned k = 0; k < s.gateways[i].nprefixes && !dst; k++)
			if (prefix_holds(s.gateways[i].prefixes[k], addr, family))
				dst = &s.gateways[i];
	if (!dst)
		rc = mc_fail("no gateway holds %s", address);
	else if (from && !mc_gw_by_name(&s, from))
		rc = mc_fail("no gateway named %s", from);
	else if (!(rc = mc_routes_read(&rs, &s, from, dst, run_dir))) {
		c->out->trace(&rs, address, dst);
		mc_routes_free(&rs);
	}
	reg_snapshot_free(&s);
	return rc;
}

/* ---- the commands ---- */

static int help(struct mc_ctx *c, int argc, char **argv)
{
	(void)c, (void)argc, (void)argv;
	print_usage(stdout);
	return 0;
}

static const struct subcommand {
	const char *name;     /* one or two words */
	int (*function)(struct mc_ctx *c, int argc, char **argv);
	const char *args;
	const char *help;
	bool registry;        /* opens the registry first */
} subcommands[] = {
	{ "gateway add", gateway_add, "NAME --id N --public-key KEY --endpoint HOST:PORT [--endpoint6 [ADDR]:PORT]\n"
	  "                --prefix P [--prefix P]... [--overlay4 A] [--overlay6 A] [--region R] [--zone Z]",
	  "add or replace a gateway", true },
	{ "gateway del", gateway_del, "NAME", "remove a gateway (refused while it has VMs)", true },
	{ "gateway list", gateway_list, "", "the gateways", true },
	{ "vm add", vm_add, "NAME --address A --gateway G", "add or replace a VM", true },
	{ "vm del", vm_del, "NAME", "remove a VM", true },
	{ "vm list", vm_list, "", "the VMs", true },
	{ "link show", link_show, "[--from GW] [--run-dir DIR]",
	  "every link a meshd on this host routes on: its own, and the others' as they advertised them", false },
	{ "route show", route_show, "[--from GW] [--run-dir DIR]",
	  "the path each gateway holds to every other, read from it, beside meshd's choice and the computed best", true },
	{ "trace", trace, "ADDRESS [--from GW] [--run-dir DIR]",
	  "the path a packet to ADDRESS takes now, hop by hop, as the gateways hold it", true },
	{ "policy show", policy_show, "", "hop limit, residency, loss penalty", true },
	{ "policy set", policy_set, "[hop_limit=N] [residency=on|off] [loss_penalty_ms=X]", "change them", true },
	{ "status", mc_status, "[NAME] [--run-dir DIR]",
	  "a gateway on this host: peers, handshakes, links, paths, drops (from it and its meshd)", false },
	{ "help", help, "", "this list", false },
};

#define NCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void print_commands(FILE *f)
{
	fprintf(f, "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", subcommands[i].name, subcommands[i].args[0] ? " " : "",
			subcommands[i].args, subcommands[i].help);
}

/* The entry for argv[0] (and argv[1] for a two-word command); *words how
 * many argv it took; NULL with a usage error said. */
static const struct subcommand *find(int argc, char **argv, int *words)
{
	/* "peer" was the first name of the gateway commands: scripts keep it. */
	static char gateway_word[] = "gateway";
	bool group = false;

	if (!strcmp(argv[0], "peer"))
		argv[0] = gateway_word;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *n = subcommands[i].name, *sp = strchr(n, ' ');
		size_t first = sp ? (size_t)(sp - n) : strlen(n);

		if (strlen(argv[0]) != first || strncmp(argv[0], n, first))
			continue;
		if (!sp) {
			*words = 1;
			return &subcommands[i];
		}
		group = true;
		if (argc >= 2 && !strcmp(argv[1], sp + 1)) {
			*words = 2;
			return &subcommands[i];
		}
	}
	if (!group)
		fprintf(stderr, "meshctl: unknown command %s (meshctl help lists them)\n", argv[0]);
	else if (argc < 2)
		fprintf(stderr, "meshctl: %s: missing subcommand\n", argv[0]);
	else
		fprintf(stderr, "meshctl: %s: unknown subcommand %s\n", argv[0], argv[1]);
	return NULL;
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
	struct mc_ctx c = { .out = &mc_table_printer };
	const struct subcommand *cmd;
	struct reg_options ro = { 0 };
	char err[256];
	int opt, rc, words;

	opterr = 0; /* said here, with the usage */
	/* Options before the command; the command's own options are its own. */
	while ((opt = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		if (opt == 'r')
			url = optarg;
		else if (opt == 'j')
			c.json = true;
		else if (opt == 'C')
			ro.ca_file = optarg;
		else if (opt == 'E')
			ro.cert_file = optarg;
		else if (opt == 'K')
			ro.key_file = optarg;
		else if (opt == 'U')
			ro.username = optarg;
		else if (opt == 'h')
			return help(&c, 0, NULL);
		else if (optopt && strchr("rCEKU", optopt))
			return mc_usage("an option without its value");
		else
			return mc_usage("unknown option");
	}
	if (c.json)
		c.out = &mc_json_printer;
	/* Never an option: a password on the command line is in ps and in the
	 * shell's history. */
	ro.password = getenv("HOPMESH_ETCD_PASSWORD");
	if (ro.username && !ro.password)
		return mc_fail("%s", "--etcd-user needs the password in $HOPMESH_ETCD_PASSWORD");
	if ((ro.cert_file != NULL) != (ro.key_file != NULL))
		return mc_usage("--etcd-cert and --etcd-key go together");
	if (sodium_init() < 0)
		return mc_fail("%s", "libsodium did not initialise");
	if (!url)
		url = "dir:/var/lib/hopmesh/registry";
	if (optind >= argc)
		return mc_usage("missing command");
	if (!(cmd = find(argc - optind, argv + optind, &words)))
		return mc_usage(NULL);
	if (cmd->registry && !(c.reg = registry_open(url, &ro, err, sizeof(err))))
		return mc_fail("%s", err);
	rc = cmd->function(&c, argc - optind - words, argv + optind + words);
	if (c.reg)
		registry_close(c.reg);
	return rc;
}
