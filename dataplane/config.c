// SPDX-License-Identifier: MIT
/*
 * The gateway's config file: INI sections [gateway], [vm] and [backbone] with
 * "key = value" lines; '#' starts a comment. Peers are not configured here but
 * through the UAPI (wg setconf), as with any WireGuard implementation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

enum section { S_NONE, S_GATEWAY, S_VM, S_BACKBONE };

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n > max)
		return false;
	*out = (uint32_t)n;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_cidr(const char *v, struct in_addr *addr, uint8_t *len)
{
	char buf[64];
	char *slash;
	uint32_t bits;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1 || !parse_u32(slash + 1, 32, &bits) || bits == 0)
		return false;
	*len = (uint8_t)bits;
	return true;
}

static bool parse_cidr6(const char *v, struct in6_addr *addr, uint8_t *len)
{
	char buf[64];
	char *slash;
	uint32_t bits;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (inet_pton(AF_INET6, buf, addr) != 1 || !parse_u32(slash + 1, 128, &bits) || bits == 0)
		return false;
	*len = (uint8_t)bits;
	return true;
}

static bool copy_str(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

bool config_name_ok(const char *s, size_t max)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n && n <= max && !s[n] && s[0] != '.';
}

static const char *set_gateway(struct config *c, const char *k, const char *v)
{
	uint32_t n;

	if (!strcmp(k, "name")) {
		if (!config_name_ok(v, sizeof(c->name) - 1) || !copy_str(c->name, sizeof(c->name), v))
			return "must be 1-31 of A-Z a-z 0-9 . _ -, not starting with '.'";
	} else if (!strcmp(k, "private_key_file")) {
		if (!copy_str(c->private_key_file, sizeof(c->private_key_file), v))
			return "path too long";
	} else if (!strcmp(k, "listen_port")) {
		if (!parse_u32(v, 65535, &n))
			return "must be 0-65535";
		c->listen_port = (uint16_t)n;
	} else if (!strcmp(k, "mtu")) {
		if (!parse_u32(v, 9000, &n) || n < 576)
			return "must be 576-9000";
		c->mtu = (uint16_t)n;
	} else if (!strcmp(k, "eal")) {
		if (!copy_str(c->eal, sizeof(c->eal), v))
			return "eal arguments too long";
	} else if (!strcmp(k, "workers")) {
		if (!parse_u32(v, MAX_WORKERS, &n) || n < 1)
			return "must be 1-16";
		c->workers = n;
	} else if (!strcmp(k, "hop_limit")) {
		/* A ceiling: meshd pushes the policy's limit, which stays under it. */
		if (!parse_u32(v, HOP_LIMIT_MAX, &n) || n < 1)
			return "must be 1-4 backbone hops (a relay header names at most 4)";
		c->hop_limit = (uint8_t)n;
	} else if (!strcmp(k, "host_routes")) {
		if (!parse_u32(v, 1u << 24, &n) || n < 1024)
			return "must be 1024-16777216 IPv4 /32 routes";
		c->host_routes = n;
	} else if (!strcmp(k, "idle")) {
		if (!strcmp(v, "poll"))
			c->busy_poll = true;
		else if (!strcmp(v, "adaptive"))
			c->busy_poll = false;
		else
			return "must be poll or adaptive";
	} else if (!strcmp(k, "rekey_after_time")) {
		if (!parse_u32(v, 120, &n) || n < 1)
			return "must be 1-120 seconds";
		c->rekey_after_time = n;
	} else if (!strcmp(k, "force_cookie")) {
		if (!parse_bool(v, &c->force_cookie))
			return "must be true or false";
	} else if (!strcmp(k, "run_dir")) {
		if (!copy_str(c->run_dir, sizeof(c->run_dir), v))
			return "path too long";
	} else {
		return "unknown key";
	}
	return NULL;
}

