// SPDX-License-Identifier: MIT
/*
 * fuzz_uapi: the UAPI text protocol (get=1 / set=1), as a client connection
 * writes it. The input is what the client sends.
 *
 * It runs twice, each time on a fresh device (fixture identity 2, with peer 1
 * configured: endpoint, allowed-ips) and a fresh connection:
 *   1. the input fed in one call;
 *   2. the input fed in chunks whose sizes come from a generator seeded with a
 *      hash of the input, the replies drained a random part at a time.
 * Both must give the same replies byte for byte and the same verdict (the
 * connection closed or not), and a "get" on a new connection afterwards must
 * show the same configuration: where TCP splits the requests must not matter.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "wg.h"

struct outbuf {
	char *p;
	size_t len, cap;
};

static void out_append(struct outbuf *o, const char *s, size_t n)
{
	if (!n)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		char *p;

		while (cap < o->len + n)
			cap *= 2;
		p = realloc(o->p, cap);
		FZ_CHECK(p != NULL);
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Move up to max bytes of pending replies from the connection to o. */
static void drain(struct wg_uapi *u, struct outbuf *o, size_t max)
{
	size_t n;
	const char *s = wg_uapi_output(u, &n);

	FZ_CHECK(n == 0 || s != NULL);
	if (n > max)
		n = max;
	FZ_CHECK(memchr(s ? s : "", '\0', n) == NULL);
	out_append(o, s, n);
	wg_uapi_consumed(u, n);
}

static uint64_t chunk_state;

static uint32_t chunk_rand(void)
{
	chunk_state = chunk_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(chunk_state >> 33);
}

static bool run(const uint8_t *data, size_t size, bool chunked, uint64_t seed, struct outbuf *o)
{
	static const char get[] = "get=1\n\n";
	struct fz_node n;
	struct wg_uapi *u;
	bool open = true;
	size_t pending;

	fz_reseed(1);
	fz_node_init(&n, 2);
	fz_node_add_peer(&n, 1, false);
	u = wg_uapi_new(n.dev);
	FZ_CHECK(u != NULL);
	if (!chunked) {
		open = wg_uapi_feed(u, (const char *)data, size, fz_now);
	} else {
		chunk_state = seed;
		for (size_t pos = 0; pos < size && open;) {
			uint32_t r = chunk_rand();
			size_t k = 1 + (r & 0x100 ? (r >> 9) % 512 : (r >> 9) % 16);

			if (k > size - pos)
				k = size - pos;
			open = wg_uapi_feed(u, (const char *)data + pos, k, fz_now);
			pos += k;
			wg_uapi_output(u, &pending);
			drain(u, o, chunk_rand() % (pending + 1));
		}
	}
	drain(u, o, SIZE_MAX);
	wg_uapi_output(u, &pending);
	FZ_CHECK(pending == 0);
	wg_uapi_free(u);

	/* The configuration the requests left behind, on a new connection. */
	out_append(o, open ? "\n--open--\n" : "\n--closed--\n", open ? 10 : 12);
	u = wg_uapi_new(n.dev);
	FZ_CHECK(u != NULL);
	FZ_CHECK(wg_uapi_feed(u, get, sizeof(get) - 1, fz_now));
	wg_uapi_output(u, &pending);
	FZ_CHECK(pending >= 9);
	FZ_CHECK(!memcmp(wg_uapi_output(u, &pending) + pending - 9, "errno=0\n\n", 9));
	drain(u, o, SIZE_MAX);
	wg_uapi_free(u);
	fz_node_free(&n);
	return open;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbuf whole = { 0 }, parts = { 0 };
	uint64_t seed = UINT64_C(14695981039346656037); /* FNV-1a */
	bool open_whole, open_parts;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * UINT64_C(1099511628211);
	fz_advance(FZ_MS);
	open_whole = run(data, size, false, seed, &whole);
	open_parts = run(data, size, true, seed, &parts);
	FZ_CHECK(open_whole == open_parts);
	FZ_CHECK(whole.len == parts.len && !memcmp(whole.p, parts.p, whole.len));
	free(whole.p);
	free(parts.p);
	return 0;
}
