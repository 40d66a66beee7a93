// SPDX-License-Identifier: MIT
/*
 * The gateway's control socket, RUN_DIR/NAME.ctl: hopmesh control protocol v1
 * (docs/CONTROL.md). A request is one line, a command and its arguments; the
 * reply is one line holding one JSON object. Counters are read while the worker
 * writes them: each is a single aligned word, so a reading is a recent value.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "ctl.h"
#include "gateway.h"
#include "lcore_io.h"
#include "lsa.h"
#include "neigh.h"
#include "probe.h"
#include "routes.h"
#include "sock.h"
#include "textbuf.h"

#define CTL_LINE_MAX 4096

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void sum_counters(struct gateway *gw, struct counters *out)
{
	const struct counters *in[MAX_WORKERS + 1];
	unsigned n = 0;

	in[n++] = &gw->main_lc->counters;
	for (unsigned w = 0; w < gw->workers; w++)
		in[n++] = &gw->worker_lc[w]->counters;
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < GW_DROP__COUNT; i++)
			out->drop[i] += rd(&in[k]->drop[i]);
		for (unsigned p = 0; p < PORT_COUNT; p++) {
			out->rx_packets[p] += rd(&in[k]->rx_packets[p]);
			out->rx_bytes[p] += rd(&in[k]->rx_bytes[p]);
			out->tx_packets[p] += rd(&in[k]->tx_packets[p]);
			out->tx_bytes[p] += rd(&in[k]->tx_bytes[p]);
		}
		out->encrypted += rd(&in[k]->encrypted);
		out->decrypted += rd(&in[k]->decrypted);
		out->keepalives_received += rd(&in[k]->keepalives_received);
		out->handshakes_received += rd(&in[k]->handshakes_received);
		out->relayed += rd(&in[k]->relayed);
		out->handed_off += rd(&in[k]->handed_off);
		out->icmp_sent += rd(&in[k]->icmp_sent);
		out->notices_sent += rd(&in[k]->notices_sent);
		out->notices_received += rd(&in[k]->notices_received);
		out->lsas_sent += rd(&in[k]->lsas_sent);
		out->lsas_received += rd(&in[k]->lsas_received);
		for (unsigned h = 0; h < HOP_BUCKETS; h++)
			out->hops[h] += rd(&in[k]->hops[h]);
	}
}

static bool peer_json(struct wg_peer *peer, void *arg)
{
	struct textbuf *b = arg;
	struct wg_peer_stats st;
	struct wg_endpoint ep;
	uint8_t key[WG_KEY_LEN];
	char b64[45], epbuf[80];

	wg_peer_public_key(peer, key);
	wg_key_to_base64(b64, key);
	wg_peer_endpoint(peer, &ep);
	wg_endpoint_format(&ep, epbuf, sizeof(epbuf));
	wg_peer_stats(peer, &st);
	textbuf_printf(b, "%s{\"public_key\":\"%s\",\"endpoint\":\"%s\",\"rx_bytes\":%" PRIu64
		   ",\"tx_bytes\":%" PRIu64 ",\"handshakes\":%" PRIu64
		   ",\"last_handshake_unix_ns\":%" PRIu64 ",\"has_session\":%s}",
		b->len && b->s[b->len - 1] == '[' ? "" : ",", b64, ep.family == AF_UNSPEC ? "" : epbuf,
		st.rx_bytes, st.tx_bytes, st.handshakes_completed, st.last_handshake_wall_ns,
		st.has_session ? "true" : "false");
	return true;
}

static char *ctl_counters_json(struct gateway *gw)
{
	static const char *const port_names[PORT_COUNT] = { "vm", "backbone" };
	struct counters c;
	struct textbuf b = { .s = NULL };

	sum_counters(gw, &c);
	textbuf_printf(&b, "{\"version\":1,\"gateway\":");
	textbuf_json_string(&b, gw->cfg.name);
	textbuf_printf(&b, ",\"uptime_s\":%" PRIu64 ",\"ports\":{",
		       (mono_ns() - gw->started_ns) / UINT64_C(1000000000));
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		struct rte_eth_stats st = { 0 };

		/* What the PMD lost before we saw it (ring overruns, send errors). */
		rte_eth_stats_get(gw->port_id[p], &st);
		textbuf_printf(&b, "%s\"%s\":{\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			    ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			    ",\"rx_missed\":%" PRIu64 ",\"rx_errors\":%" PRIu64
			    ",\"tx_errors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64 "}",
			p ? "," : "", port_names[p], c.rx_packets[p], c.rx_bytes[p], c.tx_packets[p],
			c.tx_bytes[p], st.imissed, st.ierrors, st.oerrors, st.rx_nombuf);
	}
	textbuf_printf(&b, "},\"workers\":%u,\"encrypted\":%" PRIu64 ",\"decrypted\":%" PRIu64
		    ",\"keepalives_received\":%" PRIu64 ",\"handshakes_received\":%" PRIu64
		    ",\"relayed\":%" PRIu64 ",\"handed_off\":%" PRIu64 ",\"icmp_sent\":%" PRIu64
		    ",\"notices_sent\":%" PRIu64 ",\"notices_received\":%" PRIu64
		    ",\"lsas_sent\":%" PRIu64 ",\"lsas_received\":%" PRIu64
		    ",\"delivered_by_hops\":[",
		gw->workers, c.encrypted, c.decrypted, c.keepalives_received, c.handshakes_received,
		c.relayed, c.handed_off, c.icmp_sent, c.notices_sent, c.notices_received, c.lsas_sent,
		c.lsas_received);
	for (unsigned h = 0; h < HOP_BUCKETS; h++)
		textbuf_printf(&b, "%s%" PRIu64, h ? "," : "", c.hops[h]);
	/* How the work spreads over the workers. */
	textbuf_printf(&b, "],\"per_worker\":[");
	for (unsigned w = 0; w < gw->workers; w++) {
		const struct counters *wc = &gw->worker_lc[w]->counters;

		textbuf_printf(&b, "%s{\"rx_packets\":%" PRIu64 ",\"encrypted\":%" PRIu64
			    ",\"decrypted\":%" PRIu64 ",\"handed_off\":%" PRIu64 "}",
			w ? "," : "", rd(&wc->rx_packets[PORT_VM]) + rd(&wc->rx_packets[PORT_BACKBONE]),
			rd(&wc->encrypted), rd(&wc->decrypted), rd(&wc->handed_off));
	}
	textbuf_printf(&b, "],\"drops\":{");
	for (unsigned i = 1; i < GW_DROP__COUNT; i++)
		textbuf_printf(&b, "%s\"%s\":%" PRIu64, i > 1 ? "," : "", gw_drop_name(i), c.drop[i]);
	/* Gauges: the neighbour tables' bounded state (neigh.h) and the packet
	 * pool, read on the main lcore that writes the former. */
	textbuf_printf(&b, "},\"neighbours\":{");
	for (unsigned p = 0; p < PORT_COUNT; p++)
		textbuf_printf(&b, "\"%s\":{\"entries\":%u,\"unresolved\":%u,\"parked\":%u},",
			port_names[p], gw->neigh[p]->entries, gw->neigh[p]->unresolved,
			gw->neigh[p]->parked);
	textbuf_printf(&b, "\"slots\":%u,\"unresolved_max\":%u,\"parked_max\":%u},"
		    "\"mbufs\":{\"pool\":%u,\"available\":%u",
		NEIGH_SLOTS, NEIGH_UNRESOLVED_MAX, NEIGH_PARKED_MAX, gw->pool->size,
		rte_mempool_avail_count(gw->pool));
	textbuf_printf(&b, "},\"peers\":[");
	wg_device_for_each_peer(gw->dev, peer_json, &b);
	textbuf_printf(&b, "]}");
	return textbuf_take(&b);
}

