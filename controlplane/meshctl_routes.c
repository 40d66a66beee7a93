// SPDX-License-Identifier: MIT
/*
 * route show and trace: what the gateways really do, read from them, beside
 * what was computed (docs/MESHCTL.md).
 *
 *   read_views:    every meshd and gateway socket in the run directory (the
 *                  gateways on this host) is asked once: a meshd's "status"
 *                  holds its gateway's installed paths, read by meshd for
 *                  that reply, and its router's choices, of the same moment
 *                  (meshd_status.c); where no meshd answers, the gateway's
 *                  own "dump gateways" gives the installed paths alone. Each
 *                  registry gateway gets what answered for its id, or
 *                  nothing and the reason: it is then shown as unknown, never
 *                  filled in with a computed path;
 *   links_find:    the links one meshd routes on ("links" on its socket:
 *                  its own and its link-state database's), as the reply and
 *                  as a database: link show prints the reply, route show
 *                  computes on the database;
 *   fill_route:    per (from, to): the installed path, meshd's choice, the
 *                  best path computed here on the source's meshd's links
 *                  (topology/, as meshd's router but with no hysteresis: it
 *                  can disagree with the gateways for as long as meshd holds
 *                  a path), and whether the installed differs from either;
 *   walk:          for trace, the hops a packet takes: the source's installed
 *                  path when it names every hop (source routing), else each
 *                  gateway's own installed next hop in turn, as relays then
 *                  forward by their own tables.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gwclient.h"
#include "meshctl.h"
#include "topofeed.h"

/* One socket pair of the run directory and what it answered. */
struct answer {
	char meshd[256], control[256];
	json_t *status;   /* meshd's "status", or NULL */
	json_t *dump;     /* else the gateway's "dump gateways", or NULL */
	char meshd_err[256];
	json_int_t id;    /* the gateway it speaks for, 0 unknown */
	const char *name; /* its registry name as meshd says it, or NULL */
};

static json_t *ask(const char *path, const char *request, char *err, size_t errlen)
{
	char *reply = gw_ctl_get(path, request, err, errlen);
	json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;

	if (reply && (!j || json_object_get(j, "error")))
		snprintf(err, errlen, "%s answered %.80s", path, reply);
	free(reply);
	if (j && json_object_get(j, "error")) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* The names NAME of DIR/NAME.ctl and DIR/NAME.meshd, once each. */
static unsigned socket_names(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	unsigned n = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), cut = 0;
		char **grown;
		bool seen = false;

		if (l > 4 && !strcmp(e->d_name + l - 4, ".ctl"))
			cut = 4;
		else if (l > 6 && !strcmp(e->d_name + l - 6, ".meshd"))
			cut = 6;
		if (!cut)
			continue;
		for (unsigned i = 0; i < n && !seen; i++)
			seen = strlen(names[i]) == l - cut && !strncmp(names[i], e->d_name, l - cut);
		if (seen || !(grown = realloc(names, (n + 1) * sizeof(*names))))
			continue;
		names = grown;
		if ((names[n] = strndup(e->d_name, l - cut)))
			n++;
	}
	closedir(d);
	*out = names;
	return n;
}

static unsigned read_answers(const char *dir, struct answer **out)
{
	char **names, err[256];
	unsigned n = socket_names(dir, &names);
	struct answer *a = calloc(n ? n : 1, sizeof(*a));

	for (unsigned i = 0; a && i < n; i++) {
		struct answer *x = &a[i];

		snprintf(x->control, sizeof(x->control), "%s/%s.ctl", dir, names[i]);
		snprintf(x->meshd, sizeof(x->meshd), "%s/%s.meshd", dir, names[i]);
		if ((x->status = ask(x->meshd, "status", x->meshd_err, sizeof(x->meshd_err)))) {
			x->id = json_integer_value(json_object_get(x->status, "id"));
			x->name = json_string_value(json_object_get(x->status, "gateway"));
			/* A meshd that could not read its gateway (or predates
			 * "installed"): the gateway may still answer us. */
			if (!json_is_array(json_object_get(x->status, "installed")))
				x->dump = ask(x->control, "dump gateways", err, sizeof(err));
		} else if ((x->dump = ask(x->control, "dump gateways", err, sizeof(err)))) {
			x->id = json_integer_value(json_object_get(x->dump, "self"));
		}
	}
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
	*out = a;
	return a ? n : 0;
}

