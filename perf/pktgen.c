// SPDX-License-Identifier: MIT
/*
 * pktgen: a DPDK traffic generator and receiver in one process, for the
 * overlay's throughput, loss, reordering, latency and hop count.
 *
 *   pktgen [EAL args] -- [--tx-port N] [--rx-port N] [--rate PPS|max]
 *          [--size 64..1420|imix] [--flows 1..1000000] [--seconds S]
 *          [--count N] [--drain-ms MS] [--dst-mac MAC] [--src-ip A]
 *          [--dst-ip A] [--dst-port P] [--ttl T] [--out FILE]
 *
 * One process sends on one port and receives on the other, so that the
 * send stamp and the arrival are the same TSC. Flow: our arguments (after
 * --) are checked before the EAL starts (exit 2 with usage); the EAL; both
 * ports on one queue pair each; the receiver on a second lcore if the EAL
 * has one (else the sender's loop receives too); pktgen_port.c's loops; the
 * report, one JSON object, on stdout or --out (DPDK's log goes to stderr).
 *
 * Sizes are IP packet lengths, the frame 14 bytes more (no FCS); --size imix
 * is 7:4:1 of 64, 594 and 1420 bytes. Flow f (of a packet: its sequence
 * number mod --flows) is UDP source port 1024 + f % 64512 from --src-ip +
 * f / 64512. TTL --ttl leaves every packet; the hop count is that minus the
 * TTL it arrives with.
 *
 * The report ("pktgen" is its schema's version; bytes are frames without
 * FCS; seconds are from the first to the last send, or arrival, of the
 * run's packets; loss is what was sent less what arrived, duplicates not
 * counted as arrived):
 *   { "pktgen": 1,
 *     "config": { "tx_port", "rx_port", "rate_pps" (0: max), "size" (a
 *                 number or "imix"), "flows", "count" (0: by time),
 *                 "seconds", "ttl", "lcores", "tsc_hz" (measured, and
 *                 used for every figure), "eal_tsc_hz" (the EAL's) },
 *     "tx": { "packets", "bytes", "refused", "seconds", "mpps", "gbps" },
 *     "rx": { "frames" (all the port gave), "packets" (ours, once each),
 *             "bytes", "seconds", "mpps", "gbps", "duplicates",
 *             "reordered" (arrived after a higher sequence number),
 *             "foreign": { "total", "short", "not_udp4", "other_udp" } },
 *     "loss": { "packets", "ratio" },
 *     "latency_ns": { "samples", "min", "mean", "p50", "p99", "p999", "max",
 *                     "clock_back" },
 *     "hops": { "min", "max" } (null each without packets) }
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_random.h>

#include "pktgen_port.h"

#define RING_SIZE 1024
#define POOL_SIZE 8191

static struct pg_run run;

static const char usage_text[] =
	"usage: pktgen [EAL args] -- [--tx-port N] [--rx-port N] [--rate PPS|max]\n"
	"         [--size 64..1420|imix] [--flows 1..1000000] [--seconds S] [--count N]\n"
	"         [--drain-ms MS] [--dst-mac MAC] [--src-ip A] [--dst-ip A] [--dst-port P]\n"
	"         [--ttl 1..255] [--out FILE]\n"
	"  e.g. pktgen --no-huge -m 256 --vdev net_af_packet0,iface=a --vdev net_af_packet1,iface=b --\n"
	"       --rate 100000 --size 64 --seconds 5\n"
	"  One JSON object on stdout (or --out); its schema opens perf/pktgen.c.\n";

static void usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage(const char *fmt, ...)
{
	va_list ap;

	fputs("pktgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	exit(2);
}

static uint64_t number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage("%s: '%s' is not a whole number in %" PRIu64 "..%" PRIu64, opt, s, min, max);
	return v;
}

static uint32_t ipv4(const char *opt, const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		usage("%s: '%s' is not an IPv4 address", opt, s);
	return ntohl(a.s_addr);
}

struct opts {
	const char *out;
	bool have_dst_mac;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "tx-port", required_argument, NULL, 't' },
		{ "rx-port", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "size", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' },
		{ "drain-ms", required_argument, NULL, 'd' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "src-ip", required_argument, NULL, 'i' },
		{ "dst-ip", required_argument, NULL, 'I' },
		{ "dst-port", required_argument, NULL, 'p' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_seconds = false;
	int c;

	run.tx_port = 0;
	run.rx_port = 1;
	run.size = 64;
	run.tmpl.flows = 1;
	run.tmpl.ttl = 64;
	run.tmpl.dst_port = 9;
	/* RFC 2544's benchmarking range: no one's real addresses. */
	run.tmpl.src_ip = 0xc6120001; /* 198.18.0.1 */
	run.tmpl.dst_ip = 0xc6130001; /* 198.19.0.1 */
	run.drain_ms = 500;
	run.seconds = 5;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			run.tx_port = (uint16_t)number("--tx-port", optarg, 0, RTE_MAX_ETHPORTS - 1);
			break;
		case 'r':
			run.rx_port = (uint16_t)number("--rx-port", optarg, 0, RTE_MAX_ETHPORTS - 1);
			break;
		case 'R':
			run.rate = strcmp(optarg, "max") ? number("--rate", optarg, 1, 100000000) : 0;
			break;
		case 's':
			run.size = strcmp(optarg, "imix") ?
				(unsigned)number("--size", optarg, PG_SIZE_MIN, PG_SIZE_MAX) : PG_SIZE_IMIX;
			break;
		case 'f':
			run.tmpl.flows = (uint32_t)number("--flows", optarg, 1, PG_FLOWS_MAX);
			break;
		case 'S': {
			char *end;

			errno = 0;
			run.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(run.seconds > 0 && run.seconds <= 3600))
				usage("--seconds: '%s' is not a number of seconds in (0, 3600]", optarg);
			have_seconds = true;
			break;
		}
		case 'c':
			run.count = number("--count", optarg, 1, UINT64_MAX / 2);
			break;
		case 'd':
			run.drain_ms = (unsigned)number("--drain-ms", optarg, 0, 60000);
			break;
		case 'm':
			if (rte_ether_unformat_addr(optarg, (struct rte_ether_addr *)run.tmpl.dst_mac))
				usage("--dst-mac: '%s' is not a MAC address", optarg);
			o->have_dst_mac = true;
			break;
		case 'i':
			run.tmpl.src_ip = ipv4("--src-ip", optarg);
			break;
		case 'I':
			run.tmpl.dst_ip = ipv4("--dst-ip", optarg);
			break;
		case 'p':
			run.tmpl.dst_port = (uint16_t)number("--dst-port", optarg, 1, 65535);
			break;
		case 'T':
			run.tmpl.ttl = (uint8_t)number("--ttl", optarg, 1, 255);
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			usage("unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage("unexpected argument '%s'", argv[optind]);
	/* A count alone is not cut short by the default time. */
	if (run.count && !have_seconds)
		run.seconds = 3600;
	if ((uint64_t)run.tmpl.src_ip + (run.tmpl.flows - 1) / PG_SPORTS > UINT32_MAX)
		usage("--flows: the source addresses would run past 255.255.255.255");
}

