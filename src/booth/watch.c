/*
 * watch: 守望相助.  An alert is a row first; then the district's volunteers
 * and community office get an SMS with the link to their page, and the
 * booth's screen and operations hear of every change as "watch" news.
 * Taking an alert is one conditional UPDATE, so of two volunteers pressing
 * Accept at once exactly one wins.  One timer, armed for the oldest open
 * alert, escalates those nobody took within watch_escalate_s: an SMS to
 * the district office's escalation contact and to the 12345 operations
 * (offices of district "*"), and news for operations.  Timing follows the
 * wall clock kept in the rows, so a restart neither forgets nor re-sends.
 */
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <re.h>
#include "core/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/notify.h"
#include "site/json.h"
#include "booth/booth.h"
#include "sms/sms.h"
#include "booth/watch.h"

enum {
	DUP_WINDOW_MS = 10 * 60 * 1000,  /* a second press is the same call */
	RATE_WINDOW_MS = 60 * 60 * 1000,
	RATE_MAX = 10,                   /* alerts per booth per hour */
	NOTE_SMS_CHARS = 60,
	OVERDUE_BATCH = 32,
	RECHECK_MS = 60000,
};

struct watch {
	struct conf cf;
	struct store *st;
	struct booths *b;
	struct sms *sms;
	struct tmr tmr;            /* the next escalation due */
	bool retry;                /* an overdue alert is being retried */
};

static const struct {
	const char *id, *zh;
} categories[] = {
	{"fall", "有人跌倒"},
	{"lost", "有人走失迷路"},
	{"suspicious", "可疑情况"},
	{"fire-smoke", "烟雾或火情"},
	{"quarrel", "争执纠纷"},
	{"other", "其他求助"},
};

static void schedule(struct watch *w);

static void destructor(void *arg)
{
	struct watch *w = arg;

	tmr_cancel(&w->tmr);
	mem_deref(w->sms);
	mem_deref(w->b);
	mem_deref(w->st);
}

bool watch_category_ok(const char *category)
{
	for (size_t i = 0; category && i < ARRAY_SIZE(categories); i++)
		if (!strcmp(category, categories[i].id))
			return true;
	return false;
}

const char *watch_category_zh(const char *category)
{
	for (size_t i = 0; category && i < ARRAY_SIZE(categories); i++)
		if (!strcmp(category, categories[i].id))
			return categories[i].zh;
	return "求助";
}

/* The first max characters of UTF-8 s (whole characters only). */
static void cut(const char *s, size_t max, char *out, size_t sz)
{
	size_t i = 0, chars = 0;

	while (s[i] && chars < max) {
		size_t n = 1;
		while ((s[i + n] & 0xc0) == 0x80)
			n++;
		if (i + n >= sz)
			break;
		i += n;
		chars++;
	}
	memcpy(out, s, i);
	out[i] = '\0';
	if (s[i] && i + 3 < sz)
		strcat(out, "…");
}


void watch_link(const struct watch *w, const char *token, char *buf,
		size_t sz)
{
	char base[300];

	conf_public_url(&w->cf, base, sizeof(base));
	re_snprintf(buf, sz, "%s/watch.html?v=%s", base, token);
}

/* Tell the booth's screen and operations where alert id stands. */
static void news(struct watch *w, int64_t id)
{
	struct store_watch a;

	if (store_watch_get(w->st, id, &a))
		return;
	booths_notify(w->b, a.booth, "watch", true, "{\"id\":%lld,\"booth\":"
		      "\"%H\",\"district\":\"%H\",\"category\":\"%s\","
		      "\"state\":\"%s\",\"volunteer\":\"%H\",\"notified\":%u,"
		      "\"created_ms\":%lld,\"accepted_ms\":%lld,"
		      "\"escalated_ms\":%lld,\"closed_ms\":%lld}",
		      (long long)a.id, store_json_esc, a.booth, store_json_esc,
		      a.district, a.category, a.state, store_json_esc,
		      a.accepted_name, a.notified, (long long)a.created_ms,
		      (long long)a.accepted_ms, (long long)a.escalated_ms,
		      (long long)a.closed_ms);
}

