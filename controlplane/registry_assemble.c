// SPDX-License-Identifier: MIT
/*
 * Snapshot assembly (registry_assemble.h). reg_assemble runs in two passes:
 *
 *   1. each entry on its own, by the kind its key names (take_entry):
 *      take_gateway, take_vm, take_policy, take_link parse the value
 *      (registry_json.c), check it (registry_rules.c) and match it to its
 *      key; an unreadable entry goes to take_unreadable. A gateway or VM that
 *      fails here keeps the version of the last good snapshot, if it has one.
 *   2. across entries: settle_gateways (by name, records in use first, each
 *      fitting those before it), settle_vms (gateway known and holding the
 *      address, then addresses unique in one sorted pass), settle_links
 *      (sorted by FROM, TO).
 *
 * Whatever is left out is one line in the snapshot's problems (where, then
 * why, cut to one short line); nothing stored makes assembly fail.
 */
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

struct gw_item {
	struct reg_gateway g;
	const char *where;
	bool known;        /* in the caller's last good snapshot */
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
	bool expiry;
	uint64_t now_unix_ms;
	struct gw_item *gws;
	struct vm_item *vms;
	struct reg_link *links;
	unsigned ngw, nvm, nlink;
	struct problems pr;
	struct reg_snapshot *out;
	char why[400];
};

/* Of two records that clash, the one already known wins, then the one whose
 * name sorts first: a newcomer never displaces a record in use. */
static int cmp_gw(const void *a, const void *b)
{
	const struct gw_item *x = a, *y = b;

	return x->known != y->known ? y->known - x->known : strcmp(x->g.name, y->g.name);
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

static int cmp_link(const void *a, const void *b)
{
	const struct reg_link *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

static const struct reg_gateway *known_gateway(const struct reg_snapshot *last, const char *name)
{
	for (unsigned i = 0; last && i < last->ngateways; i++)
		if (!strcmp(last->gateways[i].name, name))
			return &last->gateways[i];
	return NULL;
}

static const struct reg_vm *known_vm(const struct reg_snapshot *last, const char *name)
{
	for (unsigned i = 0; last && i < last->nvms; i++)
		if (!strcmp(last->vms[i].name, name))
			return &last->vms[i];
	return NULL;
}

/* A stored gateway or VM that no longer reads or validates: its last good
 * version stands in for it, if there is one (a corrupted record of a gateway
 * in use must not take its tunnel down); else it is left out. True when
 * kept (the item then counts). */
static bool keep_gateway(struct assembly *a, const char *name, const char *where)
{
	const struct reg_gateway *g = known_gateway(a->last, name);
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
	const struct reg_vm *vm = known_vm(a->last, name);
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
	it->known = known_gateway(a->last, name);
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
	it->known = known_vm(a->last, name);
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

static void take_link(struct assembly *a, const struct reg_entry *e, const char *from,
		      const char *to)
{
	struct reg_link *l = &a->links[a->nlink];
	long long exp;

	if (!reg_link_parse(e->value, l, &exp, a->why, sizeof(a->why)) ||
	    !reg_link_check(l, a->why, sizeof(a->why))) {
		problem(&a->pr, e->where, "%s", a->why);
		return;
	}
	if (strcmp(l->from, from) || strcmp(l->to, to)) {
		problem(&a->pr, e->where, "record is link %s -> %s, key says %s -> %s", l->from,
			l->to, from, to);
		return;
	}
	if (a->expiry) {
		if (exp < 0) {
			problem(&a->pr, e->where, "link without expires_unix_ms");
			return;
		}
		if ((uint64_t)exp <= a->now_unix_ms)
			return; /* expired: left out, not a problem */
	}
	a->nlink++;
}

static void take_entry(struct assembly *a, const struct reg_entry *e)
{
	char n1[REG_VM_NAME_LEN], n2[REG_NAME_LEN];
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
	case REG_K_LINK:
		take_link(a, e, n1, n2);
		break;
	case REG_K_NONE:
		break;
	}
}

/* ---- pass 2: across entries ---- */

/* Gateways by name; each must fit those before it. */
static int settle_gateways(struct assembly *a)
{
	struct reg_snapshot *out = a->out;
	unsigned i;

	qsort(a->gws, a->ngw, sizeof(*a->gws), cmp_gw);
	out->gateways = calloc(a->ngw + 1, sizeof(*out->gateways));
	if (!out->gateways)
		return -1;
	for (i = 0; i < a->ngw; i++) {
		struct gw_item *it = &a->gws[i];

		if (!reg_gateway_fits(out, &it->g, a->why, sizeof(a->why))) {
			problem(&a->pr, it->where, "%s; skipped (%s)", a->why,
				it->known || !a->last ? "the other sorts first"
						      : "a newcomer: the record in use wins");
			continue;
		}
		out->gateways[out->ngateways++] = it->g;
	}
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

/* Links need nothing across entries: sorted, they are the snapshot's. */
static void settle_links(struct assembly *a)
{
	qsort(a->links, a->nlink, sizeof(*a->links), cmp_link);
	a->out->links = a->links;
	a->out->nlinks = a->nlink;
	a->links = NULL;
}

int reg_assemble(const struct reg_entries *es, bool expiry, uint64_t now_unix_ms,
		 const struct reg_snapshot *last, struct reg_snapshot *out)
{
	struct assembly a = {
		.last = last,
		.expiry = expiry,
		.now_unix_ms = now_unix_ms,
		.gws = calloc(es->n + 1, sizeof(*a.gws)),
		.vms = calloc(es->n + 1, sizeof(*a.vms)),
		.links = calloc(es->n + 1, sizeof(*a.links)),
		.out = out,
	};
	unsigned i;

	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	if (!a.gws || !a.vms || !a.links)
		goto nomem;
	for (i = 0; i < es->n; i++)
		take_entry(&a, &es->v[i]);
	if (settle_gateways(&a) < 0 || settle_vms(&a) < 0)
		goto nomem;
	settle_links(&a);
	if (a.pr.nomem)
		goto nomem;
	out->problems = a.pr.v;
	out->nproblems = a.pr.n;
	free(a.gws);
	free(a.vms);
	return 0;

nomem:
	for (i = 0; i < a.pr.n; i++)
		free(a.pr.v[i]);
	free(a.pr.v);
	free(a.gws);
	free(a.vms);
	free(a.links);
	free(out->gateways);
	free(out->vms);
	free(out->links);
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
	free(s->links);
	memset(s, 0, sizeof(*s));
}
