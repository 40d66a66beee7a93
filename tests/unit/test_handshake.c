// SPDX-License-Identifier: MIT
/*
 * Handshakes: two of our devices against each other (with and without PSK, and
 * with PSKs that differ), a known answer with the PSK derived outside tunnels/,
 * and our responder against initiations captured from wireguard-go.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wg.h"

static void exchange_data(struct node *a, struct node *b)
{
	uint8_t buf[2048];
	uint32_t len;

	assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 100, buf, &len), WG_OK);
	/* 20 + 100 = 120 bytes padded to 128, plus header and tag. */
	assert_int_equal(len, WG_DATA_HEADER_LEN + 128 + WG_TAG_LEN);
	assert_int_equal(recv_data(b, buf, len, &a->addr), WG_OK);
	assert_int_equal(send_data(b, peer_of(b, a), "10.2.0.2", "10.1.0.2", 1000, buf, &len), WG_OK);
	assert_int_equal(recv_data(a, buf, len, &b->addr), WG_OK);
}

static void test_handshake_no_psk(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	(void)state;
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	handshake(a, b);
	exchange_data(a, b);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

static void test_handshake_psk(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t psk[WG_KEY_LEN];

	(void)state;
	memset(psk, 0x42, sizeof(psk));
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", psk);
	handshake(a, b);
	exchange_data(a, b);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

static void test_handshake_psk_mismatch(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t psk[WG_KEY_LEN];
	struct wg_peer_stats st;

	(void)state;
	memset(psk, 0x42, sizeof(psk));
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	wg_peer_set_preshared_key(peer_of(b, a), psk);
	wg_peer_initiate(peer_of(a, b), test_now);
	deliver(a, b); /* the initiation does not depend on the PSK */
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	assert_int_equal(wg_device_handshake_rx(a->dev, b->sent[0].data, b->sent[0].len, &b->addr, 0,
						test_now),
			 WG_DROP_HANDSHAKE);
	wg_peer_stats(peer_of(a, b), &st);
	assert_false(st.has_session);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

/* Both sides hold a PSK, but not the same one: the initiator refuses the
 * response (its encrypted empty payload is keyed with the PSK), so neither side
 * gets a session, and no data flows either way. With the PSK ignored, or mixed
 * in on one side only, this handshake would succeed; with it mixed in on both
 * sides, test_handshake_psk shows the same PSK does. a (the initiator) holds
 * psk_a, b psk_b; NULL: no PSK. */
static void psk_mismatch(const uint8_t *psk_a, const uint8_t *psk_b)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct wg_peer_stats sa, sb;
	uint8_t buf[2048];
	uint32_t len;

	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	if (psk_a)
		wg_peer_set_preshared_key(peer_of(a, b), psk_a);
	if (psk_b)
		wg_peer_set_preshared_key(peer_of(b, a), psk_b);
	wg_peer_initiate(peer_of(a, b), test_now);
	assert_int_equal(deliver(a, b), 1);
	assert_int_equal(count_type(b, WG_MSG_RESPONSE), 1);
	assert_int_equal(wg_device_handshake_rx(a->dev, b->sent[0].data, b->sent[0].len, &b->addr, 0,
						test_now),
			 WG_DROP_HANDSHAKE);
	wg_peer_stats(peer_of(a, b), &sa);
	wg_peer_stats(peer_of(b, a), &sb);
	assert_false(sa.has_session);
	assert_int_equal(sa.handshakes_completed, 0);
	/* b answered but was never confirmed: nothing to send with either. */
	assert_false(sb.has_session);
	assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 100, buf, &len),
			 WG_DROP_NO_SESSION);
	assert_int_equal(send_data(b, peer_of(b, a), "10.2.0.2", "10.1.0.2", 100, buf, &len),
			 WG_DROP_NO_SESSION);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

static void test_handshake_psk_different(void **state)
{
	uint8_t psk_a[WG_KEY_LEN], psk_b[WG_KEY_LEN];

	(void)state;
	memset(psk_a, 0x42, sizeof(psk_a));
	memcpy(psk_b, psk_a, sizeof(psk_b));
	psk_b[WG_KEY_LEN - 1] ^= 1; /* one bit apart */
	psk_mismatch(psk_a, psk_b);
}

static void test_handshake_psk_initiator_only(void **state)
{
	uint8_t psk[WG_KEY_LEN];

	(void)state;
	memset(psk, 0x42, sizeof(psk));
	psk_mismatch(psk, NULL);
}

/* ---- a known answer with the PSK ----
 *
 * The ephemerals and indices come from wg_random, which this test's link wraps
 * (tests/meson.build: -Wl,--wrap=wg_random): while a script is loaded its bytes
 * are served in order, otherwise the real generator runs. With the fixture keys
 * (p1 initiates, p2 responds), the fixture PSK, the script and a fixed wall
 * clock, the three messages below are what the whitepaper gives, as derived
 * by an implementation that shares nothing with tunnels/: Python's hashlib
 * and the cryptography package (tests/lib/wgcraft.py vector, whose constants
 * are the script). The response's encrypted empty payload and the keepalive
 * are keyed through the PSK: ignore it, or mix it in anywhere else, and they
 * differ. */
void __real_wg_random(void *buf, size_t len);
void __wrap_wg_random(void *buf, size_t len);

static const uint8_t *script;
static size_t script_left;

void __wrap_wg_random(void *buf, size_t len)
{
	if (!script_left) {
		__real_wg_random(buf, len);
		return;
	}
	assert_true(len <= script_left);
	memcpy(buf, script, len);
	script += len;
	script_left -= len;
}

static void script_load(const uint8_t *bytes, size_t len)
{
	script = bytes;
	script_left = len;
}

/* tests/lib/wgcraft.py vector tests/fixtures/wireguard-go/{p1.key,p2.key,psk} */
static const uint8_t kat_initiation[148] = {
	0x01, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x07, 0xa3, 0x7c, 0xbc,
	0x14, 0x20, 0x93, 0xc8, 0xb7, 0x55, 0xdc, 0x1b, 0x10, 0xe8, 0x6c, 0xb4,
	0x26, 0x37, 0x4a, 0xd1, 0x6a, 0xa8, 0x53, 0xed, 0x0b, 0xdf, 0xc0, 0xb2,
	0xb8, 0x6d, 0x1c, 0x7c, 0xde, 0x6b, 0x1f, 0x76, 0x06, 0x46, 0x0a, 0x63,
	0xa6, 0x19, 0xa2, 0x9d, 0x7f, 0xa6, 0x09, 0x02, 0xd5, 0x16, 0x2f, 0x0a,
	0x71, 0xf3, 0xe7, 0xdf, 0x0a, 0x05, 0xbe, 0x2f, 0xcb, 0xa7, 0x52, 0x0f,
	0x0f, 0xd1, 0xdd, 0x37, 0xc1, 0xa6, 0x8a, 0xbf, 0x2d, 0xe2, 0x18, 0xd6,
	0x52, 0x43, 0x7d, 0xa5, 0xdb, 0x34, 0xfb, 0xbf, 0xf0, 0x92, 0xa5, 0x10,
	0x84, 0x30, 0xb8, 0x79, 0x0f, 0xeb, 0x2a, 0xca, 0x1d, 0x07, 0x36, 0x0f,
	0x76, 0x42, 0x83, 0xd3, 0x2e, 0xc9, 0xfa, 0x57, 0x2c, 0xfd, 0xfd, 0x86,
	0xe2, 0x1a, 0x8f, 0x5e, 0x4a, 0x63, 0xba, 0x78, 0xf9, 0xc3, 0x26, 0xa2,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kat_response[92] = {
	0x02, 0x00, 0x00, 0x00, 0x55, 0x66, 0x77, 0x88, 0x11, 0x22, 0x33, 0x44,
	0x57, 0x14, 0x76, 0x9d, 0x11, 0x6b, 0xf7, 0x64, 0x36, 0xae, 0x74, 0xbc,
	0x79, 0x3d, 0x2c, 0x30, 0xad, 0x19, 0x03, 0xc5, 0x9a, 0xc5, 0x27, 0x38,
	0x05, 0xc7, 0xe2, 0x69, 0x8b, 0x41, 0x0c, 0x36, 0x00, 0xff, 0xa3, 0xbb,
	0xf9, 0x10, 0x4b, 0xae, 0x31, 0x6f, 0xa9, 0x40, 0xa3, 0x0b, 0x00, 0x86,
	0x39, 0xe9, 0x1c, 0x2c, 0x9d, 0x8b, 0xdc, 0xc7, 0x97, 0x9d, 0x87, 0x95,
	0x8d, 0x35, 0x78, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kat_keepalive[32] = {
	0x04, 0x00, 0x00, 0x00, 0x55, 0x66, 0x77, 0x88, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xbf, 0x84, 0x79, 0x19, 0x02, 0x3e, 0x46, 0xb4,
	0x2c, 0xe9, 0x48, 0xf1, 0x28, 0x17, 0xf6, 0x2e,
};

static void kat_node(struct node *n, const char *ip, const char *key_file)
{
	node_init(n, ip, 51820);
	assert_true(read_key_file(key_file, n->priv));
	wg_device_set_private_key(n->dev, n->priv, test_now);
	assert_true(wg_device_public_key(n->dev, n->pub));
}

static void test_known_answer_psk(void **state)
{
	/* The order tunnels/ asks for them: ephemeral, then index. */
	static const uint8_t script_i[36] = {
		1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
		17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
		0x11, 0x22, 0x33, 0x44,
	};
	static const uint8_t script_r[36] = {
		101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116,
		117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132,
		0x55, 0x66, 0x77, 0x88,
	};
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint64_t saved_now = test_now, saved_wall = test_wall_ns;
	uint8_t psk[WG_KEY_LEN];
	unsigned i;

	(void)state;
	/* The wall clock the vector was made for: 1700000000.123456789. */
	test_now = 0;
	test_wall_ns = 1700000000ULL * NS + 123456789ULL;
	kat_node(a, "192.0.2.1", FIXTURES_DIR "/p1.key");
	kat_node(b, "192.0.2.2", FIXTURES_DIR "/p2.key");
	assert_true(read_key_file(FIXTURES_DIR "/psk", psk));
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", psk);

	script_load(script_i, sizeof(script_i));
	wg_peer_initiate(peer_of(a, b), test_now);
	assert_int_equal(script_left, 0);
	assert_int_equal(a->nsent, 1);
	assert_int_equal(a->sent[0].len, sizeof(kat_initiation));
	assert_memory_equal(a->sent[0].data, kat_initiation, sizeof(kat_initiation));

	script_load(script_r, sizeof(script_r));
	assert_int_equal(deliver(a, b), 1);
	assert_int_equal(script_left, 0);
	assert_int_equal(b->nsent, 1);
	assert_int_equal(b->sent[0].len, sizeof(kat_response));
	assert_memory_equal(b->sent[0].data, kat_response, sizeof(kat_response));

	/* a takes the response and confirms the session with a keepalive. */
	assert_int_equal(deliver(b, a), 1);
	for (i = 0; i < a->nsent && a->sent[i].data[0] != WG_MSG_DATA; i++)
		;
	assert_true(i < a->nsent);
	assert_int_equal(a->sent[i].len, sizeof(kat_keepalive));
	assert_memory_equal(a->sent[i].data, kat_keepalive, sizeof(kat_keepalive));

	node_free(a);
	node_free(b);
	free(a);
	free(b);
	test_now = saved_now;
	test_wall_ns = saved_wall;
}

/* A second handshake while the first session is in use: both ends move to the
 * new session and the old one still decrypts what was in flight. */
static void test_rehandshake_keeps_previous(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t old[2048];
	uint32_t oldlen;

	(void)state;
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	handshake(a, b);
	assert_int_equal(send_data(a, peer_of(a, b), "10.1.0.2", "10.2.0.2", 10, old, &oldlen), WG_OK);
	test_now += 6 * NS;
	handshake(a, b);
	assert_int_equal(recv_data(b, old, oldlen, &a->addr), WG_OK);
	exchange_data(a, b);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

/* Both ends initiate at once: each ends with a working session. */
static void test_simultaneous_initiation(void **state)
{
	struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	(void)state;
	node_init(a, "192.0.2.1", 51820);
	node_init(b, "192.0.2.2", 51820);
	node_pair(a, b, "10.1.0.0/24", "10.2.0.0/24", NULL);
	struct wg_peer_stats sa, sb;

	wg_peer_initiate(peer_of(a, b), test_now);
	wg_peer_initiate(peer_of(b, a), test_now);
	/* The initiations cross and each side answers the other's, leaving both
	 * waiting for a confirmation nobody sends; the jittered retransmission
	 * breaks the tie. */
	for (int step = 0; step < 2000; step++) {
		deliver(a, b);
		deliver(b, a);
		wg_device_tick(a->dev, test_now);
		wg_device_tick(b->dev, test_now);
		wg_peer_stats(peer_of(a, b), &sa);
		wg_peer_stats(peer_of(b, a), &sb);
		if (sa.has_session && sb.has_session)
			break;
		test_now += NS / 100;
	}
	assert_true(sa.has_session && sb.has_session);
	exchange_data(a, b);
	node_free(a);
	node_free(b);
	free(a);
	free(b);
}

/* ---- known answers from wireguard-go ---- */

struct capture {
	unsigned count;
	struct {
		uint8_t data[256];
		size_t len;
		struct wg_endpoint src;
	} msg[16];
};

static void load_capture(const char *name, struct capture *c)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *p;
	pcap_t *pc;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
	pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	memset(c, 0, sizeof(*c));
	while (pcap_next_ex(pc, &h, &p) == 1 && c->count < 16) {
		/* Ethernet, IPv4 without options, UDP: the captures are exactly that. */
		assert_true(h->caplen > 14 + 20 + 8);
		assert_int_equal(p[12] << 8 | p[13], 0x0800);
		assert_int_equal(p[14] & 0x0f, 5);
		c->msg[c->count].len = h->caplen - 42;
		assert_true(c->msg[c->count].len <= sizeof(c->msg[0].data));
		memcpy(c->msg[c->count].data, p + 42, c->msg[c->count].len);
		c->msg[c->count].src.family = AF_INET;
		memcpy(&c->msg[c->count].src.addr.v4, p + 26, 4);
		c->msg[c->count].src.port = (uint16_t)(p[34] << 8 | p[35]);
		c->count++;
	}
	pcap_close(pc);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static struct node *fixture_responder(const char *psk_file)
{
	struct node *n = malloc(sizeof(*n));
	uint8_t p1pub[WG_KEY_LEN], p2[WG_KEY_LEN], psk[WG_KEY_LEN];
	struct wg_peer *peer;

	node_init(n, "10.90.0.2", 51820);
	assert_true(read_key_file(FIXTURES_DIR "/p2.key", p2));
	assert_true(read_key_file(FIXTURES_DIR "/p1.pub", p1pub));
	wg_device_set_private_key(n->dev, p2, test_now);
	peer = wg_peer_add(n->dev, p1pub);
	assert_non_null(peer);
	if (psk_file) {
		assert_true(read_key_file(psk_file, psk));
		wg_peer_set_preshared_key(peer, psk);
	}
	return n;
}

static void check_pairing(const struct capture *c)
{
	/* initiation, response, then data: indices pair up across messages. */
	assert_true(c->count >= 3);
	assert_int_equal(c->msg[0].len, WG_INITIATION_LEN);
	assert_int_equal(c->msg[0].data[0], WG_MSG_INITIATION);
	assert_int_equal(c->msg[1].len, WG_RESPONSE_LEN);
	assert_int_equal(c->msg[1].data[0], WG_MSG_RESPONSE);
	assert_int_equal(le32_at(c->msg[1].data + 8), le32_at(c->msg[0].data + 4));
	for (unsigned i = 2; i < c->count; i++) {
		uint32_t receiver = le32_at(c->msg[i].data + 4);

		assert_int_equal(c->msg[i].data[0], WG_MSG_DATA);
		assert_true(c->msg[i].len >= WG_DATA_MIN_LEN && c->msg[i].len % 16 == 0);
		/* from the initiator: the responder's index; back: the initiator's */
		assert_int_equal(receiver, c->msg[i].src.addr.v4.s_addr == c->msg[0].src.addr.v4.s_addr
					       ? le32_at(c->msg[1].data + 4)
					       : le32_at(c->msg[0].data + 4));
	}
}

static void consume_captured_initiation(const char *pcap, const char *psk_file)
{
	struct capture c;
	struct node *n = fixture_responder(psk_file);
	uint8_t p1pub[WG_KEY_LEN];
	struct wg_endpoint ep;
	struct wg_peer *peer;

	assert_true(read_key_file(FIXTURES_DIR "/p1.pub", p1pub));
	load_capture(pcap, &c);
	check_pairing(&c);
	peer = wg_peer_lookup(n->dev, p1pub);
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[0].data, c.msg[0].len, &c.msg[0].src,
						0, test_now),
			 WG_OK);
	/* We answered, to where it came from, and learned the endpoint. */
	assert_int_equal(count_type(n, WG_MSG_RESPONSE), 1);
	wg_peer_endpoint(peer, &ep);
	assert_true(wg_endpoint_equal(&ep, &c.msg[0].src));
	/* The timestamp decoded as TAI64N near the capture's time (2020s). */
	uint64_t tai;

	memcpy(&tai, peer->handshake.latest_timestamp, sizeof(tai));
	tai = be64toh(tai);
	assert_true(tai > 0x400000000000000aULL + 1577836800ULL);
	assert_true(tai < 0x400000000000000aULL + 2524608000ULL);
	/* The same initiation again is a replay. */
	test_now += NS;
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[0].data, c.msg[0].len, &c.msg[0].src,
						0, test_now),
			 WG_DROP_REPLAYED_INITIATION);
	/* One flipped bit in the encrypted static key: mac1 catches it first. */
	c.msg[0].data[40] ^= 1;
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[0].data, c.msg[0].len, &c.msg[0].src,
						0, test_now),
			 WG_DROP_MAC1);
	node_free(n);
	free(n);
}

