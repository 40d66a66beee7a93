// SPDX-License-Identifier: MIT
/*
 * Snapshot assembly (registry_assemble.h). reg_assemble runs in two passes:
 *
 *   1. each entry on its own, by the kind its key names (take_entry):
 *      take_gateway, take_vm, take_policy, take_claim parse the value
 *      (registry_json.c), check it (registry_rules.c) and match it to its
 *      key; an unreadable entry goes to take_unreadable. A gateway or VM that
 *      fails here keeps the version of the last good snapshot, if it has one.
 *      A key outside the layout (an earlier version's links/FROM/TO, say)
 *      is passed over; a bad name inside it is a problem.
 *   2. across entries: settle_gateways (by seniority: ids and public keys
 *      unique in the order of the gateways' id claims, then each prefix
 *      against the older claims), settle_vms (gateway known and holding the
 *      address, then addresses unique in one sorted pass).
 *
 * Seniority is a claim's age (registry_entries.h: reg_claims): its key's
 * create revision in etcd, its sequence number in the dir back end. Names
 * never decide a clash between claimed records; a record without its claim
 * (written around the library) comes after every claimed one, and only
 * among such records do "in use" and then the name decide.
 *
 * Whatever is left out is one line in the snapshot's problems (where, then
 * why, cut to one short line); nothing stored makes assembly fail.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_assemble.h"
#include "registry_json.h"
#include "registry_rules.h"
#include "registry_syntax.h"

#define KEPT "; keeping its last good version"

struct problems {
	char **v;
	unsigned n, cap;
	bool nomem;
};

static void problem(struct problems *p, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct problems *p, const char *where, const char *fmt, ...)
{
	char msg[512], *line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->n == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 16;
		char **v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			p->nomem = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	/* where may be a stored key of any length: keep the line short */
	if (asprintf(&line, "%.200s%s: %s", where, strlen(where) > 200 ? "..." : "", msg) < 0) {
		p->nomem = true;
		return;
	}
	/* one line: no newline or control character from stored data */
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	p->v[p->n++] = line;
}

#define UNCLAIMED LLONG_MAX /* after every claim */

struct gw_item {
	struct reg_gateway g;
	const char *where;
	bool known;        /* in the caller's last good snapshot */
	long long age_id;  /* seniority of its id claim, the gateway's own */
	long long age_pfx[REG_MAX_PREFIXES];
	bool seen[REG_MAX_PREFIXES]; /* prefix claims judged and standing */
	bool id_seen;
	bool out;          /* lost a clash: left out whole */
};
struct claim_item {
	char owner[REG_NAME_LEN];
	char name[REG_CLAIM_LEN];
	long long age;
};
/* One claim of a gateway (its id or a prefix), in the order claims are
 * judged. */
struct judged_claim {
	unsigned gw;       /* a->gws[gw] */
	unsigned i;        /* its prefixes[i]; REG_MAX_PREFIXES: its id */
	long long age;
	struct reg_pfx p;
};
struct vm_item {
	struct reg_vm vm;
	const char *where;
	struct reg_pfx addr;
	bool skip;
	bool known;
};

/* One assembly under way: the inputs, what pass 1 took, the problems. */
struct assembly {
	const struct reg_snapshot *last;   /* may be NULL */
	struct gw_item *gws;
	struct vm_item *vms;
	struct claim_item *claims;
	unsigned ngw, nvm, nclaim;
	const struct reg_gateway **last_gws; /* last's, by name */
	const struct reg_vm **last_vms;
	struct problems pr;
	struct reg_snapshot *out;
	char why[400];
};

static int cmp_age(long long x, long long y)
{
	return x < y ? -1 : x > y;
}

/* Of two gateways that clash, the older id claim wins; between records
 * without claims, the one already known, then the one whose name sorts
 * first. */
static int cmp_gw(const void *a, const void *b)
{
	const struct gw_item *x = a, *y = b;

	if (x->age_id != y->age_id)
		return cmp_age(x->age_id, y->age_id);
	return x->known != y->known ? y->known - x->known : strcmp(x->g.name, y->g.name);
}

