// SPDX-License-Identifier: MIT
/*
 * simgw: N simulated gateways in one process, for the control plane's scale
 * harness (perf/run-scale.sh): one meshd per slot talks to it exactly as to
 * a real gateway, and only the gateway is simulated.
 *
 *   simgw --slots N --name PREFIX --run-dir DIR [--rtt MS] [--matrix FILE]
 *         [--jitter PCT] [--events FILE] [--sim SOCKET] [--puppets FIRST]
 *   simgw --keys FIRST LAST          the public key of each slot/id, base64
 *   simgw --tell SOCKET COMMAND...   one line to a running simgw's --sim
 *
 * The flow, single-threaded, one epoll set:
 *   - slot s (1..N) listens where meshd's config names its gateway
 *     PREFIX<s>: /var/run/wireguard/PREFIX<s>.sock (the UAPI; the path meshd
 *     hard-codes) and DIR/PREFIX<s>.ctl (the control socket);
 *   - each connection's requests, as they arrive, are answered by the slot's
 *     state (simgw_gw.c: control lines one by one, a UAPI request at its
 *     blank line), the replies written back without waiting (EPOLLOUT when
 *     the socket is full);
 *   - between events, the simulated network runs up to now (simgw_net.c:
 *     probes due, LSA parts arriving): epoll_wait sleeps until its next due
 *     time;
 *   - the harness's socket (--sim) takes "cut A B", "heal A B",
 *     "rtt A B MS" (both directions of a pair of slots), "watch A B" and
 *     "stats", one JSON line each in reply;
 *   - the event log (--events) gets one line per change a meshd made to its
 *     gateway, per UAPI read, per change of a link's flag in an LSA sent,
 *     and, for watched pairs, in one read: what the harness times. Each
 *     line: WALL_MS SLOT WHAT ARGS (wall clock, to compare with the
 *     harness's; slot 0 for simgw's own).
 * SIGINT or SIGTERM: the sockets' files are removed, and simgw exits 0.
 *
 * --puppets FIRST: slots FIRST..N have no meshd, simgw plays them
 * (simgw_net.c), for a mesh of N seen by FIRST - 1 meshds.
 *
 * Slot s's key is simgw_key(s), made up (no one does a handshake): the
 * harness registers gateway s with it, and a key names its slot back.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "simgw.h"
#include "unixsock.h"

#define LINE_MAX_BYTES 4096  /* a control line, as ctl.c: longer closes */
#define UAPI_MAX_BYTES (1 << 20)

struct sim sim;

static FILE *events;

enum kind { UAPI_LISTEN, CTL_LISTEN, SIM_LISTEN, SIGNALS, UAPI_CONN, CTL_CONN, SIM_CONN };

/* What an epoll event's data points at. */
struct handle {
	enum kind kind;
	int fd;
	struct sim_gw *g;          /* the slot, for its sockets */
};

struct conn {
	struct handle h;
	bool quiet;
	struct textbuf in, out;
	size_t off;                /* out written so far */
};

static int ep;

