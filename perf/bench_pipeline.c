// SPDX-License-Identifier: MIT
/*
 * bench_pipeline: what the gateway's packet path costs per packet.
 *
 * The real gateway (dataplane/, linked as a library) runs unchanged on two
 * in-memory ports made with rte_eth_from_rings(): one rx and one tx ring per
 * queue, a queue pair per worker. worker_run() runs on the worker lcores
 * and main_lcore_run() on the main lcore (gateway_run()); a driver thread that is
 * no EAL lcore plays everything around it (tests/lib/gwharness.c):
 *   - the VMs behind the VM port (frames in, frames out, ARP), and
 *   - the far gateways on the backbone: one tunnels/ device per worker, each a
 *     peer of the gateway, configured over the gateway's UAPI socket as wg(8)
 *     would, handshaking with it through the backbone rings.
 *
 * Measured, per worker count (each in its own child process: EAL lives once per
 * process), per inner packet size (IPv4/UDP):
 *   - encrypt: VM frames in, WireGuard messages out on the backbone;
 *   - decrypt: messages the far devices encrypted, in on the backbone, frames out
 *     to the VMs;
 * each next to the AEAD alone (wg_aead_seal/wg_aead_open) measured in the same
 * run;
 *   - relay: relay frames from far device w's gateway, through us, to another
 *     gateway (a second peer at far device w's address, another port): the
 *     relay header's tag checked and written anew, the message never
 *     decrypted; run by run beside decrypt of the same size, the packet a
 *     gateway receives when it is the destination;
 * and route lookups and the encrypt path with 10 and with 1,000,000 /32
 * routes loaded through the control socket.
 *
 * A measurement window: all its packets are built first (and for decrypt,
 * encrypted by the far devices), then each worker's rx ring gets its share in
 * one bulk enqueue, and the driver only samples (every --poll-us, sleeping in
 * between): the worker's thread CPU time, the TSC, and the fill of its rx and
 * tx rings. The window's figure runs from the sample right after the enqueue to
 * the last sample at which the worker's rx ring still held packets: over that
 * span the worker never polled an empty ring, so its CPU time divided by the
 * packets that reached its tx ring is what a packet costs it, idle polling
 * excluded. Cycles are TSC cycles (CPU nanoseconds x TSC GHz).
 */
#if !defined(__x86_64__)
#error "bench_pipeline reads the TSC: x86-64 only"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>
#include <rte_version.h>

#include "gateway.h"
#include "gwharness.h"
#include "lcore_io.h"
#include "relay_auth.h"
#include "routes.h"
#include "underlay.h"
#include "unixsock.h"
#include "bench_env.h"
/* wg.h and DPDK's rte_cycles.h both define NS_PER_S (the same value). */
#undef NS_PER_S
#include "wg.h" /* wg_aead_seal/wg_aead_open: the AEAD alone */

#define MAX_W GWH_MAX_W  /* workers per gateway in this benchmark */
#define MAX_RUNS 15
#define MAX_SIZES 4
#define MAX_PROWS 16
#define MAX_LROWS 8
#define BURST 32
#define LISTEN_PORT GWH_LISTEN_PORT
#define GW_MTU 1420
#define IP4_LEN GWH_IP4_LEN
#define UDP_LEN GWH_UDP_LEN
#define HDRS_LEN GWH_HDRS_LEN /* outer Ethernet/IPv4/UDP */
#define ROUTE_BASE 0x0a800000u /* 10.128.0.0: the routed /32s start here */
#define ROUTE_SPAN (1u << 20)  /* ... within 10.128.0.0/12 */
#define FEW_ROUTES 10
#define LOOKUPS (1u << 20)     /* addresses per lookup pass */
#define MS 1000000ull
/* The relay phase's gateway ids: ours, far device w's (the source) and the
 * next hop's of worker w's frames. */
#define SELF_GW 100
#define SRC_GW(w) ((uint16_t)(1 + (w)))
#define NEXT_GW(w) ((uint16_t)(50 + (w)))
#define NEXT_PORT (LISTEN_PORT + 1)

/* ------------------------------------------------------------ options */

struct options {
	unsigned workers[MAX_W], nworkers;
	uint32_t sizes[MAX_SIZES];
	unsigned nsizes;
	unsigned runs, time_ms, aead_ms, window, poll_us, verify_every, routes;
	double min_sched; /* a window counts if each worker ran this share of it */
	bool warm; /* leave the packets in the driver's caches instead of memory */
	bool relay; /* the relay phase */
	int only;  /* -1: both directions, else ENC or DEC (for profiling) */
	const char *out;
};

/* ------------------------------------------------------------ results */

enum dir { ENC, DEC, REL };
enum variant {
	V_PLAIN,  /* no route matches: the peer by allowed-ips, as plain WireGuard */
	V_R10,    /* 10 routes loaded, traffic to those 10 */
	V_R1M10,  /* all routes loaded, traffic to the first 10 */
	V_R1M,    /* all routes loaded, traffic spread over all of them */
};
enum phase { PH_MAIN, PH_R10, PH_R1M, PH_RELAY };
enum lset { L_IN10, L_INALL, L_OUT, L__COUNT };

/* One pipeline row: a direction, size and traffic, --runs runs. */
struct prow {
	uint32_t size;
	uint8_t dir, variant, phase;
	unsigned runs;
	double cpu[MAX_RUNS];   /* worker CPU cycles per packet */
	double wall[MAX_RUNS];  /* elapsed cycles x workers per packet */
	double mpps[MAX_RUNS];  /* all workers together */
	double aead[MAX_RUNS];  /* the AEAD alone, same size, same run */
	double r_aead[MAX_RUNS], r_plain[MAX_RUNS];
	uint64_t packets, verified, windows, short_windows, drops, disturbed, disturbed_runs;
	double wcyc[MAX_W]; /* per worker, all runs: CPU cycles and packets */
	uint64_t wpkts[MAX_W];
};

/* One lookup row: a table and a set of addresses. */
struct lrow {
	unsigned routes, set, runs;
	double cpl[MAX_RUNS], cplb[MAX_RUNS]; /* one at a time; in bursts of 32 */
	uint64_t hits, hitsb, lookups;
};

struct results {
	int ok;
	char error[512];
	unsigned workers;
	char layout[200];
	char backend[48];
	char dpdk[64];
	unsigned nrows, nlook;
	struct prow rows[MAX_PROWS];
	struct lrow look[MAX_LROWS];
	unsigned routes, route_errors;
	double load_s;
	double load_at[10]; /* seconds when each tenth of the routes was in */
	double probe_s;     /* wait for a "version" on another connection */
	double main_busy, driver_busy; /* CPU share during the windows */
	uint64_t stray, keepalives, handshakes, arp_answers;
};

/* ------------------------------------------------------------ timing */

static double tsc_hz;

static uint64_t thread_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double ns_to_cyc(double ns)
{
	return ns * tsc_hz / 1e9;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Busy-wait 100 ms against CLOCK_MONOTONIC three times; the median is the rate. */
static void calibrate_tsc(void)
{
	double r[3], t;

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = mono_ns(), c0 = __rdtsc(), t1;

		do
			t1 = mono_ns();
		while (t1 - t0 < 100 * MS);
		r[i] = (double)(__rdtsc() - c0) * 1e9 / (double)(t1 - t0);
	}
	for (int i = 0; i < 2; i++)
		for (int j = i + 1; j < 3; j++)
			if (r[j] < r[i]) {
				t = r[i];
				r[i] = r[j];
				r[j] = t;
			}
	tsc_hz = r[1];
}

static double median_of(const double *v, unsigned n, double *min, double *max)
{
	double s[MAX_RUNS];

	if (!n) {
		if (min)
			*min = 0;
		if (max)
			*max = 0;
		return 0;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	if (min)
		*min = s[0];
	if (max)
		*max = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* ================================================================ child */

/* Measured windows, summed: the clean ones, and apart those in which a worker
 * was not running for part of its busy span (other processes on its CPU). */
struct acc {
	double cpu[MAX_W], wall[MAX_W];
	uint64_t pkts[MAX_W];
	double dcpu[MAX_W], dwall[MAX_W];
	uint64_t dpkts[MAX_W];
	uint64_t main_ns, driver_ns;
	unsigned windows, short_windows, disturbed;
};

static const char *dir_name(unsigned d);

static struct gateway gw;
static struct results res;
static struct options opt;

static struct {
	struct wg_crypto *aead;   /* the AEAD baseline */
	clockid_t wclk[MAX_W], mclk;
	int wcpu[MAX_W], dcpu; /* the workers' CPUs, the driver's */
	uint64_t verify_seq;
	struct rte_mbuf **inbuf[MAX_W];
	char uapi_path[128], ctl_path[192];
	uint8_t aead_key[WG_KEY_LEN];
	uint32_t *laddr[L__COUNT];
	/* The relay phase: far device w's pair key for its gateway and us, and
	 * the next hop's (a device of its own, that only derives its key). */
	struct relay_key *src_key[MAX_W], *next_key[MAX_W];
	struct wg_device *next_dev[MAX_W];
} B;

/* The VMs, the far gateways and the ports around the gateway. */
static struct gwh H = { .gw = &gw, .who = "bench_pipeline" };

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (!res.error[0]) {
		va_start(ap, fmt);
		vsnprintf(res.error, sizeof(res.error), fmt, ap);
		va_end(ap);
		fprintf(stderr, "bench_pipeline: %s\n", res.error);
	}
	atomic_store(&gw.quit, true);
}

/* Stop when the gateway stops, or on SIGINT/SIGTERM even while the main
 * lcore is too busy to read its signalfd (a long route load). */
static bool quitting(void)
{
	sigset_t pending;

	if (atomic_load(&gw.quit))
		return true;
	if (!sigpending(&pending) && (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM))) {
		fail("interrupted");
		return true;
	}
	return false;
}

static uint32_t padded_len(uint32_t len)
{
	uint32_t padded = (len + 15) & ~15u, limit = len > GW_MTU ? len : GW_MTU;

	return padded < limit ? padded : limit;
}

static uint64_t gw_sum(size_t offset)
{
	uint64_t s = __atomic_load_n((uint64_t *)((char *)&gw.main_lc->counters + offset),
				     __ATOMIC_RELAXED);

	for (unsigned w = 0; w < gw.workers; w++)
		s += __atomic_load_n((uint64_t *)((char *)&gw.worker_lc[w]->counters + offset),
				     __ATOMIC_RELAXED);
	return s;
}

static uint64_t gw_drops(void)
{
	uint64_t s = 0;

	for (unsigned i = 1; i < GW_DROP__COUNT; i++)
		s += gw_sum(offsetof(struct counters, drop) + i * sizeof(uint64_t));
	return s;
}

