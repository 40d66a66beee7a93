// SPDX-License-Identifier: MIT
/*
 * hopmesh-wanem: the rig's WAN emulator (docs/RIG.md).
 *
 *     hopmesh-wanem --ctl SOCKET [--seed N] [--spin-us N] IF1 IF2 ...
 *
 * A learning Ethernet switch between the given interfaces (AF_PACKET raw
 * sockets, one per interface), which applies to every ordered pair of ports
 * (source port -> destination port) a one-way delay, a jitter, a loss rate, a
 * rate limit with a queue limit and an up/down state. This kernel has no
 * netem: this program is the rig's WAN.
 *
 * A frame received on port S goes to port D (to every other port for
 * broadcast, multicast and unknown destinations) through the model of the pair
 * S -> D (wanem_model.c: down, loss, token bucket, delay and jitter), which
 * says when it is due or why it is dropped. This file is the I/O around it:
 *
 *   port_receive()  recvmsg on S, the kernel's receive timestamp as arrival
 *                   time (time spent before we read a frame is not added to
 *                   its delay), MAC learning, wanem_pair_admit() per copy
 *   heap            one binary heap of frames keyed by due time, then arrival
 *   send_due()      wanem_pair_departs(), sendmsg on D, wanem_pair_sent()
 *                   with the time it was handed to the kernel (its lateness)
 *   wanem_run()     the loop: poll() on the slots of enum poll_slot (control
 *                   socket, signalfd, timerfd, each port, each connection);
 *                   the timerfd is armed (TFD_TIMER_ABSTIME) `spin`
 *                   microseconds before the next due time, then the loop
 *                   busy-waits the last microseconds. With nothing queued it
 *                   blocks with no timeout: idle costs no CPU.
 *   handle_line()   the control protocol
 *
 * The control socket takes one command per line and answers each with one
 * line: `ok`, `error: ...` or one JSON object (`show`, `stats`). See usage() below.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <math.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wanem_model.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define MAX_PORTS 32
#define MAX_CLIENTS 16
#define LINE_MAX_LEN 4096
#define OUT_MAX (8u << 20)	  /* a client that reads nothing is dropped */
#define FRAME_MAX (65536 + 4)	  /* GSO frames, plus a re-inserted VLAN tag */
#define RX_BATCH 64		  /* frames read from one port per wake */
#define MAC_SLOTS 4096		  /* learning table, open addressing */
#define MAC_AGE_NS (300 * NS_PER_S) /* as a switch's default */
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull
#define MAX_DELAY_NS (60 * NS_PER_S)

/* ---- time ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* ---- ports, pairs, frames ---- */

/* A pair's model, and what only the I/O around it knows. */
struct pair {
	struct wanem_pair model;
	uint64_t dropped_tx;
	uint64_t queued; /* frames of this pair in the heap */
};

struct port {
	char name[IF_NAMESIZE];
	int ifindex;
	int fd;
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, tx_errors, filtered, rx_bad;
};

struct frame {
	uint64_t due;
	uint64_t seq;
	uint8_t src, dst;
	uint32_t len;
	struct virtio_net_hdr vnet;
	uint8_t data[];
};

struct mac_slot {
	uint64_t mac; /* 48 bits; 0: empty */
	uint64_t seen;
	int port;
};

struct client {
	int fd;
	bool closing; /* the peer shut down its side: close once flushed */
	size_t in_len;
	char in[LINE_MAX_LEN];
	char *out;
	size_t out_len, out_cap;
};

static struct port ports[MAX_PORTS];
static int nports;
static struct pair pairs[MAX_PORTS][MAX_PORTS];
static struct mac_slot macs[MAC_SLOTS];
static struct client clients[MAX_CLIENTS];
static uint64_t seed_value;
static uint64_t spin_ns = 50 * NS_PER_US;
static uint64_t max_queued_bytes = 256ull << 20;
static uint64_t queued_bytes;
static uint64_t frame_seq;
static uint64_t flooded;
static uint64_t rx_wait_max_ns, rx_wait_sum_ns, rx_wait_count, rx_wait_ge1ms;

static struct frame **heap;
static size_t heap_len, heap_cap;

/* ---- the heap of frames, by due time then arrival order ---- */

static inline bool before(const struct frame *a, const struct frame *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static bool heap_push(struct frame *f)
{
	size_t i;

	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 1024;
		struct frame **h = realloc(heap, cap * sizeof(*h));

		if (!h)
			return false;
		heap = h;
		heap_cap = cap;
	}
	i = heap_len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(f, heap[parent]))
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = f;
	return true;
}

