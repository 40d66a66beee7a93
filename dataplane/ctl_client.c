// SPDX-License-Identifier: MIT
/*
 * hopmesh-ctl: one request to a gateway's control socket (docs/CONTROL.md).
 *
 *   hopmesh-ctl [-j|--json] [-d RUN_DIR] NAME COMMAND [ARGS...]
 *
 * Flow: options -> the command is checked against the table of protocol v1
 * commands below (a wrong one is a usage error, exit 2, before any connection)
 * -> the request line is sent -> the one-line reply is read whole, however
 * long -> with --json it is printed exactly as the gateway sent it, for
 * scripts; otherwise it is parsed and shown for people (aligned tables, like
 * `wg show`), and a success without data ({"ok":true}) prints nothing. An
 * "error" member is exit 1 either way: on stdout with --json, on stderr
 * otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "unixsock.h"

#define REPLY_TIMEOUT_S 10
#define TABLE_COLS 9

static const char *prog = "hopmesh-ctl";

/* ---- reading the reply ---- */

static json_int_t num(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* ---- aligned tables: rows collected, widths known, then printed ---- */

struct table {
	unsigned cols;
	const char *head[TABLE_COLS];
	bool right[TABLE_COLS]; /* numbers line up on their last digit */
	char **cell;            /* rows * cols strings */
	size_t rows, cap;
};

static void table_row(struct table *t, ...)
{
	va_list ap;

	if (t->rows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cell = realloc(t->cell, t->cap * t->cols * sizeof(*t->cell));
		if (!t->cell) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(1);
		}
	}
	va_start(ap, t);
	for (unsigned c = 0; c < t->cols; c++) {
		const char *s = va_arg(ap, const char *);

		if (!(t->cell[t->rows * t->cols + c] = strdup(s ? s : ""))) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(1);
		}
	}
	va_end(ap);
	t->rows++;
}

static void table_print(struct table *t, const char *indent)
{
	size_t w[TABLE_COLS];

	for (unsigned c = 0; c < t->cols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->rows; r++) {
			size_t n = strlen(t->cell[r * t->cols + c]);

			w[c] = n > w[c] ? n : w[c];
		}
	}
	for (size_t r = 0; r <= t->rows; r++) {
		fputs(indent, stdout);
		for (unsigned c = 0; c < t->cols; c++) {
			const char *s = r ? t->cell[(r - 1) * t->cols + c] : t->head[c];
			bool last = c + 1 == t->cols;

			if (t->right[c])
				printf("%*s%s", (int)w[c], s, last ? "" : "  ");
			else
				printf("%-*s%s", last ? 0 : (int)w[c], s, last ? "" : "  ");
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cell[i]);
	free(t->cell);
}