static const char *set_port(struct port_config *p, bool backbone, const char *k, const char *v)
{
	if (!strcmp(k, "port")) {
		if (!*v || !copy_str(p->device, sizeof(p->device), v))
			return "must name a DPDK ethdev";
	} else if (!strcmp(k, "address")) {
		if (!parse_cidr(v, &p->address, &p->prefix_len))
			return "must be IPv4/prefix, e.g. 10.1.0.1/24";
	} else if (!strcmp(k, "address6")) {
		if (!parse_cidr6(v, &p->address6, &p->prefix6_len))
			return "must be IPv6/prefix, e.g. fd00:1::1/64";
	} else if (backbone && !strcmp(k, "gateway")) {
		if (inet_pton(AF_INET, v, &p->gateway) != 1)
			return "must be an IPv4 address";
	} else if (backbone && !strcmp(k, "gateway6")) {
		if (inet_pton(AF_INET6, v, &p->gateway6) != 1)
			return "must be an IPv6 address";
	} else {
		return "unknown key";
	}
	return NULL;
}

static void defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_port = 51820;
	c->mtu = 1420;
	c->workers = 1;
	c->hop_limit = HOP_LIMIT_MAX;
	c->host_routes = 1u << 20;
	strcpy(c->run_dir, "/var/run/hopmesh");
}

static bool validate(const struct config *c, const char *path, char *err, size_t errlen)
{
	static const char *const names[PORT_COUNT] = { "vm", "backbone" };

	if (!c->name[0]) {
		snprintf(err, errlen, "%s: [gateway] name is required", path);
		return false;
	}
	if (!c->private_key_file[0]) {
		snprintf(err, errlen, "%s: [gateway] private_key_file is required", path);
		return false;
	}
	for (int i = 0; i < PORT_COUNT; i++) {
		if (!c->port[i].device[0] || !c->port[i].address.s_addr) {
			snprintf(err, errlen, "%s: [%s] needs port and address", path, names[i]);
			return false;
		}
	}
	return true;
}

bool config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	enum section sec = S_NONE;
	char raw[2048];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	defaults(c);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(raw, sizeof(raw), f)) {
		char *line, *eq, *hash;
		const char *why = NULL;

		lineno++;
		if (!strchr(raw, '\n') && !feof(f)) {
			why = "line too long";
			goto bad;
		}
		if ((hash = strchr(raw, '#')))
			*hash = '\0';
		line = trim(raw);
		if (!*line)
			continue;
		if (*line == '[') {
			if (!strcmp(line, "[gateway]"))
				sec = S_GATEWAY;
			else if (!strcmp(line, "[vm]"))
				sec = S_VM;
			else if (!strcmp(line, "[backbone]"))
				sec = S_BACKBONE;
			else {
				why = "unknown section";
				goto bad;
			}
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			why = "expected key = value";
			goto bad;
		}
		*eq = '\0';
		char *k = trim(line), *v = trim(eq + 1);
		switch (sec) {
		case S_GATEWAY:
			why = set_gateway(c, k, v);
			break;
		case S_VM:
			why = set_port(&c->port[PORT_VM], false, k, v);
			break;
		case S_BACKBONE:
			why = set_port(&c->port[PORT_BACKBONE], true, k, v);
			break;
		default:
			why = "key outside a section";
		}
		if (why) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, k, why);
			fclose(f);
			return false;
		}
		continue;
bad:
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		fclose(f);
		return false;
	}
	fclose(f);
	return validate(c, path, err, errlen);
}

bool config_read_private_key(const char *path, uint8_t key[WG_KEY_LEN], char *err, size_t errlen)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	bool ok;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return false;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o lets others read the private key; chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return false;
	}
	/* Whoever owns the file can replace the key or widen its mode. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, who could replace the private key; only the gateway's user "
			 "(uid %u) or root may own it",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	ok = wg_key_from_base64(key, trim(buf));
	wg_memzero(buf, sizeof(buf));
	if (!ok)
		snprintf(err, errlen, "%s: not a base64 WireGuard key (as wg genkey writes)", path);
	return ok;
}