static struct frame *heap_pop(void)
{
	struct frame *top = heap[0], *last = heap[--heap_len];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= heap_len)
			break;
		if (c + 1 < heap_len && before(heap[c + 1], heap[c]))
			c++;
		if (!before(heap[c], last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (heap_len)
		heap[i] = last;
	return top;
}

/* ---- MAC learning ---- */

static uint64_t mac_of(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

static struct mac_slot *mac_find(uint64_t mac, bool create, uint64_t now)
{
	uint64_t x = mac;
	unsigned start = (unsigned)(wanem_splitmix64(&x) % MAC_SLOTS);
	struct mac_slot *free_slot = NULL;

	for (unsigned k = 0; k < MAC_SLOTS; k++) {
		struct mac_slot *s = &macs[(start + k) % MAC_SLOTS];

		if (s->mac == mac)
			return s;
		if (!s->mac) {
			if (!free_slot)
				free_slot = s;
			break;
		}
		/* An aged entry may be reused, but the search goes on past it. */
		if (!free_slot && now - s->seen > MAC_AGE_NS)
			free_slot = s;
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->mac = mac;
	return free_slot;
}

static void mac_learn(const uint8_t *src, int port, uint64_t now)
{
	struct mac_slot *s;

	if (src[0] & 1) /* a group address is never a source */
		return;
	s = mac_find(mac_of(src), true, now);
	if (s) {
		s->port = port;
		s->seen = now;
	}
}

/* The port behind a unicast MAC, or -1 to flood. */
static int mac_port(const uint8_t *dst, uint64_t now)
{
	struct mac_slot *s;

	if (dst[0] & 1)
		return -1;
	s = mac_find(mac_of(dst), false, now);
	if (!s || now - s->seen > MAC_AGE_NS)
		return -1;
	return s->port;
}

/* ---- frames in and out ---- */

/* Finishes a checksum the sender left to offload (CHECKSUM_PARTIAL): the
 * field holds the pseudo-header sum, the rest is summed from csum_start. */
static void finish_checksum(uint8_t *f, uint32_t len, struct virtio_net_hdr *h)
{
	uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset), sum = 0, i;
	uint16_t c;

	if (start + off + 2 > len)
		return;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	if (!c && off == 6) /* UDP: zero would mean "no checksum" */
		c = 0xffff;
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
	h->flags = 0;
}

static void send_frame(struct frame *f)
{
	struct pair *p = &pairs[f->src][f->dst];
	struct port *out = &ports[f->dst];
	struct iovec iov[2] = {{&f->vnet, sizeof(f->vnet)}, {f->data, f->len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	uint64_t now;

	p->queued--;
	queued_bytes -= f->len;
	if (!wanem_pair_departs(&p->model))
		return;
	/* The time it is handed to the kernel: send_due() may have sent others
	 * since it looked at the clock. */
	now = mono_ns();
	if (sendmsg(out->fd, &msg, MSG_DONTWAIT) < 0) {
		p->dropped_tx++;
		out->tx_errors++;
		return;
	}
	wanem_pair_sent(&p->model, f->len, f->due, now);
	out->tx_frames++;
	out->tx_bytes += f->len;
}

static void enqueue(int src, int dst, const uint8_t *data, uint32_t len,
		    const struct virtio_net_hdr *vnet, uint64_t t, uint64_t now)
{
	struct pair *p = &pairs[src][dst];
	struct frame *f;
	uint64_t due;

	if (wanem_pair_admit(&p->model, len, t, now, &due) != WANEM_PASS)
		return;
	if (queued_bytes + len > max_queued_bytes || !(f = malloc(sizeof(*f) + len))) {
		p->model.dropped_queue++;
		return;
	}
	f->due = due;
	f->seq = frame_seq++;
	f->src = (uint8_t)src;
	f->dst = (uint8_t)dst;
	f->len = len;
	f->vnet = *vnet;
	memcpy(f->data, data, len);
	if (!heap_push(f)) {
		free(f);
		p->model.dropped_queue++;
		return;
	}
	p->queued++;
	queued_bytes += len;
}

static uint8_t rx_buf[FRAME_MAX];

/* Reads what port `in` has (up to a batch) and queues it. */
static void port_receive(int in, uint64_t now, uint64_t mono_minus_real)
{
	struct port *pt = &ports[in];

	for (int n = 0; n < RX_BATCH; n++) {
		struct virtio_net_hdr vnet;
		struct iovec iov[2] = {{&vnet, sizeof(vnet)}, {rx_buf, FRAME_MAX - 4}};
		union {
			char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata)) +
				 CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_ll from;
		struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = iov,
				     .msg_iovlen = 2, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf)};
		struct tpacket_auxdata *aux = NULL;
		uint64_t t = now;
		ssize_t r = recvmsg(pt->fd, &msg, MSG_DONTWAIT);
		uint32_t len;
		int dst;

		if (r < 0)
			return; /* EAGAIN, or an error we cannot act on */
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)r < sizeof(vnet) + ETH_HLEN || (msg.msg_flags & MSG_TRUNC)) {
			pt->rx_bad++;
			continue;
		}
		len = (uint32_t)((size_t)r - sizeof(vnet));
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) {
				aux = (struct tpacket_auxdata *)CMSG_DATA(cm);
			} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				uint64_t k;

				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				k = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec + mono_minus_real;
				/* a clock step must not hold or rush frames */
				if (k <= now && now - k < NS_PER_S) {
					t = k;
					rx_wait_sum_ns += now - k;
					rx_wait_count++;
					rx_wait_ge1ms += now - k >= NS_PER_MS;
					if (now - k > rx_wait_max_ns)
						rx_wait_max_ns = now - k;
				}
			}
		}
		if (vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM && vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
			finish_checksum(rx_buf, len, &vnet);
		if (aux && (aux->tp_status & TP_STATUS_VLAN_VALID)) {
			uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
				aux->tp_vlan_tpid : ETH_P_8021Q;

			memmove(rx_buf + 16, rx_buf + 12, len - 12);
			rx_buf[12] = (uint8_t)(tpid >> 8);
			rx_buf[13] = (uint8_t)tpid;
			rx_buf[14] = (uint8_t)(aux->tp_vlan_tci >> 8);
			rx_buf[15] = (uint8_t)aux->tp_vlan_tci;
			len += 4;
			if (vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
				vnet.csum_start = htole16((uint16_t)(le16toh(vnet.csum_start) + 4));
				vnet.hdr_len = htole16((uint16_t)(le16toh(vnet.hdr_len) + 4));
			}
		}
		pt->rx_frames++;
		pt->rx_bytes += len;
		mac_learn(rx_buf + 6, in, now);
		dst = mac_port(rx_buf, now);
		if (dst == in) {
			pt->filtered++;
		} else if (dst >= 0) {
			enqueue(in, dst, rx_buf, len, &vnet, t, now);
		} else {
			flooded++;
			for (int d = 0; d < nports; d++)
				if (d != in)
					enqueue(in, d, rx_buf, len, &vnet, t, now);
		}
	}
}

