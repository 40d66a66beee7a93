// SPDX-License-Identifier: MIT
/*
 * The registry on etcd v3: its JSON API (range, put, deleterange, txn,
 * compaction, watch) spoken over etcd_http.c, which carries the requests
 * (endpoints and failover, TLS, authentication).
 *
 * Keys are REG_PREFIX + the relative key (/hopmesh/gateways/NAME, ...), the
 * values the records' JSON; the API carries both in base64
 * (registry_codec.c) and int64 figures as strings. Reads are one range over
 * /hopmesh/ (paged, all pages at the first page's revision; a new gateway's
 * write reads only gateways/ and claims/, at one revision); keys under it
 * outside the layout, such as an earlier version's links/FROM/TO (put under
 * leases, so gone seconds after the meshd that put them stops), are read and
 * passed over by assembly. Writes that need checks across records
 * (gateways, VM puts, gateway deletes) read the store, check
 * (registry_assemble.c, then the write's check), and write in one
 * transaction that holds only if no gateway, VM or claim key was created or
 * changed since that read (and, for a VM, its gateway is still there);
 * otherwise they read and check again. A gateway's transaction also puts its
 * new claim keys and deletes the ones it gave up; a claim key already there
 * is left alone, so its create revision stays the claim's seniority.
 *
 * The watch (started by the first registry_watch_fd) is a stream
 * (etcd_stream_run) of /v3/watch in a thread of its own: each event, each
 * (re)connection and each break of the stream writes the eventfd; it
 * reconnects with backoff (0.1 s doubling to 1 s), the stream moving to the
 * next endpoint when one does not answer.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "etcd_http.h"
#include "registry_assemble.h"
#include "registry_base.h"
#include "registry_codec.h"
#include "registry_follow.h"
#include "registry_impl.h"
#include "registry_json.h"

#define REG_PREFIX "/hopmesh/"
#define PAGE_LIMIT 2000
#define TXN_TRIES 16
#define WATCH_BACKOFF_MIN_MS 100
#define WATCH_BACKOFF_MAX_MS 1000 /* a change is seen within 1 s of etcd returning */
/* Changes held for a reader that does not take them (one that never asks,
 * or is busy in a long read): past this, a full read is cheaper. */
#define WATCH_MAX_PENDING 100000

struct reg_etcd {
	struct etcd_http *http;

	int efd;
	bool thread_started;
	pthread_t thread;
	struct etcd_stream *stream; /* the watch's */

	pthread_mutex_t qmu;        /* guards what follows, shared with the watch */
	struct reg_entries pending; /* changes since the reader last took them */
	bool resync;                /* they do not follow on from its last read */
	bool watch_dead;            /* no watch will run: every read a full one */
};

/* ---- JSON bits of the v3 API ---- */

