// SPDX-License-Identifier: MIT
/*
 * hopmesh-flood: a paced packet generator for hostile-input tests on the rig.
 * Run it inside a namespace (ip netns exec NS hopmesh-flood ...).
 *
 *   hopmesh-flood udp --dst A[-B] [--port P] [--size N] --rate PPS --seconds S
 *     UDP datagrams from a plain socket (sendmmsg), to each address of the
 *     range in turn (IPv4, or IPv6 ranges that differ only in the last 64
 *     bits); the kernel routes them as any application's.
 *   hopmesh-flood arp --dev IF --target A[-B] [--src-ip A[-B]] [--src-mac MAC]
 *                     --rate PPS --seconds S
 *     Broadcast ARP requests for each target in turn, from src-ip (each of
 *     its range in turn; default 0.0.0.0, a probe) and src-mac (default the
 *     interface's), written to the interface by an AF_PACKET socket.
 *
 * Prints one JSON line when done (or on SIGINT/SIGTERM):
 *   {"mode":"udp","sent":N,"failed":F,"seconds":T,"rate":R}
 * sent: what the kernel accepted; failed: what it refused (ENOBUFS, ...);
 * seconds: the wall time from the first send to the last; rate: sent/seconds.
 *
 * Flow: parse the arguments -> open the socket -> every tick, send in
 * batches of up to BATCH what the schedule (rate x elapsed time) is owed,
 * then sleep until the next packet is due -> report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 1400
#define ARP_FRAME 42 /* Ethernet 14 + ARP 28 */

struct range {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t base[16];    /* IPv4 in the first 4 bytes */
	uint64_t first, count; /* host-order offsets: IPv4 all 32 bits, IPv6 the last 64 */
};

struct opts {
	const char *mode, *dev;
	struct range dst, src;
	bool have_dst, have_src, have_mac;
	uint8_t mac[6];
	unsigned port, size;
	double rate, seconds;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hopmesh-flood udp --dst A[-B] [--port P] [--size N] --rate PPS --seconds S\n"
		   "       hopmesh-flood arp --dev IF --target A[-B] [--src-ip A[-B]] [--src-mac MAC]\n"
		   "                         --rate PPS --seconds S\n"
		   "Sends at the given rate for the given time; prints one JSON line:\n"
		   "  {\"mode\":...,\"sent\":N,\"failed\":F,\"seconds\":T,\"rate\":R}\n");
}

