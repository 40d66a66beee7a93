// SPDX-License-Identifier: MIT
/*
 * What meshd does with a registry on each reload, at the sizes of a large
 * mesh, without I/O: the stored entries (gateways with their claims, VMs)
 * and a link-state database with every gateway's links are made in memory
 * once, then timed:
 *
 *   assemble   reg_assemble over the entries, with the last snapshot (meshd's
 *              case: every record "known");
 *   topofeed   topofeed_gateways and topofeed_lsdb of that snapshot and the
 *              database into a topology (meshd's feed after a reload).
 *
 * Each figure is the median of R runs (default 5), with min and max.
 *
 *   bench_registry [--runs R] [--out FILE]
 *
 * Rows: G gateways (each with one prefix, a full mesh of G(G-1) links) and V
 * VMs spread over them: 100/10,000, 100/20,000, 200/20,000, 1,000/100,000.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_env.h"
#include "registry.h"
#include "registry_assemble.h"
#include "registry_entries.h"
#include "registry_json.h"
#include "topofeed.h"

static void add(struct reg_entries *es, const char *key, char *json, long long rev)
{
	if (!json || reg_entries_add(es, key, key, json, strlen(json), NULL, rev) < 0) {
		fprintf(stderr, "bench_registry: out of memory\n");
		exit(1);
	}
	es->v[es->n - 1].create_revision = rev;
	free(json);
}

/* G gateways (10.X.Y.0/24 each, X.Y from the id), their claims, V VMs. */
static void make(struct reg_entries *es, unsigned g, unsigned v)
{
	char key[REG_KEY_LEN];
	long long rev = 1;
	unsigned i, j;

	for (i = 1; i <= g; i++) {
		struct reg_gateway gw = {0};
		struct reg_claims c;

		snprintf(gw.name, sizeof(gw.name), "gw-%u", i);
		gw.id = (uint16_t)i;
		snprintf(gw.region, sizeof(gw.region), "r%u", i);
		for (j = 0; j < 32; j++)
			gw.public_key[j] = (uint8_t)(i * 7 + j + 1);
		gw.public_key[0] = (uint8_t)i;
		gw.public_key[1] = (uint8_t)(i >> 8);
		snprintf(gw.endpoint4, sizeof(gw.endpoint4), "192.0.2.%u:51820", i % 250 + 1);
		snprintf(gw.prefixes[0], sizeof(gw.prefixes[0]), "10.%u.%u.0/24", i / 256, i % 256);
		gw.nprefixes = 1;
		snprintf(key, sizeof(key), "gateways/%s", gw.name);
		add(es, key, reg_gateway_json(&gw), rev++);
		reg_claims_of(&gw, NULL, &c);
		for (j = 0; j < c.n; j++)
			add(es, c.key[j], reg_claim_json(gw.name, c.what[j], 0), rev++);
	}
	for (i = 0; i < v; i++) {
		struct reg_vm vm = {0};
		unsigned owner = i % g + 1, host = i / g + 1;

		snprintf(vm.name, sizeof(vm.name), "vm-%u", i);
		snprintf(vm.address, sizeof(vm.address), "10.%u.%u.%u", owner / 256, owner % 256, host);
		snprintf(vm.gateway, sizeof(vm.gateway), "gw-%u", owner);
		snprintf(key, sizeof(key), "vms/%s", vm.name);
		add(es, key, reg_vm_json(&vm), rev++);
	}
}

/* The full mesh of links, as G origins' LSAs, in parts. */
static void make_links(struct lsdb *db, unsigned g)
{
	struct lsdb_link *l = calloc(g, sizeof(*l));

	for (unsigned i = 1; l && i <= g; i++) {
		unsigned n = 0, parts;

		for (unsigned j = 1; j <= g; j++)
			if (j != i)
				l[n++] = (struct lsdb_link){.to = (uint16_t)j, .up = true, .rtt_ms = 10 + (i * j) % 90};
		parts = (n + LSA_LINKS_MAX - 1) / LSA_LINKS_MAX;
		for (unsigned k = 0; k < parts; k++)
			if (lsdb_put(db, (uint16_t)i, 1, k, parts, l + k * LSA_LINKS_MAX,
				     n - k * LSA_LINKS_MAX < LSA_LINKS_MAX ? n - k * LSA_LINKS_MAX : LSA_LINKS_MAX, 0,
				     UINT64_MAX / 2, 0) != 1)
				l = NULL;
	}
	if (!l) {
		fprintf(stderr, "bench_registry: out of memory\n");
		exit(1);
	}
	free(l);
}

