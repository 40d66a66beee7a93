/* SPDX-License-Identifier: MIT */
/*
 * Talking to the local gateway: the WireGuard UAPI on
 * /var/run/wireguard/NAME.sock (peers, as wg(8) would) and the gateway's
 * control socket (docs/CONTROL.md: gateway ids, routes, paths, probes,
 * counters). Blocking calls with a timeout; meshd makes them from its loop.
 */
#ifndef HOPMESH_GWCLIENT_H
#define HOPMESH_GWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "textbuf.h"

#define GW_MAX_ALLOWED 64
#define GW_MAX_PATH 8                  /* gateway ids in a path, more than any hop limit */

struct gw_peer_state {
	uint8_t public_key[32];
	char endpoint[64];                 /* "" none */
	unsigned nallowed;
	char allowed[GW_MAX_ALLOWED][48];  /* as the UAPI lists them */
	uint64_t rx_bytes, tx_bytes;
	uint64_t last_handshake_unix_ns;
};

/* The peers the gateway has now (get=1). *peers is malloc'd. -1 with err if
 * the gateway is not reachable. The reply carries the gateway's private key:
 * it is parsed line by line in buffers wiped afterwards, never kept; still,
 * call it when the peers are needed, not on every tick. */
int gw_uapi_peers(const char *name, struct gw_peer_state **peers, unsigned *n, char *err,
		  size_t errlen);
/* The same on the UAPI socket at path. */
int gw_uapi_peers_at(const char *path, struct gw_peer_state **peers, unsigned *n, char *err,
		     size_t errlen);
/* A set=1 request (body: the lines, without "set=1" and the blank line).
 * Returns the gateway's errno (0 ok, negative error), or -1000 if unreachable. */
int gw_uapi_set(const char *name, const char *body, char *err, size_t errlen);

/* One or more control requests (lines) on one connection; each reply line is
 * passed to on_reply (may be NULL). Returns the number of replies that were
 * errors, or -1 if the gateway is not reachable. Replies to commands sent
 * after "quiet on" come only for errors. */
int gw_ctl(const char *path, const char *lines, void (*on_reply)(void *arg, const char *json),
	   void *arg, char *err, size_t errlen);
/* One request, one reply (malloc'd JSON line without the newline), or NULL. */
char *gw_ctl_get(const char *path, const char *line, char *err, size_t errlen);

/* A control connection kept open between requests (docs/CONTROL.md: several
 * requests per connection). Zero it before the first use. */
struct gw_ctl_conn {
	bool open;
	int fd;
	struct textbuf rep;   /* kept between requests, grown once */
};
/* gw_ctl_get on c, connecting first when it is not open or the gateway
 * closed it (a restart); any failure closes it, the next call connects
 * again. The reply is c's: valid until the next call on c. */
const char *gw_ctl_conn_get(struct gw_ctl_conn *c, const char *path, const char *line, char *err,
			    size_t errlen);
void gw_ctl_conn_close(struct gw_ctl_conn *c);

/* The entry of gateway id in a "dump gateways" reply, or NULL: meshd's
 * reconcile and meshctl status read the same document. Borrowed reference. */
json_t *gw_dump_gateway(json_t *dump, json_int_t id);

/* The path a "dump gateways" entry says the gateway sends on: the gateway ids
 * after this one, ending with the entry's own id, into ids (at most max).
 * The entry's "path" when it has one (source routing: the whole path), else
 * [via, id] for a relayed entry and [id] for a direct one. Returns how many
 * ids, 0 for an entry that names none. */
unsigned gw_dump_path(json_t *entry, unsigned *ids, unsigned max);
/* The paths a "dump gateways" reply says the gateway holds, one record per
 * other gateway: {"id","hops","via","bound","source_routed","path_ids":[self,
 * ..., id]} ("source_routed": the entry named the whole path). A new array;
 * NULL if the reply holds no gateway list. meshd's status and meshctl read
 * the gateway through this alone, so they show the same. */
json_t *gw_dump_installed(json_t *dump);

#endif
