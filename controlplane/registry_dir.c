// SPDX-License-Identifier: MIT
/*
 * The embedded registry: one file per key under one directory.
 *
 *   DIR/gateways/NAME.json  DIR/vms/NAME.json  DIR/policy.json
 *   DIR/claims/NAME/CLAIM.json  DIR/.lock
 *
 * Nothing else in DIR is read or watched: DIR/links/, where an earlier
 * version kept link measurements, is left alone.
 *
 * Writers hold an exclusive flock on DIR/.lock, write a temp file (".NAME..."
 * in the target's folder, which readers ignore) and rename(2) it over the
 * record, so a reader never sees a partial record; every record is fsync'd
 * (file and folder) before the lock is released. Checks across records
 * (prefix overlap, unique ids, a VM's gateway) read the store under the same
 * lock, so two writers cannot both pass them with clashing records.
 *
 * registry_load takes no lock: every write is one record replaced by one
 * rename(2), so what a reader sees is always a state some sequence of whole
 * writes made. A writer waits for the lock a bounded time (lock_wait_ms,
 * polling with LOCK_NB) and then fails with an error that says so: a stuck
 * writer can delay other writers, never freeze a reader such as meshd's
 * loop. The lock file is ours alone (mode 0600, owned by the user that runs
 * the registry): one that another user owns is refused, since its owner
 * could hold it; one with group or other access is narrowed to 0600.
 *
 * A claim (registry_entries.h: reg_claims) is made with a sequence number
 * one above the highest stored, under the lock, and never rewritten: that
 * number is its seniority here, as the create revision is in etcd.
 *
 * The watch is an inotify fd on DIR, DIR/gateways, DIR/vms, DIR/claims and
 * each DIR/claims/NAME; registry_watch_ack drains it and adds watches for
 * such folders created since.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry_assemble.h"
#include "registry_base.h"
#include "registry_impl.h"
#include "registry_json.h"

#define LOCK_POLL_MS 2
#define LOCK_WAIT_MS 10000 /* when the caller gives none */
#define WATCH_MASK                                                                             \
	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)

#define PATH_CAP 4608 /* every path; the registry's own is at most 4000 */

/* snprintf into a path buffer; the lengths of names are bounded, so a
 * truncation cannot happen, and would give a path that does not exist. */
static void __attribute__((format(printf, 3, 4))) pathf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

struct reg_dir {
	char *path;
	int lockfd;
	unsigned lock_wait_ms;
	int ifd;
	int wd_root, wd_claims;
};

static int mkdir_p(const char *path, char *err, size_t errlen)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf)) {
		reg_err(err, errlen, "registry directory path too long");
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			struct stat st;

			if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
				reg_err(err, errlen, "registry directory %s: %s", buf, strerror(errno));
				return -1;
			}
		}
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* DIR/.lock, checked as the opening comment says. Read-only: closing it must
 * not wake watchers with IN_CLOSE_WRITE (flock needs no write access). */