static int cmp_gw_name(const void *a, const void *b)
{
	return strcmp(((const struct reg_gateway *)a)->name, ((const struct reg_gateway *)b)->name);
}

static int cmp_claim(const void *a, const void *b)
{
	const struct claim_item *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	return c ? c : strcmp(x->name, y->name);
}

static int cmp_judged(const void *a, const void *b)
{
	const struct judged_claim *x = a, *y = b;

	if (x->age != y->age)
		return cmp_age(x->age, y->age);
	return x->gw != y->gw ? (x->gw > y->gw) - (x->gw < y->gw) : (x->i > y->i) - (x->i < y->i);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct vm_item *x = a, *y = b;

	return x->known != y->known ? y->known - x->known : strcmp(x->vm.name, y->vm.name);
}

static int cmp_vm_addr(const void *a, const void *b)
{
	const struct vm_item *const *x = a, *const *y = b;
	int c = (*x)->addr.af - (*y)->addr.af;

	if (!c)
		c = memcmp((*x)->addr.a, (*y)->addr.a, 16);
	if (!c)
		c = cmp_vm(*x, *y);
	return c;
}

static int cmp_gw_ptr_name(const void *a, const void *b)
{
	return strcmp((*(const struct reg_gateway *const *)a)->name,
		      (*(const struct reg_gateway *const *)b)->name);
}

static int cmp_vm_ptr_name(const void *a, const void *b)
{
	return strcmp((*(const struct reg_vm *const *)a)->name, (*(const struct reg_vm *const *)b)->name);
}

/* last's records by name, for lookups in log time: a large mesh's reload
 * looks up every record it reads. */
static int index_last(struct assembly *a)
{
	const struct reg_snapshot *l = a->last;
	unsigned i;

	if (!l)
		return 0;
	a->last_gws = calloc(l->ngateways + 1, sizeof(*a->last_gws));
	a->last_vms = calloc(l->nvms + 1, sizeof(*a->last_vms));
	if (!a->last_gws || !a->last_vms)
		return -1;
	for (i = 0; i < l->ngateways; i++)
		a->last_gws[i] = &l->gateways[i];
	for (i = 0; i < l->nvms; i++)
		a->last_vms[i] = &l->vms[i];
	qsort(a->last_gws, l->ngateways, sizeof(*a->last_gws), cmp_gw_ptr_name);
	qsort(a->last_vms, l->nvms, sizeof(*a->last_vms), cmp_vm_ptr_name);
	return 0;
}

static const struct reg_gateway *known_gateway(const struct assembly *a, const char *name)
{
	struct reg_gateway key, *kp = &key;
	const struct reg_gateway *const *hit;

	if (!a->last)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&kp, a->last_gws, a->last->ngateways, sizeof(*a->last_gws), cmp_gw_ptr_name);
	return hit ? *hit : NULL;
}

static const struct reg_vm *known_vm(const struct assembly *a, const char *name)
{
	struct reg_vm key, *kp = &key;
	const struct reg_vm *const *hit;

	if (!a->last)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&kp, a->last_vms, a->last->nvms, sizeof(*a->last_vms), cmp_vm_ptr_name);
	return hit ? *hit : NULL;
}

/* A stored gateway or VM that no longer reads or validates: its last good
 * version stands in for it, if there is one (a corrupted record of a gateway
 * in use must not take its tunnel down); else it is left out. True when
 * kept (the item then counts). */
static bool keep_gateway(struct assembly *a, const char *name, const char *where)
{
	const struct reg_gateway *g = known_gateway(a, name);
	struct gw_item *it = &a->gws[a->ngw];

	if (!g)
		return false;
	it->g = *g;
	it->where = where;
	it->known = true;
	a->ngw++;
	return true;
}

