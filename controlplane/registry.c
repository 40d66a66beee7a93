// SPDX-License-Identifier: MIT
/*
 * The registry's public entry points (registry.h), a thin front over the
 * layers below:
 *
 *   registry_open      picks the back end by the URL's scheme (dir:, etcd:)
 *   registry_load*     the back end reads entries (registry_entries.h),
 *                      registry_assemble.c makes the snapshot
 *   registry_update    the same, but where the back end follows its watch
 *                      (etcd), the entries of the last read are kept here
 *                      and the watch's changes applied to them key by key
 *                      (registry_follow.c) instead of reading it all again
 *   registry_put_*     the record checked on its own (registry_rules.c) and
 *   registry_del_*     made JSON (registry_json.c) here; the back end writes
 *                      it, running the check across records (reg_write.check)
 *                      in one step with the write
 *   registry_watch_*   handed to the back end
 *
 * Each call holds the handle's lock, so one handle serves several threads.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_assemble.h"
#include "registry_base.h"
#include "registry_follow.h"
#include "registry_impl.h"
#include "registry_json.h"
#include "registry_rules.h"
#include "registry_syntax.h"

#define REG_DEFAULT_TIMEOUT_MS 2000

static pthread_once_t jansson_once = PTHREAD_ONCE_INIT;

static void jansson_init(void)
{
	/* seeds jansson's hash function once, before any thread uses it */
	json_object_seed(0);
}