static int port_init(uint16_t port)
{
	struct rte_eth_conf conf;
	int socket = rte_eth_dev_socket_id(port), err;

	memset(&conf, 0, sizeof(conf));
	if (socket < 0)
		socket = 0;
	if ((err = rte_eth_dev_configure(port, 1, 1, &conf)) ||
	    (err = rte_eth_rx_queue_setup(port, 0, RING_SIZE, (unsigned)socket, NULL, run.pool)) ||
	    (err = rte_eth_tx_queue_setup(port, 0, RING_SIZE, (unsigned)socket, NULL)) ||
	    (err = rte_eth_dev_start(port))) {
		fprintf(stderr, "pktgen: port %u: %s\n", port, rte_strerror(-err));
		return -1;
	}
	return 0;
}

static _Atomic uint64_t tx_end;
static struct pg_rx_stats *rx_stats;

static int rx_lcore(void *arg)
{
	(void)arg;
	pg_run_rx(&run, rx_stats, &tx_end);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&run.stop, true);
}

/*
 * The TSC's rate against CLOCK_MONOTONIC_RAW over ms milliseconds. Not
 * rte_get_tsc_hz(): on a virtual machine the EAL may take the nominal rate
 * (ours: 2.1 GHz, against 2.096 GHz measured), and every rate and latency
 * we report is divided by it.
 */