static void send_due(uint64_t now)
{
	while (heap_len && heap[0]->due <= now) {
		struct frame *f = heap_pop();

		send_frame(f);
		free(f);
	}
}

/* ---- the control protocol ---- */

static void out_printf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = c->out_cap - c->out_len;

		va_start(ap, fmt);
		n = vsnprintf(c->out ? c->out + c->out_len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			c->out_len += (size_t)n;
			return;
		}
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		while (cap < c->out_len + (size_t)n + 1)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (!o)
			return;
		c->out = o;
		c->out_cap = cap;
	}
}

static void out_json_string(struct client *c, const char *s)
{
	out_printf(c, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			out_printf(c, "\\%c", ch);
		else if (ch < 0x20)
			out_printf(c, "\\u%04x", ch);
		else
			out_printf(c, "%c", ch);
	}
	out_printf(c, "\"");
}

/* A number with an optional unit suffix: *num, and *unit pointing at it. */
static bool split_number(const char *s, double *num, const char **unit)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || !isfinite(*num) || *num < 0)
		return false;
	*unit = end;
	return true;
}

static bool parse_duration(const char *s, uint64_t *ns)
{
	double v, mult;
	const char *u;

	if (!split_number(s, &v, &u))
		return false;
	if (!*u || !strcasecmp(u, "ms"))
		mult = 1e6;
	else if (!strcasecmp(u, "us"))
		mult = 1e3;
	else if (!strcasecmp(u, "ns"))
		mult = 1;
	else if (!strcasecmp(u, "s"))
		mult = 1e9;
	else
		return false;
	v *= mult;
	if (v > (double)MAX_DELAY_NS)
		return false;
	*ns = (uint64_t)llround(v);
	return true;
}

static bool parse_loss(const char *s, double *loss)
{
	double v;
	const char *u;

	if (!split_number(s, &v, &u))
		return false;
	if (!strcmp(u, "%"))
		v /= 100;
	else if (*u)
		return false;
	if (v > 1)
		return false;
	*loss = v;
	return true;
}

static bool parse_rate(const char *s, uint64_t *bps)
{
	double v, mult;
	const char *u;

	if (!strcasecmp(s, "off") || !strcasecmp(s, "none")) {
		*bps = 0;
		return true;
	}
	if (!split_number(s, &v, &u))
		return false;
	if (!*u || !strcasecmp(u, "bit"))
		mult = 1;
	else if (!strcasecmp(u, "k") || !strcasecmp(u, "kbit"))
		mult = 1e3;
	else if (!strcasecmp(u, "m") || !strcasecmp(u, "mbit"))
		mult = 1e6;
	else if (!strcasecmp(u, "g") || !strcasecmp(u, "gbit"))
		mult = 1e9;
	else
		return false;
	v *= mult;
	if (v > 1e12 || (v > 0 && v < 1000))
		return false;
	*bps = (uint64_t)llround(v);
	return true;
}

static bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Ports matching a name or `*`, as a bit set. */
static bool match_ports(const char *name, uint32_t *set)
{
	*set = 0;
	for (int i = 0; i < nports; i++)
		if (!strcmp(name, "*") || !strcmp(name, ports[i].name))
			*set |= 1u << i;
	return *set != 0;
}