/* The gateway's drop counters that are not 0, by name: what a failure says. */
static const char *drops_by_name(void)
{
	static char buf[512];
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 1; i < GW_DROP__COUNT && at < sizeof(buf); i++) {
		uint64_t n = gw_sum(offsetof(struct counters, drop) + i * sizeof(uint64_t));

		if (n)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s %llu", at ? ", " : "",
					       gw_drop_name(i), (unsigned long long)n);
	}
	return at ? buf : "none";
}

static bool pump_ms(unsigned ms)
{
	uint64_t end = mono_ns() + ms * MS;

	while (mono_ns() < end) {
		if (quitting())
			return false;
		if (!gwh_service(&H))
			sleep_us(100);
	}
	return true;
}

/* ---- UNIX sockets: the UAPI and the control socket ---- */

/* One control request, one reply line; true if the reply is no error. */
static bool ctl(int fd, const char *line)
{
	struct textbuf reply = { 0 };
	bool ok = unixsock_write_all(fd, line, strlen(line)) && unixsock_write_all(fd, "\n", 1) &&
		  unixsock_read_until(fd, &reply, 5000, unixsock_line_done, NULL);

	if (!ok) {
		fail("control socket: no answer to \"%s\"", line);
	} else if (strstr(reply.s, "\"error\"")) {
		reply.s[strcspn(reply.s, "\n")] = '\0';
		fail("control socket: \"%s\" -> %s", line, reply.s);
		ok = false;
	}
	free(reply.s);
	return ok;
}

/* A UAPI reply ends with a blank line. */
static bool uapi_done(const struct textbuf *b, void *arg)
{
	(void)arg;
	return b->len >= 2 && !strcmp(b->s + b->len - 2, "\n\n");
}

/* Peers on the gateway as wg(8) sets them: the UAPI set=1 protocol. */
/* One UAPI set request of len bytes (ending in its blank line). */
static bool uapi_set(const char *req, size_t len)
{
	struct textbuf reply = { 0 };
	char err[256];
	int fd = unixsock_connect(B.uapi_path, err, sizeof(err));
	bool ok;

	if (fd < 0) {
		fail("%s", err);
		return false;
	}
	ok = unixsock_write_all(fd, req, len) && unixsock_read_until(fd, &reply, 5000, uapi_done, NULL);
	close(fd);
	if (!ok || !strstr(reply.s, "errno=0\n")) {
		fail("UAPI set: %s", ok ? reply.s : "no answer");
		ok = false;
	}
	free(reply.s);
	return ok;
}

static bool uapi_configure(void)
{
	char req[4096], hex[65], ip[INET_ADDRSTRLEN];
	size_t len = 0;

	len += (size_t)snprintf(req + len, sizeof(req) - len, "set=1\n");
	for (unsigned w = 0; w < H.W; w++) {
		struct gwh_far *f = &H.far[w];

		wg_key_to_hex(hex, f->pub);
		inet_ntop(AF_INET, &f->ip, ip, sizeof(ip));
		len += (size_t)snprintf(req + len, sizeof(req) - len,
					"public_key=%s\nendpoint=%s:%u\nreplace_allowed_ips=true\n"
					"allowed_ip=10.%u.0.0/16\n",
					hex, ip, LISTEN_PORT, 100 + w);
	}
	len += (size_t)snprintf(req + len, sizeof(req) - len, "\n");
	return uapi_set(req, len);
}

/* ---- getting ready: neighbours and sessions ---- */

static bool resolve_neighbours(void)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		bool all = true;

		for (unsigned w = 0; w < H.W; w++) {
			struct gwh_far *f = &H.far[w];
			struct gwh_vm *v = &H.vm[w];

			if (!f->arp_ok)
				gwh_send_arp(&H, PORT_BACKBONE, w, &f->mac, f->ip, RTE_ARP_OP_REQUEST, NULL,
					 H.gw_ip[PORT_BACKBONE]);
			if (!v->arp_ok)
				gwh_send_arp(&H, PORT_VM, w, &v->mac, v->ip, RTE_ARP_OP_REQUEST, NULL,
					 H.gw_ip[PORT_VM]);
		}
		if (!pump_ms(200))
			return false;
		for (unsigned w = 0; w < H.W; w++)
			all &= H.far[w].arp_ok && H.vm[w].arp_ok;
		if (all)
			return true;
	}
	fail("the gateway did not answer ARP");
	return false;
}

/* A handshake from far device f, confirmed to the gateway by its keepalive. */
static bool handshake(struct gwh_far *f)
{
	struct wg_peer_stats st;
	uint64_t hs0, ka0 = gw_sum(offsetof(struct counters, keepalives_received));
	uint64_t deadline = mono_ns() + 8000 * MS;

	wg_peer_stats(f->peer, &st);
	hs0 = st.handshakes_completed;
	wg_peer_initiate(f->peer, mono_ns());
	for (;;) {
		if (!pump_ms(5))
			return false;
		wg_peer_stats(f->peer, &st);
		if (st.handshakes_completed > hs0 &&
		    gw_sum(offsetof(struct counters, keepalives_received)) > ka0)
			break;
		if (mono_ns() > deadline) {
			fail("no handshake with the gateway (far device %u)", f->q);
			return false;
		}
	}
	/* The gateway moves the confirmed session in on its next tick. */
	return pump_ms(40);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fresh sessions before each run: no rekey or expiry inside a window. */
static bool ensure_sessions(void)
{
	for (unsigned w = 0; w < H.W; w++) {
		struct wg_peer_stats st;

		wg_peer_stats(H.far[w].peer, &st);
		if (!st.has_session || wall_ns() - st.last_handshake_wall_ns > 90000 * MS)
			if (!handshake(&H.far[w]))
				return false;
	}
	return true;
}

/* ---- the AEAD alone ---- */

/* wg_aead_seal/wg_aead_open of bursts of 32 buffers laid out as the data path
 * lays them out, for about ms of this thread's CPU time; cycles per packet. */
static double aead_measure(enum dir d, uint32_t size, unsigned ms)
{
	uint32_t len = padded_len(size);
	uint8_t *buf[BURST], *src[BURST];
	uint64_t nonce = 0, n = 1, bursts, t0, t1, bad = 0;
	double cyc = 0;

	for (unsigned i = 0; i < BURST; i++) {
		buf[i] = aligned_alloc(64, 2048);
		src[i] = aligned_alloc(64, 2048);
		if (!buf[i] || !src[i])
			abort();
		gwh_make_inner(buf[i] + WG_DATA_HEADER_LEN, size, 1, 2, 3, 4);
		memset(buf[i] + WG_DATA_HEADER_LEN + size, 0, len - size);
		memcpy(src[i], buf[i], 2048);
		if (d == DEC && !wg_aead_seal(B.aead, src[i] + WG_DATA_HEADER_LEN,
					      src[i] + WG_DATA_HEADER_LEN, len, NULL, 0, i, B.aead_key))
			bad++;
	}
	/* Double the count until a pass takes a tenth of ms, then size it to ms. */
	for (;;) {
		t0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
		for (uint64_t k = 0; k < n; k++)
			for (unsigned i = 0; i < BURST; i++)
				bad += d == ENC ? !wg_aead_seal(B.aead, buf[i] + 16, buf[i] + 16, len, NULL,
								0, nonce++, B.aead_key)
						: !wg_aead_open(B.aead, buf[i] + 16, src[i] + 16,
								len + WG_TAG_LEN, NULL, 0, i, B.aead_key);
		t1 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
		if (t1 - t0 >= ms * MS / 10 || n >= (1u << 24))
			break;
		n *= 2;
	}
	bursts = (uint64_t)((double)n * (double)(ms * MS) / (double)(t1 - t0 ? t1 - t0 : 1));
	if (!bursts)
		bursts = 1;
	t0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	for (uint64_t k = 0; k < bursts; k++)
		for (unsigned i = 0; i < BURST; i++)
			bad += d == ENC ? !wg_aead_seal(B.aead, buf[i] + 16, buf[i] + 16, len, NULL, 0,
							nonce++, B.aead_key)
					: !wg_aead_open(B.aead, buf[i] + 16, src[i] + 16,
							len + WG_TAG_LEN, NULL, 0, i, B.aead_key);
	t1 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	cyc = ns_to_cyc((double)(t1 - t0)) / (double)(bursts * BURST);
	for (unsigned i = 0; i < BURST; i++) {
		free(buf[i]);
		free(src[i]);
	}
	if (bad)
		fail("the AEAD baseline failed %llu times", (unsigned long long)bad);
	return cyc;
}

static void pin_driver(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The AEAD alone on each worker's CPU in turn (sharing it with the polling
 * worker for a moment: only this thread's CPU time counts), averaged. */
static double aead_on_worker_cpus(enum dir d, uint32_t size)
{
	double sum = 0;
	unsigned n = 0;

	for (unsigned w = 0; w < H.W; w++) {
		bool seen = false;

		for (unsigned v = 0; v < w; v++)
			seen |= B.wcpu[v] == B.wcpu[w];
		if (seen)
			continue;
		pin_driver(B.wcpu[w]);
		sum += aead_measure(d, size, opt.aead_ms);
		n++;
	}
	pin_driver(B.dcpu);
	return sum / n;
}

/* ---- measurement windows ---- */

/* Route index of the j-th packet of queue w for a routed variant. */
static uint32_t route_index(const struct prow *row, unsigned w, uint64_t j)
{
	unsigned W = H.W;

	if (row->variant == V_R1M) {
		uint32_t per = opt.routes / W;

		return w + W * (uint32_t)(rnd() % per);
	}
	/* the first FEW_ROUTES routes, those of this queue's gateway */
	return (uint32_t)(w + W * (j % ((FEW_ROUTES - w + W - 1) / W)));
}

/* Out of every cache, as a NIC's DMA leaves a packet (without DDIO): each
 * mbuf's header, headroom, data and tailroom. */
static void flush_mbufs(struct rte_mbuf **in, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *p = (const char *)in[i];
		const char *end = rte_pktmbuf_mtod(in[i], const char *) + in[i]->data_len + 64;

		for (; p < end; p += RTE_CACHE_LINE_SIZE)
			_mm_clflush(p);
	}
	_mm_mfence();
}

/* The relay header of worker w's relay frames, in front of a message of len
 * bytes: hop 1 of far device w's gateway -> us -> NEXT_GW(w), tagged with
 * the pair key far device w derived for itself and us. */
static void relay_frame(unsigned w, struct relay_hdr *r, uint32_t len)
{
	uint16_t path[2] = { SELF_GW, NEXT_GW(w) };

	relay_hdr_init(r, SRC_GW(w), 1, RELAY_MAX_PATH, 2, path);
	relay_sign(B.src_key[w], r, SRC_GW(w), SELF_GW, (const uint8_t *)(r + 1), len);
}

/* Build n input frames for queue w into B.inbuf[w]. */
static bool prepare(const struct prow *row, unsigned w, unsigned n)
{
	struct rte_mbuf **in = B.inbuf[w];
	struct gwh_far *f = &H.far[w];
	struct gwh_vm *v = &H.vm[w];
	uint32_t size = row->size;

	if (rte_pktmbuf_alloc_bulk(H.pool, in, n)) {
		fail("out of mbufs building a window");
		return false;
	}
	if (row->dir == ENC) {
		uint8_t tmpl[RTE_ETHER_HDR_LEN + GW_MTU];
		uint32_t flen = RTE_ETHER_HDR_LEN + size;

		gwh_put_eth(tmpl, &H.gw_mac[PORT_VM], &v->mac, RTE_ETHER_TYPE_IPV4);
		gwh_make_inner(tmpl + RTE_ETHER_HDR_LEN, size, v->ip, f->inner, (uint16_t)(10000 + w), 20000);
		for (unsigned i = 0; i < n; i++) {
			uint8_t *p = rte_pktmbuf_mtod(in[i], uint8_t *);

			memcpy(p, tmpl, flen);
			in[i]->data_len = (uint16_t)flen;
			in[i]->pkt_len = flen;
			if (row->variant != V_PLAIN) {
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);

				ip->dst_addr = htonl(ROUTE_BASE + route_index(row, w, i));
				ip->hdr_checksum = 0;
				ip->hdr_checksum = rte_ipv4_cksum(ip);
			}
		}
		if (!opt.warm)
			flush_mbufs(in, n);
		return true;
	}
	/* Decrypt: the far device encrypts each inner packet in place behind
	 * room for the outer headers, as a peer would have sent it. Relay: the
	 * same message behind a relay header, from far device w's gateway through
	 * us to the next one, signed as that gateway signs it. */
	for (unsigned base = 0; base < n; base += BURST) {
		struct wg_tx tx[BURST];
		unsigned k = n - base < BURST ? n - base : BURST;
		uint32_t rl = row->dir == REL ? RELAY_LEN : 0;

		memset(tx, 0, sizeof(tx));
		for (unsigned i = 0; i < k; i++) {
			uint8_t *p = rte_pktmbuf_mtod(in[base + i], uint8_t *);

			gwh_make_inner(p + HDRS_LEN + rl + WG_DATA_HEADER_LEN, size, f->inner, v->ip, 20000,
				   (uint16_t)(10000 + w));
			tx[i].peer = f->peer;
			tx[i].msg = p + HDRS_LEN + rl;
			tx[i].len = size;
		}
		if (wg_encrypt_burst(H.crypto, tx, k, mono_ns()) != k) {
			fail("far device %u could not encrypt: %s", w, wg_drop_name(tx[0].status));
			rte_pktmbuf_free_bulk(in, n);
			return false;
		}
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = in[base + i];
			uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

			if (rl)
				relay_frame(w, (struct relay_hdr *)(p + HDRS_LEN), tx[i].len);
			gwh_put_eth(p, &H.gw_mac[PORT_BACKBONE], &f->mac, RTE_ETHER_TYPE_IPV4);
			gwh_put_ip_udp(p + RTE_ETHER_HDR_LEN, f->ip, H.gw_ip[PORT_BACKBONE], LISTEN_PORT,
				   LISTEN_PORT, rl + tx[i].len);
			m->data_len = (uint16_t)(HDRS_LEN + rl + tx[i].len);
			m->pkt_len = m->data_len;
		}
	}
	if (!opt.warm)
		flush_mbufs(in, n);
	return true;
}

