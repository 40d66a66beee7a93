/* SPDX-License-Identifier: MIT */
/*
 * meshd, one per gateway host: internal to controlplane/. The state below is
 * owned by meshd's single loop (meshd.c); the metrics server's thread reads
 * only the text meshd renders for it, and the registry's thread
 * (meshd_registry.c) hands its results over through a slot of its own.
 */
#ifndef HOPMESH_MESHD_H
#define HOPMESH_MESHD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gwclient.h"
#include "links.h"
#include "lsdb.h"
#include "registry.h"
#include "topofeed.h"
#include "topology.h"

struct meshd_config {
	char gateway[REG_NAME_LEN];   /* our name in the registry */
	char registry[512];           /* dir:... or etcd:... */
	char interface[32];           /* the gateway's WireGuard name (UAPI) */
	char control[192];            /* the gateway's control socket */
	char metrics[64];             /* host:port for Prometheus; "" off */
	char backbone_interface[32];  /* watched by netlink; "" none */
	bool underlay6;               /* peers' IPv6 endpoints first */
	struct link_params probe;
	unsigned publish_interval_ms; /* our LSA sent again at least this often */
	unsigned hold_ms;             /* hysteresis: a better path waits this long */
	unsigned link_lease_s;        /* and kept by the others this long */
	unsigned registry_compact_s;  /* etcd history kept, and how often it is cut */
	struct reg_options reg;
	char ca_file[256], cert_file[256], key_file[256], username[64], password[128];
};

bool meshd_config_load(struct meshd_config *c, const char *path, char *err, size_t errlen);
/* "IPv4:PORT" (the metrics address), port 1-65535, nothing else. */
bool meshd_metrics_addr(const char *text, struct sockaddr_in *out);

struct meshd_link {
	bool probed;                  /* we probe it: it is one of our links */
	struct link_stats stats;
	uint64_t sent, received;
	int64_t since_reply_ms;
};

/* What a relay last said of its link to another gateway (its notice, read
 * from our gateway's probe dump), by the relay's id. */
struct meshd_notice {
	uint64_t count;       /* the gateway's count of the relay's notices */
	uint16_t unreachable; /* the gateway the relay cannot reach */
	uint64_t at_ns;       /* when the last one came; 0: none to act on */
};

/* How long a notice keeps a link out of our paths: until the relay's own
 * LSA, sent at once when its link goes down, has surely reached us. */
#define NOTICE_HOLD_NS (3000 * 1000000ULL)

struct meshd {
	struct meshd_config cfg;
	struct meshd_registry *registry; /* the registry's I/O (its own thread) */
	struct reg_snapshot snap;     /* the last good one */
	bool have_snap;
	bool registry_up;
	uint16_t self_id;
	const struct reg_gateway *self; /* in snap, NULL if we are not in it */
	bool said_absent;             /* "not in the registry" was logged */
	/* Per gateway id: our peer for it has completed a handshake (UAPI), and
	 * whether we are holding its binding back until it does (reconcile.c). */
	bool session[REG_MAX_GATEWAY_ID + 1];
	bool deferred[REG_MAX_GATEWAY_ID + 1];
	uint64_t deferred_since[REG_MAX_GATEWAY_ID + 1];
	bool any_deferred;
	uint64_t now_ns;              /* of the current pass of the loop */
	struct topo *topo;
	struct topofeed feed;          /* what the registry gave topo */
	struct topo_router *router;
	struct topo_policy policy;
	struct meshd_link link[REG_MAX_GATEWAY_ID + 1];
	/* The highest id probed: the loops over link[] stop there. A pass
	 * walked all 4095 (2 KB apart, 9 MB) several times; past link_top
	 * the array is never touched, so costs no memory either. */
	unsigned link_top;
	struct meshd_notice notice[REG_MAX_GATEWAY_ID + 1];
	/* The other gateways' links (meshd_lsa.c), and what we last sent of
	 * ours. */
	struct lsdb lsdb;
	bool lsa_held[REG_MAX_GATEWAY_ID + 1]; /* to log changes only */
	uint64_t lsa_dump_seq;        /* the newest part read from the gateway */
	uint64_t lsa_seq;             /* of our last LSA */
	uint64_t lsa_sent_ns;
	struct lsdb_link *lsa_sent;   /* nlsa_sent of them */
	unsigned nlsa_sent;
	struct lsdb_link *lsa_now;    /* scratch: ours as they are now */
	bool backbone_up;
	bool gateway_up;
	bool gateway_answered;        /* to log changes of the above only */
	uint64_t routing_since_ns;    /* first look at routing: warm-up start */
	/* The every-pass dumps' connection to the gateway, kept open: two
	 * connections a pass cost more than what they carried. */
	struct gw_ctl_conn ctl;
	unsigned probe_interval_ms;   /* the gateway's, as its last probe dump said */
	uint64_t probe_seq;           /* the newest RTT sample read from it */
	uint64_t reconciled_ns;       /* the last time the gateway matched */
	/* The gateway's peers as the last reconcile pass read them (UAPI get=1,
	 * whose reply holds the private key: read on those passes only, every
	 * few seconds, never per tick); the metrics show these. */
	struct gw_peer_state *peers;
	unsigned npeers;
	char **problems_seen;         /* registry problems already logged */
	unsigned nproblems_seen;