static void logline(struct watch *w, int64_t id, const char *what,
		    const char *who, const char *fmt, ...)
{
	char detail[300];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (store_watch_log(w->st, id, clock_wall_ms(), what, who, detail))
		log_error("watch: alert %lld: %s not logged", (long long)id,
			  what);
}

/* ---------- alerting ---------- */

struct alert_arg {
	struct watch *w;
	const struct store_watch *a;
	char ref[32];
	uint32_t sent;
};

static void alert_one(const struct store_volunteer *v, void *arg)
{
	struct alert_arg *aa = arg;
	const struct store_watch *a = aa->a;
	char link[400], note[256] = "", text[900];

	watch_link(aa->w, v->token, link, sizeof(link));
	if (a->note[0]) {
		char c[200];
		cut(a->note, NOTE_SMS_CHARS, c, sizeof(c));
		re_snprintf(note, sizeof(note), "留言：%s。", c);
	}
	re_snprintf(text, sizeof(text), "【守望相助】%s（%s）%s，请求帮助。%s"
		    "能去请点开接单：%s", a->booth_name, a->address,
		    watch_category_zh(a->category), note, link);
	if (sms_send(aa->w->sms, v->phone, text, aa->ref, NULL))
		log_warn("watch: alert %lld: no SMS to %s (%s)",
			 (long long)a->id, v->id, v->phone);
	else
		aa->sent++;
}

struct esc_arg {
	struct watch *w;
	const struct store_watch *a;
	const char *text;
	char ref[32];
	uint32_t sent;
};

static void escalate_one(const struct store_volunteer *v, void *arg)
{
	struct esc_arg *ea = arg;
	const char *to = v->escalation[0] ? v->escalation : v->phone;

	if (strcmp(v->kind, "office"))
		return;
	if (sms_send(ea->w->sms, to, ea->text, ea->ref, NULL))
		log_warn("watch: alert %lld: no escalation SMS to %s",
			 (long long)ea->a->id, v->id);
	else
		ea->sent++;
}

static void escalate(struct watch *w, int64_t id, const char *why)
{
	struct store_watch a;
	struct esc_arg ea;
	char text[600];

	if (store_watch_escalate(w->st, id, clock_wall_ms()) ||
	    store_watch_get(w->st, id, &a))
		return;
	re_snprintf(text, sizeof(text), "【守望相助】紧急：%s（%s）%s，%s，"
		    "请立即安排处置。警单号%lld", a.booth_name, a.address,
		    watch_category_zh(a.category), why, (long long)id);
	memset(&ea, 0, sizeof(ea));
	ea.w = w;
	ea.a = &a;
	ea.text = text;
	re_snprintf(ea.ref, sizeof(ea.ref), "watch:%lld", (long long)id);
	(void)store_volunteer_list(w->st, a.district, escalate_one, &ea);
	if (strcmp(a.district, "*"))
		(void)store_volunteer_list(w->st, "*", escalate_one, &ea);
	logline(w, id, "escalated", "laoyou", "%s; %u SMS", why, ea.sent);
	log_warn("watch: alert %lld at booth %s escalated (%s); %u SMS",
		 (long long)id, a.booth, why, ea.sent);
	news(w, id);
}

static void tick(void *arg)
{
	struct watch *w = arg;
	int64_t ids[OVERDUE_BATCH], before;
	uint32_t n = 0;
	char why[80];

	before = clock_wall_ms() - (int64_t)w->cf.watch_escalate_s * 1000;
	re_snprintf(why, sizeof(why), "%u 秒内无人接单",
		    w->cf.watch_escalate_s);
	if (!store_watch_overdue(w->st, before, ids, ARRAY_SIZE(ids), &n))
		for (uint32_t i = 0; i < n; i++)
			escalate(w, ids[i], why);
	schedule(w);
}

