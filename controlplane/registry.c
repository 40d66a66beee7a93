// SPDX-License-Identifier: MIT
/*
 * The service registry, the parts both back ends share: validation of each
 * record and across records, the JSON form of records (jansson), assembly of
 * a snapshot out of what a back end read (corrupt entries skipped with one
 * problem line each), and the public entry points, which check a record
 * before handing it to the back end. docs/REGISTRY.md describes the formats.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry_impl.h"

#define WHY(...) reg_err(why, len, __VA_ARGS__)

void reg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

uint64_t reg_now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t reg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- base64 ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *reg_b64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64_alphabet, c);
	return p ? (int)(p - b64_alphabet) : -1;
}

long reg_b64_decode(const char *text, size_t textlen, void *out, size_t outcap)
{
	uint8_t *o = out;
	size_t i, n = 0, pad = 0;

	if (textlen % 4)
		return -1;
	if (textlen && text[textlen - 1] == '=')
		pad++;
	if (textlen > 1 && text[textlen - 2] == '=')
		pad++;
	if (textlen / 4 * 3 - pad > outcap)
		return -1;
	for (i = 0; i < textlen; i += 4) {
		int v[4], k;
		bool last = i + 4 == textlen;

		for (k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				if (text[i + k] != '=')
					return -1;
				v[k] = 0;
			} else if ((v[k] = b64_value(text[i + k])) < 0) {
				return -1;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];

		o[n++] = (uint8_t)(w >> 16);
		if (!(last && pad == 2))
			o[n++] = (uint8_t)(w >> 8);
		if (!(last && pad >= 1))
			o[n++] = (uint8_t)w;
		/* canonical: the bits the padding drops are zero */
		if (last && ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff))))
			return -1;
	}
	return (long)n;
}

/* ---- names, addresses, prefixes, endpoints ---- */

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool name_chars_ok(const char *s, size_t max, bool dots)
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

static bool gw_name_ok(const char *s)
{
	return name_chars_ok(s, REG_NAME_LEN - 1, false);
}

static bool vm_name_ok(const char *s)
{
	/* dots allowed, but not first: a name never looks like "." or a hidden file */
	return name_chars_ok(s, REG_VM_NAME_LEN - 1, true) && s[0] != '.';
}

struct pfx {
	int af;
	unsigned len; /* prefix length; 32 or 128 for an address */
	uint8_t a[16];
};

static unsigned af_bits(int af)
{
	return af == AF_INET ? 32 : 128;
}

static bool parse_addr(const char *s, struct pfx *p)
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

