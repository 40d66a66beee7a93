// SPDX-License-Identifier: MIT
/*
 * The registry on etcd v3, through its JSON gateway (/v3/...), with libcurl.
 *
 * Keys are REG_PREFIX + the relative key (/hopmesh/gateways/NAME, ...), the
 * values the records' JSON. Reads are one range over /hopmesh/ (paged, all
 * pages at the first page's revision). Writes that need checks across
 * records (gateways, VM puts, gateway deletes) read the store, check, and
 * write in one transaction that holds only if no gateway or VM key was
 * created or changed since that read (and, for a VM, its gateway is still
 * there); otherwise they read and check again.
 *
 * Links are put under one lease per handle, granted at the first link put
 * with TTL = lease_s (a new lease when lease_s changes) and kept alive by the
 * puts themselves: a put refreshes the lease when it was last refreshed
 * min(1 s, lease_s / 3) ago or more. A process that stops putting, or dies,
 * lets the lease run out, and etcd deletes its links. A lease etcd no longer
 * knows is granted again.
 *
 * Endpoints are tried in turn, from the last one that answered: a transport
 * error, a timeout (reg_options.timeout_ms per request) or a 5xx answer moves
 * on to the next. With a username, a token from /v3/auth/authenticate goes
 * in the Authorization header and is fetched again when etcd rejects it.
 *
 * The watch (started by the first registry_watch_fd) is a streaming POST to
 * /v3/watch in a thread of its own: each event, each (re)connection and each
 * break of the stream writes the eventfd; it reconnects with backoff (0.1 s
 * doubling to 5 s), moving to the next endpoint when one does not answer.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "registry_impl.h"

#define PAGE_LIMIT 2000
#define TXN_TRIES 16
#define WATCH_BACKOFF_MIN_MS 100
#define WATCH_BACKOFF_MAX_MS 1000 /* a change is seen within 1 s of etcd returning */
#define WATCH_LINE_MAX (16u << 20)

struct reg_etcd {
	char **eps;
	unsigned neps;
	char *ca, *cert, *key, *user, *pass;
	unsigned timeout_ms;

	pthread_mutex_t mu; /* cur and token, shared with the watch thread */
	unsigned cur;
	char *token;

	CURL *curl; /* requests of the API calls (under the registry's lock) */

	long long lease_id;
	unsigned lease_ttl;
	uint64_t lease_refreshed_ms;

	int efd;
	bool thread_started;
	pthread_t thread;
	CURLM *multi;
	atomic_bool stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- HTTP ---- */

struct buf {
	char *p;
	size_t n, cap;
	bool overflow;
};

static size_t buf_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct buf *b = user;
	size_t n = size * nmemb;

	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		if (cap > (256u << 20) || !(p = realloc(b->p, cap))) {
			b->overflow = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static char *token_copy(struct reg_etcd *e)
{
	char *t = NULL;

	pthread_mutex_lock(&e->mu);
	if (e->token)
		t = strdup(e->token);
	pthread_mutex_unlock(&e->mu);
	return t;
}

/* Forgets the token if it is still the one that was rejected. */
static void token_drop(struct reg_etcd *e, const char *rejected)
{
	pthread_mutex_lock(&e->mu);
	if (e->token && (!rejected || !strcmp(e->token, rejected))) {
		free(e->token);
		e->token = NULL;
	}
	pthread_mutex_unlock(&e->mu);
}

static struct curl_slist *headers(const char *token)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *n;

	if (h && token) {
		char line[1024];

		snprintf(line, sizeof(line), "Authorization: %s", token);
		n = curl_slist_append(h, line);
		if (!n) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = n;
	}
	return h;
}

static void setup(struct reg_etcd *e, CURL *c, unsigned ep, const char *path, const char *body,
		  struct curl_slist *h, struct buf *b, bool streaming)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s%s", e->eps[ep], path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	if (!streaming)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
	if (e->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca);
	if (e->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
	if (e->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
}

/* The error etcd's gateway put in an answer, or a fallback. */
static const char *answer_error(json_t *resp, const char *fallback)
{
	json_t *m = resp ? json_object_get(resp, "message") : NULL;

	if (!json_is_string(m))
		m = resp ? json_object_get(resp, "error") : NULL;
	return json_is_string(m) ? json_string_value(m) : fallback;
}

/* One POST to one endpoint. 0 when an HTTP answer came (status, and resp
 * when it was a JSON object); -1 on a transport error or timeout. */
static int post_once(struct reg_etcd *e, CURL *c, unsigned ep, const char *path, const char *body,
		     const char *token, long *status, json_t **resp, char *err, size_t errlen)
{
	struct buf b = {0};
	struct curl_slist *h = headers(token);
	CURLcode rc;

	*resp = NULL;
	*status = 0;
	if (!h) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	setup(e, c, ep, path, body, h, &b, false);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		reg_err(err, errlen, "etcd %s: %s", e->eps[ep],
			b.overflow ? "answer too large" : curl_easy_strerror(rc));
		free(b.p);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.p) {
		json_t *o = json_loadb(b.p, b.n, 0, NULL);

		if (json_is_object(o))
			*resp = o;
		else
			json_decref(o);
	}
	free(b.p);
	return 0;
}

/* Fetches a token on endpoint ep: 0, -1 transport (try another), -2 refused. */
static int authenticate(struct reg_etcd *e, CURL *c, unsigned ep, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:s}", "name", e->user, "password", e->pass ? e->pass : "");
	json_t *resp, *t;
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	long status;
	int rc;