static void schedule(struct watch *w)
{
	int64_t oldest, due, now = clock_wall_ms();

	int err = store_watch_oldest_open(w->st, &oldest);

	if (err == ENOENT) {
		tmr_cancel(&w->tmr);
		return;
	}
	due = err ? RECHECK_MS : oldest + (int64_t)w->cf.watch_escalate_s *
		1000 - now;
	/* Overdue and still open: escalating it failed (the store); try
	 * again in a while, not in a busy loop. */
	if (due <= 0)
		due = w->retry ? RECHECK_MS : 0;
	w->retry = due == 0;
	tmr_start(&w->tmr, (uint64_t)(due < RECHECK_MS ? due : RECHECK_MS),
		  tick, w);
}

int watch_raise(struct watch *w, const struct booth_info *bi,
		const char *category, const char *note, int64_t *idp,
		bool *dup)
{
	struct store_watch a;
	struct alert_arg aa;
	int64_t now = clock_wall_ms(), open_id = 0, id = 0;
	uint32_t recent = 0;
	int err;

	if (!w || !bi || !idp || !dup || !watch_category_ok(category))
		return EINVAL;
	if (!note)
		note = "";
	if (strlen(note) > WATCH_NOTE_MAX || (note[0] && !sms_text_ok(note)))
		return EINVAL;
	*dup = false;
	err = store_watch_recent(w->st, bi->id, category, now - DUP_WINDOW_MS,
				 &open_id, &recent);
	if (!err && open_id) {
		*idp = open_id;
		*dup = true;
		return 0;
	}
	if (!err)
		err = store_watch_recent(w->st, bi->id, category,
					 now - RATE_WINDOW_MS, &open_id,
					 &recent);
	if (err)
		return err;
	if (recent >= RATE_MAX) {
		log_warn("watch: booth %s: %u alerts within the hour; refused",
			 bi->id, recent);
		return EAGAIN;
	}

	memset(&a, 0, sizeof(a));
	str_ncpy(a.booth, bi->id, sizeof(a.booth));
	str_ncpy(a.booth_name, bi->name, sizeof(a.booth_name));
	str_ncpy(a.address, bi->address, sizeof(a.address));
	str_ncpy(a.district, bi->district, sizeof(a.district));
	a.lat = bi->lat;
	a.lon = bi->lon;
	str_ncpy(a.category, category, sizeof(a.category));
	str_ncpy(a.note, note, sizeof(a.note));
	a.created_ms = now;
	err = store_watch_add(w->st, &a, &id);
	if (err) {
		log_error("watch: booth %s: alert not stored: %m", bi->id, err);
		return err;
	}
	a.id = id;
	*idp = id;
	logline(w, id, "raised", bi->id, "%s%s%s", category, note[0] ?
		": " : "", note);

	memset(&aa, 0, sizeof(aa));
	aa.w = w;
	aa.a = &a;
	re_snprintf(aa.ref, sizeof(aa.ref), "watch:%lld", (long long)id);
	(void)store_volunteer_list(w->st, a.district, alert_one, &aa);
	(void)store_watch_notified(w->st, id, aa.sent);
	logline(w, id, "alerted", "laoyou", "%u by SMS", aa.sent);
	log_info("watch: alert %lld at booth %s (%s, %s): %u alerted",
		 (long long)id, bi->id, a.district, category, aa.sent);
	news(w, id);
	/* Nobody to wait for: operations must act now. */
	if (!aa.sent)
		escalate(w, id, "本区没有登记的志愿者");
	schedule(w);
	return 0;
}

