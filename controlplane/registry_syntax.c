// SPDX-License-Identifier: MIT
/*
 * Names, addresses, prefixes and endpoints in text (registry_syntax.h).
 * Addresses go through inet_pton; numbers (prefix lengths, ports) are
 * strict decimal, so "010" or "+1" is refused rather than read some way;
 * prefixes are compared bit by bit over the shorter length.
 */
#include <arpa/inet.h>
#include <string.h>

#include "registry.h"
#include "registry_base.h"
#include "registry_syntax.h"

#define WHY(...) reg_err(why, len, __VA_ARGS__)

bool reg_name_valid(const char *s, size_t max, bool dots)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      (dots && c == '.')))
			return false;
	}
	return n >= 1;
}

bool reg_gateway_name_valid(const char *s)
{
	return reg_name_valid(s, REG_NAME_LEN - 1, false);
}

bool reg_vm_name_valid(const char *s)
{
	/* dots allowed, but not first: a name never looks like "." or a hidden file */
	return reg_name_valid(s, REG_VM_NAME_LEN - 1, true) && s[0] != '.';
}

static unsigned af_bits(int af)
{
	return af == AF_INET ? 32 : 128;
}

bool reg_addr_parse(const char *s, struct reg_pfx *p)
{
	memset(p, 0, sizeof(*p));
	if (!*s || strlen(s) >= 46)
		return false;
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, p->a) != 1)
			return false;
		p->af = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, p->a) != 1)
			return false;
		p->af = AF_INET;
	}
	p->len = af_bits(p->af);
	return true;
}

/* Strict decimal, no sign, no leading zero (but "0"), up to max. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool reg_prefix_parse(const char *s, struct reg_pfx *p, char *why, size_t len)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	unsigned long plen;
	unsigned i;

	if (!slash || (size_t)(slash - s) >= sizeof(addr)) {
		WHY("prefix '%s' is not ADDRESS/LENGTH", s);
		return false;
	}
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!reg_addr_parse(addr, p)) {
		WHY("prefix '%s': bad address", s);
		return false;
	}
	if (!parse_uint(slash + 1, af_bits(p->af), &plen)) {
		WHY("prefix '%s': bad length (0..%u)", s, af_bits(p->af));
		return false;
	}
	p->len = (unsigned)plen;
	for (i = p->len; i < af_bits(p->af); i++) {
		if (p->a[i / 8] & (0x80 >> (i % 8))) {
			WHY("prefix '%s' has host bits set", s);
			return false;
		}
	}
	return true;
}

/* Do the first n bits of a and b agree? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned n)
{
	unsigned whole = n / 8, rest = n % 8;

	if (memcmp(a, b, whole))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		return (a[whole] & m) == (b[whole] & m);
	}
	return true;
}

bool reg_pfx_overlap(const struct reg_pfx *a, const struct reg_pfx *b)
{
	return a->af == b->af && bits_equal(a->a, b->a, a->len < b->len ? a->len : b->len);
}

bool reg_pfx_contains(const struct reg_pfx *p, const struct reg_pfx *addr)
{
	return p->af == addr->af && p->len <= addr->len && bits_equal(p->a, addr->a, p->len);
}

bool reg_addr_equal(const struct reg_pfx *a, const struct reg_pfx *b)
{
	return a->af == b->af && !memcmp(a->a, b->a, a->af == AF_INET ? 4 : 16);
}

bool reg_endpoint_valid(const char *s, int af)
{
	char addr[64];
	const char *colon;
	unsigned long port;
	uint8_t buf[16];

	if (af == AF_INET6) {
		const char *close = strchr(s, ']');

		if (s[0] != '[' || !close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(addr))
			return false;
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(addr))
			return false;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
	}
	if (inet_pton(af, addr, buf) != 1)
		return false;
	return parse_uint(colon + 1, 65535, &port) && port >= 1;
}
