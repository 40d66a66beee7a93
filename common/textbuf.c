// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"

static bool reserve(struct textbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *s;

	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (!(s = realloc(b->s, cap)))
		return false;
	b->s = s;
	b->cap = cap;
	return true;
}

void textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void textbuf_append(struct textbuf *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (!reserve(b, n)) {
		b->failed = true;
		return;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void textbuf_json_string(struct textbuf *b, const char *s)
{
	textbuf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			textbuf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			textbuf_printf(b, "\\u%04x", *p);
		else
			textbuf_append(b, (const char *)p, 1);
	}
	textbuf_append(b, "\"", 1);
}

char *textbuf_take(struct textbuf *b)
{
	char *s = b->s;

	if (b->failed) {
		free(s);
		s = NULL;
	}
	*b = (struct textbuf){ .s = NULL };
	return s;
}
