/* Placeholder: this module's routes are written with it. */
#include <re.h>
#include "api/api.h"
#include "api/api_int.h"
const struct api_route elder_routes[] = {
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
