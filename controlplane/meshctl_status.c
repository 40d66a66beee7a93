// SPDX-License-Identifier: MIT
/*
 * meshctl status [NAME] [--run-dir DIR]: one gateway as it is now, read from
 * the gateway and its meshd themselves, never recomputed from the registry:
 *
 *   the gateway's UAPI (/var/run/wireguard/NAME.sock): its peers, endpoints,
 *       bytes and last handshakes, as wg(8) shows them;
 *   its control socket (DIR/NAME.ctl, docs/CONTROL.md): "dump gateways" for
 *       the peers' names and the paths installed (via, hops), "counters" for
 *       the drops by reason;
 *   meshd's socket (DIR/NAME.meshd, meshd_status.c): the links it measures
 *       and the paths it chose, with their cost.
 *
 * They become one document (docs/MESHCTL.md) that either printer shows.
 * Whatever could not be read is left out and said on stderr; the exit status
 * is then 1.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "gwclient.h"
#include "meshctl.h"
#include "meshd_sock.h"

/* NAME when none is given: the one gateway with a control socket in dir. */
static int only_gateway(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return mc_fail("%s: cannot list it: name the gateway (meshctl status NAME)", dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 4 && l - 4 < len && !strcmp(e->d_name + l - 4, ".ctl") && n++ == 0)
			snprintf(name, len, "%.*s", (int)(l - 4), e->d_name);
	}
	closedir(d);
	if (n == 1)
		return 0;
	if (n)
		return mc_fail("%s holds %u gateways' control sockets: name one (meshctl status NAME)", dir, n);
	return mc_fail("no gateway's control socket (NAME.ctl) in %s: is the gateway running?", dir);
}

static json_t *ctl_json(const char *path, const char *request, json_t *errors)
{
	char err[256], *reply = gw_ctl_get(path, request, err, sizeof(err));
	json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;

	if (!reply)
		json_array_append_new(errors, json_sprintf("%s: %s", request, err));
	else if (!j || json_object_get(j, "error"))
		json_array_append_new(errors, json_sprintf("%s: %s answered %s", request, path, reply));
	free(reply);
	if (j && json_object_get(j, "error")) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static const char *name_in(json_t *entry)
{
	const char *s = json_string_value(json_object_get(entry, "name"));

	return s ? s : "";
}

static json_t *entry_by_key(json_t *gws, const char *key)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(gws, "gateways"), i, e)
		if (json_is_string(json_object_get(e, "public_key")) &&
		    !strcmp(json_string_value(json_object_get(e, "public_key")), key))
			return e;
	return NULL;
}

static json_t *peers_json(const char *name, json_t *gws, json_t *errors, bool *answered)
{
	struct gw_peer_state *peers = NULL;
	struct timespec now;
	unsigned n = 0;
	char err[256], key[45];
	json_t *a;

	if (gw_uapi_peers(name, &peers, &n, err, sizeof(err))) {
		json_array_append_new(errors, json_sprintf("uapi: %s", err));
		*answered = false;
		return json_array();
	}
	*answered = true;
	clock_gettime(CLOCK_REALTIME, &now);
	a = json_array();
	for (unsigned i = 0; i < n; i++) {
		const struct gw_peer_state *p = &peers[i];
		uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
		json_t *e;

		sodium_bin2base64(key, sizeof(key), p->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
		e = entry_by_key(gws, key);
		json_array_append_new(a, json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:o}",
			"name", name_in(e),
			"id", e ? json_integer_value(json_object_get(e, "id")) : 0, "public_key", key,
			"endpoint", p->endpoint, "rx_bytes", (json_int_t)p->rx_bytes,
			"tx_bytes", (json_int_t)p->tx_bytes,
			"last_handshake_unix_ms", (json_int_t)(p->last_handshake_unix_ns / 1000000),
			"handshake_age_s", p->last_handshake_unix_ns
				? json_real((double)(int64_t)(now_ns - p->last_handshake_unix_ns) / 1e9)
				: json_null()));
	}
	free(peers);
	return a;
}

/* The paths the gateway has installed, with meshd's cost and hops for them. */
static json_t *paths_json(json_t *gws, json_t *meshd)
{
	json_int_t self = json_integer_value(json_object_get(gws, "self"));
	json_t *a = json_array(), *e, *m;
	size_t i, k;

	json_array_foreach(json_object_get(gws, "gateways"), i, e) {
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		json_int_t via = json_integer_value(json_object_get(e, "via"));
		json_t *v = gw_dump_gateway(gws, via ? via : id), *p;

		if (id == self)
			continue;
		p = json_pack("{s:I,s:s,s:I,s:s,s:I,s:b}", "id", id, "to", name_in(e), "via_id",
			      via ? via : id, "via", name_in(v), "hops",
			      json_integer_value(json_object_get(e, "hops")), "bound",
			      json_is_true(json_object_get(e, "bound")));
		json_array_foreach(json_object_get(meshd, "paths"), k, m)
			if (p && json_integer_value(json_object_get(m, "id")) == id) {
				json_object_set(p, "cost_ms", json_object_get(m, "cost_ms"));
				json_object_set(p, "meshd_path", json_object_get(m, "path"));
			}
		json_array_append_new(a, p);
	}
	return a;
}