static bool parse_prefix(const char *s, struct pfx *p, char *why, size_t len)
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
	if (!parse_addr(addr, p)) {
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

static bool pfx_overlap(const struct pfx *a, const struct pfx *b)
{
	return a->af == b->af && bits_equal(a->a, b->a, a->len < b->len ? a->len : b->len);
}

static bool pfx_contains(const struct pfx *p, const struct pfx *addr)
{
	return p->af == addr->af && p->len <= addr->len && bits_equal(p->a, addr->a, p->len);
}

static bool endpoint_ok(const char *s, int af)
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

/* ---- checks of one record ---- */

#define CHECK_TERM(field, label)                                                              \
	do {                                                                                   \
		if (!terminated((field), sizeof(field))) {                                     \
			WHY("%s is too long", (label));                                        \
			return false;                                                          \
		}                                                                              \
	} while (0)

static bool gateway_prefixes(const struct reg_gateway *g, struct pfx *out, char *why, size_t len)
{
	unsigned i, j;

	if (g->nprefixes > REG_MAX_PREFIXES) {
		WHY("gateway %s: %u prefixes, at most %d", g->name, g->nprefixes, REG_MAX_PREFIXES);
		return false;
	}
	for (i = 0; i < g->nprefixes; i++) {
		char w[160];

		if (!terminated(g->prefixes[i], REG_ADDR_LEN)) {
			WHY("gateway %s: prefix %u is too long", g->name, i + 1);
			return false;
		}
		if (!parse_prefix(g->prefixes[i], &out[i], w, sizeof(w))) {
			WHY("gateway %s: %s", g->name, w);
			return false;
		}
		for (j = 0; j < i; j++) {
			if (pfx_overlap(&out[i], &out[j])) {
				WHY("gateway %s: its prefixes %s and %s overlap", g->name,
				    g->prefixes[j], g->prefixes[i]);
				return false;
			}
		}
	}
	return true;
}

bool reg_gateway_check(const struct reg_gateway *g, char *why, size_t len)
{
	static const uint8_t zero[32];
	struct pfx tmp[REG_MAX_PREFIXES], a;

	CHECK_TERM(g->name, "gateway name");
	if (!gw_name_ok(g->name)) {
		WHY("gateway name '%s': 1 to %d characters of a-z, 0-9 and '-'", g->name,
		    REG_NAME_LEN - 1);
		return false;
	}
	if (g->id < 1 || g->id > REG_MAX_GATEWAY_ID) {
		WHY("gateway %s: id %u out of range 1..%d", g->name, g->id, REG_MAX_GATEWAY_ID);
		return false;
	}
	CHECK_TERM(g->region, "region");
	if (!gw_name_ok(g->region)) {
		WHY("gateway %s: region '%s': 1 to %d characters of a-z, 0-9 and '-'", g->name,
		    g->region, REG_NAME_LEN - 1);
		return false;
	}
	CHECK_TERM(g->zone, "zone");
	if (g->zone[0] && !name_chars_ok(g->zone, sizeof(g->zone) - 1, false)) {
		WHY("gateway %s: zone '%s': up to %zu characters of a-z, 0-9 and '-'", g->name,
		    g->zone, sizeof(g->zone) - 1);
		return false;
	}
	if (!memcmp(g->public_key, zero, sizeof(zero))) {
		WHY("gateway %s: public key is all zeros", g->name);
		return false;
	}
	CHECK_TERM(g->endpoint4, "endpoint4");
	CHECK_TERM(g->endpoint6, "endpoint6");
	if (!g->endpoint4[0] && !g->endpoint6[0]) {
		WHY("gateway %s: no endpoint (IPv4 or IPv6 ADDRESS:PORT)", g->name);
		return false;
	}
	if (g->endpoint4[0] && !endpoint_ok(g->endpoint4, AF_INET)) {
		WHY("gateway %s: endpoint '%s' is not a.b.c.d:PORT", g->name, g->endpoint4);
		return false;
	}
	if (g->endpoint6[0] && !endpoint_ok(g->endpoint6, AF_INET6)) {
		WHY("gateway %s: endpoint '%s' is not [IPv6]:PORT", g->name, g->endpoint6);
		return false;
	}
	CHECK_TERM(g->overlay4, "overlay4");
	CHECK_TERM(g->overlay6, "overlay6");
	if (g->overlay4[0] && (!parse_addr(g->overlay4, &a) || a.af != AF_INET)) {
		WHY("gateway %s: overlay4 '%s' is not an IPv4 address", g->name, g->overlay4);
		return false;
	}
	if (g->overlay6[0] && (!parse_addr(g->overlay6, &a) || a.af != AF_INET6)) {
		WHY("gateway %s: overlay6 '%s' is not an IPv6 address", g->name, g->overlay6);
		return false;
	}
	return gateway_prefixes(g, tmp, why, len);
}

bool reg_vm_check(const struct reg_vm *vm, char *why, size_t len)
{
	struct pfx a;

	CHECK_TERM(vm->name, "vm name");
	if (!vm_name_ok(vm->name)) {
		WHY("vm name '%s': 1 to %d characters of a-z, 0-9, '-' and '.', not starting with '.'",
		    vm->name, REG_VM_NAME_LEN - 1);
		return false;
	}
	CHECK_TERM(vm->address, "vm address");
	if (!parse_addr(vm->address, &a)) {
		WHY("vm %s: address '%s' is not an IPv4 or IPv6 address", vm->name, vm->address);
		return false;
	}
	CHECK_TERM(vm->gateway, "vm gateway");
	if (!gw_name_ok(vm->gateway)) {
		WHY("vm %s: gateway name '%s' is not valid", vm->name, vm->gateway);
		return false;
	}
	return true;
}

bool reg_policy_check(const struct reg_policy *p, char *why, size_t len)
{
	if (p->hop_limit < 1 || p->hop_limit > 8) {
		WHY("policy: hop_limit %u out of range 1..8", p->hop_limit);
		return false;
	}
	if (!isfinite(p->loss_penalty_ms) || p->loss_penalty_ms < 0) {
		WHY("policy: loss_penalty_ms %g must be a number >= 0", p->loss_penalty_ms);
		return false;
	}
	return true;
}

void reg_policy_default(struct reg_policy *p)
{
	p->hop_limit = 2;
	p->residency = false;
	p->loss_penalty_ms = 1000;
}

bool reg_link_check(const struct reg_link *l, char *why, size_t len)
{
	const double v[] = {l->rtt_ms, l->rtt_p50_ms, l->rtt_p90_ms, l->rtt_p99_ms, l->jitter_ms};
	static const char *const names[] = {"rtt_ms", "rtt_p50_ms", "rtt_p90_ms", "rtt_p99_ms",
					    "jitter_ms"};
	unsigned i;

	CHECK_TERM(l->from, "link from");
	CHECK_TERM(l->to, "link to");
	if (!gw_name_ok(l->from) || !gw_name_ok(l->to)) {
		WHY("link %s -> %s: gateway names are not valid", l->from, l->to);
		return false;
	}
	if (!strcmp(l->from, l->to)) {
		WHY("link %s -> %s: a link joins two different gateways", l->from, l->to);
		return false;
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (!isfinite(v[i]) || v[i] < 0) {
			WHY("link %s -> %s: %s %g must be a number >= 0", l->from, l->to, names[i],
			    v[i]);
			return false;
		}
	}
	if (!isfinite(l->loss) || l->loss < 0 || l->loss > 1) {
		WHY("link %s -> %s: loss %g out of range 0..1", l->from, l->to, l->loss);
		return false;
	}
	return true;
}

/* ---- checks across records ---- */

static const struct reg_gateway *find_gateway(const struct reg_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->ngateways; i++)
		if (!strcmp(s->gateways[i].name, name))
			return &s->gateways[i];
	return NULL;
}

/* Is addr inside one of g's prefixes? */
static bool gateway_holds(const struct reg_gateway *g, const struct pfx *addr)
{
	unsigned i;
	struct pfx p;

	for (i = 0; i < g->nprefixes && i < REG_MAX_PREFIXES; i++)
		if (parse_prefix(g->prefixes[i], &p, NULL, 0) && pfx_contains(&p, addr))
			return true;
	return false;
}

