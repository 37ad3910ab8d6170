/*
 * kpi: figures from the queue log.  Short abandons (the caller hung up
 * within short_s) are not offered calls: the caller never gave the queue
 * a chance, and operators do not count them against the 接通率.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "store/store.h"
#include "kpi/kpi.h"

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

void kpi_query_init(struct kpi_query *q)
{
	memset(q, 0, sizeof(*q));
	q->queue = q->agent = q->hotline = "";
	q->to_ms = INT64_MAX;
	q->sl_s = 20;
	q->short_s = 5;
	q->sl_abandons = true;
	q->occupancy = true;
}

int kpi_compute(struct store *st, const struct kpi_query *q, struct kpi *k)
{
	struct store_kpi r;
	uint64_t sl_base;
	int err;

	err = store_kpi(st, q->queue ? q->queue : "", q->agent ? q->agent : "",
			q->hotline ? q->hotline : "", q->from_ms, q->to_ms,
			q->occupancy ? clock_wall_ms() : -1, q->sl_s,
			q->short_s, &r);
	if (err)
		return err;
	memset(k, 0, sizeof(*k));
	k->offered = r.offered - r.short_abandoned;
	k->answered = r.answered;
	k->abandoned = r.abandoned - r.short_abandoned;
	k->short_abandoned = r.short_abandoned;
	k->timeouts = r.timeouts;
	k->connect_rate = pct(r.answered, k->offered);
	sl_base = q->sl_abandons ? k->offered : k->offered - k->abandoned;
	k->service_level = pct(r.answered_in_sl, sl_base);
	k->asa_s = r.answered ? (double)r.wait_ms_sum / 1000.0 /
		(double)r.answered : 0.0;
	k->aht_s = r.completed ? (double)r.talk_ms_sum / 1000.0 /
		(double)r.completed : 0.0;
	k->longest_wait_s = (double)r.longest_wait_ms / 1000.0;
	k->occupancy = pct(r.busy_ms, r.staffed_ms);
	return 0;
}

int kpi_json(struct re_printf *pf, const struct kpi *k)
{
	/* libre's %f truncates; the C library rounds, as the CLI does, so
	 * the API and `laoyou kpi` print the same figures. */
	char f[6][32];

	snprintf(f[0], sizeof(f[0]), "%.2f", k->connect_rate);
	snprintf(f[1], sizeof(f[1]), "%.2f", k->service_level);
	snprintf(f[2], sizeof(f[2]), "%.1f", k->asa_s);
	snprintf(f[3], sizeof(f[3]), "%.1f", k->aht_s);
	snprintf(f[4], sizeof(f[4]), "%.1f", k->longest_wait_s);
	snprintf(f[5], sizeof(f[5]), "%.2f", k->occupancy);
	return re_hprintf(pf, "{\"offered\":%llu,\"answered\":%llu,"
			  "\"abandoned\":%llu,\"short_abandoned\":%llu,"
			  "\"timeouts\":%llu,\"connect_rate\":%s,"
			  "\"service_level\":%s,\"asa_s\":%s,"
			  "\"aht_s\":%s,\"longest_wait_s\":%s,"
			  "\"occupancy\":%s}",
			  (unsigned long long)k->offered,
			  (unsigned long long)k->answered,
			  (unsigned long long)k->abandoned,
			  (unsigned long long)k->short_abandoned,
			  (unsigned long long)k->timeouts, f[0], f[1], f[2],
			  f[3], f[4], f[5]);
}
