// SPDX-License-Identifier: MIT
/*
 * Stored entries and the key layout (registry_entries.h). An entry list is
 * a growing array of copies (where, key, value or read error); a key is
 * taken apart by its folder:
 *
 *   policy                 REG_K_POLICY
 *   gateways/NAME          REG_K_GATEWAY  (a gateway name)
 *   vms/NAME               REG_K_VM       (a VM name: '.' allowed)
 *   claims/NAME/CLAIM      REG_K_CLAIM    (a gateway name, a claim name)
 *
 * Anything else is outside the layout, links/FROM/TO of an earlier version
 * included (link measurements travel between the meshds now).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "registry_entries.h"
#include "registry_syntax.h"

int reg_entries_add(struct reg_entries *es, const char *where, const char *key, const char *value,
		    size_t len, const char *read_error, long long mod_revision)
{
	struct reg_entry *e;

	if (es->n == es->cap) {
		unsigned cap = es->cap ? es->cap * 2 : 64;
		struct reg_entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n];
	memset(e, 0, sizeof(*e));
	e->where = strdup(where);
	e->key = strdup(key);
	if (value) {
		e->value = malloc(len + 1);
		if (e->value) {
			memcpy(e->value, value, len);
			e->value[len] = '\0';
		}
	}
	if (read_error)
		e->read_error = strdup(read_error);
	e->mod_revision = mod_revision;
	if (!e->where || !e->key || (value && !e->value) || (read_error && !e->read_error)) {
		free(e->where);
		free(e->key);
		free(e->value);
		free(e->read_error);
		return -1;
	}
	es->n++;
	return 0;
}

void reg_entries_free(struct reg_entries *es)
{
	unsigned i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].where);
		free(es->v[i].key);
		free(es->v[i].value);
		free(es->v[i].read_error);
	}
	free(es->v);
	memset(es, 0, sizeof(*es));
}

const struct reg_entry *reg_entries_find(const struct reg_entries *es, const char *key)
{
	unsigned i;

	for (i = 0; i < es->n; i++)
		if (!strcmp(es->v[i].key, key))
			return &es->v[i];
	return NULL;
}

/* What reg_claim_name_* make: "id-" and digits, or a prefix's characters
 * with '_' for '/'. */
static bool claim_name_valid(const char *s)
{
	if (!strncmp(s, "id-", 3))
		return s[3] && strspn(s + 3, "0123456789") == strlen(s + 3);
	return s[0] && strspn(s, "0123456789abcdef.:_") == strlen(s);
}

enum reg_kind reg_key_parse(const char *key, char *name, size_t namelen, char *name2,
			    size_t name2len)
{
	const char *rest, *slash;

	name[0] = '\0';
	if (name2len)
		name2[0] = '\0';
	if (!strcmp(key, "policy"))
		return REG_K_POLICY;
	if (!strncmp(key, "gateways/", 9)) {
		rest = key + 9;
		if (strlen(rest) >= namelen || strlen(rest) >= REG_NAME_LEN || !reg_gateway_name_valid(rest))
			return REG_K_NONE;
		strcpy(name, rest);
		return REG_K_GATEWAY;
	}
	if (!strncmp(key, "vms/", 4)) {
		rest = key + 4;
		if (strlen(rest) >= namelen || strlen(rest) >= REG_VM_NAME_LEN || !reg_vm_name_valid(rest))
			return REG_K_NONE;
		strcpy(name, rest);
		return REG_K_VM;
	}
	if (!strncmp(key, "claims/", 7)) {
		rest = key + 7;
		slash = strchr(rest, '/');
		if (!slash || (size_t)(slash - rest) >= namelen ||
		    (size_t)(slash - rest) >= REG_NAME_LEN || strlen(slash + 1) >= name2len ||
		    strlen(slash + 1) >= REG_CLAIM_LEN || !claim_name_valid(slash + 1))
			return REG_K_NONE;
		memcpy(name, rest, (size_t)(slash - rest));
		name[slash - rest] = '\0';
		strcpy(name2, slash + 1);
		return reg_gateway_name_valid(name) ? REG_K_CLAIM : REG_K_NONE;
	}
	return REG_K_NONE;
}

bool reg_key_in_layout(const char *key)
{
	return !strncmp(key, "gateways/", 9) || !strncmp(key, "vms/", 4) ||
	       !strncmp(key, "claims/", 7) || !strcmp(key, "policy");
}

bool reg_claim_name_prefix(const char *prefix, char *out, size_t cap)
{
	char text[INET6_ADDRSTRLEN];
	struct reg_pfx p;

	if (!reg_prefix_parse(prefix, &p, NULL, 0) || !inet_ntop(p.af, p.a, text, sizeof(text)))
		return false;
	snprintf(out, cap, "%s_%u", text, p.len);
	return true;
}

void reg_claim_name_id(unsigned id, char *out, size_t cap)
{
	snprintf(out, cap, "id-%u", id);
}

void reg_claims_of(const struct reg_gateway *g, const char *name, struct reg_claims *out)
{
	char cn[REG_CLAIM_LEN];
	unsigned i;

	memset(out, 0, sizeof(*out));
	snprintf(out->owner, sizeof(out->owner), "%s", g ? g->name : name);
	if (!g)
		return;
	reg_claim_name_id(g->id, cn, sizeof(cn));
	snprintf(out->key[0], REG_KEY_LEN, "claims/%s/%s", g->name, cn);
	snprintf(out->what[0], REG_ADDR_LEN, "id %u", g->id);
	out->n = 1;
	for (i = 0; i < g->nprefixes && i < REG_MAX_PREFIXES; i++) {
		if (!reg_claim_name_prefix(g->prefixes[i], cn, sizeof(cn)))
			continue;
		snprintf(out->key[out->n], REG_KEY_LEN, "claims/%s/%s", g->name, cn);
		snprintf(out->what[out->n], REG_ADDR_LEN, "%s", g->prefixes[i]);
		out->n++;
	}
}

bool reg_claims_hold(const struct reg_claims *c, const char *key)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->key[i], key))
			return true;
	return false;
}