static json_int_t drops_total(json_t *drops)
{
	json_int_t sum = 0;
	const char *k;
	json_t *v;

	json_object_foreach(drops, k, v)
		sum += json_integer_value(v);
	return sum;
}

int mc_status(struct mc_ctx *c, int argc, char **argv)
{
	const char *run_dir = mc_run_dir(), *gname;
	char name[64] = "", control[256], msock[256];
	json_t *errors, *gws, *counters, *meshd, *doc, *drops, *e, *peers;
	bool uapi;
	size_t i;
	int rc;

	for (int a = 0; a < argc; a++) {
		if (!strcmp(argv[a], "--run-dir")) {
			if (a + 1 >= argc)
				return mc_usage("--run-dir needs a directory");
			run_dir = argv[++a];
		} else if (argv[a][0] == '-') {
			return mc_usage("unknown option for status (--run-dir DIR)");
		} else if (name[0]) {
			return mc_usage("status takes one gateway NAME");
		} else if (strchr(argv[a], '/') || strlen(argv[a]) >= sizeof(name)) {
			return mc_usage("status NAME: the gateway's name (its sockets' name), not a path");
		} else {
			snprintf(name, sizeof(name), "%s", argv[a]);
		}
	}
	if (!name[0] && only_gateway(run_dir, name, sizeof(name)))
		return 1;
	if ((size_t)snprintf(control, sizeof(control), "%s/%s.ctl", run_dir, name) >= sizeof(control) ||
	    !meshd_sock_path(control, msock, sizeof(msock)))
		return mc_usage("--run-dir: path too long");
	errors = json_array();
	gws = ctl_json(control, "dump gateways", errors);
	counters = ctl_json(control, "counters", errors);
	meshd = ctl_json(msock, "status", errors);
	peers = peers_json(name, gws, errors, &uapi);
	drops = json_object_get(counters, "drops");
	gname = json_string_value(json_object_get(meshd, "gateway"));
	if (!gname && (e = gw_dump_gateway(gws, json_integer_value(json_object_get(gws, "self")))))
		gname = json_string_value(json_object_get(e, "name"));
	if (!gname)
		gname = json_string_value(json_object_get(counters, "gateway"));
	doc = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:o,s:o}", "gateway", gname ? gname : "", "interface", name,
			"id", json_integer_value(json_object_get(gws, "self")), "control", control,
			"meshd_socket", msock,
			"meshd", meshd ? json_pack("{s:b,s:O?,s:O?,s:O?,s:O?,s:O?}", "answering", 1, "registry",
						   json_object_get(meshd, "registry"), "registry_up",
						   json_object_get(meshd, "registry_up"), "registry_revision",
						   json_object_get(meshd, "registry_revision"), "gateway_up",
						   json_object_get(meshd, "gateway_up"), "backbone_up",
						   json_object_get(meshd, "backbone_up"))
				       : json_pack("{s:b}", "answering", 0),
			"peers", peers, "links",
			json_is_array(json_object_get(meshd, "links"))
				? json_incref(json_object_get(meshd, "links")) : json_array());
	if (doc && gws)
		json_object_set_new(doc, "paths", paths_json(gws, meshd));
	if (doc && drops) {
		json_object_set(doc, "drops", drops);
		json_object_set_new(doc, "drops_total", json_integer(drops_total(drops)));
	}
	if (doc)
		json_object_set(doc, "errors", errors);
	rc = json_array_size(errors) ? 1 : 0;
	json_array_foreach(errors, i, e)
		fprintf(stderr, "meshctl: status: %s\n", json_string_value(e));
	/* No gateway at all: a document of nothing would look like an idle one. */
	if (!gws && !counters && !uapi) {
		json_decref(doc);
		doc = NULL;
		rc = mc_fail("no gateway %s answers (%s, /var/run/wireguard/%s.sock)", name, control, name);
	} else if (doc)
		c->out->status(doc);
	else
		rc = mc_fail("%s", "out of memory");
	json_decref(doc);
	json_decref(errors);
	json_decref(gws);
	json_decref(counters);
	json_decref(meshd);
	return rc;
}
