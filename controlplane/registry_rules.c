// SPDX-License-Identifier: MIT
/*
 * The rules of records (registry.h, registry_rules.h), in two steps:
 *
 *   one record    reg_gateway_check, reg_vm_check, reg_policy_check: every
 *                 field in its form and range (registry_syntax.c judges the
 *                 forms), strings terminated
 *   across them   reg_gateway_fits, reg_vm_fits (and reg_vm_fits_gateway,
 *                 reg_gateway_unused): a candidate against a snapshot, as if
 *                 added: ids and keys unique, prefixes apart, each VM inside
 *                 its gateway's prefixes at an address of its own
 *
 * The writes check both before they write, the loader both after reading.
 */
#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "registry_base.h"
#include "registry_rules.h"
#include "registry_syntax.h"

#define WHY(...) reg_err(why, len, __VA_ARGS__)

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* ---- checks of one record ---- */

#define CHECK_TERM(field, label)                                                              \
	do {                                                                                   \
		if (!terminated((field), sizeof(field))) {                                     \
			WHY("%s is too long", (label));                                        \
			return false;                                                          \
		}                                                                              \
	} while (0)

static bool gateway_prefixes(const struct reg_gateway *g, struct reg_pfx *out, char *why,
			     size_t len)
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
		if (!reg_prefix_parse(g->prefixes[i], &out[i], w, sizeof(w))) {
			WHY("gateway %s: %s", g->name, w);
			return false;
		}
		for (j = 0; j < i; j++) {
			if (reg_pfx_overlap(&out[i], &out[j])) {
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
	struct reg_pfx tmp[REG_MAX_PREFIXES], a;

	CHECK_TERM(g->name, "gateway name");
	if (!reg_gateway_name_valid(g->name)) {
		WHY("gateway name '%s': 1 to %d characters of a-z, 0-9 and '-'", g->name,
		    REG_NAME_LEN - 1);
		return false;
	}
	if (g->id < 1 || g->id > REG_MAX_GATEWAY_ID) {
		WHY("gateway %s: id %u out of range 1..%d", g->name, g->id, REG_MAX_GATEWAY_ID);
		return false;
	}
	CHECK_TERM(g->region, "region");
	if (!reg_gateway_name_valid(g->region)) {
		WHY("gateway %s: region '%s': 1 to %d characters of a-z, 0-9 and '-'", g->name,
		    g->region, REG_NAME_LEN - 1);
		return false;
	}
	CHECK_TERM(g->zone, "zone");
	if (g->zone[0] && !reg_name_valid(g->zone, sizeof(g->zone) - 1, false)) {
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
	if (g->endpoint4[0] && !reg_endpoint_valid(g->endpoint4, AF_INET)) {
		WHY("gateway %s: endpoint '%s' is not a.b.c.d:PORT", g->name, g->endpoint4);
		return false;
	}
	if (g->endpoint6[0] && !reg_endpoint_valid(g->endpoint6, AF_INET6)) {
		WHY("gateway %s: endpoint '%s' is not [IPv6]:PORT", g->name, g->endpoint6);
		return false;
	}
	CHECK_TERM(g->overlay4, "overlay4");
	CHECK_TERM(g->overlay6, "overlay6");
	if (g->overlay4[0] && (!reg_addr_parse(g->overlay4, &a) || a.af != AF_INET)) {
		WHY("gateway %s: overlay4 '%s' is not an IPv4 address", g->name, g->overlay4);
		return false;
	}
	if (g->overlay6[0] && (!reg_addr_parse(g->overlay6, &a) || a.af != AF_INET6)) {
		WHY("gateway %s: overlay6 '%s' is not an IPv6 address", g->name, g->overlay6);
		return false;
	}
	return gateway_prefixes(g, tmp, why, len);
}

bool reg_vm_check(const struct reg_vm *vm, char *why, size_t len)
{
	struct reg_pfx a;

	CHECK_TERM(vm->name, "vm name");
	if (!reg_vm_name_valid(vm->name)) {
		WHY("vm name '%s': 1 to %d characters of a-z, 0-9, '-' and '.', not starting with '.'",
		    vm->name, REG_VM_NAME_LEN - 1);
		return false;
	}
	CHECK_TERM(vm->address, "vm address");
	if (!reg_addr_parse(vm->address, &a)) {
		WHY("vm %s: address '%s' is not an IPv4 or IPv6 address", vm->name, vm->address);
		return false;
	}
	CHECK_TERM(vm->gateway, "vm gateway");
	if (!reg_gateway_name_valid(vm->gateway)) {
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
static bool gateway_holds(const struct reg_gateway *g, const struct reg_pfx *addr)
{
	unsigned i;
	struct reg_pfx p;

	for (i = 0; i < g->nprefixes && i < REG_MAX_PREFIXES; i++)
		if (reg_prefix_parse(g->prefixes[i], &p, NULL, 0) && reg_pfx_contains(&p, addr))
			return true;
	return false;
}

bool reg_gateway_fits(const struct reg_snapshot *s, const struct reg_gateway *g, char *why, size_t len)
{
	struct reg_pfx mine[REG_MAX_PREFIXES], other;
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
			if (!reg_prefix_parse(o->prefixes[j], &other, NULL, 0))
				continue;
			for (k = 0; k < g->nprefixes; k++) {
				if (reg_pfx_overlap(&mine[k], &other)) {
					WHY("gateway %s: prefix %s overlaps gateway %s's %s", g->name,
					    g->prefixes[k], o->name, o->prefixes[j]);
					return false;
				}
			}
		}
	}
	/* Replacing a gateway must not leave its VMs outside its prefixes. */
	for (i = 0; i < s->nvms; i++) {
		struct reg_pfx a;

		if (strcmp(s->vms[i].gateway, g->name) || !reg_addr_parse(s->vms[i].address, &a))
			continue;
		if (!gateway_holds(g, &a)) {
			WHY("gateway %s: vm %s (%s) would fall outside its prefixes", g->name,
			    s->vms[i].name, s->vms[i].address);
			return false;
		}
	}
	return true;
}

/* Gateway known and address inside it; the address not another VM's unless
 * addr_unique is false (assembly checks uniqueness in one sorted pass). */
static bool vm_fits(const struct reg_snapshot *s, const struct reg_vm *vm, bool addr_unique,
		    char *why, size_t len)
{
	const struct reg_gateway *g = find_gateway(s, vm->gateway);
	struct reg_pfx a, b;
	unsigned i;

	if (!g) {
		WHY("vm %s: unknown gateway %s", vm->name, vm->gateway);
		return false;
	}
	if (!reg_addr_parse(vm->address, &a)) {
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
			    !reg_addr_parse(s->vms[i].address, &b) || !reg_addr_equal(&a, &b))
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

bool reg_vm_fits_gateway(const struct reg_snapshot *s, const struct reg_vm *vm, char *why,
			 size_t len)
{
	return vm_fits(s, vm, false, why, len);
}

bool reg_gateway_unused(const struct reg_snapshot *s, const char *name, char *why, size_t len)
{
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
