/* unit: the one harness for every module's unit tests. */
#ifndef LAOYOU_UNIT_H
#define LAOYOU_UNIT_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

extern int unit_failed_checks;

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, \
		#cond); unit_failed_checks++; } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", \
		__FILE__, __LINE__, #a, a_, b_); unit_failed_checks++; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || strcmp(a_, b_)) { fprintf(stderr, \
		"  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
		#a, a_ ? a_ : "(null)", b_); unit_failed_checks++; } } while (0)

typedef void (unit_fn)(void);
struct unit_case {
	const char *name;
	unit_fn *fn;
};

/* Each test file defines one table, ended by {NULL, NULL}. */
extern const struct unit_case conf_cases[], tmr_cases[], sdp_cases[],
	store_cases[], portpool_cases[], relay_cases[], auth_cases[],
	check_cases[], event_cases[], dtmfdet_cases[], audio_cases[],
	json_cases[], schedule_cases[], ivr_cases[], acd_cases[], kpi_cases[],
	api_cases[], decode_cases[],
	booth_cases[], poi_cases[], sms_cases[], taxi_cases[];

/** A temporary file path unique to this run. */
const char *unit_tmpfile(const char *name);
/** The first of n consecutive UDP ports on 127.0.0.1 nobody holds now
 * (other programs on this machine may hold some; tests need exact counts). */
uint16_t unit_free_ports(int n);
/** Run the libre loop for ms milliseconds. */
void unit_run_loop(unsigned ms);

#endif
