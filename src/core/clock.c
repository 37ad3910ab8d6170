#include <time.h>
#include "core/clock.h"

static int64_t wall_offset_s;

uint64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_mono_ms(void)
{
	return clock_mono_us() / 1000u;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec + wall_offset_s) * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_s(void)
{
	return clock_wall_ms() / 1000;
}

void clock_set_wall_offset(int64_t offset_s)
{
	wall_offset_s = offset_s;
}
