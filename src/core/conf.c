#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include "core/conf.h"

void conf_defaults(struct conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	sa_set_str(&cf->sip_udp, "127.0.0.1", 5060);
	sa_set_str(&cf->sip_tcp, "127.0.0.1", 5060);
	sa_set_str(&cf->http, "127.0.0.1", 8080);
	sa_set_str(&cf->rtp_ip, "127.0.0.1", 0);
	cf->rtp_min = 20000;
	cf->rtp_max = 29999;
	str_ncpy(cf->db, "laoyou.db", sizeof(cf->db));
	cf->log_level = LOG_INFO;
	str_ncpy(cf->realm, "laoyou", sizeof(cf->realm));
	cf->rtp_timeout_s = 60;
	cf->ring_timeout_s = 60;
	cf->max_calls = 10000;
	cf->max_calls_account = 10;
	cf->nonce_ttl_s = 300;
	cf->auth_fail_limit = 5;
	cf->auth_fail_window_s = 60;
	cf->auth_ban_s = 300;
	cf->reg_min_expires = 60;
	cf->reg_max_expires = 7200;
	cf->reg_default_expires = 3600;
	cf->max_msg_size = 16384;
	for (int i = 0; i < 3; i++)
		cf->flood_rate[i] = 200;
	cf->retention_days = 90;
	cf->tcp_max_per_addr = 64;
	cf->tcp_idle_s = 300;
	cf->booth_offline_s = 90;
	cf->freecall_limit_s = 180;
	cf->freecall_warn_s = 30;
	cf->freecall_booth_day = 300;
	cf->freecall_number_day = 5;
	cf->elder_answer_s = 30;
	cf->watch_escalate_s = 300;
	cf->taxi_accept_s = 120;
	cf->sms_retry_s = 30;
	str_ncpy(cf->elder_number, "12349", sizeof(cf->elder_number));
	str_ncpy(cf->elder_queue, "elder-care", sizeof(cf->elder_queue));
	str_ncpy(cf->sign_number, "123450", sizeof(cf->sign_number));
	str_ncpy(cf->sms_from, "12345", sizeof(cf->sms_from));
	str_ncpy(cf->taxi_hotline, "96840", sizeof(cf->taxi_hotline));
}

void conf_public_url(const struct conf *cf, char *buf, size_t sz)
{
	size_t n = strlen(cf->public_url);
	struct sa a = cf->http;

	while (n && cf->public_url[n - 1] == '/')
		n--;
	if (n) {
		re_snprintf(buf, sz, "%b", cf->public_url, n);
		return;
	}
	if (sa_is_any(&a))
		sa_set_str(&a, "127.0.0.1", sa_port(&cf->http));
	re_snprintf(buf, sz, "http://%J", &a);
}

static int parse_u32(uint32_t *v, const char *s, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long long n;

	if (!*s || !isdigit((unsigned char)*s))
		return EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n < min || n > max)
		return ERANGE;
	*v = (uint32_t)n;
	return 0;
}

static int parse_addr(struct sa *sa, const char *s, bool allow_off)
{
	if (allow_off && !strcmp(s, "off")) {
		sa_init(sa, AF_UNSPEC);
		return 0;
	}
	if (sa_decode(sa, s, strlen(s)))
		return EINVAL;
	return 0;
}

struct uint_key {
	const char *key;
	size_t off;
	uint32_t min, max;
};

#define U(k, f, lo, hi) { k, offsetof(struct conf, f), lo, hi }
static const struct uint_key uint_keys[] = {
	U("rtp_timeout", rtp_timeout_s, 1, 86400),
	U("ring_timeout", ring_timeout_s, 1, 3600),
	U("max_calls", max_calls, 1, 1000000),
	U("max_calls_per_account", max_calls_account, 1, 1000000),
	U("nonce_ttl", nonce_ttl_s, 10, 86400),
	U("auth_fail_limit", auth_fail_limit, 1, 1000),
	U("auth_fail_window", auth_fail_window_s, 1, 86400),
	U("auth_ban_time", auth_ban_s, 0, 604800),
	U("min_expires", reg_min_expires, 1, 86400),
	U("max_expires", reg_max_expires, 1, 604800),
	U("default_expires", reg_default_expires, 1, 604800),
	U("max_message_size", max_msg_size, 1024, 65535),
	U("recording_retention_days", retention_days, 1, 36500),
	U("flood_register", flood_rate[0], 0, 1000000),
	U("flood_invite", flood_rate[1], 0, 1000000),
	U("flood_options", flood_rate[2], 0, 1000000),
	U("tcp_max_per_address", tcp_max_per_addr, 0, 100000),
	U("tcp_idle_timeout", tcp_idle_s, 0, 86400),
	U("booth_offline", booth_offline_s, 5, 86400),
	U("freecall_limit", freecall_limit_s, 5, 3600),
	U("freecall_warn", freecall_warn_s, 0, 600),
	U("freecall_booth_daily", freecall_booth_day, 0, 1000000),
	U("freecall_number_daily", freecall_number_day, 0, 1000000),
	U("elder_answer", elder_answer_s, 1, 600),
	U("watch_escalate", watch_escalate_s, 5, 86400),
	U("taxi_accept", taxi_accept_s, 5, 3600),
	U("sms_retry", sms_retry_s, 1, 3600),
};

