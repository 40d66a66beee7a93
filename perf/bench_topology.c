// SPDX-License-Identifier: MIT
/*
 * Route computation for a large mesh: one gateway's topo_router_update() over
 * a full mesh of N gateways (default 1,000) with random link metrics, every
 * destination recomputed, hysteresis included. Between two updates (untimed)
 * every link's RTT gets a new sample, +-10% around its base, as measurement
 * would give it. A run is U updates (default 10) and its figure their mean;
 * the result is the median of R runs (default 5), with min and max.
 *
 *   bench_topology [--gateways N] [--runs R] [--updates U] [--seed S]
 *                  [--out FILE]
 *
 * Rows: hop limit 2 and 3, and hop limit 2 with residency (4 zones, so the
 * router also searches its own zone).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology.h"
#include "bench_env.h"

static uint64_t rng_state = 1;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rnd_unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

struct mesh {
	struct topo *t;
	unsigned n;
	double *base;   /* n1 * n1 base RTTs */
	double *loss;
	unsigned char *up;
};

static void mesh_build(struct mesh *m, unsigned n)
{
	static const char *const zones[] = { "eu", "us", "ap", "sa" };
	size_t n1 = (size_t)n + 1;

	m->n = n;
	m->t = topo_new(n);
	m->base = calloc(n1 * n1, sizeof(*m->base));
	m->loss = calloc(n1 * n1, sizeof(*m->loss));
	m->up = calloc(n1 * n1, sizeof(*m->up));
	if (!m->t || !m->base || !m->loss || !m->up) {
		fprintf(stderr, "bench_topology: out of memory for %u gateways\n", n);
		exit(1);
	}
	for (unsigned g = 1; g <= n; g++)
		topo_set_gateway(m->t, (uint16_t)g, zones[g % 4]);
	/* RTTs of 5 to 300 ms, one link in five with up to 5% loss, one in a
	 * hundred down. */
	for (unsigned a = 1; a <= n; a++)
		for (unsigned b = 1; b <= n; b++) {
			size_t i = a * n1 + b;

			if (a == b)
				continue;
			m->base[i] = 5 + 295 * rnd_unit();
			m->loss[i] = rnd() % 5 == 0 ? 0.05 * rnd_unit() : 0;
			m->up[i] = rnd() % 100 != 0;
		}
}

/* A new sample on every link: base RTT +-10%. */
static void mesh_sample(struct mesh *m)
{
	size_t n1 = (size_t)m->n + 1;

	for (unsigned a = 1; a <= m->n; a++)
		for (unsigned b = 1; b <= m->n; b++) {
			size_t i = a * n1 + b;

			if (a != b)
				topo_set_link(m->t, (uint16_t)a, (uint16_t)b, m->base[i] * (0.9 + 0.2 * rnd_unit()),
					      m->loss[i], m->up[i]);
		}
}

static void mesh_free(struct mesh *m)
{
	topo_free(m->t);
	free(m->base);
	free(m->loss);
	free(m->up);
}

struct row {
	unsigned hop_limit;
	bool residency;
	double median_ns, min_ns, max_ns;
	unsigned reachable, relayed;
};