int watch_accept(struct watch *w, int64_t id, const struct store_volunteer *v)
{
	struct store_watch a;
	int err;

	if (!w || !v)
		return EINVAL;
	if (store_watch_get(w->st, id, &a) || strcmp(a.district, v->district))
		return ENOENT;
	err = store_watch_accept(w->st, id, v, clock_wall_ms());
	if (err)
		return err;
	logline(w, id, "accepted", v->id, "%s (%s)", v->name, v->kind);
	log_info("watch: alert %lld accepted by %s", (long long)id, v->id);
	news(w, id);
	schedule(w);
	return 0;
}

int watch_close(struct watch *w, int64_t id, const struct store_volunteer *v,
		const char *resolution)
{
	struct store_watch a;
	int err;

	if (!w || !v)
		return EINVAL;
	if (store_watch_get(w->st, id, &a) || (strcmp(a.district, v->district)
					       && strcmp(a.accepted_by, v->id)))
		return ENOENT;
	err = store_watch_close(w->st, id, v->id, resolution ? resolution : "",
				clock_wall_ms());
	if (err)
		return err;
	logline(w, id, "closed", v->id, "%s", resolution ? resolution : "");
	log_info("watch: alert %lld closed by %s", (long long)id, v->id);
	news(w, id);
	return 0;
}

/* ---------- spoken notes ---------- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

bool watch_wav_ok(const uint8_t *buf, size_t len, uint32_t *ms)
{
	uint16_t fmt = 0, channels = 0, bits = 0;
	uint32_t rate = 0;
	uint64_t data = 0;
	bool have_fmt = false, have_data = false;
	size_t pos = 12;

	if (!buf || len < 44 || memcmp(buf, "RIFF", 4) ||
	    memcmp(buf + 8, "WAVE", 4))
		return false;
	while (pos + 8 <= len && !have_data) {
		uint32_t size = le32(buf + pos + 4);
		const uint8_t *body = buf + pos + 8;

		if (size > len - pos - 8)
			return false;
		if (!memcmp(buf + pos, "fmt ", 4)) {
			if (size < 16)
				return false;
			fmt = le16(body);
			channels = le16(body + 2);
			rate = le32(body + 4);
			bits = le16(body + 14);
			have_fmt = true;
		}
		else if (!memcmp(buf + pos, "data", 4)) {
			data = size;
			have_data = true;
		}
		pos += 8 + (size_t)size + (size & 1);
	}
	if (!have_fmt || !have_data || channels != 1 || rate < 8000 ||
	    rate > 48000)
		return false;
	if (!((fmt == 1 && (bits == 8 || bits == 16)) ||
	      ((fmt == 6 || fmt == 7) && bits == 8)))
		return false;
	data = data * 1000 / ((uint64_t)rate * (bits / 8));
	if (data < 200 || data > 60000)
		return false;
	if (ms)
		*ms = (uint32_t)data;
	return true;
}

int watch_audio_put(struct watch *w, int64_t id, const char *booth,
		    const uint8_t *buf, size_t len, uint32_t *ms)
{
	struct store_watch a;
	char dir[600], path[640], tmp[660];
	uint32_t dur = 0;
	FILE *f;
	int err = 0;

	if (!w || !booth)
		return EINVAL;
	if (store_watch_get(w->st, id, &a) || strcmp(a.booth, booth))
		return ENOENT;
	if (!strcmp(a.state, "closed"))
		return EALREADY;
	if (!watch_wav_ok(buf, len, &dur))
		return EINVAL;
	re_snprintf(dir, sizeof(dir), "%s/watch", w->cf.data_dir);
	(void)mkdir(dir, 0750);
	re_snprintf(path, sizeof(path), "%s/%lld.wav", dir, (long long)id);
	re_snprintf(tmp, sizeof(tmp), "%s.part", path);
	/* Whole or not at all: a reader never sees half a file. */
	f = fopen(tmp, "wb");
	if (!f || fwrite(buf, 1, len, f) != len)
		err = EIO;
	if (f && fclose(f))
		err = EIO;
	if (!err && rename(tmp, path))
		err = errno;
	if (!err)
		err = store_watch_audio(w->st, id, path, dur);
	if (err) {
		(void)remove(tmp);
		log_error("watch: alert %lld: spoken note not kept: %m",
			  (long long)id, err);
		return err;
	}
	logline(w, id, "audio", booth, "%u ms", dur);
	log_info("watch: alert %lld: a spoken note of %u ms", (long long)id,
		 dur);
	if (ms)
		*ms = dur;
	return 0;
}