bool reg_gateway_fits(const struct reg_snapshot *s, const struct reg_gateway *g, char *why, size_t len)
{
	struct pfx mine[REG_MAX_PREFIXES], other;
	unsigned i, j, k;

	if (!gateway_prefixes(g, mine, why, len))
		return false;
	for (i = 0; i < s->ngateways; i++) {
		const struct reg_gateway *o = &s->gateways[i];

		if (!strcmp(o->name, g->name))
			continue; /* replaced */
		if (o->id == g->id) {
			WHY("gateway %s: id %u is already gateway %s's", g->name, g->id, o->name);
			return false;
		}
		/* WireGuard knows a peer by its key: two gateways with one key
		 * would be one peer to everybody (a key pasted on the wrong
		 * record). */
		if (!memcmp(o->public_key, g->public_key, sizeof(g->public_key))) {
			WHY("gateway %s: public key is already gateway %s's", g->name, o->name);
			return false;
		}
		for (j = 0; j < o->nprefixes && j < REG_MAX_PREFIXES; j++) {
			if (!parse_prefix(o->prefixes[j], &other, NULL, 0))
				continue;
			for (k = 0; k < g->nprefixes; k++) {
				if (pfx_overlap(&mine[k], &other)) {
					WHY("gateway %s: prefix %s overlaps gateway %s's %s", g->name,
					    g->prefixes[k], o->name, o->prefixes[j]);
					return false;
				}
			}
		}
	}
	/* Replacing a gateway must not leave its VMs outside its prefixes. */
	for (i = 0; i < s->nvms; i++) {
		struct pfx a;

		if (strcmp(s->vms[i].gateway, g->name) || !parse_addr(s->vms[i].address, &a))
			continue;
		if (!gateway_holds(g, &a)) {
			WHY("gateway %s: vm %s (%s) would fall outside its prefixes", g->name,
			    s->vms[i].name, s->vms[i].address);
			return false;
		}
	}
	return true;
}

static bool addr_equal(const struct pfx *a, const struct pfx *b)
{
	return a->af == b->af && !memcmp(a->a, b->a, a->af == AF_INET ? 4 : 16);
}

/* Gateway known and address inside it; the address not another VM's unless
 * addr_unique is false (assembly checks uniqueness in one sorted pass). */
static bool vm_fits(const struct reg_snapshot *s, const struct reg_vm *vm, bool addr_unique,
		    char *why, size_t len)
{
	const struct reg_gateway *g = find_gateway(s, vm->gateway);
	struct pfx a, b;
	unsigned i;

	if (!g) {
		WHY("vm %s: unknown gateway %s", vm->name, vm->gateway);
		return false;
	}
	if (!parse_addr(vm->address, &a)) {
		WHY("vm %s: address '%s' is not an IPv4 or IPv6 address", vm->name, vm->address);
		return false;
	}
	if (!gateway_holds(g, &a)) {
		WHY("vm %s: address %s is outside gateway %s's prefixes", vm->name, vm->address,
		    g->name);
		return false;
	}
	if (addr_unique) {
		for (i = 0; i < s->nvms; i++) {
			if (!strcmp(s->vms[i].name, vm->name) ||
			    !parse_addr(s->vms[i].address, &b) || !addr_equal(&a, &b))
				continue;
			WHY("vm %s: address %s is already vm %s's", vm->name, vm->address,
			    s->vms[i].name);
			return false;
		}
	}
	return true;
}

bool reg_vm_fits(const struct reg_snapshot *s, const struct reg_vm *vm, char *why, size_t len)
{
	return vm_fits(s, vm, true, why, len);
}

/* ---- JSON ---- */

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	json_decref(o);
	return s;
}

/* json_object_set_new() that remembers a failure (NULL value, no memory). */
static void put(json_t *o, const char *k, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, k, v))
		*ok = false;
}

/* NULL for a non-finite number: JSON has none. */
static json_t *real(double d)
{
	return isfinite(d) ? json_real(d) : NULL;
}

