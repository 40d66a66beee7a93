/* SPDX-License-Identifier: MIT */
/*
 * Where an idle worker sleeps (rx_wait.c): until a frame reaches one of the
 * ports' kernel sockets, a wake-up fd is written, or a timeout passes.
 * net_af_packet has no receive interrupts (rte_eth_dev_rx_intr_enable() is
 * not in its ops), but each of its queues is an AF_PACKET socket whose mmap'd
 * ring poll() reports readable while a frame waits in it: the kernel's own
 * wake-up, at no cost while idle. net_af_xdp has none either; its queues are
 * AF_XDP sockets, readable in the same way while their rx ring holds a frame.
 */
#ifndef HOPMESH_DATAPLANE_RX_WAIT_H
#define HOPMESH_DATAPLANE_RX_WAIT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#define RX_WAIT_MAX_FDS 64

struct rx_wait {
	struct pollfd fd[RX_WAIT_MAX_FDS];
	unsigned n;
	int wake; /* index of the wake-up fd in fd[], or -1 */
};

/* Collects this process's AF_PACKET sockets bound to the interfaces of the
 * ports and its AF_XDP sockets (each queue's; a worker wakes for frames on
 * any queue, which only costs a poll), plus wake_fd if it is >= 0 (an
 * eventfd others write). A port of another driver adds nothing: the worker
 * then wakes on its timeout alone. Returns the number of port sockets found. */
unsigned rx_wait_init(struct rx_wait *w, const uint16_t *ports, unsigned n_ports, int wake_fd);

/* Sleeps until an fd is readable or us microseconds have passed; reads the
 * wake-up fd empty. A socket's pending error is read (and so cleared); an
 * fd that hangs up, or whose error cannot be read, is left out from then on
 * (it would end every sleep at once). Returns whether an fd ended
 * the sleep. */
bool rx_wait_sleep(struct rx_wait *w, unsigned us);

#endif