/* Parses settings into *c, with `mask` saying which were given. */
static const char *parse_settings(char **arg, int n, struct wanem_cfg *c, unsigned *mask)
{
	static char err[160];

	*mask = 0;
	for (int i = 0; i < n; i++) {
		char *a = arg[i], *eq = strchr(a, '=');
		const char *k = a, *v = eq ? eq + 1 : "";
		uint64_t u;

		if (!strcmp(a, "up") || !strcmp(a, "down")) {
			c->up = a[0] == 'u';
			*mask |= WANEM_SET_UP;
			continue;
		}
		if (!eq) {
			snprintf(err, sizeof(err), "expected KEY=VALUE, up or down, got '%.40s'", a);
			return err;
		}
		*eq = 0;
		if (!strcmp(k, "delay") && parse_duration(v, &c->delay_ns)) {
			*mask |= WANEM_SET_DELAY;
		} else if (!strcmp(k, "jitter") && parse_duration(v, &c->jitter_ns)) {
			*mask |= WANEM_SET_JITTER;
		} else if (!strcmp(k, "loss") && parse_loss(v, &c->loss)) {
			*mask |= WANEM_SET_LOSS;
		} else if (!strcmp(k, "rate") && parse_rate(v, &c->rate_bps)) {
			*mask |= WANEM_SET_RATE;
		} else if (!strcmp(k, "queue") && parse_uint(v, 1, 1000000, &u)) {
			c->queue = (uint32_t)u;
			*mask |= WANEM_SET_QUEUE;
		} else if (!strcmp(k, "burst") && parse_uint(v, 0, 1u << 30, &u)) {
			c->burst = (uint32_t)u;
			*mask |= WANEM_SET_BURST;
		} else if (!strcmp(k, "reorder") && (!strcmp(v, "on") || !strcmp(v, "off"))) {
			c->reorder = !strcmp(v, "on");
			*mask |= WANEM_SET_REORDER;
		} else if (!strcmp(k, "state") && (!strcmp(v, "up") || !strcmp(v, "down"))) {
			c->up = !strcmp(v, "up");
			*mask |= WANEM_SET_UP;
		} else {
			if (strcmp(k, "delay") && strcmp(k, "jitter") && strcmp(k, "loss") &&
			    strcmp(k, "rate") && strcmp(k, "queue") && strcmp(k, "burst") &&
			    strcmp(k, "reorder") && strcmp(k, "state"))
				snprintf(err, sizeof(err), "unknown setting '%.40s'", k);
			else
				snprintf(err, sizeof(err), "bad value for %s: '%.40s'", k, v);
			return err;
		}
	}
	return NULL;
}

/* Each pair draws its own sequence from the one seed. */
static uint64_t pair_stream(int s, int d)
{
	return (uint64_t)s * MAX_PORTS + (uint64_t)d + 1;
}

static void reseed(uint64_t seed)
{
	seed_value = seed;
	for (int s = 0; s < nports; s++)
		for (int d = 0; d < nports; d++)
			wanem_pair_reseed(&pairs[s][d].model, seed, pair_stream(s, d));
}

static void show_pair(struct client *c, int s, int d, bool first)
{
	const struct pair *pp = &pairs[s][d];
	const struct wanem_pair *p = &pp->model;
	const struct wanem_cfg *g = &p->cfg;

	out_printf(c, "%s{\"src\":", first ? "" : ",");
	out_json_string(c, ports[s].name);
	out_printf(c, ",\"dst\":");
	out_json_string(c, ports[d].name);
	out_printf(c, ",\"up\":%s,\"delay_ms\":%.3f,\"jitter_ms\":%.3f,\"loss\":%.6g,"
		   "\"rate_bps\":%" PRIu64 ",\"queue\":%" PRIu32 ",\"burst_bytes\":%" PRIu32
		   ",\"reorder\":%s,\"forwarded\":%" PRIu64 ",\"forwarded_bytes\":%" PRIu64
		   ",\"dropped_loss\":%" PRIu64 ",\"dropped_down\":%" PRIu64
		   ",\"dropped_queue\":%" PRIu64 ",\"dropped_tx\":%" PRIu64 ",\"queued\":%" PRIu64 "}",
		   g->up ? "true" : "false", (double)g->delay_ns / 1e6, (double)g->jitter_ns / 1e6,
		   g->loss, g->rate_bps, g->queue, g->rate_bps ? wanem_cfg_burst(g) : 0,
		   g->reorder ? "true" : "false", p->forwarded, p->forwarded_bytes, p->dropped_loss,
		   p->dropped_down, p->dropped_queue, pp->dropped_tx, pp->queued);
}

/* "lateness":{...} of one timing record: the host's share. */
static void out_lateness(struct client *c, const struct wanem_timing *t)
{
	out_printf(c, "\"lateness\":{\"frames\":%" PRIu64 ",\"mean_us\":%.1f,\"max_us\":%.1f",
		   t->late_frames,
		   t->late_frames ? (double)t->late_sum_ns / (double)t->late_frames / 1e3 : 0.0,
		   (double)t->late_max_ns / 1e3);
	for (int i = 0; i < WANEM_LATE_BUCKETS; i++)
		out_printf(c, ",\"%s\":%" PRIu64, wanem_late_names[i], t->late_hist[i]);
	out_printf(c, "}");
}

/* "lateness" over all pairs, and "rx_wait": how the host kept the emulator. */
static void out_host_timing(struct client *c)
{
	struct wanem_timing all = {.delay_min_ns = UINT64_MAX};

	for (int s = 0; s < nports; s++)
		for (int d = 0; d < nports; d++)
			if (s != d)
				wanem_timing_add(&all, &pairs[s][d].model.timing);
	out_lateness(c, &all);
	out_printf(c, ",\"rx_wait\":{\"frames\":%" PRIu64 ",\"mean_us\":%.1f,\"max_us\":%.1f,"
		   "\"ge1ms\":%" PRIu64 "}", rx_wait_count,
		   rx_wait_count ? (double)rx_wait_sum_ns / (double)rx_wait_count / 1e3 : 0.0,
		   (double)rx_wait_max_ns / 1e3, rx_wait_ge1ms);
}

