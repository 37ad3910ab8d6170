/*
 * The B2BUA's own small SDP reader/writer.  libre's sdp module negotiates
 * for an endpoint that owns its codecs; a B2BUA only needs to read the
 * peer's audio stream and write the same stream with its own address.
 * Writing it here also avoids two libre 1.1.0 faults (docs/design.md):
 * static payload types offered without a=rtpmap were missed (a wrong 488),
 * and a body whose last line lacked CRLF was rejected.
 */
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include "media/media.h"

static const struct { uint8_t pt; const char *name; } statics[] = {
	{0, "PCMU"}, {8, "PCMA"},
};

static bool codec_known(const char *name)
{
	return !strcasecmp(name, "PCMU") || !strcasecmp(name, "PCMA");
}

/* An m-line field we may echo: RFC 4566 token characters (visible ASCII)
 * and at most max bytes. */
static bool sdp_field(const char *f, size_t max)
{
	size_t n = strlen(f);

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (f[i] <= ' ' || f[i] >= 0x7f)
			return false;
	return true;
}

static int add_codec(struct msdp *s, uint8_t pt, const char *name)
{
	struct msdp_codec *c;

	for (int i = 0; i < s->ncodecs; i++)
		if (s->codecs[i].pt == pt)
			return 0;
	if (s->ncodecs >= MSDP_MAX_CODECS)
		return 0;
	c = &s->codecs[s->ncodecs++];
	c->pt = pt;
	str_ncpy(c->name, name, sizeof(c->name));
	return 0;
}

/* One rtpmap line: "PT NAME/RATE[/CH]". */
static void rtpmap(struct msdp *s, const struct pl *v, uint8_t *listed,
		   uint8_t nlisted)
{
	char buf[128], nm[32];
	unsigned pt, rate;

	if (v->l >= sizeof(buf))
		return;
	memcpy(buf, v->p, v->l);
	buf[v->l] = '\0';
	if (sscanf(buf, "%u %31[^/]/%u", &pt, nm, &rate) != 3 || pt > 127)
		return;
	/* Only payload types that the audio m-line lists count. */
	if (!memchr(listed, (int)pt, nlisted))
		return;
	if (!strcasecmp(nm, "telephone-event") && rate == 8000)
		s->te_pt = (int)pt;
	else if (codec_known(nm) && rate == 8000)
		add_codec(s, (uint8_t)pt,
			  !strcasecmp(nm, "PCMU") ? "PCMU" : "PCMA");
}

int msdp_parse(struct msdp *s, const struct pl *body)
{
	struct pl rest = *body, line;
	struct sa sess_addr, media_addr;
	bool in_audio = false, have_media_c = false, have_sess_c = false;
	enum mdir sess_dir = MDIR_SENDRECV, media_dir = MDIR_SENDRECV;
	bool media_dir_set = false;
	uint8_t listed[32];
	uint8_t nlisted = 0;
	uint16_t port = 0;

	memset(s, 0, sizeof(*s));
	s->te_pt = -1;
	s->audio_idx = -1;
	sa_init(&sess_addr, AF_UNSPEC);
	sa_init(&media_addr, AF_UNSPEC);

	/* Two passes would re-split; instead remember the audio m-line's
	 * payload list and resolve rtpmaps as they come (they follow it). */
	while (rest.l) {
		const char *nl = pl_strchr(&rest, '\n');
		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		rest.p += line.l + (nl ? 1 : 0);
		rest.l -= line.l + (nl ? 1 : 0);
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		if (line.l < 2 || line.p[1] != '=')
			continue;

		struct pl v = {line.p + 2, line.l - 2};

		switch (line.p[0]) {

		case 'c': {
			char buf[128], nt[8], at[8], ip[64];
			struct sa *sa = s->nmlines ? &media_addr : &sess_addr;
			if (s->nmlines && !in_audio)
				break;
			if (v.l >= sizeof(buf))
				return EBADMSG;
			memcpy(buf, v.p, v.l);
			buf[v.l] = '\0';
			if (sscanf(buf, "%7s %7s %63[^/ \t]", nt, at, ip) != 3 ||
			    strcmp(nt, "IN") ||
			    (strcmp(at, "IP4") && strcmp(at, "IP6")) ||
			    sa_set_str(sa, ip, 0))
				return EBADMSG;
			if (s->nmlines)
				have_media_c = true;
			else
				have_sess_c = true;
			break;
		}

		case 'm': {
			char buf[512], *save = NULL, *media, *p, *proto, *tok;
			if (s->nmlines >= MSDP_MAX_MLINES)
				return EOVERFLOW;
			if (v.l >= sizeof(buf))
				return EBADMSG;
			memcpy(buf, v.p, v.l);
			buf[v.l] = '\0';
			media = strtok_r(buf, " \t", &save);
			p = strtok_r(NULL, " \t", &save);
			proto = strtok_r(NULL, " \t", &save);
			tok = strtok_r(NULL, " \t", &save);
			if (!media || !p || !proto || !tok)
				return EBADMSG;
			/* Our answer repeats "media proto fmt" of each line it
			 * rejects: each must read back as one field, and the
			 * three must fit mline[] (11 + 1 + 23 + 1 + 11), or
			 * the SDP we send is malformed.  A format may be cut:
			 * a rejected line's formats carry no meaning. */
			if (!sdp_field(media, 11) || !sdp_field(proto, 23) ||
			    !sdp_field(tok, strlen(tok)))
				return EBADMSG;
			in_audio = false;
			/* %b: libre's %s has no precision. */
			re_snprintf(s->mline[s->nmlines], sizeof(s->mline[0]),
				    "%s %s %b", media, proto, tok,
				    strlen(tok) < 11 ? strlen(tok) : (size_t)11);
			unsigned long mport = strtoul(p, NULL, 10);
			if (s->audio_idx < 0 && !strcmp(media, "audio") &&
			    !strcasecmp(proto, "RTP/AVP") &&
			    mport > 0 && mport < 65536) {
				s->audio_idx = s->nmlines;
				in_audio = true;
				port = (uint16_t)mport;
				for (; tok; tok = strtok_r(NULL, " \t", &save)) {
					char *e;
					unsigned long pt = strtoul(tok, &e, 10);
					if (*e || pt > 127)
						continue;
					if (nlisted < sizeof(listed))
						listed[nlisted++] = (uint8_t)pt;
					for (size_t i = 0; i < ARRAY_SIZE(statics); i++)
						if (statics[i].pt == pt)
							add_codec(s, (uint8_t)pt,
								  statics[i].name);
				}
			}
			s->nmlines++;
			break;
		}

		case 'a': {
			enum mdir d;
			bool is_dir = true;
			if (!pl_strcmp(&v, "sendrecv"))      d = MDIR_SENDRECV;
			else if (!pl_strcmp(&v, "sendonly")) d = MDIR_SENDONLY;
			else if (!pl_strcmp(&v, "recvonly")) d = MDIR_RECVONLY;
			else if (!pl_strcmp(&v, "inactive")) d = MDIR_INACTIVE;
			else is_dir = false;

			if (is_dir) {
				if (!s->nmlines)
					sess_dir = d;
				else if (in_audio) {
					media_dir = d;
					media_dir_set = true;
				}
				break;
			}
			if (!in_audio)
				break;
			if (v.l > 7 && !memcmp(v.p, "rtpmap:", 7)) {
				struct pl r = {v.p + 7, v.l - 7};
				rtpmap(s, &r, listed, nlisted);
			}
			else if (v.l > 6 && !memcmp(v.p, "ptime:", 6)) {
				struct pl r = {v.p + 6, v.l - 6};
				s->ptime = pl_u32(&r);
			}
			break;
		}
		default:
			break;
		}
	}

	if (s->audio_idx < 0)
		return 0;
	if (!have_media_c && !have_sess_c)
		return EBADMSG;
	s->addr = have_media_c ? media_addr : sess_addr;
	sa_set_port(&s->addr, port);
	s->dir = media_dir_set ? media_dir : sess_dir;
	return 0;
}

