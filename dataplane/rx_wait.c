// SPDX-License-Identifier: MIT
/*
 * An idle worker's sleep, woken by the kernel when a frame arrives.
 *
 *   rx_wait_init(): the ports' interface indexes (rte_eth_dev_info_get), then
 *     every open fd of the process (/proc/self/fd) that is an AF_PACKET socket
 *     bound to one of them (getsockname), or an AF_XDP socket, and the
 *     wake-up eventfd
 *   rx_wait_sleep(): ppoll() on them with the timeout; drain the eventfd
 *
 * The sockets are net_af_packet's (one per queue, bound to its interface,
 * with an rx ring) or net_af_xdp's (one per queue, its rx ring filled by the
 * XDP program, xdp/xsk_redirect.bpf.c); the gateway opens no other socket of
 * either family. An AF_XDP socket cannot say which interface it is bound to
 * (it has no getsockname), so every one is taken: they can only be the
 * ports'. Waiting in ppoll() on the driver's sockets only reads their
 * readiness: the frames are still taken by rte_eth_rx_burst(). No lost
 * wake-up: a frame that lands after the worker's last empty poll leaves its
 * ring readable, and ppoll() returns at once.
 */
#include <dirent.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "rx_wait.h"

static void rx_wait_add(struct rx_wait *w, int fd)
{
	if (w->n < RX_WAIT_MAX_FDS)
		w->fd[w->n++] = (struct pollfd){.fd = fd, .events = POLLIN};
}

/* fd is an AF_XDP socket, or an AF_PACKET socket bound to one of the n
 * interfaces. */
static bool rx_wait_is_port_socket(int fd, const unsigned *ifindex, unsigned n)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	int domain;
	socklen_t dlen = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen))
		return false;
	if (domain == AF_XDP)
		return true;
	if (domain != AF_PACKET)
		return false;
	if (getsockname(fd, (struct sockaddr *)&sll, &len) || sll.sll_family != AF_PACKET)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (ifindex[i] && (unsigned)sll.sll_ifindex == ifindex[i])
			return true;
	return false;
}

unsigned rx_wait_init(struct rx_wait *w, const uint16_t *ports, unsigned n_ports, int wake_fd)
{
	unsigned ifindex[8] = {0}, found = 0;
	struct dirent *d;
	DIR *dir;

	w->n = 0;
	w->wake = -1;
	for (unsigned i = 0; i < n_ports && i < 8; i++) {
		struct rte_eth_dev_info info;

		if (!rte_eth_dev_info_get(ports[i], &info))
			ifindex[i] = info.if_index;
	}
	dir = opendir("/proc/self/fd");
	while (dir && (d = readdir(dir))) {
		char *end;
		long fd = strtol(d->d_name, &end, 10);

		if (*end || end == d->d_name || fd == dirfd(dir))
			continue;
		if (rx_wait_is_port_socket((int)fd, ifindex, n_ports < 8 ? n_ports : 8)) {
			rx_wait_add(w, (int)fd);
			found++;
		}
	}
	if (dir)
		closedir(dir);
	w->wake = wake_fd >= 0 && w->n < RX_WAIT_MAX_FDS ? (int)w->n : -1;
	if (wake_fd >= 0)
		rx_wait_add(w, wake_fd);
	return found;
}

bool rx_wait_sleep(struct rx_wait *w, unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	uint64_t count;

	if (ppoll(w->fd, w->n, &ts, NULL) <= 0)
		return false;
	for (unsigned i = 0; i < w->n; i++) {
		int err;
		socklen_t len = sizeof(err);

		/* An error (the interface went down: ENETDOWN) is reported once:
		 * reading it clears it. An fd that cannot say is left out. */
		if ((w->fd[i].revents & (POLLHUP | POLLNVAL)) ||
		    ((w->fd[i].revents & POLLERR) &&
		     (int)i != w->wake && getsockopt(w->fd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len)))
			w->fd[i].fd = -1; /* ppoll() skips it from now on */
	}
	/* Only the eventfd is read: a socket's frames are the driver's. */
	if (w->wake >= 0 && (w->fd[w->wake].revents & POLLIN) &&
	    read(w->fd[w->wake].fd, &count, sizeof(count)) < 0)
		w->fd[w->wake].fd = -1;
	return true;
}