static void test_fixture_initiation_nopsk(void **state)
{
	(void)state;
	consume_captured_initiation("handshake-nopsk.pcap", NULL);
}

static void test_fixture_initiation_psk(void **state)
{
	(void)state;
	consume_captured_initiation("handshake-psk.pcap", FIXTURES_DIR "/psk");
}

/* The responses carry mac1 keyed with the initiator's public key: our device as
 * p1 accepts mac1 and then fails only because it never sent that initiation. */
static void test_fixture_response_mac1(void **state)
{
	struct node *n = malloc(sizeof(*n));
	uint8_t p1[WG_KEY_LEN], p2pub[WG_KEY_LEN];
	struct capture c;

	(void)state;
	node_init(n, "10.90.0.1", 51820);
	assert_true(read_key_file(FIXTURES_DIR "/p1.key", p1));
	assert_true(read_key_file(FIXTURES_DIR "/p2.pub", p2pub));
	wg_device_set_private_key(n->dev, p1, test_now);
	assert_non_null(wg_peer_add(n->dev, p2pub));
	load_capture("handshake-nopsk.pcap", &c);
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[1].data, c.msg[1].len, &c.msg[1].src,
						0, test_now),
			 WG_DROP_HANDSHAKE);
	c.msg[1].data[WG_RESPONSE_LEN - 32] ^= 0x80;
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[1].data, c.msg[1].len, &c.msg[1].src,
						0, test_now),
			 WG_DROP_MAC1);
	/* Data for an index we never issued. */
	assert_int_equal(recv_data(n, c.msg[2].data, (uint32_t)c.msg[2].len, &c.msg[2].src),
			 WG_DROP_UNKNOWN_INDEX);
	node_free(n);
	free(n);
}