/* ---------- volunteers ---------- */

int watch_volunteer_auth(struct watch *w, const char *token,
			 struct store_volunteer *v)
{
	char hash[65];

	if (!w || !token || strlen(token) < 16 || strlen(token) > 64)
		return ENOENT;
	booths_token_hash(token, hash);
	return store_volunteer_by_token(w->st, hash, v);
}


static int text(const struct json *o, const char *key, bool need, char *dst,
		size_t sz, const char *file, char *err, size_t errsz)
{
	const struct json *v = json_get(o, key);

	if (!v) {
		if (need)
			return json_fail(err, errsz, file, json_line(o), "a "
					 "volunteer needs \"%s\"", key);
		dst[0] = '\0';
		return 0;
	}
	if (json_type(v) != JSON_STRING || strlen(json_str(v)) >= sz ||
	    (need && !json_str(v)[0]) ||
	    (json_str(v)[0] && !sms_text_ok(json_str(v))))
		return json_fail(err, errsz, file, json_line(v), "\"%s\" must "
				 "be %stext of at most %zu bytes", key,
				 need ?
			   "non-empty " : "",
				 sz - 1);
	str_ncpy(dst, json_str(v), sz);
	return 0;
}

int watch_volunteer_parse(const struct json *o, const char *file,
			  struct store_volunteer *v, char *err, size_t errsz)
{
	static const char allowed[] = " id name phone district kind "
		"escalation token ";
	char pat[48];
	size_t n;
	int e;

