/* SPDX-License-Identifier: MIT */
/*
 * The gateway: one DPDK process with a VM-side port and a backbone port.
 *
 * N worker lcores run pipeline.c, the packet path, each on its own queue of
 * both ports. The main lcore runs control.c: handshakes, timers, neighbour
 * resolution, ICMP errors, the UAPI and control sockets, and whatever the
 * workers hand it through to_control. Frames the main lcore originates reach
 * the wire through to_port rings that worker 0 drains. Tables the workers read
 * are updated lock-free and old memory is reclaimed through rte_rcu_qsbr.
 */
#ifndef HOPMESH_DATAPLANE_GATEWAY_H
#define HOPMESH_DATAPLANE_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "tunnels.h"

struct gateway;
struct rte_rcu_qsbr;

enum { PORT_VM, PORT_BACKBONE, PORT_COUNT };
#define MAX_WORKERS 16
/* tunnels/ receiver-index table size: live indices differ in their low bits. */
#define INDEX_BITS 16

/* ---- config.c ---- */

struct port_config {
	char device[64];           /* ethdev name, e.g. net_af_packet0 */
	struct in_addr address;    /* the gateway's own address on this port */
	uint8_t prefix_len;
	struct in_addr gateway;    /* backbone: next hop for off-link endpoints */
	struct in6_addr address6;  /* optional IPv6 address (all zero: none) */
	uint8_t prefix6_len;
	struct in6_addr gateway6;
};

struct config {
	char name[32];             /* UAPI socket /var/run/wireguard/NAME.sock */
	char private_key_file[256];
	uint16_t listen_port;
	uint16_t mtu;              /* tunnel MTU */
	unsigned workers;          /* worker lcores, one queue pair each */
	uint8_t hop_limit;         /* backbone hops a relayed packet may make */
	uint32_t host_routes;      /* capacity for IPv4 /32 routes */
	char eal[1024];            /* EAL arguments */
	bool busy_poll;            /* false: adaptive sleep when idle */
	uint32_t rekey_after_time; /* seconds; 0: the protocol's 120 */
	bool force_cookie;         /* always demand mac2 (tests, attack drills) */
	char run_dir[128];         /* control socket directory */
	struct port_config port[PORT_COUNT];
};

bool config_load(struct config *c, const char *path, char *err, size_t errlen);
bool config_read_private_key(const char *path, uint8_t key[WG_KEY_LEN], char *err, size_t errlen);

/* ---- counters: every drop has a reason and a counter ---- */

enum gw_counter {
	/* 0 .. WG_DROP__COUNT-1 mirror enum wg_drop */
	C_MALFORMED_FRAME = WG_DROP__COUNT, /* bad Ethernet/IP/UDP framing */
	C_FRAGMENT,          /* outer IP fragment: WireGuard is never fragmented by peers */
	C_NOT_FOR_US,        /* backbone frame to another address or port */
	C_UNKNOWN_TYPE,      /* UDP to our port that is no WireGuard or relay message */
	C_NO_PEER,           /* VM packet to an address no route or allowed-ip covers */
	C_TOO_BIG,           /* over the path MTU: ICMP sent back */
	C_NOT_IP,            /* VM-side frame that is neither IP, ARP nor ND */
	C_NO_NEIGHBOUR,      /* gave up resolving a MAC */
	C_SLOWPATH_FULL,     /* main lcore's queue full */
	C_TX_FULL,           /* port would not take the frame */
	C_NO_MBUF,           /* pool empty */
	C_STAGED_DROPPED,    /* waited for a handshake that did not come */
	C_TTL_EXCEEDED,      /* inner TTL / hop limit ran out: ICMP sent back */
	C_HOP_LIMIT,         /* relayed packet at its hop limit */
	C_RELAY_LOOP,        /* relay would send a packet back where it came from */
	C_NO_ROUTE,          /* relay or path to a gateway we have no way to */
	C_HANDOFF_FULL,      /* another worker's queue full */
	C_ICMP_RATELIMITED,  /* ICMP error not sent: over its rate */
	C_COUNTER_COUNT
};

#define HOP_BUCKETS 8

struct counters {
	uint64_t drop[C_COUNTER_COUNT];
	uint64_t rx_packets[PORT_COUNT], rx_bytes[PORT_COUNT];
	uint64_t tx_packets[PORT_COUNT], tx_bytes[PORT_COUNT];
	uint64_t encrypted, decrypted, keepalives_received, handshakes_received;
	uint64_t relayed;     /* forwarded for others without decrypting */
	uint64_t handed_off;  /* data messages passed to their session's worker */
	uint64_t icmp_sent;
	uint64_t hops[HOP_BUCKETS]; /* delivered packets by backbone hops (index = hops) */
} __rte_cache_aligned;