/* wireguard-go under load: initiation -> cookie reply -> retry with mac2. */
static void test_fixture_cookie_mac2(void **state)
{
	uint8_t p2pub[WG_KEY_LEN], key[WG_KEY_LEN], cookie[WG_MAC_LEN], mac2[WG_MAC_LEN];
	const struct wg_msg_initiation *first, *retry;
	const struct wg_msg_cookie *reply;
	struct capture c;

	(void)state;
	assert_true(read_key_file(FIXTURES_DIR "/p2.pub", p2pub));
	load_capture("handshake-cookie.pcap", &c);
	assert_true(c.count >= 5);
	first = (const void *)c.msg[0].data;
	reply = (const void *)c.msg[1].data;
	retry = (const void *)c.msg[2].data;
	assert_int_equal(c.msg[1].len, WG_COOKIE_LEN);
	assert_int_equal(reply->type, WG_MSG_COOKIE);
	assert_int_equal(reply->receiver, first->sender);
	assert_true(wg_is_zero(first->macs.mac2, WG_MAC_LEN));
	assert_false(wg_is_zero(retry->macs.mac2, WG_MAC_LEN));

	wg_hash(key, "cookie--", 8, p2pub, WG_KEY_LEN);
	assert_true(wg_xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
				  first->macs.mac1, WG_MAC_LEN, reply->nonce, key));
	wg_mac(mac2, cookie, WG_MAC_LEN, retry, WG_INITIATION_LEN - WG_MAC_LEN, NULL, 0);
	assert_memory_equal(mac2, retry->macs.mac2, WG_MAC_LEN);
	/* With the wrong AAD (the retry's mac1) the cookie does not decrypt. */
	assert_false(wg_xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
				   retry->macs.mac1, WG_MAC_LEN, reply->nonce, key));
	/* A wrong cookie gives a different mac2. */
	cookie[0] ^= 1;
	wg_mac(mac2, cookie, WG_MAC_LEN, retry, WG_INITIATION_LEN - WG_MAC_LEN, NULL, 0);
	assert_memory_not_equal(mac2, retry->macs.mac2, WG_MAC_LEN);

	/* And our responder accepts the retry's mac1 like any initiation. */
	struct node *n = fixture_responder(NULL);
	assert_int_equal(wg_device_handshake_rx(n->dev, c.msg[2].data, c.msg[2].len, &c.msg[2].src,
						0, test_now),
			 WG_OK);
	node_free(n);
	free(n);
}