static uint64_t be_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void be_store(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static bool parse_addr(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* "A" or "A-B", both ends included; IPv6 ends share their first 64 bits. */
static bool parse_range(const char *arg, struct range *r)
{
	char a[64], *dash;
	uint8_t hi[16];
	int f2;
	uint64_t last;

	if (strlen(arg) >= sizeof(a))
		return false;
	strcpy(a, arg);
	dash = strchr(a, '-');
	if (dash)
		*dash++ = '\0';
	if (!parse_addr(a, &r->family, r->base))
		return false;
	if (!dash)
		memcpy(hi, r->base, 16);
	else if (!parse_addr(dash, &f2, hi) || f2 != r->family)
		return false;
	if (r->family == AF_INET) {
		r->first = be_load(r->base, 4);
		last = be_load(hi, 4);
	} else {
		if (memcmp(r->base, hi, 8))
			return false;
		r->first = be_load(r->base + 8, 8);
		last = be_load(hi + 8, 8);
	}
	if (last < r->first)
		return false;
	r->count = last - r->first + 1; /* 0: the whole 2^64, never reached */
	return true;
}

/* The i-th address of r (cycling) into out (4 or 16 bytes). */
static void range_addr(const struct range *r, uint64_t i, uint8_t out[16])
{
	uint64_t off = r->first + (r->count ? i % r->count : i);

	memcpy(out, r->base, 16);
	if (r->family == AF_INET)
		be_store(out, 4, off);
	else
		be_store(out + 8, 8, off);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6 ||
	    strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

static bool parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static bool parse_args(int argc, char **argv, struct opts *o)
{
	double v;

	memset(o, 0, sizeof(*o));
	o->port = 9; /* discard */
	o->size = 18; /* a 64-byte Ethernet frame over IPv4 */
	o->mode = argv[1];
	if (strcmp(o->mode, "udp") && strcmp(o->mode, "arp")) {
		fprintf(stderr, "hopmesh-flood: unknown mode '%s' (udp or arp)\n", o->mode);
		return false;
	}
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = val != NULL;

		if (!ok)
			;
		else if (!strcmp(k, "--dst") || !strcmp(k, "--target"))
			ok = (o->have_dst = parse_range(val, &o->dst));
		else if (!strcmp(k, "--src-ip"))
			ok = (o->have_src = parse_range(val, &o->src)) && o->src.family == AF_INET;
		else if (!strcmp(k, "--src-mac"))
			ok = (o->have_mac = parse_mac(val, o->mac));
		else if (!strcmp(k, "--dev"))
			o->dev = val;
		else if (!strcmp(k, "--port") && (ok = parse_number(val, 1, 65535, &v)))
			o->port = (unsigned)v;
		else if (!strcmp(k, "--size") && (ok = parse_number(val, 0, MAX_SIZE, &v)))
			o->size = (unsigned)v;
		else if (!strcmp(k, "--rate"))
			ok = parse_number(val, 1, 1e7, &o->rate);
		else if (!strcmp(k, "--seconds"))
			ok = parse_number(val, 0.001, 86400, &o->seconds);
		else {
			fprintf(stderr, "hopmesh-flood: unknown option %s\n", k);
			return false;
		}
		if (!ok) {
			fprintf(stderr, "hopmesh-flood: bad or missing value for %s\n", k);
			return false;
		}
	}
	if (!o->have_dst || !o->rate || !o->seconds) {
		fprintf(stderr, "hopmesh-flood: %s, --rate and --seconds are required\n",
			strcmp(o->mode, "udp") ? "--target" : "--dst");
		return false;
	}
	if (!strcmp(o->mode, "arp") && (!o->dev || o->dst.family != AF_INET)) {
		fprintf(stderr, "hopmesh-flood: arp needs --dev and an IPv4 --target\n");
		return false;
	}
	if (!strcmp(o->mode, "udp") && (o->dev || o->have_src || o->have_mac)) {
		fprintf(stderr, "hopmesh-flood: --dev, --src-ip and --src-mac are for arp\n");
		return false;
	}
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- what is sent ---- */

struct sender {
	int fd;
	const struct opts *o;
	uint64_t next; /* index of the next packet */
	/* one batch */
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} to[BATCH];
	uint8_t frame[BATCH][MAX_SIZE];
	/* arp */
	struct sockaddr_ll ll;
	uint8_t mac[6];
};

static bool udp_open(struct sender *s)
{
	s->fd = socket(s->o->dst.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		perror("hopmesh-flood: socket");
		return false;
	}
	return true;
}

static bool arp_open(struct sender *s)
{
	struct ifreq ifr = { 0 };

	s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (s->fd < 0) {
		perror("hopmesh-flood: AF_PACKET socket (needs CAP_NET_RAW)");
		return false;
	}
	if (strlen(s->o->dev) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "hopmesh-flood: interface name too long\n");
		return false;
	}
	strcpy(ifr.ifr_name, s->o->dev);
	if (ioctl(s->fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "hopmesh-flood: %s: %s\n", s->o->dev, strerror(errno));
		return false;
	}
	memcpy(s->mac, s->o->have_mac ? s->o->mac : (const uint8_t *)ifr.ifr_hwaddr.sa_data, 6);
	s->ll.sll_family = AF_PACKET;
	s->ll.sll_protocol = htons(ETH_P_ARP);
	s->ll.sll_ifindex = (int)if_nametoindex(s->o->dev);
	s->ll.sll_halen = 6;
	memset(s->ll.sll_addr, 0xff, 6);
	return true;
}

/* Message k of the batch: packet number i. */
static void udp_fill(struct sender *s, unsigned k, uint64_t i)
{
	uint8_t addr[16];

	range_addr(&s->o->dst, i, addr);
	memset(s->frame[k], 0, s->o->size);
	if (s->o->size >= 8)
		be_store(s->frame[k], 8, i); /* a sequence number, for whoever looks */
	if (s->o->dst.family == AF_INET) {
		s->to[k].v4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)s->o->port) };
		memcpy(&s->to[k].v4.sin_addr, addr, 4);
		s->msg[k].msg_hdr.msg_namelen = sizeof(s->to[k].v4);
	} else {
		s->to[k].v6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)s->o->port) };
		memcpy(&s->to[k].v6.sin6_addr, addr, 16);
		s->msg[k].msg_hdr.msg_namelen = sizeof(s->to[k].v6);
	}
	s->msg[k].msg_hdr.msg_name = &s->to[k];
	s->iov[k] = (struct iovec){ .iov_base = s->frame[k], .iov_len = s->o->size };
}