/* Single writer per struct: plain loads and stores, no lock prefix. */
#define COUNT(c, field, n) \
	__atomic_store_n(&(c)->field, __atomic_load_n(&(c)->field, __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

const char *counter_name(unsigned i);

/* ---- neigh.c: neighbours per port (IPv4 in ::ffff:0:0/96), written by the
 * main lcore and read lock-free by the workers ---- */

#define NEIGH_SLOTS 4096
#define NEIGH_HOLD 32
struct neigh_slot {
	uint8_t addr[16];
	_Atomic uint32_t ready;  /* addr is written and final */
	_Atomic uint64_t mac;    /* low 48 bits; bit 63: valid */
	/* main lcore only */
	uint64_t confirmed, last_request, hold_since;
	struct rte_mbuf *held[NEIGH_HOLD];
	unsigned nheld;
};
struct neigh_table {
	struct neigh_slot slot[NEIGH_SLOTS];
};
void neigh_key4(uint8_t key[16], uint32_t ip);
bool neigh_lookup(const struct neigh_table *t, const uint8_t key[16], struct rte_ether_addr *mac);

/* ---- routes.c: destination prefixes -> gateways -> paths ---- */

#define MAX_GATEWAYS 4096
#define PATH_VALID (1u << 31)

/* A path word: how to reach a gateway, swapped in one store. */
static inline uint32_t path_make(uint16_t via, uint8_t hops)
{
	return PATH_VALID | (uint32_t)via << 8 | hops;
}
static inline uint16_t path_via(uint32_t p) { return (uint16_t)(p >> 8); }
static inline uint8_t path_hops(uint32_t p) { return (uint8_t)p; }

struct gw_entry {
	_Atomic(struct wg_peer *) peer; /* its WireGuard peer, NULL until bound */
	_Atomic uint32_t path;          /* 0: direct */
	/* Its overlay addresses: the source of ICMP errors sent in its name. */
	struct in_addr overlay4;
	struct in6_addr overlay6;
	/* main lcore only */
	uint8_t public_key[WG_KEY_LEN];
	bool configured;
	char name[32];
};

struct routes;
struct routes *routes_new(struct rte_rcu_qsbr *qsbr, uint32_t host_routes, char *err,
			  size_t errlen);
void routes_free(struct routes *r);
/* Data path: the gateway owning an address, 0 if no route. */
uint16_t routes_lookup(const struct routes *r, sa_family_t family, const void *addr);
/* The same for n (at most 64) IPv4 addresses at once, network order: the hash
 * lookups of a burst overlap their cache misses. */
void routes_lookup4_bulk(const struct routes *r, const uint32_t *addr, unsigned n, uint16_t *gw);
struct gw_entry *routes_gateway(struct routes *r, uint16_t id);
uint16_t routes_self(const struct routes *r);
/* Main lcore: the control socket's route, nexthop and gateway commands;
 * replies with one JSON line into out. */
void routes_command(struct routes *r, struct gateway *gw, char *line, char *out, size_t outlen);
/* Main lcore, each tick: bind gateways to peers added since, publish IPv6. */
void routes_maintain(struct routes *r, struct gateway *gw);
/* tunnels/ removed a peer: unbind it. */
void routes_peer_removed(struct routes *r, struct wg_peer *peer);
char *routes_dump_json(struct routes *r, const char *what);

/* ---- relay header: in front of an unchanged WireGuard message ---- */

#define RELAY_TYPE 0xf0 /* a first byte no WireGuard implementation accepts */
#define RELAY_VERSION 1
struct relay_hdr {
	uint8_t type;
	uint8_t version;
	uint8_t hops;      /* backbone hops made, counting the one it is on */
	uint8_t hop_limit; /* hops must never exceed it */
	uint16_t dst_gw;   /* big-endian gateway ids */
	uint16_t src_gw;
} __attribute__((packed));
#define RELAY_LEN ((unsigned)sizeof(struct relay_hdr))

/* Memory handed to rte_rcu_qsbr_dq, freed once no worker can hold it. */
struct retired {
	void *obj;
	void (*destroy)(void *obj);
};

/* ---- the gateway ---- */

struct lcore_ctx;

struct gateway {
	struct config cfg;
	struct wg_device *dev;
	struct routes *routes;
	uint16_t port_id[PORT_COUNT];
	struct rte_ether_addr mac[PORT_COUNT];
	struct rte_mempool *pool;
	struct rte_ring *to_control;
	struct rte_ring *to_port[PORT_COUNT];
	struct rte_ring *handoff[MAX_WORKERS];
	/* Which worker decrypts a session: index << 8 | worker, per index slot. */
	_Atomic uint64_t *owner;
	struct neigh_table *neigh[PORT_COUNT];
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *retired;
	int wake_fd;
	atomic_bool wake_pending;
	atomic_bool quit;
	struct lcore_ctx *control_ctx;
	struct lcore_ctx *worker_ctx[MAX_WORKERS];
	unsigned workers;
	struct probes *probes;
	uint64_t started_ns;
};

/* Why a worker handed a packet to the main lcore. */
enum slow_reason {
	SLOW_HANDSHAKE = 1, /* backbone: WireGuard types 1-3 (maybe relayed) */
	SLOW_ARP,           /* either port */
	SLOW_ND,            /* IPv6 neighbour discovery, either port */
	SLOW_LOCAL,         /* addressed to the gateway itself */
	SLOW_STAGE,         /* VM packet (at its IP header) whose peer has no session */
	SLOW_NEIGH,         /* finished frame whose next-hop MAC is unknown */
	SLOW_ICMP,          /* packet (at its IP header) that needs an ICMP error */
	SLOW_FRAGMENT,      /* IPv4 packet (at its IP header) over the MTU, DF clear */
	SLOW_OVERLAY,       /* decrypted packet (at its IP header) for our overlay
			     * address: a probe, or a remote VM's ping; src_gw */
};

enum icmp_kind { ICMP_TIME_EXCEEDED = 1, ICMP_TOO_BIG };

/* What a worker tells the main lcore about a packet (mbuf dynamic field). */
struct pkt_meta {
	uint8_t next_hop[16]; /* SLOW_NEIGH: the neighbour to resolve (neigh key) */
	uint8_t reason;       /* enum slow_reason */
	uint8_t port;         /* the port it came from, or (SLOW_NEIGH) leaves by */
	uint8_t relayed;      /* SLOW_HANDSHAKE: came through a relay */
	uint8_t icmp_kind;    /* SLOW_ICMP */
	uint16_t src_gw;      /* relayed: the gateway it came from; SLOW_ICMP: speak
				 * for this relay gateway (0: ourselves) */
	uint16_t mtu;         /* SLOW_ICMP too big / SLOW_FRAGMENT: the path MTU */
};
extern int pkt_meta_offset;
static inline struct pkt_meta *pkt_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, pkt_meta_offset, struct pkt_meta *);
}
bool pkt_meta_register(void);