static void cmd_show(struct client *c, uint32_t srcs, uint32_t dsts)
{
	bool first = true;

	out_printf(c, "{\"seed\":%" PRIu64 ",\"queued_frames\":%zu,\"queued_bytes\":%" PRIu64
		   ",\"flooded\":%" PRIu64 ",\"ports\":[", seed_value, heap_len, queued_bytes, flooded);
	for (int i = 0; i < nports; i++) {
		const struct port *pt = &ports[i];

		out_printf(c, "%s{\"name\":", i ? "," : "");
		out_json_string(c, pt->name);
		out_printf(c, ",\"ifindex\":%d,\"rx_frames\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			   ",\"tx_frames\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"tx_errors\":%" PRIu64
			   ",\"filtered\":%" PRIu64 ",\"rx_bad\":%" PRIu64 "}",
			   pt->ifindex, pt->rx_frames, pt->rx_bytes, pt->tx_frames, pt->tx_bytes,
			   pt->tx_errors, pt->filtered, pt->rx_bad);
	}
	out_printf(c, "],\"pairs\":[");
	for (int s = 0; s < nports; s++)
		for (int d = 0; d < nports; d++)
			if (s != d && (srcs >> s & 1) && (dsts >> d & 1)) {
				show_pair(c, s, d, first);
				first = false;
			}
	out_printf(c, "],");
	out_host_timing(c);
	out_printf(c, "}\n");
}

/*
 * stats [SRC DST]: per pair, the delay the model gave frames (due minus exit
 * from the token bucket: within delay +- jitter by construction) apart from
 * how late the loop sent them (the host's share), then the totals of show.
 */
static void cmd_stats(struct client *c, uint32_t srcs, uint32_t dsts)
{
	bool first = true;

	out_printf(c, "{\"pairs\":[");
	for (int s = 0; s < nports; s++)
		for (int d = 0; d < nports; d++) {
			const struct wanem_pair *p = &pairs[s][d].model;
			const struct wanem_timing *t = &p->timing;

			if (s == d || !(srcs >> s & 1) || !(dsts >> d & 1))
				continue;
			out_printf(c, "%s{\"src\":", first ? "" : ",");
			first = false;
			out_json_string(c, ports[s].name);
			out_printf(c, ",\"dst\":");
			out_json_string(c, ports[d].name);
			out_printf(c, ",\"delay_ms\":%.3f,\"jitter_ms\":%.3f,\"scheduled\":{\"frames\":%"
				   PRIu64 ",\"min_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f},",
				   (double)p->cfg.delay_ns / 1e6, (double)p->cfg.jitter_ns / 1e6,
				   t->delay_frames,
				   t->delay_frames ? (double)t->delay_min_ns / 1e6 : 0.0,
				   (double)t->delay_max_ns / 1e6,
				   t->delay_frames ? (double)t->delay_sum_ns / (double)t->delay_frames / 1e6
						   : 0.0);
			out_lateness(c, t);
			out_printf(c, "}");
		}
	out_printf(c, "],");
	out_host_timing(c);
	out_printf(c, "}\n");
}

static void clear_counters(void)
{
	for (int s = 0; s < nports; s++) {
		struct port *pt = &ports[s];

		pt->rx_frames = pt->rx_bytes = pt->tx_frames = pt->tx_bytes = 0;
		pt->tx_errors = pt->filtered = pt->rx_bad = 0;
		for (int d = 0; d < nports; d++) {
			wanem_pair_clear(&pairs[s][d].model);
			pairs[s][d].dropped_tx = 0;
		}
	}
	flooded = 0;
	rx_wait_max_ns = rx_wait_sum_ns = rx_wait_count = rx_wait_ge1ms = 0;
}

static const char help_text[] =
	"commands: "
	"set SRC DST SETTING... (one direction; SRC/DST an interface or *) | "
	"link A B SETTING... (both directions) | "
	"show [SRC DST] | stats [SRC DST] (timing) | seed N | clear | ports | help | quit; "
	"settings: delay=40ms jitter=2ms loss=10% rate=100mbit queue=1000 burst=BYTES "
	"reorder=on|off up down (delay units ns us ms s, default ms; rate units bit kbit "
	"mbit gbit, 0 or off for unlimited; loss as N% or a fraction)";

