// SPDX-License-Identifier: MIT
/*
 * meshd's config file: a [meshd] section of "key = value" lines, '#' comments,
 * and an optional [etcd] section for TLS and authentication. Errors name the
 * file, the line and the key.
 *
 * Secrets are checked where they sit: a file that holds the etcd password
 * must be readable by its owner only (mode 0600 or stricter) and be root's or
 * ours, and so must the TLS client key_file; the metrics address is parsed
 * whole (IPv4:PORT, port 1-65535) here, not found wrong when meshd listens.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <sodium.h>

#include "meshd.h"

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

static bool copy(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

static bool number(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return false;
	*out = (unsigned)n;
	return true;
}

bool meshd_metrics_addr(const char *text, struct sockaddr_in *out)
{
	const char *colon = strrchr(text, ':');
	char host[INET_ADDRSTRLEN];
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return false;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &out->sin_addr) != 1 || !number(colon + 1, 1, 65535, &port))
		return false;
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return true;
}

static const char *set_meshd(struct meshd_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "gateway"))
		return copy(c->gateway, sizeof(c->gateway), v) && *v ? NULL : "a registry gateway name";
	if (!strcmp(k, "registry"))
		return (!strncmp(v, "dir:", 4) || !strncmp(v, "etcd:", 5)) && copy(c->registry, sizeof(c->registry), v)
			       ? NULL : "dir:/path or etcd:http://host:port[,...]";
	if (!strcmp(k, "interface"))
		return copy(c->interface, sizeof(c->interface), v) && *v ? NULL : "the gateway's wg name";
	if (!strcmp(k, "control"))
		return copy(c->control, sizeof(c->control), v) && *v ? NULL : "the control socket path";
	if (!strcmp(k, "metrics"))
	{
		struct sockaddr_in sa;

		return copy(c->metrics, sizeof(c->metrics), v) && (!*v || meshd_metrics_addr(v, &sa))
			       ? NULL : "IPv4:PORT (port 1-65535), or empty for none";
	}
	if (!strcmp(k, "backbone_interface"))
		return copy(c->backbone_interface, sizeof(c->backbone_interface), v) ? NULL : "an interface name";
	if (!strcmp(k, "underlay"))
		return !strcmp(v, "4") || !strcmp(v, "6") ? (c->underlay6 = v[0] == '6', NULL) : "4 or 6";
	if (!strcmp(k, "probe_interval_ms"))
		return number(v, 10, 60000, &c->probe.interval_ms) ? NULL : "10-60000";
	if (!strcmp(k, "detect_multiplier"))
		return number(v, 2, 100, &c->probe.detect_mult) ? NULL : "2-100";
	if (!strcmp(k, "link_holddown_ms"))
		return number(v, 0, 600000, &c->probe.holddown_ms) ? NULL : "0-600000";
	if (!strcmp(k, "link_holddown_max_ms"))
		return number(v, 0, 3600000, &c->probe.holddown_max_ms) ? NULL : "0-3600000";
	if (!strcmp(k, "link_flap_halflife_ms"))
		return number(v, 1000, 3600000, &c->probe.flap_halflife_ms) ? NULL : "1000-3600000";
	if (!strcmp(k, "link_holddown_loss_pct")) {
		unsigned pct;

		if (!number(v, 0, 100, &pct))
			return "0-100";
		c->probe.holddown_max_loss = pct / 100.0;
		return NULL;
	}
	if (!strcmp(k, "publish_interval_ms"))
		return number(v, 100, 60000, &c->publish_interval_ms) ? NULL : "100-60000";
	if (!strcmp(k, "hold_ms"))
		return number(v, 0, 600000, &c->hold_ms) ? NULL : "0-600000";
	if (!strcmp(k, "registry_compact_s"))
		return number(v, 5, 86400, &c->registry_compact_s) ? NULL : "5-86400";
	if (!strcmp(k, "link_lease_s"))
		return number(v, 2, 3600, &c->link_lease_s) ? NULL : "2-3600";
	return "unknown key";
}

static const char *set_etcd(struct meshd_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "ca_file"))
		return copy(c->ca_file, sizeof(c->ca_file), v) ? (c->reg.ca_file = c->ca_file, NULL) : "too long";
	if (!strcmp(k, "cert_file"))
		return copy(c->cert_file, sizeof(c->cert_file), v) ? (c->reg.cert_file = c->cert_file, NULL) : "too long";
	if (!strcmp(k, "key_file"))
		return copy(c->key_file, sizeof(c->key_file), v) ? (c->reg.key_file = c->key_file, NULL) : "too long";
	if (!strcmp(k, "username"))
		return copy(c->username, sizeof(c->username), v) ? (c->reg.username = c->username, NULL) : "too long";
	if (!strcmp(k, "password"))
		return copy(c->password, sizeof(c->password), v) ? (c->reg.password = c->password, NULL) : "too long";
	if (!strcmp(k, "timeout_ms"))
		return number(v, 100, 60000, &c->reg.timeout_ms) ? NULL : "100-60000";
	return "unknown key";
}

/* A file with a secret in it (what: "holds the etcd password"): its owner
 * root or us, and no access for group or others. */
