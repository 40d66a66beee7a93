// SPDX-License-Identifier: MIT
/*
 * What one simulated gateway answers on its two sockets (simgw.h): the
 * control socket's commands as docs/CONTROL.md gives them and
 * dataplane/ctl.c and routes.c answer them, with the replies meshd parses in
 * the same shapes (reconcile.c, gwclient.c, meshd.c, meshd_lsa.c), and the
 * WireGuard UAPI's get=1 and set=1 for the peer lines meshd writes and reads
 * (tunnels/uapi.c prints them).
 *
 *   sim_ctl_line:      one request line -> its reply line (none for a quiet
 *                      success); probes and LSAs go to simgw_net.c;
 *   sim_uapi_request:  one request (its lines up to the blank one) -> the
 *                      reply ending "errno=N" and a blank line;
 *   sim_rebind:        after either changed the peers or the entries: which
 *                      entries are bound (their key is a peer), and to which
 *                      slot, as routes.c binds a gateway to its peer.
 *
 * Not simulated: the data path (no packets), "route lookup", relaying, the
 * counters beyond the LSA ones meshd exports. Every peer that both ends hold,
 * one of them bound, reports a handshake now (meshd waits for one before it
 * binds a gateway of a higher id than its own, reconcile.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "simgw.h"

#define REPLY(...) textbuf_printf(out, __VA_ARGS__)

/* ---- text forms ---- */

/* A prefix as the gateway prints it: the address masked, inet_ntop. */
static bool canonical_prefix(const char *in, char *out, size_t len)
{
	char host[64], *end;
	const char *slash = strchr(in, '/');
	uint8_t a[16];
	unsigned long depth;
	int family;

	if (!slash || (size_t)(slash - in) >= sizeof(host) || !slash[1])
		return false;
	memcpy(host, in, (size_t)(slash - in));
	host[slash - in] = '\0';
	family = strchr(host, ':') ? AF_INET6 : AF_INET;
	depth = strtoul(slash + 1, &end, 10);
	if (*end || inet_pton(family, host, a) != 1 || !depth || depth > (family == AF_INET ? 32u : 128u))
		return false;
	for (unsigned bit = (unsigned)depth; bit < (family == AF_INET ? 32u : 128u); bit++)
		a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	inet_ntop(family, a, host, sizeof(host));
	return (size_t)snprintf(out, len, "%s/%lu", host, depth) < len;
}

/* An endpoint as the UAPI prints it: "a.b.c.d:P" or "[v6]:P". */
static bool canonical_endpoint(const char *in, char *out, size_t len)
{
	char host[64];
	const char *colon = strrchr(in, ':');
	uint8_t a[16];
	bool v6 = in[0] == '[';

	if (!colon || (size_t)(colon - in) >= sizeof(host) || (v6 && colon[-1] != ']'))
		return false;
	memcpy(host, in + v6, (size_t)(colon - in - 2 * v6));
	host[colon - in - 2 * v6] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return false;
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, host, sizeof(host));
	return (size_t)snprintf(out, len, v6 ? "[%s]%s" : "%s%s", host, colon) < len;
}

static bool parse_id(const char *s, uint16_t *id)
{
	char *end;
	unsigned long v = s && *s ? strtoul(s, &end, 10) : 0;

	if (!v || *end || v >= SIM_IDS)
		return false;
	*id = (uint16_t)v;
	return true;
}

/* ---- bindings ---- */

static struct sim_peer *peer_find(const struct sim_gw *g, const uint8_t key[32])
{
	for (unsigned i = 0; i < g->npeers; i++)
		if (!memcmp(g->peer[i].key, key, 32))
			return &g->peer[i];
	return NULL;
}

void sim_rebind(struct sim_gw *g)
{
	for (unsigned i = 0; i < g->nids; i++) {
		struct sim_entry *e = g->entry[g->ids[i]];

		e->bound = peer_find(g, e->key) != NULL;
		e->far = simgw_slot_of_key(e->key);
	}
}

