#include <re.h>
#include "media/media.h"
#include "unit.h"

static void pool_exhausts_and_recovers(void)
{
	struct portpool *pp = NULL;
	struct mrelay *mr[3] = {NULL, NULL, NULL};
	struct sa ip, a0, a1;
	uint16_t base = unit_free_ports(8);

	sa_set_str(&ip, "127.0.0.1", 0);
	/* Four pairs: room for exactly two relays (two endpoints each). */
	CHECK_EQ(portpool_alloc(&pp, &ip, base, base + 7), 0);
	CHECK_EQ(portpool_size(pp), 4);
	CHECK_EQ(mrelay_alloc(&mr[0], pp), 0);
	CHECK_EQ(mrelay_alloc(&mr[1], pp), 0);
	CHECK_EQ(portpool_used(pp), 4);
	CHECK(mrelay_alloc(&mr[2], pp) != 0);
	CHECK(mr[2] == NULL);
	mrelay_laddr(mr[0], MSIDE_A, &a0);
	mrelay_laddr(mr[0], MSIDE_B, &a1);
	CHECK(sa_port(&a0) % 2 == 0 && sa_port(&a1) % 2 == 0);
	CHECK(sa_port(&a0) != sa_port(&a1));
	mr[0] = mem_deref(mr[0]);
	CHECK_EQ(portpool_used(pp), 2);
	CHECK_EQ(mrelay_alloc(&mr[2], pp), 0);
	mem_deref(mr[1]);
	mem_deref(mr[2]);
	CHECK_EQ(portpool_used(pp), 0);
	mem_deref(pp);
}

static void odd_start_is_rounded_up(void)
{
	struct portpool *pp = NULL;
	struct sa ip;
	sa_set_str(&ip, "127.0.0.1", 0);
	CHECK_EQ(portpool_alloc(&pp, &ip, 41001, 41004), 0);
	CHECK_EQ(portpool_size(pp), 1);
	mem_deref(pp);
	CHECK(portpool_alloc(&pp, &ip, 41001, 41002) != 0);
}

const struct unit_case portpool_cases[] = {
	{"pool_exhausts_and_recovers", pool_exhausts_and_recovers},
	{"odd_start_is_rounded_up", odd_start_is_rounded_up},
	{NULL, NULL},
};