/* The view of gateway g from the answers (those of meshd first). */
static void view_of(struct mc_gw_view *v, const struct reg_gateway *g, struct answer *a, unsigned n,
		    const char *dir)
{
	struct answer *by_meshd = NULL, *by_gw = NULL;
	json_t *inst;

	v->gw = g;
	for (unsigned i = 0; i < n; i++) {
		bool ours = a[i].id == g->id || (!a[i].id && a[i].name && !strcmp(a[i].name, g->name));

		if (ours && a[i].status && !by_meshd)
			by_meshd = &a[i];
		else if (ours && a[i].dump && !by_gw)
			by_gw = &a[i];
	}
	if (by_meshd) {
		v->meshd_read = true;
		v->chosen = json_incref(json_object_get(by_meshd->status, "paths"));
		snprintf(v->source, sizeof(v->source), "%s", by_meshd->meshd);
		inst = json_object_get(by_meshd->status, "installed");
		if (json_is_array(inst)) {
			v->installed_read = true;
			v->installed = json_incref(inst);
		} else if (by_meshd->dump && (v->installed = gw_dump_installed(by_meshd->dump))) {
			v->installed_read = true;
			snprintf(v->source, sizeof(v->source), "%s", by_meshd->control);
		} else {
			snprintf(v->why, sizeof(v->why), "its meshd (%s) could not read the gateway: %.300s",
				 by_meshd->meshd, json_string_value(json_object_get(by_meshd->status,
					"installed_error")) ?: "no installed paths in its reply");
		}
	} else if (by_gw) {
		v->installed = gw_dump_installed(by_gw->dump);
		v->installed_read = v->installed != NULL;
		snprintf(v->source, sizeof(v->source), "%s", by_gw->control);
		snprintf(v->why, sizeof(v->why), "its meshd does not answer (%s): %s", by_gw->meshd,
			 by_gw->meshd_err);
	} else if (access(dir, R_OK | X_OK)) {
		snprintf(v->why, sizeof(v->why), "%s: %s (--run-dir: where the sockets are)", dir, strerror(errno));
	} else {
		snprintf(v->why, sizeof(v->why),
			 "neither its meshd nor its gateway answers in %s (not on this host, or down)", dir);
	}
}

static json_t *record_for(json_t *list, unsigned id)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_integer_value(json_object_get(e, "id")) == (json_int_t)id)
			return e;
	return NULL;
}

static void path_from_ids(struct mc_path *p, json_t *ids)
{
	json_t *v;
	size_t i;

	p->n = 0;
	json_array_foreach(ids, i, v)
		if (p->n < MC_MAX_PATH)
			p->gw[p->n++] = (uint16_t)json_integer_value(v);
}

static void direct(struct mc_path *p, unsigned a, unsigned b)
{
	*p = (struct mc_path){ .n = 2, .gw = { (uint16_t)a, (uint16_t)b }, .hops = 1, .cost_ms = -1 };
}

/* The installed path does what p says: the same first relay and hop count
 * (all a gateway names without source routing; meshd installs the same),
 * and with source routing the same gateways all along. */
static bool same_path(const struct mc_route *r, const struct mc_path *p)
{
	const struct mc_path *i = &r->installed;

	if (r->installed_state != MC_INSTALLED)
		return false;
	if (i->hops != p->hops || i->n < 2 || p->n < 2 || i->gw[1] != p->gw[1])
		return false;
	if (r->source_routed)
		return i->n == p->n && !memcmp(i->gw, p->gw, i->n * sizeof(i->gw[0]));
	return true;
}

static void fill_route(struct mc_route *r, const struct mc_gw_view *v, const struct reg_gateway *to,
		       const struct topo *t, const struct topo_policy *pol, bool computed)
{
	json_t *e;
	struct mc_path intent, best;

	r->from = v->gw;
	r->to = to;
	r->view = v;
	r->computed_known = computed;
	r->reachable = computed && topo_best_path(t, pol, v->gw->id, to->id, &r->path);
	r->installed_state = MC_UNKNOWN;
	if (v->installed_read) {
		r->installed_state = MC_NONE;
		if ((e = record_for(v->installed, to->id))) {
			r->installed_state = MC_INSTALLED;
			path_from_ids(&r->installed, json_object_get(e, "path_ids"));
			r->installed.hops = (unsigned)json_integer_value(json_object_get(e, "hops"));
			r->installed.cost_ms = -1;
			r->bound = json_is_true(json_object_get(e, "bound"));
			r->source_routed = json_is_true(json_object_get(e, "source_routed"));
		}
	}
	r->chosen_known = v->meshd_read;
	if (v->meshd_read && (e = record_for(v->chosen, to->id))) {
		r->chosen_reachable = true;
		path_from_ids(&r->chosen, json_object_get(e, "path_ids"));
		r->chosen.hops = (unsigned)json_integer_value(json_object_get(e, "hops"));
		r->chosen.cost_ms = json_number_value(json_object_get(e, "cost_ms"));
	}
	/* With no path at all, meshd leaves the gateway direct (reconcile.c):
	 * that is then what it means the gateway to do. */
	if (r->chosen_reachable)
		intent = r->chosen;
	else
		direct(&intent, v->gw->id, to->id);
	r->differs_chosen = r->chosen_known && r->installed_state != MC_UNKNOWN && !same_path(r, &intent);
	direct(&best, v->gw->id, to->id);
	if (r->reachable) {
		best.n = r->path.hops + 1 <= MC_MAX_PATH ? r->path.hops + 1 : MC_MAX_PATH;
		best.hops = r->path.hops;
		for (unsigned h = 0; h < best.n; h++)
			best.gw[h] = r->path.gw[h];
	}
	r->differs_computed = computed && r->installed_state != MC_UNKNOWN && !same_path(r, &best);
}