static bool keep_vm(struct assembly *a, const char *name, const char *where)
{
	const struct reg_vm *vm = known_vm(a, name);
	struct vm_item *it = &a->vms[a->nvm];

	if (!vm)
		return false;
	it->vm = *vm;
	it->where = where;
	it->known = true;
	reg_addr_parse(vm->address, &it->addr);
	a->nvm++;
	return true;
}

/* ---- pass 1: each entry on its own ---- */

static void take_unreadable(struct assembly *a, const struct reg_entry *e, enum reg_kind k,
			    const char *name)
{
	bool kept = (k == REG_K_GATEWAY && keep_gateway(a, name, e->where)) ||
		    (k == REG_K_VM && keep_vm(a, name, e->where));

	problem(&a->pr, e->where, "unreadable: %s%s",
		e->read_error ? e->read_error : "unknown error", kept ? KEPT : "");
}

static void take_gateway(struct assembly *a, const struct reg_entry *e, const char *name)
{
	struct gw_item *it = &a->gws[a->ngw];

	if (!reg_gateway_parse(e->value, &it->g, a->why, sizeof(a->why)) ||
	    !reg_gateway_check(&it->g, a->why, sizeof(a->why))) {
		bool kept = keep_gateway(a, name, e->where);

		problem(&a->pr, e->where, "%s%s", a->why, kept ? KEPT : "");
		return;
	}
	if (strcmp(it->g.name, name)) {
		char named[REG_NAME_LEN];
		bool kept;

		memcpy(named, it->g.name, sizeof(named)); /* keeping overwrites the item */
		kept = keep_gateway(a, name, e->where);
		problem(&a->pr, e->where, "record names gateway '%s', key says '%s'%s", named, name,
			kept ? KEPT : "");
		return;
	}
	it->known = known_gateway(a, name);
	it->where = e->where;
	a->ngw++;
}

static void take_vm(struct assembly *a, const struct reg_entry *e, const char *name)
{
	struct vm_item *it = &a->vms[a->nvm];

	if (!reg_vm_parse(e->value, &it->vm, a->why, sizeof(a->why)) ||
	    !reg_vm_check(&it->vm, a->why, sizeof(a->why))) {
		bool kept = keep_vm(a, name, e->where);

		problem(&a->pr, e->where, "%s%s", a->why, kept ? KEPT : "");
		return;
	}
	if (strcmp(it->vm.name, name)) {
		char named[REG_VM_NAME_LEN];
		bool kept;

		memcpy(named, it->vm.name, sizeof(named)); /* keeping overwrites the item */
		kept = keep_vm(a, name, e->where);
		problem(&a->pr, e->where, "record names vm '%s', key says '%s'%s", named, name,
			kept ? KEPT : "");
		return;
	}
	reg_addr_parse(it->vm.address, &it->addr);
	it->known = known_vm(a, name);
	it->where = e->where;
	a->nvm++;
}

/* A corrupt policy: the last good one, else the default. */
static void take_policy(struct assembly *a, const struct reg_entry *e)
{
	struct reg_policy p;

	if (!reg_policy_parse(e->value, &p, a->why, sizeof(a->why)) ||
	    !reg_policy_check(&p, a->why, sizeof(a->why))) {
		problem(&a->pr, e->where, "%s; using the %s policy", a->why,
			a->last ? "last good" : "default");
		if (a->last)
			a->out->policy = a->last->policy;
		return;
	}
	a->out->policy = p;
}

/* A claim's age: etcd's create revision, else (dir) the sequence number its
 * writer gave it under the lock. */