struct ctl_conn {
	struct gateway *gw;
	bool quiet; /* only errors are answered: for bulk route loads */
	char line[CTL_LINE_MAX];
	size_t line_len;
	struct textbuf out;
	size_t out_off;
};

static void *ctl_open(void *arg)
{
	struct ctl_conn *c = calloc(1, sizeof(*c));

	if (c)
		c->gw = arg;
	return c;
}

/* "WHAT dump [SINCE]", the rest of the line still in strtok's hands: what
 * was numbered above SINCE (all without it). */
typedef char *(*dump_fn)(struct gateway *gw, uint64_t since, uint64_t now);

/* "WHAT dump [SINCE]", and "WHAT dump [SINCE] wire" where a wire form exists. */
static void dump_since(struct ctl_conn *c, const char *what, dump_fn dump, dump_fn wire)
{
	char *tok = strtok(NULL, " \t"), *end = NULL, *json;
	unsigned long long n = 0;
	bool number = true;

	if (tok && isdigit((unsigned char)tok[0])) {
		n = strtoull(tok, &end, 10);
		number = !*end;
		tok = strtok(NULL, " \t");
	}
	if (tok && wire && !strcmp(tok, "wire")) {
		dump = wire;
		tok = strtok(NULL, " \t");
	}
	if (!number || tok) {
		textbuf_printf(&c->out, "{\"error\":\"usage: %s dump [SINCE]%s\"}\n", what, wire ? " [wire]" : "");
		return;
	}
	json = dump(c->gw, n, mono_ns());
	textbuf_printf(&c->out, "%s\n", json ? json : "{\"error\":\"out of memory\"}");
	free(json);
}