/* ---- pipeline.c ---- */

#define TX_BUF 64

struct lcore_ctx {
	struct gateway *gw;
	struct wg_crypto *crypto;
	struct counters counters;
	bool is_worker;
	unsigned worker; /* index, also its queue on both ports */
	uint16_t ip_id;
	struct rte_mbuf *tx[PORT_COUNT][TX_BUF];
	unsigned ntx[PORT_COUNT];
};

int pipeline_worker(void *arg);
/* Encrypt IP packets (mbufs at the IP header) for peer and send them: the main
 * lcore's way for packets that waited (staged, fragmented, ICMP errors). */
void pipeline_send_to_peer(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf **pkts,
			   unsigned n, uint64_t now);
/* Encrypt and send IP packets (mbufs at the IP header) wherever the routes say. */
void pipeline_send_routed(struct lcore_ctx *lc, struct rte_mbuf **pkts, unsigned n, uint64_t now);
/* A WireGuard message at the mbuf's start, towards peer (direct or relayed);
 * to is the peer's endpoint (AF_UNSPEC: none). False if there is no way. */
bool pipeline_send_message(struct lcore_ctx *lc, struct rte_mbuf *m, struct wg_peer *peer,
			   const struct wg_endpoint *to);
/* An IP packet (mbuf at its header) to peer on the direct path, whatever
 * the routes say: probes measure the link itself. */
void pipeline_send_direct(struct lcore_ctx *lc, struct wg_peer *peer, struct rte_mbuf *m,
			  uint64_t now);
/* A WireGuard message at the mbuf's start, relayed to gateway dst by our path. */
bool pipeline_send_relayed(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t dst_gw);
/* Ethernet header in front of an IP packet at the mbuf's start, towards
 * next_hop (neigh key) on port, then queued from the current lcore. */