/* Is m the output a window expects on queue w? Then it is checked in full. */
static bool is_output(const struct prow *row, unsigned w, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	if (row->dir == ENC) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		uint32_t want = HDRS_LEN + WG_DATA_MIN_LEN + padded_len(row->size);

		return len == want && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		       rte_is_same_ether_addr(&eth->dst_addr, &H.far[w].mac) &&
		       rte_is_same_ether_addr(&eth->src_addr, &H.gw_mac[PORT_BACKBONE]) &&
		       ip->version_ihl == RTE_IPV4_VHL_DEF && rte_ipv4_cksum(ip) == 0 &&
		       rte_be_to_cpu_16(ip->total_length) == len - RTE_ETHER_HDR_LEN &&
		       ip->next_proto_id == IPPROTO_UDP && ip->src_addr == H.gw_ip[PORT_BACKBONE] &&
		       ip->dst_addr == H.far[w].ip && udp->src_port == rte_cpu_to_be_16(LISTEN_PORT) &&
		       udp->dst_port == rte_cpu_to_be_16(LISTEN_PORT) &&
		       rte_be_to_cpu_16(udp->dgram_len) == len - RTE_ETHER_HDR_LEN - IP4_LEN &&
		       p[HDRS_LEN] == WG_MSG_DATA;
	}
	if (row->dir == REL) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct relay_hdr *r = (struct relay_hdr *)(udp + 1);
		uint32_t want = HDRS_LEN + RELAY_LEN + WG_DATA_MIN_LEN + padded_len(row->size);

		return len == want && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		       rte_is_same_ether_addr(&eth->dst_addr, &H.far[w].mac) &&
		       ip->version_ihl == RTE_IPV4_VHL_DEF && rte_ipv4_cksum(ip) == 0 &&
		       ip->next_proto_id == IPPROTO_UDP && ip->src_addr == H.gw_ip[PORT_BACKBONE] &&
		       ip->dst_addr == H.far[w].ip && udp->dst_port == rte_cpu_to_be_16(NEXT_PORT) &&
		       rte_be_to_cpu_16(udp->dgram_len) == len - RTE_ETHER_HDR_LEN - IP4_LEN &&
		       r->type == RELAY_TYPE && r->hop == 2 &&
		       r->path[1] == rte_cpu_to_be_16(NEXT_GW(w)) && p[HDRS_LEN + RELAY_LEN] == WG_MSG_DATA;
	}
	return len == RTE_ETHER_HDR_LEN + row->size &&
	       eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	       rte_is_same_ether_addr(&eth->dst_addr, &H.vm[w].mac) &&
	       rte_is_same_ether_addr(&eth->src_addr, &H.gw_mac[PORT_VM]) &&
	       ip->version_ihl == RTE_IPV4_VHL_DEF && rte_ipv4_cksum(ip) == 0 &&
	       rte_be_to_cpu_16(ip->total_length) == row->size && ip->time_to_live == 63 &&
	       ip->src_addr == H.far[w].inner && ip->dst_addr == H.vm[w].ip &&
	       p[len - 1] == gwh_pattern(row->size - 1);
}

/* The far device decrypts encrypted outputs: the inner packet must come back. */
static bool verify_encrypted(const struct prow *row, unsigned w, struct rte_mbuf **m, unsigned n)
{
	struct wg_rx rx[64];
	bool attention = false;

	memset(rx, 0, sizeof(rx));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);

		rx[i].msg = p + HDRS_LEN;
		rx[i].len = rte_pktmbuf_data_len(m[i]) - HDRS_LEN;
		rx[i].src.family = AF_INET;
		rx[i].src.port = LISTEN_PORT;
		rx[i].src.addr.v4.s_addr = H.gw_ip[PORT_BACKBONE];
	}
	wg_decrypt_burst(H.crypto, H.far[w].dev, rx, n, mono_ns(), &attention);
	for (unsigned i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)rx[i].plain;
		uint32_t dst = ip ? ntohl(ip->dst_addr) : 0;
		bool dst_ok = row->variant == V_PLAIN
				      ? ip && ip->dst_addr == H.far[w].inner
				      : dst - ROUTE_BASE < opt.routes && (dst - ROUTE_BASE) % H.W == w;

		if (rx[i].status != WG_OK || rx[i].keepalive || rx[i].plain_len != row->size || !dst_ok ||
		    ip->src_addr != H.vm[w].ip || ip->time_to_live != 63 ||
		    rx[i].plain[row->size - 1] != gwh_pattern(row->size - 1)) {
			fail("encrypted output %u of worker %u does not decrypt to its packet (%s)", i,
			     w, wg_drop_name((enum wg_drop)rx[i].status));
			return false;
		}
	}
	return true;
}

/* The next gateway checks relayed outputs' tags with its own pair key. */
static bool verify_relayed(unsigned w, struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct relay_hdr *r = rte_pktmbuf_mtod_offset(m[i], struct relay_hdr *, HDRS_LEN);
		uint32_t len = rte_pktmbuf_data_len(m[i]) - HDRS_LEN - RELAY_LEN;

		if (!relay_verify(B.next_key[w], r, SELF_GW, NEXT_GW(w), (const uint8_t *)(r + 1), len)) {
			fail("relayed output %u of worker %u: the next gateway rejects its tag", i, w);
			return false;
		}
	}
	return true;
}

/* Take the window's n outputs per queue off the tx rings, check them, free them. */
static bool collect(const struct prow *row, unsigned n, uint64_t *verified)
{
	unsigned port = row->dir == DEC ? PORT_VM : PORT_BACKBONE;

	for (unsigned w = 0; w < H.W; w++) {
		uint64_t deadline = mono_ns() + 3000 * MS;
		unsigned got = 0;

		while (got < n) {
			struct rte_mbuf *pkts[64], *data[64], *check[64];
			unsigned k = rte_ring_dequeue_burst(H.tx[port][w], (void **)pkts, 64, NULL);
			unsigned nd = 0, nc = 0;

			if (!k) {
				if (mono_ns() > deadline || quitting()) {
					fail("window: %u of %u outputs of worker %u (gateway drops: %s)",
					     got, n, w, drops_by_name());
					return false;
				}
				gwh_service(&H);
				sleep_us(50);
				continue;
			}
			for (unsigned i = 0; i < k; i++) {
				if (!is_output(row, w, pkts[i])) {
					gwh_dispatch(&H, pkts[i], port);
					continue;
				}
				data[nd++] = pkts[i];
				if (row->dir != DEC && ++B.verify_seq % opt.verify_every == 0)
					check[nc++] = pkts[i];
			}
			if (got + nd > n) {
				fail("window: more outputs than inputs on worker %u", w);
				rte_pktmbuf_free_bulk(data, nd);
				return false;
			}
			if (nc && (row->dir == ENC ? !verify_encrypted(row, w, check, nc)
						   : !verify_relayed(w, check, nc))) {
				rte_pktmbuf_free_bulk(data, nd);
				return false;
			}
			*verified += row->dir != DEC ? nc : nd;
			got += nd;
			rte_pktmbuf_free_bulk(data, nd);
		}
	}
	gwh_service(&H);
	return true;
}

struct sample {
	uint64_t cpu, tsc, out, rx;
};

static void take_sample(unsigned w, unsigned in_port, unsigned out_port, struct sample *s)
{
	s->cpu = thread_ns(B.wclk[w]);
	s->tsc = __rdtsc();
	s->out = rte_ring_count(H.tx[out_port][w]);
	s->rx = rte_ring_count(H.rx[in_port][w]);
}