void msdp_intersect(struct msdp *out, const struct msdp *offer,
		    const struct msdp *answer)
{
	uint8_t n = 0;

	for (int i = 0; i < answer->ncodecs; i++) {
		for (int j = 0; j < offer->ncodecs; j++) {
			if (answer->codecs[i].pt == offer->codecs[j].pt)
				out->codecs[n++] = answer->codecs[i];
		}
	}
	out->ncodecs = n;
	out->te_pt = (offer->te_pt >= 0 && answer->te_pt == offer->te_pt) ?
		offer->te_pt : -1;
}

enum mdir msdp_dir_reverse(enum mdir d)
{
	switch (d) {
	case MDIR_SENDONLY: return MDIR_RECVONLY;
	case MDIR_RECVONLY: return MDIR_SENDONLY;
	default:            return d;
	}
}

const char *msdp_dir_name(enum mdir d)
{
	static const char *n[] = {"inactive", "sendonly", "recvonly",
				  "sendrecv"};
	return n[d & 3];
}

int msdp_encode(struct mbuf **mbp, const struct msdp *s, uint64_t sess_id,
		uint32_t version)
{
	struct mbuf *mb;
	const char *ipv = sa_af(&s->addr) == AF_INET6 ? "IP6" : "IP4";
	int err;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "v=0\r\no=laoyou %llu %u IN %s %j\r\n"
			  "s=laoyou\r\nc=IN %s %j\r\nt=0 0\r\n",
			  (unsigned long long)sess_id, version, ipv, &s->addr,
			  ipv, &s->addr);

	for (int m = 0; m < s->nmlines && !err; m++) {
		if (m != s->audio_idx) {
			/* media proto fmt → rejected in place */
			char media[16] = "", proto[24] = "", fmt[16] = "";
			(void)sscanf(s->mline[m], "%15s %23s %15s", media,
				     proto, fmt);
			err = mbuf_printf(mb, "m=%s 0 %s %s\r\n", media, proto,
					  fmt);
			continue;
		}
		err = mbuf_printf(mb, "m=audio %u RTP/AVP", sa_port(&s->addr));
		for (int i = 0; i < s->ncodecs; i++)
			err |= mbuf_printf(mb, " %u", s->codecs[i].pt);
		if (s->te_pt >= 0)
			err |= mbuf_printf(mb, " %d", s->te_pt);
		err |= mbuf_printf(mb, "\r\n");
		for (int i = 0; i < s->ncodecs; i++)
			err |= mbuf_printf(mb, "a=rtpmap:%u %s/8000\r\n",
					   s->codecs[i].pt, s->codecs[i].name);
		if (s->te_pt >= 0)
			err |= mbuf_printf(mb, "a=rtpmap:%d telephone-event/8000"
					   "\r\na=fmtp:%d 0-16\r\n", s->te_pt,
					   s->te_pt);
		if (s->ptime)
			err |= mbuf_printf(mb, "a=ptime:%u\r\n", s->ptime);
		err |= mbuf_printf(mb, "a=%s\r\n", msdp_dir_name(s->dir));
	}

	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->pos = 0;
	*mbp = mb;
	return 0;
}