static void arp_fill(struct sender *s, unsigned k, uint64_t i)
{
	uint8_t *f = s->frame[k], tip[16], sip[16] = { 0 };

	range_addr(&s->o->dst, i, tip);
	if (s->o->have_src)
		range_addr(&s->o->src, i, sip);
	memset(f, 0xff, 6);                     /* broadcast */
	memcpy(f + 6, s->mac, 6);
	be_store(f + 12, 2, ETH_P_ARP);
	be_store(f + 14, 2, 1);                 /* Ethernet */
	be_store(f + 16, 2, ETH_P_IP);
	f[18] = 6;
	f[19] = 4;
	be_store(f + 20, 2, 1);                 /* request */
	memcpy(f + 22, s->mac, 6);              /* sender MAC */
	memcpy(f + 28, sip, 4);                 /* sender IP */
	memset(f + 32, 0, 6);                   /* target MAC */
	memcpy(f + 38, tip, 4);                 /* target IP */
	s->msg[k].msg_hdr.msg_name = &s->ll;
	s->msg[k].msg_hdr.msg_namelen = sizeof(s->ll);
	s->iov[k] = (struct iovec){ .iov_base = f, .iov_len = ARP_FRAME };
}

/* Sends n (<= BATCH) packets; returns how many the kernel took, *failed the
 * ones it refused (each is skipped, not retried: the schedule goes on). */
static unsigned send_batch(struct sender *s, unsigned n, uint64_t *failed)
{
	bool arp = !strcmp(s->o->mode, "arp");
	unsigned done = 0;

	for (unsigned k = 0; k < n; k++) {
		memset(&s->msg[k], 0, sizeof(s->msg[k]));
		if (arp)
			arp_fill(s, k, s->next + k);
		else
			udp_fill(s, k, s->next + k);
		s->msg[k].msg_hdr.msg_iov = &s->iov[k];
		s->msg[k].msg_hdr.msg_iovlen = 1;
	}
	s->next += n;
	while (done < n) {
		int r = sendmmsg(s->fd, s->msg + done, n - done, 0);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR && !stop)
			continue;
		(*failed)++;
		if (stop)
			break;
		/* The first message was refused: skip it, keep the rest. */
		memmove(s->msg + done, s->msg + done + 1, (n - done - 1) * sizeof(s->msg[0]));
		n--;
	}
	return done;
}

int main(int argc, char **argv)
{
	static struct sender s;
	struct opts o;
	uint64_t sent = 0, failed = 0, total;
	double start, elapsed = 0;
	struct sigaction sa = { .sa_handler = on_signal };

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || !parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	s.o = &o;
	if (!(strcmp(o.mode, "arp") ? udp_open(&s) : arp_open(&s)))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	total = (uint64_t)(o.rate * o.seconds + 0.5);
	start = now_s();
	while (!stop && s.next < total) {
		double t = now_s() - start;
		uint64_t owed = (uint64_t)(o.rate * t) + 1;

		if (owed > total)
			owed = total;
		while (!stop && s.next < owed) {
			uint64_t left = owed - s.next;

			sent += send_batch(&s, left < BATCH ? (unsigned)left : BATCH, &failed);
		}
		if (s.next < total) {
			/* Until the next packet is due (at most 1 ms: stay on schedule). */
			double wait = ((double)(s.next + 1) / o.rate) - (now_s() - start);

			if (wait > 0.001)
				wait = 0.001;
			if (wait > 0) {
				struct timespec ts = { 0, (long)(wait * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
	}
	elapsed = now_s() - start;
	printf("{\"mode\":\"%s\",\"sent\":%llu,\"failed\":%llu,\"seconds\":%.3f,\"rate\":%.0f}\n",
	       o.mode, (unsigned long long)sent, (unsigned long long)failed, elapsed,
	       elapsed > 0 ? (double)sent / elapsed : 0.0);
	close(s.fd);
	return 0;
}