/* One window of n packets per worker; with a, its busy span is added up. */
static bool run_window(struct prow *row, unsigned n, struct acc *a)
{
	unsigned in_port = row->dir == ENC ? PORT_VM : PORT_BACKBONE;
	unsigned out_port = row->dir == DEC ? PORT_VM : PORT_BACKBONE;
	struct sample s0[MAX_W], s1[MAX_W];
	bool busy[MAX_W] = { false };
	uint64_t drops0, m0, d0, deadline, verified = 0;

	memset(s0, 0, sizeof(s0));
	memset(s1, 0, sizeof(s1));

	/* Nothing left over on the output rings. */
	for (int i = 0; i < 100; i++) {
		unsigned left = 0;

		gwh_service(&H);
		for (unsigned w = 0; w < H.W; w++)
			left += rte_ring_count(H.tx[out_port][w]) + rte_ring_count(H.rx[in_port][w]);
		if (!left)
			break;
		sleep_us(100);
	}
	for (unsigned w = 0; w < H.W; w++)
		if (!prepare(row, w, n))
			return false;
	drops0 = gw_drops();
	m0 = thread_ns(B.mclk);
	d0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned w = 0; w < H.W; w++) {
		if (rte_ring_enqueue_bulk(H.rx[in_port][w], (void **)B.inbuf[w], n, NULL) != n) {
			rte_pktmbuf_free_bulk(B.inbuf[w], n);
			fail("rx ring of worker %u too small for a window", w);
			return false;
		}
		take_sample(w, in_port, out_port, &s0[w]);
	}
	deadline = mono_ns() + 5000 * MS;
	for (;;) {
		bool done = true;

		sleep_us(opt.poll_us);
		for (unsigned w = 0; w < H.W; w++) {
			struct sample s;

			take_sample(w, in_port, out_port, &s);
			if (s.rx) {
				s1[w] = s;
				busy[w] = true;
			}
			if (s.rx || s.out < n)
				done = false;
		}
		if (done)
			break;
		if (mono_ns() > deadline || quitting()) {
			unsigned out = 0, rx = 0;

			for (unsigned w = 0; w < H.W; w++) {
				out += rte_ring_count(H.tx[out_port][w]);
				rx += rte_ring_count(H.rx[in_port][w]);
			}
			fail("%s window stuck: %u packets still in rx rings, %u of %u out (gateway drops: "
			     "%llu; all so far: %s)",
			     dir_name(row->dir), rx, out, n * H.W, (unsigned long long)(gw_drops() - drops0),
			     drops_by_name());
			return false;
		}
	}
	if (a) {
		bool all = true, clean = true;

		for (unsigned w = 0; w < H.W; w++)
			all &= busy[w] && s1[w].out > s0[w].out;
		for (unsigned w = 0; all && w < H.W; w++)
			clean &= ns_to_cyc((double)(s1[w].cpu - s0[w].cpu)) >=
				 opt.min_sched * (double)(s1[w].tsc - s0[w].tsc);
		if (all && !clean) {
			for (unsigned w = 0; w < H.W; w++) {
				a->dcpu[w] += ns_to_cyc((double)(s1[w].cpu - s0[w].cpu));
				a->dwall[w] += (double)(s1[w].tsc - s0[w].tsc);
				a->dpkts[w] += s1[w].out - s0[w].out;
			}
			a->disturbed++;
		} else if (all) {
			for (unsigned w = 0; w < H.W; w++) {
				a->cpu[w] += ns_to_cyc((double)(s1[w].cpu - s0[w].cpu));
				a->wall[w] += (double)(s1[w].tsc - s0[w].tsc);
				a->pkts[w] += s1[w].out - s0[w].out;
			}
			a->windows++;
			/* The control lcore and this thread, over the window. */
			a->main_ns += thread_ns(B.mclk) - m0;
			a->driver_ns += thread_ns(CLOCK_THREAD_CPUTIME_ID) - d0;
		} else {
			a->short_windows++;
		}
	}
	if (!collect(row, n, &verified))
		return false;
	row->verified += verified;
	row->drops += gw_drops() - drops0;
	return true;
}

/* One run of a row: windows until --time-ms of measured span on worker 0. */
static bool run_row(struct prow *row, unsigned run, struct acc *total)
{
	struct acc a;
	double target = tsc_hz * opt.time_ms / 1000.0, cpu = 0, wall = 0, mpps = 0;
	uint64_t pkts = 0;

	uint64_t deadline = mono_ns() + (opt.time_ms * 10 > 3000 ? opt.time_ms * 10 : 3000) * MS;

	memset(&a, 0, sizeof(a));
	if (!ensure_sessions())
		return false;
	/* A relay opens nothing: its row is set beside the AEAD that decrypt
	 * would have needed. */
	row->aead[run] = aead_on_worker_cpus(row->dir == ENC ? ENC : DEC, row->size);
	/* Clean windows until the target, for at most ten times as long. */
	while (a.wall[0] < target && mono_ns() < deadline)
		if (!run_window(row, opt.window, &a))
			return false;
	row->disturbed += a.disturbed;
	if (!a.windows && a.disturbed) {
		/* The machine was never quiet enough: count what there is, and say so. */
		memcpy(a.cpu, a.dcpu, sizeof(a.cpu));
		memcpy(a.wall, a.dwall, sizeof(a.wall));
		memcpy(a.pkts, a.dpkts, sizeof(a.pkts));
		a.windows = a.disturbed;
		row->disturbed_runs++;
	}
	if (!a.windows) {
		fail("no window with a busy span (poll interval %u us too long?)", opt.poll_us);
		return false;
	}
	for (unsigned w = 0; w < H.W; w++) {
		row->wcyc[w] += a.cpu[w];
		row->wpkts[w] += a.pkts[w];
		cpu += a.cpu[w];
		wall += a.wall[w];
		pkts += a.pkts[w];
		mpps += (double)a.pkts[w] / (a.wall[w] / tsc_hz) / 1e6;
	}
	row->cpu[run] = cpu / (double)pkts;
	row->wall[run] = wall / (double)pkts;
	row->mpps[run] = mpps;
	row->r_aead[run] = row->cpu[run] / row->aead[run];
	row->packets += pkts;
	row->windows += a.windows;
	row->short_windows += a.short_windows;
	row->runs = run + 1;
	for (unsigned w = 0; w < H.W; w++)
		total->wall[w] += a.wall[w];
	total->main_ns += a.main_ns;
	total->driver_ns += a.driver_ns;
	return true;
}

static struct acc totals;

/* prime's outputs: one per worker, on any queue of the port. A frame parked
 * for a MAC is sent, once the MAC is known, by the main lcore through the
 * port's to_port ring, which whichever worker drains it transmits on its own
 * queue: not necessarily the parked frame's worker's (a 2-worker run failed
 * its priming on that, collecting each worker's output on its queue only). */
static bool collect_any(const struct prow *row)
{
	unsigned port = row->dir == DEC ? PORT_VM : PORT_BACKBONE, left = H.W;
	bool seen[RTE_MAX_LCORE] = {false};
	uint64_t deadline = mono_ns() + 3000 * MS;

	while (left) {
		bool any = false;

		for (unsigned q = 0; q < H.W; q++) {
			struct rte_mbuf *pkts[64];
			unsigned k = rte_ring_dequeue_burst(H.tx[port][q], (void **)pkts, 64, NULL);

			any |= k > 0;
			for (unsigned i = 0; i < k; i++) {
				unsigned w = 0;

				while (w < H.W && !is_output(row, w, pkts[i]))
					w++;
				if (w == H.W) {
					gwh_dispatch(&H, pkts[i], port);
					continue;
				}
				if (seen[w]) {
					fail("priming: two outputs of worker %u", w);
					rte_pktmbuf_free(pkts[i]);
					return false;
				}
				seen[w] = true;
				left--;
				rte_pktmbuf_free(pkts[i]);
			}
		}
		if (any)
			continue;
		if (mono_ns() > deadline || quitting()) {
			for (unsigned w = 0; w < H.W; w++)
				if (!seen[w])
					fail("priming: no output of worker %u (gateway drops: %s)", w,
					     drops_by_name());
			return false;
		}
		gwh_service(&H);
		sleep_us(50);
	}
	gwh_service(&H);
	return true;
}

/* One frame of direction d per worker, through and out before any window:
 * the gateway learns a neighbour's MAC only by asking (ARP makes no state),
 * and a window would find the question unanswered (the driver answers
 * between windows), 3 frames parked and the rest dropped. The VMs' MACs are
 * asked for by the first decrypted frames, the far devices' by the
 * handshakes. */
static bool prime(enum dir d)
{
	struct prow row = { .size = 64, .dir = (uint8_t)d };

	for (unsigned w = 0; w < H.W; w++) {
		if (!prepare(&row, w, 1))
			return false;
		if (rte_ring_enqueue(H.rx[d == ENC ? PORT_VM : PORT_BACKBONE][w], B.inbuf[w][0])) {
			rte_pktmbuf_free(B.inbuf[w][0]);
			fail("rx ring of worker %u full", w);
			return false;
		}
	}
	return collect_any(&row);
}

/* Rows of a phase, warmed up, then run by run in turn; in the route phases
 * rows[0] is the baseline the others are compared with, run by run. */
static bool run_phase(struct prow **rows, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!ensure_sessions())
			return false;
		for (int k = 0; k < 3; k++)
			if (!run_window(rows[i], opt.window / 4 ? opt.window / 4 : 1, NULL))
				return false;
	}
	for (unsigned run = 0; run < opt.runs; run++) {
		for (unsigned i = 0; i < n; i++)
			if (!run_row(rows[i], run, &totals))
				return false;
		for (unsigned i = 0; i < n; i++)
			rows[i]->r_plain[run] = rows[i]->cpu[run] / rows[0]->cpu[run];
		fprintf(stderr, "bench_pipeline: %u worker%s: run %u/%u of %u row%s done\n", H.W,
			H.W == 1 ? "" : "s", run + 1, opt.runs, n, n == 1 ? "" : "s");
	}
	return true;
}

static struct prow *new_row(uint32_t size, enum dir d, enum variant v, enum phase ph)
{
	struct prow *r;

	if (res.nrows == MAX_PROWS)
		abort();
	r = &res.rows[res.nrows++];
	memset(r, 0, sizeof(*r));
	r->size = size;
	r->dir = (uint8_t)d;
	r->variant = (uint8_t)v;
	r->phase = (uint8_t)ph;
	return r;
}

/* ---- routes ---- */

