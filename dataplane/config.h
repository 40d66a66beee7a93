/* SPDX-License-Identifier: MIT */
/*
 * The gateway's configuration file (config.c): its two ports, its tunnel
 * and worker settings, read once at start-up.
 */
#ifndef HOPMESH_DATAPLANE_CONFIG_H
#define HOPMESH_DATAPLANE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "tunnels.h"

enum { PORT_VM, PORT_BACKBONE, PORT_COUNT };
#define MAX_WORKERS 16 /* the most workers = lcores a config may ask for */
#define HOP_LIMIT_MAX 4 /* backbone hops: what a relay header's path holds */

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
	uint8_t hop_limit;         /* ceiling of the hop limit meshd pushes */
	uint32_t host_routes;      /* capacity for IPv4 /32 routes */
	char eal[1024];            /* EAL arguments */
	bool busy_poll;            /* false: adaptive sleep when idle */
	uint32_t rekey_after_time; /* seconds; 0: the protocol's 120 */
	bool force_cookie;         /* always demand mac2 (tests, attack drills) */
	char run_dir[128];         /* control socket directory */
	struct port_config port[PORT_COUNT];
};

bool config_load(struct config *c, const char *path, char *err, size_t errlen);
/* A name as the gateway takes them (its own here, other gateways' through the
 * control socket): 1 to max characters of A-Z a-z 0-9 . _ -, not starting
 * with '.', so that it is safe in a file name, a JSON string and a label. */
bool config_name_ok(const char *s, size_t max);
bool config_read_private_key(const char *path, uint8_t key[WG_KEY_LEN], char *err, size_t errlen);

#endif