static void bench(struct mesh *m, struct row *row, unsigned runs, unsigned updates)
{
	struct topo_policy p;
	struct topo_router *r = topo_router_new(m->t, 1);
	double *per_run = calloc(runs, sizeof(*per_run));
	uint64_t clock = 0;

	if (!r || !per_run) {
		fprintf(stderr, "bench_topology: out of memory\n");
		exit(1);
	}
	topo_policy_default(&p);
	p.hop_limit = row->hop_limit;
	p.residency = row->residency;
	mesh_sample(m);
	topo_router_update(r, &p, clock); /* warm-up: every path new */
	for (unsigned run = 0; run < runs; run++) {
		uint64_t total = 0;

		for (unsigned u = 0; u < updates; u++) {
			uint64_t t0, t1;

			mesh_sample(m);
			clock += 100000000ULL; /* 100 ms between updates */
			t0 = bench_now_ns();
			topo_router_update(r, &p, clock);
			t1 = bench_now_ns();
			total += t1 - t0;
		}
		per_run[run] = (double)total / updates;
	}
	qsort(per_run, runs, sizeof(*per_run), bench_cmp_double);
	row->median_ns = runs % 2 ? per_run[runs / 2] : (per_run[runs / 2 - 1] + per_run[runs / 2]) / 2;
	row->min_ns = per_run[0];
	row->max_ns = per_run[runs - 1];
	row->reachable = row->relayed = 0;
	for (unsigned d = 2; d <= m->n; d++) {
		struct topo_path path;

		if (topo_router_path(r, (uint16_t)d, &path)) {
			row->reachable++;
			row->relayed += path.hops > 1;
		}
	}
	free(per_run);
	topo_router_free(r);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "bench_topology: %s wants a number in %u..%u, not '%s'\n", opt, lo, hi, s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	unsigned n = 1000, runs = 5, updates = 10;
	const char *out = NULL;
	struct row rows[] = { { .hop_limit = 2 }, { .hop_limit = 3 }, { .hop_limit = 2, .residency = true } };
	const unsigned nrows = sizeof(rows) / sizeof(rows[0]);
	struct mesh m;
	char cpu[128], when[64];
	unsigned ncpu;
	time_t wall = time(NULL);
	double load_start, load_end;
	FILE *f;

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "bench_topology: %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--gateways") == 0)
			n = parse_uint(a, v, 2, 65535);
		else if (strcmp(a, "--runs") == 0)
			runs = parse_uint(a, v, 1, 1000);
		else if (strcmp(a, "--updates") == 0)
			updates = parse_uint(a, v, 1, 100000);
		else if (strcmp(a, "--seed") == 0)
			rng_state = parse_uint(a, v, 0, 4294967295u);
		else if (strcmp(a, "--out") == 0)
			out = v;
		else {
			fprintf(stderr, "usage: bench_topology [--gateways N] [--runs R] [--updates U] "
					"[--seed S] [--out FILE]\n");
			return 2;
		}
	}

	load_start = bench_loadavg();
	mesh_build(&m, n);
	bench_cpu_model(cpu, sizeof(cpu), &ncpu);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&wall));
	printf("topo_router_update, one router, full mesh of %u gateways (%u destinations), "
	       "median of %u runs of %u updates\n", n, n - 1, runs, updates);
	printf("%-9s %-9s %12s %16s %12s %12s %10s %8s\n", "hop limit", "residency", "update ms",
	       "per gateway us", "min ms", "max ms", "reachable", "relayed");
	for (unsigned i = 0; i < nrows; i++) {
		bench(&m, &rows[i], runs, updates);
		printf("%-9u %-9s %12.3f %16.3f %12.3f %12.3f %10u %8u\n", rows[i].hop_limit,
		       rows[i].residency ? "4 zones" : "off", rows[i].median_ns / 1e6,
		       rows[i].median_ns / 1e3 / (n - 1), rows[i].min_ns / 1e6, rows[i].max_ns / 1e6,
		       rows[i].reachable, rows[i].relayed);
		fflush(stdout);
	}

	load_end = bench_loadavg();
	printf("1-minute load average: %.2f at start, %.2f at end\n", load_start, load_end);

	if (out) {
		f = fopen(out, "w");
		if (!f) {
			fprintf(stderr, "bench_topology: %s: %s\n", out, strerror(errno));
			return 1;
		}
		fprintf(f, "<!-- generated by perf/bench_topology on %s; do not edit by hand -->\n\n", when);
		fprintf(f, "One router (gateway 1), full mesh of %u gateways, %u destinations; %s, %u logical CPUs.\n"
			   "Median of %u runs, each the mean of %u updates. 1-minute load average %.2f at\n"
			   "start, %.2f at end.\n\n",
			n, n - 1, cpu, ncpu, runs, updates, load_start, load_end);
		fprintf(f, "| hop limit | residency | update (ms) | per gateway (µs) | min–max (ms) "
			   "| reachable | relayed |\n");
		fprintf(f, "|---:|:---|---:|---:|---:|---:|---:|\n");
		for (unsigned i = 0; i < nrows; i++)
			fprintf(f, "| %u | %s | %.3f | %.3f | %.3f–%.3f | %u | %u |\n", rows[i].hop_limit,
				rows[i].residency ? "4 zones" : "off", rows[i].median_ns / 1e6,
				rows[i].median_ns / 1e3 / (n - 1), rows[i].min_ns / 1e6, rows[i].max_ns / 1e6,
				rows[i].reachable, rows[i].relayed);
		if (fclose(f)) {
			fprintf(stderr, "bench_topology: %s: %s\n", out, strerror(errno));
			return 1;
		}
	}
	mesh_free(&m);
	return 0;
}
