/*
 * The site file (src/site/json.c, site.c, ivr/flow.c, ivr/schedule.c and
 * the queue part in acd/desk.c): site_check on the input as a file, as
 * `laoyou site check` and `site import` run it.  Prompts are found in
 * build-fuzz/prompts, one empty file per name in the catalogs
 * (the prompts/NAME.tsv files, one per module).
 *
 * The JSON reader is also held to a round trip: what json_encode writes
 * (site export) must parse again and encode to the same bytes.
 */
#include "fuzz.h"
#include <string.h>
#include "core/conf.h"
#include "site/json.h"
#include "site/site.h"

#ifndef FUZZ_PROMPTS
#define FUZZ_PROMPTS "build-fuzz/prompts"
#endif

static struct fuzz_file ff;
static struct conf cf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	fuzz_file_open(&ff, "site.json");
	conf_defaults(&cf);
	str_ncpy(cf.prompts_dir, FUZZ_PROMPTS, sizeof(cf.prompts_dir));
	/* Overrides are looked up here; it need not exist. */
	str_ncpy(cf.data_dir, "/nonexistent/laoyou-fuzz",
		 sizeof(cf.data_dir));
	return 0;
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct json *j = NULL, *j2 = NULL;
	struct mbuf *mb = mbuf_alloc(size + 16), *mb2 = NULL;
	char err[128];
	int e;

	if (!mb)
		return;
	if (json_parse(&j, (const char *)data, size, err, sizeof(err))) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
		goto out;
	}
	if (json_encode(mb, j))
		goto out;
	e = json_parse(&j2, (const char *)mb->buf, mb->end, err, sizeof(err));
	if (e) {
		re_fprintf(stderr, "json_encode wrote what json_parse refuses"
			   " (%s):\n%b\n", err, mb->buf, mb->end);
		abort();
	}
	mb2 = mbuf_alloc(mb->end + 16);
	if (!mb2 || json_encode(mb2, j2))
		goto out;
	FUZZ_CHECK(mb2->end == mb->end && !memcmp(mb2->buf, mb->buf, mb->end));
 out:
	mem_deref(j);
	mem_deref(j2);
	mem_deref(mb);
	mem_deref(mb2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int e;

	round_trip(data, size);

	fuzz_file_put(&ff, data, size);
	memset(err, 0x55, sizeof(err));
	e = site_check(ff.path, &cf, err, sizeof(err));
	if (e) {
		/* Every refusal names the file and, after it, a line. */
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(e == ENOMEM ||
			   !strncmp(err, ff.path, strlen(ff.path)));
	}
	return 0;
}
