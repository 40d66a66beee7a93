// SPDX-License-Identifier: MIT
/* The one reading of an LSA part's form (lsa_wire.h), for the gateway that
 * carries parts (dataplane/lsa.c) and the scale harness's simulated gateways
 * (perf/simgw.c), which must refuse exactly what the real one refuses. */
#include <endian.h>

#include "lsa_wire.h"

bool lsa_part_well_formed(const uint8_t *p, size_t len)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)p;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);
	uint16_t origin, prev = 0;

	if (len < sizeof(*h) || be32toh(h->magic) != LSA_MAGIC || h->version != LSA_VERSION ||
	    !h->nparts || h->nparts > LSA_PARTS_MAX || h->part >= h->nparts ||
	    h->nlinks > LSA_LINKS_MAX || len != sizeof(*h) + h->nlinks * sizeof(*l))
		return false;
	origin = be16toh(h->origin);
	if (!origin || origin > LSA_GATEWAY_ID_MAX || !h->lifetime_s ||
	    be16toh(h->lifetime_s) > LSA_LIFETIME_MAX_S)
		return false;
	for (unsigned i = 0; i < h->nlinks; i++) {
		uint16_t to = be16toh(l[i].to);

		if (!to || to > LSA_GATEWAY_ID_MAX || to == origin || to <= prev)
			return false;
		prev = to;
	}
	return true;
}