static struct mc_gw_view *view_by_id(struct mc_routes *rs, unsigned id)
{
	for (unsigned i = 0; i < rs->nviews; i++)
		if (rs->views[i].gw->id == id)
			return &rs->views[i];
	return NULL;
}

/* trace: from r->from towards r->to through the installed paths. */
static void walk(struct mc_routes *rs, struct mc_route *r)
{
	unsigned dst = r->to->id, cur = r->from->id;
	struct mc_path *w = &r->walk;

	w->n = 1;
	w->gw[0] = (uint16_t)cur;
	w->cost_ms = -1;
	while (w->n < MC_MAX_PATH) {
		struct mc_gw_view *v = view_by_id(rs, cur);
		json_t *e = v && v->installed_read ? record_for(v->installed, dst) : NULL;
		struct mc_path here = { .n = 0 };
		unsigned next;

		if (v)
			v->used = true;
		if (!e) {
			r->walk_unknown = true; /* not read, or no path held for dst */
			break;
		}
		path_from_ids(&here, json_object_get(e, "path_ids"));
		if (here.n < 2) {
			r->walk_unknown = true;
			break;
		}
		if (cur == r->from->id && json_is_true(json_object_get(e, "source_routed"))) {
			/* The source writes the whole path; relays follow it. */
			for (unsigned h = 1; h < here.n && w->n < MC_MAX_PATH; h++)
				w->gw[w->n++] = here.gw[h];
			break;
		}
		next = here.gw[1];
		for (unsigned h = 0; h < w->n; h++)
			r->walk_loop |= w->gw[h] == next;
		w->gw[w->n++] = (uint16_t)next;
		if (next == dst || r->walk_loop)
			break;
		cur = next;
	}
	r->walk_loop |= w->gw[w->n - 1] != dst && !r->walk_unknown;
	w->hops = w->n - 1;
}

static int cmp_to_id(const void *a, const void *b)
{
	const struct lsdb_link *x = a, *y = b;

	return x->to < y->to ? -1 : x->to > y->to;
}

/* The reply's links as a database: per origin, ascending, in parts. */
static bool links_db(struct mc_links *l)
{
	json_t *a = json_object_get(l->doc, "links"), *e;
	struct lsdb_link *by = calloc(REG_MAX_GATEWAY_ID, sizeof(*by));
	size_t i;

	if (!by)
		return false;
	for (unsigned from = 1; from <= REG_MAX_GATEWAY_ID; from++) {
		unsigned n = 0;

		json_array_foreach(a, i, e) {
			json_int_t to = json_integer_value(json_object_get(e, "to_id"));

			if (json_integer_value(json_object_get(e, "from_id")) != from || to < 1 ||
			    to > REG_MAX_GATEWAY_ID || n == REG_MAX_GATEWAY_ID)
				continue;
			by[n++] = (struct lsdb_link){
				.to = (uint16_t)to,
				.up = json_is_true(json_object_get(e, "up")),
				.rtt_ms = json_number_value(json_object_get(e, "rtt_ms")),
				.p50_ms = json_number_value(json_object_get(e, "rtt_p50_ms")),
				.p90_ms = json_number_value(json_object_get(e, "rtt_p90_ms")),
				.p99_ms = json_number_value(json_object_get(e, "rtt_p99_ms")),
				.jitter_ms = json_number_value(json_object_get(e, "jitter_ms")),
				.loss = json_number_value(json_object_get(e, "loss")),
			};
		}
		if (!n)
			continue;
		qsort(by, n, sizeof(*by), cmp_to_id);
		for (unsigned k = 0, parts = (n + LSA_LINKS_MAX - 1) / LSA_LINKS_MAX; k < parts; k++)
			lsdb_put(&l->db, (uint16_t)from, 1, k, parts, by + k * LSA_LINKS_MAX,
				 n - k * LSA_LINKS_MAX < LSA_LINKS_MAX ? n - k * LSA_LINKS_MAX : LSA_LINKS_MAX, 0,
				 UINT64_MAX / 2, 0);
	}
	free(by);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first meshd in run_dir, by name, that answers "links" (from's only,
 * if from is not NULL); false with err if none. */
static bool links_find(struct mc_links *l, const char *from, const char *run_dir, char *err,
		       size_t errlen)
{
	char **names, path[512];
	unsigned n = socket_names(run_dir, &names);

	memset(l, 0, sizeof(*l));
	err[0] = '\0';
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (unsigned i = 0; i < n && !l->doc; i++) {
		snprintf(path, sizeof(path), "%s/%s.meshd", run_dir, names[i]);
		if (access(path, F_OK))
			continue;
		l->doc = ask(path, "links", err, errlen);
		if (l->doc && from && strcmp(json_string_value(json_object_get(l->doc, "gateway")) ?: "", from)) {
			json_decref(l->doc);
			l->doc = NULL;
		}
	}
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!l->doc) {
		if (from)
			snprintf(err, errlen, "no meshd of gateway %s answered in %s", from, run_dir);
		else if (!err[0])
			snprintf(err, errlen, "no meshd answered in %s", run_dir);
		return false;
	}
	if (!json_is_array(json_object_get(l->doc, "links")) || !links_db(l)) {
		snprintf(err, errlen, "the meshd's reply to links holds no link list");
		mc_links_free(l);
		return false;
	}
	l->source = json_string_value(json_object_get(l->doc, "gateway"));
	return true;
}

