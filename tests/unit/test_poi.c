/* Placeholder: this module's unit tests are written with it. */
#include "unit.h"
const struct unit_case poi_cases[] = {
	{NULL, NULL},
};