uint64_t sim_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sim_event(const struct sim_gw *g, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (!events)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(events, "%.3f %u ", (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6, g ? g->slot : 0);
	va_start(ap, fmt);
	vfprintf(events, fmt, ap);
	va_end(ap);
	fputc('\n', events);
}

/* ---- keys ---- */

void simgw_key(unsigned s, uint8_t key[32])
{
	memcpy(key, "HMSG", 4);
	key[4] = (uint8_t)(s >> 8);
	key[5] = (uint8_t)s;
	for (unsigned i = 6; i < 32; i++)
		key[i] = (uint8_t)(s * 131 + i * 7);
}

unsigned simgw_slot_of_key(const uint8_t key[32])
{
	unsigned s = (unsigned)key[4] << 8 | key[5];
	uint8_t want[32];

	if (memcmp(key, "HMSG", 4) || !s || s > sim.nslots)
		return 0;
	simgw_key(s, want);
	return memcmp(key, want, 32) ? 0 : s;
}

static void print_keys(unsigned first, unsigned last)
{
	uint8_t key[32];
	char b64[45];

	for (unsigned s = first; s <= last; s++) {
		simgw_key(s, key);
		sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
		printf("%u %s\n", s, b64);
	}
}

/* ---- sockets ---- */

static bool watch_fd(struct handle *h, uint32_t events_mask, int op)
{
	struct epoll_event ev = { .events = events_mask, .data.ptr = h };

	return !epoll_ctl(ep, op, h->fd, &ev);
}

static bool listen_at(const char *path, enum kind kind, struct sim_gw *g)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct handle *h = calloc(1, sizeof(*h));

	if (!h || strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "simgw: %s: %s\n", path, h ? "path too long" : "out of memory");
		free(h);
		return false;
	}
	strcpy(addr.sun_path, path);
	h->kind = kind;
	h->g = g;
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&addr, sizeof(addr)) || chmod(path, 0600) ||
	    listen(h->fd, 128) || !watch_fd(h, EPOLLIN, EPOLL_CTL_ADD)) {
		fprintf(stderr, "simgw: %s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

static void conn_close(struct conn *c)
{
	close(c->h.fd);
	free(c->in.s);
	free(c->out.s);
	free(c);
}

static void accept_all(struct handle *l)
{
	int fd;

	while ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));

		if (!c) {
			close(fd);
			continue;
		}
		c->h = (struct handle){ .kind = l->kind == UAPI_LISTEN ? UAPI_CONN : l->kind == CTL_LISTEN
				       ? CTL_CONN : SIM_CONN, .fd = fd, .g = l->g };
		if (!watch_fd(&c->h, EPOLLIN, EPOLL_CTL_ADD))
			conn_close(c);
	}
}

/* ---- the harness's socket ---- */

static void sim_command(char *line, struct textbuf *out)
{
	unsigned a = 0, b = 0;
	float ms = -1;
	char verb[16];
	int n = sscanf(line, "%15s %u %u %f", verb, &a, &b, &ms);

	if (n >= 1 && !strcmp(verb, "stats")) {
		textbuf_printf(out, "{\"slots\":%u,\"requests\":%llu,\"bytes_out\":%llu,\"lsa_delivered\":%llu,"
			       "\"lsa_dropped_cut\":%llu,\"lsa_dropped_unbound\":%llu,\"lsa_in_flight\":%zu}\n",
			       sim.nslots, (unsigned long long)sim.requests, (unsigned long long)sim.bytes_out,
			       (unsigned long long)sim.lsa_delivered, (unsigned long long)sim.lsa_dropped_cut,
			       (unsigned long long)sim.lsa_dropped_unbound, sim.nheap);
		return;
	}
	if (n < 3 || (strcmp(verb, "cut") && strcmp(verb, "heal") && strcmp(verb, "watch") &&
		      (strcmp(verb, "rtt") || n != 4)) || !sim_watch_add(a, b)) {
		textbuf_printf(out, "{\"error\":\"usage: cut A B | heal A B | rtt A B MS | watch A B | stats "
			       "(slots 1-%u)\"}\n", sim.nslots);
		return;
	}
	if (!strcmp(verb, "cut") || !strcmp(verb, "heal"))
		sim_link_set(a, b, verb[0] == 'c', -1);
	else if (!strcmp(verb, "rtt"))
		sim_link_set(a, b, sim.cut[(size_t)a * (sim.nslots + 1) + b], ms);
	sim_event(NULL, "%s %u %u", verb, a, b);
	textbuf_printf(out, "{\"ok\":true}\n");
}

/* ---- requests ---- */

/* The complete requests in c->in, answered into c->out; false: close (a
 * line too long, as the real control socket). */