/* int64 fields come as strings ("revision":"12"); absent is 0. */
static long long num(json_t *o, const char *k)
{
	json_t *v = o ? json_object_get(o, k) : NULL;

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

static json_t *b64(const void *data, size_t len)
{
	char *s = reg_b64_encode(data, len);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

static json_t *b64s(const char *s)
{
	return b64(s, strlen(s));
}

static json_t *numstr(long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	return json_string(s);
}

/* "/hopmesh/" + rel; end: the key just past the prefix rel (for ranges). */
static void full_key(char *out, size_t cap, const char *rel, bool end)
{
	size_t n;

	snprintf(out, cap, "%s%s", REG_PREFIX, rel);
	n = strlen(out);
	if (end && n)
		out[n - 1]++;
}

/* The bytes a base64 field of the API stands for, NUL-terminated, in a
 * buffer of their own; NULL when it is not base64 (or on no memory). */
static char *unb64(json_t *v, size_t *len)
{
	size_t cap = json_string_length(v) / 4 * 3;
	char *out = malloc(cap + 1);
	long n;

	if (!out)
		return NULL;
	n = reg_b64_decode(json_string_value(v), json_string_length(v), out, cap);
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

/* The value of one kv as an entry: the JSON text, or why there is none. An
 * absent value is an empty one (proto3 leaves empty fields out). */
static int add_value(struct reg_entries *es, const char *key, json_t *kv)
{
	json_t *jv = json_object_get(kv, "value");
	const char *rel = key + strlen(REG_PREFIX), *rerr = NULL;
	long long rev = num(kv, "mod_revision");
	char *val = NULL;
	size_t vlen = 0;
	int rc;

	if (!jv) {
		rc = reg_entries_add(es, key, rel, "", 0, NULL, rev);
		if (rc == 0)
			es->v[es->n - 1].create_revision = num(kv, "create_revision");
		return rc;
	}
	if (!json_is_string(jv))
		rerr = "value is not a string in the answer";
	else if (json_string_length(jv) / 4 * 3 > REG_MAX_RECORD + 2) /* + padding */
		rerr = "value larger than the registry's record limit";
	else if (!(val = unb64(jv, &vlen)))
		rerr = "value is not base64";
	else if (memchr(val, '\0', vlen))
		rerr = "value contains a NUL byte";
	rc = reg_entries_add(es, key, rel, rerr ? NULL : val, rerr ? 0 : vlen, rerr, rev);
	free(val);
	if (rc == 0)
		es->v[es->n - 1].create_revision = num(kv, "create_revision");
	return rc;
}

/* One page of the range: its kvs added to es, *next set to where the next
 * page starts (just past the last key: the key and a NUL byte). Keys outside
 * the prefix or with a NUL in them are passed over; a key of any length is
 * paged past, so one odd key cannot make the registry unreadable. */
static int add_page(struct reg_entries *es, json_t *kvs, char **next, size_t *nextlen, char *err,
		    size_t errlen)
{
	json_t *kv;
	size_t i;

	json_array_foreach(kvs, i, kv) {
		json_t *jk = json_object_get(kv, "key");
		size_t klen;
		char *key;

		if (!json_is_string(jk))
			continue;
		key = unb64(jk, &klen);
		if (!key) {
			reg_err(err, errlen, "etcd: a key in the answer is not base64");
			return -1;
		}
		free(*next);
		*next = key;        /* key[klen] is the NUL of the next start */
		*nextlen = klen + 1;
		if (strlen(key) != klen || strncmp(key, REG_PREFIX, strlen(REG_PREFIX)))
			continue;
		if (add_value(es, key, kv) < 0) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static json_t *range_request(const char *from, size_t fromlen, const char *end, long long rev)
{
	json_t *req = json_pack("{s:o, s:o, s:o}", "key", b64(from, fromlen), "range_end", b64s(end),
				"limit", numstr(PAGE_LIMIT));

	if (req && rev && json_object_set_new(req, "revision", numstr(rev))) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* A range over the keys under rel ("" the whole registry), all pages at
 * es->revision, or at the first page's when that is still 0: a second
 * range into the same es reads at the revision of the first. */
static int etcd_range_under(struct reg_etcd *e, struct reg_entries *es, const char *rel, char *err,
			    size_t errlen)
{
	char end[REG_KEY_LEN + 16], start[REG_KEY_LEN + 16], *from;
	size_t fromlen;
	int rc = -1;

	full_key(start, sizeof(start), rel, false);
	full_key(end, sizeof(end), rel, true);
	from = strdup(start);
	fromlen = strlen(start);
	while (from) {
		json_t *req = range_request(from, fromlen, end, es->revision), *resp, *kvs;
		bool more;

		if (!req) {
			reg_err(err, errlen, "out of memory");
			break;
		}
		rc = etcd_http_call(e->http, "/v3/kv/range", req, &resp, err, errlen);
		json_decref(req);
		if (rc < 0)
			break;
		if (!es->revision)
			es->revision = num(json_object_get(resp, "header"), "revision");
		kvs = json_object_get(resp, "kvs");
		more = json_is_true(json_object_get(resp, "more")) && json_array_size(kvs);
		rc = add_page(es, kvs, &from, &fromlen, err, errlen);
		json_decref(resp);
		if (rc < 0 || !more)
			break;
		rc = -1;
	}
	if (rc < 0 && !from)
		reg_err(err, errlen, "out of memory");
	free(from);
	return rc;
}

static int etcd_range(struct reg_etcd *e, struct reg_entries *es, char *err, size_t errlen)
{
	return etcd_range_under(e, es, "", err, errlen);
}

/* What a write's check needs, at one revision. A new gateway is checked
 * against the other gateways and their claims only (reg_gateway_fits
 * looks at VMs only for the one it replaces), so at scale its write reads
 * a few hundred keys, not every VM; anything else reads everything. */
static int write_read(struct reg_etcd *e, const struct reg_write *w, struct reg_entries *es,
		      char *err, size_t errlen)
{
	if (w->kind != REG_K_GATEWAY || !w->value)
		return etcd_range(e, es, err, errlen);
	if (etcd_range_under(e, es, "gateways/", err, errlen) < 0 ||
	    etcd_range_under(e, es, "claims/", err, errlen) < 0)
		return -1;
	if (reg_entries_find(es, w->key)) /* a replacement: its VMs must stay inside */
		return etcd_range_under(e, es, "vms/", err, errlen);
	return 0;
}

static int etcd_load(struct registry *r, struct reg_entries *out, char *err, size_t errlen)
{
	return etcd_range(r->be, out, err, errlen);
}

/* ---- writes ---- */

static json_t *compare_range_unchanged(const char *rel, long long rev)
{
	char from[REG_KEY_LEN + 16], end[REG_KEY_LEN + 16];

	full_key(from, sizeof(from), rel, false);
	full_key(end, sizeof(end), rel, true);
	return json_pack("{s:o, s:o, s:s, s:s, s:o}", "key", b64s(from), "range_end", b64s(end),
			 "target", "MOD", "result", "LESS", "mod_revision", numstr(rev + 1));
}

static json_t *op_put(const char *rel, const char *value)
{
	char key[REG_KEY_LEN + 16];

	full_key(key, sizeof(key), rel, false);
	return json_pack("{s:{s:o, s:o}}", "request_put", "key", b64s(key), "value", b64s(value));
}

static json_t *op_delete(const char *rel)
{
	char key[REG_KEY_LEN + 16];

	full_key(key, sizeof(key), rel, false);
	return json_pack("{s:{s:o}}", "request_delete_range", "key", b64s(key));
}

/* The claim operations of a gateway's write, after its own operation: the
 * new claims put, those given up deleted. -1 on no memory. */
static int claim_ops(json_t *ops, const struct reg_claims *c, const struct reg_entries *es,
		     bool put)
{
	char prefix[REG_KEY_LEN];
	unsigned i;

	for (i = 0; put && i < c->n; i++) {
		char *text;

		if (reg_entries_find(es, c->key[i]))
			continue;
		text = reg_claim_json(c->owner, c->what[i], 0);
		if (!text || json_array_append_new(ops, op_put(c->key[i], text))) {
			free(text);
			return -1;
		}
		free(text);
	}
	snprintf(prefix, sizeof(prefix), "claims/%s/", c->owner);
	for (i = 0; i < es->n; i++)
		if (!strncmp(es->v[i].key, prefix, strlen(prefix)) &&
		    !reg_claims_hold(c, es->v[i].key) &&
		    json_array_append_new(ops, op_delete(es->v[i].key)))
			return -1;
	return 0;
}

static int write_checked(struct reg_etcd *e, const struct reg_write *w, char *err, size_t errlen)
{
	char why[400];
	unsigned attempt;

	for (attempt = 0; attempt < TXN_TRIES; attempt++) {
		struct reg_entries es = {0};
		struct reg_snapshot s;
		json_t *req, *cmp, *ops, *resp;
		bool ok;
		int rc;

		if (write_read(e, w, &es, err, errlen) < 0) {
			reg_entries_free(&es);
			return -1;
		}
		if (reg_assemble(&es, NULL, &s) < 0) {
			reg_entries_free(&es);
			reg_err(err, errlen, "out of memory");
			return -1;
		}
		ok = w->check(&s, w->arg, why, sizeof(why));
		reg_snapshot_free(&s);
		if (!ok) {
			reg_entries_free(&es);
			reg_err(err, errlen, "%s", why);
			return -1;
		}
		cmp = json_array();
		json_array_append_new(cmp, compare_range_unchanged("gateways/", es.revision));
		json_array_append_new(cmp, compare_range_unchanged("vms/", es.revision));
		json_array_append_new(cmp, compare_range_unchanged("claims/", es.revision));
		if (w->depends_on) {
			const struct reg_entry *d = reg_entries_find(&es, w->depends_on);
			char dkey[REG_KEY_LEN + 16];

			full_key(dkey, sizeof(dkey), w->depends_on, false);
			json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:o}", "key",
							     b64s(dkey), "target", "MOD", "result",
							     "EQUAL", "mod_revision",
							     numstr(d ? d->mod_revision : 0)));
		}
		ops = json_array();
		if (ops)
			json_array_append_new(ops, w->value ? op_put(w->key, w->value) : op_delete(w->key));
		if (ops && w->claims && claim_ops(ops, w->claims, &es, w->value) < 0) {
			json_decref(ops);
			ops = NULL;
		}
		reg_entries_free(&es);
		if (!ops)
			json_decref(cmp);
		/* "o" takes both references, on failure too */
		req = ops ? json_pack("{s:o, s:o}", "compare", cmp, "success", ops) : NULL;
		if (!req) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
		rc = etcd_http_call(e->http, "/v3/kv/txn", req, &resp, err, errlen);
		json_decref(req);
		if (rc < 0)
			return -1;
		if (json_is_true(json_object_get(resp, "succeeded"))) {
			json_t *r0 = json_array_get(json_object_get(resp, "responses"), 0);
			bool gone = !w->value &&
				    num(json_object_get(r0, "response_delete_range"), "deleted") == 0;

			json_decref(resp);
			if (gone) {
				reg_err(err, errlen, "%s not found", w->what);
				return -1;
			}
			return 0;
		}
		json_decref(resp); /* changed under us: read and check again */
	}
	reg_err(err, errlen, "%s: the registry kept changing during %d attempts; try again", w->what,
		TXN_TRIES);
	return -1;
}

static int put_plain(struct reg_etcd *e, const char *key, const char *value, char *err,
		     size_t errlen)
{
	json_t *req = json_pack("{s:o, s:o}", "key", b64s(key), "value", b64s(value)), *resp;
	int rc;

	if (!req) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = etcd_http_call(e->http, "/v3/kv/put", req, &resp, err, errlen);
	json_decref(req);
	json_decref(resp);
	return rc;
}

static int etcd_write(struct registry *r, const struct reg_write *w, char *err, size_t errlen)
{
	struct reg_etcd *e = r->be;
	char key[REG_KEY_LEN + 16];

	if (w->check)
		return write_checked(e, w, err, errlen);
	full_key(key, sizeof(key), w->key, false);
	if (w->value)
		return put_plain(e, key, w->value, err, errlen);

	json_t *req = json_pack("{s:o}", "key", b64s(key)), *resp;
	int rc;

	if (!req) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = etcd_http_call(e->http, "/v3/kv/deleterange", req, &resp, err, errlen);
	json_decref(req);
	if (rc == 0 && num(resp, "deleted") == 0) {
		reg_err(err, errlen, "%s not found", w->what);
		rc = -1;
	}
	json_decref(resp);
	return rc;
}

static int etcd_compact(struct registry *r, long long revision, char *err, size_t errlen)
{
	struct reg_etcd *e = r->be;
	json_t *req = json_pack("{s:o}", "revision", numstr(revision)), *resp;
	int rc;

	if (!req) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = etcd_http_call(e->http, "/v3/kv/compaction", req, &resp, err, errlen);
	json_decref(req);
	json_decref(resp);
	if (rc < 0 && strstr(err, "has been compacted"))
		return 0; /* another did it first */
	return rc;
}

/* ---- watch ---- */

static void signal_change(struct reg_etcd *e)
{
	uint64_t one = 1;
	ssize_t rc = write(e->efd, &one, sizeof(one));

	(void)rc; /* EAGAIN: the counter is full, a wake-up is pending anyway */
}

static void mark_resync(struct reg_etcd *e)
{
	pthread_mutex_lock(&e->qmu);
	e->resync = true;
	reg_entries_free(&e->pending);
	pthread_mutex_unlock(&e->qmu);
}

/* One event as a change (registry_follow.h): a put's value checked as a
 * read's is (add_value), a delete without one. Keys outside the prefix or
 * with a NUL are passed over, as a read passes them over. -1 on no memory
 * or a key that is not base64. */
static int queue_event(struct reg_entries *q, json_t *ev)
{
	json_t *kv = json_object_get(ev, "kv"), *type = json_object_get(ev, "type");
	json_t *jk = json_object_get(kv, "key");
	size_t klen;
	char *key;
	int rc = 0;

	if (!json_is_string(jk) || !(key = unb64(jk, &klen)))
		return -1;
	if (strlen(key) != klen || strncmp(key, REG_PREFIX, strlen(REG_PREFIX))) {
		free(key); /* as a read passes it over */
		return 0;
	}
	if (json_is_string(type) && !strcmp(json_string_value(type), "DELETE")) {
		rc = reg_entries_add(q, key, key + strlen(REG_PREFIX), NULL, 0, NULL,
				     num(kv, "mod_revision"));
	} else {
		rc = add_value(q, key, kv);
	}
	free(key);
	return rc;
}

/* A watch answer's events queued for the reader, in order; anything odd
 * (no memory, a bad key, too many held) makes a full read due instead. */
static void queue_events(struct reg_etcd *e, json_t *events)
{
	json_t *ev;
	size_t i;

	pthread_mutex_lock(&e->qmu);
	if (!e->resync) {
		json_array_foreach(events, i, ev) {
			if (e->pending.n >= WATCH_MAX_PENDING || queue_event(&e->pending, ev) < 0) {
				e->resync = true;
				reg_entries_free(&e->pending);
				break;
			}
		}
	}
	pthread_mutex_unlock(&e->qmu);
}

/* The reader's side (reg_ops.follow): kept NULL, a full read is about to
 * start: what is queued is older than it. Else the queued changes applied
 * to kept; 1 when they cannot be (the watch broke or was made again since
 * the read kept came from, or apply ran out of memory). */
static int etcd_follow(struct registry *r, struct reg_entries *kept, char *err, size_t errlen)
{
	struct reg_etcd *e = r->be;
	struct reg_entries q;
	bool resync;
	int rc;

	pthread_mutex_lock(&e->qmu);
	resync = e->resync || !kept || !e->thread_started || e->watch_dead;
	e->resync = false;
	q = e->pending;
	memset(&e->pending, 0, sizeof(e->pending));
	pthread_mutex_unlock(&e->qmu);
	if (resync) {
		reg_entries_free(&q);
		return 1;
	}
	if (!q.n)
		return 2;
	rc = reg_follow_apply(kept, &q);
	reg_entries_free(&q);
	if (rc < 0) {
		reg_err(err, errlen, "out of memory applying the watch's changes");
		return 1;
	}
	return 0;
}

/* One message of the watch stream. */
static enum etcd_stream_verdict watch_message(void *arg, json_t *o)
{
	struct reg_etcd *e = arg;
	json_t *res;

	if (json_object_get(o, "error")) {
		const char *why = etcd_http_answer_error(o, "");

		return strstr(why, "auth token") || strstr(why, "user name") ? ETCD_STREAM_AUTH
									      : ETCD_STREAM_END;
	}
	res = json_object_get(o, "result");
	if (json_is_true(json_object_get(res, "canceled"))) {
		json_t *reason = json_object_get(res, "cancel_reason");

		return json_is_string(reason) && strstr(json_string_value(reason), "auth")
			       ? ETCD_STREAM_AUTH
			       : ETCD_STREAM_END;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		mark_resync(e); /* changes while we were away: reload */
		signal_change(e);
		return ETCD_STREAM_LIVE;
	}
	if (json_array_size(json_object_get(res, "events"))) {
		queue_events(e, json_object_get(res, "events"));
		signal_change(e);
	}
	return ETCD_STREAM_MORE;
}

static void *watch_main(void *arg)
{
	struct reg_etcd *e = arg;
	unsigned backoff = WATCH_BACKOFF_MIN_MS;
	char body[512], from[64], end[64];
	char *kb, *eb;

	full_key(from, sizeof(from), "", false);
	full_key(end, sizeof(end), "", true);
	kb = reg_b64_encode(from, strlen(from));
	eb = reg_b64_encode(end, strlen(end));
	if (!kb || !eb) {
		free(kb);
		free(eb);
		pthread_mutex_lock(&e->qmu);
		e->watch_dead = true;
		pthread_mutex_unlock(&e->qmu);
		signal_change(e);
		return NULL;
	}
	snprintf(body, sizeof(body), "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}", kb,
		 eb);
	free(kb);
	free(eb);

	while (!etcd_stream_stopped(e->stream)) {
		bool live = etcd_stream_run(e->stream, "/v3/watch", body, watch_message, e);

		if (etcd_stream_stopped(e->stream))
			break;
		mark_resync(e); /* the stream broke: a reload is due */
		signal_change(e);
		if (live)
			backoff = WATCH_BACKOFF_MIN_MS; /* it worked: same endpoint, soon */
		etcd_stream_sleep(e->stream, backoff);
		if (!live && backoff < WATCH_BACKOFF_MAX_MS)
			backoff = backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

static int etcd_watch_fd(struct registry *r)
{
	struct reg_etcd *e = r->be;

	if (e->thread_started)
		return e->efd;
	if (e->efd < 0)
		e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0)
		return -1;
	if (!e->stream)
		e->stream = etcd_stream_new(e->http);
	if (!e->stream)
		return -1;
	if (pthread_create(&e->thread, NULL, watch_main, e))
		return -1;
	e->thread_started = true;
	return e->efd;
}

static void etcd_watch_ack(struct registry *r)
{
	struct reg_etcd *e = r->be;
	uint64_t v;

	if (e->efd >= 0 && read(e->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}

/* ---- open and close ---- */

void *reg_etcd_open(struct registry *r, const char *endpoints, const struct reg_options *opt,
		    char *err, size_t errlen)
{
	const struct etcd_http_options hopt = {
		.ca_file = opt->ca_file,
		.cert_file = opt->cert_file,
		.key_file = opt->key_file,
		.username = opt->username,
		.password = opt->password,
		.timeout_ms = r->timeout_ms,
	};
	struct reg_etcd *e = calloc(1, sizeof(*e));

	if (!e) {
		reg_err(err, errlen, "out of memory");
		return NULL;
	}
	e->efd = -1;
	e->resync = true; /* nothing read yet */
	e->http = etcd_http_open(endpoints, &hopt, err, errlen);
	if (!e->http) {
		free(e);
		return NULL;
	}
	pthread_mutex_init(&e->qmu, NULL);
	return e;
}

static void etcd_close(struct registry *r)
{
	struct reg_etcd *e = r->be;

	if (e->thread_started) {
		etcd_stream_stop(e->stream);
		pthread_join(e->thread, NULL);
	}
	etcd_stream_free(e->stream);
	etcd_http_close(e->http);
	if (e->efd >= 0)
		close(e->efd);
	reg_entries_free(&e->pending);
	pthread_mutex_destroy(&e->qmu);
	free(e);
}

const struct reg_ops reg_etcd_ops = {
	.load = etcd_load,
	.write = etcd_write,
	.watch_fd = etcd_watch_fd,
	.watch_ack = etcd_watch_ack,
	.close = etcd_close,
	.compact = etcd_compact,
	.follow = etcd_follow,
};
