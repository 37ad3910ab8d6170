/* cdr: the record writer.  It subscribes to call events and commits each
 * ended call's record to the store before anything else hears of it. */
#ifndef LAOYOU_CDR_H
#define LAOYOU_CDR_H
#include <stdio.h>
#include "store/store.h"

struct cdr_writer;

/** Subscribe to EVENT_CALL_ENDED and write records into st. */
int cdr_writer_alloc(struct cdr_writer **cwp, struct store *st);
/** Records written and failed so far. */
void cdr_writer_counts(const struct cdr_writer *cw, uint64_t *written,
		       uint64_t *failed);
/** Print the newest limit records to f, as a table or as CSV. */
int cdr_print(struct store *st, FILE *f, uint32_t limit, bool csv);

#endif