static void take_claim(struct assembly *a, const struct reg_entry *e, const char *owner,
		       const char *name)
{
	struct claim_item *c = &a->claims[a->nclaim];
	char gw[REG_NAME_LEN], what[REG_ADDR_LEN], cn[REG_CLAIM_LEN];
	unsigned id;
	long long seq;

	if (!reg_claim_parse(e->value, gw, sizeof(gw), what, sizeof(what), &seq, a->why,
			     sizeof(a->why))) {
		problem(&a->pr, e->where, "%s", a->why);
		return;
	}
	if (sscanf(what, "id %u", &id) == 1)
		reg_claim_name_id(id, cn, sizeof(cn));
	else if (!reg_claim_name_prefix(what, cn, sizeof(cn)))
		cn[0] = '\0';
	if (strcmp(gw, owner) || strcmp(cn, name)) {
		problem(&a->pr, e->where, "record is %s's claim to '%s', key says %s's %s", gw, what,
			owner, name);
		return;
	}
	c->age = e->create_revision > 0 ? e->create_revision : seq;
	if (c->age <= 0) {
		problem(&a->pr, e->where, "claim without a sequence number: not counted");
		return;
	}
	memcpy(c->owner, owner, sizeof(c->owner));
	memcpy(c->name, name, sizeof(c->name));
	a->nclaim++;
}

static void take_entry(struct assembly *a, const struct reg_entry *e)
{
	char n1[REG_VM_NAME_LEN], n2[REG_CLAIM_LEN];
	enum reg_kind k = reg_key_parse(e->key, n1, sizeof(n1), n2, sizeof(n2));

	if (k == REG_K_NONE) {
		if (reg_key_in_layout(e->key))
			problem(&a->pr, e->where, "bad key (names: a-z, 0-9, '-'%s)",
				!strncmp(e->key, "vms/", 4) ? ", '.'" : "");
		return;
	}
	if (!e->value) {
		take_unreadable(a, e, k, n1);
		return;
	}
	switch (k) {
	case REG_K_GATEWAY:
		take_gateway(a, e, n1);
		break;
	case REG_K_VM:
		take_vm(a, e, n1);
		break;
	case REG_K_POLICY:
		take_policy(a, e);
		break;
	case REG_K_CLAIM:
		take_claim(a, e, n1, n2);
		break;
	case REG_K_NONE:
		break;
	}
}

/* ---- pass 2: across entries ---- */

static long long claim_age(const struct assembly *a, const char *owner, const char *name)
{
	struct claim_item key = {0};
	const struct claim_item *c;

	snprintf(key.owner, sizeof(key.owner), "%s", owner);
	snprintf(key.name, sizeof(key.name), "%s", name);
	c = bsearch(&key, a->claims, a->nclaim, sizeof(*a->claims), cmp_claim);
	return c ? c->age : UNCLAIMED;
}

static void claim_ages(struct assembly *a, struct gw_item *it)
{
	char cn[REG_CLAIM_LEN];
	unsigned i;

	reg_claim_name_id(it->g.id, cn, sizeof(cn));
	it->age_id = claim_age(a, it->g.name, cn);
	for (i = 0; i < it->g.nprefixes && i < REG_MAX_PREFIXES; i++)
		it->age_pfx[i] = reg_claim_name_prefix(it->g.prefixes[i], cn, sizeof(cn))
					 ? claim_age(a, it->g.name, cn)
					 : UNCLAIMED;
}

static const char *lost_because(const struct assembly *a, long long mine, long long theirs,
				bool known)
{
	if (mine == UNCLAIMED && theirs == UNCLAIMED)
		return known || !a->last ? "neither is claimed: the other sorts first"
					 : "neither is claimed: the record in use wins";
	if (mine == UNCLAIMED)
		return "it has no claim (written around meshctl)";
	return "the other's claim is older";
}

/* Has it a claim that clashes with one of a gateway still in? what says
 * which, with whose and why the other stands. */
