// SPDX-License-Identifier: MIT
/*
 * The protocol's timers (whitepaper 6), as deadlines on the control thread.
 *
 * Events from the data threads arrive as activity timestamps that
 * wg_device_tick() turns into the calls below; events of the control thread
 * (handshakes, keepalives) call them directly. A deadline of 0 is unarmed.
 *
 *   retransmit_handshake  no response to our initiation: send it again, up to
 *                         REKEY_ATTEMPT_TIME, then give up and drop what waits
 *   send_keepalive        we received data and sent nothing back for 10 s
 *   new_handshake         we sent data and heard nothing back for 15 s
 *   zero_key_material     no new session for 3 x REJECT_AFTER_TIME: erase keys
 *   persistent_keepalive  the operator's interval since the last packet
 *
 * Initiations are rate-limited: none for REKEY_TIMEOUT plus jitter after any
 * handshake message we sent.
 */
#include <string.h>

#include "wg.h"

static uint64_t rekey_jitter(void)
{
	return wg_random_below((uint32_t)WG_REKEY_TIMEOUT_JITTER_MAX_NS);
}

/*
 * The kernel waits exactly REKEY_TIMEOUT here and puts its jitter on the
 * retransmission only. But two peers that initiate at the same moment answer
 * each other at the same moment, each drops the answer to its own initiation,
 * and traffic then asks both for a new one the instant the limit ends: with
 * an exact limit they leave together again, and again, for as long as traffic
 * flows. A jitter drawn for each message sent puts them apart. One draw per
 * handshake message, never per packet: staging only compares.
 */
void wg_timers_handshake_sent(struct wg_peer *peer, uint64_t now)
{
	peer->last_sent_handshake = now;
	peer->handshake_wait = WG_REKEY_TIMEOUT * NS_PER_S + rekey_jitter();
}

bool wg_timers_handshake_held_off(const struct wg_peer *peer, uint64_t now)
{
	return peer->last_sent_handshake && now - peer->last_sent_handshake < peer->handshake_wait;
}

static uint64_t held_off_until(const struct wg_peer *peer)
{
	return peer->last_sent_handshake + peer->handshake_wait;
}

void wg_timers_data_sent(struct wg_peer *peer, uint64_t now)
{
	if (!peer->timers.new_handshake)
		peer->timers.new_handshake =
			now + (WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT) * NS_PER_S + rekey_jitter();
}

void wg_timers_data_received(struct wg_peer *peer, uint64_t now)
{
	if (!peer->timers.send_keepalive)
		peer->timers.send_keepalive = now + WG_KEEPALIVE_TIMEOUT * NS_PER_S;
	else
		peer->timers.need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	peer->timers.send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	peer->timers.new_handshake = 0;
}

void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive)
		peer->timers.persistent_keepalive = now + peer->persistent_keepalive * NS_PER_S;
}

/* REKEY_TIMEOUT plus jitter, as the kernel's: the initiation's own, so the
 * retransmission comes exactly when the rate limit lets it. */
void wg_timers_handshake_initiated(struct wg_peer *peer)
{
	peer->timers.retransmit_handshake = held_off_until(peer);
}

/*
 * Our initiation and the peer's crossed: each side answered the other's and
 * will drop the answer to its own (one handshake state per peer, as in the
 * kernel), so neither gets a session and both try again when the limit ends.
 * The jitter alone makes them cross again whenever their retries fall within
 * one underlay delay of each other (about one time in five at 35 ms), and
 * a VM pair that starts talking both ways at once waited 15 s and more on the
 * rig. So the side with the greater public key (both sides agree on it)
 * lets the other go first: its limit ends WG_CROSSED_YIELD_NS later, past the
 * other's retry and its answer on any underlay with a one-way delay under
 * about 600 ms. Only our own initiations wait longer; a standard peer on the
 * other side sees a slower peer, nothing else.
 */
void wg_timers_handshake_crossed(struct wg_peer *peer)
{
	if (memcmp(peer->dev->static_public, peer->public_key, WG_KEY_LEN) > 0) {
		peer->handshake_wait += WG_CROSSED_YIELD_NS;
		if (peer->timers.retransmit_handshake)
			peer->timers.retransmit_handshake = held_off_until(peer);
	}
}

void wg_timers_handshake_complete(struct wg_peer *peer)
{
	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	atomic_store(&peer->last_handshake_wall_ns, wg_wall_ns(peer->dev));
}

void wg_timers_session_derived(struct wg_peer *peer, uint64_t now)
{
	peer->timers.zero_key_material = now + 3ULL * WG_REJECT_AFTER_TIME * NS_PER_S;
}

void wg_timers_stop(struct wg_peer *peer)
{
	struct wg_timers *t = &peer->timers;

	t->retransmit_handshake = t->send_keepalive = t->new_handshake = 0;
	t->zero_key_material = t->persistent_keepalive = 0;
}

static bool expired(uint64_t *deadline, uint64_t now)
{
	if (!*deadline || *deadline > now)
		return false;
	*deadline = 0;
	return true;
}

static void retransmit_handshake(struct wg_peer *peer, uint64_t now)
{
	struct wg_timers *t = &peer->timers;

	if (t->handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
		wg_log(peer->dev, 1, "peer %u: handshake did not complete after %u attempts, giving up",
		       (unsigned)peer->user, t->handshake_attempts + 1);
		t->send_keepalive = 0;
		wg_purge_staged(peer);
		if (!t->zero_key_material)
			t->zero_key_material = now + 3ULL * WG_REJECT_AFTER_TIME * NS_PER_S;
		return;
	}
	/* A response sent since moved the limit. The kernel drops this retry
	 * and waits for traffic; we retry when the limit ends. */
	if (wg_timers_handshake_held_off(peer, now)) {
		t->retransmit_handshake = held_off_until(peer);
		return;
	}
	t->handshake_attempts++;
	wg_send_initiation(peer, true, now);
}

void wg_timers_tick(struct wg_peer *peer, uint64_t now)
{
	struct wg_timers *t = &peer->timers;

	if (expired(&t->retransmit_handshake, now))
		retransmit_handshake(peer, now);
	if (expired(&t->send_keepalive, now)) {
		wg_send_keepalive(peer, now);
		if (t->need_another_keepalive) {
			t->need_another_keepalive = false;
			t->send_keepalive = now + WG_KEEPALIVE_TIMEOUT * NS_PER_S;
		}
	}
	if (expired(&t->new_handshake, now))
		wg_send_initiation(peer, false, now);
	if (expired(&t->zero_key_material, now)) {
		wg_noise_handshake_clear(peer);
		wg_noise_keypairs_clear(peer);
	}
	if (expired(&t->persistent_keepalive, now) && peer->persistent_keepalive)
		wg_send_keepalive(peer, now);
}