/* Returns false to close the connection. */
static bool handle_line(struct client *c, char *line)
{
	char *arg[40];
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == (int)(sizeof(arg) / sizeof(arg[0]))) {
			out_printf(c, "error: too many words\n");
			return true;
		}
		arg[n++] = t;
	}
	if (!n)
		return true;
	if (!strcmp(arg[0], "set") || !strcmp(arg[0], "link")) {
		bool both = arg[0][0] == 'l';
		uint32_t a, b;
		struct wanem_cfg cfg;
		unsigned mask;
		const char *err;

		if (n < 4) {
			out_printf(c, "error: usage: %s SRC DST SETTING...\n", arg[0]);
			return true;
		}
		if (!match_ports(arg[1], &a) || !match_ports(arg[2], &b)) {
			out_printf(c, "error: no port named '%.40s'\n",
				   match_ports(arg[1], &a) ? arg[2] : arg[1]);
			return true;
		}
		if (a == b && __builtin_popcount(a) == 1) {
			out_printf(c, "error: a port has no pair with itself\n");
			return true;
		}
		wanem_cfg_default(&cfg);
		err = parse_settings(arg + 3, n - 3, &cfg, &mask);
		if (err) {
			out_printf(c, "error: %s\n", err);
			return true;
		}
		for (int s = 0; s < nports; s++)
			for (int d = 0; d < nports; d++)
				if (s != d && (((a >> s & 1) && (b >> d & 1)) ||
					       (both && (b >> s & 1) && (a >> d & 1))))
					wanem_pair_set(&pairs[s][d].model, &cfg, mask);
		out_printf(c, "ok\n");
	} else if (!strcmp(arg[0], "show") || !strcmp(arg[0], "stats")) {
		uint32_t a = ~0u, b = ~0u;

		if (n != 1 && n != 3) {
			out_printf(c, "error: usage: %s [SRC DST]\n", arg[0]);
			return true;
		}
		if (n == 3 && (!match_ports(arg[1], &a) || !match_ports(arg[2], &b))) {
			out_printf(c, "error: no such port\n");
			return true;
		}
		if (arg[0][1] == 'h')
			cmd_show(c, a, b);
		else
			cmd_stats(c, a, b);
	} else if (!strcmp(arg[0], "seed")) {
		uint64_t s;

		if (n != 2 || !parse_uint(arg[1], 0, UINT64_MAX, &s)) {
			out_printf(c, "error: usage: seed N (a decimal integer)\n");
			return true;
		}
		reseed(s);
		out_printf(c, "ok\n");
	} else if (!strcmp(arg[0], "clear") && n == 1) {
		clear_counters();
		out_printf(c, "ok\n");
	} else if (!strcmp(arg[0], "ports") && n == 1) {
		for (int i = 0; i < nports; i++)
			out_printf(c, "%s%s", i ? " " : "", ports[i].name);
		out_printf(c, "\n");
	} else if (!strcmp(arg[0], "help")) {
		out_printf(c, "%s\n", help_text);
	} else if (!strcmp(arg[0], "quit")) {
		out_printf(c, "ok\n");
		return false;
	} else {
		out_printf(c, "error: unknown command '%.40s' (try help)\n", arg[0]);
	}
	return true;
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->out);
	*c = (struct client){.fd = -1};
}

static void client_read(struct client *c)
{
	/* one byte stays free for the terminator of a last line without newline */
	ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
	char *nl;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		c->closing = true;
		if (c->in_len && r == 0) { /* a last command without a newline */
			size_t len = c->in_len;

			c->in[len] = 0;
			c->in_len = 0;
			if (strlen(c->in) == len)
				handle_line(c, c->in);
			else
				out_printf(c, "error: NUL byte in command\n");
		}
		return;
	}
	c->in_len += (size_t)r;
	while ((nl = memchr(c->in, '\n', c->in_len))) {
		size_t used = (size_t)(nl - c->in) + 1;
		bool keep = true;

		*nl = 0;
		if (strlen(c->in) != used - 1)
			out_printf(c, "error: NUL byte in command\n");
		else
			keep = handle_line(c, c->in);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (!keep) {
			c->closing = true;
			c->in_len = 0;
			return;
		}
	}
	if (c->in_len == sizeof(c->in) - 1) {
		out_printf(c, "error: line longer than %zu bytes\n", sizeof(c->in) - 2);
		c->in_len = 0;
		c->closing = true;
	}
}

static void client_write(struct client *c)
{
	while (c->out_len) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			c->out_len = 0;
			c->closing = true;
			break;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	if (c->out_len > OUT_MAX)
		client_close(c);
	else if (c->closing && !c->out_len)
		client_close(c);
}

/* ---- set-up ---- */

static int open_port(struct port *pt, const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};
	int one = 1, buf = 8 << 20, fd;

	if (strlen(name) >= IF_NAMESIZE) {
		fprintf(stderr, "hopmesh-wanem: interface name too long: %s\n", name);
		return -1;
	}
	snprintf(pt->name, sizeof(pt->name), "%s", name);
	pt->ifindex = (int)if_nametoindex(name);
	if (!pt->ifindex) {
		fprintf(stderr, "hopmesh-wanem: no interface %s: %s\n", name, strerror(errno));
		return -1;
	}
	/* Protocol 0 until bound: no frame of another interface gets queued. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "hopmesh-wanem: packet socket: %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one))) {
		fprintf(stderr, "hopmesh-wanem: %s: socket options: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
		fprintf(stderr, "hopmesh-wanem: %s: PACKET_IGNORE_OUTGOING: %s (filtering by type)\n",
			name, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	sll.sll_ifindex = pt->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "hopmesh-wanem: bind to %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	mr.mr_ifindex = pt->ifindex;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		fprintf(stderr, "hopmesh-wanem: %s: promiscuous mode: %s\n", name, strerror(errno));
	pt->fd = fd;
	return 0;
}

static int open_ctl(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "hopmesh-wanem: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Replace a stale socket, never any other kind of file. */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "hopmesh-wanem: %s exists and is not a socket\n", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0600) ||
	    listen(fd, 16)) {
		fprintf(stderr, "hopmesh-wanem: control socket %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hopmesh-wanem --ctl SOCKET [--seed N] [--spin-us N] [--max-queue-mb N] IF1 IF2...\n"
		"  A learning switch between the interfaces with, per ordered pair of ports,\n"
		"  delay, jitter, loss, rate limit and up/down, set at runtime on SOCKET:\n"
		"    set SRC DST delay=40ms jitter=2ms loss=10%% rate=100mbit queue=1000 up|down\n"
		"    link A B ...   (both directions)   show [SRC DST]   stats [SRC DST]\n"
		"    seed N   clear   help\n"
		"  SRC and DST are interface names or *. Defaults: up, no delay, no loss, no\n"
		"  rate limit, queue 1000 frames. --seed makes losses and jitter reproducible;\n"
		"  --spin-us (default 50) is how long before a due time the loop busy-waits.\n");
}

