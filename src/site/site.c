/*
 * Site import is all or nothing: the file is parsed and every module's
 * part checked first; recorded prompts are converted into temporary files;
 * only then is the document committed to the store and the converted
 * prompts renamed into place.
 */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <re.h>
#include "core/conf.h"
#include "store/store.h"
#include "site/json.h"
#include "ivr/ivr.h"
#include "acd/desk.h"
#include "booth/booth.h"
#include "booth/watch.h"
#include "booth/elder.h"
#include "site/site.h"

enum { SITE_MAX = 16 * 1024 * 1024 };

static int read_file(const char *path, char **textp, size_t *lenp,
		     char *err, size_t errsz)
{
	struct stat stt;
	FILE *f = fopen(path, "rb");
	char *text;

	if (!f) {
		re_snprintf(err, errsz, "%s: cannot open: %m", path, errno);
		return ENOENT;
	}
	if (fstat(fileno(f), &stt) || stt.st_size > SITE_MAX) {
		fclose(f);
		re_snprintf(err, errsz, "%s: larger than %d bytes", path,
			    SITE_MAX);
		return EFBIG;
	}
	text = mem_zalloc((size_t)stt.st_size + 1, NULL);
	if (!text || fread(text, 1, (size_t)stt.st_size, f) !=
	    (size_t)stt.st_size) {
		fclose(f);
		mem_deref(text);
		re_snprintf(err, errsz, "%s: cannot read", path);
		return EIO;
	}
	fclose(f);
	*textp = text;
	*lenp = (size_t)stt.st_size;
	return 0;
}

static void dirs(const struct conf *cf, char *overrides, char *recordings,
		 size_t sz)
{
	re_snprintf(overrides, sz, "%s/prompts", cf->data_dir);
	re_snprintf(recordings, sz, "%s/recordings", cf->data_dir);
}

static int load(const char *path, const struct conf *cf, struct json **rootp,
		char **textp, char *err, size_t errsz)
{
	struct ivr_site *site = NULL;
	char why[400], overrides[600], recordings[600];
	size_t len;
	int e;

	if (errsz)
		err[0] = '\0';
	e = read_file(path, textp, &len, err, errsz);
	if (e)
		return e;
	e = json_parse(rootp, *textp, len, why, sizeof(why));
	if (e) {
		re_snprintf(err, errsz, "%s:%s", path, why);
		return e;
	}
	if (json_type(*rootp) != JSON_OBJECT) {
		re_snprintf(err, errsz, "%s:1: a site file is a JSON object",
			    path);
		return EINVAL;
	}
	for (size_t i = 0; i < json_count(*rootp); i++) {
		const char *k = json_key(*rootp, i);
		if (strcmp(k, "hotlines") && strcmp(k, "flows") &&
		    strcmp(k, "schedules") && strcmp(k, "prompts") &&
		    strcmp(k, "queues") && strcmp(k, "agents") &&
		    strcmp(k, "booths") && strcmp(k, "volunteers") &&
		    strcmp(k, "elders")) {
			re_snprintf(err, errsz, "%s:%u: unknown section \"%s\""
				    " (hotlines, flows, schedules, prompts, "
				    "queues, agents, booths, volunteers, "
				    "elders)", path,
				    json_key_line(*rootp, i), k);
			return EINVAL;
		}
	}
	dirs(cf, overrides, recordings, sizeof(overrides));
	e = desk_site_load(NULL, *rootp, path, err, errsz);
	if (!e)
		e = booths_site_load(NULL, *rootp, path, err, errsz);
	if (!e)
		e = watch_site_load(NULL, *rootp, path, err, errsz);
	if (!e)
		e = elder_site_load(NULL, *rootp, path, err, errsz);
	if (!e)
		e = ivr_site_load(&site, *rootp, path, cf->prompts_dir,
				  overrides, err, errsz);
	mem_deref(site);
	/* A check that fails without saying why (out of memory, or a limit
	 * a module forgot to word) must still leave a message: the caller
	 * prints err as it is. */
	if (e && errsz && !err[0])
		re_snprintf(err, errsz, "%s: the site cannot be used: %m",
			    path, e);
	return e;
}

int site_check(const char *path, const struct conf *cf, char *err,
	       size_t errsz)
{
	struct json *root = NULL;
	char *text = NULL;
	int e = load(path, cf, &root, &text, err, errsz);

	mem_deref(root);
	mem_deref(text);
	return e;
}

/* sox in a child process: no shell, so no quoting of file names. */
static int convert(const char *in, const char *out)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0) {
		execlp("sox", "sox", "-q", in, "-r", "8000", "-c", "1", "-b",
		       "16", "-t", "wav", out, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return EIO;
	return 0;
}

int site_import(const char *path, const struct conf *cf, struct store *st,
		char *err, size_t errsz)
{
	const struct json *prompts;
	struct json *root = NULL;
	char *text = NULL, overrides[600], recordings[600], base[600];
	const char *slash;
	int e;

	e = load(path, cf, &root, &text, err, errsz);
	if (e)
		goto out;

	dirs(cf, overrides, recordings, sizeof(overrides));
	slash = strrchr(path, '/');
	re_snprintf(base, sizeof(base), "%b", path,
		    slash ? (size_t)(slash - path) : (size_t)0);
	if (!slash)
		str_ncpy(base, ".", sizeof(base));

	/* Convert every recorded prompt before anything is committed. */
	prompts = json_get(root, "prompts");
	for (int pass = 0; pass < 2 && !e; pass++) {
		for (size_t i = 0; i < json_count(prompts) && !e; i++) {
			const struct json *o = json_at(prompts, i);
			for (size_t k = 0; k < json_count(o) && !e; k++) {
				const char *lang = json_key(o, k);
				const char *wav = json_str(json_at(o, k));
				char in[1200], out[1200], tmp[1300];

				re_snprintf(out, sizeof(out), "%s/%s/%s.wav",
					    overrides, lang,
					    json_key(prompts, i));
				re_snprintf(tmp, sizeof(tmp), "%s.tmp", out);
				if (pass == 1) {
					if (rename(tmp, out))
						e = errno;
					continue;
				}
				re_snprintf(in, sizeof(in), "%s%s%s",
					    wav[0] == '/' ? "" : base,
					    wav[0] == '/' ? "" : "/", wav);
				(void)mkdir(cf->data_dir, 0755);
				(void)mkdir(overrides, 0755);
				re_snprintf(out, sizeof(out), "%s/%s",
					    overrides, lang);
				(void)mkdir(out, 0755);
				if (convert(in, tmp)) {
					(void)unlink(tmp);
					re_snprintf(err, errsz, "%s:%u: cannot"
						    " convert %s (sox failed)",
						    path, json_line(
							    json_at(o, k)),
						    in);
					e = EIO;
				}
			}
		}
		if (pass == 0 && !e) {
			e = store_site_put(st, text);
			if (e)
				re_snprintf(err, errsz, "%s: the store refused"
					    " the site: %m", path, e);
		}
	}
	(void)mkdir(cf->data_dir, 0755);
	(void)mkdir(recordings, 0755);
 out:
	mem_deref(root);
	mem_deref(text);
	return e;
}

int site_export(struct store *st, FILE *f)
{
	char *body = NULL;
	int e = store_site_get(st, &body);

	if (e)
		return e;
	fputs(body, f);
	if (body[0] && body[strlen(body) - 1] != '\n')
		fputc('\n', f);
	mem_deref(body);
	return 0;
}
