/* SPDX-License-Identifier: MIT */
/*
 * The gateway: one DPDK process with a VM-side port and a backbone port.
 *
 * The worker lcore runs pipeline.c, the packet path. The main lcore runs
 * control.c: handshakes, timers, ARP, the UAPI and control sockets, and
 * whatever the worker hands it through to_control (slow-path packets). Frames
 * the main lcore originates reach the wire through to_port rings that the worker
 * drains, so each port's queue has one owner. Tables the worker reads are
 * swapped or updated lock-free and old memory is reclaimed through rte_rcu_qsbr.
 */
#ifndef HOPMESH_DATAPLANE_GATEWAY_H
#define HOPMESH_DATAPLANE_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "tunnels.h"

enum { PORT_VM, PORT_BACKBONE, PORT_COUNT };

/* ---- config.c ---- */

struct port_config {
	char device[64];         /* ethdev name, e.g. net_af_packet0 */
	struct in_addr address;  /* the gateway's own address on this port */
	uint8_t prefix_len;
	struct in_addr gateway;  /* backbone: next hop for off-link endpoints */
};

struct config {
	char name[32];             /* UAPI socket /var/run/wireguard/NAME.sock */
	char private_key_file[256];
	uint16_t listen_port;
	uint16_t mtu;              /* tunnel MTU */
	char eal[1024];            /* EAL arguments */
	bool busy_poll;            /* false: adaptive sleep when idle */
	uint32_t rekey_after_time; /* seconds; 0: the protocol's 120 */
	bool force_cookie;         /* always demand mac2 (tests, attack drills) */
	char run_dir[128];         /* control socket directory */
	struct port_config port[PORT_COUNT];
};

/* Parses path; on error writes a message naming file and line to err. */
bool config_load(struct config *c, const char *path, char *err, size_t errlen);
/* Reads a base64 private key from a file that must be mode 0600 or stricter. */
bool config_read_private_key(const char *path, uint8_t key[WG_KEY_LEN], char *err, size_t errlen);

/* ---- counters.c: every drop has a reason and a counter ---- */

enum gw_counter {
	/* 0 .. WG_DROP__COUNT-1 mirror enum wg_drop */
	C_MALFORMED_FRAME = WG_DROP__COUNT, /* bad Ethernet/IP/UDP framing */
	C_FRAGMENT,          /* outer IP fragment: WireGuard is never fragmented by peers */
	C_NOT_FOR_US,        /* backbone frame to another address or port */
	C_UNKNOWN_TYPE,      /* UDP to our port that is no WireGuard message */
	C_NO_PEER,           /* VM packet to an address no peer's allowed-ips cover */
	C_TOO_BIG,           /* VM packet over the tunnel MTU */
	C_NOT_IP,            /* VM-side frame that is neither IP nor ARP */
	C_NO_NEIGHBOUR,      /* gave up resolving a MAC */
	C_SLOWPATH_FULL,     /* main lcore's queue full */
	C_TX_FULL,           /* port would not take the frame */
	C_NO_MBUF,           /* pool empty */
	C_STAGED_DROPPED,    /* waited for a handshake that did not come */
	C_COUNTER_COUNT
};

struct counters {
	uint64_t drop[C_COUNTER_COUNT];
	uint64_t rx_packets[PORT_COUNT], rx_bytes[PORT_COUNT];
	uint64_t tx_packets[PORT_COUNT], tx_bytes[PORT_COUNT];
	uint64_t encrypted, decrypted, keepalives_received, handshakes_received;
} __rte_cache_aligned;

/* Single writer per struct: plain loads and stores, no lock prefix. */
#define COUNT(c, field, n) \
	__atomic_store_n(&(c)->field, __atomic_load_n(&(c)->field, __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

const char *counter_name(unsigned i);

/* ---- neigh.c: IPv4 neighbours per port, written by the main lcore and read
 * lock-free by the worker ---- */

#define NEIGH_SLOTS 4096
#define NEIGH_HOLD 8
struct neigh_slot {
	_Atomic uint32_t ip;    /* network order; 0: free */
	_Atomic uint64_t mac;   /* low 48 bits; bit 63: valid */
	/* main lcore only */
	uint64_t confirmed, last_request, hold_since;
	struct rte_mbuf *held[NEIGH_HOLD];
	unsigned nheld;
};
struct neigh_table {
	struct neigh_slot slot[NEIGH_SLOTS];
};
bool neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac);

/* Memory handed to rte_rcu_qsbr_dq, freed once the worker cannot hold it. */
struct retired {
	void *obj;
	void (*destroy)(void *obj);
};

/* ---- the gateway ---- */

struct lcore_ctx;

struct gateway {
	struct config cfg;
	struct wg_device *dev;
	uint16_t port_id[PORT_COUNT];
	struct rte_ether_addr mac[PORT_COUNT];
	struct rte_mempool *pool;
	struct rte_ring *to_control;
	struct rte_ring *to_port[PORT_COUNT];
	struct neigh_table *neigh[PORT_COUNT];
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *retired;
	int wake_fd;
	atomic_bool wake_pending;
	atomic_bool quit;
	struct lcore_ctx *control_ctx;
	struct lcore_ctx *worker_ctx;
	uint64_t started_ns;
};

/* Why the worker handed a packet to the main lcore (kept in mbuf hash.usr). */
enum slow_reason {
	SLOW_HANDSHAKE = 1, /* backbone: WireGuard types 1-3 */
	SLOW_ARP,           /* either port */
	SLOW_LOCAL,         /* addressed to the gateway itself */
	SLOW_STAGE,         /* VM packet whose peer has no session yet */
	SLOW_NEIGH,         /* finished frame whose next-hop MAC is unknown */
};

/* What the worker tells the main lcore about a packet it hands over. */
struct slow_meta {
	uint32_t next_hop; /* SLOW_NEIGH: the address to resolve */
	uint8_t reason;    /* enum slow_reason */
	uint8_t port;      /* the port it came from, or (SLOW_NEIGH) leaves by */
};
extern int slow_meta_offset;
static inline struct slow_meta *slow_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, slow_meta_offset, struct slow_meta *);
}
bool slow_meta_register(void);