/* ---- the loop ---- */

/* What the loop polls, by slot: three fixed ones, then each port, then each
 * control connection. */
enum poll_slot {
	SLOT_CTL,    /* the listening control socket: a new connection */
	SLOT_SIGNAL, /* a signalfd for SIGINT and SIGTERM: exit */
	SLOT_TIMER,  /* a timerfd: the next frame is nearly due */
	SLOT_PORT0,  /* port i is SLOT_PORT0 + i; the connections follow */
};
#define SLOTS_MAX (SLOT_PORT0 + MAX_PORTS + MAX_CLIENTS)

struct loop {
	int ctl_fd, sig_fd, timer_fd;
	uint64_t armed; /* the timerfd's expiry, 0 if none */
	struct pollfd pfd[SLOTS_MAX];
	int nfds;
	int client_of[MAX_CLIENTS]; /* clients[] index of each connection slot */
	int nconns;
};

static int slot_port(int port)
{
	return SLOT_PORT0 + port;
}

static int slot_conn(int k)
{
	return SLOT_PORT0 + nports + k;
}

/*
 * Sends what is due, then says how long poll() may block: 0 if the next frame
 * is due within the spin time (the loop then busy-waits for it), -1 (no
 * limit) otherwise, the timerfd being armed `spin` before the next due time.
 */
static int loop_timeout(struct loop *l)
{
	uint64_t now = mono_ns(), next;

	send_due(now);
	if (!heap_len)
		return -1;
	next = heap[0]->due;
	now = mono_ns();
	if (next <= now + spin_ns)
		return 0;
	if (l->armed != next - spin_ns) {
		struct itimerspec its = {0};

		l->armed = next - spin_ns;
		its.it_value.tv_sec = (time_t)(l->armed / NS_PER_S);
		its.it_value.tv_nsec = (long)(l->armed % NS_PER_S);
		timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	}
	return -1;
}

static void loop_fill(struct loop *l)
{
	l->pfd[SLOT_CTL] = (struct pollfd){.fd = l->ctl_fd, .events = POLLIN};
	l->pfd[SLOT_SIGNAL] = (struct pollfd){.fd = l->sig_fd, .events = POLLIN};
	l->pfd[SLOT_TIMER] = (struct pollfd){.fd = l->timer_fd, .events = POLLIN};
	for (int i = 0; i < nports; i++)
		l->pfd[slot_port(i)] = (struct pollfd){.fd = ports[i].fd, .events = POLLIN};
	l->nconns = 0;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		const struct client *c = &clients[i];

		if (c->fd < 0)
			continue;
		l->pfd[slot_conn(l->nconns)] = (struct pollfd){
			.fd = c->fd,
			.events = (short)((c->closing ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0))};
		l->client_of[l->nconns++] = i;
	}
	l->nfds = slot_conn(l->nconns);
}

/* True if a signal says to exit. */
static bool on_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sig_fd, &si, sizeof(si)) != sizeof(si))
		return false;
	fprintf(stderr, "hopmesh-wanem: signal %u, exiting\n", si.ssi_signo);
	return true;
}