static void ctl_command(struct ctl_conn *c, char *line)
{
	char copy[CTL_LINE_MAX], reply[512];
	char *cmd, *arg, *json;

	strcpy(copy, line);
	cmd = strtok(copy, " \t");
	arg = cmd ? strtok(NULL, " \t") : NULL;
	if (!cmd) {
		textbuf_printf(&c->out, "{\"error\":\"empty request\"}\n");
	} else if (!strcmp(cmd, "counters")) {
		json = ctl_counters_json(c->gw);
		textbuf_printf(&c->out, "%s\n", json ? json : "{\"error\":\"out of memory\"}");
		free(json);
	} else if (!strcmp(cmd, "version")) {
		textbuf_printf(&c->out, "{\"protocol\":1,\"gateway\":");
		textbuf_json_string(&c->out, c->gw->cfg.name);
		textbuf_printf(&c->out, "}\n");
	} else if (!strcmp(cmd, "quiet") && arg && (!strcmp(arg, "on") || !strcmp(arg, "off"))) {
		c->quiet = !strcmp(arg, "on");
		textbuf_printf(&c->out, "{\"ok\":true}\n");
	} else if (!strcmp(cmd, "dump") && arg && (!strcmp(arg, "routes") || !strcmp(arg, "gateways"))) {
		json = routes_dump_json(c->gw->routes, arg);
		textbuf_printf(&c->out, "%s\n", json ? json : "{\"error\":\"out of memory\"}");
		free(json);
	} else if (!strcmp(cmd, "probe") && arg && !strcmp(arg, "dump")) {
		dump_since(c, "probe", probe_dump_json, NULL);
	} else if (!strcmp(cmd, "lsa") && arg && !strcmp(arg, "dump")) {
		dump_since(c, "lsa", lsa_dump_json, lsa_dump_wire);
	} else if (!strcmp(cmd, "lsa")) {
		char *hex = arg && !strcmp(arg, "send") ? strtok(NULL, " \t") : NULL;

		if (!hex || strtok(NULL, " \t"))
			snprintf(reply, sizeof(reply), "{\"error\":\"usage: lsa send HEX | lsa dump [SINCE] [wire]\"}");
		else
			lsa_send_command(c->gw, hex, reply, sizeof(reply), mono_ns());
		if (!c->quiet || strncmp(reply, "{\"ok\"", 5))
			textbuf_printf(&c->out, "%s\n", reply);
	} else if (!strcmp(cmd, "probe")) {
		char *argv[4];
		int argc = 0;

		for (char *tok = arg; tok && argc < 4; tok = strtok(NULL, " \t"))
			argv[argc++] = tok;
		probe_command(c->gw, argv, argc, reply, sizeof(reply));
		if (!c->quiet || strncmp(reply, "{\"ok\"", 5))
			textbuf_printf(&c->out, "%s\n", reply);
	} else if (!strcmp(cmd, "route") || !strcmp(cmd, "path") || !strcmp(cmd, "hop_limit") ||
		   !strcmp(cmd, "residency") || !strcmp(cmd, "link") || !strcmp(cmd, "gateway")) {
		routes_command(c->gw->routes, c->gw, line, reply, sizeof(reply));
		if (!c->quiet || strncmp(reply, "{\"ok\"", 5))
			textbuf_printf(&c->out, "%s\n", reply);
	} else {
		textbuf_printf(&c->out, "{\"error\":\"unknown command\"}\n");
	}
}

static bool ctl_input(void *conn, const char *data, size_t len)
{
	struct ctl_conn *c = conn;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (c->line_len == CTL_LINE_MAX - 1 || data[i] == '\0')
				return false;
			c->line[c->line_len++] = data[i];
			continue;
		}
		c->line[c->line_len] = '\0';
		c->line_len = 0;
		ctl_command(c, c->line);
		/* Out of memory for the replies: close rather than send a cut one. */
		if (c->out.failed)
			return false;
	}
	return true;
}

static const char *ctl_output(void *conn, size_t *len)
{
	struct ctl_conn *c = conn;

	*len = c->out.len - c->out_off;
	return c->out.s ? c->out.s + c->out_off : NULL;
}

static void ctl_consumed(void *conn, size_t n)
{
	struct ctl_conn *c = conn;

	c->out_off += n;
	if (c->out_off == c->out.len)
		c->out_off = c->out.len = 0;
}

static void ctl_close(void *conn)
{
	struct ctl_conn *c = conn;

	free(c->out.s);
	free(c);
}

static const struct sock_protocol ctl_protocol = {
	.open = ctl_open,
	.input = ctl_input,
	.output = ctl_output,
	.consumed = ctl_consumed,
	.close = ctl_close,
};

struct sock_server *ctl_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s.ctl", gw->cfg.run_dir, gw->cfg.name);
	return sock_server_open(path, epoll_fd, &ctl_protocol, gw, err, errlen);
}
