/* SPDX-License-Identifier: MIT */
/*
 * A growable text buffer: the gateway's control socket documents (main lcore
 * only; never on the packet path), meshd's UAPI requests and metrics pages,
 * the replies unixsock.h reads.
 */
#ifndef HOPMESH_TEXTBUF_H
#define HOPMESH_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *s;
	size_t len, cap;
	bool failed; /* memory ran out: the text is cut short */
};

void textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text, to be freed by the caller; NULL if memory ran out on the way, as
 * a document cut short would be malformed JSON. */
char *textbuf_take(struct textbuf *b);
/* n bytes as they are (a socket's reply, say), kept NUL-terminated. */
void textbuf_append(struct textbuf *b, const char *p, size_t n);
/* s as a JSON string, quotes included: '"', '\\' and control characters
 * escaped, and bytes past ASCII as \u00XX, so that the document stays valid
 * JSON (UTF-8) whatever s holds. */
void textbuf_json_string(struct textbuf *b, const char *s);

#endif