int mc_links_read(struct mc_links *l, const char *from, const char *run_dir)
{
	char err[512];

	if (!links_find(l, from, run_dir, err, sizeof(err)))
		return mc_fail("%s (the links are in the meshds' memory, not in the registry)", err);
	return 0;
}

void mc_links_free(struct mc_links *l)
{
	json_decref(l->doc);
	lsdb_clear(&l->db);
	l->doc = NULL;
	l->source = NULL;
}

int mc_routes_read(struct mc_routes *rs, const struct reg_snapshot *s, const char *from,
		   const struct reg_gateway *dst, const char *run_dir)
{
	struct topofeed feed = { .present = { false } };
	struct topo *t = topo_new(REG_MAX_GATEWAY_ID);
	struct answer *a = NULL;
	unsigned na = 0;

	memset(rs, 0, sizeof(*rs));
	rs->s = s;
	rs->run_dir = run_dir;
	rs->views = calloc(s->ngateways ? s->ngateways : 1, sizeof(*rs->views));
	rs->r = calloc((size_t)s->ngateways * s->ngateways + 1, sizeof(*rs->r));
	if (!t || !rs->views || !rs->r) {
		topo_free(t);
		mc_routes_free(rs);
		return mc_fail("%s", "out of memory");
	}
	/* What the gateways hold first, each meshd's paths beside it in one
	 * reply: its first request is the one a meshd answers first. */
	na = read_answers(run_dir, &a);
	/* Then the graph as from's meshd holds it (else any meshd's), fed as
	 * meshd's is; with none, the computed best is unknown. */
	if (!links_find(&rs->links, from, run_dir, rs->links_why, sizeof(rs->links_why)) &&
	    (!from || !links_find(&rs->links, NULL, run_dir, rs->links_why, sizeof(rs->links_why))))
		rs->links.doc = NULL;
	topofeed_policy(s, &rs->pol);
	topofeed_gateways(&feed, t, s);
	topofeed_lsdb(t, s, &rs->links.db, 0);
	for (unsigned i = 0; i < s->ngateways; i++)
		view_of(&rs->views[rs->nviews++], &s->gateways[i], a, na, run_dir);
	for (unsigned i = 0; i < na; i++) {
		json_decref(a[i].status);
		json_decref(a[i].dump);
	}
	free(a);
	for (unsigned i = 0; i < rs->nviews; i++) {
		struct mc_gw_view *v = &rs->views[i];

		if (from && strcmp(v->gw->name, from))
			continue;
		for (unsigned j = 0; j < s->ngateways; j++) {
			const struct reg_gateway *b = &s->gateways[j];

			if (b == v->gw || (dst && b != dst))
				continue;
			v->used = true;
			fill_route(&rs->r[rs->n], v, b, t, &rs->pol, rs->links.doc != NULL);
			if (dst)
				walk(rs, &rs->r[rs->n]);
			rs->n++;
		}
	}
	topo_free(t);
	return 0;
}

void mc_routes_free(struct mc_routes *rs)
{
	for (unsigned i = 0; i < rs->nviews; i++) {
		json_decref(rs->views[i].installed);
		json_decref(rs->views[i].chosen);
	}
	free(rs->views);
	free(rs->r);
	mc_links_free(&rs->links);
	rs->views = NULL;
	rs->r = NULL;
	rs->n = rs->nviews = 0;
}
