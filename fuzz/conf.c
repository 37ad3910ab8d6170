/*
 * The config file loader (src/core/conf.c): conf_load on the input as a
 * file, then the directory defaults the server fills in.  A file that
 * loads must leave settings the server can start with.
 */
#include "fuzz.h"
#include <string.h>
#include "core/conf.h"

static struct fuzz_file ff;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	fuzz_file_open(&ff, "laoyou.conf");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf cf;
	char err[256];
	int e;

	fuzz_file_put(&ff, data, size);
	conf_defaults(&cf);
	memset(err, 0x55, sizeof(err));
	e = conf_load(&cf, ff.path, err, sizeof(err));
	if (e) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strlen(err) > 0);
		return 0;
	}

	/* What portpool_alloc, the registrar and auth take as given. */
	FUZZ_CHECK(cf.rtp_min >= 1024);
	FUZZ_CHECK(cf.rtp_max - cf.rtp_min >= 3);
	FUZZ_CHECK(cf.realm[0] && !strpbrk(cf.realm, "\"\\ "));
	FUZZ_CHECK(cf.db[0]);
	FUZZ_CHECK(cf.max_msg_size >= 1024);
	FUZZ_CHECK(cf.nonce_ttl_s >= 10 && cf.auth_fail_limit >= 1);
	FUZZ_CHECK(cf.reg_min_expires >= 1 && cf.reg_default_expires >= 1);
	FUZZ_CHECK(cf.log_level >= LOG_DEBUG && cf.log_level <= LOG_ERROR);
	FUZZ_CHECK(memchr(cf.trunk_uri, '\0', sizeof(cf.trunk_uri)));
	FUZZ_CHECK(memchr(cf.prompts_dir, '\0', sizeof(cf.prompts_dir)));
	conf_dirs(&cf);
	FUZZ_CHECK(cf.data_dir[0] && cf.prompts_dir[0]);
	return 0;
}