struct row {
	unsigned g, v;
	double assemble_ms[3], topofeed_ms[3]; /* median, min, max */
};

static void stats(double *x, unsigned n, double out[3])
{
	qsort(x, n, sizeof(*x), bench_cmp_double);
	out[0] = x[n / 2];
	out[1] = x[0];
	out[2] = x[n - 1];
}

static void run_row(struct row *r, unsigned runs)
{
	struct reg_entries es = {0};
	struct reg_snapshot last, s;
	double *a = calloc(runs, sizeof(double)), *f = calloc(runs, sizeof(double));
	struct topo *t = topo_new(REG_MAX_GATEWAY_ID);
	static struct lsdb db;
	unsigned k;

	if (!a || !f || !t) {
		fprintf(stderr, "bench_registry: out of memory\n");
		exit(1);
	}
	make(&es, r->g, r->v);
	make_links(&db, r->g);
	if (reg_assemble(&es, NULL, &last) < 0 || last.ngateways != r->g ||
	    last.nvms != r->v) {
		fprintf(stderr, "bench_registry: the snapshot is not what was made (%u/%u)\n",
			last.ngateways, last.nvms);
		exit(1);
	}
	for (k = 0; k < runs; k++) {
		struct topofeed feed = {0};
		uint64_t t0 = bench_now_ns(), t1;

		if (reg_assemble(&es, &last, &s) < 0)
			exit(1);
		t1 = bench_now_ns();
		a[k] = (double)(t1 - t0) / 1e6;
		t0 = bench_now_ns();
		topofeed_gateways(&feed, t, &s);
		topofeed_lsdb(t, &s, &db, 1);
		f[k] = (double)(bench_now_ns() - t0) / 1e6;
		reg_snapshot_free(&s);
	}
	stats(a, runs, r->assemble_ms);
	stats(f, runs, r->topofeed_ms);
	fprintf(stderr, "  %u gateways, %u VMs, %u links: assemble %.1f ms, topofeed %.1f ms\n", r->g,
		r->v, r->g * (r->g - 1), r->assemble_ms[0], r->topofeed_ms[0]);
	reg_snapshot_free(&last);
	reg_entries_free(&es);
	lsdb_clear(&db);
	topo_free(t);
	free(a);
	free(f);
}

int main(int argc, char **argv)
{
	struct row rows[] = {{.g = 100, .v = 10000}, {.g = 100, .v = 20000}, {.g = 200, .v = 20000},
			     {.g = 1000, .v = 100000}};
	unsigned runs = 5, i;
	const char *out = NULL;
	FILE *f;

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < (unsigned)argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--out") && i + 1 < (unsigned)argc)
			out = argv[++i];
		else {
			fprintf(stderr, "usage: bench_registry [--runs R] [--out FILE]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 1000) {
		fprintf(stderr, "bench_registry: --runs 1..1000\n");
		return 2;
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i], runs);
	f = out ? fopen(out, "w") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	{
		char cpu[128], when[64];
		unsigned ncpu;
		time_t wall = time(NULL);

		bench_cpu_model(cpu, sizeof(cpu), &ncpu);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&wall));
		fprintf(f, "%s, %s, %u logical CPUs, 1-minute load %.2f\n", when, cpu, ncpu,
			bench_loadavg());
	}
	fprintf(f, "\nmedian of %u runs (min - max), ms\n\n", runs);
	fprintf(f, "| gateways | VMs | links | reg_assemble (meshd, with last) | topofeed (gateways + link-state database) |\n");
	fprintf(f, "|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "| %u | %u | %u | %.1f (%.1f - %.1f) | %.1f (%.1f - %.1f) |\n", rows[i].g,
			rows[i].v, rows[i].g * (rows[i].g - 1), rows[i].assemble_ms[0],
			rows[i].assemble_ms[1], rows[i].assemble_ms[2], rows[i].topofeed_ms[0],
			rows[i].topofeed_ms[1], rows[i].topofeed_ms[2]);
	if (out)
		fclose(f);
	return 0;
}
