// SPDX-License-Identifier: MIT
/*
 * meshd's registry I/O, in a thread of its own: the loop that reads probes,
 * fails over and installs paths never waits on the registry. An etcd member
 * that accepts connections and then says nothing (stopped, partitioned)
 * holds a call for the whole timeout, per endpoint; here that delays only
 * the next snapshot (meshd writes nothing to the registry but compactions:
 * links travel between the meshds, meshd_lsa.c).
 *
 * The thread's flow, one step at a time:
 *   - the watch fd (registry_watch_fd) fires: a load is due at once where
 *     the registry follows its watch (etcd: registry_update applies the
 *     watch's changes key by key, a full read only when they do not follow
 *     on), in DEBOUNCE_NS otherwise (dir: every load a full read); also a
 *     full read every RELOAD_EVERY_NS (FOLLOW_RELOAD_EVERY_NS when
 *     following: a safety net), every RETRY_EVERY_NS after a failed load,
 *     and at once when the loop asks (meshd_registry_reload);
 *   - a load (registry_update over the thread's own last good snapshot)
 *     posts its result in one slot, a newer replacing one the loop has not
 *     taken, and wakes the loop through an eventfd (meshd_registry_fd); a
 *     wake-up that brought no change posts nothing;
 *   - every registry_compact_s (config), the meshd of the gateway with the lowest id in
 *     the registry (one per mesh, no election needed beyond the snapshot
 *     everyone reads) compacts etcd to the revision it read one period
 *     before: etcd keeps that much history and stops growing with the
 *     writes (tests/netns/registry_etcd.sh, the soak).
 * The loop takes a result with meshd_registry_take. The registry handle is
 * the thread's alone from meshd_registry_start to meshd_registry_stop.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "meshd.h"

#define RELOAD_EVERY_NS (5 * 1000000000ULL)
/* With a watch whose changes are applied key by key (etcd), a full read is
 * a safety net only, and a costly one in a large mesh. */
#define FOLLOW_RELOAD_EVERY_NS (60 * 1000000000ULL)
#define RETRY_EVERY_NS (1000000000ULL)
#define DEBOUNCE_NS (100 * 1000000ULL)

struct meshd_registry {
	struct meshd *d;              /* for its config and meshd_log only */
	struct registry *reg;
	pthread_t thread;
	int wake_loop;                /* eventfd: a result is posted */
	int wake_thread;              /* eventfd: stop or reload */

	pthread_mutex_t mu;           /* guards what follows */
	bool stop, reload_asked;
	bool posted, posted_ok;       /* a result the loop has not taken */
	struct reg_snapshot result;
	char result_err[256];
};

static void poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* a full counter is already a wake-up */
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static void post(struct meshd_registry *m, const struct reg_snapshot *fresh, const char *err)
{
	pthread_mutex_lock(&m->mu);
	if (m->posted && m->posted_ok)
		reg_snapshot_free(&m->result);
	m->posted = true;
	m->posted_ok = fresh != NULL;
	if (fresh)
		m->result = *fresh;
	snprintf(m->result_err, sizeof(m->result_err), "%s", err ? err : "");
	pthread_mutex_unlock(&m->mu);
	poke(m->wake_loop);
}

/* One load; last: the thread's last good snapshot, replaced on success.
 * full: read everything even where the watch's changes could be applied. */
static bool load(struct meshd_registry *m, struct reg_snapshot *last, bool *have_last, bool full)
{
	struct reg_snapshot fresh, copy;
	bool was_full;
	char err[256];
	int rc = registry_update(m->reg, *have_last ? last : NULL, full, &fresh, &was_full, err,
				 sizeof(err));

	if (rc < 0) {
		post(m, NULL, err);
		return false;
	}
	if (rc == 1)
		return true; /* a wake-up with no change in it: nothing to post */
	if (reg_snapshot_dup(&fresh, &copy) < 0) {
		reg_snapshot_free(&fresh);
		post(m, NULL, "out of memory");
		return false;
	}
	if (*have_last)
		reg_snapshot_free(last);
	*last = fresh;
	*have_last = true;
	post(m, &copy, NULL);
	return true;
}

/* Are we the one to compact: the lowest id in the registry? */
static bool compactor(const struct meshd_registry *m, const struct reg_snapshot *s)
{
	const struct reg_gateway *low = NULL;

	for (unsigned i = 0; i < s->ngateways; i++)
		if (!low || s->gateways[i].id < low->id)
			low = &s->gateways[i];
	return low && !strcmp(low->name, m->d->cfg.gateway);
}