	pthread_mutex_t metrics_lock;
	char *metrics_text;           /* rendered by meshd, served by metrics.c */
};

/* A link carries traffic only while it is up (links.h: its probes answered,
 * and not held down after a flap) and our backbone interface is up: what
 * meshd routes on, publishes and exports is this. */
static inline bool meshd_link_up(const struct meshd *d, const struct meshd_link *l)
{
	return l->stats.up && d->backbone_up;
}

void meshd_log(struct meshd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CLOCK_MONOTONIC in ns: meshd's one clock for intervals. */
uint64_t meshd_mono_ns(void);

/* reconcile.c: make the gateway match the registry (diffs, never events). */
bool reconcile_peers(struct meshd *d);
bool reconcile_control(struct meshd *d);
/* Paths from the topology router, installed whole (path set) where they
 * differ, after the policy's hop limit (hop_limit set). */
bool install_paths(struct meshd *d);

/* meshd_lsa.c: our links out to the other meshds, theirs in (lsdb, topo).
 * read returns true if a link an origin advertises came, went or changed
 * state (figures that moved are fed to the topology all the same). */
void meshd_lsa_originate(struct meshd *d, uint64_t now);
/* Our links as we route on them and advertise them now, ascending by id,
 * into out (room for REG_MAX_GATEWAY_ID); how many. */
unsigned meshd_lsa_own(const struct meshd *d, struct lsdb_link *out);
bool meshd_lsa_read(struct meshd *d, uint64_t now);

/* meshd_registry.c: the registry's I/O off the loop. start takes the handle
 * (closed by the caller after stop). The fd is readable when a load's
 * result is posted; take gives it: 1 a fresh snapshot moved into out, -1 a
 * failed load (err), 0 nothing new. */
struct meshd_registry;
struct meshd_registry *meshd_registry_start(struct meshd *d, struct registry *reg, char *err,
					    size_t errlen);
int meshd_registry_fd(const struct meshd_registry *m);
int meshd_registry_take(struct meshd_registry *m, struct reg_snapshot *out, char *err,
			size_t errlen);
void meshd_registry_reload(struct meshd_registry *m);
void meshd_registry_stop(struct meshd_registry *m);

/* meshd_malloc.c: before any thread starts. */
void meshd_malloc_tune(void);

/* metrics.c */
bool metrics_start(struct meshd *d, char *err, size_t errlen);
void metrics_stop(void);
void metrics_render(struct meshd *d);

/* meshd_status.c: meshd's socket for `meshctl status`; -1 with err if none. */
int status_open(struct meshd *d, char *err, size_t errlen);
void status_serve(struct meshd *d, int fd);
void status_close(void);

/* netlink.c: the backbone interface's state, and the host's addresses */
int netlink_open(struct meshd *d, char *err, size_t errlen);
void netlink_input(struct meshd *d, int fd);

#endif