	memset(v, 0, sizeof(*v));
	if (json_type(o) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(o), "a volunteer "
				 "is an object");
	for (size_t k = 0; k < json_count(o); k++) {
		re_snprintf(pat, sizeof(pat), " %s ", json_key(o, k));
		if (strlen(json_key(o, k)) > 20 || !strstr(allowed, pat))
			return json_fail(err, errsz, file, json_key_line(o, k),
				   "unknown volunteer field \"%s\"",
				   json_key(o, k));
	}
	e = text(o, "id", true, v->id, sizeof(v->id), file, err, errsz);
	n = strlen(v->id);
	if (!e && strspn(v->id, "abcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		e = json_fail(err, errsz, file, json_line(json_get(o, "id")),
			      "a volunteer id is 1-31 of a-z 0-9 - _");
	if (!e)
		e = text(o, "name", true, v->name, sizeof(v->name), file, err,
			 errsz);
	if (!e)
		e = text(o, "phone", true, v->phone, sizeof(v->phone), file,
			 err, errsz);
	if (!e && !sms_number_ok(v->phone))
		e = json_fail(err, errsz, file, json_line(json_get(o, "phone")),
			"\"phone\" must be a number of 3-20 digits, + first "
			"allowed");
	if (!e)
		e = text(o, "district", true, v->district, sizeof(v->district),
			 file, err, errsz);
	if (!e)
		e = text(o, "kind", false, v->kind, sizeof(v->kind), file, err,
			 errsz);
	if (!e && !v->kind[0])
		str_ncpy(v->kind, "volunteer", sizeof(v->kind));
	if (!e && strcmp(v->kind, "volunteer") && strcmp(v->kind, "office"))
		e = json_fail(err, errsz, file, json_line(json_get(o, "kind")),
			"\"kind\" is volunteer or office");
	if (!e && !strcmp(v->district, "*") && strcmp(v->kind, "office"))
		e = json_fail(err, errsz, file,
			      json_line(json_get(o, "district")), "only an "
			      "office (the 12345 operations) covers district "
			      "\"*\"");
	if (!e)
		e = text(o, "escalation", false, v->escalation,
			 sizeof(v->escalation), file, err, errsz);
	if (!e && v->escalation[0] && (strcmp(v->kind, "office") ||
				       !sms_number_ok(v->escalation)))
		e = json_fail(err, errsz, file,
			      json_line(json_get(o, "escalation")),
			      "\"escalation\" is an office's escalation number "
			      "(3-20 digits)");
	if (!e)
		e = text(o, "token", false, v->token, sizeof(v->token), file,
			 err, errsz);
	n = strlen(v->token);
	if (!e && n && (n < 32 || strspn(v->token, "0123456789abcdef") != n))
		e = json_fail(err, errsz, file, json_line(json_get(o, "token")),
			"\"token\" is 32-64 hex digits (a-f 0-9)");
	return e;
}

int watch_volunteer_put(struct watch *w, struct store_volunteer *v,
			bool rotate)
{
	struct store_volunteer old;
	char hash[65] = "";
	uint8_t raw[24];
	int err;

	if (!w || !v)
		return EINVAL;
	if (!v->token[0] && (rotate || store_volunteer_get(w->st, v->id,
							   &old))) {
		rand_bytes(raw, sizeof(raw));
		for (size_t i = 0; i < sizeof(raw); i++)
			re_snprintf(v->token + 2 * i, 3, "%02x", raw[i]);
	}
	if (v->token[0])
		booths_token_hash(v->token, hash);
	err = store_volunteer_put(w->st, v, hash, clock_wall_ms());
	if (!err && !v->token[0] && !store_volunteer_get(w->st, v->id, &old))
		str_ncpy(v->token, old.token, sizeof(v->token));
	return err;
}

int watch_site_load(struct watch *w, const struct json *root,
		    const char *file, char *err, size_t errsz)
{
	const struct json *list = json_get(root, "volunteers");
	struct store_volunteer v;
	int e = 0;

	if (!list)
		return 0;
	if (json_type(list) != JSON_ARRAY)
		return json_fail(err, errsz, file, json_line(list),
				 "\"volunteers\" is an array of volunteers");
	for (size_t i = 0; i < json_count(list) && !e; i++) {
		const struct json *o = json_at(list, i);
		e = watch_volunteer_parse(o, file, &v, err, errsz);
		for (size_t j = 0; j < i && !e; j++) {
			const char *other = json_str(json_get(json_at(list, j),
							      "id"));
			if (other && !strcmp(other, v.id))
				e = json_fail(err, errsz, file, json_line(o),
					"volunteer \"%s\" is listed twice",
					v.id);
		}
		if (e || !w)
			continue;
		e = watch_volunteer_put(w, &v, false);
		if (e)
			re_snprintf(err, errsz, "%s: volunteer %s: the store "
				    "refused it: %m", file, v.id, e);
	}
	return e;
}

/* ---------- the module ---------- */

int watch_alloc(struct watch **wp, const struct conf *cf, struct store *st,
		struct booths *b, struct sms *sms)
{
	struct watch *w;

	if (!wp || !cf || !st)
		return EINVAL;
	w = mem_zalloc(sizeof(*w), destructor);
	if (!w)
		return ENOMEM;
	w->cf = *cf;
	w->st = mem_ref(st);
	w->b = mem_ref(b);
	w->sms = mem_ref(sms);
	tmr_init(&w->tmr);
	if (!cf->public_url[0]) {
		char base[300];
		conf_public_url(cf, base, sizeof(base));
		log_info("watch: public_url is not set: volunteers' links "
			 "point at %s", base);
	}
	/* Alerts left open by an earlier run escalate on their own time. */
	schedule(w);
	*wp = w;
	return 0;
}

void watch_reconf(struct watch *w, const struct conf *cf)
{
	if (!w || !cf)
		return;
	w->cf = *cf;
	schedule(w);
}
