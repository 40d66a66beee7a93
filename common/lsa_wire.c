// SPDX-License-Identifier: MIT
/* The one reading of an LSA part's form (lsa_wire.h), for the gateway that
 * carries parts (dataplane/lsa.c) and the scale harness's simulated gateways
 * (perf/simgw.c), which must refuse exactly what the real one refuses: the
 * part's form, and "lsa send"'s reading of one; and the hexadecimal that
 * parts cross the control socket in, both ways (meshd sends and reads them,
 * controlplane/meshd_lsa.c). */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsa_wire.h"

bool lsa_part_well_formed(const uint8_t *p, size_t len)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)p;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);
	uint16_t origin, prev = 0;

	if (len < sizeof(*h) || be32toh(h->magic) != LSA_MAGIC || h->version != LSA_VERSION ||
	    !h->nparts || h->nparts > LSA_PARTS_MAX || h->part >= h->nparts ||
	    h->nlinks > LSA_LINKS_MAX || len != sizeof(*h) + h->nlinks * sizeof(*l))
		return false;
	origin = be16toh(h->origin);
	if (!origin || origin > LSA_GATEWAY_ID_MAX || !h->lifetime_s ||
	    be16toh(h->lifetime_s) > LSA_LIFETIME_MAX_S)
		return false;
	for (unsigned i = 0; i < h->nlinks; i++) {
		uint16_t to = be16toh(l[i].to);

		if (!to || to > LSA_GATEWAY_ID_MAX || to == origin || to <= prev)
			return false;
		prev = to;
	}
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void lsa_part_to_hex(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The n characters at hex: 0 read, -1 not a part's length, -2 not
 * hexadecimal. */
static int hex_read(const char *hex, size_t n, uint8_t buf[LSA_BYTES_MAX], size_t *len)
{
	if (!hex || !n || n % 2 || n / 2 > LSA_BYTES_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -2;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

bool lsa_part_read_hex(const char *hex, size_t n, uint8_t buf[LSA_BYTES_MAX], size_t *len)
{
	return !hex_read(hex, n, buf, len) && lsa_part_well_formed(buf, *len);
}

bool lsa_part_from_hex(const char *hex, uint16_t self, uint8_t buf[LSA_BYTES_MAX], size_t *len, char *err,
		       size_t errlen)
{
	size_t n = 0;
	int r = hex_read(hex, hex ? strlen(hex) : 0, buf, &n);

	if (r == -1) {
		snprintf(err, errlen, "{\"error\":\"usage: lsa send HEX (one part, at most %zu bytes)\"}",
			 (size_t)LSA_BYTES_MAX);
		return false;
	}
	if (r == -2) {
		snprintf(err, errlen, "{\"error\":\"lsa send: not hexadecimal\"}");
		return false;
	}
	if (!lsa_part_well_formed(buf, n)) {
		snprintf(err, errlen, "{\"error\":\"lsa send: not a well-formed LSA part\"}");
		return false;
	}
	if (!self || be16toh(((const struct lsa_hdr *)buf)->origin) != self) {
		snprintf(err, errlen, "{\"error\":\"lsa send: its origin is not this gateway (gateway self)\"}");
		return false;
	}
	*len = n;
	return true;
}

static const char *lit(const char *p, const char *s)
{
	size_t n = strlen(s);

	return p && !strncmp(p, s, n) ? p + n : NULL;
}

static const char *num(const char *p, uint64_t *v)
{
	char *end;

	if (!p || *p < '0' || *p > '9')
		return NULL;
	errno = 0;
	*v = strtoull(p, &end, 10);
	return errno ? NULL : end;
}

bool lsa_dump_begin(struct lsa_dump_reader *r, const char *reply, uint64_t *seq)
{
	r->parts = 0;
	r->p = lit(num(lit(reply, "{\"seq\":"), seq), ",\"lsas\":[");
	return r->p != NULL;
}

int lsa_dump_next(struct lsa_dump_reader *r, uint64_t *age_ms, uint8_t buf[LSA_BYTES_MAX], size_t *len)
{
	const char *hex, *q;

	if (r->p && *r->p == ']') {
		r->p = lit(r->p, "]}");
		return r->p && (!*r->p || !strcmp(r->p, "\n")) ? 0 : -1;
	}
	if (r->parts && r->p)
		r->p = lit(r->p, ",");
	hex = lit(num(lit(r->p, "{\"age_ms\":"), age_ms), ",\"wire\":\"");
	q = hex ? strchr(hex, '"') : NULL;
	if (!(r->p = lit(q, "\"}")))
		return -1;
	r->parts++;
	return lsa_part_read_hex(hex, (size_t)(q - hex), buf, len) ? 1 : 2;
}
