/* SPDX-License-Identifier: MIT */
/*
 * Inside the registry: what registry.c (validation, JSON, snapshot assembly)
 * shares with the two back ends (registry_dir.c, registry_etcd.c). Not for
 * other users: include registry.h.
 */
#ifndef HOPMESH_REGISTRY_IMPL_H
#define HOPMESH_REGISTRY_IMPL_H

#include <pthread.h>

#include "registry.h"

#define REG_PREFIX "/hopmesh/"        /* etcd key prefix */
#define REG_MAX_RECORD (64 * 1024)    /* larger stored values are refused */
#define REG_KEY_LEN 160               /* "links/FROM/TO" and friends */
#define REG_DEFAULT_TIMEOUT_MS 2000

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

int reg_entries_add(struct reg_entries *es, const char *where, const char *key, const char *value,
		    size_t len, const char *read_error, long long mod_revision);
void reg_entries_free(struct reg_entries *es);
const struct reg_entry *reg_entries_find(const struct reg_entries *es, const char *key);

/* Builds a snapshot out of what was read: each entry parsed and checked,
 * then across entries (gateways by name, those in last first: a later one
 * whose id or prefixes clash with an earlier one is skipped; VMs outside
 * their gateway or with a taken address are skipped), links whose
 * expires_unix_ms is past left out when expiry is true (dir back end). A
 * gateway or VM of last whose entry turned corrupt keeps last's version.
 * last may be NULL. Never fails but on memory. */
int reg_assemble(const struct reg_entries *es, bool expiry, uint64_t now_unix_ms,
		 const struct reg_snapshot *last, struct reg_snapshot *out);

/* Kind of a relative key and its names; false for keys outside the layout. */
enum reg_kind reg_key_parse(const char *key, char *name, size_t namelen, char *name2,
			    size_t name2len);

/* A write as the back end carries it out. */
struct reg_write {
	enum reg_kind kind;
	char key[REG_KEY_LEN];               /* relative, as above */
	const char *value;                   /* JSON; NULL deletes the key */
	const struct reg_link *link;         /* links: the back end encodes */
	unsigned lease_s;                    /* links */
	/* When set, checked against the current gateways and VMs as one step
	 * with the write (the dir back end's lock, an etcd transaction). */
	bool (*check)(const struct reg_snapshot *s, const void *arg, char *why, size_t len);
	const void *arg;
	const char *depends_on;              /* a key that must stay as read (etcd compares it) */
	const char *what;                    /* "gateway eu-1": for error messages */
};

struct reg_ops {
	int (*load)(struct registry *r, struct reg_entries *out, char *err, size_t errlen);
	int (*write)(struct registry *r, const struct reg_write *w, char *err, size_t errlen);
	int (*watch_fd)(struct registry *r);
	void (*watch_ack)(struct registry *r);
	void (*close)(struct registry *r);
	bool expiry;                         /* links carry expires_unix_ms */
};

struct registry {
	const struct reg_ops *ops;
	void *be;
	pthread_mutex_t mu;                  /* one call at a time per handle */
	unsigned timeout_ms;
};

void *reg_dir_open(struct registry *r, const char *path, const struct reg_options *opt, char *err,
		   size_t errlen);
void *reg_etcd_open(struct registry *r, const char *endpoints, const struct reg_options *opt,
		    char *err, size_t errlen);
extern const struct reg_ops reg_dir_ops;
extern const struct reg_ops reg_etcd_ops;

/* The link record with its expiry (0: none), as the dir back end stores it. */
char *reg_link_json_expiring(const struct reg_link *l, uint64_t expires_unix_ms);

/* A stored link record; expires is -1 when it has no expires_unix_ms. */
bool reg_link_parse(const char *text, struct reg_link *l, long long *expires, char *why,
		    size_t len);

/* Standard base64 with padding. Encode returns a malloc'd string; decode
 * returns the length or -1 (strict: no spaces, canonical padding). */
char *reg_b64_encode(const void *data, size_t len);
long reg_b64_decode(const char *text, size_t textlen, void *out, size_t outcap);

uint64_t reg_now_unix_ms(void);
uint64_t reg_mono_ms(void);
void reg_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
