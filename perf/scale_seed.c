// SPDX-License-Identifier: MIT
/*
 * The VMs of the scale harness (perf/run-scale.sh), written to etcd in bulk:
 * 10,000 `meshctl vm add` take too long, as each reads the whole registry
 * twice (once to check, once more in its checked write: registry_etcd.c),
 * so the run's setup would grow with the square of the VMs.
 *
 *   scale_seed --registry etcd:URL,... --gateways G --vms V
 *
 * VM k of V goes to gateway g<1 + k % G> ("vm<k>", address 10.<g>.<k/250>.
 * <2 + k%250>, inside the gateway's 10.<g>.0.0/16 that the harness
 * registers). The registry library does what meshctl does, except for the
 * write: the registry is read once (registry_load), every record is checked
 * as meshctl checks it (reg_vm_check, reg_vm_fits against that snapshot; the
 * names and addresses are made distinct, so the VMs written before cannot
 * clash), made by reg_vm_json, and written at its key under /hopmesh/vms/
 * by etcd_http.c, 100 puts to a transaction (etcd's default limit is 128),
 * without the per-write check that no other writer changed the registry
 * meanwhile: none does during the setup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etcd_http.h"
#include "registry.h"
#include "registry_codec.h"

#define BATCH 100

static json_t *b64_string(const char *s)
{
	char *e = reg_b64_encode(s, strlen(s));
	json_t *j = e ? json_string(e) : NULL;

	free(e);
	return j;
}

static bool make_vm(const struct reg_snapshot *s, unsigned k, unsigned gateways, struct reg_vm *vm,
		    char *why, size_t len)
{
	unsigned g = 1 + k % gateways, n = k / gateways;

	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "vm%u", k);
	snprintf(vm->address, sizeof(vm->address), "10.%u.%u.%u", g, n / 250, 2 + n % 250);
	snprintf(vm->gateway, sizeof(vm->gateway), "g%u", g);
	return reg_vm_check(vm, why, len) && reg_vm_fits(s, vm, why, len);
}

static int put_batch(struct etcd_http *h, json_t *ops, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:o}", "success", ops), *resp = NULL;
	int rc = req ? etcd_http_call(h, "/v3/kv/txn", req, &resp, err, errlen) : -1;

	json_decref(req);
	json_decref(resp);
	return rc;
}

static int seed(const char *url, unsigned gateways, unsigned vms)
{
	struct etcd_http_options hopt = { .timeout_ms = 10000 };
	struct reg_options ropt = { .timeout_ms = 10000 };
	struct registry *reg;
	struct etcd_http *h;
	struct reg_snapshot s;
	char err[512], why[256];
	json_t *ops = NULL;
	int rc = 0;

	if (strncmp(url, "etcd:", 5)) {
		fprintf(stderr, "scale_seed: --registry must be etcd:URL,...\n");
		return 2;
	}
	if (!(reg = registry_open(url, &ropt, err, sizeof(err))) || registry_load(reg, &s, err, sizeof(err)) ||
	    !(h = etcd_http_open(url + 5, &hopt, err, sizeof(err)))) {
		fprintf(stderr, "scale_seed: %s\n", err);
		return 1;
	}
	for (unsigned k = 0; k < vms && !rc; k++) {
		char key[128], *value;
		struct reg_vm vm;

		if (!make_vm(&s, k, gateways, &vm, why, sizeof(why))) {
			fprintf(stderr, "scale_seed: vm%u: %s\n", k, why);
			rc = 1;
			break;
		}
		snprintf(key, sizeof(key), "/hopmesh/vms/%s", vm.name);
		value = reg_vm_json(&vm);
		if (!ops)
			ops = json_array();
		/* A VM that cannot be encoded is an error, not an empty value:
		 * the registry would hold a record no reader can load. */
		if (!value || !ops ||
		    json_array_append_new(ops, json_pack("{s:{s:o,s:o}}", "request_put", "key", b64_string(key),
							 "value", b64_string(value)))) {
			fprintf(stderr, "scale_seed: vm%u: could not encode its record\n", k);
			free(value);
			rc = 1;
			break;
		}
		free(value);
		if (json_array_size(ops) < BATCH && k + 1 < vms)
			continue;
		if (put_batch(h, ops, err, sizeof(err))) {
			fprintf(stderr, "scale_seed: %s\n", err);
			rc = 1;
		}
		ops = NULL; /* put_batch took it */
	}
	json_decref(ops);
	reg_snapshot_free(&s);
	etcd_http_close(h);
	registry_close(reg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	unsigned gateways = 0, vms = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--registry")) {
			url = argv[i + 1];
		} else if (!strcmp(argv[i], "--gateways") || !strcmp(argv[i], "--vms")) {
			char *end;
			unsigned long v = strtoul(argv[i + 1], &end, 10);

			if (*end || end == argv[i + 1] || v > 1000000) {
				fprintf(stderr, "scale_seed: %s: '%s' is not a count\n", argv[i], argv[i + 1]);
				return 2;
			}
			*(argv[i][2] == 'g' ? &gateways : &vms) = (unsigned)v;
		} else {
			/* A misspelt option silently ignored would seed another
			 * registry than the one asked for. */
			fprintf(stderr, "scale_seed: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!url || !gateways || argc % 2 == 0) {
		fprintf(stderr, "usage: scale_seed --registry etcd:URL,... --gateways G --vms V\n");
		return 2;
	}
	return seed(url, gateways, vms);
}