static void route_line(char *buf, size_t len, uint32_t i)
{
	uint32_t a = ROUTE_BASE + i;

	snprintf(buf, len, "route add %u.%u.%u.%u/32 %u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		 a & 255, i % H.W + 1);
}

/* How many of the routes 0, 1, 2, ... are in: they are added in that order,
 * so a binary search with the workers' lookup finds the first one missing. */
static uint32_t routes_in(uint32_t count)
{
	uint32_t lo = 0, hi = count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2, a = htonl(ROUTE_BASE + mid);

		if (routes_lookup(gw.routes, AF_INET, &a))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* All routes in one stream with quiet on, then "version": its answer comes
 * once every route before it is in. Progress is watched with lookups, and a
 * "version" on a second connection one second in tells how long the control
 * socket keeps others waiting. Returns the seconds the load took. */
static double load_routes(int fd, uint32_t count)
{
	size_t cap = (size_t)count * 40 + 64, len = 0, off = 0, rlen = 0;
	uint32_t step = (count + 9) / 10;
	unsigned tenths = 0;
	char *buf = malloc(cap), rbuf[65536], pbuf[256];
	uint64_t t0, now, last_note, last_check = 0, probe_sent = 0, t1 = 0;
	char err[256];
	int flags, probe = unixsock_connect(B.ctl_path, err, sizeof(err));

	if (!buf || probe < 0) {
		fail("loading routes: %s", buf ? err : "out of memory");
		free(buf);
		if (probe >= 0)
			close(probe);
		return -1;
	}
	if (!ctl(fd, "quiet on"))
		goto out;
	for (uint32_t i = 0; i < count; i++) {
		route_line(buf + len, cap - len, i);
		len += strlen(buf + len);
	}
	len += (size_t)snprintf(buf + len, cap - len, "version\n");
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	t0 = last_note = mono_ns();
	while (!t1 || (probe_sent && res.probe_s == 0)) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = (short)(POLLIN | (off < len ? POLLOUT : 0)) },
			{ .fd = probe, .events = POLLIN },
		};

		now = mono_ns();
		if (quitting() || now - t0 > 3600000 * MS) {
			fail("loading routes: stopped after %.0f s", (double)(now - t0) / 1e9);
			break;
		}
		if (now - last_check >= 20 * MS) {
			uint32_t in = routes_in(count);

			last_check = now;
			while (tenths < 10 && in >= (tenths + 1 == 10 ? count : (tenths + 1) * step))
				res.load_at[tenths++] = (double)(now - t0) / 1e9;
		}
		if (now - last_note > 30000 * MS) {
			last_note = now;
			fprintf(stderr, "bench_pipeline: ... %u routes in after %.0f s\n", routes_in(count),
				(double)(now - t0) / 1e9);
		}
		if (!probe_sent && now - t0 > 1000 * MS) {
			if (!unixsock_write_all(probe, "version\n", 8)) {
				fail("loading routes: probe connection failed");
				break;
			}
			probe_sent = now;
		}
		if (poll(pfd, 2, 20) <= 0)
			continue;
		if (pfd[0].revents & POLLOUT) {
			ssize_t k = send(fd, buf + off, len - off, MSG_NOSIGNAL);

			if (k > 0) {
				off += (size_t)k;
			} else if (k < 0 && errno != EAGAIN) {
				fail("loading routes: %s", strerror(errno));
				break;
			}
		}
		if (pfd[1].revents & POLLIN) {
			ssize_t k = recv(probe, pbuf, sizeof(pbuf) - 1, 0);

			if (k > 0 && memchr(pbuf, '\n', (size_t)k))
				res.probe_s = (double)(mono_ns() - probe_sent) / 1e9;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen - 1, 0);
			char *nl;

			if (k <= 0) {
				fail("loading routes: control socket closed");
				break;
			}
			rlen += (size_t)k;
			rbuf[rlen] = '\0';
			while ((nl = strchr(rbuf, '\n'))) {
				*nl = '\0';
				if (strstr(rbuf, "\"protocol\""))
					t1 = mono_ns();
				else if (strstr(rbuf, "\"error\"") && !res.route_errors++)
					fprintf(stderr, "bench_pipeline: route load: %s\n", rbuf);
				rlen -= (size_t)(nl + 1 - rbuf);
				memmove(rbuf, nl + 1, rlen + 1);
			}
		}
	}
	fcntl(fd, F_SETFL, flags);
	if (t1 && !ctl(fd, "quiet off"))
		t1 = 0;
	while (t1 && tenths < 10)
		res.load_at[tenths++] = (double)(t1 - t0) / 1e9;
out:
	free(buf);
	close(probe);
	return t1 ? (double)(t1 - t0) / 1e9 : -1;
}

static bool build_lookup_sets(void)
{
	for (unsigned s = 0; s < L__COUNT; s++) {
		if (!(B.laddr[s] = malloc(LOOKUPS * sizeof(uint32_t)))) {
			fail("out of memory");
			return false;
		}
		for (uint32_t i = 0; i < LOOKUPS; i++) {
			uint32_t a;

			if (s == L_IN10)
				a = ROUTE_BASE + (uint32_t)(rnd() % FEW_ROUTES);
			else if (s == L_INALL)
				a = ROUTE_BASE + (uint32_t)(rnd() % opt.routes);
			else
				do
					a = (uint32_t)rnd();
				while ((a & ~(ROUTE_SPAN - 1)) == ROUTE_BASE);
			B.laddr[s][i] = htonl(a);
		}
	}
	return true;
}

/* routes_lookup() over LOOKUPS addresses, as the workers call it. */
static double lookup_pass(const uint32_t *addrs, uint64_t *hits)
{
	uint64_t t0, t1, h = 0;

	t0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	for (uint32_t i = 0; i < LOOKUPS; i++)
		h += routes_lookup(gw.routes, AF_INET, &addrs[i]) != 0;
	t1 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	*hits += h;
	return ns_to_cyc((double)(t1 - t0)) / LOOKUPS;
}

/* routes_lookup4_bulk() over the same addresses in bursts of 32, as
 * egress_burst() looks up a burst. */
static double lookup_pass_bulk(const uint32_t *addrs, uint64_t *hits)
{
	uint64_t t0, t1, h = 0;
	uint16_t gws[32];

	t0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	for (uint32_t i = 0; i < LOOKUPS; i += 32) {
		routes_lookup4_bulk(gw.routes, &addrs[i], 32, gws);
		for (unsigned j = 0; j < 32; j++)
			h += gws[j] != 0;
	}
	t1 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
	*hits += h;
	return ns_to_cyc((double)(t1 - t0)) / LOOKUPS;
}

static bool run_lookups(unsigned routes, const enum lset *sets, unsigned n)
{
	struct lrow *rows[L__COUNT];

	for (unsigned i = 0; i < n; i++) {
		uint64_t warm = 0;

		if (res.nlook == MAX_LROWS)
			abort();
		rows[i] = &res.look[res.nlook++];
		memset(rows[i], 0, sizeof(*rows[i]));
		rows[i]->routes = routes;
		rows[i]->set = sets[i];
		lookup_pass(B.laddr[sets[i]], &warm);
	}
	for (unsigned run = 0; run < opt.runs; run++)
		for (unsigned i = 0; i < n; i++) {
			rows[i]->cpl[run] = lookup_pass(B.laddr[sets[i]], &rows[i]->hits);
			rows[i]->cplb[run] = lookup_pass_bulk(B.laddr[sets[i]], &rows[i]->hitsb);
			rows[i]->lookups += LOOKUPS;
			rows[i]->runs = run + 1;
		}
	for (unsigned i = 0; i < n; i++) {
		uint64_t want = sets[i] == L_OUT ? 0 : rows[i]->lookups;

		if (rows[i]->hits != want || rows[i]->hitsb != want) {
			fail("lookups: %llu of %llu found a route, expected %llu",
			     (unsigned long long)rows[i]->hits, (unsigned long long)rows[i]->lookups,
			     (unsigned long long)want);
			return false;
		}
	}
	return true;
}

static bool routes_phases(void)
{
	char line[256], b64[45];
	struct prow *rows[3];
	char err[256];
	int fd = unixsock_connect(B.ctl_path, err, sizeof(err));
	bool ok = false;

	if (fd < 0) {
		fail("%s", err);
		return false;
	}
	for (unsigned w = 0; w < H.W; w++) {
		wg_key_to_base64(b64, H.far[w].pub);
		snprintf(line, sizeof(line), "gateway set %u %s name=far%u", w + 1, b64, w);
		if (!ctl(fd, line))
			goto out;
	}
	for (uint32_t i = 0; i < FEW_ROUTES; i++) {
		route_line(line, sizeof(line), i);
		line[strcspn(line, "\n")] = '\0';
		if (!ctl(fd, line))
			goto out;
	}
	{
		static const enum lset few[] = { L_IN10, L_OUT };

		fprintf(stderr, "bench_pipeline: lookups, %u routes\n", FEW_ROUTES);
		if (!build_lookup_sets() || !run_lookups(FEW_ROUTES, few, 2))
			goto out;
	}
	rows[0] = new_row(64, ENC, V_PLAIN, PH_R10);
	rows[1] = new_row(64, ENC, V_R10, PH_R10);
	if (!run_phase(rows, 2))
		goto out;

	fprintf(stderr, "bench_pipeline: loading %u routes through the control socket\n", opt.routes);
	res.load_s = load_routes(fd, opt.routes);
	if (res.load_s < 0)
		goto out;
	res.routes = opt.routes;
	fprintf(stderr, "bench_pipeline: %u routes in %.2f s\n", opt.routes, res.load_s);
	if (res.route_errors) {
		fail("%u route add commands failed", res.route_errors);
		goto out;
	}
	{
		static const enum lset all[] = { L_INALL, L_IN10, L_OUT };

		if (!run_lookups(opt.routes, all, 3))
			goto out;
	}
	rows[0] = new_row(64, ENC, V_PLAIN, PH_R1M);
	rows[1] = new_row(64, ENC, V_R1M10, PH_R1M);
	rows[2] = new_row(64, ENC, V_R1M, PH_R1M);
	ok = run_phase(rows, 3);
out:
	close(fd);
	return ok;
}

/* ---- the relay phase ---- */

static bool no_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		    const uint8_t *msg, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)msg, (void)len;
	return false;
}

/* What meshd would give the gateway for relaying: its own gateway id, far
 * device w's gateway's, and a next hop's per worker (a peer of a fresh key
 * at far device w's address, port NEXT_PORT); then the pair keys as the far
 * device and the next hop derive them, and the gateway's own, which must be
 * the same. */