static bool serve(struct conn *c)
{
	size_t used = 0;

	for (;;) {
		char *start = c->in.s + used, *end;

		if (c->h.kind == UAPI_CONN) {
			if (!(end = c->in.len - used >= 2 ? strstr(start, "\n\n") : NULL))
				break;
			end[1] = '\0';
			sim_uapi_request(c->h.g, start, &c->out);
			used = (size_t)(end + 2 - c->in.s);
		} else {
			if (!(end = memchr(start, '\n', c->in.len - used)))
				break;
			*end = '\0';
			if (c->h.kind == CTL_CONN)
				sim_ctl_line(c->h.g, start, &c->quiet, &c->out);
			else
				sim_command(start, &c->out);
			used = (size_t)(end + 1 - c->in.s);
		}
		sim.requests++;
	}
	memmove(c->in.s, c->in.s + used, c->in.len - used + 1);
	c->in.len -= used;
	return !c->out.failed && c->in.len < (c->h.kind == UAPI_CONN ? UAPI_MAX_BYTES : LINE_MAX_BYTES);
}

/* What is answered, written while the socket takes it; false: close. */
static bool flush_out(struct conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->h.fd, c->out.s + c->off, c->out.len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return watch_fd(&c->h, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		if (n <= 0)
			return false;
		c->off += (size_t)n;
		sim.bytes_out += (uint64_t)n;
	}
	c->off = c->out.len = 0;
	return watch_fd(&c->h, EPOLLIN, EPOLL_CTL_MOD);
}

static void conn_event(struct conn *c, uint32_t mask)
{
	char buf[65536];
	bool open = true;

	while (open && (mask & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t n = recv(c->h.fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0 || memchr(buf, '\0', (size_t)n)) {
			open = false; /* the client is done (or sent a NUL: ctl.c closes) */
			break;
		}
		textbuf_append(&c->in, buf, (size_t)n);
		open = c->in.s && serve(c);
	}
	if (c->out.len > c->off && !flush_out(c))
		open = false;
	if (!open)
		conn_close(c);
}

/* ---- the process ---- */

static void cleanup(const char *run_dir, const char *sim_path)
{
	char path[256];

	for (unsigned s = 1; s <= sim.nslots; s++) {
		snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", sim.gw[s].name);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.ctl", run_dir, sim.gw[s].name);
		unlink(path);
	}
	if (sim_path)
		unlink(sim_path);
}

static bool open_slots(const char *prefix, const char *run_dir)
{
	char path[256];

	mkdir("/var/run/wireguard", 0700);
	for (unsigned s = 1; s <= sim.nslots; s++) {
		struct sim_gw *g = &sim.gw[s];

		g->slot = s;
		if ((size_t)snprintf(g->name, sizeof(g->name), "%s%u", prefix, s) >= sizeof(g->name)) {
			fprintf(stderr, "simgw: --name %s: too long for an interface name\n", prefix);
			return false;
		}
		simgw_key(s, g->key);
		memset(g->sent_up, -1, sizeof(g->sent_up));
		snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", g->name);
		if (!listen_at(path, UAPI_LISTEN, g))
			return false;
		snprintf(path, sizeof(path), "%s/%s.ctl", run_dir, g->name);
		if (!listen_at(path, CTL_LISTEN, g))
			return false;
	}
	return true;
}

static int run(void)
{
	struct epoll_event ev[256];

	for (;;) {
		uint64_t now = sim_mono_ns(), next = sim_net_run(now);
		int timeout = !next ? 1000 : next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		int n = epoll_wait(ep, ev, 256, timeout);

		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			if (h->kind == SIGNALS)
				return 0;
			if (h->kind == UAPI_LISTEN || h->kind == CTL_LISTEN || h->kind == SIM_LISTEN)
				accept_all(h);
			else
				conn_event((struct conn *)h, ev[i].events);
		}
		if (events)
			fflush(events);
	}
}

static int tell(const char *path, int argc, char **argv)
{
	struct textbuf req = { 0 };
	char err[256], *reply;
	int rc;

	for (int i = 0; i < argc; i++)
		textbuf_printf(&req, "%s%s", i ? " " : "", argv[i]);
	textbuf_printf(&req, "\n");
	reply = req.s ? unixsock_request(path, req.s, req.len, 3000, unixsock_line_done, NULL, err,
					 sizeof(err)) : NULL;
	free(req.s);
	if (!reply) {
		fprintf(stderr, "simgw: %s\n", req.s ? err : "out of memory");
		return 1;
	}
	fputs(reply, stdout);
	rc = strstr(reply, "\"error\"") ? 1 : 0;
	free(reply);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: simgw --slots N --name PREFIX --run-dir DIR [--rtt MS] [--matrix FILE]\n"
		   "             [--jitter PCT] [--events FILE] [--sim SOCKET] [--puppets FIRST]\n"
		   "       simgw --keys FIRST LAST\n"
		   "       simgw --tell SOCKET COMMAND...\n"
		   "N simulated gateways for meshd (perf/simgw.c); see perf/run-scale.sh.\n");
}