static int lock_open(const char *p, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(p, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);

	if (fd < 0) {
		reg_err(err, errlen, "registry lock file %s: %s", p, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reg_err(err, errlen, "registry lock file %s: not a regular file", p);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		reg_err(err, errlen,
			"registry lock file %s is owned by uid %u, not by this user (uid %u): another "
			"user could hold the registry's lock; remove the file (it is made again, "
			"mode 0600)",
			p, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		reg_err(err, errlen, "registry lock file %s: mode %03o, and cannot make it 0600: %s",
			p, (unsigned)(st.st_mode & 0777), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void *reg_dir_open(struct registry *r, const char *path, const struct reg_options *opt, char *err,
		   size_t errlen)
{
	(void)r;
	static const char *const sub[] = {"gateways", "vms", "claims"};
	struct reg_dir *d;
	char p[PATH_CAP];
	size_t n;
	unsigned i;
	struct stat st;

	if (strlen(path) > 4000) {
		reg_err(err, errlen, "registry directory path too long");
		return NULL;
	}
	if (!path[0]) {
		reg_err(err, errlen, "registry URL dir: needs a path (dir:/var/lib/hopmesh/registry)");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		reg_err(err, errlen, "out of memory");
		return NULL;
	}
	n = strlen(d->path);
	while (n > 1 && d->path[n - 1] == '/')
		d->path[--n] = '\0';
	d->lockfd = d->ifd = d->wd_root = d->wd_claims = -1;
	if (mkdir_p(d->path, err, errlen) < 0)
		goto fail;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		pathf(p, sizeof(p), "%s/%s", d->path, sub[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
				reg_err(err, errlen, "registry directory %s: %s", p, strerror(errno));
				goto fail;
			}
		}
	}
	d->lock_wait_ms = opt->lock_wait_ms ? opt->lock_wait_ms : LOCK_WAIT_MS;
	pathf(p, sizeof(p), "%s/.lock", d->path);
	d->lockfd = lock_open(p, err, errlen);
	if (d->lockfd < 0)
		goto fail;
	return d;
fail:
	free(d->path);
	free(d);
	return NULL;
}

/* The exclusive lock, waited for lock_wait_ms at most. */
static int dir_lock(struct reg_dir *d, char *err, size_t errlen)
{
	uint64_t start = reg_mono_ms();

	while (flock(d->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			reg_err(err, errlen, "registry %s: lock: %s", d->path, strerror(errno));
			return -1;
		}
		if (reg_mono_ms() - start >= d->lock_wait_ms) {
			reg_err(err, errlen,
				"registry %s: another writer has held %s/.lock for %u ms: not written",
				d->path, d->path, d->lock_wait_ms);
			return -1;
		}
		usleep(LOCK_POLL_MS * 1000);
	}
	return 0;
}

static void dir_unlock(struct reg_dir *d)
{
	flock(d->lockfd, LOCK_UN);
}

/* Reads one record file into es; a file that cannot be read becomes an
 * entry with read_error (a problem line), not a failure. */
static int read_record(struct reg_entries *es, const char *path, const char *key)
{
	char *buf = NULL, why[160];
	struct stat st;
	ssize_t got;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), rc;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* removed since the listing */
		snprintf(why, sizeof(why), "%s", strerror(errno));
		return reg_entries_add(es, path, key, NULL, 0, why, 0);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return reg_entries_add(es, path, key, NULL, 0, "not a regular file", 0);
	}
	if (st.st_size > REG_MAX_RECORD) {
		close(fd);
		snprintf(why, sizeof(why), "larger than %d bytes", REG_MAX_RECORD);
		return reg_entries_add(es, path, key, NULL, 0, why, 0);
	}
	buf = malloc(REG_MAX_RECORD + 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (n <= REG_MAX_RECORD && (got = read(fd, buf + n, REG_MAX_RECORD + 1 - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			close(fd);
			free(buf);
			return reg_entries_add(es, path, key, NULL, 0, why, 0);
		}
		n += (size_t)got;
	}
	close(fd);
	if (n > REG_MAX_RECORD) {
		free(buf);
		snprintf(why, sizeof(why), "larger than %d bytes", REG_MAX_RECORD);
		return reg_entries_add(es, path, key, NULL, 0, why, 0);
	}
	if (memchr(buf, '\0', n)) {
		free(buf);
		return reg_entries_add(es, path, key, NULL, 0, "contains a NUL byte", 0);
	}
	rc = reg_entries_add(es, path, key, buf, n, NULL, 0);
	free(buf);
	return rc;
}

static bool record_name(const char *file, char *base, size_t cap)
{
	size_t n = strlen(file);

	if (file[0] == '.' || n < 6 || strcmp(file + n - 5, ".json") || n - 5 >= cap)
		return false;
	memcpy(base, file, n - 5);
	base[n - 5] = '\0';
	return true;
}

/* Every NAME.json in DIR/folder as key "keyprefix NAME". */
static int read_folder(struct reg_dir *d, struct reg_entries *es, const char *folder,
		       const char *keyprefix)
{
	char dpath[PATH_CAP], path[PATH_CAP], key[REG_KEY_LEN + 64], base[256];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	pathf(dpath, sizeof(dpath), "%s/%s", d->path, folder);
	dir = opendir(dpath);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(dir))) {
		if (!record_name(de->d_name, base, sizeof(base)))
			continue;
		pathf(path, sizeof(path), "%s/%s", dpath, de->d_name);
		pathf(key, sizeof(key), "%s%s", keyprefix, base);
		if (read_record(es, path, key) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(dir);
	return rc;
}

/* Every DIR/top/A/B.json as key "top/A/B" (claims). */
static int read_two_level(struct reg_dir *d, struct reg_entries *es, const char *top)
{
	char dpath[PATH_CAP], folder[300], keyp[300];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	pathf(dpath, sizeof(dpath), "%s/%s", d->path, top);
	dir = opendir(dpath);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 200)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		pathf(folder, sizeof(folder), "%s/%s", top, de->d_name);
		pathf(keyp, sizeof(keyp), "%s/%s/", top, de->d_name);
		if (read_folder(d, es, folder, keyp) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(dir);
	return rc;
}

static int read_all(struct reg_dir *d, struct reg_entries *es, char *err, size_t errlen)
{
	char path[PATH_CAP];
	struct stat st;

	pathf(path, sizeof(path), "%s/policy.json", d->path);
	if (read_folder(d, es, "gateways", "gateways/") < 0 ||
	    read_folder(d, es, "vms", "vms/") < 0 ||
	    (stat(path, &st) == 0 && read_record(es, path, "policy") < 0) ||
	    read_two_level(d, es, "claims") < 0) {
		reg_err(err, errlen, "registry %s: read: %s", d->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int dir_load(struct registry *r, struct reg_entries *out, char *err, size_t errlen)
{
	struct reg_dir *d = r->be;

	return read_all(d, out, err, errlen);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes text to folder/file through a temp file and rename(2), fsync'd:
 * the file, then the folder. */
static int write_atomic(const char *folder, const char *file, const char *text, char *err,
			size_t errlen)
{
	char tmp[PATH_CAP], path[PATH_CAP];
	size_t n = strlen(text), off = 0;
	int fd;

	pathf(path, sizeof(path), "%s/%s", folder, file);
	pathf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", folder, file);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		reg_err(err, errlen, "write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) < 0)
		goto fail;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1)
		goto fail;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	if (fsync_dir(folder) < 0) {
		reg_err(err, errlen, "write %s: fsync of the folder: %s", path, strerror(errno));
		return -1;
	}
	return 0;
fail:
	reg_err(err, errlen, "write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The highest claim sequence number stored, for the next claim's. */
static long long claims_max_seq(const struct reg_entries *es)
{
	char gw[REG_NAME_LEN], what[REG_ADDR_LEN];
	long long max = 0, seq;
	unsigned i;

	for (i = 0; i < es->n; i++)
		if (!strncmp(es->v[i].key, "claims/", 7) && es->v[i].value &&
		    reg_claim_parse(es->v[i].value, gw, sizeof(gw), what, sizeof(what), &seq, NULL, 0) &&
		    seq > max)
			max = seq;
	return max;
}

/* The owner's new claims, before its record is written: made once, with
 * the next sequence numbers. Under the lock. */
static int claims_make(struct reg_dir *d, const struct reg_claims *c, const struct reg_entries *es,
		       char *err, size_t errlen)
{
	char folder[PATH_CAP];
	long long seq = claims_max_seq(es);
	unsigned i;

	pathf(folder, sizeof(folder), "%s/claims/%s", d->path, c->owner);
	if (c->n && mkdir(folder, 0755) < 0 && errno != EEXIST) {
		reg_err(err, errlen, "registry %s: %s", folder, strerror(errno));
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		char file[200], *text;
		int rc;

		if (reg_entries_find(es, c->key[i]))
			continue; /* held already: keeps its age */
		text = reg_claim_json(c->owner, c->what[i], ++seq);
		if (!text) {
			reg_err(err, errlen, "out of memory");
			return -1;
		}
		pathf(file, sizeof(file), "%s.json", strrchr(c->key[i], '/') + 1);
		rc = write_atomic(folder, file, text, err, errlen);
		free(text);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The owner's claims it no longer makes, after its record is written. */
static void claims_drop(struct reg_dir *d, const struct reg_claims *c, const struct reg_entries *es)
{
	char prefix[REG_KEY_LEN], folder[PATH_CAP];
	unsigned i;

	snprintf(prefix, sizeof(prefix), "claims/%s/", c->owner);
	for (i = 0; i < es->n; i++)
		if (!strncmp(es->v[i].key, prefix, strlen(prefix)) && !reg_claims_hold(c, es->v[i].key))
			unlink(es->v[i].where);
	pathf(folder, sizeof(folder), "%s/claims/%s", d->path, c->owner);
	if (!c->n)
		rmdir(folder);
	else
		fsync_dir(folder);
}

static int dir_write(struct registry *r, const struct reg_write *w, char *err, size_t errlen)
{
	struct reg_dir *d = r->be;
	char folder[PATH_CAP], file[200], why[400];
	const char *slash = strrchr(w->key, '/');
	struct reg_entries es = {0};
	int rc = -1;

	if (w->kind == REG_K_POLICY) {
		pathf(folder, sizeof(folder), "%s", d->path);
		pathf(file, sizeof(file), "policy.json");
	} else {
		pathf(folder, sizeof(folder), "%s/%.*s", d->path, (int)(slash - w->key), w->key);
		pathf(file, sizeof(file), "%s.json", slash + 1);
	}
	if (dir_lock(d, err, errlen) < 0)
		return -1;
	if (w->check || w->claims) {
		struct reg_snapshot s;
		bool ok = true;

		if (read_all(d, &es, err, errlen) < 0)
			goto unlock;
		if (w->check) {
			if (reg_assemble(&es, NULL, &s) < 0) {
				reg_err(err, errlen, "out of memory");
				goto unlock;
			}
			ok = w->check(&s, w->arg, why, sizeof(why));
			reg_snapshot_free(&s);
		}
		if (!ok) {
			reg_err(err, errlen, "%s", why);
			goto unlock;
		}
	}
	if (w->claims && w->value && claims_make(d, w->claims, &es, err, errlen) < 0)
		goto unlock;
	if (w->value) {
		if (write_atomic(folder, file, w->value, err, errlen) < 0)
			goto unlock;
	} else {
		char path[PATH_CAP];

		pathf(path, sizeof(path), "%s/%s", folder, file);
		if (unlink(path) < 0) {
			if (errno == ENOENT)
				reg_err(err, errlen, "%s not found", w->what);
			else
				reg_err(err, errlen, "delete %s: %s", path, strerror(errno));
			goto unlock;
		}
		fsync_dir(folder);
	}
	if (w->claims)
		claims_drop(d, w->claims, &es);
	rc = 0;
unlock:
	dir_unlock(d);
	reg_entries_free(&es);
	return rc;
}

static int add_watch(struct reg_dir *d, const char *rel)
{
	char p[PATH_CAP];

	pathf(p, sizeof(p), "%s%s%s", d->path, rel[0] ? "/" : "", rel);
	return inotify_add_watch(d->ifd, p, WATCH_MASK);
}

/* A watch on each folder DIR/top/A (claims). */
static void watch_subfolders(struct reg_dir *d, const char *top)
{
	char p[PATH_CAP], rel[300];
	struct dirent *de;
	DIR *dir;

	pathf(p, sizeof(p), "%s/%s", d->path, top);
	dir = opendir(p);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 200)
			continue;
		pathf(rel, sizeof(rel), "%s/%s", top, de->d_name);
		add_watch(d, rel); /* fails harmlessly for a non-folder (IN_ONLYDIR) */
	}
	closedir(dir);
}

static int dir_watch_fd(struct registry *r)
{
	struct reg_dir *d = r->be;

	if (d->ifd >= 0)
		return d->ifd;
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0)
		return -1;
	d->wd_root = add_watch(d, "");
	add_watch(d, "gateways");
	add_watch(d, "vms");
	d->wd_claims = add_watch(d, "claims");
	if (d->wd_root < 0 || d->wd_claims < 0) {
		close(d->ifd);
		d->ifd = -1;
		return -1;
	}
	/* after the watch on the top: a folder made in between is seen twice at worst */
	watch_subfolders(d, "claims");
	return d->ifd;
}

static void dir_watch_ack(struct registry *r)
{
	struct reg_dir *d = r->be;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (d->ifd < 0)
		return;
	while ((n = read(d->ifd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		char *p = buf;

		while (n > 0 && p < buf + n) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (!(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO)) ||
			    !ev->len || ev->name[0] == '.')
				continue;
			if (ev->wd == d->wd_claims) {
				char rel[300];

				pathf(rel, sizeof(rel), "claims/%.200s", ev->name);
				add_watch(d, rel);
			} else if (ev->wd == d->wd_root) {
				/* a top folder made again (by hand) */
				if (!strcmp(ev->name, "claims")) {
					d->wd_claims = add_watch(d, "claims");
					watch_subfolders(d, "claims");
				} else if (!strcmp(ev->name, "gateways") || !strcmp(ev->name, "vms")) {
					add_watch(d, ev->name);
				}
			}
		}
	}
}

static void dir_close(struct registry *r)
{
	struct reg_dir *d = r->be;

	if (d->ifd >= 0)
		close(d->ifd);
	if (d->lockfd >= 0)
		close(d->lockfd);
	free(d->path);
	free(d);
}

const struct reg_ops reg_dir_ops = {
	.load = dir_load,
	.write = dir_write,
	.watch_fd = dir_watch_fd,
	.watch_ack = dir_watch_ack,
	.close = dir_close,
};
