// SPDX-License-Identifier: MIT
/*
 * The host through rtnetlink (libmnl): meshd watches its backbone interface's
 * state, so a link that goes down on this host marks every probed link down at
 * once instead of after the probes' detection time, and it logs the host's
 * addresses at start (the underlay it may announce).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "meshd.h"

/* MNL_SOCKET_BUFFER_SIZE is computed at run time (a VLA): a page at most 8 KiB. */
#define NL_BUF 8192

static struct mnl_socket *sock;
static bool seen; /* the backbone interface was in the dump */

static int on_link(const struct nlmsghdr *nlh, void *arg)
{
	struct meshd *d = arg;
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	const char *name = NULL;
	bool up;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
			name = mnl_attr_get_str(attr);
	}
	if (!name || strcmp(name, d->cfg.backbone_interface))
		return MNL_CB_OK;
	seen = true;
	up = nlh->nlmsg_type == RTM_NEWLINK && (ifm->ifi_flags & IFF_UP) && (ifm->ifi_flags & IFF_RUNNING);
	if (up != d->backbone_up) {
		meshd_log(d, "backbone interface %s is %s", name, up ? "up" : "down");
		d->backbone_up = up;
	}
	return MNL_CB_OK;
}

static int on_addr(const struct nlmsghdr *nlh, void *arg)
{
	struct meshd *d = arg;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	char ifname[IF_NAMESIZE] = "?", text[INET6_ADDRSTRLEN];

	if (ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	if_indextoname(ifa->ifa_index, ifname);
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(attr) != IFA_ADDRESS)
			continue;
		if (inet_ntop(ifa->ifa_family, mnl_attr_get_payload(attr), text, sizeof(text)))
			meshd_log(d, "host address %s/%u on %s", text, ifa->ifa_prefixlen, ifname);
	}
	return MNL_CB_OK;
}

static bool dump(struct meshd *d, uint16_t type, mnl_cb_t cb)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	unsigned seq = (unsigned)time(NULL), portid = mnl_socket_get_portid(sock);
	int n;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return false;
	while ((n = (int)mnl_socket_recvfrom(sock, buf, sizeof(buf))) > 0) {
		n = mnl_cb_run(buf, (size_t)n, seq, portid, cb, d);
		if (n <= MNL_CB_STOP)
			break;
	}
	return n >= 0;
}

int netlink_open(struct meshd *d, char *err, size_t errlen)
{
	d->backbone_up = true;
	sock = mnl_socket_open(NETLINK_ROUTE);
	if (!sock || mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID)) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		return -1;
	}
	dump(d, RTM_GETADDR, on_addr);
	if (!d->cfg.backbone_interface[0]) {
		/* Nothing to watch: no fd for the loop. */
		mnl_socket_close(sock);
		sock = NULL;
		return -1;
	}
	d->backbone_up = false;
	dump(d, RTM_GETLINK, on_link);
	/* A name that is not there is a configuration mistake: say so, and do
	 * not let it take every link down. */
	if (!seen) {
		meshd_log(d, "backbone interface %s not found: not watching it", d->cfg.backbone_interface);
		d->backbone_up = true;
	}
	/* From now on, link changes as they happen. */
	mnl_socket_close(sock);
	sock = mnl_socket_open(NETLINK_ROUTE);
	if (!sock || mnl_socket_bind(sock, RTMGRP_LINK, MNL_SOCKET_AUTOPID)) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		return -1;
	}
	return mnl_socket_get_fd(sock);
}

void netlink_input(struct meshd *d, int fd)
{
	char buf[NL_BUF];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, on_link, d);
}
