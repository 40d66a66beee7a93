/* SPDX-License-Identifier: MIT */
/*
 * The back-end interface: what the front (registry.c) asks of a back end
 * (registry_dir.c, registry_etcd.c) and the handle they share. A back end
 * reads entries (registry_entries.h) and carries out writes; it may use
 * assembly (registry_assemble.h) to run a write's check across records, and
 * never calls the front. Not for other users: include registry.h.
 */
#ifndef HOPMESH_REGISTRY_IMPL_H
#define HOPMESH_REGISTRY_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "registry.h"
#include "registry_entries.h"

/* A write as the back end carries it out. */
struct reg_write {
	enum reg_kind kind;
	char key[REG_KEY_LEN];               /* relative, as above */
	const char *value;                   /* JSON; NULL deletes the key */
	/* When set, checked against the current gateways and VMs as one step
	 * with the write (the dir back end's lock, an etcd transaction). */
	bool (*check)(const struct reg_snapshot *s, const void *arg, char *why, size_t len);
	const void *arg;
	const char *depends_on;              /* a key that must stay as read (etcd compares it) */
	/* Gateways: the owner's claim keys made to be exactly these, in the
	 * same step. A key already there is kept as it is (its age is the
	 * claim's seniority); a new one gets the next age; the owner's others
	 * are deleted. */
	const struct reg_claims *claims;
	const char *what;                    /* "gateway eu-1": for error messages */
};

struct reg_ops {
	int (*load)(struct registry *r, struct reg_entries *out, char *err, size_t errlen);
	int (*write)(struct registry *r, const struct reg_write *w, char *err, size_t errlen);
	int (*watch_fd)(struct registry *r);
	void (*watch_ack)(struct registry *r);
	void (*close)(struct registry *r);
	int (*compact)(struct registry *r, long long revision, char *err, size_t errlen); /* may be NULL */
	/* May be NULL (every update a full read). kept NULL: a full read is
	 * about to start, forget what the watch brought before it. Else the
	 * changes the watch brought since, applied to kept (the entries of the
	 * last read, changes applied since): 0 applied, 2 none came, 1 they
	 * cannot be (a full read is due), err said or not. */
	int (*follow)(struct registry *r, struct reg_entries *kept, char *err, size_t errlen);
};

struct registry {
	const struct reg_ops *ops;
	void *be;
	pthread_mutex_t mu;                  /* one call at a time per handle */
	unsigned timeout_ms;
	struct reg_entries kept;             /* registry_update's base (ops->follow) */
	bool have_kept;
};

void *reg_dir_open(struct registry *r, const char *path, const struct reg_options *opt, char *err,
		   size_t errlen);
void *reg_etcd_open(struct registry *r, const char *endpoints, const struct reg_options *opt,
		    char *err, size_t errlen);
extern const struct reg_ops reg_dir_ops;
extern const struct reg_ops reg_etcd_ops;

#endif
