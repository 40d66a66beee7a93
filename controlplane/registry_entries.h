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

#define REG_KEY_LEN 160               /* "links/FROM/TO" and friends */

enum reg_kind {
	REG_K_NONE = 0,
	REG_K_GATEWAY,
	REG_K_VM,
	REG_K_POLICY,
	REG_K_LINK,
};

/* One stored record as a back end read it. */
struct reg_entry {
	char *where;            /* for problem lines: file path or etcd key */
	char *key;              /* relative: gateways/N, vms/N, policy, links/F/T */
	char *value;            /* JSON text; NULL when it could not be read */
	char *read_error;       /* why value is NULL */
	long long mod_revision; /* etcd; 0 in the dir back end */
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

/* Kind of a relative key and its names (name2: a link's TO); REG_K_NONE for
 * keys outside the layout or with a name that is not valid. */
enum reg_kind reg_key_parse(const char *key, char *name, size_t namelen, char *name2,
			    size_t name2len);
/* Does key lie in one of the layout's folders (so a bad name there is worth
 * a problem line, where an unknown top-level key is ignored)? */
bool reg_key_in_layout(const char *key);

#endif