struct sim_entry *sim_entry_of_slot(const struct sim_gw *g, unsigned slot)
{
	for (unsigned i = 0; i < g->nids; i++)
		if (g->entry[g->ids[i]]->far == slot)
			return g->entry[g->ids[i]];
	return NULL;
}

/* A WireGuard session between g and its peer: both hold each other as
 * peers and one has bound the other, so it probes, which starts the
 * handshake on the real gateway. */
static bool has_session(const struct sim_gw *g, const struct sim_peer *p)
{
	unsigned far = simgw_slot_of_key(p->key);
	const struct sim_gw *f = far ? &sim.gw[far] : NULL;
	const struct sim_entry *mine = f ? sim_entry_of_slot(g, far) : NULL;
	const struct sim_entry *theirs = f ? sim_entry_of_slot(f, g->slot) : NULL;

	if (far && sim_is_puppet(far))
		return true; /* it holds and binds every gateway */
	return f && peer_find(f, g->key) && ((mine && mine->bound) || (theirs && theirs->bound));
}

/* ---- the control socket: gateways, routes, paths ---- */

static void entry_forget(struct sim_gw *g, uint16_t id)
{
	free(g->entry[id]);
	g->entry[id] = NULL;
	for (unsigned i = 0; i < g->nids; i++)
		if (g->ids[i] == id) {
			g->ids[i] = g->ids[--g->nids];
			break;
		}
}