struct options {
	unsigned slots, puppets;
	const char *prefix, *run_dir, *matrix, *events, *sim_path;
	double rtt_ms, jitter;
};

static bool parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 'n' }, { "name", required_argument, NULL, 'p' },
		{ "run-dir", required_argument, NULL, 'd' }, { "rtt", required_argument, NULL, 'r' },
		{ "matrix", required_argument, NULL, 'm' }, { "jitter", required_argument, NULL, 'j' },
		{ "events", required_argument, NULL, 'e' }, { "sim", required_argument, NULL, 's' },
		{ "puppets", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*o = (struct options){ .rtt_ms = 20, .jitter = 0.02 };
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': o->slots = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o->prefix = optarg; break;
		case 'd': o->run_dir = optarg; break;
		case 'r': o->rtt_ms = strtod(optarg, NULL); break;
		case 'm': o->matrix = optarg; break;
		case 'j': o->jitter = strtod(optarg, NULL) / 100.0; break;
		case 'e': o->events = optarg; break;
		case 's': o->sim_path = optarg; break;
		case 'u': o->puppets = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return false;
		}
	}
	return optind == argc && o->slots >= 1 && o->slots < SIM_IDS && o->prefix && o->run_dir &&
	       o->rtt_ms >= 0 && o->jitter >= 0 && o->jitter < 1 && o->puppets <= o->slots;
}

static bool setup(const struct options *o)
{
	size_t cells = (size_t)(o->slots + 1) * (o->slots + 1);
	struct rlimit rl;
	char err[256];

	sim.nslots = o->slots;
	sim.jitter = o->jitter;
	sim.first_puppet = o->puppets;
	sim.gw = calloc(o->slots + 1, sizeof(*sim.gw));
	sim.rtt_ms = malloc(cells * sizeof(float));
	sim.cut = calloc(cells, sizeof(bool));
	if (!sim.gw || !sim.rtt_ms || !sim.cut)
		return false;
	for (size_t i = 0; i < cells; i++)
		sim.rtt_ms[i] = (float)o->rtt_ms;
	if (o->matrix && !sim_matrix_load(o->matrix, err, sizeof(err))) {
		fprintf(stderr, "simgw: %s\n", err);
		return false;
	}
	if (o->events && !(events = fopen(o->events, "a"))) {
		fprintf(stderr, "simgw: %s: %s\n", o->events, strerror(errno));
		return false;
	}
	/* Two listening sockets per slot and a connection per meshd request. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return true;
}

int main(int argc, char **argv)
{
	static struct handle signals = { .kind = SIGNALS };
	struct options o;
	sigset_t set;
	int rc;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--keys")) {
		print_keys((unsigned)strtoul(argv[2], NULL, 10), (unsigned)strtoul(argv[3], NULL, 10));
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "--tell"))
		return tell(argv[2], argc - 3, argv + 3);
	if (!parse_options(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0 || !setup(&o))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signals.fd = signalfd(-1, &set, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || signals.fd < 0 || !watch_fd(&signals, EPOLLIN, EPOLL_CTL_ADD) ||
	    !open_slots(o.prefix, o.run_dir) || (o.sim_path && !listen_at(o.sim_path, SIM_LISTEN, NULL))) {
		cleanup(o.run_dir, o.sim_path);
		return 1;
	}
	fprintf(stderr, "simgw: %u gateways %s1..%s%u in %s\n", sim.nslots, o.prefix, o.prefix, sim.nslots,
		o.run_dir);
	rc = run();
	cleanup(o.run_dir, o.sim_path);
	if (events)
		fclose(events);
	return rc;
}
