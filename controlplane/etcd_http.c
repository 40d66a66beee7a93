// SPDX-License-Identifier: MIT
/*
 * HTTP to etcd's JSON gateway with libcurl (etcd_http.h).
 *
 *   etcd_http_open    the endpoint list parsed ("HOST:PORT" gets a scheme),
 *                     options copied (credentials over http:// refused),
 *                     one curl handle for the calls
 *   etcd_http_call    for each endpoint from the last good one: a token
 *                     when a username is set (authenticate), post_once; a
 *                     200 answer ends it, a 401 fetches a new token once,
 *                     a transport error or 5xx goes to the next endpoint,
 *                     another status is the call's error
 *   etcd_stream_run   the same request setup on the stream's own curl
 *                     handle, driven by a curl multi handle (so that
 *                     etcd_stream_stop can wake it), the answer cut into
 *                     newline-separated JSON objects for the reader
 *
 * The last good endpoint and the token are shared by the calls and a stream
 * in another thread, under h->mu.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd_http.h"
#include "registry_base.h"

#define STREAM_LINE_MAX (16u << 20)  /* one object of a stream */
#define ANSWER_MAX (256u << 20)      /* one answer of a call */
#define ELECTION_ROUNDS 3            /* rounds over the members while they elect */
#define ELECTION_PAUSE_MS 300        /* between those rounds */

struct etcd_http {
	char **eps;
	unsigned neps;
	char *ca, *cert, *key, *user, *pass;
	unsigned timeout_ms;

	pthread_mutex_t mu; /* cur and token, shared with a stream's thread */
	unsigned cur;
	char *token;

	CURL *curl; /* the calls' handle */
};

struct etcd_stream {
	struct etcd_http *h;
	CURL *curl;
	CURLM *multi;
	unsigned ep;
	atomic_bool stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- one request ---- */

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
		if (cap > ANSWER_MAX || !(p = realloc(b->p, cap))) {
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

static char *token_copy(struct etcd_http *h)
{
	char *t = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->token)
		t = strdup(h->token);
	pthread_mutex_unlock(&h->mu);
	return t;
}

/* Forgets the token if it is still the one that was rejected. */
static void token_drop(struct etcd_http *h, const char *rejected)
{
	pthread_mutex_lock(&h->mu);
	if (h->token && (!rejected || !strcmp(h->token, rejected))) {
		free(h->token);
		h->token = NULL;
	}
	pthread_mutex_unlock(&h->mu);
}

static struct curl_slist *headers(const char *token)
{
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json"), *n;