static struct sim_entry *entry_make(struct sim_gw *g, uint16_t id)
{
	if (g->entry[id])
		return g->entry[id];
	if (g->nids == g->ids_cap) {
		unsigned cap = g->ids_cap ? 2 * g->ids_cap : 64;
		uint16_t *grown = realloc(g->ids, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		g->ids = grown;
		g->ids_cap = cap;
	}
	if (!(g->entry[id] = calloc(1, sizeof(struct sim_entry))))
		return NULL;
	g->ids[g->nids++] = id;
	return g->entry[id];
}

/* One "key=value" of "gateway set" into e. */
static bool gateway_option(struct sim_entry *e, const char *arg)
{
	const char *v = strchr(arg, '=');

	if (!v++)
		return false;
	if (!strncmp(arg, "overlay4=", 9))
		return inet_pton(AF_INET, v, &e->o4) == 1;
	if (!strncmp(arg, "overlay6=", 9))
		return inet_pton(AF_INET6, v, &e->o6) == 1;
	if (!strncmp(arg, "name=", 5))
		return (size_t)snprintf(e->name, sizeof(e->name), "%s", v) < sizeof(e->name);
	if (!strncmp(arg, "zone=", 5))
		return (size_t)snprintf(e->zone, sizeof(e->zone), "%s", v) < sizeof(e->zone);
	return false;
}

/* "gateway set ID KEY [overlay4=A] [overlay6=A] [name=N] [zone=Z]". */
static void gateway_set(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	struct sim_entry fresh = { .hops = 1 }, *e;
	uint16_t id;
	size_t n;

	if (!parse_id(argv[1], &id))
		return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
	if (strlen(argv[2]) != 44 || sodium_base642bin(fresh.key, 32, argv[2], 44, NULL, &n, NULL,
						       sodium_base64_VARIANT_ORIGINAL) || n != 32)
		return REPLY("{\"error\":\"bad public key\"}");
	for (unsigned i = 0; i < g->nids; i++)
		if (g->ids[i] != id && !memcmp(g->entry[g->ids[i]]->key, fresh.key, 32))
			return REPLY("{\"error\":\"public key already belongs to gateway %u\"}", g->ids[i]);
	for (int i = 3; i < argc; i++)
		if (!gateway_option(&fresh, argv[i]))
			return REPLY("{\"error\":\"bad argument %s\"}", argv[i]);
	if (!(e = entry_make(g, id)))
		return REPLY("{\"error\":\"out of memory\"}");
	/* The path and the link's state stay, as routes.c keeps them. */
	memcpy(fresh.path, e->path, sizeof(fresh.path));
	fresh.hops = e->hops ? e->hops : 1;
	fresh.link_down = e->link_down;
	*e = fresh;
	e->bound = peer_find(g, e->key) != NULL; /* the others' stay as they are */
	e->far = simgw_slot_of_key(e->key);
	sim_event(g, "gateway-set %u", id);
	REPLY("{\"ok\":true}");
}

static void cmd_gateway(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	uint16_t id;

	if (argc == 2 && !strcmp(argv[0], "self")) {
		if (!parse_id(argv[1], &id))
			return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		g->self = id;
		sim_event(g, "gateway-self %u", id);
		REPLY("{\"ok\":true}");
	} else if (argc >= 3 && !strcmp(argv[0], "set")) {
		gateway_set(g, argv, argc, out);
	} else if (argc == 2 && !strcmp(argv[0], "del")) {
		if (!parse_id(argv[1], &id))
			return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
		entry_forget(g, id);
		sim_event(g, "gateway-del %u", id);
		REPLY("{\"ok\":true}");
	} else {
		REPLY("{\"error\":\"usage: gateway self ID | gateway set ID PUBKEY [overlay4=A] [overlay6=A] "
		      "[name=N] [zone=Z] | gateway del ID\"}");
	}
}

static struct sim_route *route_find(struct sim_gw *g, const char *prefix)
{
	for (unsigned i = 0; i < g->nroutes; i++)
		if (!strcmp(g->route[i].prefix, prefix))
			return &g->route[i];
	return NULL;
}

static void cmd_route(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	struct sim_route r = { 0 }, *have;
	uint16_t id;

	if (argc < 2 || !canonical_prefix(argv[1], r.prefix, sizeof(r.prefix)))
		return REPLY("{\"error\":\"%s\"}", argc < 2 ? "usage: route add PREFIX GATEWAY | route del PREFIX"
							   : "bad prefix");
	have = route_find(g, r.prefix);
	if (argc == 3 && !strcmp(argv[0], "add")) {
		if (!parse_id(argv[2], &id))
			return REPLY("{\"error\":\"bad gateway id %s\"}", argv[2]);
		if (!have && g->nroutes == g->route_cap) {
			unsigned cap = g->route_cap ? 2 * g->route_cap : 64;
			struct sim_route *grown = realloc(g->route, cap * sizeof(*grown));

			if (!grown)
				return REPLY("{\"error\":\"out of memory\"}");
			g->route = grown;
			g->route_cap = cap;
		}
		if (!have)
			have = &g->route[g->nroutes++];
		r.gw = id;
		*have = r;
		sim_event(g, "route-add %s %u", r.prefix, id);
	} else if (argc == 2 && !strcmp(argv[0], "del")) {
		if (!have)
			return REPLY("{\"error\":\"no such route\"}");
		sim_event(g, "route-del %s", r.prefix);
		*have = g->route[--g->nroutes];
	} else {
		return REPLY("{\"error\":\"usage: route add PREFIX GATEWAY | route del PREFIX\"}");
	}
	REPLY("{\"ok\":true}");
}

static unsigned hop_limit(const struct sim_gw *g)
{
	return g->hop_pushed && g->hop_pushed < SIM_HOP_CEILING ? g->hop_pushed : SIM_HOP_CEILING;
}

/* "path set DST G1 .. DST", refused as routes.c refuses it. */
static void path_set(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	uint16_t dst, hop[SIM_PATH_HOPS];
	unsigned hops = (unsigned)argc - 2;

	if (!parse_id(argv[1], &dst))
		return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
	if (hops > SIM_PATH_HOPS)
		return REPLY("{\"error\":\"a path has at most %u backbone hops\"}", SIM_PATH_HOPS);
	for (unsigned i = 0; i < hops; i++) {
		if (!parse_id(argv[2 + i], &hop[i]))
			return REPLY("{\"error\":\"bad gateway id %s\"}", argv[2 + i]);
		if (hop[i] == g->self)
			return REPLY("{\"error\":\"a path neither starts at nor goes through ourselves\"}");
		for (unsigned j = 0; j < i; j++)
			if (hop[j] == hop[i])
				return REPLY("{\"error\":\"gateway %u twice in the path\"}", hop[i]);
	}
	if (hop[hops - 1] != dst)
		return REPLY("{\"error\":\"a path ends with its destination %u\"}", dst);
	if (hops > hop_limit(g))
		return REPLY("{\"error\":\"%u backbone hops is over the hop limit %u\"}", hops, hop_limit(g));
	if (g->entry[dst]) {
		memcpy(g->entry[dst]->path, hop, hops * sizeof(hop[0]));
		g->entry[dst]->hops = (uint8_t)hops;
	}
	sim_event(g, "path-set %u %u", dst, hops);
	REPLY("{\"ok\":true}");
}

static void cmd_path(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	uint16_t dst;

	if (argc >= 3 && !strcmp(argv[0], "set"))
		return path_set(g, argv, argc, out);
	if (argc != 2 || strcmp(argv[0], "del"))
		return REPLY("{\"error\":\"usage: path set DST [RELAY...] DST | path del DST\"}");
	if (!parse_id(argv[1], &dst))
		return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
	if (g->entry[dst])
		g->entry[dst]->hops = 1;
	sim_event(g, "path-del %u", dst);
	REPLY("{\"ok\":true}");
}

static void cmd_hop_limit(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	uint16_t n;

	if (argc == 2 && !strcmp(argv[0], "set")) {
		if (!parse_id(argv[1], &n) || n > SIM_PATH_HOPS)
			return REPLY("{\"error\":\"hop limit must be 1-%u backbone hops\"}", SIM_PATH_HOPS);
		g->hop_pushed = (uint8_t)n;
		REPLY("{\"ok\":true}");
	} else if (argc == 0 || (argc == 1 && !strcmp(argv[0], "show"))) {
		REPLY("{\"hop_limit\":%u,\"hop_limit_ceiling\":%u,\"hop_limit_pushed\":%u}", hop_limit(g),
		      SIM_HOP_CEILING, g->hop_pushed);
	} else {
		REPLY("{\"error\":\"usage: hop_limit set N | hop_limit show\"}");
	}
}

static void cmd_residency(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	if (argc == 1 && (!strcmp(argv[0], "on") || !strcmp(argv[0], "off"))) {
		g->residency = !strcmp(argv[0], "on");
		REPLY("{\"ok\":true}");
	} else if (argc == 1 && !strcmp(argv[0], "show")) {
		REPLY("{\"residency\":%s}", g->residency ? "true" : "false");
	} else {
		REPLY("{\"error\":\"usage: residency on | residency off | residency show\"}");
	}
}

static void cmd_link(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	uint16_t id;

	if (argc != 2 || (strcmp(argv[0], "up") && strcmp(argv[0], "down")))
		return REPLY("{\"error\":\"usage: link up ID | link down ID\"}");
	if (!parse_id(argv[1], &id))
		return REPLY("{\"error\":\"bad gateway id %s\"}", argv[1]);
	if (!g->entry[id])
		return REPLY("{\"error\":\"no gateway %u\"}", id);
	g->entry[id]->link_down = !strcmp(argv[0], "down");
	sim_event(g, "link-%s %u", argv[0], id);
	REPLY("{\"ok\":true}");
}

/* ---- dumps ---- */

static void dump_routes(const struct sim_gw *g, struct textbuf *out)
{
	REPLY("{\"routes\":[");
	for (unsigned i = 0; i < g->nroutes; i++)
		REPLY("%s{\"prefix\":\"%s\",\"gateway\":%u}", i ? "," : "", g->route[i].prefix, g->route[i].gw);
	REPLY("]}");
}

static void dump_gateways(const struct sim_gw *g, struct textbuf *out)
{
	char key[45], o4[INET_ADDRSTRLEN], o6[INET6_ADDRSTRLEN];
	bool first = true;

	REPLY("{\"self\":%u,\"hop_limit\":%u,\"hop_limit_ceiling\":%u,\"hop_limit_pushed\":%u,"
	      "\"residency\":%s,\"gateways\":[", g->self, hop_limit(g), SIM_HOP_CEILING, g->hop_pushed,
	      g->residency ? "true" : "false");
	for (unsigned id = 1; id < SIM_IDS; id++) {
		const struct sim_entry *e = g->entry[id];

		if (!e)
			continue;
		sodium_bin2base64(key, sizeof(key), e->key, 32, sodium_base64_VARIANT_ORIGINAL);
		inet_ntop(AF_INET, &e->o4, o4, sizeof(o4));
		inet_ntop(AF_INET6, &e->o6, o6, sizeof(o6));
		REPLY("%s{\"id\":%u,\"name\":", first ? "" : ",", id);
		textbuf_json_string(out, e->name);
		REPLY(",\"public_key\":\"%s\",\"bound\":%s,\"via\":%u,\"hops\":%u,\"path\":[", key,
		      e->bound ? "true" : "false", e->hops > 1 ? e->path[0] : id, e->hops);
		for (unsigned h = 0; h < e->hops; h++)
			REPLY("%s%u", h ? "," : "", e->hops > 1 ? e->path[h] : id);
		REPLY("],\"overlay4\":\"%s\",\"overlay6\":\"%s\",\"zone\":", o4, o6);
		textbuf_json_string(out, e->zone);
		REPLY(",\"link\":\"%s\"}", e->link_down ? "down" : "up");
		first = false;
	}
	REPLY("]}");
}

/* Only what meshd's metrics read (metrics.c, gateway_metrics). */
static void dump_counters(const struct sim_gw *g, struct textbuf *out)
{
	REPLY("{\"version\":1,\"gateway\":\"%s\",\"simulated\":true,\"ports\":{\"vm\":{\"rx_packets\":0,"
	      "\"tx_packets\":0},\"backbone\":{\"rx_packets\":0,\"tx_packets\":0}},\"relayed\":0,"
	      "\"notices_sent\":0,\"notices_received\":0,\"lsas_sent\":%" PRIu64 ",\"lsas_received\":%" PRIu64
	      ",\"drops\":{\"lsa_stale\":%" PRIu64 ",\"lsa_unbound_source\":%" PRIu64
	      ",\"lsa_wrong_source\":%" PRIu64 "},\"peers\":[]}",
	      g->name, g->lsas_sent, g->lsa_received, g->lsa_stale, g->lsa_unbound_source, g->lsa_wrong_source);
}

typedef char *(*dump_fn)(struct sim_gw *g, uint64_t since, uint64_t now);

/* "WHAT dump [SINCE] [wire]": SINCE digits only, wire where a wire form
 * exists, as ctl.c's dump_since. */
static void dump_since(struct sim_gw *g, char **argv, int argc, struct textbuf *out, dump_fn dump,
		       dump_fn wire)
{
	char *end = NULL, *json;
	unsigned long long since = 0;
	int i = 2;

	if (i < argc && isdigit((unsigned char)argv[i][0])) {
		since = strtoull(argv[i++], &end, 10);
		if (*end)
			i = argc + 1;
	}
	if (i < argc && wire && !strcmp(argv[i], "wire")) {
		dump = wire;
		i++;
	}
	if (i != argc)
		return REPLY("{\"error\":\"usage: %s dump [SINCE]%s\"}", argv[0], wire ? " [wire]" : "");
	json = dump(g, since, sim_mono_ns());
	REPLY("%s", json ? json : "{\"error\":\"out of memory\"}");
	free(json);
}

/* "lsa send HEX", read as lsa.c's lsa_send_command reads it. */
static void lsa_send(struct sim_gw *g, const char *hex, struct textbuf *out)
{
	uint8_t buf[LSA_BYTES_MAX];
	char err[128];
	size_t n;

	if (!lsa_part_from_hex(hex, g->self, buf, &n, err, sizeof(err)))
		return REPLY("%s", err);
	REPLY("{\"ok\":true,\"sent\":%u}", sim_lsa_send(g, buf, n, sim_mono_ns()));
}

static void cmd_probe_interval(struct sim_gw *g, char **argv, int argc, struct textbuf *out)
{
	char *end = NULL;
	unsigned long ms = argc == 3 ? strtoul(argv[2], &end, 10) : 1;

	if (argc != 3 || !*argv[2] || *end || ms > 60000 || (ms && ms < 10))
		return REPLY("{\"error\":\"probe interval is 0 (off) or 10-60000 ms\"}");
	sim_probe_interval(g, (uint32_t)ms);
	REPLY("{\"ok\":true}");
}

typedef void command_fn(struct sim_gw *g, char **argv, int argc, struct textbuf *out);

/* The commands that change the gateway's state: each answers {"ok":true}
 * or an error, and under "quiet on" only errors (ctl.c). */
static const struct {
	const char *name;
	command_fn *fn;
} commands[] = {
	{ "gateway", cmd_gateway },
	{ "route", cmd_route },
	{ "path", cmd_path },
	{ "hop_limit", cmd_hop_limit },
	{ "residency", cmd_residency },
	{ "link", cmd_link },
};

/* What reads state, or changes none of the above. */
static void cmd_other(struct sim_gw *g, char **argv, int argc, bool *quiet, struct textbuf *out)
{
	if (!strcmp(argv[0], "version")) {
		REPLY("{\"protocol\":1,\"gateway\":\"%s\"}", g->name);
	} else if (!strcmp(argv[0], "quiet") && argc == 2 && (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))) {
		*quiet = !strcmp(argv[1], "on");
		REPLY("{\"ok\":true}");
	} else if (!strcmp(argv[0], "counters")) {
		dump_counters(g, out);
	} else if (!strcmp(argv[0], "dump") && argc == 2 && !strcmp(argv[1], "routes")) {
		dump_routes(g, out);
	} else if (!strcmp(argv[0], "dump") && argc == 2 && !strcmp(argv[1], "gateways")) {
		dump_gateways(g, out);
	} else if (!strcmp(argv[0], "probe") && argc >= 2 && !strcmp(argv[1], "dump")) {
		dump_since(g, argv, argc, out, sim_probe_dump, NULL);
	} else if (!strcmp(argv[0], "lsa") && argc >= 2 && !strcmp(argv[1], "dump")) {
		dump_since(g, argv, argc, out, sim_lsa_dump, sim_lsa_dump_wire);
	} else {
		REPLY("{\"error\":\"unknown command\"}");
	}
}