static bool private_file(const char *path, const struct stat *st, const char *what, char *err,
			 size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s but is owned by uid %u, neither root nor us (uid %u)",
			 path, what, (unsigned)st->st_uid, (unsigned)geteuid());
		return false;
	}
	if (st->st_mode & 077) {
		snprintf(err, errlen, "%s %s but is mode %03o: others can read it; chmod 600 %s",
			 path, what, (unsigned)(st->st_mode & 0777), path);
		return false;
	}
	return true;
}

bool meshd_config_load(struct meshd_config *c, const char *path, char *err, size_t errlen)
{
	enum { NONE, MESHD, ETCD } sec = NONE;
	char raw[1024];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	struct stat st;

	memset(c, 0, sizeof(*c));
	link_params_default(&c->probe);
	c->publish_interval_ms = 1000;
	c->link_lease_s = 5;
	c->registry_compact_s = 60;
	c->hold_ms = 1000;
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return false;
	}
	while (fgets(raw, sizeof(raw), f)) {
		char *line, *eq, *hash, *k, *v;
		const char *why;

		lineno++;
		if ((hash = strchr(raw, '#')))
			*hash = '\0';
		line = trim(raw);
		if (!*line)
			continue;
		if (!strcmp(line, "[meshd]") || !strcmp(line, "[etcd]")) {
			sec = line[1] == 'm' ? MESHD : ETCD;
			continue;
		}
		if (!(eq = strchr(line, '=')) || sec == NONE) {
			snprintf(err, errlen, "%s:%u: expected key = value in [meshd] or [etcd]", path, lineno);
			fclose(f);
			return false;
		}
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		why = sec == MESHD ? set_meshd(c, k, v) : set_etcd(c, k, v);
		if (why) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, k, why);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	sodium_memzero(raw, sizeof(raw)); /* the password's line, maybe */
	if (c->password[0] && !private_file(path, &st, "holds the etcd password", err, errlen))
		return false;
	if (c->key_file[0]) {
		if (stat(c->key_file, &st) < 0) {
			snprintf(err, errlen, "%s: key_file %s: %s", path, c->key_file, strerror(errno));
			return false;
		}
		if (!private_file(c->key_file, &st, "is the etcd client key", err, errlen))
			return false;
	}
	if (!c->gateway[0] || !c->registry[0] || !c->interface[0] || !c->control[0]) {
		snprintf(err, errlen, "%s: [meshd] needs gateway, registry, interface and control", path);
		return false;
	}
	/* A cap below the first hold-down would be a hold-down that shrinks. */
	if (c->probe.holddown_max_ms < c->probe.holddown_ms) {
		snprintf(err, errlen, "%s: link_holddown_max_ms must be at least link_holddown_ms", path);
		return false;
	}
	/* Links published less often than they expire would blink in and out. */
	if ((uint64_t)c->link_lease_s * 1000 < 2ULL * c->publish_interval_ms) {
		snprintf(err, errlen, "%s: link_lease_s must be at least twice publish_interval_ms", path);
		return false;
	}
	return true;
}