void pipeline_emit_ip(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m,
		      const uint8_t next_hop[16]);
/* The neighbour (key) an underlay packet to dst goes to first. */
void pipeline_underlay_next_hop(const struct gateway *gw, const struct wg_endpoint *dst,
				uint8_t key[16]);
void gateway_wake_control(struct gateway *gw);
uint64_t mono_ns(void);

/* ---- gateway.c: a gateway's life ---- */

/* Needs gw->cfg and gw->workers set and EAL up (gw->workers + 1 lcores). */
bool gateway_setup(struct gateway *gw, const uint8_t key[WG_KEY_LEN]);
/* Workers on the worker lcores, control on this one, until SIGINT/SIGTERM or
 * gw->quit. */
int gateway_run(struct gateway *gw);
void gateway_teardown(struct gateway *gw);

/* ---- control.c: the main lcore ---- */

int control_run(struct gateway *gw);
const struct wg_ops *control_wg_ops(struct gateway *gw);
/* Free obj with destroy once no worker can hold it. */
void control_retire(struct gateway *gw, void *obj, void (*destroy)(void *obj));
/* Hand a finished frame to worker 0 for transmission on port. */
void control_transmit(struct gateway *gw, unsigned port, struct rte_mbuf *m);
void control_drop(struct gateway *gw, struct rte_mbuf *m, unsigned reason);

/* ---- neigh.c and icmp.c (main lcore) ---- */

/* Hold m (a finished frame) until the MAC of key on port is known. */
void neigh_resolve(struct gateway *gw, unsigned port, const uint8_t key[16], struct rte_mbuf *m,
		   uint64_t now);
void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_input_nd(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_maintain(struct gateway *gw, uint64_t now);
/* Resolve key on port before anything needs it (a path may switch to it). */
void neigh_prime(struct gateway *gw, unsigned port, const uint8_t key[16], uint64_t now);
/* Packets addressed to the gateway itself: it answers ICMP and ICMPv6 echo. */
void icmp_local_input(struct gateway *gw, unsigned port, struct rte_mbuf *m);
/* An ICMP error about m (at its IP header) back to its source. */
void icmp_error_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now);
/* An IPv4 packet (at its IP header) cut into fragments of at most mtu bytes,
 * each sent on as the original would have been. */
void icmp_fragment_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now);
/* A remote VM's ICMP echo to our overlay address (m at its IP header): answered
 * through the tunnel; anything else is dropped. */
void icmp_overlay_echo(struct gateway *gw, struct rte_mbuf *m, uint64_t now);
/* RFC 1624 incremental checksum update for a 16-bit word changing. */
uint16_t cksum_adjust(uint16_t cksum, uint16_t old_word, uint16_t new_word);
bool ip6_is_ours(const struct gateway *gw, unsigned port, const uint8_t *addr);
/* :: in packet memory, which has no alignment to speak of. */
static inline bool ip6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

/* ---- probe.c: link probes (main lcore) ---- */

struct probes;
bool probe_setup(struct gateway *gw);
void probe_free(struct gateway *gw);
void probe_tick(struct gateway *gw, uint64_t now);
void probe_input(struct gateway *gw, struct rte_mbuf *m, uint16_t src_gw, uint64_t now);
/* The control socket's "probe" commands; replies with one JSON line. */
void probe_command(struct gateway *gw, char **argv, int argc, char *out, size_t outlen);
char *probe_dump_json(struct gateway *gw, uint64_t now);

/* ---- sock.c: UNIX stream servers on the main lcore's epoll ---- */

struct sock_protocol {
	void *(*open)(void *arg);
	bool (*input)(void *conn, const char *data, size_t len); /* false: close */
	const char *(*output)(void *conn, size_t *len);
	void (*consumed)(void *conn, size_t n);
	void (*close)(void *conn);
};
struct sock_server;
struct sock_server *sock_server_open(const char *path, int epoll_fd,
				     const struct sock_protocol *proto, void *arg, char *err,
				     size_t errlen);
bool sock_server_event(struct sock_server *s, void *tag, uint32_t events);
void sock_server_close(struct sock_server *s);

/* The WireGuard UAPI on /var/run/wireguard/NAME.sock (uapi_socket.c), and the
 * gateway's own control socket RUN_DIR/NAME.ctl (ctl.c). */
struct sock_server *uapi_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);
struct sock_server *ctl_socket_open(struct gateway *gw, int epoll_fd, char *err, size_t errlen);
char *ctl_counters_json(struct gateway *gw);

#endif