	json_decref(req);
	if (!body) {
		reg_err(err, errlen, "out of memory");
		return -2;
	}
	rc = post_once(e, c, ep, "/v3/auth/authenticate", body, NULL, &status, &resp, err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	t = resp ? json_object_get(resp, "token") : NULL;
	if (status == 200 && json_is_string(t)) {
		pthread_mutex_lock(&e->mu);
		free(e->token);
		e->token = strdup(json_string_value(t));
		pthread_mutex_unlock(&e->mu);
		json_decref(resp);
		return 0;
	}
	reg_err(err, errlen, "etcd %s: authentication as '%s' failed: %s", e->eps[ep], e->user,
		answer_error(resp, "no token in the answer"));
	json_decref(resp);
	return status >= 500 ? -1 : -2;
}

/* POSTs req to path on the endpoints in turn, from the last good one.
 * 0 with *out (the answer) on HTTP 200; -1 with err otherwise. */
static int call(struct reg_etcd *e, const char *path, json_t *req, json_t **out, char *err,
		size_t errlen)
{
	char *body = json_dumps(req, JSON_COMPACT), last[512] = "no endpoint";
	unsigned start, i;

	*out = NULL;
	if (!body) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&e->mu);
	start = e->cur;
	pthread_mutex_unlock(&e->mu);
	for (i = 0; i < e->neps; i++) {
		unsigned ep = (start + i) % e->neps;
		bool reauthed = false;

		for (;;) {
			char *token = NULL;
			json_t *resp;
			long status;
			int rc;

			if (e->user) {
				token = token_copy(e);
				if (!token) {
					rc = authenticate(e, e->curl, ep, last, sizeof(last));
					if (rc == -2) {
						reg_err(err, errlen, "%s", last);
						free(body);
						return -1;
					}
					if (rc < 0)
						break;
					reauthed = true;
					token = token_copy(e);
				}
			}
			rc = post_once(e, e->curl, ep, path, body, token, &status, &resp, last,
				       sizeof(last));
			if (rc < 0) {
				free(token);
				break; /* next endpoint */
			}
			if (status == 200 && resp) {
				free(token);
				free(body);
				pthread_mutex_lock(&e->mu);
				e->cur = ep;
				pthread_mutex_unlock(&e->mu);
				*out = resp;
				return 0;
			}
			if (status == 401 && e->user && !reauthed) {
				token_drop(e, token);
				free(token);
				json_decref(resp);
				reauthed = true;
				continue;
			}
			free(token);
			snprintf(last, sizeof(last), "etcd %s: %s (HTTP %ld)", e->eps[ep],
				 answer_error(resp, "bad answer"), status);
			json_decref(resp);
			if (status >= 500 || status == 0)
				break; /* this member cannot serve it now: next endpoint */
			reg_err(err, errlen, "%s", last);
			free(body);
			return -1;
		}
	}
	reg_err(err, errlen, "etcd unreachable (%u endpoint%s tried; last: %s)", e->neps,
		e->neps == 1 ? "" : "s", last);
	free(body);
	return -1;
}

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

	if (!jv)
		return reg_entries_add(es, key, rel, "", 0, NULL, rev);
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

