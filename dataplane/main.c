// SPDX-License-Identifier: MIT
/*
 * hopmesh-gw: a region's gateway. Reads its config file, refuses a private key
 * file others can read, brings up the two ports with a queue pair per worker,
 * then runs the packet path on the worker lcores and everything else on the
 * main lcore until SIGINT or SIGTERM.
 *
 *   hopmesh-gw -c /etc/hopmesh/gateway.conf
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "config.h"
#include "gateway.h"

#define EAL_ARGS_MAX 64

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s -c CONFIG\n"
			"  Runs a hopmesh gateway. Peers are configured with wg(8) on the\n"
			"  gateway's name, e.g. wg setconf NAME peers.conf.\n",
		prog);
}

/* EAL arguments come from the config as one whitespace-separated line. */
static int split_eal(char *line, char **argv, const char *prog)
{
	int argc = 0;

	argv[argc++] = (char *)prog;
	for (char *tok = strtok(line, " \t"); tok && argc < EAL_ARGS_MAX - 1; tok = strtok(NULL, " \t"))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return argc;
}

/* EAL leaves its runtime directory (/var/run/dpdk/PREFIX: the shared config
 * and memory maps for secondary processes, which a gateway has none of)
 * behind; one per gateway that ever ran piles up. Only the files EAL puts
 * there are removed, and the directory only if that empties it. */
static void remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_REG && e->d_type != DT_SOCK)
			continue;
		if (strncmp(e->d_name, "config", 6) && strncmp(e->d_name, "fbarray_", 8) &&
		    strncmp(e->d_name, "mp_socket", 9) && strncmp(e->d_name, "dpdk_telemetry", 14) &&
		    strcmp(e->d_name, "hugepage_info"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	static struct gateway gw;
	char err[512], *eal_argv[EAL_ARGS_MAX], runtime_dir[PATH_MAX];
	const char *config_path = NULL;
	uint8_t key[WG_KEY_LEN];
	sigset_t set;
	int opt, rc;

	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == 'c') {
			config_path = optarg;
		} else {
			/* Asked for, the usage is the answer; otherwise an error. */
			usage(opt == 'h' ? stdout : stderr, argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!config_load(&gw.cfg, config_path, err, sizeof(err)) ||
	    !config_read_private_key(gw.cfg.private_key_file, key, err, sizeof(err))) {
		fprintf(stderr, "hopmesh-gw: %s\n", err);
		return 1;
	}
	gw.workers = gw.cfg.workers;

	/* Every thread EAL creates inherits this mask; the main lcore takes the
	 * signals through a signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (rte_eal_init(split_eal(gw.cfg.eal, eal_argv, argv[0]), eal_argv) < 0) {
		fprintf(stderr, "%s: EAL: %s\n", gw.cfg.name, rte_strerror(rte_errno));
		wg_memzero(key, sizeof(key));
		return 1;
	}
	if (rte_lcore_count() < gw.workers + 1) {
		fprintf(stderr, "%s: %u workers need %u lcores (e.g. -l 0-%u, or --lcores=(0-%u)@0 on one CPU)\n",
			gw.cfg.name, gw.workers, gw.workers + 1, gw.workers, gw.workers);
		wg_memzero(key, sizeof(key));
		rte_eal_cleanup();
		return 1;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rc = gateway_setup(&gw, key) ? 0 : 1;
	wg_memzero(key, sizeof(key));
	if (rc == 0)
		rc = gateway_run(&gw);
	gateway_teardown(&gw);
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	return rc;
}
