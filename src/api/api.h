/* api: HTTP in the same event loop — /health, /metrics, the REST API and
 * its WebSocket events under /api/v1, and the web pages.  Reads the other
 * modules through their headers; every permission is checked here, on
 * every request. */
#ifndef LAOYOU_API_H
#define LAOYOU_API_H
#include <re.h>

struct api;
struct calls;
struct sipd;
struct portpool;
struct store;
struct desk;
struct conf;
struct booths;
struct sms;
struct watch;
struct elder;
struct taxi;

/** The site in the store changed: apply it (returns 0 if applied). */
typedef int (api_reload_h)(void *arg);

/** Serve HTTP on cf->http, reporting on and acting through the modules. */
int api_alloc(struct api **apip, const struct conf *cf, struct calls *cs,
	      struct sipd *sd, struct portpool *pp, struct store *st,
	      struct desk *desk, api_reload_h *reloadh, void *arg);

/** The booth services the API reaches (any may be NULL). */
struct api_services {
	struct booths *booths;
	struct sms *sms;
	struct watch *watch;
	struct elder *elder;
	struct taxi *taxi;
};
/** Apply the settings that may change while running (SIGHUP); the
 * listen address stays. */
void api_reconf(struct api *api, const struct conf *cf);
/** Give the API the booth services (after they are allocated). */
void api_set_services(struct api *api, const struct api_services *svc);

/** Hash a password for storage (Argon2id); 0 on success. */
int api_password_hash(const char *password, char out[128]);

/** A new API token with scopes (comma-separated: read, control, admin);
 * its secret, shown once, goes to secret.  EINVAL for bad scopes. */
int api_token_create(struct store *st, const char *name, const char *scopes,
		     char secret[65]);

#endif
