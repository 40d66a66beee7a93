/* SPDX-License-Identifier: MIT */
/*
 * The service registry: the mesh's configuration (gateways, VMs, policy, and
 * the claims that settle who owns what), behind one interface with two back
 * ends:
 *
 *   dir:/var/lib/hopmesh/registry          embedded: files in one directory,
 *                                          safe under concurrent writers (lock
 *                                          plus atomic rename), watched with
 *                                          inotify
 *   etcd:http://10.0.0.1:2379,http://...   etcd v3 through its JSON gateway,
 *                                          with watch
 *
 * Records are JSON, one per key, the same in both (docs/REGISTRY.md):
 *   /hopmesh/gateways/NAME   /hopmesh/vms/NAME   /hopmesh/policy
 *   /hopmesh/claims/NAME/... (a gateway's id and prefixes, made with its
 *                            record: their age settles clashes, never names)
 *
 * Link measurements are not in the registry: they travel between the meshds
 * (docs/PROTOCOL.md, "Link state"). Keys outside this layout, such as the
 * links/FROM/TO an earlier version wrote, are ignored.
 *
 * Public keys only: no record has a place for a private key, and a record
 * that carries one anyway is refused as corrupt. Entries that do not parse or
 * do not validate are skipped and reported (reg_snapshot.problems), never
 * fatal: one bad entry must not stop the mesh.
 */
#ifndef HOPMESH_REGISTRY_H
#define HOPMESH_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REG_NAME_LEN 32       /* names: [a-z0-9-], 1..31 characters */
#define REG_VM_NAME_LEN 64
#define REG_ADDR_LEN 48       /* an address or a prefix in text */
#define REG_ENDPOINT_LEN 64   /* "1.2.3.4:51820" or "[2001:db8::1]:51820" */
#define REG_MAX_PREFIXES 16
#define REG_MAX_GATEWAY_ID 4095

struct reg_gateway {
	char name[REG_NAME_LEN];
	uint16_t id;                       /* 1..4095, unique */
	char region[REG_NAME_LEN];
	char zone[16];                     /* residency zone; "" none */
	uint8_t public_key[32];
	char endpoint4[REG_ENDPOINT_LEN];  /* "" none; at least one of the two */
	char endpoint6[REG_ENDPOINT_LEN];
	char overlay4[REG_ADDR_LEN];       /* the gateway's VM-side addresses */
	char overlay6[REG_ADDR_LEN];
	unsigned nprefixes;                /* the VM prefixes behind it; no two */
	char prefixes[REG_MAX_PREFIXES][REG_ADDR_LEN]; /* gateways' may overlap */
};

struct reg_vm {
	char name[REG_VM_NAME_LEN];
	char address[REG_ADDR_LEN];        /* inside its gateway's prefixes */
	char gateway[REG_NAME_LEN];
};

struct reg_policy {
	unsigned hop_limit;                /* 1..8, default 2 */
	bool residency;                    /* zone traffic stays in its zone */
	double loss_penalty_ms;            /* see topology.h; default 1000 */
};

struct reg_snapshot {
	struct reg_gateway *gateways;
	unsigned ngateways;
	struct reg_vm *vms;
	unsigned nvms;
	struct reg_policy policy;          /* defaults when none is stored */
	char **problems;                   /* one line per entry skipped, and why */
	unsigned nproblems;
	long long revision;                /* etcd: the store's revision read; dir: 0 */
};

struct reg_options {
	const char *ca_file;               /* etcd over https: CA, client cert, key */
	const char *cert_file;
	const char *key_file;
	const char *username;              /* etcd authentication */
	const char *password;
	unsigned timeout_ms;               /* per request; default 2000 */
	/* dir: how long a writer waits for the lock before it gives up with an
	 * error; 0 is 10 s (meshctl: other writers' fsyncs queue up). Readers
	 * never take it. */
	unsigned lock_wait_ms;
};

struct registry;

struct registry *registry_open(const char *url, const struct reg_options *opt, char *err,
			       size_t errlen);