void sim_ctl_line(struct sim_gw *g, char *line, bool *quiet, struct textbuf *out)
{
	char *argv[16];
	int argc = 0;
	size_t mark = out->len;
	bool changes = false;

	for (char *tok = strtok(line, " \t"); tok && argc < 16; tok = strtok(NULL, " \t"))
		argv[argc++] = tok;
	if (!argc) {
		REPLY("{\"error\":\"empty request\"}\n");
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !changes; i++)
		if (!strcmp(argv[0], commands[i].name)) {
			commands[i].fn(g, argv + 1, argc - 1, out);
			changes = true;
		}
	if (!changes && !strcmp(argv[0], "probe") && argc >= 2 && !strcmp(argv[1], "interval")) {
		cmd_probe_interval(g, argv, argc, out);
		changes = true;
	} else if (!changes && !strcmp(argv[0], "lsa") && (argc < 2 || strcmp(argv[1], "dump"))) {
		if (argc == 3 && !strcmp(argv[1], "send"))
			lsa_send(g, argv[2], out);
		else
			REPLY("{\"error\":\"usage: lsa send HEX | lsa dump [SINCE] [wire]\"}");
		changes = true;
	} else if (!changes) {
		cmd_other(g, argv, argc, quiet, out);
	}
	/* A quiet success is not answered (lsa send's "sent" neither, ctl.c). */
	if (changes && *quiet && out->s && !strncmp(out->s + mark, "{\"ok\"", 5))
		out->s[out->len = mark] = '\0';
	else
		REPLY("\n");
}