static bool relay_setup(void)
{
	static const struct wg_ops ops = { .send = no_send };
	char req[2048], line[256], b64[45], hex[65], ip[INET_ADDRSTRLEN], err[256];
	uint8_t priv[WG_KEY_LEN], pub[MAX_W][WG_KEY_LEN];
	uint64_t deadline;
	size_t len = 0;
	bool ok = true;
	int fd;

	len += (size_t)snprintf(req + len, sizeof(req) - len, "set=1\n");
	for (unsigned w = 0; w < H.W; w++) {
		struct wg_peer *peer;

		B.next_dev[w] = wg_device_new(&ops, 4);
		if (!B.next_dev[w] || getrandom(priv, sizeof(priv), 0) != sizeof(priv)) {
			fail("next hop %u: setup failed", w);
			return false;
		}
		priv[0] &= 248;
		priv[31] = (priv[31] & 127) | 64;
		wg_device_set_private_key(B.next_dev[w], priv, mono_ns());
		wg_memzero(priv, sizeof(priv));
		peer = wg_peer_add(B.next_dev[w], H.gw_pub);
		if (!wg_device_public_key(B.next_dev[w], pub[w]) || !peer ||
		    !(B.next_key[w] = relay_key_new(peer)) ||
		    !(B.src_key[w] = relay_key_new(H.far[w].peer))) {
			fail("next hop %u: no pair key", w);
			return false;
		}
		wg_key_to_hex(hex, pub[w]);
		inet_ntop(AF_INET, &H.far[w].ip, ip, sizeof(ip));
		len += (size_t)snprintf(req + len, sizeof(req) - len, "public_key=%s\nendpoint=%s:%u\n",
					hex, ip, NEXT_PORT);
	}
	len += (size_t)snprintf(req + len, sizeof(req) - len, "\n");
	if (!uapi_set(req, len))
		return false;

	if ((fd = unixsock_connect(B.ctl_path, err, sizeof(err))) < 0) {
		fail("%s", err);
		return false;
	}
	snprintf(line, sizeof(line), "gateway self %u", SELF_GW);
	ok = ctl(fd, line);
	for (unsigned w = 0; ok && w < H.W; w++) {
		wg_key_to_base64(b64, H.far[w].pub);
		snprintf(line, sizeof(line), "gateway set %u %s name=far%u", SRC_GW(w), b64, w);
		ok = ctl(fd, line);
		wg_key_to_base64(b64, pub[w]);
		snprintf(line, sizeof(line), "gateway set %u %s name=next%u", NEXT_GW(w), b64, w);
		ok = ok && ctl(fd, line);
	}
	close(fd);
	if (!ok)
		return false;

	/* The main lcore derives its keys on its next tick. */
	deadline = mono_ns() + 3000 * MS;
	for (unsigned w = 0; w < H.W; w++) {
		const struct relay_key *s, *n;

		while (!(s = path_gateway_key(&gw, SRC_GW(w))) || !(n = path_gateway_key(&gw, NEXT_GW(w)))) {
			if (mono_ns() > deadline || !pump_ms(20)) {
				fail("the gateway derived no relay keys for worker %u", w);
				return false;
			}
		}
		if (memcmp(s, B.src_key[w], sizeof(*s)) || memcmp(n, B.next_key[w], sizeof(*n))) {
			fail("the gateway's relay keys for worker %u differ from its neighbours'", w);
			return false;
		}
	}
	return true;
}

/* Per size, relay rows beside decrypt rows, run by run. */
static bool relay_phase(void)
{
	struct prow *rows[2];

	fprintf(stderr, "bench_pipeline: %u worker%s: relaying\n", H.W, H.W == 1 ? "" : "s");
	if (!relay_setup() || !prime(REL))
		return false;
	for (unsigned s = 0; s < opt.nsizes; s++) {
		rows[0] = new_row(opt.sizes[s], DEC, V_PLAIN, PH_RELAY);
		rows[1] = new_row(opt.sizes[s], REL, V_PLAIN, PH_RELAY);
		if (!run_phase(rows, 2))
			return false;
	}
	return true;
}

/* ---- the driver thread ---- */

static bool driver_run(bool first)
{
	uint64_t deadline = mono_ns() + 10000 * MS;
	struct prow *rows[2 * MAX_SIZES];
	unsigned nrows = 0;
	char err[256];
	int fd;

	prctl(PR_SET_TIMERSLACK, 1000UL);
	/* The UAPI socket answers once main_lcore_run() is in its loop. */
	while ((fd = unixsock_connect(B.uapi_path, err, sizeof(err))) < 0) {
		if (quitting() || mono_ns() > deadline) {
			fail("%s", err);
			return false;
		}
		sleep_us(10000);
	}
	close(fd);
	H.crypto = wg_crypto_new();
	B.aead = wg_crypto_new();
	if (!H.crypto || !B.aead || getrandom(B.aead_key, sizeof(B.aead_key), 0) != sizeof(B.aead_key)) {
		fail("wg_crypto_new failed");
		return false;
	}
	snprintf(res.backend, sizeof(res.backend), "%s", wg_crypto_backend(gw.worker_lc[0]->crypto));
	for (unsigned w = 0; w < H.W; w++) {
		gwh_vm_init(&H, w);
		if (!gwh_far_init(&H, w)) {
			fail("far device %u: setup failed", w);
			return false;
		}
		if (!(B.inbuf[w] = calloc(opt.window, sizeof(*B.inbuf[w])))) {
			fail("out of memory");
			return false;
		}
	}
	if (!uapi_configure() || !resolve_neighbours())
		return false;
	for (unsigned w = 0; w < H.W; w++)
		if (!handshake(&H.far[w]))
			return false;
	if (!prime(DEC))
		return false;
	fprintf(stderr, "bench_pipeline: %u worker%s: neighbours resolved, %u session%s up\n", H.W,
		H.W == 1 ? "" : "s", H.W, H.W == 1 ? "" : "s");

	for (unsigned s = 0; s < opt.nsizes; s++)
		for (int d = ENC; d <= DEC; d++)
			if (opt.only < 0 || opt.only == d)
				rows[nrows++] = new_row(opt.sizes[s], (enum dir)d, V_PLAIN, PH_MAIN);
	if (nrows && !run_phase(rows, nrows))
		return false;
	if (opt.relay && (opt.only < 0 || opt.only == REL) && !relay_phase())
		return false;
	/* Loading a million routes takes minutes (docs/PERFORMANCE.md): the route
	 * phases run in the first worker count's run only. */
	if (opt.routes && first && !routes_phases())
		return false;
	return true;
}

static void *driver_main(void *arg)
{
	if (driver_run(arg != NULL) && !res.error[0])
		res.ok = 1;
	atomic_store(&gw.quit, true);
	return NULL;
}

/* ---- the child: EAL, ports, gateway ---- */

static int capture_thread(void *arg)
{
	*(pthread_t *)arg = pthread_self();
	return 0;
}

static int cpu_list(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static int child_main(unsigned workers, bool first, const char *run_dir, int out_fd)
{
	char prefix[64], lcores[128], *argv[16], name[32];
	int cpus[64], ncpu = cpu_list(cpus, 64), argc = 0, rc = 1;
	pthread_t workers_thr[MAX_W], driver;
	pthread_attr_t attr;
	cpu_set_t dset;
	uint8_t key[WG_KEY_LEN];
	unsigned lcore, w = 0, ring_size;
	sigset_t set;
	size_t off = 0;
	ssize_t k;

	memset(&res, 0, sizeof(res));
	res.workers = workers;
	H.W = workers;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* As hopmesh-gw: the main lcore takes SIGINT/SIGTERM through its signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (ncpu < 1) {
		fail("no CPU in the affinity mask");
		goto report;
	}
	/* Main lcore and driver on the first CPU; workers on the others, then
	 * sharing from the first one again when there are too few. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=benchpipe%d", (int)getpid());
	off = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@%d", cpus[0]);
	for (unsigned i = 0; i < workers; i++)
		off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, ",%u@%d", i + 1,
					cpus[(i + 1) % (unsigned)ncpu]);
	off = (size_t)snprintf(res.layout, sizeof(res.layout), "main lcore and driver thread on CPU %d",
			       cpus[0]);
	for (unsigned i = 0; i < workers; i++)
		off += (size_t)snprintf(res.layout + off, sizeof(res.layout) - off, "; worker %u on CPU %d%s", i,
					cpus[(i + 1) % (unsigned)ncpu],
					cpus[(i + 1) % (unsigned)ncpu] == cpus[0] ? " (shared)" : "");
	argv[argc++] = (char *)"bench_pipeline";
	argv[argc++] = (char *)"--no-huge";
	argv[argc++] = (char *)"-m";
	argv[argc++] = (char *)"1024";
	argv[argc++] = (char *)"--no-pci";
	argv[argc++] = (char *)"--no-telemetry";
	argv[argc++] = (char *)"--no-shconf";
	argv[argc++] = prefix;
	argv[argc++] = lcores;
	argv[argc++] = (char *)"--log-level=warning";
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fail("EAL: %s", rte_strerror(rte_errno));
		goto report;
	}
	snprintf(res.dpdk, sizeof(res.dpdk), "%s", rte_version());
	if (rte_lcore_count() < workers + 1) {
		fail("EAL gave %u lcores", rte_lcore_count());
		goto eal;
	}

	/* Ports: a queue pair per worker, rings big enough for a window. */
	ring_size = rte_align32pow2(opt.window + 2048);
	H.pool = rte_pktmbuf_pool_create("bench_mbufs", workers * opt.window + 8191, 256, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!H.pool || !gwh_make_port(&H, PORT_VM, "bpvm", ring_size) ||
	    !gwh_make_port(&H, PORT_BACKBONE, "bpbb", ring_size)) {
		fail("ports: %s", rte_strerror(rte_errno));
		goto eal;
	}

	/* The gateway as hopmesh-gw would set it up from a config file. */
	snprintf(name, sizeof(name), "benchpipe%d", (int)getpid());
	snprintf(gw.cfg.name, sizeof(gw.cfg.name), "%s", name);
	snprintf(gw.cfg.run_dir, sizeof(gw.cfg.run_dir), "%s", run_dir);
	gw.cfg.listen_port = LISTEN_PORT;
	gw.cfg.mtu = GW_MTU;
	gw.cfg.workers = workers;
	gw.cfg.hop_limit = HOP_LIMIT_MAX;
	gw.cfg.host_routes = opt.routes > (1u << 20) ? opt.routes : 1u << 20;
	gw.cfg.busy_poll = true;
	inet_pton(AF_INET, "10.1.0.1", &gw.cfg.port[PORT_VM].address);
	gw.cfg.port[PORT_VM].prefix_len = 16;
	inet_pton(AF_INET, "192.0.2.1", &gw.cfg.port[PORT_BACKBONE].address);
	gw.cfg.port[PORT_BACKBONE].prefix_len = 24;
	gw.workers = workers;
	if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
		fail("getrandom: %s", strerror(errno));
		goto eal;
	}
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
	if (!gateway_setup(&gw, key)) {
		wg_memzero(key, sizeof(key));
		fail("gateway_setup failed");
		goto eal;
	}
	wg_memzero(key, sizeof(key));
	gwh_learn_gateway(&H);
	snprintf(B.uapi_path, sizeof(B.uapi_path), "/var/run/wireguard/%s.sock", name);
	snprintf(B.ctl_path, sizeof(B.ctl_path), "%s/%s.ctl", run_dir, name);

	/* Each worker lcore's thread, for its CPU clock. gateway_run() gives
	 * worker w the w-th worker lcore, in this same order. */
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (w < workers)
			rte_eal_remote_launch(capture_thread, &workers_thr[w++], lcore);
	}
	rte_eal_mp_wait_lcore();
	for (w = 0; w < workers; w++)
		if (pthread_getcpuclockid(workers_thr[w], &B.wclk[w])) {
			fail("pthread_getcpuclockid failed");
			goto teardown;
		}
	pthread_getcpuclockid(pthread_self(), &B.mclk);

	for (w = 0; w < workers; w++)
		B.wcpu[w] = cpus[(w + 1) % (unsigned)ncpu];
	B.dcpu = cpus[0];
	pthread_attr_init(&attr);
	CPU_ZERO(&dset);
	CPU_SET(cpus[0], &dset);
	pthread_attr_setaffinity_np(&attr, sizeof(dset), &dset);
	if (pthread_create(&driver, &attr, driver_main, first ? (void *)1 : NULL)) {
		fail("pthread_create failed");
		goto teardown;
	}
	pthread_attr_destroy(&attr);
	rc = gateway_run(&gw);
	pthread_join(driver, NULL);
	if (rc && !res.error[0])
		fail("gateway_run returned %d", rc);
	if (totals.wall[0] > 0) {
		res.main_busy = ns_to_cyc((double)totals.main_ns) / totals.wall[0];
		res.driver_busy = ns_to_cyc((double)totals.driver_ns) / totals.wall[0];
	}
	rc = res.ok ? 0 : 1;