void registry_close(struct registry *r);

/* Everything, validated. 0, or -1 with err when the registry is unreachable
 * (callers keep their last good state). */
int registry_load(struct registry *r, struct reg_snapshot *out, char *err, size_t errlen);
/* The same for a reader that holds a last good snapshot (meshd): a record
 * whose entry turned corrupt keeps its last good version (with a problem
 * line), and between unclaimed records those in it win, so that a bad write
 * straight into the store changes nothing in use. */
int registry_load_over(struct registry *r, const struct reg_snapshot *last, struct reg_snapshot *out,
		       char *err, size_t errlen);
/* registry_load_over for a reader that follows the registry (meshd's
 * registry thread, the handle's only reader): where the back end can
 * (etcd), the changes its watch delivered since the last call are applied
 * key by key to the entries that call ended with and the snapshot made of
 * them, which is what a full read at that revision gives; a full read when
 * there is no such base (the first call, a watch that broke, was made again
 * or fell behind a compaction, an error), when full is set, and always in
 * the dir back end. *was_full says which it was. 0 with out filled, 1 when
 * nothing changed (out empty: keep last), -1 with err as registry_load.
 * last is needed for the incremental path (NULL: a full read). */
int registry_update(struct registry *r, const struct reg_snapshot *last, bool full,
		    struct reg_snapshot *out, bool *was_full, char *err, size_t errlen);
/* Does registry_update follow a watch (so full reads may be rare)? */
bool registry_follows(const struct registry *r);
void reg_snapshot_free(struct reg_snapshot *s);
/* A deep copy: 0, or -1 on no memory (out then empty). */
int reg_snapshot_dup(const struct reg_snapshot *s, struct reg_snapshot *out);

/* Writes: 0, or -1 with err (unreachable, or a record that does not validate:
 * bad key, bad prefix, overlapping prefixes, unknown gateway, duplicate id). */
int registry_put_gateway(struct registry *r, const struct reg_gateway *g, char *err, size_t errlen);
int registry_del_gateway(struct registry *r, const char *name, char *err, size_t errlen);
int registry_put_vm(struct registry *r, const struct reg_vm *vm, char *err, size_t errlen);
int registry_del_vm(struct registry *r, const char *name, char *err, size_t errlen);
int registry_put_policy(struct registry *r, const struct reg_policy *p, char *err, size_t errlen);

/* etcd: drops the history of every key older than revision (a snapshot's
 * revision, read a while ago: watchers that far behind reload anyway). A
 * revision compacted already is no error. dir: nothing to do, 0. */
int registry_compact(struct registry *r, long long revision, char *err, size_t errlen);

/* Change notification: the fd becomes readable when the registry may have
 * changed (or, for etcd, when the watch broke and a reload is due);
 * registry_watch_ack() consumes that. Spurious wake-ups are allowed. */
int registry_watch_fd(struct registry *r);
void registry_watch_ack(struct registry *r);

/* Validation, shared by meshctl (before writing) and the loader (after
 * reading); why says what is wrong in one line. */
bool reg_gateway_check(const struct reg_gateway *g, char *why, size_t len);
bool reg_vm_check(const struct reg_vm *vm, char *why, size_t len);
bool reg_policy_check(const struct reg_policy *p, char *why, size_t len);
void reg_policy_default(struct reg_policy *p);
/* Across records: ids unique, prefixes not overlapping, VMs inside their
 * gateway's prefixes. Checks candidate against the snapshot (as if added). */
bool reg_gateway_fits(const struct reg_snapshot *s, const struct reg_gateway *g, char *why, size_t len);
bool reg_vm_fits(const struct reg_snapshot *s, const struct reg_vm *vm, char *why, size_t len);

/* JSON text of records (malloc'd), as stored and as meshctl --json prints. */
char *reg_gateway_json(const struct reg_gateway *g);
char *reg_vm_json(const struct reg_vm *vm);
char *reg_policy_json(const struct reg_policy *p);

#endif
