/* clock: the one monotonic source for media and queue timing, and the wall
 * clock for records.  Tests can offset both. */
#ifndef LAOYOU_CLOCK_H
#define LAOYOU_CLOCK_H
#include <stdint.h>

/** Monotonic milliseconds. */
uint64_t clock_mono_ms(void);
/** Monotonic microseconds. */
uint64_t clock_mono_us(void);
/** Wall clock, seconds since the epoch (with the test offset applied). */
int64_t  clock_wall_s(void);
/** Wall clock in milliseconds since the epoch. */
int64_t  clock_wall_ms(void);
/** Shift the wall clock by offset seconds (tests; LAOYOU_CLOCK_OFFSET). */
void     clock_set_wall_offset(int64_t offset_s);

#endif
