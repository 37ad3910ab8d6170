#include <time.h>
#include <re.h>
#include "core/event.h"
#include "core/log.h"
#include "call/call.h"
#include "cdr/cdr.h"

struct cdr_writer {
	struct store *st;
	struct event_sub *sub;
	uint64_t written, failed;
};

static void destructor(void *arg)
{
	struct cdr_writer *cw = arg;

	mem_deref(cw->sub);
	mem_deref(cw->st);
}

static void event_handler(enum event_type type, const void *data, void *arg)
{
	struct cdr_writer *cw = arg;
	struct store_cdr rec;
	int err;

	if (type != EVENT_CALL_ENDED)
		return;
	rec = *call_record(data);
	err = store_cdr_insert(cw->st, &rec);
	if (err) {
		cw->failed++;
		log_msg(LOG_ERROR, rec.callid, "cdr: record not stored: %m",
			err);
		return;
	}
	cw->written++;
}

int cdr_writer_alloc(struct cdr_writer **cwp, struct store *st)
{
	struct cdr_writer *cw;
	int err;

	cw = mem_zalloc(sizeof(*cw), destructor);
	if (!cw)
		return ENOMEM;
	cw->st = mem_ref(st);
	err = event_subscribe(&cw->sub, event_handler, cw);
	if (err)
		mem_deref(cw);
	else
		*cwp = cw;
	return err;
}

void cdr_writer_counts(const struct cdr_writer *cw, uint64_t *written,
		       uint64_t *failed)
{
	*written = cw->written;
	*failed = cw->failed;
}

struct print_ctx {
	FILE *f;
	bool csv;
};

static void iso_time(char *buf, size_t sz, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		buf[0] = '\0';
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* CSV fields we write are ours or account names; quote them anyway so a
 * comma or quote in a reason phrase cannot shift the columns. */
static void csv_field(FILE *f, const char *s, bool last)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
	fputc(last ? '\n' : ',', f);
}

static int print_handler(const struct store_cdr *c, void *arg)
{
	struct print_ctx *pc = arg;
	char start[32], ring[32], answer[32], end[32];

	iso_time(start, sizeof(start), c->start_ms);
	iso_time(ring, sizeof(ring), c->ring_ms);
	iso_time(answer, sizeof(answer), c->answer_ms);
	iso_time(end, sizeof(end), c->end_ms);

	if (!pc->csv) {
		fprintf(pc->f, "%-6lld %-20s %-10s %-10s %-10s %-9s %3u %-6s "
			"%5us %5us %-5s %6llu/%-6llu lost %llu/%llu  %s\n",
			(long long)c->id, start, c->caller, c->dialled,
			c->callee, c->disposition, c->cause, c->hangup_by,
			c->duration_s, c->billable_s, c->codec,
			(unsigned long long)c->pkts_a2b,
			(unsigned long long)c->pkts_b2a,
			(unsigned long long)c->lost_a2b,
			(unsigned long long)c->lost_b2a, c->callid);
		return 0;
	}

	fprintf(pc->f, "%lld,", (long long)c->id);
	csv_field(pc->f, c->callid, false);
	csv_field(pc->f, c->caller, false);
	csv_field(pc->f, c->dialled, false);
	csv_field(pc->f, c->callee, false);
	fprintf(pc->f, "%s,%s,%s,%s,%u,%u,", start, ring, answer, end,
		c->duration_s, c->billable_s);
	csv_field(pc->f, c->disposition, false);
	fprintf(pc->f, "%u,", c->cause);
	csv_field(pc->f, c->reason, false);
	csv_field(pc->f, c->hangup_by, false);
	csv_field(pc->f, c->codec, false);
	fprintf(pc->f, "%llu,%llu,%llu,%llu,%llu,%llu\n",
		(unsigned long long)c->pkts_a2b,
		(unsigned long long)c->bytes_a2b,
		(unsigned long long)c->pkts_b2a,
		(unsigned long long)c->bytes_b2a,
		(unsigned long long)c->lost_a2b,
		(unsigned long long)c->lost_b2a);
	return 0;
}

int cdr_print(struct store *st, FILE *f, uint32_t limit, bool csv)
{
	struct print_ctx pc = {f, csv};

	if (csv)
		fprintf(f, "id,callid,caller,dialled,callee,start,ring,answer,"
			"end,duration_s,billable_s,disposition,cause,reason,"
			"hangup_by,codec,pkts_a2b,bytes_a2b,pkts_b2a,"
			"bytes_b2a,lost_a2b,lost_b2a\n");
	else
		fprintf(f, "%-6s %-20s %-10s %-10s %-10s %-9s %3s %-6s %6s "
			"%6s %-5s %-13s %s\n", "id", "start", "caller",
			"dialled", "callee", "result", "sip", "by", "dur",
			"bill", "codec", "pkts a>b/b>a", "call-id");
	return store_cdr_list(st, limit, print_handler, &pc);
}