struct registry *registry_open(const char *url, const struct reg_options *opt, char *err,
			       size_t errlen)
{
	static const struct reg_options none;
	struct registry *r;

	if (!opt)
		opt = &none;
	if (!url) {
		reg_err(err, errlen, "no registry URL (dir:PATH or etcd:http://HOST:PORT,...)");
		return NULL;
	}
	pthread_once(&jansson_once, jansson_init);
	r = calloc(1, sizeof(*r));
	if (!r) {
		reg_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->timeout_ms = opt->timeout_ms ? opt->timeout_ms : REG_DEFAULT_TIMEOUT_MS;
	if (!strncmp(url, "dir:", 4)) {
		r->ops = &reg_dir_ops;
		r->be = reg_dir_open(r, url + 4, opt, err, errlen);
	} else if (!strncmp(url, "etcd:", 5)) {
		r->ops = &reg_etcd_ops;
		r->be = reg_etcd_open(r, url + 5, opt, err, errlen);
	} else {
		reg_err(err, errlen,
			"registry URL '%s': expected dir:PATH or etcd:http://HOST:PORT[,...]", url);
	}
	if (!r->be) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	return r;
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	r->ops->close(r);
	reg_entries_free(&r->kept);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int registry_load(struct registry *r, struct reg_snapshot *out, char *err, size_t errlen)
{
	return registry_load_over(r, NULL, out, err, errlen);
}

int registry_load_over(struct registry *r, const struct reg_snapshot *last, struct reg_snapshot *out,
		       char *err, size_t errlen)
{
	struct reg_entries es = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	pthread_mutex_lock(&r->mu);
	rc = r->ops->load(r, &es, err, errlen);
	pthread_mutex_unlock(&r->mu);
	if (rc == 0 && reg_assemble(&es, last, out) < 0) {
		reg_err(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		out->revision = es.revision;
	reg_entries_free(&es);
	return rc;
}

/* A full read, kept as the next update's base when the back end follows
 * its watch. Holds r->mu. */
static int update_full(struct registry *r, const struct reg_snapshot *last,
		       struct reg_snapshot *out, char *err, size_t errlen)
{
	struct reg_entries es = {0};
	int rc;

	reg_entries_free(&r->kept);
	r->have_kept = false;
	if (r->ops->follow)
		r->ops->follow(r, NULL, err, errlen); /* what came before is in the read */
	rc = r->ops->load(r, &es, err, errlen);
	if (rc == 0 && reg_assemble(&es, last, out) < 0) {
		reg_err(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		out->revision = es.revision;
	if (rc == 0 && r->ops->follow && reg_follow_ordered(&es)) {
		r->kept = es;
		r->have_kept = true;
	} else {
		reg_entries_free(&es);
	}
	return rc;
}

int registry_update(struct registry *r, const struct reg_snapshot *last, bool full,
		    struct reg_snapshot *out, bool *was_full, char *err, size_t errlen)
{
	int rc = 1;

	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	*was_full = false;
	pthread_mutex_lock(&r->mu);
	if (!full && r->have_kept && last)
		rc = r->ops->follow(r, &r->kept, err, errlen);
	if (rc == 0 && reg_assemble(&r->kept, last, out) < 0)
		rc = 1; /* no memory: try it whole (it reports) */
	if (rc == 0)
		out->revision = r->kept.revision;
	if (rc == 1) {
		*was_full = true;
		rc = update_full(r, last, out, err, errlen);
	} else if (rc == 2) {
		rc = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

bool registry_follows(const struct registry *r)
{
	return r->ops->follow != NULL;
}

static int do_write(struct registry *r, struct reg_write *w, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = r->ops->write(r, w, err, errlen);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static bool fits_gateway(const struct reg_snapshot *s, const void *arg, char *why, size_t len)
{
	return reg_gateway_fits(s, arg, why, len);
}

static bool fits_vm(const struct reg_snapshot *s, const void *arg, char *why, size_t len)
{
	return reg_vm_fits(s, arg, why, len);
}

static bool unused_gateway(const struct reg_snapshot *s, const void *arg, char *why,
			   size_t len)
{
	return reg_gateway_unused(s, arg, why, len);
}

int registry_put_gateway(struct registry *r, const struct reg_gateway *g, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_GATEWAY, .check = fits_gateway, .arg = g};
	struct reg_claims claims;
	char what[64];
	int rc;

	if (!reg_gateway_check(g, err, errlen))
		return -1;
	reg_claims_of(g, NULL, &claims);
	w.claims = &claims;
	snprintf(w.key, sizeof(w.key), "gateways/%s", g->name);
	snprintf(what, sizeof(what), "gateway %s", g->name);
	w.what = what;
	w.value = reg_gateway_json(g);
	if (!w.value) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = do_write(r, &w, err, errlen);
	free((char *)w.value);
	return rc;
}

int registry_del_gateway(struct registry *r, const char *name, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_GATEWAY, .check = unused_gateway, .arg = name};
	struct reg_claims claims;
	char what[64];

	if (!name || strlen(name) >= REG_NAME_LEN || !reg_gateway_name_valid(name)) {
		reg_err(err, errlen, "gateway name '%.40s' is not valid", name ? name : "(null)");
		return -1;
	}
	reg_claims_of(NULL, name, &claims);
	w.claims = &claims;
	snprintf(w.key, sizeof(w.key), "gateways/%s", name);
	snprintf(what, sizeof(what), "gateway %s", name);
	w.what = what;
	return do_write(r, &w, err, errlen);
}

int registry_put_vm(struct registry *r, const struct reg_vm *vm, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_VM, .check = fits_vm, .arg = vm};
	char what[96], dep[REG_KEY_LEN];
	int rc;

	if (!reg_vm_check(vm, err, errlen))
		return -1;
	snprintf(w.key, sizeof(w.key), "vms/%s", vm->name);
	snprintf(dep, sizeof(dep), "gateways/%s", vm->gateway);
	snprintf(what, sizeof(what), "vm %s", vm->name);
	w.what = what;
	w.depends_on = dep;
	w.value = reg_vm_json(vm);
	if (!w.value) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = do_write(r, &w, err, errlen);
	free((char *)w.value);
	return rc;
}

int registry_del_vm(struct registry *r, const char *name, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_VM};
	char what[96];

	if (!name || strlen(name) >= REG_VM_NAME_LEN || !reg_vm_name_valid(name)) {
		reg_err(err, errlen, "vm name '%.70s' is not valid", name ? name : "(null)");
		return -1;
	}
	snprintf(w.key, sizeof(w.key), "vms/%s", name);
	snprintf(what, sizeof(what), "vm %s", name);
	w.what = what;
	return do_write(r, &w, err, errlen);
}

int registry_put_policy(struct registry *r, const struct reg_policy *p, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_POLICY, .what = "policy"};
	int rc;

	if (!reg_policy_check(p, err, errlen))
		return -1;
	snprintf(w.key, sizeof(w.key), "policy");
	w.value = reg_policy_json(p);
	if (!w.value) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = do_write(r, &w, err, errlen);
	free((char *)w.value);
	return rc;
}

int registry_compact(struct registry *r, long long revision, char *err, size_t errlen)
{
	int rc = 0;

	if (!r->ops->compact || revision <= 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	rc = r->ops->compact(r, revision, err, errlen);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int registry_watch_fd(struct registry *r)
{
	int fd;

	pthread_mutex_lock(&r->mu);
	fd = r->ops->watch_fd(r);
	pthread_mutex_unlock(&r->mu);
	return fd;
}

void registry_watch_ack(struct registry *r)
{
	pthread_mutex_lock(&r->mu);
	r->ops->watch_ack(r);
	pthread_mutex_unlock(&r->mu);
}