static const char *u64s(char *buf, json_int_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

/* "1 hour, 2 minutes, 3 seconds", as wg(8) writes ages. */
static void print_duration(long long s)
{
	static const struct { const char *unit; long long len; } part[] = {
		{ "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 },
	};
	bool any = false;

	for (unsigned i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		long long n = s / part[i].len;

		s %= part[i].len;
		if (!n && (any || i + 1 < sizeof(part) / sizeof(part[0])))
			continue;
		printf("%s%lld %s%s", any ? ", " : "", n, part[i].unit, n == 1 ? "" : "s");
		any = true;
	}
}

static void print_bytes(json_int_t b)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	unsigned u = 0;

	if (b < 1024) {
		printf("%lld B", (long long)b);
		return;
	}
	for (v /= 1024; v >= 1024 && u + 1 < 4; u++)
		v /= 1024;
	printf("%.2f %s", v, unit[u]);
}

/* ---- one view per reply shape ---- */

static void show_version(json_t *r)
{
	printf("gateway: %s\nprotocol: %lld\n", str(r, "gateway"), (long long)num(r, "protocol"));
}

static void show_ports(json_t *ports)
{
	struct table t = { .cols = 8,
			   .head = { "PORT", "RX PACKETS", "RX BYTES", "TX PACKETS", "TX BYTES",
				     "RX MISSED", "RX ERRORS", "TX ERRORS" },
			   .right = { false, true, true, true, true, true, true, true } };
	const char *name;
	json_t *p;
	char b[7][24];

	json_object_foreach(ports, name, p)
		table_row(&t, name, u64s(b[0], num(p, "rx_packets")), u64s(b[1], num(p, "rx_bytes")),
			  u64s(b[2], num(p, "tx_packets")), u64s(b[3], num(p, "tx_bytes")),
			  u64s(b[4], num(p, "rx_missed")), u64s(b[5], num(p, "rx_errors")),
			  u64s(b[6], num(p, "tx_errors")));
	table_print(&t, "  ");
}

static void show_workers(json_t *workers)
{
	struct table t = { .cols = 5,
			   .head = { "WORKER", "RX PACKETS", "ENCRYPTED", "DECRYPTED", "HANDED OFF" },
			   .right = { true, true, true, true, true } };
	size_t i;
	json_t *w;
	char b[5][24];

	json_array_foreach(workers, i, w)
		table_row(&t, u64s(b[0], (json_int_t)i), u64s(b[1], num(w, "rx_packets")),
			  u64s(b[2], num(w, "encrypted")), u64s(b[3], num(w, "decrypted")),
			  u64s(b[4], num(w, "handed_off")));
	table_print(&t, "  ");
}

/* Only the reasons that dropped something; the rest are summed up as zero. */
static void show_drops(json_t *drops)
{
	struct table t = { .cols = 2, .head = { "REASON", "PACKETS" }, .right = { false, true } };
	const char *name;
	json_t *v;
	size_t zero = 0;
	char b[24];

	json_object_foreach(drops, name, v) {
		if (json_integer_value(v))
			table_row(&t, name, u64s(b, json_integer_value(v)));
		else
			zero++;
	}
	if (!t.rows) {
		printf("drops: none (%zu reasons, all 0)\n", zero);
		return;
	}
	printf("drops:\n");
	table_print(&t, "  ");
	printf("  (the other %zu reasons: 0)\n", zero);
}

static void show_peers(json_t *peers)
{
	struct timespec now;
	size_t i;
	json_t *p;

	clock_gettime(CLOCK_REALTIME, &now);
	json_array_foreach(peers, i, p) {
		json_int_t hs = num(p, "last_handshake_unix_ns");
		const char *ep = str(p, "endpoint");

		printf("\npeer: %s\n", str(p, "public_key"));
		printf("  endpoint: %s\n", *ep ? ep : "(none)");
		printf("  latest handshake: ");
		if (!hs) {
			printf("never");
		} else {
			long long ago = (long long)now.tv_sec - hs / 1000000000;

			print_duration(ago > 0 ? ago : 0);
			printf(" ago");
		}
		printf("\n  handshakes: %lld\n  session: %s\n  transfer: ", (long long)num(p, "handshakes"),
		       json_is_true(json_object_get(p, "has_session")) ? "yes" : "no");
		print_bytes(num(p, "rx_bytes"));
		printf(" received, ");
		print_bytes(num(p, "tx_bytes"));
		printf(" sent\n");
	}
}

static void show_counters(json_t *r)
{
	static const struct { const char *key, *label; } line[] = {
		{ "workers", "workers" },
		{ "encrypted", "encrypted" },
		{ "decrypted", "decrypted" },
		{ "keepalives_received", "keepalives received" },
		{ "handshakes_received", "handshakes received" },
		{ "relayed", "relayed" },
		{ "handed_off", "handed off" },
		{ "icmp_sent", "icmp sent" },
	};
	json_t *hops = json_object_get(r, "delivered_by_hops"), *v;
	bool any = false;
	size_t h;

	printf("gateway: %s\n  uptime: ", str(r, "gateway"));
	print_duration(num(r, "uptime_s"));
	putchar('\n');
	for (unsigned i = 0; i < sizeof(line) / sizeof(line[0]); i++)
		printf("  %s: %lld\n", line[i].label, (long long)num(r, line[i].key));
	/* Bucket h: packets that crossed h backbone hops (1 direct). */
	printf("  delivered by hops:");
	json_array_foreach(hops, h, v) {
		if (json_integer_value(v)) {
			printf("%s %zu: %lld", any ? "," : "", h, (long long)json_integer_value(v));
			any = true;
		}
	}
	printf("%s\n\n", any ? "" : " none");
	show_ports(json_object_get(r, "ports"));
	putchar('\n');
	show_workers(json_object_get(r, "per_worker"));
	putchar('\n');
	show_drops(json_object_get(r, "drops"));
	show_peers(json_object_get(r, "peers"));
}

/* A path as people read it: "direct", or "via 3 4, 3 hops" (the relays). */
static void path_text(json_t *e, char *buf, size_t len)
{
	json_t *path = json_object_get(e, "path"), *v;
	size_t i, n = json_array_size(path), at;

	if (n <= 1) {
		snprintf(buf, len, "direct");
		return;
	}
	at = (size_t)snprintf(buf, len, "via");
	json_array_foreach(path, i, v)
		if (i + 1 < n && at < len)
			at += (size_t)snprintf(buf + at, len - at, " %lld", (long long)json_integer_value(v));
	if (at < len)
		snprintf(buf + at, len - at, ", %zu hops", n);
}

static void show_lookup(json_t *r)
{
	json_int_t gw = num(r, "gateway");
	char path[64];

	path_text(r, path, sizeof(path));
	if (!gw)
		printf("%s: no route\n", str(r, "address"));
	else
		printf("%s: gateway %lld, %s\n", str(r, "address"), (long long)gw, path);
}

static void show_hop_limit(json_t *r)
{
	printf("hop limit %lld (ceiling %lld, ", (long long)num(r, "hop_limit"),
	       (long long)num(r, "hop_limit_ceiling"));
	if (num(r, "hop_limit_pushed"))
		printf("pushed %lld)\n", (long long)num(r, "hop_limit_pushed"));
	else
		printf("none pushed)\n");
}

static void show_residency(json_t *r)
{
	printf("residency %s\n", json_is_true(json_object_get(r, "residency")) ? "on" : "off");
}

static void show_routes(json_t *r)
{
	struct table t = { .cols = 2, .head = { "PREFIX", "GATEWAY" }, .right = { false, true } };
	json_t *routes = json_object_get(r, "routes"), *e;
	size_t i;
	char b[24];

	if (!json_array_size(routes)) {
		printf("no routes\n");
		return;
	}
	json_array_foreach(routes, i, e)
		table_row(&t, str(e, "prefix"), u64s(b, num(e, "gateway")));
	table_print(&t, "");
}

static const char *or_dash(const char *addr)
{
	return !*addr || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::") ? "-" : addr;
}

static void show_gateways(json_t *r)
{
	struct table t = { .cols = 9,
			   .head = { "ID", "NAME", "ZONE", "PUBLIC KEY", "PEER", "LINK", "PATH", "OVERLAY4", "OVERLAY6" },
			   .right = { true } };
	json_t *gws = json_object_get(r, "gateways"), *e;
	size_t i;
	char id[24], path[64];

	printf("self: %lld%s\n", (long long)num(r, "self"), num(r, "self") ? "" : " (not set)");
	show_hop_limit(r);
	show_residency(r);
	if (!json_array_size(gws)) {
		printf("no gateways\n");
		return;
	}
	json_array_foreach(gws, i, e) {
		path_text(e, path, sizeof(path));
		table_row(&t, u64s(id, num(e, "id")), *str(e, "name") ? str(e, "name") : "-",
			  or_dash(str(e, "zone")), str(e, "public_key"), json_is_true(json_object_get(e, "bound")) ? "bound" : "none",
			  str(e, "link"), path, or_dash(str(e, "overlay4")), or_dash(str(e, "overlay6")));
	}
	table_print(&t, "");
}

static void show_probes(json_t *r)
{
	struct table t = { .cols = 5,
			   .head = { "GATEWAY", "SENT", "RECEIVED", "LAST REPLY", "RTT MIN/AVG/MAX" },
			   .right = { true, true, true, true, false } };
	struct table n = { .cols = 4, .head = { "RELAY", "CANNOT REACH", "NOTICES", "LAST" },
			   .right = { true, true, true, true } };
	json_t *links = json_object_get(r, "links"), *l, *v;
	size_t i, k;
	char b[3][24], last[32], rtt[80];

	if (num(r, "interval_ms"))
		printf("probe interval: %lld ms\n", (long long)num(r, "interval_ms"));
	else
		printf("probe interval: off\n");
	if (!json_array_size(links))
		return;
	json_array_foreach(links, i, l) {
		json_t *rtts = json_object_get(l, "rtt_us");
		json_int_t lo = 0, hi = 0, sum = 0, since = num(l, "since_reply_ms");

		json_array_foreach(rtts, k, v) {
			json_int_t us = json_integer_value(v);

			lo = !k || us < lo ? us : lo;
			hi = us > hi ? us : hi;
			sum += us;
		}
		if (json_array_size(rtts))
			snprintf(rtt, sizeof(rtt), "%.3f/%.3f/%.3f ms (%zu)", lo / 1e3,
				 (double)sum / (double)json_array_size(rtts) / 1e3, hi / 1e3,
				 json_array_size(rtts));
		else
			snprintf(rtt, sizeof(rtt), "-");
		if (since < 0)
			snprintf(last, sizeof(last), "never");
		else
			snprintf(last, sizeof(last), "%lld ms ago", (long long)since);
		table_row(&t, u64s(b[0], num(l, "gateway")), u64s(b[1], num(l, "sent")),
			  u64s(b[2], num(l, "received")), last, rtt);
	}
	table_print(&t, "");
	links = json_object_get(r, "notices");
	if (!json_array_size(links))
		return;
	/* What relays said about links we do not probe ourselves. */
	json_array_foreach(links, i, l) {
		snprintf(last, sizeof(last), "%lld ms ago", (long long)num(l, "age_ms"));
		table_row(&n, u64s(b[0], num(l, "from")), u64s(b[1], num(l, "unreachable")),
			  u64s(b[2], num(l, "count")), last);
	}
	printf("\n");
	table_print(&n, "");
}

/* The other gateways' link-state advertisements kept: one row per link. */
static void show_lsas(json_t *r)
{
	struct table t = { .cols = 8,
			   .head = { "ORIGIN", "PART", "AGE", "TO", "STATE", "RTT ms", "LOSS", "SEQ" },
			   .right = { true, false, true, true, false, true, true, true } };
	json_t *lsas = json_object_get(r, "lsas"), *p, *l;
	size_t i, k;
	char b[8][32];

	printf("parts kept: %zu (newest numbered %lld)\n", json_array_size(lsas), (long long)num(r, "seq"));
	if (!json_array_size(lsas))
		return;
	json_array_foreach(lsas, i, p) {
		snprintf(b[1], sizeof(b[1]), "%lld/%lld", (long long)num(p, "part") + 1, (long long)num(p, "parts"));
		snprintf(b[2], sizeof(b[2]), "%lld ms", (long long)num(p, "age_ms"));
		snprintf(b[7], sizeof(b[7]), "%lld", (long long)num(p, "seq"));
		json_array_foreach(json_object_get(p, "links"), k, l) {
			snprintf(b[5], sizeof(b[5]), "%.1f", json_integer_value(json_array_get(l, 2)) / 1e3);
			snprintf(b[6], sizeof(b[6]), "%.1f%%", json_integer_value(json_array_get(l, 7)) * 100.0 / 65535);
			table_row(&t, u64s(b[0], num(p, "origin")), b[1], b[2],
				  u64s(b[3], json_integer_value(json_array_get(l, 0))),
				  json_integer_value(json_array_get(l, 1)) ? "up" : "DOWN", b[5], b[6], b[7]);
		}
	}
	table_print(&t, "");
}

/* ---- the commands of protocol v1 ---- */

struct command {
	const char *word, *sub; /* sub NULL: the command has no second word */
	int min, max;           /* arguments after the word(s) */
	const char *args;       /* for usage */
	void (*show)(json_t *reply); /* NULL: {"ok":true}, nothing shown */
	const char *what;
};

static const struct command commands[] = {
	{ "version", NULL, 0, 0, "", show_version, "the gateway's name and protocol version" },
	{ "counters", NULL, 0, 0, "", show_counters, "ports, workers, drops by reason, peers" },
	{ "gateway", "self", 1, 1, " ID", NULL, "this gateway's id in the mesh (1-4095)" },
	{ "gateway", "set", 2, 6, " ID PUBKEY [overlay4=A] [overlay6=A] [name=N] [zone=Z]", NULL,
	  "gateway ID is the WireGuard peer with this key; Z: its residency zone" },
	{ "gateway", "del", 1, 1, " ID", NULL, "forget gateway ID" },
	{ "route", "add", 2, 2, " PREFIX ID", NULL, "packets to PREFIX are for gateway ID" },
	{ "route", "del", 1, 1, " PREFIX", NULL, "remove the route of PREFIX" },
	{ "route", "lookup", 1, 1, " ADDRESS", show_lookup, "the gateway and path for ADDRESS" },
	{ "path", "set", 2, 5, " DST [RELAY...] DST", NULL,
	  "reach gateway DST through these relays (up to 3; DST alone: direct)" },
	{ "path", "del", 1, 1, " DST", NULL, "reach gateway DST directly" },
	{ "hop_limit", "set", 1, 1, " N", NULL, "the policy's hop limit, 1-4 (under the config's ceiling)" },
	{ "hop_limit", "show", 0, 0, "", show_hop_limit, "the hop limit in force, its ceiling, the one pushed" },
	{ "residency", "on", 0, 0, "", NULL, "the policy's residency: a zone's traffic stays in its zone" },
	{ "residency", "off", 0, 0, "", NULL, "no residency" },
	{ "residency", "show", 0, 0, "", show_residency, "residency on or off" },
	{ "link", "up", 1, 1, " ID", NULL, "our direct link to gateway ID works (meshd's word)" },
	{ "link", "down", 1, 1, " ID", NULL, "it does not: relay nothing to ID, tell the sources" },
	{ "dump", "routes", 0, 0, "", show_routes, "every route" },
	{ "dump", "gateways", 0, 0, "", show_gateways, "every gateway, its peer and path" },
	{ "probe", "interval", 1, 1, " MS", NULL, "link probes every MS ms (0 off, 10-60000)" },
	{ "probe", "dump", 0, 1, " [SINCE]", show_probes, "probe counts, the RTT samples kept (numbered above SINCE), relays' notices" },
	{ "lsa", "dump", 0, 1, " [SINCE]", show_lsas, "the other gateways' link-state advertisements kept (those after SINCE)" },
	{ "lsa", "send", 1, 1, " HEX", NULL, "send one part of our link-state advertisement to every bound gateway (meshd's)" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *command_name(const struct command *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->word, c->sub ? " " : "", c->sub ? c->sub : "");
	return buf;
}

/* A usage error: the message on stderr, exit status 2. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-j|--json] [-d RUN_DIR] NAME COMMAND [ARGS...]\n"
		"\n"
		"Sends COMMAND to the control socket RUN_DIR/NAME.ctl of the gateway NAME\n"
		"(RUN_DIR: /var/run/hopmesh) and shows the reply.\n"
		"\n"
		"options:\n"
		"  -j, --json         print the gateway's JSON reply as it is (for scripts)\n"
		"  -d, --dir RUN_DIR  the gateway's run_dir\n"
		"  -h, --help         this help\n"
		"\n"
		"commands:\n",
		prog);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char line[96], name[32];

		snprintf(line, sizeof(line), "%s%s", command_name(&commands[i], name, sizeof(name)),
			 commands[i].args);
		if (strlen(line) > 28)
			fprintf(f, "  %s\n  %-28s  %s\n", line, "", commands[i].what);
		else
			fprintf(f, "  %-28s  %s\n", line, commands[i].what);
	}
	fprintf(f, "\nexit status: 0 done, 1 the gateway refused or could not be reached, 2 usage\n");
}

/* The table entry for argv (COMMAND [SUB] ARGS...), or NULL with the usage error printed. */
static const struct command *command_find(int argc, char **argv)
{
	char subs[128] = "", name[32];
	size_t known = 0;

	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		int nargs = argc - 1 - (c->sub != NULL);

		if (strcmp(argv[0], c->word))
			continue;
		if (c->sub)
			known += (size_t)snprintf(subs + known, sizeof(subs) - known, "%s%s",
						  known ? ", " : "", c->sub);
		if (c->sub && (argc < 2 || strcmp(argv[1], c->sub)))
			continue;
		if (nargs < c->min || nargs > c->max) {
			fprintf(stderr, "%s: %s: %s arguments\nusage: %s NAME %s%s\n", prog,
				command_name(c, name, sizeof(name)), nargs < c->min ? "missing" : "too many",
				prog, name, c->args);
			return NULL;
		}
		return c;
	}
	if (!known)
		usage_error("unknown command '%s'", argv[0]);
	else if (argc < 2)
		fprintf(stderr, "%s: %s needs one of: %s\nTry '%s --help'.\n", prog, argv[0], subs, prog);
	else
		fprintf(stderr, "%s: %s: unknown subcommand '%s' (one of: %s)\nTry '%s --help'.\n", prog,
			argv[0], argv[1], subs, prog);
	return NULL;
}

/* ---- the exchange ---- */

/* The reply line, NUL-terminated, without its '\n'; NULL after a message. A
 * dump of a million routes is tens of MB: the buffer grows to the '\n'. */
static char *exchange(const char *path, const char *line, size_t len)
{
	char err[512] = "";
	char *reply = unixsock_request(path, line, len, REPLY_TIMEOUT_S * 1000, unixsock_line_done,
				       NULL, err, sizeof(err)), *nl;

	if (!reply) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return NULL;
	}
	nl = strchr(reply, '\n');
	*nl = '\0';
	return reply;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = "/var/run/hopmesh", *name, *err;
	const struct command *cmd;
	char path[256], line[4096], *reply;
	json_error_t jerr;
	json_t *doc;
	bool json = false;
	size_t len = 0;
	int opt, status;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jd:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return usage_error("%s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return usage_error("%s", "no gateway NAME given");
	name = argv[optind];
	if (!*name || strchr(name, '/'))
		return usage_error("'%s' is not a gateway name", name);
	if (argc - optind < 2)
		return usage_error("%s", "no COMMAND given");
	if (!(cmd = command_find(argc - optind - 1, argv + optind + 1)))
		return 2;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.ctl", dir, name) >= sizeof(path))
		return usage_error("%s: run directory path too long", dir);
	for (int i = optind + 1; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s", len ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - len - 1)
			return usage_error("%s", "request longer than 4,095 bytes");
		len += (size_t)w;
	}
	line[len++] = '\n';
	if (!(reply = exchange(path, line, len)))
		return 1;

	doc = json_loads(reply, 0, &jerr);
	if (json)
		printf("%s\n", reply);
	if (!json_is_object(doc)) {
		fprintf(stderr, "%s: %s: the reply is not a JSON object: %s\n", prog, name,
			doc ? "" : jerr.text);
		status = 1;
	} else if ((err = json_string_value(json_object_get(doc, "error")))) {
		if (!json)
			fprintf(stderr, "%s: %s: %s\n", prog, name, err);
		status = 1;
	} else {
		if (!json && cmd->show)
			cmd->show(doc);
		status = 0;
	}
	json_decref(doc);
	free(reply);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		return 1;
	}
	return status;
}