char *reg_gateway_json(const struct reg_gateway *g)
{
	json_t *o = json_object(), *a = json_array();
	char *key = reg_b64_encode(g->public_key, sizeof(g->public_key));
	bool ok = o && a && key;
	unsigned i;

	for (i = 0; ok && i < g->nprefixes && i < REG_MAX_PREFIXES; i++)
		if (json_array_append_new(a, json_stringn(g->prefixes[i],
							  strnlen(g->prefixes[i], REG_ADDR_LEN))))
			ok = false;
	if (ok) {
		put(o, "name", json_stringn(g->name, strnlen(g->name, sizeof(g->name))), &ok);
		put(o, "id", json_integer(g->id), &ok);
		put(o, "region", json_stringn(g->region, strnlen(g->region, sizeof(g->region))), &ok);
		put(o, "zone", json_stringn(g->zone, strnlen(g->zone, sizeof(g->zone))), &ok);
		put(o, "public_key", json_string(key), &ok);
		put(o, "endpoint4",
		    json_stringn(g->endpoint4, strnlen(g->endpoint4, sizeof(g->endpoint4))), &ok);
		put(o, "endpoint6",
		    json_stringn(g->endpoint6, strnlen(g->endpoint6, sizeof(g->endpoint6))), &ok);
		put(o, "overlay4",
		    json_stringn(g->overlay4, strnlen(g->overlay4, sizeof(g->overlay4))), &ok);
		put(o, "overlay6",
		    json_stringn(g->overlay6, strnlen(g->overlay6, sizeof(g->overlay6))), &ok);
		put(o, "prefixes", a, &ok);
		a = NULL;
	}
	free(key);
	json_decref(a);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *reg_vm_json(const struct reg_vm *vm)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (ok) {
		put(o, "name", json_stringn(vm->name, strnlen(vm->name, sizeof(vm->name))), &ok);
		put(o, "address",
		    json_stringn(vm->address, strnlen(vm->address, sizeof(vm->address))), &ok);
		put(o, "gateway",
		    json_stringn(vm->gateway, strnlen(vm->gateway, sizeof(vm->gateway))), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *reg_policy_json(const struct reg_policy *p)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (ok) {
		put(o, "hop_limit", json_integer(p->hop_limit), &ok);
		put(o, "residency", json_boolean(p->residency), &ok);
		put(o, "loss_penalty_ms", real(p->loss_penalty_ms), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *reg_link_json_expiring(const struct reg_link *l, uint64_t expires_unix_ms)
{
	json_t *o = json_object();
	bool ok = o != NULL;
	const double v[] = {l->rtt_ms, l->rtt_p50_ms, l->rtt_p90_ms, l->rtt_p99_ms, l->loss,
			    l->jitter_ms};
	unsigned i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!isfinite(v[i]))
			ok = false;
	if (ok) {
		put(o, "from", json_stringn(l->from, strnlen(l->from, sizeof(l->from))), &ok);
		put(o, "to", json_stringn(l->to, strnlen(l->to, sizeof(l->to))), &ok);
		put(o, "rtt_ms", real(l->rtt_ms), &ok);
		put(o, "rtt_p50_ms", real(l->rtt_p50_ms), &ok);
		put(o, "rtt_p90_ms", real(l->rtt_p90_ms), &ok);
		put(o, "rtt_p99_ms", real(l->rtt_p99_ms), &ok);
		put(o, "loss", real(l->loss), &ok);
		put(o, "jitter_ms", real(l->jitter_ms), &ok);
		put(o, "up", json_boolean(l->up), &ok);
		put(o, "updated_unix_ms", json_integer((json_int_t)l->updated_unix_ms), &ok);
		if (expires_unix_ms)
			put(o, "expires_unix_ms", json_integer((json_int_t)expires_unix_ms), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *reg_link_json(const struct reg_link *l)
{
	return reg_link_json_expiring(l, 0);
}

/* Decoding: strict types, strings must fit, fields named like a private key
 * anywhere in the record make it corrupt. Unknown fields are ignored, so an
 * older reader takes a newer writer's records. */

/* A name that only a secret goes by: a WireGuard private or preshared key. */
static bool secret_name(const char *k)
{
	return strcasestr(k, "private") || strcasestr(k, "preshared") || strcasestr(k, "secret");
}

static bool find_private(json_t *v, char *why, size_t len)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (secret_name(k)) {
				WHY("carries a private key field '%.40s': refused, the registry holds public keys only",
				    k);
				return true;
			}
			if (find_private(x, why, len))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (find_private(x, why, len))
				return true;
		}
	}
	return false;
}

static json_t *parse_object(const char *text, char *why, size_t len)
{
	json_error_t e;
	json_t *o;

	if (strlen(text) > REG_MAX_RECORD) {
		WHY("record larger than %d bytes", REG_MAX_RECORD);
		return NULL;
	}
	o = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!o) {
		WHY("bad JSON at line %d column %d: %s", e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		WHY("not a JSON object");
		json_decref(o);
		return NULL;
	}
	if (find_private(o, why, len)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool get_str(json_t *o, const char *k, char *buf, size_t cap, bool required, char *why,
		    size_t len)
{
	json_t *v = json_object_get(o, k);

	buf[0] = '\0';
	if (!v) {
		if (required)
			WHY("missing field \"%s\"", k);
		return !required;
	}
	if (!json_is_string(v)) {
		WHY("field \"%s\" is not a string", k);
		return false;
	}
	if (json_string_length(v) >= cap) {
		WHY("field \"%s\" is longer than %zu characters", k, cap - 1);
		return false;
	}
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_int(json_t *o, const char *k, long long min, long long max, long long *out,
		    bool required, char *why, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!v) {
		if (required)
			WHY("missing field \"%s\"", k);
		return !required;
	}
	if (!json_is_integer(v)) {
		WHY("field \"%s\" is not an integer", k);
		return false;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		WHY("field \"%s\" out of range %lld..%lld", k, min, max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static bool get_num(json_t *o, const char *k, double *out, char *why, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!v)
		return true;
	if (!json_is_number(v)) {
		WHY("field \"%s\" is not a number", k);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

static bool get_bool(json_t *o, const char *k, bool *out, char *why, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!v)
		return true;
	if (!json_is_boolean(v)) {
		WHY("field \"%s\" is not true or false", k);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

static bool gateway_from_json(const char *text, struct reg_gateway *g, char *why, size_t len)
{
	json_t *o = parse_object(text, why, len), *a, *v;
	char key[64];
	long long id = 0;
	size_t i;
	bool ok = false;

	memset(g, 0, sizeof(*g));
	if (!o)
		return false;
	if (!get_str(o, "name", g->name, sizeof(g->name), true, why, len) ||
	    !get_int(o, "id", 1, REG_MAX_GATEWAY_ID, &id, true, why, len) ||
	    !get_str(o, "region", g->region, sizeof(g->region), true, why, len) ||
	    !get_str(o, "zone", g->zone, sizeof(g->zone), false, why, len) ||
	    !get_str(o, "public_key", key, sizeof(key), true, why, len) ||
	    !get_str(o, "endpoint4", g->endpoint4, sizeof(g->endpoint4), false, why, len) ||
	    !get_str(o, "endpoint6", g->endpoint6, sizeof(g->endpoint6), false, why, len) ||
	    !get_str(o, "overlay4", g->overlay4, sizeof(g->overlay4), false, why, len) ||
	    !get_str(o, "overlay6", g->overlay6, sizeof(g->overlay6), false, why, len))
		goto out;
	g->id = (uint16_t)id;
	if (reg_b64_decode(key, strlen(key), g->public_key, sizeof(g->public_key)) != 32) {
		WHY("public_key is not the base64 of 32 bytes");
		goto out;
	}
	a = json_object_get(o, "prefixes");
	if (a) {
		if (!json_is_array(a)) {
			WHY("field \"prefixes\" is not an array");
			goto out;
		}
		if (json_array_size(a) > REG_MAX_PREFIXES) {
			WHY("more than %d prefixes", REG_MAX_PREFIXES);
			goto out;
		}
		json_array_foreach(a, i, v) {
			if (!json_is_string(v) || json_string_length(v) >= REG_ADDR_LEN) {
				WHY("prefix %zu is not a string of up to %d characters", i + 1,
				    REG_ADDR_LEN - 1);
				goto out;
			}
			memcpy(g->prefixes[i], json_string_value(v), json_string_length(v) + 1);
		}
		g->nprefixes = (unsigned)json_array_size(a);
	}
	ok = true;
out:
	json_decref(o);
	return ok;
}

static bool vm_from_json(const char *text, struct reg_vm *vm, char *why, size_t len)
{
	json_t *o = parse_object(text, why, len);
	bool ok;

	memset(vm, 0, sizeof(*vm));
	if (!o)
		return false;
	ok = get_str(o, "name", vm->name, sizeof(vm->name), true, why, len) &&
	     get_str(o, "address", vm->address, sizeof(vm->address), true, why, len) &&
	     get_str(o, "gateway", vm->gateway, sizeof(vm->gateway), true, why, len);
	json_decref(o);
	return ok;
}

static bool policy_from_json(const char *text, struct reg_policy *p, char *why, size_t len)
{
	json_t *o = parse_object(text, why, len);
	long long hops = 2;
	bool ok;

	reg_policy_default(p);
	if (!o)
		return false;
	ok = get_int(o, "hop_limit", 0, 1000, &hops, false, why, len) &&
	     get_bool(o, "residency", &p->residency, why, len) &&
	     get_num(o, "loss_penalty_ms", &p->loss_penalty_ms, why, len);
	p->hop_limit = (unsigned)hops;
	json_decref(o);
	return ok;
}

bool reg_link_parse(const char *text, struct reg_link *l, long long *expires, char *why,
		    size_t len)
{
	json_t *o = parse_object(text, why, len);
	long long upd = 0;
	bool ok;

	memset(l, 0, sizeof(*l));
	*expires = -1;
	if (!o)
		return false;
	ok = get_str(o, "from", l->from, sizeof(l->from), true, why, len) &&
	     get_str(o, "to", l->to, sizeof(l->to), true, why, len) &&
	     get_num(o, "rtt_ms", &l->rtt_ms, why, len) &&
	     get_num(o, "rtt_p50_ms", &l->rtt_p50_ms, why, len) &&
	     get_num(o, "rtt_p90_ms", &l->rtt_p90_ms, why, len) &&
	     get_num(o, "rtt_p99_ms", &l->rtt_p99_ms, why, len) &&
	     get_num(o, "loss", &l->loss, why, len) &&
	     get_num(o, "jitter_ms", &l->jitter_ms, why, len) &&
	     get_bool(o, "up", &l->up, why, len) &&
	     get_int(o, "updated_unix_ms", 0, INT64_MAX, &upd, false, why, len) &&
	     get_int(o, "expires_unix_ms", 0, INT64_MAX, expires, false, why, len);
	l->updated_unix_ms = (uint64_t)upd;
	json_decref(o);
	return ok;
}

/* ---- entries and snapshot assembly ---- */

int reg_entries_add(struct reg_entries *es, const char *where, const char *key, const char *value,
		    size_t len, const char *read_error, long long mod_revision)
{
	struct reg_entry *e;

	if (es->n == es->cap) {
		unsigned cap = es->cap ? es->cap * 2 : 64;
		struct reg_entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n];
	memset(e, 0, sizeof(*e));
	e->where = strdup(where);
	e->key = strdup(key);
	if (value) {
		e->value = malloc(len + 1);
		if (e->value) {
			memcpy(e->value, value, len);
			e->value[len] = '\0';
		}
	}
	if (read_error)
		e->read_error = strdup(read_error);
	e->mod_revision = mod_revision;
	if (!e->where || !e->key || (value && !e->value) || (read_error && !e->read_error)) {
		free(e->where);
		free(e->key);
		free(e->value);
		free(e->read_error);
		return -1;
	}
	es->n++;
	return 0;
}

void reg_entries_free(struct reg_entries *es)
{
	unsigned i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].where);
		free(es->v[i].key);
		free(es->v[i].value);
		free(es->v[i].read_error);
	}
	free(es->v);
	memset(es, 0, sizeof(*es));
}

const struct reg_entry *reg_entries_find(const struct reg_entries *es, const char *key)
{
	unsigned i;

	for (i = 0; i < es->n; i++)
		if (!strcmp(es->v[i].key, key))
			return &es->v[i];
	return NULL;
}

enum reg_kind reg_key_parse(const char *key, char *name, size_t namelen, char *name2,
			    size_t name2len)
{
	const char *rest, *slash;

	name[0] = '\0';
	if (name2len)
		name2[0] = '\0';
	if (!strcmp(key, "policy"))
		return REG_K_POLICY;
	if (!strncmp(key, "gateways/", 9)) {
		rest = key + 9;
		if (strlen(rest) >= namelen || strlen(rest) >= REG_NAME_LEN || !gw_name_ok(rest))
			return REG_K_NONE;
		strcpy(name, rest);
		return REG_K_GATEWAY;
	}
	if (!strncmp(key, "vms/", 4)) {
		rest = key + 4;
		if (strlen(rest) >= namelen || strlen(rest) >= REG_VM_NAME_LEN || !vm_name_ok(rest))
			return REG_K_NONE;
		strcpy(name, rest);
		return REG_K_VM;
	}
	if (!strncmp(key, "links/", 6)) {
		rest = key + 6;
		slash = strchr(rest, '/');
		if (!slash || (size_t)(slash - rest) >= namelen ||
		    (size_t)(slash - rest) >= REG_NAME_LEN || strlen(slash + 1) >= name2len ||
		    strlen(slash + 1) >= REG_NAME_LEN)
			return REG_K_NONE;
		memcpy(name, rest, (size_t)(slash - rest));
		name[slash - rest] = '\0';
		strcpy(name2, slash + 1);
		if (!gw_name_ok(name) || !gw_name_ok(name2))
			return REG_K_NONE;
		return REG_K_LINK;
	}
	return REG_K_NONE;
}

/* Does key lie in one of the layout's folders (so a bad name there is worth
 * a problem line, where an unknown top-level key is ignored)? */
static bool key_in_layout(const char *key)
{
	return !strncmp(key, "gateways/", 9) || !strncmp(key, "vms/", 4) ||
	       !strncmp(key, "links/", 6) || !strcmp(key, "policy");
}

#define KEPT "; keeping its last good version"

struct problems {
	char **v;
	unsigned n, cap;
	bool nomem;
};

static void problem(struct problems *p, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct problems *p, const char *where, const char *fmt, ...)
{
	char msg[512], *line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->n == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 16;
		char **v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			p->nomem = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	/* where may be a stored key of any length: keep the line short */
	if (asprintf(&line, "%.200s%s: %s", where, strlen(where) > 200 ? "..." : "", msg) < 0) {
		p->nomem = true;
		return;
	}
	/* one line: no newline or control character from stored data */
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	p->v[p->n++] = line;
}

struct gw_item {
	struct reg_gateway g;
	const char *where;
	bool known;        /* in the caller's last good snapshot */
};
struct vm_item {
	struct reg_vm vm;
	const char *where;
	struct pfx addr;
	bool skip;
	bool known;
};
struct link_item {
	struct reg_link l;
};

/* Of two records that clash, the one already known wins, then the one whose
 * name sorts first: a newcomer never displaces a record in use. */
static int cmp_gw(const void *a, const void *b)
{
	const struct gw_item *x = a, *y = b;

	return x->known != y->known ? y->known - x->known : strcmp(x->g.name, y->g.name);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct vm_item *x = a, *y = b;

	return x->known != y->known ? y->known - x->known : strcmp(x->vm.name, y->vm.name);
}

static int cmp_vm_addr(const void *a, const void *b)
{
	const struct vm_item *const *x = a, *const *y = b;
	int c = (*x)->addr.af - (*y)->addr.af;

	if (!c)
		c = memcmp((*x)->addr.a, (*y)->addr.a, 16);
	if (!c)
		c = cmp_vm(*x, *y);
	return c;
}

static int cmp_link(const void *a, const void *b)
{
	const struct reg_link *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

static const struct reg_gateway *known_gateway(const struct reg_snapshot *last, const char *name)
{
	for (unsigned i = 0; last && i < last->ngateways; i++)
		if (!strcmp(last->gateways[i].name, name))
			return &last->gateways[i];
	return NULL;
}

static const struct reg_vm *known_vm(const struct reg_snapshot *last, const char *name)
{
	for (unsigned i = 0; last && i < last->nvms; i++)
		if (!strcmp(last->vms[i].name, name))
			return &last->vms[i];
	return NULL;
}

/* A stored gateway or VM that no longer reads or validates: its last good
 * version stands in for it, if there is one (a corrupted record of a gateway
 * in use must not take its tunnel down); else it is left out. */
static bool keep_gateway(struct gw_item *it, const struct reg_snapshot *last, const char *name,
			 const char *where)
{
	const struct reg_gateway *g = known_gateway(last, name);

	if (!g)
		return false;
	it->g = *g;
	it->where = where;
	it->known = true;
	return true;
}

static bool keep_vm(struct vm_item *it, const struct reg_snapshot *last, const char *name,
		    const char *where)
{
	const struct reg_vm *vm = known_vm(last, name);

	if (!vm)
		return false;
	it->vm = *vm;
	it->where = where;
	it->known = true;
	parse_addr(vm->address, &it->addr);
	return true;
}

int reg_assemble(const struct reg_entries *es, bool expiry, uint64_t now_unix_ms,
		 const struct reg_snapshot *last, struct reg_snapshot *out)
{
	struct gw_item *gws = calloc(es->n + 1, sizeof(*gws));
	struct vm_item *vms = calloc(es->n + 1, sizeof(*vms));
	struct vm_item **byaddr = NULL;
	struct reg_link *links = calloc(es->n + 1, sizeof(*links));
	struct problems pr = {0};
	unsigned ngw = 0, nvm = 0, nlink = 0, i, j;
	char why[400];

	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	if (!gws || !vms || !links)
		goto nomem;

	for (i = 0; i < es->n; i++) {
		const struct reg_entry *e = &es->v[i];
		char n1[REG_VM_NAME_LEN], n2[REG_NAME_LEN];
		enum reg_kind k = reg_key_parse(e->key, n1, sizeof(n1), n2, sizeof(n2));

		if (k == REG_K_NONE) {
			if (key_in_layout(e->key))
				problem(&pr, e->where, "bad key (names: a-z, 0-9, '-'%s)",
					!strncmp(e->key, "vms/", 4) ? ", '.'" : "");
			continue;
		}
		if (!e->value) {
			bool kept = (k == REG_K_GATEWAY && keep_gateway(&gws[ngw], last, n1, e->where) &&
				     ++ngw) ||
				    (k == REG_K_VM && keep_vm(&vms[nvm], last, n1, e->where) && ++nvm);

			problem(&pr, e->where, "unreadable: %s%s",
				e->read_error ? e->read_error : "unknown error", kept ? KEPT : "");
			continue;
		}
		switch (k) {
		case REG_K_GATEWAY: {
			struct reg_gateway *g = &gws[ngw].g;

			if (!gateway_from_json(e->value, g, why, sizeof(why)) ||
			    !reg_gateway_check(g, why, sizeof(why))) {
				bool kept = keep_gateway(&gws[ngw], last, n1, e->where) && ++ngw;

				problem(&pr, e->where, "%s%s", why, kept ? KEPT : "");
				break;
			}
			if (strcmp(g->name, n1)) {
				bool kept = keep_gateway(&gws[ngw], last, n1, e->where) && ++ngw;

				problem(&pr, e->where, "record names gateway '%s', key says '%s'%s",
					g->name, n1, kept ? KEPT : "");
				break;
			}
			gws[ngw].known = known_gateway(last, n1);
			gws[ngw++].where = e->where;
			break;
		}
		case REG_K_VM: {
			struct reg_vm *vm = &vms[nvm].vm;

			if (!vm_from_json(e->value, vm, why, sizeof(why)) ||
			    !reg_vm_check(vm, why, sizeof(why))) {
				bool kept = keep_vm(&vms[nvm], last, n1, e->where) && ++nvm;

				problem(&pr, e->where, "%s%s", why, kept ? KEPT : "");
				break;
			}
			if (strcmp(vm->name, n1)) {
				bool kept = keep_vm(&vms[nvm], last, n1, e->where) && ++nvm;

				problem(&pr, e->where, "record names vm '%s', key says '%s'%s", vm->name,
					n1, kept ? KEPT : "");
				break;
			}
			parse_addr(vm->address, &vms[nvm].addr);
			vms[nvm].known = known_vm(last, n1);
			vms[nvm++].where = e->where;
			break;
		}
		case REG_K_POLICY: {
			struct reg_policy p;

			if (!policy_from_json(e->value, &p, why, sizeof(why)) ||
			    !reg_policy_check(&p, why, sizeof(why))) {
				problem(&pr, e->where, "%s; using the %s policy", why,
					last ? "last good" : "default");
				if (last)
					out->policy = last->policy;
				break;
			}
			out->policy = p;
			break;
		}
		case REG_K_LINK: {
			struct reg_link *l = &links[nlink];
			long long exp;

			if (!reg_link_parse(e->value, l, &exp, why, sizeof(why)) ||
			    !reg_link_check(l, why, sizeof(why))) {
				problem(&pr, e->where, "%s", why);
				break;
			}
			if (strcmp(l->from, n1) || strcmp(l->to, n2)) {
				problem(&pr, e->where, "record is link %s -> %s, key says %s -> %s",
					l->from, l->to, n1, n2);
				break;
			}
			if (expiry) {
				if (exp < 0) {
					problem(&pr, e->where, "link without expires_unix_ms");
					break;
				}
				if ((uint64_t)exp <= now_unix_ms)
					break; /* expired: left out, not a problem */
			}
			nlink++;
			break;
		}
		case REG_K_NONE:
			break;
		}
	}

	/* Gateways by name; each must fit those before it. */
	qsort(gws, ngw, sizeof(*gws), cmp_gw);
	out->gateways = calloc(ngw + 1, sizeof(*out->gateways));
	if (!out->gateways)
		goto nomem;
	for (i = 0; i < ngw; i++) {
		if (!reg_gateway_fits(out, &gws[i].g, why, sizeof(why))) {
			problem(&pr, gws[i].where, "%s; skipped (%s)", why,
				gws[i].known || !last ? "the other sorts first"
						      : "a newcomer: the record in use wins");
			continue;
		}
		out->gateways[out->ngateways++] = gws[i].g;
	}

	/* VMs by name: gateway known and address inside it; then addresses
	 * unique, the first by name keeping its address. */
	qsort(vms, nvm, sizeof(*vms), cmp_vm);
	byaddr = calloc(nvm + 1, sizeof(*byaddr));
	out->vms = calloc(nvm + 1, sizeof(*out->vms));
	if (!byaddr || !out->vms)
		goto nomem;
	for (i = 0, j = 0; i < nvm; i++) {
		if (!vm_fits(out, &vms[i].vm, false, why, sizeof(why))) {
			problem(&pr, vms[i].where, "%s", why);
			vms[i].skip = true;
			continue;
		}
		byaddr[j++] = &vms[i];
	}
	qsort(byaddr, j, sizeof(*byaddr), cmp_vm_addr);
	for (i = 0; i < j;) {
		unsigned k = i + 1;

		for (; k < j && addr_equal(&byaddr[k]->addr, &byaddr[i]->addr); k++) {
			byaddr[k]->skip = true;
			problem(&pr, byaddr[k]->where,
				"vm %s: address %s is already vm %s's; skipped (%s)",
				byaddr[k]->vm.name, byaddr[k]->vm.address, byaddr[i]->vm.name,
				byaddr[k]->known || !last ? "the other sorts first"
							  : "a newcomer: the record in use wins");
		}
		i = k;
	}
	for (i = 0; i < nvm; i++)
		if (!vms[i].skip)
			out->vms[out->nvms++] = vms[i].vm;

	qsort(links, nlink, sizeof(*links), cmp_link);
	out->links = links;
	out->nlinks = nlink;
	links = NULL;

	if (pr.nomem)
		goto nomem;
	out->problems = pr.v;
	out->nproblems = pr.n;
	free(gws);
	free(vms);
	free(byaddr);
	return 0;

nomem:
	for (i = 0; i < pr.n; i++)
		free(pr.v[i]);
	free(pr.v);
	free(gws);
	free(vms);
	free(byaddr);
	free(links);
	free(out->gateways);
	free(out->vms);
	free(out->links);
	memset(out, 0, sizeof(*out));
	reg_policy_default(&out->policy);
	return -1;
}

void reg_snapshot_free(struct reg_snapshot *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < s->nproblems; i++)
		free(s->problems[i]);
	free(s->problems);
	free(s->gateways);
	free(s->vms);
	free(s->links);
	memset(s, 0, sizeof(*s));
}

/* ---- the public entry points ---- */

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
	if (rc == 0 && reg_assemble(&es, r->ops->expiry, reg_now_unix_ms(), last, out) < 0) {
		reg_err(err, errlen, "out of memory");
		rc = -1;
	}
	reg_entries_free(&es);
	return rc;
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

static bool gateway_unused(const struct reg_snapshot *s, const void *arg, char *why, size_t len)
{
	const char *name = arg;
	unsigned i, n = 0;
	const char *first = NULL;

	for (i = 0; i < s->nvms; i++) {
		if (!strcmp(s->vms[i].gateway, name)) {
			if (!first)
				first = s->vms[i].name;
			n++;
		}
	}
	if (n) {
		WHY("gateway %s still has %u vm%s (%s%s): delete them first", name, n,
		    n == 1 ? "" : "s", first, n > 1 ? ", ..." : "");
		return false;
	}
	return true;
}

int registry_put_gateway(struct registry *r, const struct reg_gateway *g, char *err, size_t errlen)
{
	struct reg_write w = {.kind = REG_K_GATEWAY, .check = fits_gateway, .arg = g};
	char what[64];
	int rc;

	if (!reg_gateway_check(g, err, errlen))
		return -1;
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
	struct reg_write w = {.kind = REG_K_GATEWAY, .check = gateway_unused, .arg = name};
	char what[64];

	if (!name || strlen(name) >= REG_NAME_LEN || !gw_name_ok(name)) {
		reg_err(err, errlen, "gateway name '%.40s' is not valid", name ? name : "(null)");
		return -1;
	}
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

	if (!name || strlen(name) >= REG_VM_NAME_LEN || !vm_name_ok(name)) {
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

int registry_put_link(struct registry *r, const struct reg_link *l, unsigned lease_s, char *err,
		      size_t errlen)
{
	struct reg_write w = {.kind = REG_K_LINK, .link = l, .lease_s = lease_s};
	char what[96];

	if (!reg_link_check(l, err, errlen))
		return -1;
	if (lease_s < 1 || lease_s > 86400) {
		reg_err(err, errlen, "link %s -> %s: lease %u s out of range 1..86400", l->from, l->to,
			lease_s);
		return -1;
	}
	snprintf(w.key, sizeof(w.key), "links/%s/%s", l->from, l->to);
	snprintf(what, sizeof(what), "link %s -> %s", l->from, l->to);
	w.what = what;
	return do_write(r, &w, err, errlen);
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
