/* fuzz: what the libFuzzer targets share.  Each target is one file with
 * LLVMFuzzerTestOneInput; the inputs are outside data laoyou parses (SIP,
 * SDP, digest credentials, RTP, site and config files). */
#ifndef LAOYOU_FUZZ_H
#define LAOYOU_FUZZ_H
/* memfd_create; include this file before any other. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <re.h>
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test does not hold: abort, so libFuzzer
 * keeps the input as a crash.  Kept in release builds, unlike assert(). */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Nothing below LOG_ERROR + 1: a log line per input would dominate. */
static inline void fuzz_quiet(void)
{
	log_set_level((enum log_level)(LOG_ERROR + 1));
}

/* The loaders under test read a path, not a buffer: an anonymous memory
 * file, rewritten for each input, gives them one without touching disk. */
struct fuzz_file {
	int fd;
	char path[64];
};

static inline void fuzz_file_open(struct fuzz_file *ff, const char *name)
{
	ff->fd = memfd_create(name, MFD_CLOEXEC);
	if (ff->fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(ff->path, sizeof(ff->path), "/proc/self/fd/%d", ff->fd);
}

static inline void fuzz_file_put(struct fuzz_file *ff, const uint8_t *data,
				 size_t size)
{
	if (ftruncate(ff->fd, 0) || (size && pwrite(ff->fd, data, size, 0) !=
				     (ssize_t)size)) {
		perror("fuzz_file_put");
		abort();
	}
}

#endif