static uint64_t pg_tsc_hz(unsigned ms)
{
	struct timespec t0, t1, nap = { 0, (long)ms * 1000000 };
	uint64_t c0, c1, dns;

	clock_gettime(CLOCK_MONOTONIC_RAW, &t0);
	c0 = rte_rdtsc();
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC_RAW, &t1);
	c1 = rte_rdtsc();
	dns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	return (uint64_t)((double)(c1 - c0) * 1e9 / (double)dns);
}

static double per_sec(uint64_t v, uint64_t cycles, uint64_t hz)
{
	return cycles ? (double)v * (double)hz / (double)cycles : 0.0;
}

static uint64_t ns(uint64_t cycles, uint64_t hz)
{
	return (uint64_t)((double)cycles * 1e9 / (double)hz);
}

static void report(FILE *f, const struct pg_tx_stats *tx, const struct pg_rx_stats *rx,
		   unsigned lcores)
{
	uint64_t hz = run.hz, tx_cyc = tx->end_tsc - tx->start_tsc;
	uint64_t rx_cyc = rx->last_tsc - rx->first_tsc, got = rx->win.unique;
	uint64_t lost = tx->packets > got ? tx->packets - got : 0;
	const struct pg_hist *h = &rx->lat_cycles;
	int hmin = -1, hmax = -1;

	for (int i = 0; i < 256; i++) {
		if (!rx->hops[i])
			continue;
		if (hmin < 0)
			hmin = i;
		hmax = i;
	}
	fprintf(f, "{\"pktgen\":1,\"config\":{\"tx_port\":%u,\"rx_port\":%u,\"rate_pps\":%" PRIu64 ",",
		run.tx_port, run.rx_port, run.rate);
	if (run.size == PG_SIZE_IMIX)
		fprintf(f, "\"size\":\"imix\",");
	else
		fprintf(f, "\"size\":%u,", run.size);
	fprintf(f, "\"flows\":%u,\"count\":%" PRIu64 ",\"seconds\":%g,\"ttl\":%u,\"lcores\":%u,"
		"\"tsc_hz\":%" PRIu64 ",\"eal_tsc_hz\":%" PRIu64 "},",
		run.tmpl.flows, run.count, run.seconds, run.tmpl.ttl, lcores, hz, rte_get_tsc_hz());
	fprintf(f, "\"tx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"refused\":%" PRIu64
		",\"seconds\":%.6f,\"mpps\":%.6f,\"gbps\":%.6f},",
		tx->packets, tx->bytes, tx->refused, (double)tx_cyc / (double)hz,
		per_sec(tx->packets, tx_cyc, hz) / 1e6, per_sec(tx->bytes * 8, tx_cyc, hz) / 1e9);
	fprintf(f, "\"rx\":{\"frames\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"seconds\":%.6f,\"mpps\":%.6f,\"gbps\":%.6f,\"duplicates\":%" PRIu64
		",\"reordered\":%" PRIu64 ",\"foreign\":{\"total\":%" PRIu64 ",\"short\":%" PRIu64
		",\"not_udp4\":%" PRIu64 ",\"other_udp\":%" PRIu64 "}},",
		rx->frames, got, rx->bytes, (double)rx_cyc / (double)hz,
		per_sec(got, rx_cyc, hz) / 1e6, per_sec(rx->bytes * 8, rx_cyc, hz) / 1e9,
		rx->win.duplicates, rx->win.reordered,
		rx->foreign_short + rx->foreign_not_udp4 + rx->foreign_magic,
		rx->foreign_short, rx->foreign_not_udp4, rx->foreign_magic);
	fprintf(f, "\"loss\":{\"packets\":%" PRIu64 ",\"ratio\":%.9f},", lost,
		tx->packets ? (double)lost / (double)tx->packets : 0.0);
	fprintf(f, "\"latency_ns\":{\"samples\":%" PRIu64 ",\"min\":%" PRIu64 ",\"mean\":%" PRIu64
		",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64
		",\"clock_back\":%" PRIu64 "},",
		h->n, ns(h->min, hz), h->n ? ns(h->sum / h->n, hz) : 0,
		ns(pg_hist_percentile(h, 0.5), hz), ns(pg_hist_percentile(h, 0.99), hz),
		ns(pg_hist_percentile(h, 0.999), hz), ns(h->max, hz), rx->clock_back);
	if (hmin < 0)
		fprintf(f, "\"hops\":{\"min\":null,\"max\":null}}\n");
	else
		fprintf(f, "\"hops\":{\"min\":%d,\"max\":%d}}\n", hmin, hmax);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct pg_tx_stats tx = { 0 };
	struct rte_ether_addr mac;
	unsigned rx_lc = RTE_MAX_LCORE, lcores;
	int ours = argc, rc = 1;
	FILE *out = stdout;

	/* Ours are after "--": checked before the EAL is up. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			ours = i;
			break;
		}
	}
	if (ours < argc) {
		argv[ours] = argv[0];
		parse_args(argc - ours, argv + ours, &o);
	} else {
		parse_args(1, argv, &o);
	}
	if (o.out && !(out = fopen(o.out, "w"))) {
		fprintf(stderr, "pktgen: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	rte_openlog_stream(stderr);
	if (rte_eal_init(ours, argv) < 0) {
		fprintf(stderr, "pktgen: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (!rte_eth_dev_is_valid_port(run.tx_port) || !rte_eth_dev_is_valid_port(run.rx_port)) {
		fprintf(stderr, "pktgen: no port %u: the EAL has %u (give each a --vdev)\n",
			rte_eth_dev_is_valid_port(run.tx_port) ? run.rx_port : run.tx_port,
			rte_eth_dev_count_avail());
		rte_eal_cleanup();
		return 2;
	}
	if (!(rx_stats = calloc(1, sizeof(*rx_stats))) ||
	    !(run.pool = rte_pktmbuf_pool_create("pktgen", POOL_SIZE, 256, 0,
						 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id()))) {
		fprintf(stderr, "pktgen: no memory for the packets\n");
		goto out;
	}
	if (port_init(run.tx_port) || (run.rx_port != run.tx_port && port_init(run.rx_port)))
		goto out;
	rte_eth_macaddr_get(run.tx_port, &mac);
	memcpy(run.tmpl.src_mac, mac.addr_bytes, 6);
	/* Without --dst-mac the frames are for the receiving port itself: a
	 * wire or veth straight between the two. */
	if (!o.have_dst_mac) {
		rte_eth_macaddr_get(run.rx_port, &mac);
		memcpy(run.tmpl.dst_mac, mac.addr_bytes, 6);
	}
	run.tmpl.run = (uint32_t)rte_rand();
	run.hz = pg_tsc_hz(100);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	lcores = rte_lcore_count();
	if (lcores >= 2) {
		rx_lc = rte_get_next_lcore(-1, 1, 0);
		if (rte_eal_remote_launch(rx_lcore, NULL, rx_lc)) {
			fprintf(stderr, "pktgen: cannot start the receiver on lcore %u\n", rx_lc);
			goto out;
		}
		pg_run_tx(&run, &tx, NULL, &tx_end);
		rte_eal_wait_lcore(rx_lc);
	} else {
		pg_run_tx(&run, &tx, rx_stats, &tx_end);
	}
	report(out, &tx, rx_stats, lcores >= 2 ? 2 : 1);
	rc = fflush(out) ? 1 : 0;
out:
	rte_eth_dev_stop(run.tx_port);
	if (run.rx_port != run.tx_port)
		rte_eth_dev_stop(run.rx_port);
	rte_eth_dev_close(run.tx_port);
	if (run.rx_port != run.tx_port)
		rte_eth_dev_close(run.rx_port);
	rte_mempool_free(run.pool);
	free(rx_stats);
	if (out != stdout)
		fclose(out);
	rte_eal_cleanup();
	return rc;
}
