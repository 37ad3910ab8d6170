#include <stdlib.h>
#include <re.h>
#include "store/store.h"
#include "unit.h"

static int count_cb(const struct store_cdr *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static int bind_cb(const struct store_binding *b, void *arg)
{
	(void)b;
	(*(int *)arg)++;
	return 0;
}

static void accounts(void)
{
	struct store *st = NULL;
	struct store_account a, got;
	const char *path = unit_tmpfile("acc.db");

	CHECK_EQ(store_open(&st, path), 0);
	memset(&a, 0, sizeof(a));
	strcpy(a.user, "alice");
	strcpy(a.ha1, "0123456789abcdef0123456789abcdef");
	strcpy(a.realm, "laoyou");
	strcpy(a.ext, "1001");
	strcpy(a.kind, "agent");
	CHECK_EQ(store_account_add(st, &a), 0);
	CHECK_EQ(store_account_add(st, &a), EEXIST);
	strcpy(a.user, "bob");
	CHECK_EQ(store_account_add(st, &a), EEXIST);   /* ext taken */
	strcpy(a.ext, "1002");
	strcpy(a.kind, "trunk");
	strcpy(a.from_addr, "127.0.0.1:5071");
	a.outbound = true;
	CHECK_EQ(store_account_add(st, &a), 0);

	CHECK_EQ(store_account_get(st, "alice", &got), 0);
	CHECK_STR(got.ext, "1001");
	CHECK_EQ(store_account_by_ext(st, "1002", &got), 0);
	CHECK_STR(got.user, "bob");
	CHECK(got.outbound);
	CHECK_EQ(store_account_by_addr(st, "127.0.0.1:5071", &got), 0);
	CHECK_STR(got.user, "bob");
	CHECK_EQ(store_account_by_addr(st, "", &got), ENOENT);
	CHECK_EQ(store_account_get(st, "nobody", &got), ENOENT);
	CHECK_EQ(store_account_del(st, "bob"), 0);
	CHECK_EQ(store_account_del(st, "bob"), ENOENT);
	mem_deref(st);
}

static void bindings_survive_reopen_and_expire(void)
{
	struct store *st = NULL;
	struct store_account a;
	struct store_binding b;
	const char *path = unit_tmpfile("bind.db");
	int n = 0;

	CHECK_EQ(store_open(&st, path), 0);
	memset(&a, 0, sizeof(a));
	strcpy(a.user, "alice");
	strcpy(a.ext, "1001");
	strcpy(a.kind, "agent");
	store_account_add(st, &a);
	memset(&b, 0, sizeof(b));
	strcpy(b.user, "alice");
	strcpy(b.contact, "sip:alice@10.0.0.1");
	b.expires_at = 1000;
	CHECK_EQ(store_binding_put(st, &b), 0);
	strcpy(b.contact, "sip:alice@10.0.0.2");
	b.expires_at = 3000;
	CHECK_EQ(store_binding_put(st, &b), 0);
	CHECK_EQ(store_binding_put(st, &b), 0);  /* refresh, not a duplicate */
	mem_deref(st);

	st = NULL;
	CHECK_EQ(store_open(&st, path), 0);
	CHECK_EQ(store_binding_load(st, 2000, bind_cb, &n), 0);
	CHECK_EQ(n, 1);
	/* Deleting the account takes its bindings along. */
	CHECK_EQ(store_account_del(st, "alice"), 0);
	n = 0;
	CHECK_EQ(store_binding_load(st, 0, bind_cb, &n), 0);
	CHECK_EQ(n, 0);
	mem_deref(st);
}

static void cdr_roundtrip(void)
{
	struct store *st = NULL;
	struct store_cdr c;
	int n = 0;

	CHECK_EQ(store_open(&st, unit_tmpfile("cdr.db")), 0);
	for (int i = 0; i < 5; i++) {
		memset(&c, 0, sizeof(c));
		re_snprintf(c.callid, sizeof(c.callid), "call-%d", i);
		strcpy(c.disposition, "answered");
		c.pkts_a2b = 1ULL << 40;
		CHECK_EQ(store_cdr_insert(st, &c), 0);
		CHECK_EQ(c.id, i + 1);
	}
	CHECK_EQ(store_cdr_list(st, 3, count_cb, &n), 0);
	CHECK_EQ(n, 3);
	CHECK(store_healthy(st));
	mem_deref(st);
}

static void newer_schema_is_refused(void)
{
	struct store *st = NULL;
	const char *path = unit_tmpfile("new.db");
	char cmd[600];

	CHECK_EQ(store_open(&st, path), 0);
	mem_deref(st);
	st = NULL;
	re_snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version=999'",
		    path);
	CHECK_EQ(system(cmd), 0);
	CHECK(store_open(&st, path) != 0);
	CHECK(st == NULL);
}

const struct unit_case store_cases[] = {
	{"accounts", accounts},
	{"bindings_survive_reopen_and_expire",
	 bindings_survive_reopen_and_expire},
	{"cdr_roundtrip", cdr_roundtrip},
	{"newer_schema_is_refused", newer_schema_is_refused},
	{NULL, NULL},
};