static void compact(struct meshd_registry *m, const struct reg_snapshot *last, long long *before)
{
	char err[256];

	if (*before && compactor(m, last) && registry_compact(m->reg, *before, err, sizeof(err)))
		meshd_log(m->d, "compacting the registry to revision %lld: %s", *before, err);
	*before = last->revision;
}

static void *thread_main(void *arg)
{
	struct meshd_registry *m = arg;
	struct reg_snapshot last;
	bool have_last = false, up = false;
	uint64_t last_full = 0, due = 1, last_compact = meshd_mono_ns(); /* load at once */
	long long compact_to = 0;
	int wfd = registry_watch_fd(m->reg);
	bool follows = registry_follows(m->reg), full_asked = false;
	uint64_t every = follows ? FOLLOW_RELOAD_EVERY_NS : RELOAD_EVERY_NS;

	for (;;) {
		struct pollfd p[2] = {{.fd = m->wake_thread, .events = POLLIN},
				      {.fd = wfd, .events = POLLIN}};
		uint64_t now = meshd_mono_ns(), next = last_full + (up ? every : RETRY_EVERY_NS);
		int timeout_ms;
		bool stop;

		if (due && due < next)
			next = due;
		timeout_ms = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		if (poll(p, wfd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
			usleep(10000);
		now = meshd_mono_ns();
		if (p[0].revents)
			drain(m->wake_thread);
		if (wfd >= 0 && p[1].revents) {
			registry_watch_ack(m->reg);
			/* changes applied one by one cost what they change: no need
			 * to wait for more to gather (they gather while one runs) */
			if (!due)
				due = follows ? now : now + DEBOUNCE_NS;
		}
		pthread_mutex_lock(&m->mu);
		stop = m->stop;
		if (m->reload_asked)
			due = now, full_asked = true;
		m->reload_asked = false;
		pthread_mutex_unlock(&m->mu);
		if (stop)
			break;
		if ((due && now >= due) || now - last_full >= (up ? every : RETRY_EVERY_NS)) {
			bool full = full_asked || now - last_full >= (up ? every : RETRY_EVERY_NS);

			due = 0;
			full_asked = false;
			if (full)
				last_full = now;
			up = load(m, &last, &have_last, full || !up);
		}
		if (up && have_last &&
		    now - last_compact >= m->d->cfg.registry_compact_s * 1000000000ULL) {
			last_compact = now;
			compact(m, &last, &compact_to);
		}
	}
	if (have_last)
		reg_snapshot_free(&last);
	return NULL;
}

struct meshd_registry *meshd_registry_start(struct meshd *d, struct registry *reg, char *err,
					    size_t errlen)
{
	struct meshd_registry *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->d = d;
	m->reg = reg;
	pthread_mutex_init(&m->mu, NULL);
	m->wake_loop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	m->wake_thread = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->wake_loop < 0 || m->wake_thread < 0 ||
	    pthread_create(&m->thread, NULL, thread_main, m) != 0) {
		snprintf(err, errlen, "cannot start the registry thread: %s", strerror(errno));
		if (m->wake_loop >= 0)
			close(m->wake_loop);
		if (m->wake_thread >= 0)
			close(m->wake_thread);
		pthread_mutex_destroy(&m->mu);
		free(m);
		return NULL;
	}
	return m;
}

int meshd_registry_fd(const struct meshd_registry *m)
{
	return m->wake_loop;
}

int meshd_registry_take(struct meshd_registry *m, struct reg_snapshot *out, char *err,
			size_t errlen)
{
	int rc = 0;

	drain(m->wake_loop);
	pthread_mutex_lock(&m->mu);
	if (m->posted) {
		rc = m->posted_ok ? 1 : -1;
		if (m->posted_ok)
			*out = m->result;
		snprintf(err, errlen, "%s", m->result_err);
		memset(&m->result, 0, sizeof(m->result));
		m->posted = false;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void meshd_registry_reload(struct meshd_registry *m)
{
	pthread_mutex_lock(&m->mu);
	m->reload_asked = true;
	pthread_mutex_unlock(&m->mu);
	poke(m->wake_thread);
}

void meshd_registry_stop(struct meshd_registry *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_mutex_unlock(&m->mu);
	poke(m->wake_thread);
	pthread_join(m->thread, NULL);
	if (m->posted && m->posted_ok)
		reg_snapshot_free(&m->result);
	close(m->wake_loop);
	close(m->wake_thread);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
