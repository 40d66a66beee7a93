/* SPDX-License-Identifier: MIT */
/*
 * What a back end read, before anything is made of it: the stored entries
 * (key, value or why it could not be read), and the key layout that says
 * which kind of record a key holds. Back ends fill a reg_entries; assembly
 * (registry_assemble.h) turns it into a snapshot.
 */
#ifndef HOPMESH_REGISTRY_ENTRIES_H
#define HOPMESH_REGISTRY_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

#define REG_KEY_LEN 160               /* "claims/NAME/CLAIM" and friends */
#define REG_CLAIM_LEN 64              /* a claim's name: "id-5", "10.1.0.0_16" */
#define REG_MAX_CLAIMS (REG_MAX_PREFIXES + 1)

enum reg_kind {
	REG_K_NONE = 0,
	REG_K_GATEWAY,
	REG_K_VM,
	REG_K_POLICY,
	REG_K_CLAIM,
};

/* One stored record as a back end read it. */
struct reg_entry {
	char *where;            /* for problem lines: file path or etcd key */
	char *key;              /* relative: gateways/N, vms/N, policy, claims/N/C */
	char *value;            /* JSON text; NULL when it could not be read */
	char *read_error;       /* why value is NULL */
	long long mod_revision; /* etcd; 0 in the dir back end */
	long long create_revision; /* etcd: when the key was made; 0 in dir */
};

struct reg_entries {
	struct reg_entry *v;
	unsigned n, cap;
	long long revision;     /* etcd: the store's revision of this read */
};

/* Adds a copy of one entry: value (len bytes, NUL-terminated in the copy)
 * or, when value is NULL, read_error. 0, or -1 on no memory. */
int reg_entries_add(struct reg_entries *es, const char *where, const char *key, const char *value,
		    size_t len, const char *read_error, long long mod_revision);
void reg_entries_free(struct reg_entries *es);
const struct reg_entry *reg_entries_find(const struct reg_entries *es, const char *key);

/* Kind of a relative key and its names (name2: a claim's name); REG_K_NONE
 * for keys outside the layout or with a name that is not valid. */
enum reg_kind reg_key_parse(const char *key, char *name, size_t namelen, char *name2,
			    size_t name2len);
/* Does key lie in one of the layout's folders (so a bad name there is worth
 * a problem line, where an unknown top-level key is ignored)? */
bool reg_key_in_layout(const char *key);

/* The claims a gateway record makes: its id and each of its prefixes, one
 * key each, "claims/NAME/id-5", "claims/NAME/10.1.0.0_16" (prefixes in
 * canonical text, '/' made '_'). A claim's key is made once and kept while
 * the record keeps what it claims, so the key's age (etcd's create
 * revision, the dir back end's sequence number) is the claim's seniority:
 * of two clashing claims the older wins, on write and on every read. */
struct reg_claims {
	char owner[REG_NAME_LEN];
	unsigned n;
	char key[REG_MAX_CLAIMS][REG_KEY_LEN];
	char what[REG_MAX_CLAIMS][REG_ADDR_LEN]; /* "id 5" or the prefix, as stored */
};
/* g's claims (g passed reg_gateway_check); owner alone, n = 0, for NULL g
 * and name (a gateway deleted gives up every claim). */
void reg_claims_of(const struct reg_gateway *g, const char *name, struct reg_claims *out);
bool reg_claims_hold(const struct reg_claims *c, const char *key);
/* The claim name of a prefix ("10.1.0.0/16" -> "10.1.0.0_16") or of an id;
 * false when the prefix does not parse. */
bool reg_claim_name_prefix(const char *prefix, char *out, size_t cap);
void reg_claim_name_id(unsigned id, char *out, size_t cap);

#endif