	if (l && token) {
		char line[1024];

		snprintf(line, sizeof(line), "Authorization: %s", token);
		n = curl_slist_append(l, line);
		if (!n) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

static void setup(struct etcd_http *h, CURL *c, unsigned ep, const char *path, const char *body,
		  struct curl_slist *hdr, struct buf *b, bool streaming)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s%s", h->eps[ep], path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
	if (!streaming)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
	if (h->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca);
	if (h->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
}

const char *etcd_http_answer_error(json_t *resp, const char *fallback)
{
	json_t *m = resp ? json_object_get(resp, "message") : NULL;

	if (!json_is_string(m))
		m = resp ? json_object_get(resp, "error") : NULL;
	return json_is_string(m) ? json_string_value(m) : fallback;
}

/* One POST to one endpoint. 0 when an HTTP answer came (status, and resp
 * when it was a JSON object); -1 on a transport error or timeout. */
static int post_once(struct etcd_http *h, CURL *c, unsigned ep, const char *path,
		     const char *body, const char *token, long *status, json_t **resp, char *err,
		     size_t errlen)
{
	struct buf b = {0};
	struct curl_slist *hdr = headers(token);
	CURLcode rc;

	*resp = NULL;
	*status = 0;
	if (!hdr) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	setup(h, c, ep, path, body, hdr, &b, false);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		reg_err(err, errlen, "etcd %s: %s", h->eps[ep],
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
static int authenticate(struct etcd_http *h, CURL *c, unsigned ep, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:s}", "name", h->user, "password", h->pass ? h->pass : "");
	json_t *resp, *t;
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	long status;
	int rc;

	json_decref(req);
	if (!body) {
		reg_err(err, errlen, "out of memory");
		return -2;
	}
	rc = post_once(h, c, ep, "/v3/auth/authenticate", body, NULL, &status, &resp, err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	t = resp ? json_object_get(resp, "token") : NULL;
	if (status == 200 && json_is_string(t)) {
		pthread_mutex_lock(&h->mu);
		free(h->token);
		h->token = strdup(json_string_value(t));
		pthread_mutex_unlock(&h->mu);
		json_decref(resp);
		return 0;
	}
	reg_err(err, errlen, "etcd %s: authentication as '%s' failed: %s", h->eps[ep], h->user,
		 etcd_http_answer_error(resp, "no token in the answer"));
	json_decref(resp);
	return status >= 500 ? -1 : -2;
}

/* One round over the endpoints from start: 0 with *out, -1 with err set
 * (an answer no other member would change), 1 when none could serve it
 * (last says why; *busy when a member answered 5xx). */
static int call_round(struct etcd_http *h, unsigned start, const char *path, const char *body,
		      json_t **out, char *last, size_t lastlen, bool *busy, char *err, size_t errlen)
{
	for (unsigned i = 0; i < h->neps; i++) {
		unsigned ep = (start + i) % h->neps;
		bool reauthed = false;

		for (;;) {
			char *token = NULL;
			json_t *resp;
			long status;
			int rc;

			if (h->user) {
				token = token_copy(h);
				if (!token) {
					rc = authenticate(h, h->curl, ep, last, lastlen);
					if (rc == -2) {
						reg_err(err, errlen, "%s", last);
						return -1;
					}
					if (rc < 0)
						break;
					reauthed = true;
					token = token_copy(h);
				}
			}
			rc = post_once(h, h->curl, ep, path, body, token, &status, &resp, last, lastlen);
			if (rc < 0) {
				free(token);
				break; /* next endpoint */
			}
			if (status == 200 && resp) {
				free(token);
				pthread_mutex_lock(&h->mu);
				h->cur = ep;
				pthread_mutex_unlock(&h->mu);
				*out = resp;
				return 0;
			}
			if (status == 401 && h->user && !reauthed) {
				token_drop(h, token);
				free(token);
				json_decref(resp);
				reauthed = true;
				continue;
			}
			free(token);
			snprintf(last, lastlen, "etcd %s: %s (HTTP %ld)", h->eps[ep],
				 etcd_http_answer_error(resp, "bad answer"), status);
			json_decref(resp);
			if (status >= 500 || status == 0) {
				*busy |= status >= 500;
				break; /* this member cannot serve it now: next endpoint */
			}
			reg_err(err, errlen, "%s", last);
			return -1;
		}
	}
	return 1;
}

int etcd_http_call(struct etcd_http *h, const char *path, json_t *req, json_t **out, char *err,
		   size_t errlen)
{
	char *body = json_dumps(req, JSON_COMPACT), last[512] = "no endpoint";
	unsigned start;
	int rc = 1;

	*out = NULL;
	if (!body) {
		reg_err(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&h->mu);
	start = h->cur;
	pthread_mutex_unlock(&h->mu);
	/*
	 * A member that answers 5xx is alive but cannot serve now: right after
	 * the leader dies etcd answers "leader changed" or "no leader" until the
	 * members left have elected another (about a second). Another round
	 * after a pause, at most ELECTION_ROUNDS in all, rides that out; members
	 * that do not answer at all are not waited for again.
	 */
	for (unsigned round = 0; rc == 1 && round < ELECTION_ROUNDS; round++) {
		bool busy = false;

		if (round)
			nanosleep(&(struct timespec){ .tv_nsec = ELECTION_PAUSE_MS * 1000000L }, NULL);
		rc = call_round(h, start, path, body, out, last, sizeof(last), &busy, err, errlen);
		if (!busy)
			break;
	}
	free(body);
	if (rc == 1)
		reg_err(err, errlen, "etcd unreachable (%u endpoint%s tried; last: %s)", h->neps,
			h->neps == 1 ? "" : "s", last);
	return rc ? -1 : 0;
}

/* ---- a stream ---- */

struct stream_run {
	etcd_stream_fn fn;
	void *arg;
	struct buf line;
	bool live, broken, auth_failed;
};

static void stream_message(struct stream_run *w, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL);

	if (json_is_object(o)) {
		switch (w->fn(w->arg, o)) {
		case ETCD_STREAM_MORE:
			break;
		case ETCD_STREAM_LIVE:
			w->live = true;
			break;
		case ETCD_STREAM_AUTH:
			w->auth_failed = true;
			w->broken = true;
			break;
		case ETCD_STREAM_END:
			w->broken = true;
			break;
		}
	}
	json_decref(o);
}

static size_t stream_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct stream_run *w = user;
	size_t n = size * nmemb, start = 0, i;

	if (buf_write(data, size, nmemb, &w->line) != n || w->line.n > STREAM_LINE_MAX)
		return 0;
	for (i = 0; i < w->line.n; i++) {
		if (w->line.p[i] != '\n')
			continue;
		stream_message(w, w->line.p + start, i - start);
		start = i + 1;
	}
	memmove(w->line.p, w->line.p + start, w->line.n - start);
	w->line.n -= start;
	/* a single object without a newline yet: try it whole */
	if (w->line.n && w->line.p[w->line.n - 1] == '}') {
		json_t *o = json_loadb(w->line.p, w->line.n, 0, NULL);

		if (o) {
			json_decref(o);
			stream_message(w, w->line.p, w->line.n);
			w->line.n = 0;
		}
	}
	return w->broken ? 0 : n;
}

struct etcd_stream *etcd_stream_new(struct etcd_http *h)
{
	struct etcd_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = h;
	s->curl = curl_easy_init();
	s->multi = curl_multi_init();
	if (!s->curl || !s->multi) {
		etcd_stream_free(s);
		return NULL;
	}
	atomic_init(&s->stop, false);
	pthread_mutex_lock(&h->mu);
	s->ep = h->cur;
	pthread_mutex_unlock(&h->mu);
	return s;
}

void etcd_stream_free(struct etcd_stream *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	free(s);
}

bool etcd_stream_run(struct etcd_stream *s, const char *path, const char *body, etcd_stream_fn fn,
		     void *arg)
{
	struct etcd_http *h = s->h;
	struct stream_run w = {.fn = fn, .arg = arg};
	struct curl_slist *hdr;
	char *token = NULL, err[256];
	uint64_t started;
	int running = 1;

	if (h->user) {
		token = token_copy(h);
		if (!token && authenticate(h, s->curl, s->ep, err, sizeof(err)) == 0)
			token = token_copy(h);
		if (!token)
			goto broken;
	}
	hdr = headers(token);
	if (!hdr)
		goto broken;
	setup(h, s->curl, s->ep, path, body, hdr, NULL, true);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &w);
	curl_multi_add_handle(s->multi, s->curl);
	started = reg_mono_ms();
	while (running && !atomic_load(&s->stop)) {
		if (curl_multi_perform(s->multi, &running) != CURLM_OK)
			break;
		if (!running)
			break;
		if (!w.live && reg_mono_ms() - started > h->timeout_ms)
			break; /* no answer in time: another endpoint */
		curl_multi_poll(s->multi, NULL, 0, 200, NULL);
	}
	curl_multi_remove_handle(s->multi, s->curl);
	curl_slist_free_all(hdr);
	free(w.line.p);
	if (w.auth_failed)
		token_drop(h, token);
broken:
	free(token);
	if (!w.live)
		s->ep = (s->ep + 1) % h->neps;
	return w.live;
}

void etcd_stream_sleep(struct etcd_stream *s, unsigned ms)
{
	uint64_t until = reg_mono_ms() + ms, now;

	while (!atomic_load(&s->stop) && (now = reg_mono_ms()) < until)
		curl_multi_poll(s->multi, NULL, 0, (int)(until - now), NULL);
}

void etcd_stream_stop(struct etcd_stream *s)
{
	atomic_store(&s->stop, true);
	curl_multi_wakeup(s->multi);
}

bool etcd_stream_stopped(struct etcd_stream *s)
{
	return atomic_load(&s->stop);
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

void etcd_http_close(struct etcd_http *h)
{
	unsigned i;

	if (!h)
		return;
	for (i = 0; i < h->neps; i++)
		free(h->eps[i]);
	free(h->eps);
	free(h->ca);
	free(h->cert);
	free(h->key);
	free(h->user);
	free(h->pass);
	free(h->token);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* One endpoint of the list, trimmed: "HOST:PORT" gets the scheme (https
 * when a CA is given), "http://..." and "https://..." are taken as they are. */
static int add_endpoint(struct etcd_http *h, const char *s, size_t n, char *err, size_t errlen)
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
		if (asprintf(&ep, "%s%s", h->ca ? "https://" : "http://", text) < 0)
			ep = NULL;
		free(text);
		if (!ep) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
	}
	h->eps[h->neps++] = ep;
	return 0;
}

/* "URL,URL,...": spaces around and a trailing '/' of each are dropped. */
static int parse_endpoints(struct etcd_http *h, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ","), skip = strspn(p, " ");
		const char *s = p + (skip < len ? skip : len);
		size_t n = len - (size_t)(s - p);

		p += len + (p[len] == ',');
		while (n && (s[n - 1] == ' ' || s[n - 1] == '/'))
			n--;
		if (n && add_endpoint(h, s, n, err, errlen) < 0)
			return -1;
	}
	if (!h->neps) {
		reg_err(err, errlen, "registry URL etcd: needs endpoints (etcd:http://HOST:2379,...)");
		return -1;
	}
	return 0;
}

/* A password, or a client certificate's key, sent over plain http:// would
 * cross the network in clear text (and a token from it with every request):
 * refused before anything is sent. */
static int plain_with_secrets(const struct etcd_http *h, char *err, size_t errlen)
{
	const char *what = h->user || h->pass ? "a user name and password"
			   : h->cert || h->key ? "a client certificate" : NULL;

	for (unsigned i = 0; what && i < h->neps; i++)
		if (!strncmp(h->eps[i], "http://", 7)) {
			reg_err(err, errlen,
				 "etcd endpoint %s is plain http:// but %s is configured: it would "
				 "cross the network in clear text; use https:// (with a CA file)",
				 h->eps[i], what);
			return -1;
		}
	return 0;
}

struct etcd_http *etcd_http_open(const char *endpoints, const struct etcd_http_options *opt,
				 char *err, size_t errlen)
{
	struct etcd_http *h;
	bool ok = true;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		reg_err(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		reg_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->timeout_ms = opt->timeout_ms;
	h->ca = dup_opt(opt->ca_file, &ok);
	h->cert = dup_opt(opt->cert_file, &ok);
	h->key = dup_opt(opt->key_file, &ok);
	h->user = dup_opt(opt->username, &ok);
	h->pass = dup_opt(opt->password, &ok);
	/* at most one endpoint per comma, plus one */
	h->eps = calloc(strlen(endpoints) / 2 + 2, sizeof(*h->eps));
	if (!ok || !h->eps) {
		reg_err(err, errlen, "out of memory");
		etcd_http_close(h);
		return NULL;
	}
	if (parse_endpoints(h, endpoints, err, errlen) < 0 || plain_with_secrets(h, err, errlen) < 0) {
		etcd_http_close(h);
		return NULL;
	}
	h->curl = curl_easy_init();
	if (!h->curl) {
		reg_err(err, errlen, "libcurl: cannot make a handle");
		etcd_http_close(h);
		return NULL;
	}
	return h;
}