/* ---- pipeline.c ---- */

#define TX_BUF 64

struct lcore_ctx {
	struct gateway *gw;
	struct wg_crypto *crypto;
	struct counters counters;
	bool is_worker;
	uint16_t ip_id;
	unsigned qsbr_id;
	struct rte_mbuf *tx[PORT_COUNT][TX_BUF];
	unsigned ntx[PORT_COUNT];
};

int pipeline_worker(void *arg);
/* Encrypt VM packets (Ethernet frames) for peer and send them: used by the main
 * lcore for packets that waited for a session. */
void pipeline_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			   unsigned n, uint64_t now);
/* Finish a frame whose payload (IP onward) is built: Ethernet header towards
 * next_hop on port, then queue it for transmission from the current lcore. */
void pipeline_emit(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m, uint32_t next_hop);
/* Outer IPv4/UDP headers around a WireGuard message already at
 * rte_pktmbuf_mtod_offset(m, 42) of msg_len bytes. */
void pipeline_encap_udp4(struct lcore_ctx *lc, struct rte_mbuf *m, const struct wg_endpoint *dst,
			 uint32_t msg_len, uint8_t tos);
uint32_t pipeline_next_hop(const struct gateway *gw, uint32_t dst);
void gateway_wake_control(struct gateway *gw);
uint64_t mono_ns(void);

/* ---- control.c: the main lcore ---- */

int control_run(struct gateway *gw);
const struct wg_ops *control_wg_ops(struct gateway *gw);
/* Hand a finished frame to the worker for transmission on port. */
void control_transmit(struct gateway *gw, unsigned port, struct rte_mbuf *m);
void control_drop(struct gateway *gw, struct rte_mbuf *m, unsigned reason);

/* ---- neigh.c and local.c (main lcore) ---- */

/* Hold m until the MAC of ip on port is known, asking for it by ARP. */
void neigh_resolve(struct gateway *gw, unsigned port, uint32_t ip, struct rte_mbuf *m, uint64_t now);
void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_maintain(struct gateway *gw, uint64_t now);
/* Packets addressed to the gateway itself: it answers ICMP echo. */
void local_input(struct gateway *gw, unsigned port, struct rte_mbuf *m);

/* ---- sock.c: UNIX stream servers on the main lcore's epoll ---- */

/* One protocol spoken over a socket: a state per connection that consumes
 * input and offers output, as struct wg_uapi does. */
struct sock_protocol {
	void *(*open)(void *arg);
	bool (*input)(void *conn, const char *data, size_t len); /* false: close */
	const char *(*output)(void *conn, size_t *len);
	void (*consumed)(void *conn, size_t n);
	void (*close)(void *conn);
};
struct sock_server;
/* Listens on path (mode 0600 socket in a 0755 directory); refuses to take over
 * a path another live process listens on. */
struct sock_server *sock_server_open(const char *path, int epoll_fd,
				     const struct sock_protocol *proto, void *arg, char *err,
				     size_t errlen);
/* Handles an epoll event whose data.ptr is a sock tag; false if not ours. */
bool sock_server_event(struct sock_server *s, void *tag, uint32_t events);
void sock_server_close(struct sock_server *s);

/* The WireGuard UAPI on /var/run/wireguard/NAME.sock (uapi_socket.c), and the
 * gateway's own control socket RUN_DIR/NAME.ctl (ctl.c). */
struct sock_server *uapi_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);
struct sock_server *ctl_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);
/* The JSON document of the control socket's "counters" command. */
char *ctl_counters_json(struct gateway *gw);

#endif