static const struct gw_item *clash(const struct assembly *a, const struct judged_claim *c,
				   char *what, size_t cap)
{
	const struct gw_item *it = &a->gws[c->gw];
	unsigned i, j;

	for (i = 0; i < a->ngw; i++) {
		const struct gw_item *o = &a->gws[i];

		if (o == it || o->out)
			continue;
		if (c->i == REG_MAX_PREFIXES) { /* the id claim: the id, and the key with it */
			if (!o->id_seen)
				continue;
			if (o->g.id == it->g.id) {
				snprintf(what, cap, "id %u is already gateway %s's (%s)", it->g.id, o->g.name,
					 lost_because(a, c->age, o->age_id, it->known));
				return o;
			}
			if (!memcmp(o->g.public_key, it->g.public_key, sizeof(it->g.public_key))) {
				snprintf(what, cap, "public key is already gateway %s's (%s)", o->g.name,
					 lost_because(a, c->age, o->age_id, it->known));
				return o;
			}
			continue;
		}
		for (j = 0; j < o->g.nprefixes && j < REG_MAX_PREFIXES; j++) {
			struct reg_pfx op;

			if (!o->seen[j] || !reg_prefix_parse(o->g.prefixes[j], &op, NULL, 0) ||
			    !reg_pfx_overlap(&c->p, &op))
				continue;
			snprintf(what, cap, "prefix %s overlaps gateway %s's %s (%s)",
				 it->g.prefixes[c->i], o->g.name, o->g.prefixes[j],
				 lost_because(a, c->age, o->age_pfx[j], it->known));
			return o;
		}
	}
	return NULL;
}

/* Every claim of every gateway, oldest first (id claims stand for the
 * public key too): a gateway with a claim that clashes with an older one of
 * a gateway still in is left out whole. The gateways in, by name. */
static int settle_gateways(struct assembly *a)
{
	struct reg_snapshot *out = a->out;
	struct judged_claim *v = calloc((size_t)a->ngw * (REG_MAX_PREFIXES + 1) + 1, sizeof(*v));
	char what[400];
	unsigned n = 0, i, j;

	out->gateways = calloc(a->ngw + 1, sizeof(*out->gateways));
	if (!v || !out->gateways) {
		free(v);
		return -1;
	}
	qsort(a->claims, a->nclaim, sizeof(*a->claims), cmp_claim);
	for (i = 0; i < a->ngw; i++)
		claim_ages(a, &a->gws[i]);
	qsort(a->gws, a->ngw, sizeof(*a->gws), cmp_gw); /* ties of age: this order */
	for (i = 0; i < a->ngw; i++) {
		struct gw_item *it = &a->gws[i];

		v[n++] = (struct judged_claim){.gw = i, .i = REG_MAX_PREFIXES, .age = it->age_id};
		for (j = 0; j < it->g.nprefixes && j < REG_MAX_PREFIXES; j++) {
			if (!reg_prefix_parse(it->g.prefixes[j], &v[n].p, NULL, 0))
				continue;
			v[n].gw = i;
			v[n].i = j;
			v[n].age = it->age_pfx[j];
			n++;
		}
	}
	qsort(v, n, sizeof(*v), cmp_judged);
	for (i = 0; i < n; i++) {
		struct gw_item *it = &a->gws[v[i].gw];

		if (it->out)
			continue;
		if (clash(a, &v[i], what, sizeof(what))) {
			it->out = true;
			problem(&a->pr, it->where, "gateway %s: %s; skipped", it->g.name, what);
			continue;
		}
		if (v[i].i < REG_MAX_PREFIXES)
			it->seen[v[i].i] = true;
		else
			it->id_seen = true;
	}
	for (i = 0; i < a->ngw; i++)
		if (!a->gws[i].out)
			out->gateways[out->ngateways++] = a->gws[i].g;
	qsort(out->gateways, out->ngateways, sizeof(*out->gateways), cmp_gw_name);
	free(v);
	return 0;
}
/* VMs by name: gateway known and address inside it; then addresses unique,
 * the first by name keeping its address. */
