/* SPDX-License-Identifier: MIT */
/*
 * simgw: many simulated gateways in one process, for the scale harness
 * (perf/run-scale.sh). Internal to perf/: simgw.c runs the process (sockets,
 * loop, the harness's own socket, the event log), simgw_gw.c is what one
 * gateway answers on its two sockets, simgw_net.c the network between them
 * (the delay matrix, probes, LSA delivery).
 *
 * A simulated gateway is a slot, 1..nslots; slot s is meant to be registered
 * as gateway id s with the public key simgw_key(s), and the delay matrix is
 * by slot. Nothing assumes it, though: ids come from meshd's "gateway self"
 * and "gateway set", and a key finds its slot (simgw_slot_of_key).
 */
#ifndef HOPMESH_PERF_SIMGW_H
#define HOPMESH_PERF_SIMGW_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsa_wire.h"
#include "textbuf.h"

#define SIM_IDS 4096          /* gateway ids 1..4095, as the real gateway */
#define SIM_PATH_HOPS 4       /* the real gateway's path word */
#define SIM_HOP_CEILING 4     /* the real gateway's default config hop_limit */
#define SIM_MAX_ALLOWED 16    /* prefixes per peer, as the registry allows */
#define SIM_SAMPLES 128       /* RTT samples kept per link, as probe.c */
#define SIM_INFLIGHT 64       /* probes awaiting a reply per link, as probe.c */

/* A UAPI peer. */
struct sim_peer {
	uint8_t key[32];
	char endpoint[64];            /* as inet_ntop prints it; "" none */
	unsigned nallowed;
	char allowed[SIM_MAX_ALLOWED][48]; /* canonical, masked */
};

/* A "gateway set" entry. */
struct sim_entry {
	uint8_t key[32];
	char name[32];
	char zone[16];
	struct in_addr o4;
	struct in6_addr o6;
	uint16_t path[SIM_PATH_HOPS]; /* the gateways after us; hops 1: direct */
	uint8_t hops;
	bool link_down;
	bool bound;                   /* its key is one of our UAPI peers */
	unsigned far;                 /* the slot holding that key; 0 none */
};

struct sim_route {
	char prefix[48];              /* canonical, masked: "10.1.0.0/24" */
	uint16_t gw;
};

/* One link as our probes see it (probe.c's probe_link, with the replies
 * still on their way kept as due times instead of packets). */
struct sim_link {
	uint64_t sent, received, last_reply_ns;
	struct { uint64_t seq; uint32_t rtt_us; } sample[SIM_SAMPLES];
	uint64_t nsamples;
	struct { uint64_t due_ns; uint32_t rtt_us; } inflight[SIM_INFLIGHT];
	unsigned in_head, in_len;
};

/* One LSA part as sent, shared by every gateway it reaches (refcounted);
 * its JSON is made once in both of lsa.c's forms, age_ms being the only
 * member a dump computes. */
struct sim_blob {
	unsigned refs;
	uint16_t origin, len;
	uint8_t part, nparts;
	uint16_t lifetime_s;
	uint64_t seq;
	char *json_head;              /* {"origin":..,"lifetime_s":L,"age_ms": */
	char *json_tail;              /* ,"links":[...]} */
	char *wire_tail;              /* ,"wire":"HEX"} */
	uint8_t bytes[LSA_BYTES_MAX];
};

struct sim_kept {
	uint64_t number, at_ns;
	struct sim_blob *blob;
};

struct sim_origin {
	unsigned nparts;              /* room in part[] */
	struct sim_kept part[];
};

struct sim_gw {
	unsigned slot;
	char name[32];                /* interface: the sockets' names */
	uint8_t key[32];
	/* UAPI */
	struct sim_peer *peer;
	unsigned npeers, peer_cap;
	/* control socket */
	uint16_t self;
	uint8_t hop_pushed;
	bool residency;
	struct sim_entry *entry[SIM_IDS];
	uint16_t *ids;                /* the ids with an entry, in no order */
	unsigned nids, ids_cap;
	struct sim_route *route;
	unsigned nroutes, route_cap;
	/* probes (simgw_net.c) */
	uint32_t interval_ms;
	uint64_t next_probe_ns, sample_seq;
	struct sim_link *link[SIM_IDS];
	/* LSAs kept (simgw_net.c) */
	uint64_t lsa_received, lsas_sent, lsa_stale, lsa_unbound_source, lsa_wrong_source;
	struct sim_origin *origin[SIM_IDS];
	int8_t sent_up[SIM_IDS];      /* our last LSA's flag per link: -1 none */
};

/* A pair whose LSA flags every gateway's reads are logged for (the
 * harness's link-change measurement): what each slot last read of a->b
 * and b->a (-1 nothing yet, 0 down, 1 up). */
struct sim_watch {
	unsigned a, b;
	int8_t *read_ab, *read_ba;
};

struct sim {
	unsigned nslots;
	struct sim_gw *gw;            /* [1..nslots] */
	float *rtt_ms;                /* [a * (nslots + 1) + b] */
	bool *cut;                    /* likewise, kept symmetric */
	double jitter;                /* relative noise of each RTT sample */
	/* Slots first_puppet..nslots have no meshd: simgw plays their part
	 * (0: none), so that a few meshds see a mesh of nslots. */
	unsigned first_puppet;
	uint64_t next_puppet_ns, puppet_seq;
	struct sim_watch watch[8];
	unsigned nwatch;
	/* LSA parts on their way: a min-heap by due time */
	struct sim_delivery { uint64_t due_ns; unsigned from, to; struct sim_blob *blob; } *heap;
	size_t nheap, heap_cap;
	/* totals, for "stats" */
	uint64_t requests, bytes_out, lsa_delivered, lsa_dropped_cut, lsa_dropped_unbound;
};

extern struct sim sim;

/* simgw.c */
uint64_t sim_mono_ns(void);
/* The event log (--events): "WALL_MS SLOT WHAT ...", one line each. */
void sim_event(const struct sim_gw *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The public key of slot s, and back (0: none of ours). */
void simgw_key(unsigned s, uint8_t key[32]);
unsigned simgw_slot_of_key(const uint8_t key[32]);

/* simgw_gw.c: one control-socket line, one UAPI request; replies appended
 * to out. */
void sim_ctl_line(struct sim_gw *g, char *line, bool *quiet, struct textbuf *out);
void sim_uapi_request(struct sim_gw *g, char *req, struct textbuf *out);
/* Peers and entries changed: each entry's bound and far again. */
void sim_rebind(struct sim_gw *g);
struct sim_entry *sim_entry_of_slot(const struct sim_gw *g, unsigned slot);

/* simgw_net.c */
bool sim_matrix_load(const char *path, char *err, size_t errlen);
void sim_link_set(unsigned a, unsigned b, bool cut, float rtt_ms);
/* Probes due and LSA parts arrived, up to now; the next time there is
 * work (0: none). */
uint64_t sim_net_run(uint64_t now);
void sim_probe_interval(struct sim_gw *g, uint32_t ms);
char *sim_probe_dump(struct sim_gw *g, uint64_t since, uint64_t now);
/* "lsa send": validated bytes from g's meshd; how many it went to. */
unsigned sim_lsa_send(struct sim_gw *g, const uint8_t *p, size_t len, uint64_t now);
char *sim_lsa_dump(struct sim_gw *g, uint64_t since, uint64_t now);
char *sim_lsa_dump_wire(struct sim_gw *g, uint64_t since, uint64_t now);
bool sim_watch_add(unsigned a, unsigned b);
bool sim_is_puppet(unsigned slot);

#endif