teardown:
	gwh_drain_rings(&H);
	gateway_teardown(&gw);
	gwh_far_free(&H);
	for (w = 0; w < workers; w++) {
		free(B.inbuf[w]);
		if (B.next_dev[w])
			wg_device_free(B.next_dev[w]);
		relay_key_free(B.src_key[w]);
		relay_key_free(B.next_key[w]);
	}
	for (unsigned s = 0; s < L__COUNT; s++)
		free(B.laddr[s]);
	wg_crypto_free(H.crypto);
	wg_crypto_free(B.aead);
	gwh_free_rings(&H);
	rte_mempool_free(H.pool);
eal:
	rte_eal_cleanup();
report:
	res.arp_answers = H.arp_answers;
	res.handshakes = H.handshakes;
	res.keepalives = H.keepalives;
	res.stray = H.stray;
	for (off = 0; off < sizeof(res); off += (size_t)k) {
		k = write(out_fd, (char *)&res + off, sizeof(res) - off);
		if (k <= 0)
			break;
	}
	close(out_fd);
	return rc;
}

/* ================================================================ parent */

static const char *dir_name(unsigned d)
{
	return d == ENC ? "encrypt (VM → backbone)"
	       : d == DEC ? "decrypt (backbone → VM)"
			  : "relay (backbone → backbone)";
}

static const char *set_name(unsigned s)
{
	return s == L_IN10 ? "the 10 first routed /32s, at random"
	       : s == L_INALL ? "random routed /32s (all of them)"
			      : "random addresses with no route";
}