/* ---- the UAPI ---- */

static void uapi_get(struct sim_gw *g, struct textbuf *out)
{
	struct timespec ts;
	char hex[65];

	clock_gettime(CLOCK_REALTIME, &ts);
	sim_event(g, "uapi-get");
	for (unsigned i = 0; i < g->npeers; i++) {
		const struct sim_peer *p = &g->peer[i];
		bool hs = has_session(g, p);

		sodium_bin2hex(hex, sizeof(hex), p->key, 32);
		REPLY("public_key=%s\nprotocol_version=1\n", hex);
		if (p->endpoint[0])
			REPLY("endpoint=%s\n", p->endpoint);
		REPLY("last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%ld\ntx_bytes=0\nrx_bytes=0\n"
		      "persistent_keepalive_interval=0\n", hs ? (long long)ts.tv_sec : 0LL, hs ? ts.tv_nsec : 0L);
		for (unsigned k = 0; k < p->nallowed; k++)
			REPLY("allowed_ip=%s\n", p->allowed[k]);
	}
	REPLY("errno=0\n\n");
}

static struct sim_peer *peer_add(struct sim_gw *g, const uint8_t key[32])
{
	struct sim_peer *p = peer_find(g, key);

	if (p)
		return p;
	if (g->npeers == g->peer_cap) {
		unsigned cap = g->peer_cap ? 2 * g->peer_cap : 64;
		struct sim_peer *grown = realloc(g->peer, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		g->peer = grown;
		g->peer_cap = cap;
	}
	p = &g->peer[g->npeers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, 32);
	sim_event(g, "peer-add %u", simgw_slot_of_key(key));
	return p;
}

/* One "key=value" of a set=1 for the current peer (*cur, NULL before the
 * first public_key); false: the request is refused (EINVAL). */
static bool uapi_set_line(struct sim_gw *g, const char *k, const char *v, struct sim_peer **cur)
{
	uint8_t key[32];
	char canon[sizeof((*cur)->allowed[0])];

	if (!strcmp(k, "public_key"))
		return !sodium_hex2bin(key, 32, v, strlen(v), NULL, NULL, NULL) && (*cur = peer_add(g, key));
	if (!strcmp(k, "private_key") || !strcmp(k, "listen_port") || !strcmp(k, "fwmark") ||
	    !strcmp(k, "preshared_key") || !strcmp(k, "persistent_keepalive_interval") ||
	    !strcmp(k, "protocol_version") || !strcmp(k, "update_only"))
		return true; /* nothing of ours depends on them */
	if (!strcmp(k, "replace_peers")) {
		g->npeers = 0;
		*cur = NULL;
		return true;
	}
	if (!*cur)
		return false;
	if (!strcmp(k, "remove") && !strcmp(v, "true")) {
		sim_event(g, "peer-del %u", simgw_slot_of_key((*cur)->key));
		**cur = g->peer[--g->npeers];
		*cur = NULL;
		return true;
	}
	if (!strcmp(k, "endpoint"))
		return canonical_endpoint(v, (*cur)->endpoint, sizeof((*cur)->endpoint));
	if (!strcmp(k, "replace_allowed_ips")) {
		(*cur)->nallowed = 0;
		return true;
	}
	if (!strcmp(k, "allowed_ip") && canonical_prefix(v, canon, sizeof(canon))) {
		for (unsigned i = 0; i < (*cur)->nallowed; i++)
			if (!strcmp((*cur)->allowed[i], canon))
				return true;
		if ((*cur)->nallowed == SIM_MAX_ALLOWED)
			return false;
		snprintf((*cur)->allowed[(*cur)->nallowed++], sizeof((*cur)->allowed[0]), "%s", canon);
		return true;
	}
	return false;
}

void sim_uapi_request(struct sim_gw *g, char *req, struct textbuf *out)
{
	struct sim_peer *cur = NULL;
	char *save = NULL, *line = strtok_r(req, "\n", &save);
	int err = 0;

	if (line && !strcmp(line, "get=1"))
		return uapi_get(g, out);
	if (!line || strcmp(line, "set=1")) {
		REPLY("errno=22\n\n");
		return;
	}
	while (!err && (line = strtok_r(NULL, "\n", &save))) {
		char *eq = strchr(line, '=');

		if (!eq) {
			err = 22;
			break;
		}
		*eq = '\0';
		if (!uapi_set_line(g, line, eq + 1, &cur))
			err = 22;
	}
	sim_rebind(g);
	REPLY("errno=%d\n\n", err);
}