struct str_key {
	const char *key;
	size_t off, size;
	const char *what;          /* the characters it may hold */
};

#define S(k, f, w) { k, offsetof(struct conf, f), \
		     sizeof(((struct conf *)0)->f), w }
static const struct str_key str_keys[] = {
	S("elder_number", elder_number, "0123456789*#"),
	S("elder_queue", elder_queue, NULL),
	S("sign_number", sign_number, "0123456789*#"),
	S("sms_from", sms_from, NULL),
	S("sms_url", sms_url, NULL),
	S("public_url", public_url, NULL),
	S("taxi_url", taxi_url, NULL),
	S("taxi_secret", taxi_secret, NULL),
	S("taxi_hotline", taxi_hotline, "0123456789*#"),
};

static int set_str(const struct str_key *k, struct conf *cf, const char *val,
		   char *err, size_t errsz)
{
	char *dst = (char *)cf + k->off;
	bool url = strstr(k->key, "url") != NULL;

	if (strlen(val) >= k->size ||
	    (k->what && (!*val || strspn(val, k->what) != strlen(val))) ||
	    (url && *val && strncmp(val, "http://", 7) &&
	     strncmp(val, "https://", 8)) || strpbrk(val, " \t\"")) {
		/* A secret (or a URL holding a password) is not repeated
		 * into a log. */
		bool hide = !strcmp(k->key, "taxi_secret") ||
			!strcmp(k->key, "sms_url");
		re_snprintf(err, errsz, "%s must be %s of at most %zu "
			    "characters, not '%s'", k->key, url ?
			    "an http:// URL" : k->what ? "digits" :
			    "a word", k->size - 1, hide ? "(hidden)" : val);
		return EINVAL;
	}
	str_ncpy(dst, val, k->size);
	return 0;
}