/* A range over the whole registry, all pages at the first one's revision. */
static int etcd_range(struct reg_etcd *e, struct reg_entries *es, char *err, size_t errlen)
{
	char end[REG_KEY_LEN + 16], *from = strdup(REG_PREFIX);
	size_t fromlen = strlen(REG_PREFIX);
	int rc = -1;

	full_key(end, sizeof(end), "", true);
	while (from) {
		json_t *req = range_request(from, fromlen, end, es->revision), *resp, *kvs;
		bool more;

		if (!req) {
			reg_err(err, errlen, "out of memory");
			break;
		}
		rc = call(e, "/v3/kv/range", req, &resp, err, errlen);
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

static int etcd_load(struct registry *r, struct reg_entries *out, char *err, size_t errlen)
{
	return etcd_range(r->be, out, err, errlen);
}

/* ---- leases ---- */

static int lease_grant(struct reg_etcd *e, unsigned ttl, char *err, size_t errlen)
{
	json_t *req = json_object(), *resp;
	int rc;

	json_object_set_new(req, "TTL", json_integer(ttl));
	rc = call(e, "/v3/lease/grant", req, &resp, err, errlen);
	json_decref(req);
	if (rc < 0)
		return -1;
	e->lease_id = num(resp, "ID");
	if (!e->lease_id) {
		reg_err(err, errlen, "etcd: lease grant: %s", answer_error(resp, "no lease id"));
		json_decref(resp);
		return -1;
	}
	json_decref(resp);
	e->lease_ttl = ttl;
	e->lease_refreshed_ms = reg_mono_ms();
	return 0;
}

/* A lease of ttl seconds that is alive now: granted, kept alive or
 * granted again. */
static int lease_ensure(struct reg_etcd *e, unsigned ttl, char *err, size_t errlen)
{
	uint64_t now = reg_mono_ms(), every = ttl * 1000ull / 3;

	if (every > 1000)
		every = 1000;
	if (e->lease_id && e->lease_ttl == ttl) {
		json_t *req, *resp;
		int rc;

		if (now - e->lease_refreshed_ms < every)
			return 0;
		req = json_object();
		json_object_set_new(req, "ID", numstr(e->lease_id));
		rc = call(e, "/v3/lease/keepalive", req, &resp, err, errlen);
		json_decref(req);
		if (rc < 0)
			return -1;
		if (num(json_object_get(resp, "result"), "TTL") > 0) {
			json_decref(resp);
			e->lease_refreshed_ms = now;
			return 0;
		}
		json_decref(resp); /* expired: etcd removed it and its keys */
	}
	e->lease_id = 0;
	return lease_grant(e, ttl, err, errlen);
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

static int write_checked(struct reg_etcd *e, const struct reg_write *w, char *err, size_t errlen)
{
	char key[REG_KEY_LEN + 16], why[400];
	unsigned attempt;

	full_key(key, sizeof(key), w->key, false);
	for (attempt = 0; attempt < TXN_TRIES; attempt++) {
		struct reg_entries es = {0};
		struct reg_snapshot s;
		json_t *req, *cmp, *op, *resp;
		bool ok;
		int rc;

		if (etcd_range(e, &es, err, errlen) < 0) {
			reg_entries_free(&es);
			return -1;
		}
		if (reg_assemble(&es, false, 0, NULL, &s) < 0) {
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
		if (w->depends_on) {
			const struct reg_entry *d = reg_entries_find(&es, w->depends_on);
			char dkey[REG_KEY_LEN + 16];

			full_key(dkey, sizeof(dkey), w->depends_on, false);
			json_array_append_new(cmp, json_pack("{s:o, s:s, s:s, s:o}", "key",
							     b64s(dkey), "target", "MOD", "result",
							     "EQUAL", "mod_revision",
							     numstr(d ? d->mod_revision : 0)));
		}
		reg_entries_free(&es);
		if (w->value)
			op = json_pack("{s:{s:o, s:o}}", "request_put", "key", b64s(key), "value",
				       b64s(w->value));
		else
			op = json_pack("{s:{s:o}}", "request_delete_range", "key", b64s(key));
		req = json_pack("{s:o, s:[o]}", "compare", cmp, "success", op);
		if (!req) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
		rc = call(e, "/v3/kv/txn", req, &resp, err, errlen);
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

static int put_plain(struct reg_etcd *e, const char *key, const char *value, long long lease,
		     char *err, size_t errlen)
{
	json_t *req = json_pack("{s:o, s:o}", "key", b64s(key), "value", b64s(value)), *resp;
	int rc;

	if (req && lease)
		json_object_set_new(req, "lease", numstr(lease));
	if (!req) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = call(e, "/v3/kv/put", req, &resp, err, errlen);
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
	if (w->kind == REG_K_LINK) {
		char *text = reg_link_json(w->link), lerr[512] = "";
		int rc = -1, tries;

		if (!text) {
			reg_err(err, errlen, "%s: cannot encode", w->what);
			return -1;
		}
		for (tries = 0; tries < 2; tries++) {
			rc = lease_ensure(e, w->lease_s, lerr, sizeof(lerr));
			if (rc == 0)
				rc = put_plain(e, key, text, e->lease_id, lerr, sizeof(lerr));
			if (rc == 0 || !strstr(lerr, "lease not found"))
				break;
			e->lease_id = 0; /* expired between keepalive and put */
		}
		free(text);
		if (rc < 0)
			reg_err(err, errlen, "%s", lerr);
		return rc;
	}
	if (w->value)
		return put_plain(e, key, w->value, 0, err, errlen);

	json_t *req = json_pack("{s:o}", "key", b64s(key)), *resp;
	int rc;

	if (!req) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	rc = call(e, "/v3/kv/deleterange", req, &resp, err, errlen);
	json_decref(req);
	if (rc == 0 && num(resp, "deleted") == 0) {
		reg_err(err, errlen, "%s not found", w->what);
		rc = -1;
	}
	json_decref(resp);
	return rc;
}

/* ---- watch ---- */

static void signal_change(struct reg_etcd *e)
{
	uint64_t one = 1;
	ssize_t rc = write(e->efd, &one, sizeof(one));

	(void)rc; /* EAGAIN: the counter is full, a wake-up is pending anyway */
}

struct watch_ctx {
	struct reg_etcd *e;
	struct buf line;
	bool created, broken, auth_failed;
};

static void watch_message(struct watch_ctx *w, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *res;
	const char *why;

	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	if (json_object_get(o, "error")) {
		why = answer_error(o, "");
		w->broken = true;
		if (strstr(why, "auth token") || strstr(why, "user name"))
			w->auth_failed = true;
		json_decref(o);
		return;
	}
	res = json_object_get(o, "result");
	if (json_is_true(json_object_get(res, "canceled"))) {
		json_t *reason = json_object_get(res, "cancel_reason");

		w->broken = true;
		if (json_is_string(reason) && strstr(json_string_value(reason), "auth"))
			w->auth_failed = true;
	} else if (json_is_true(json_object_get(res, "created"))) {
		w->created = true;
		signal_change(w->e); /* changes while we were away: reload */
	} else if (json_array_size(json_object_get(res, "events"))) {
		signal_change(w->e);
	}
	json_decref(o);
}

static size_t watch_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct watch_ctx *w = user;
	size_t n = size * nmemb, start = 0, i;

	if (buf_write(data, size, nmemb, &w->line) != n || w->line.n > WATCH_LINE_MAX)
		return 0;
	for (i = 0; i < w->line.n; i++) {
		if (w->line.p[i] != '\n')
			continue;
		watch_message(w, w->line.p + start, i - start);
		start = i + 1;
	}
	memmove(w->line.p, w->line.p + start, w->line.n - start);
	w->line.n -= start;
	/* a single object without a newline yet: try it whole */
	if (w->line.n && w->line.p[w->line.n - 1] == '}') {
		json_t *o = json_loadb(w->line.p, w->line.n, 0, NULL);

		if (o) {
			json_decref(o);
			watch_message(w, w->line.p, w->line.n);
			w->line.n = 0;
		}
	}
	return w->broken ? 0 : n;
}

static void sleep_interruptible(struct reg_etcd *e, unsigned ms)
{
	uint64_t until = reg_mono_ms() + ms, now;

	while (!atomic_load(&e->stop) && (now = reg_mono_ms()) < until)
		curl_multi_poll(e->multi, NULL, 0, (int)(until - now), NULL);
}

static void *watch_main(void *arg)
{
	struct reg_etcd *e = arg;
	CURL *c = curl_easy_init();
	unsigned ep, backoff = WATCH_BACKOFF_MIN_MS;
	char body[512], from[64], end[64], err[256];
	char *kb, *eb;

	full_key(from, sizeof(from), "", false);
	full_key(end, sizeof(end), "", true);
	kb = reg_b64_encode(from, strlen(from));
	eb = reg_b64_encode(end, strlen(end));
	if (!c || !kb || !eb) {
		free(kb);
		free(eb);
		if (c)
			curl_easy_cleanup(c);
		signal_change(e);
		return NULL;
	}
	snprintf(body, sizeof(body), "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}", kb,
		 eb);
	free(kb);
	free(eb);
	pthread_mutex_lock(&e->mu);
	ep = e->cur;
	pthread_mutex_unlock(&e->mu);

	while (!atomic_load(&e->stop)) {
		struct watch_ctx w = {.e = e};
		struct curl_slist *h;
		char *token = NULL;
		uint64_t started;
		int running = 1;

		if (e->user) {
			token = token_copy(e);
			if (!token && authenticate(e, c, ep, err, sizeof(err)) == 0)
				token = token_copy(e);
			if (!token)
				goto broken;
		}
		h = headers(token);
		if (!h)
			goto broken;
		setup(e, c, ep, "/v3/watch", body, h, NULL, true);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
		curl_multi_add_handle(e->multi, c);
		started = reg_mono_ms();
		while (running && !atomic_load(&e->stop)) {
			if (curl_multi_perform(e->multi, &running) != CURLM_OK)
				break;
			if (!running)
				break;
			if (!w.created && reg_mono_ms() - started > e->timeout_ms)
				break; /* no answer in time: another endpoint */
			curl_multi_poll(e->multi, NULL, 0, 200, NULL);
		}
		curl_multi_remove_handle(e->multi, c);
		curl_slist_free_all(h);
		free(w.line.p);
		if (w.auth_failed)
			token_drop(e, token);
broken:
		free(token);
		if (atomic_load(&e->stop))
			break;
		signal_change(e); /* the stream broke: a reload is due */
		if (w.created) {
			backoff = WATCH_BACKOFF_MIN_MS; /* it worked: same endpoint, soon */
		} else {
			ep = (ep + 1) % e->neps;
		}
		sleep_interruptible(e, backoff);
		if (!w.created && backoff < WATCH_BACKOFF_MAX_MS)
			backoff = backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff * 2;
	}
	curl_easy_cleanup(c);
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
	if (!e->multi)
		e->multi = curl_multi_init();
	if (!e->multi)
		return -1;
	atomic_store(&e->stop, false);
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

static char *dup_opt(const char *s, bool *ok)
{
	char *d;

	if (!s || !*s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static void etcd_free(struct reg_etcd *e)
{
	unsigned i;

	for (i = 0; i < e->neps; i++)
		free(e->eps[i]);
	free(e->eps);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->user);
	free(e->pass);
	free(e->token);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->efd >= 0)
		close(e->efd);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* One endpoint of the list, trimmed: "HOST:PORT" gets the scheme (https
 * when a CA is given), "http://..." and "https://..." are taken as they are. */
static int add_endpoint(struct reg_etcd *e, const char *s, size_t n, char *err, size_t errlen)
{
	char *text, *ep;

	if (n > 500) {
		reg_err(err, errlen, "etcd endpoint too long");
		return -1;
	}
	text = strndup(s, n);
	if (!text) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	if (strstr(text, "://")) {
		if (strncmp(text, "http://", 7) && strncmp(text, "https://", 8)) {
			reg_err(err, errlen, "etcd endpoint '%s': http:// or https:// only", text);
			free(text);
			return -1;
		}
		ep = text;
	} else {
		if (asprintf(&ep, "%s%s", e->ca ? "https://" : "http://", text) < 0)
			ep = NULL;
		free(text);
		if (!ep) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
	}
	e->eps[e->neps++] = ep;
	return 0;
}

/* "URL,URL,...": spaces around and a trailing '/' of each are dropped. */
static int parse_endpoints(struct reg_etcd *e, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ","), skip = strspn(p, " ");
		const char *s = p + (skip < len ? skip : len);
		size_t n = len - (size_t)(s - p);

		p += len + (p[len] == ',');
		while (n && (s[n - 1] == ' ' || s[n - 1] == '/'))
			n--;
		if (n && add_endpoint(e, s, n, err, errlen) < 0)
			return -1;
	}
	if (!e->neps) {
		reg_err(err, errlen, "registry URL etcd: needs endpoints (etcd:http://HOST:2379,...)");
		return -1;
	}
	return 0;
}

void *reg_etcd_open(struct registry *r, const char *endpoints, const struct reg_options *opt,
		    char *err, size_t errlen)
{
	struct reg_etcd *e;
	bool ok = true;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		reg_err(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		reg_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	e->efd = -1;
	e->timeout_ms = r->timeout_ms;
	e->ca = dup_opt(opt->ca_file, &ok);
	e->cert = dup_opt(opt->cert_file, &ok);
	e->key = dup_opt(opt->key_file, &ok);
	e->user = dup_opt(opt->username, &ok);
	e->pass = dup_opt(opt->password, &ok);
	/* at most one endpoint per comma, plus one */
	e->eps = calloc(strlen(endpoints) / 2 + 2, sizeof(*e->eps));
	if (!ok || !e->eps) {
		reg_err(err, errlen, "out of memory");
		etcd_free(e);
		return NULL;
	}
	if (parse_endpoints(e, endpoints, err, errlen) < 0) {
		etcd_free(e);
		return NULL;
	}
	e->curl = curl_easy_init();
	if (!e->curl) {
		reg_err(err, errlen, "libcurl: cannot make a handle");
		etcd_free(e);
		return NULL;
	}
	return e;
}

static void etcd_close(struct registry *r)
{
	struct reg_etcd *e = r->be;

	if (e->thread_started) {
		atomic_store(&e->stop, true);
		curl_multi_wakeup(e->multi);
		pthread_join(e->thread, NULL);
	}
	/* The lease is left to run out, not revoked: a restarting process's
	 * links stay visible for lease_s. */
	etcd_free(e);
}

const struct reg_ops reg_etcd_ops = {
	.load = etcd_load,
	.write = etcd_write,
	.watch_fd = etcd_watch_fd,
	.watch_ack = etcd_watch_ack,
	.close = etcd_close,
	.expiry = false,
};
