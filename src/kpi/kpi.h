/* kpi: the hotline figures an operator reports — offered, answered,
 * abandoned, 接通率, service level, ASA, AHT, longest wait, occupancy —
 * computed from the durable queue and agent logs, so the CLI, the API and
 * the wallboard never disagree. */
#ifndef LAOYOU_KPI_H
#define LAOYOU_KPI_H
#include <stdint.h>
#include <stdbool.h>

struct store;
struct re_printf;

/** What to count: each name empty for all; [from_ms, to_ms) wall time. */
struct kpi_query {
	const char *queue, *agent, *hotline;
	int64_t from_ms, to_ms;
	uint32_t sl_s;             /* service-level threshold */
	uint32_t short_s;          /* hang-ups sooner are not offered */
	bool sl_abandons;          /* abandons count against the level */
	bool occupancy;            /* compute it (it reads the agent log) */
};

/** The figures; rates are percentages, times seconds. */
struct kpi {
	uint64_t offered, answered, abandoned, short_abandoned, timeouts;
	double connect_rate, service_level, asa_s, aht_s, longest_wait_s;
	double occupancy;
};

/** Default query: everything, ever, 20 s service level, 5 s short. */
void kpi_query_init(struct kpi_query *q);
/** Compute the figures of q from the store. */
int  kpi_compute(struct store *st, const struct kpi_query *q, struct kpi *k);
/** Print k as a JSON object. */
int  kpi_json(struct re_printf *pf, const struct kpi *k);

#endif