int conf_set(struct conf *cf, const char *key, const char *val,
	     char *err, size_t errsz)
{
	for (size_t i = 0; i < ARRAY_SIZE(uint_keys); i++) {
		const struct uint_key *k = &uint_keys[i];
		if (strcmp(key, k->key))
			continue;
		if (parse_u32((uint32_t *)(void *)((char *)cf + k->off), val,
			      k->min, k->max)) {
			re_snprintf(err, errsz, "%s must be a whole number "
				    "from %u to %u, not '%s'", key, k->min,
				    k->max, val);
			return EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(str_keys); i++) {
		if (!strcmp(key, str_keys[i].key))
			return set_str(&str_keys[i], cf, val, err, errsz);
	}

	if (!strcmp(key, "sip_udp") || !strcmp(key, "sip_tcp") ||
	    !strcmp(key, "http")) {
		struct sa *sa = key[0] == 'h' ? &cf->http :
			key[4] == 'u' ? &cf->sip_udp : &cf->sip_tcp;
		if (parse_addr(sa, val, true)) {
			re_snprintf(err, errsz, "%s must be IP:PORT or 'off', "
				    "not '%s'", key, val);
			return EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "rtp_ip")) {
		if (sa_set_str(&cf->rtp_ip, val, 0)) {
			re_snprintf(err, errsz, "rtp_ip must be an IP "
				    "address, not '%s'", val);
			return EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "rtp_ports")) {
		char los[8], his[8], tail;
		unsigned long lo = 0, hi = 0;
		/* Digits only: %u would take "-1" as 4294967295, and lo + 3
		 * then wraps past the room check. */
		if (sscanf(val, "%7[0-9]-%7[0-9]%c", los, his, &tail) == 2) {
			lo = strtoul(los, NULL, 10);
			hi = strtoul(his, NULL, 10);
		}
		if (lo < 1024 || hi > 65535 || lo + 3 > hi) {
			re_snprintf(err, errsz, "rtp_ports must be LOW-HIGH "
				    "within 1024-65535 with room for two "
				    "pairs, not '%s'", val);
			return EINVAL;
		}
		cf->rtp_min = (uint16_t)lo;
		cf->rtp_max = (uint16_t)hi;
		return 0;
	}
	if (!strcmp(key, "db")) {
		if (!*val || strlen(val) >= sizeof(cf->db)) {
			re_snprintf(err, errsz, "db must be a path of at most "
				    "%zu bytes", sizeof(cf->db) - 1);
			return EINVAL;
		}
		str_ncpy(cf->db, val, sizeof(cf->db));
		return 0;
	}
	if (!strcmp(key, "prompts_dir") || !strcmp(key, "data_dir") ||
	    !strcmp(key, "web_dir")) {
		char *dst = key[0] == 'p' ? cf->prompts_dir : key[0] == 'd' ?
			cf->data_dir : cf->web_dir;
		if (!*val || strlen(val) >= sizeof(cf->data_dir)) {
			re_snprintf(err, errsz, "%s must be a path of at most "
				    "%zu bytes", key, sizeof(cf->data_dir) - 1);
			return EINVAL;
		}
		str_ncpy(dst, val, sizeof(cf->data_dir));
		return 0;
	}
	if (!strcmp(key, "flood_action")) {
		if (strcmp(val, "503") && strcmp(val, "drop")) {
			re_snprintf(err, errsz, "flood_action must be 503 or "
				    "drop, not '%s'", val);
			return EINVAL;
		}
		cf->flood_drop = !strcmp(val, "drop");
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		if (log_level_parse(&cf->log_level, val)) {
			re_snprintf(err, errsz, "log_level must be debug, info,"
				    " warn or error, not '%s'", val);
			return EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "realm")) {
		if (!*val || strlen(val) >= sizeof(cf->realm) ||
		    strpbrk(val, "\"\\ ")) {
			re_snprintf(err, errsz, "realm must be 1-%zu "
				    "characters without quotes or spaces",
				    sizeof(cf->realm) - 1);
			return EINVAL;
		}
		str_ncpy(cf->realm, val, sizeof(cf->realm));
		return 0;
	}
	if (!strcmp(key, "trunk")) {
		struct uri uri;
		struct pl pl;
		pl_set_str(&pl, val);
		if (strlen(val) >= sizeof(cf->trunk_uri) ||
		    uri_decode(&uri, &pl) || pl_strcasecmp(&uri.scheme, "sip")) {
			re_snprintf(err, errsz, "trunk must be a sip: URI such"
				    " as sip:10.0.0.1:5060, not '%s'", val);
			return EINVAL;
		}
		str_ncpy(cf->trunk_uri, val, sizeof(cf->trunk_uri));
		return 0;
	}

	re_snprintf(err, errsz, "unknown setting '%s'", key);
	return EINVAL;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		++s;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int conf_load(struct conf *cf, const char *path, char *err, size_t errsz)
{
	char line[1024], why[256];
	unsigned lineno = 0;
	int rc = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		re_snprintf(err, errsz, "%s: cannot open: %m", path, errno);
		return ENOENT;
	}

	while (fgets(line, sizeof(line), f)) {
		char *p, *eq, *key, *val;

		++lineno;
		if (!strchr(line, '\n') && !feof(f)) {
			re_snprintf(err, errsz, "%s:%u: line longer than %zu "
				    "bytes", path, lineno, sizeof(line) - 2);
			rc = EINVAL;
			break;
		}
		p = trim(line);
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			re_snprintf(err, errsz, "%s:%u: expected 'key = value'",
				    path, lineno);
			rc = EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (conf_set(cf, key, val, why, sizeof(why))) {
			re_snprintf(err, errsz, "%s:%u: %s", path, lineno, why);
			rc = EINVAL;
			break;
		}
	}
	fclose(f);

	if (!rc && cf->rtp_min > cf->rtp_max) {
		re_snprintf(err, errsz, "%s: rtp_ports: low above high", path);
		rc = EINVAL;
	}
	return rc;
}

void conf_dirs(struct conf *cf)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;

	if (slash)
		*slash = '\0';
	if (!cf->prompts_dir[0] && slash)
		re_snprintf(cf->prompts_dir, sizeof(cf->prompts_dir),
			    "%s/prompts", exe);
	/* build/laoyou serves the tree's web/ pages. */
	if (!cf->web_dir[0] && slash)
		re_snprintf(cf->web_dir, sizeof(cf->web_dir), "%s/../web",
			    exe);
	if (!cf->data_dir[0]) {
		const char *slash = strrchr(cf->db, '/');
		/* A database in / has / as its directory, not "". */
		if (slash)
			re_snprintf(cf->data_dir, sizeof(cf->data_dir), "%b",
				    cf->db, (size_t)(slash - cf->db) +
				    (slash == cf->db));
		else
			str_ncpy(cf->data_dir, ".", sizeof(cf->data_dir));
	}
}
