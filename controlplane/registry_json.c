// SPDX-License-Identifier: MIT
/*
 * Records in JSON (registry_json.h), with jansson, both ways:
 *
 *   reg_*_json       a record as stored (and as meshctl --json prints it):
 *                    one compact object, numbers with 15 significant digits,
 *                    the public key in base64 (registry_codec.c)
 *   reg_*_parse      stored text back into a record: at most REG_MAX_RECORD
 *                    bytes, one object, no duplicate members, strict types,
 *                    no member named like a secret at any depth; unknown
 *                    members ignored (an older reader takes a newer writer's
 *                    records)
 *
 * Parsing checks the form only; registry_rules.c judges the values.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry_base.h"
#include "registry_codec.h"
#include "registry_json.h"

#define WHY(...) reg_err(why, len, __VA_ARGS__)

/* ---- serialising ---- */

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

char *reg_claim_json(const char *gateway, const char *what, long long seq)
{
	json_t *o = json_object();
	bool ok = o;

	if (ok) {
		put(o, "gateway", json_string(gateway), &ok);
		put(o, "claim", json_string(what), &ok);
		if (seq > 0)
			put(o, "seq", json_integer(seq), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

/* ---- parsing ---- */

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

bool reg_gateway_parse(const char *text, struct reg_gateway *g, char *why, size_t len)
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
	if (!reg_b64_decode_exact(key, strlen(key), g->public_key, sizeof(g->public_key))) {
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

bool reg_vm_parse(const char *text, struct reg_vm *vm, char *why, size_t len)
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

bool reg_policy_parse(const char *text, struct reg_policy *p, char *why, size_t len)
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

bool reg_claim_parse(const char *text, char *gateway, size_t gwcap, char *what, size_t whatcap,
		     long long *seq, char *why, size_t len)
{
	json_t *o = parse_object(text, why, len);
	bool ok;

	*seq = 0;
	if (!o)
		return false;
	ok = get_str(o, "gateway", gateway, gwcap, true, why, len) &&
	     get_str(o, "claim", what, whatcap, true, why, len) &&
	     get_int(o, "seq", 1, INT64_MAX, seq, false, why, len);
	json_decref(o);
	return ok;
}