/* Every message type only at its exact length. */
static void test_lengths(void **state)
{
	struct node *n = fixture_responder(NULL);
	uint8_t buf[256] = { 0 };
	struct wg_endpoint from = n->addr;

	(void)state;
	for (uint8_t type = 0; type < 8; type++) {
		buf[0] = type;
		for (size_t len = 0; len < sizeof(buf); len++) {
			enum wg_drop r = wg_device_handshake_rx(n->dev, buf, len, &from, 0, test_now);

			if ((type == 1 && len == WG_INITIATION_LEN) || (type == 2 && len == WG_RESPONSE_LEN))
				assert_int_equal(r, WG_DROP_MAC1);
			else if (type == 3 && len == WG_COOKIE_LEN)
				assert_int_equal(r, WG_DROP_UNKNOWN_INDEX);
			else
				assert_int_equal(r, WG_DROP_MALFORMED);
		}
	}
	for (uint32_t len = 0; len < WG_DATA_MIN_LEN; len++) {
		buf[0] = WG_MSG_DATA;
		assert_int_equal(recv_data(n, buf, len, &from), WG_DROP_MALFORMED);
	}
	node_free(n);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_no_psk),
		cmocka_unit_test(test_handshake_psk),
		cmocka_unit_test(test_handshake_psk_mismatch),
		cmocka_unit_test(test_handshake_psk_different),
		cmocka_unit_test(test_handshake_psk_initiator_only),
		cmocka_unit_test(test_known_answer_psk),
		cmocka_unit_test(test_rehandshake_keeps_previous),
		cmocka_unit_test(test_simultaneous_initiation),
		cmocka_unit_test(test_fixture_initiation_nopsk),
		cmocka_unit_test(test_fixture_initiation_psk),
		cmocka_unit_test(test_fixture_response_mac1),
		cmocka_unit_test(test_fixture_cookie_mac2),
		cmocka_unit_test(test_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