static void on_timer(struct loop *l)
{
	uint64_t ticks;

	if (read(l->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		fprintf(stderr, "hopmesh-wanem: timerfd: %s\n", strerror(errno));
	l->armed = 0;
}

static void on_ports(struct loop *l, uint64_t now)
{
	uint64_t mono_minus_real = now - real_ns();

	for (int i = 0; i < nports; i++) {
		const struct pollfd *p = &l->pfd[slot_port(i)];

		if (p->revents & POLLIN) {
			port_receive(i, now, mono_minus_real);
		} else if (p->revents & (POLLERR | POLLNVAL)) {
			int err;
			socklen_t len = sizeof(err);

			/* e.g. ENETDOWN: clear it, keep the port */
			getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		}
	}
}

static void on_conns(struct loop *l)
{
	for (int k = 0; k < l->nconns; k++) {
		struct client *c = &clients[l->client_of[k]];
		short re = l->pfd[slot_conn(k)].revents;

		if (re & (POLLIN | POLLHUP | POLLERR))
			client_read(c);
		if (c->fd >= 0)
			client_write(c);
	}
}

static void on_accept(struct loop *l)
{
	static const char busy[] = "error: too many control connections\n";
	int fd = accept4(l->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd < 0) {
			clients[i] = (struct client){.fd = fd};
			return;
		}
	if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing more to tell it */
	}
	close(fd);
}

/* Runs until a signal (0) or a poll() failure (1). */
static int wanem_run(struct loop *l)
{
	for (;;) {
		int timeout = loop_timeout(l), r;
		uint64_t now;

		loop_fill(l);
		r = poll(l->pfd, (nfds_t)l->nfds, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "hopmesh-wanem: poll: %s\n", strerror(errno));
			return 1;
		}
		if (r == 0 && timeout == 0) {
			/* The next frame is due within the spin time: wait for it here. */
			while (heap_len && mono_ns() < heap[0]->due)
				cpu_relax();
			continue;
		}
		now = mono_ns();
		if (l->pfd[SLOT_SIGNAL].revents && on_signal(l))
			return 0;
		if (l->pfd[SLOT_TIMER].revents)
			on_timer(l);
		on_ports(l, now);
		on_conns(l);
		if (l->pfd[SLOT_CTL].revents & POLLIN)
			on_accept(l);
	}
}

/* ---- set-up and tear-down ---- */

/* Opens the ports, signals, timer and, last, the control socket: once it
 * exists, the emulator forwards. */
static int wanem_open(struct loop *l, char **names, const char *ctl_path, bool seeded,
		      uint64_t seed)
{
	sigset_t mask;

	*l = (struct loop){.ctl_fd = -1, .sig_fd = -1, .timer_fd = -1};
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	for (int i = 0; i < nports; i++)
		ports[i].fd = -1;
	for (int i = 0; i < nports; i++) {
		for (int j = 0; j < i; j++)
			if (!strcmp(names[i], ports[j].name)) {
				fprintf(stderr, "hopmesh-wanem: port %s given twice\n", ports[j].name);
				return -1;
			}
		if (open_port(&ports[i], names[i]))
			return -1;
	}
	if (!seeded && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = mono_ns() ^ (uint64_t)getpid() << 32;
	seed_value = seed;
	for (int s = 0; s < nports; s++)
		for (int d = 0; d < nports; d++)
			wanem_pair_init(&pairs[s][d].model, seed, pair_stream(s, d));

	/* Precise wake-ups: no timer slack (the default is 50 us). */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* A shell starts background jobs with SIGINT ignored; an ignored signal
	 * would never reach the signalfd. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	l->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->sig_fd < 0 || l->timer_fd < 0) {
		fprintf(stderr, "hopmesh-wanem: signalfd/timerfd: %s\n", strerror(errno));
		return -1;
	}
	l->ctl_fd = open_ctl(ctl_path);
	if (l->ctl_fd < 0)
		return -1;
	fprintf(stderr, "hopmesh-wanem: %d ports, control socket %s, seed %" PRIu64 "\n", nports,
		ctl_path, seed_value);
	return 0;
}

static void wanem_close(struct loop *l, const char *ctl_path)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	while (heap_len)
		free(heap_pop());
	free(heap);
	for (int s = 0; s < nports; s++) {
		if (ports[s].fd >= 0)
			close(ports[s].fd);
		for (int d = 0; d < nports; d++)
			wanem_pair_free(&pairs[s][d].model);
	}
	if (l->ctl_fd >= 0) {
		close(l->ctl_fd);
		unlink(ctl_path);
	}
	if (l->sig_fd >= 0)
		close(l->sig_fd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ctl", required_argument, NULL, 'c'},	  {"seed", required_argument, NULL, 's'},
		{"spin-us", required_argument, NULL, 'p'}, {"max-queue-mb", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	static struct loop loop;
	const char *ctl_path = NULL;
	uint64_t seed = 0, v;
	bool seeded = false;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "c:s:p:m:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctl_path = optarg;
			break;
		case 's':
			if (!parse_uint(optarg, 0, UINT64_MAX, &seed)) {
				fprintf(stderr, "hopmesh-wanem: --seed takes a decimal integer\n");
				return 2;
			}
			seeded = true;
			break;
		case 'p':
			if (!parse_uint(optarg, 0, 1000, &v)) {
				fprintf(stderr, "hopmesh-wanem: --spin-us takes 0..1000\n");
				return 2;
			}
			spin_ns = v * NS_PER_US;
			break;
		case 'm':
			if (!parse_uint(optarg, 1, 65536, &v)) {
				fprintf(stderr, "hopmesh-wanem: --max-queue-mb takes 1..65536\n");
				return 2;
			}
			max_queued_bytes = v << 20;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	nports = argc - optind;
	if (!ctl_path || nports < 2 || nports > MAX_PORTS) {
		if (nports > MAX_PORTS)
			fprintf(stderr, "hopmesh-wanem: at most %d ports\n", MAX_PORTS);
		usage(stderr);
		return 2;
	}
	if (wanem_open(&loop, argv + optind, ctl_path, seeded, seed)) {
		wanem_close(&loop, ctl_path);
		return 1;
	}
	status = wanem_run(&loop);
	wanem_close(&loop, ctl_path);
	return status;
}