static const char *variant_name(unsigned v, unsigned routes, char *buf, size_t len)
{
	switch (v) {
	case V_PLAIN:
		return "1 (no route matches: peer by allowed-ips)";
	case V_R10:
	case V_R1M10:
		return "10 routed /32s";
	default:
		snprintf(buf, len, "random over %u routed /32s", routes);
		return buf;
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* Whatever a child may have left if it died: sockets, run dir, EAL's dir. */
static void cleanup_child(pid_t pid, const char *run_dir)
{
	char path[256];

	snprintf(path, sizeof(path), "/var/run/wireguard/benchpipe%d.sock", (int)pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/benchpipe%d.ctl", run_dir, (int)pid);
	unlink(path);
	rmdir(run_dir);
	snprintf(path, sizeof(path), "/var/run/dpdk/benchpipe%d", (int)pid);
	nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double gbps(uint32_t size, double mpps)
{
	return mpps * size * 8 / 1e3;
}

static void report(FILE *f, struct results *const *rs, unsigned n, int argc, char **argv,
		   double load0, double load1)
{
	char model[256], date[64], buf[64];
	unsigned ncpu;
	time_t now = time(NULL);
	const struct results *first = NULL;

	bench_cpu_model(model, sizeof(model), &ncpu);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	for (unsigned i = 0; i < n; i++)
		if (rs[i]->ok && !first)
			first = rs[i];
	fprintf(f, "<!-- generated by perf/bench_pipeline on %s; do not edit by hand -->\n", date);
	fprintf(f, "- CPU: %s, %u logical CPUs; TSC %.4f GHz; %s; data-path AEAD %s\n", model,
		ncpu, tsc_hz / 1e9, first ? first->dpdk : "?", first ? first->backend : "?");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "- %u worker%s: %s\n", rs[i]->workers, rs[i]->workers == 1 ? "" : "s",
			rs[i]->ok ? rs[i]->layout : rs[i]->error);
	fprintf(f, "- Method: windows of %u packets per worker (%s) put on the rx rings at once, sampled every %u µs; "
		   "per run at least %u ms of busy span per row, AEAD alone for ~%u ms before each; "
		   "median (min – max) of %u runs. Cycles are TSC cycles: worker CPU time × TSC rate.\n",
		opt.window, opt.warm ? "left in the driver's caches (--warm)" : "flushed from all caches first",
		opt.poll_us, opt.time_ms, opt.aead_ms, opt.runs);
	fprintf(f, "- Load average (1 min) before / after: %.2f / %.2f (the machine is shared)\n", load0,
		load1);
	fprintf(f, "- Benchmark command:");
	for (int i = 0; i < argc; i++)
		fprintf(f, i ? " %s" : " `%s", argv[i]);
	fprintf(f, "`\n\n");

	fprintf(f, "| size (B) | direction | workers | cycles/pkt (worker CPU) | min – max | per worker (all runs) | cycles/pkt (elapsed × workers) | Mpps | Gbit/s | AEAD alone cycles/pkt | pipeline / AEAD | pipeline − AEAD |\n");
	fprintf(f, "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned s = 0; s < opt.nsizes; s++)
		for (unsigned d = ENC; d <= DEC; d++)
			for (unsigned i = 0; i < n; i++)
				for (unsigned r = 0; r < rs[i]->nrows; r++) {
					const struct prow *p = &rs[i]->rows[r];
					double mn, mx, cpu, mpps, aead;
					char per[96];
					size_t o = 0;

					if (p->phase != PH_MAIN || p->size != opt.sizes[s] || p->dir != d ||
					    !p->runs)
						continue;
					per[0] = '\0';
					for (unsigned w = 0; w < rs[i]->workers && w < MAX_W; w++)
						o += (size_t)snprintf(per + o, sizeof(per) - o, "%s%.0f",
								      w ? " / " : "",
								      p->wpkts[w] ? p->wcyc[w] / (double)p->wpkts[w] : 0);
					cpu = median_of(p->cpu, p->runs, &mn, &mx);
					mpps = median_of(p->mpps, p->runs, NULL, NULL);
					aead = median_of(p->aead, p->runs, NULL, NULL);
					fprintf(f, "| %u | %s | %u | %.0f | %.0f – %.0f | %s | %.0f | %.2f | %.2f | %.0f | %.2f | %+.0f |\n",
						p->size, dir_name(d), rs[i]->workers, cpu, mn, mx, per,
						median_of(p->wall, p->runs, NULL, NULL), mpps,
						gbps(p->size, mpps), aead,
						median_of(p->r_aead, p->runs, NULL, NULL), cpu - aead);
				}

	if (opt.relay && opt.only != ENC && opt.only != DEC) {
		fprintf(f, "\nRelayed beside direct: the gateway as a relay on a 2-hop path (relay header checked, its tag verified "
			   "and written anew for the next gateway, the message sent on undecrypted) and as the destination of a direct "
			   "packet (decrypted, delivered to its VM); per size the two rows interleave run by run, the ratio is per run:\n\n");
		fprintf(f, "| size (B) | workers | direct (decrypt) cycles/pkt | min – max | Mpps | relayed cycles/pkt | min – max | Mpps | relayed / direct |\n");
		fprintf(f, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		for (unsigned s = 0; s < opt.nsizes; s++)
			for (unsigned i = 0; i < n; i++) {
				const struct prow *d = NULL, *r = NULL;
				double dmn, dmx, rmn, rmx, dc, rc;

				for (unsigned k = 0; k < rs[i]->nrows; k++) {
					const struct prow *p = &rs[i]->rows[k];

					if (p->phase == PH_RELAY && p->size == opt.sizes[s] && p->runs) {
						if (p->dir == DEC)
							d = p;
						else
							r = p;
					}
				}
				if (!d || !r)
					continue;
				dc = median_of(d->cpu, d->runs, &dmn, &dmx);
				rc = median_of(r->cpu, r->runs, &rmn, &rmx);
				fprintf(f, "| %u | %u | %.0f | %.0f – %.0f | %.2f | %.0f | %.0f – %.0f | %.2f | %.2f |\n",
					opt.sizes[s], rs[i]->workers, dc, dmn, dmx,
					median_of(d->mpps, d->runs, NULL, NULL), rc, rmn, rmx,
					median_of(r->mpps, r->runs, NULL, NULL),
					median_of(r->r_plain, r->runs, NULL, NULL));
			}
	}

	if (first && first->nlook) {
		fprintf(f, "\nRoute lookups: `routes_lookup()` of IPv4 addresses in a loop, one at a time, and `routes_lookup4_bulk()` of the same in bursts of 32 as `egress_burst()` does; %u per pass (%u-worker run). /32 routes live in an rte_hash, shorter prefixes in an rte_lpm:\n\n",
			LOOKUPS, first->workers);
		fprintf(f, "| routes loaded | addresses looked up | cycles/lookup | min – max | ns/lookup | in bursts of 32: cycles/lookup | min – max |\n");
		fprintf(f, "|---:|---|---:|---:|---:|---:|---:|\n");
		for (unsigned l = 0; l < first->nlook; l++) {
			const struct lrow *r = &first->look[l];
			double mn, mx, c = median_of(r->cpl, r->runs, &mn, &mx);
			double bmn, bmx, b = median_of(r->cplb, r->runs, &bmn, &bmx);

			fprintf(f, "| %u | %s | %.1f | %.1f – %.1f | %.1f | %.1f | %.1f – %.1f |\n", r->routes,
				set_name(r->set), c, mn, mx, c * 1e9 / tsc_hz, b, bmn, bmx);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t step;

		if (!rs[i]->ok || !rs[i]->routes)
			continue;
		step = (rs[i]->routes + 9) / 10;
		fprintf(f, "\nLoading the routes (%u-worker run): %u `route add` commands (/32s, 10.128.0.0 upwards) in one stream "
			   "through the control socket with `quiet on`: **%.1f s** (%.0f routes/s on average). "
			   "Routes in (seen by lookups), and seconds since the start:",
			rs[i]->workers, rs[i]->routes, rs[i]->load_s, rs[i]->routes / rs[i]->load_s);
		for (unsigned k = 0; k < 10 && (uint64_t)k * step < rs[i]->routes; k++) {
			uint32_t in = (k + 1) * step < rs[i]->routes ? (k + 1) * step : rs[i]->routes;

			fprintf(f, "%s %u: %.1f s", k ? ";" : "", in, rs[i]->load_at[k]);
		}
		if (rs[i]->probe_s > 0)
			fprintf(f, ". Meanwhile a `version` request on a second control connection, sent 1 s into the load, "
				   "was answered after %.1f s", rs[i]->probe_s);
		fprintf(f, ".\n");
	}

	if (first && first->routes) {
		fprintf(f, "\nEncrypt path at 64 B with routes (each route phase interleaves its rows run by run; the ratio is against its first row, run by run):\n\n");
		fprintf(f, "| workers | routes loaded | inner destinations | cycles/pkt (worker CPU) | min – max | Mpps | vs no-route row (same runs) | pipeline / AEAD |\n");
		fprintf(f, "|---:|---:|---|---:|---:|---:|---:|---:|\n");
		for (unsigned i = 0; i < n; i++)
			for (unsigned r = 0; r < rs[i]->nrows; r++) {
				const struct prow *p = &rs[i]->rows[r];
				double mn, mx, cpu;

				/* the route phases only: the relay phase has its table */
				if ((p->phase != PH_R10 && p->phase != PH_R1M) || !p->runs)
					continue;
				cpu = median_of(p->cpu, p->runs, &mn, &mx);
				fprintf(f, "| %u | %u | %s | %.0f | %.0f – %.0f | %.2f | %.3f | %.2f |\n",
					rs[i]->workers, p->phase == PH_R10 ? FEW_ROUTES : rs[i]->routes,
					variant_name(p->variant, rs[i]->routes, buf, sizeof(buf)), cpu, mn,
					mx, median_of(p->mpps, p->runs, NULL, NULL),
					median_of(p->r_plain, p->runs, NULL, NULL),
					median_of(p->r_aead, p->runs, NULL, NULL));
			}
	}

	fprintf(f, "\nChecks:\n\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t pk = 0, ver_enc = 0, ver_dec = 0, ver_rel = 0, drops = 0, win = 0, shortw = 0, dist = 0,
			 druns = 0;

		if (!rs[i]->ok) {
			fprintf(f, "- %u workers: FAILED: %s\n", rs[i]->workers, rs[i]->error);
			continue;
		}
		for (unsigned r = 0; r < rs[i]->nrows; r++) {
			const struct prow *p = &rs[i]->rows[r];

			pk += p->packets;
			drops += p->drops;
			win += p->windows;
			shortw += p->short_windows;
			dist += p->disturbed;
			druns += p->disturbed_runs;
			if (p->dir == ENC)
				ver_enc += p->verified;
			else if (p->dir == DEC)
				ver_dec += p->verified;
			else
				ver_rel += p->verified;
		}
		fprintf(f, "- %u worker%s: %llu packets in %llu measured windows (not counted: %llu too short to sample, and %llu in "
			   "which a worker ran less than %.0f %% of the span, other processes having its CPU%s); "
			   "every output frame's headers and length checked; %llu encrypted outputs decrypted by the far device "
			   "(1 in %u, all WG_OK with their inner packet), %llu decrypted outputs checked to the last byte, "
			   "%llu relayed outputs' tags verified by the next gateway's key (1 in %u); "
			   "gateway drop counters grew by %llu; other frames from the gateway: %llu keepalives, %llu handshake "
			   "messages, %llu ARP requests answered, %llu unexpected; control lcore busy %.2f %% and driver thread "
			   "%.2f %% of the measured span\n",
			rs[i]->workers, rs[i]->workers == 1 ? "" : "s", (unsigned long long)pk,
			(unsigned long long)win, (unsigned long long)shortw, (unsigned long long)dist,
			opt.min_sched * 100,
			druns ? " (in runs that had no other window those were counted)" : "",
			(unsigned long long)ver_enc,
			opt.verify_every, (unsigned long long)ver_dec, (unsigned long long)ver_rel,
			opt.verify_every, (unsigned long long)drops,
			(unsigned long long)rs[i]->keepalives, (unsigned long long)rs[i]->handshakes,
			(unsigned long long)rs[i]->arp_answers, (unsigned long long)rs[i]->stray,
			rs[i]->main_busy * 100, rs[i]->driver_busy * 100);
	}
}

static unsigned parse_list(const char *s, unsigned *out, unsigned max, unsigned lo, unsigned hi)
{
	unsigned n = 0;
	char *end;

	while (*s) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v < lo || v > hi || n == max || (*end && *end != ','))
			return 0;
		out[n++] = (unsigned)v;
		s = *end ? end + 1 : end;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_pipeline [--out FILE.md] [--workers 1,2] [--sizes 64,1420] [--runs N]\n"
		"                      [--time-ms MS] [--aead-ms MS] [--window N] [--poll-us US]\n"
		"                      [--routes N] [--verify-every N] [--warm] [--only encrypt|decrypt]\n"
		"                      [--min-sched FRACTION] [--no-relay]\n"
		"--only relay: the relay phase alone (with its decrypt rows).\n"
		"Runs as root (the gateway's UAPI socket lives in /var/run/wireguard).\n");
	exit(64);
}

static void parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "workers", required_argument, NULL, 'w' },
		{ "sizes", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "time-ms", required_argument, NULL, 't' },
		{ "aead-ms", required_argument, NULL, 'a' },
		{ "window", required_argument, NULL, 'n' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "routes", required_argument, NULL, 'R' },
		{ "verify-every", required_argument, NULL, 'v' },
		{ "warm", no_argument, NULL, 'W' },
		{ "only", required_argument, NULL, 'O' },
		{ "min-sched", required_argument, NULL, 'm' },
		{ "no-relay", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned sizes[MAX_SIZES];
	int c;

	opt = (struct options){ .workers = { 1, 2 }, .nworkers = 2, .sizes = { 64, 1420 }, .nsizes = 2,
				.runs = 5, .time_ms = 200, .aead_ms = 20, .window = 16384,
				.poll_us = 500, .verify_every = 8, .routes = 1000000, .only = -1,
				.min_sched = 0.9, .relay = true };
	while ((c = getopt_long(argc, argv, "o:w:s:r:t:a:n:p:R:v:WO:m:Nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opt.out = optarg;
			break;
		case 'w':
			if (!(opt.nworkers = parse_list(optarg, opt.workers, MAX_W, 1, MAX_W)))
				usage();
			break;
		case 's':
			if (!(opt.nsizes = parse_list(optarg, sizes, MAX_SIZES, IP4_LEN + UDP_LEN, GW_MTU)))
				usage();
			for (unsigned i = 0; i < opt.nsizes; i++)
				opt.sizes[i] = sizes[i];
			break;
		case 'r':
			opt.runs = (unsigned)atoi(optarg);
			break;
		case 't':
			opt.time_ms = (unsigned)atoi(optarg);
			break;
		case 'a':
			opt.aead_ms = (unsigned)atoi(optarg);
			break;
		case 'n':
			opt.window = (unsigned)atoi(optarg);
			break;
		case 'p':
			opt.poll_us = (unsigned)atoi(optarg);
			break;
		case 'R':
			opt.routes = (unsigned)atoi(optarg);
			break;
		case 'v':
			opt.verify_every = (unsigned)atoi(optarg);
			break;
		case 'W':
			opt.warm = true;
			break;
		case 'm':
			opt.min_sched = atof(optarg);
			break;
		case 'N':
			opt.relay = false;
			break;
		case 'O':
			if (!strcmp(optarg, "encrypt"))
				opt.only = ENC;
			else if (!strcmp(optarg, "decrypt"))
				opt.only = DEC;
			else if (!strcmp(optarg, "relay"))
				opt.only = REL;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.runs < 1 || opt.runs > MAX_RUNS || !opt.time_ms || !opt.aead_ms ||
	    opt.window < 256 || opt.window > (1u << 20) || !opt.poll_us || !opt.verify_every ||
	    opt.min_sched < 0 || opt.min_sched > 1 ||
	    (opt.routes && (opt.routes < 2 * FEW_ROUTES || opt.routes > ROUTE_SPAN)))
		usage();
}

int main(int argc, char **argv)
{
	static struct results all[MAX_W];
	struct results *rs[MAX_W] = { NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	double load0, load1;
	FILE *md = NULL;
	int failed = 0;

	parse(argc, argv);
	if (geteuid() != 0) {
		fprintf(stderr, "bench_pipeline: needs root (the UAPI socket is /var/run/wireguard/NAME.sock)\n");
		return 1;
	}
	if (opt.out && (!(md = fopen(opt.out, "a")) || fclose(md) != 0)) {
		fprintf(stderr, "bench_pipeline: %s: %s\n", opt.out, strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	calibrate_tsc();
	load0 = bench_loadavg();
	for (unsigned i = 0; i < opt.nworkers; i++)
		rs[i] = &all[i];
	/* One child per worker count: EAL can be set up once per process. */
	for (unsigned i = 0; i < opt.nworkers && !interrupted; i++) {
		char run_dir[] = "/tmp/benchpipe.XXXXXX";
		int fds[2], status = 0;
		size_t off = 0;
		ssize_t k;
		pid_t pid;

		all[i].workers = opt.workers[i];
		if (!mkdtemp(run_dir) || pipe(fds)) {
			perror("bench_pipeline");
			return 1;
		}
		fprintf(stderr, "bench_pipeline: %u worker%s ...\n", opt.workers[i],
			opt.workers[i] == 1 ? "" : "s");
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("bench_pipeline: fork");
			return 1;
		}
		if (pid == 0) {
			close(fds[0]);
			_exit(child_main(opt.workers[i], i == 0, run_dir, fds[1]));
		}
		close(fds[1]);
		while (off < sizeof(all[i])) {
			k = read(fds[0], (char *)&all[i] + off, sizeof(all[i]) - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		close(fds[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		cleanup_child(pid, run_dir);
		if (off < sizeof(all[i])) {
			memset(&all[i], 0, sizeof(all[i]));
			all[i].workers = opt.workers[i];
			snprintf(all[i].error, sizeof(all[i].error), "the child process died (status %d)", status);
		}
		if (!all[i].ok) {
			fprintf(stderr, "bench_pipeline: %u workers: %s\n", opt.workers[i], all[i].error);
			failed = 1;
		}
	}
	load1 = bench_loadavg();
	if (interrupted)
		return 130;
	report(stdout, rs, opt.nworkers, argc, argv, load0, load1);
	if (failed)
		return 1;
	if (opt.out) {
		if (!(md = fopen(opt.out, "w"))) {
			fprintf(stderr, "bench_pipeline: %s: %s\n", opt.out, strerror(errno));
			return 1;
		}
		report(md, rs, opt.nworkers, argc, argv, load0, load1);
		if (fclose(md)) {
			fprintf(stderr, "bench_pipeline: %s: write failed\n", opt.out);
			return 1;
		}
	}
	return 0;
}
