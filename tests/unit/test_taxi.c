/* Placeholder: this module's unit tests are written with it. */
#include "unit.h"
const struct unit_case taxi_cases[] = {
	{NULL, NULL},
};