static int settle_vms(struct assembly *a)
{
	struct reg_snapshot *out = a->out;
	struct vm_item **byaddr;
	unsigned i, j;

	qsort(a->vms, a->nvm, sizeof(*a->vms), cmp_vm);
	byaddr = calloc(a->nvm + 1, sizeof(*byaddr));
	out->vms = calloc(a->nvm + 1, sizeof(*out->vms));
	if (!byaddr || !out->vms) {
		free(byaddr);
		return -1;
	}
	for (i = 0, j = 0; i < a->nvm; i++) {
		if (!reg_vm_fits_gateway(out, &a->vms[i].vm, a->why, sizeof(a->why))) {
			problem(&a->pr, a->vms[i].where, "%s", a->why);
			a->vms[i].skip = true;
			continue;
		}
		byaddr[j++] = &a->vms[i];
	}
	qsort(byaddr, j, sizeof(*byaddr), cmp_vm_addr);
	for (i = 0; i < j;) {
		unsigned k = i + 1;

		for (; k < j && reg_addr_equal(&byaddr[k]->addr, &byaddr[i]->addr); k++) {
			byaddr[k]->skip = true;
			problem(&a->pr, byaddr[k]->where,
				"vm %s: address %s is already vm %s's; skipped (%s)",
				byaddr[k]->vm.name, byaddr[k]->vm.address, byaddr[i]->vm.name,
				byaddr[k]->known || !a->last ? "the other sorts first"
							     : "a newcomer: the record in use wins");
		}
		i = k;
	}
	for (i = 0; i < a->nvm; i++)
		if (!a->vms[i].skip)
			out->vms[out->nvms++] = a->vms[i].vm;
	free(byaddr);
	return 0;
}

int reg_assemble(const struct reg_entries *es, const struct reg_snapshot *last,
		 struct reg_snapshot *out)
{
	struct assembly a = {
		.last = last,
		.gws = calloc(es->n + 1, sizeof(*a.gws)),
		.vms = calloc(es->n + 1, sizeof(*a.vms)),
		.claims = calloc(es->n + 1, sizeof(*a.claims)),
		.out = out,
	};
	unsigned i;

	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	if (!a.gws || !a.vms || !a.claims || index_last(&a) < 0)
		goto nomem;
	for (i = 0; i < es->n; i++)
		take_entry(&a, &es->v[i]);
	if (settle_gateways(&a) < 0 || settle_vms(&a) < 0)
		goto nomem;
	if (a.pr.nomem)
		goto nomem;
	out->problems = a.pr.v;
	out->nproblems = a.pr.n;
	free(a.gws);
	free(a.vms);
	free(a.claims);
	free(a.last_gws);
	free(a.last_vms);
	return 0;

nomem:
	for (i = 0; i < a.pr.n; i++)
		free(a.pr.v[i]);
	free(a.pr.v);
	free(a.gws);
	free(a.vms);
	free(a.claims);
	free(a.last_gws);
	free(a.last_vms);
	free(out->gateways);
	free(out->vms);
	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	return -1;
}

void reg_snapshot_free(struct reg_snapshot *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < s->nproblems; i++)
		free(s->problems[i]);
	free(s->problems);
	free(s->gateways);
	free(s->vms);
	memset(s, 0, sizeof(*s));
}

static void *dup_array(const void *v, size_t n, size_t size)
{
	void *c = malloc(n * size + 1);

	if (c && n)
		memcpy(c, v, n * size);
	return c;
}

int reg_snapshot_dup(const struct reg_snapshot *s, struct reg_snapshot *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->policy = s->policy;
	out->revision = s->revision;
	out->gateways = dup_array(s->gateways, s->ngateways, sizeof(*s->gateways));
	out->vms = dup_array(s->vms, s->nvms, sizeof(*s->vms));
	out->problems = calloc(s->nproblems + 1, sizeof(*out->problems));
	if (!out->gateways || !out->vms || !out->problems)
		goto nomem;
	out->ngateways = s->ngateways;
	out->nvms = s->nvms;
	for (i = 0; i < s->nproblems; i++) {
		out->problems[i] = strdup(s->problems[i]);
		if (!out->problems[i])
			goto nomem;
		out->nproblems++;
	}
	return 0;
nomem:
	reg_snapshot_free(out);
	reg_policy_default(&out->policy);
	return -1;
}
