/* SPDX-License-Identifier: MIT */
/*
 * HTTP to etcd's JSON gateway (/v3/...): the transport under the registry's
 * etcd back end (registry_etcd.c), which speaks the API over it. It knows
 * endpoints, TLS, authentication and curl, and nothing of what the JSON
 * says beyond an error message and a token:
 *
 *   endpoints      "URL,URL,...", tried in turn from the last one that
 *                  answered; a transport error, a timeout or a 5xx answer
 *                  moves on to the next
 *   TLS            CA file, client certificate and key (https endpoints;
 *                  an endpoint without a scheme gets https when a CA is set)
 *   authentication with a username, a token from /v3/auth/authenticate in
 *                  the Authorization header, fetched again when rejected
 *
 * A call is one JSON request and its JSON answer. A stream is one long POST
 * whose answer is a series of JSON objects (the watch), for a thread of its
 * own; the calls and a stream may run at the same time.
 */
#ifndef HOPMESH_ETCD_HTTP_H
#define HOPMESH_ETCD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct etcd_http_options {
	const char *ca_file;   /* https: CA, client certificate, key; NULL none */
	const char *cert_file;
	const char *key_file;
	const char *username;  /* NULL: no authentication */
	const char *password;
	unsigned timeout_ms;   /* per request, and for a stream to go live */
};

struct etcd_http;

/* NULL with err when the list is empty or bad, or on no memory. */
struct etcd_http *etcd_http_open(const char *endpoints, const struct etcd_http_options *opt,
				 char *err, size_t errlen);
void etcd_http_close(struct etcd_http *h);

/* POSTs req to path (failover and authentication as above): 0 with *out,
 * the answer object, on HTTP 200; -1 with err otherwise (an HTTP error
 * other than 5xx ends the call at once). One caller at a time. */
int etcd_http_call(struct etcd_http *h, const char *path, json_t *req, json_t **out, char *err,
		   size_t errlen);

/* The error the gateway put in an answer ("message", else "error"), or
 * fallback. */
const char *etcd_http_answer_error(json_t *resp, const char *fallback);

/* What the reader of a stream makes of each object. */
enum etcd_stream_verdict {
	ETCD_STREAM_MORE,  /* go on reading */
	ETCD_STREAM_LIVE,  /* the server took the request: no more start timeout */
	ETCD_STREAM_END,   /* end this stream */
	ETCD_STREAM_AUTH,  /* end it: the token was refused (fetched again next time) */
};
typedef enum etcd_stream_verdict (*etcd_stream_fn)(void *arg, json_t *msg);

struct etcd_stream;

/* A stream on h, starting at the endpoint that answered last. */
struct etcd_stream *etcd_stream_new(struct etcd_http *h);
void etcd_stream_free(struct etcd_stream *s);
/* One streaming POST of body to path, each JSON object of the answer handed
 * to fn, until the stream ends, fn ends it, it does not go live within the
 * timeout, or etcd_stream_stop. True when it went live; when it did not,
 * the next run tries the next endpoint. */
bool etcd_stream_run(struct etcd_stream *s, const char *path, const char *body, etcd_stream_fn fn,
		     void *arg);
/* Sleeps ms, or less when stopped. */
void etcd_stream_sleep(struct etcd_stream *s, unsigned ms);
/* From any thread: ends a run or sleep under way, and every later one. */
void etcd_stream_stop(struct etcd_stream *s);
bool etcd_stream_stopped(struct etcd_stream *s);

#endif
