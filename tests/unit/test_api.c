/* api: password hashing and token creation (the parts of sign-in that do
 * not need a socket; the HTTP side is tested against a running server in
 * tests/system/test_api.py). */
#include <string.h>
#include <sodium.h>
#include <re.h>
#include "store/store.h"
#include "api/api.h"
#include "unit.h"

static void passwords_are_argon2id(void)
{
	char h1[128], h2[128];

	CHECK_EQ(api_password_hash("correct horse", h1), 0);
	CHECK_EQ(api_password_hash("correct horse", h2), 0);
	CHECK(!strncmp(h1, "$argon2id$", 10));
	CHECK(strcmp(h1, h2) != 0);            /* salted */
	CHECK_EQ(crypto_pwhash_str_verify(h1, "correct horse", 13), 0);
	CHECK(crypto_pwhash_str_verify(h1, "correct horsE", 13) != 0);
}

static void tokens_are_scoped_and_stored_hashed(void)
{
	struct store *st = NULL;
	char secret[65], name[64], scopes[128];
	uint8_t h[32];
	char hex[65];

	CHECK_EQ(store_open(&st, unit_tmpfile("api.db")), 0);
	CHECK_EQ(api_token_create(st, "ops", "read,write", secret), EINVAL);
	CHECK_EQ(api_token_create(st, "ops", "", secret), EINVAL);
	CHECK_EQ(api_token_create(st, "", "read", secret), EINVAL);
	CHECK_EQ(api_token_create(st, "ops", "read,control", secret), 0);
	CHECK_EQ(strlen(secret), 64);
	/* The store knows the token only by its hash. */
	CHECK_EQ(store_token_get(st, secret, name, sizeof(name), scopes,
				 sizeof(scopes)), ENOENT);
	crypto_generichash(h, sizeof(h), (const uint8_t *)secret,
			   strlen(secret), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	CHECK_EQ(store_token_get(st, hex, name, sizeof(name), scopes,
				 sizeof(scopes)), 0);
	CHECK_STR(name, "ops");
	CHECK_STR(scopes, "read,control");
	CHECK_EQ(store_token_revoke(st, "ops"), 0);
	CHECK_EQ(store_token_get(st, hex, name, sizeof(name), scopes,
				 sizeof(scopes)), ENOENT);
	CHECK_EQ(store_token_revoke(st, "ops"), ENOENT);
	mem_deref(st);
}

const struct unit_case api_cases[] = {
	{"passwords_are_argon2id", passwords_are_argon2id},
	{"tokens_are_scoped_and_stored_hashed",
	 tokens_are_scoped_and_stored_hashed},
	{NULL, NULL},
};
