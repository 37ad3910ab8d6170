/*
 * The B2BUA's own small SDP reader/writer.  libre's sdp module negotiates
 * for an endpoint that owns its codecs; a B2BUA only needs to read the
 * peer's audio stream and write the same stream with its own address.
 * Writing it here also avoids two libre 1.1.0 faults (docs/design.md):
 * static payload types offered without a=rtpmap were missed (a wrong 488),
 * and a body whose last line lacked CRLF was rejected.
 *
 * Video is relayed without being understood: of the first m=video line
 * we keep each format's rtpmap and fmtp and the rtcp-fb lines, enough for
 * the two ends to agree through us, and match formats by name.
 */
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include "media/media.h"

static const struct { uint8_t pt; const char *name; } statics[] = {
	{0, "PCMU"}, {8, "PCMA"},
};

/* Payload types of the audio m-line kept for its rtpmaps. */
enum { MAX_LISTED = 32 };

static const struct { uint8_t pt; const char *name; } vstatics[] = {
	{26, "JPEG"}, {31, "H261"}, {32, "MPV"}, {34, "H263"},
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

/* Text we may echo in an attribute: printable ASCII and spaces only, so
 * that nothing a peer sends can start a line of its own in our SDP. */
static bool sdp_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < ' ' || p[i] >= 0x7f)
			return false;
	return true;
}

static struct msdp_vcodec *vcodec_by_pt(struct msdp_video *v, unsigned pt)
{
	for (int i = 0; i < v->ncodecs; i++)
		if (v->codecs[i].pt == pt)
			return &v->codecs[i];
	return NULL;
}

/* The video attributes we keep: rtpmap, fmtp, rtcp-fb, framerate. */
static void video_attr(struct msdp_video *v, const struct pl *a)
{
	char buf[256], nm[32];
	struct msdp_vcodec *c;
	unsigned pt, rate;
	int off = 0;

	if (a->l >= sizeof(buf) || !sdp_text(a->p, a->l))
		return;
	memcpy(buf, a->p, a->l);
	buf[a->l] = '\0';

	if (sscanf(buf, "rtpmap:%u %31[^/]/%u", &pt, nm, &rate) == 3) {
		c = vcodec_by_pt(v, pt);
		if (c && !c->name[0] && sdp_field(nm, sizeof(c->name) - 1) &&
		    rate) {
			str_ncpy(c->name, nm, sizeof(c->name));
			c->rate = rate;
		}
	}
	else if (sscanf(buf, "fmtp:%u %n", &pt, &off) == 1 && off) {
		c = vcodec_by_pt(v, pt);
		if (!c)
			return;
		if (strlen(buf + off) >= sizeof(c->fmtp))
			c->pt = 0xff;  /* cut parameters would lie: drop it */
		else
			str_ncpy(c->fmtp, buf + off, sizeof(c->fmtp));
	}
	else if (!strncmp(buf, "rtcp-fb:", 8)) {
		const char *f = buf + 8;
		char *e;
		unsigned long n = strtoul(f, &e, 10);
		bool any = f[0] == '*' && f[1] == ' ';
		if (!any && (e == f || *e != ' ' || !vcodec_by_pt(v, n)))
			return;
		if (v->nfb < MSDP_MAX_FB && strlen(f) < sizeof(v->fb[0]))
			str_ncpy(v->fb[v->nfb++], f, sizeof(v->fb[0]));
	}
	else if (!strncmp(buf, "framerate:", 10) &&
		 strlen(buf + 10) < sizeof(v->framerate)) {
		str_ncpy(v->framerate, buf + 10, sizeof(v->framerate));
	}
}

/* After the video section: formats in m-line order, unnamed ones (no
 * rtpmap, not static) and dropped ones out. */
static void video_compact(struct msdp_video *v)
{
	uint8_t n = 0;

	for (int i = 0; i < v->ncodecs; i++)
		if (v->codecs[i].name[0] && v->codecs[i].pt < 128)
			v->codecs[n++] = v->codecs[i];
	v->ncodecs = n;
	/* Feedback for a format that went has nothing to refer to. */
	n = 0;
	for (int i = 0; i < v->nfb; i++) {
		char *e;
		unsigned long pt = strtoul(v->fb[i], &e, 10);
		if (v->fb[i][0] == '*' || vcodec_by_pt(v, pt))
			memmove(v->fb[n++], v->fb[i], sizeof(v->fb[0]));
	}
	v->nfb = n;
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

/* The audio m-line's formats, from tok on: statics known by number, the
 * rest remembered for the rtpmaps that follow. */
static void audio_formats(struct msdp *s, char *tok, char **save,
			  uint8_t *listed, uint8_t *nlisted)
{
	s->audio_idx = s->nmlines;
	for (; tok; tok = strtok_r(NULL, " \t", save)) {
		char *e;
		unsigned long pt = strtoul(tok, &e, 10);
		if (*e || pt > 127)
			continue;
		if (*nlisted < MAX_LISTED)
			listed[(*nlisted)++] = (uint8_t)pt;
		for (size_t i = 0; i < ARRAY_SIZE(statics); i++)
			if (statics[i].pt == pt)
				add_codec(s, (uint8_t)pt, statics[i].name);
	}
}

/* The video m-line's formats: a slot per listed format, in order; a
 * static type is named by its number, the rtpmaps that follow name the
 * others. */
static void video_formats(struct msdp *s, char *tok, char **save)
{
	struct msdp_video *vd = &s->video;

	s->video_idx = s->nmlines;
	for (; tok; tok = strtok_r(NULL, " \t", save)) {
		char *e;
		unsigned long pt = strtoul(tok, &e, 10);
		struct msdp_vcodec *c;
		if (*e || pt > 127 || vcodec_by_pt(vd, pt) ||
		    vd->ncodecs >= MSDP_MAX_CODECS)
			continue;
		c = &vd->codecs[vd->ncodecs++];
		c->pt = (uint8_t)pt;
		for (size_t i = 0; i < ARRAY_SIZE(vstatics); i++) {
			if (vstatics[i].pt == pt) {
				str_ncpy(c->name, vstatics[i].name,
					 sizeof(c->name));
				c->rate = 90000;
			}
		}
	}
}

/* One c= line's address into sa. */
static int conn_addr(struct sa *sa, const struct pl *v)
{
	char buf[128], nt[8], at[8], ip[64];

	if (v->l >= sizeof(buf))
		return EBADMSG;
	memcpy(buf, v->p, v->l);
	buf[v->l] = '\0';
	if (sscanf(buf, "%7s %7s %63[^/ \t]", nt, at, ip) != 3 ||
	    strcmp(nt, "IN") || (strcmp(at, "IP4") && strcmp(at, "IP6")) ||
	    sa_set_str(sa, ip, 0))
		return EBADMSG;
	return 0;
}

int msdp_parse(struct msdp *s, const struct pl *body)
{
	struct pl rest = *body, line;
	struct sa sess_addr, media_addr, video_addr;
	enum { SEC_SESSION, SEC_AUDIO, SEC_VIDEO, SEC_OTHER } sec = SEC_SESSION;
	bool have_media_c = false, have_sess_c = false, have_video_c = false;
	enum mdir sess_dir = MDIR_SENDRECV, media_dir = MDIR_SENDRECV;
	enum mdir video_dir = MDIR_SENDRECV;
	bool media_dir_set = false, video_dir_set = false;
	uint8_t listed[MAX_LISTED];
	uint8_t nlisted = 0;
	uint16_t port = 0, vport = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->te_pt = -1;
	s->audio_idx = -1;
	s->video_idx = -1;
	sa_init(&sess_addr, AF_UNSPEC);
	sa_init(&media_addr, AF_UNSPEC);
	sa_init(&video_addr, AF_UNSPEC);

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

		case 'c':
			if (sec == SEC_OTHER)
				break;
			err = conn_addr(sec == SEC_SESSION ? &sess_addr :
					sec == SEC_AUDIO ? &media_addr :
					&video_addr, &v);
			if (err)
				return err;
			if (sec == SEC_SESSION)
				have_sess_c = true;
			else if (sec == SEC_AUDIO)
				have_media_c = true;
			else
				have_video_c = true;
			break;

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
			sec = SEC_OTHER;
			/* %b: libre's %s has no precision. */
			re_snprintf(s->mline[s->nmlines], sizeof(s->mline[0]),
				    "%s %s %b", media, proto, tok,
				    strlen(tok) < 11 ? strlen(tok) : (size_t)11);
			unsigned long mport = strtoul(p, NULL, 10);
			if (s->audio_idx < 0 && !strcmp(media, "audio") &&
			    !strcasecmp(proto, "RTP/AVP") &&
			    mport > 0 && mport < 65536) {
				sec = SEC_AUDIO;
				port = (uint16_t)mport;
				audio_formats(s, tok, &save, listed, &nlisted);
			}
			else if (s->video_idx < 0 && !strcmp(media, "video") &&
				 (!strcasecmp(proto, "RTP/AVP") ||
				  !strcasecmp(proto, "RTP/AVPF")) &&
				 mport > 0 && mport < 65536) {
				sec = SEC_VIDEO;
				vport = (uint16_t)mport;
				s->video.avpf = !strcasecmp(proto, "RTP/AVPF");
				video_formats(s, tok, &save);
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
				if (sec == SEC_SESSION)
					sess_dir = d;
				else if (sec == SEC_AUDIO) {
					media_dir = d;
					media_dir_set = true;
				}
				else if (sec == SEC_VIDEO) {
					video_dir = d;
					video_dir_set = true;
				}
				break;
			}
			if (sec == SEC_VIDEO) {
				video_attr(&s->video, &v);
				break;
			}
			if (sec != SEC_AUDIO)
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

	if (s->video_idx >= 0) {
		video_compact(&s->video);
		s->video.dir = video_dir_set ? video_dir : sess_dir;
		if (have_video_c || have_sess_c) {
			s->video.addr = have_video_c ? video_addr : sess_addr;
			sa_set_port(&s->video.addr, vport);
		}
		else {
			s->video.ncodecs = 0;   /* nowhere to send it */
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

bool msdp_has_video(const struct msdp *s)
{
	return s->video_idx >= 0 && s->video.ncodecs > 0;
}

static const struct msdp_vcodec *vcodec_like(const struct msdp_video *v,
					     const struct msdp_vcodec *c)
{
	for (int i = 0; i < v->ncodecs; i++)
		if (!strcasecmp(v->codecs[i].name, c->name) &&
		    v->codecs[i].rate == c->rate)
			return &v->codecs[i];
	return NULL;
}

void msdp_video_pick(struct msdp_video *out, const struct msdp_video *to,
		     const struct msdp_video *other)
{
	struct msdp_video v = *to;

	v.ncodecs = 0;
	v.nfb = 0;
	str_ncpy(v.framerate, other->framerate, sizeof(v.framerate));
	for (int i = 0; i < to->ncodecs; i++) {
		const struct msdp_vcodec *o;

		o = vcodec_like(other, &to->codecs[i]);
		if (!o)
			continue;
		v.codecs[v.ncodecs] = to->codecs[i];
		str_ncpy(v.codecs[v.ncodecs].fmtp, o->fmtp,
			 sizeof(v.codecs[0].fmtp));
		v.ncodecs++;
	}
	/* The feedback the receiver asked for, in to's numbering. */
	for (int i = 0; i < other->nfb && v.nfb < MSDP_MAX_FB; i++) {
		const char *f = other->fb[i];
		char *e;
		unsigned long pt = strtoul(f, &e, 10);

		if (f[0] == '*') {
			str_ncpy(v.fb[v.nfb++], f, sizeof(v.fb[0]));
			continue;
		}
		for (int j = 0; j < other->ncodecs; j++) {
			const struct msdp_vcodec *t;
			if (other->codecs[j].pt != pt)
				continue;
			t = vcodec_like(&v, &other->codecs[j]);
			if (t)
				re_snprintf(v.fb[v.nfb++], sizeof(v.fb[0]),
					    "%u%s", t->pt, e);
			break;
		}
	}
	*out = v;
}

size_t msdp_video_ptmap(const struct msdp_video *from,
			const struct msdp_video *to, uint8_t *in, uint8_t *out,
			size_t max)
{
	size_t n = 0;

	for (int i = 0; i < from->ncodecs && n < max; i++) {
		const struct msdp_vcodec *t = vcodec_like(to, &from->codecs[i]);
		if (t && t->pt != from->codecs[i].pt) {
			in[n] = from->codecs[i].pt;
			out[n++] = t->pt;
		}
	}
	return n;
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

/* The video m-line and its attributes; its address is the session's. */
static int video_encode(struct mbuf *mb, const struct msdp_video *v)
{
	int err;

	err = mbuf_printf(mb, "m=video %u RTP/AVP%s", sa_port(&v->addr),
			  v->avpf ? "F" : "");
	for (int i = 0; i < v->ncodecs; i++)
		err |= mbuf_printf(mb, " %u", v->codecs[i].pt);
	err |= mbuf_printf(mb, "\r\n");
	for (int i = 0; i < v->ncodecs; i++) {
		const struct msdp_vcodec *c = &v->codecs[i];
		err |= mbuf_printf(mb, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name,
				   c->rate);
		if (c->fmtp[0])
			err |= mbuf_printf(mb, "a=fmtp:%u %s\r\n", c->pt,
					   c->fmtp);
	}
	for (int i = 0; i < v->nfb; i++) {
		char *e;
		unsigned long pt = strtoul(v->fb[i], &e, 10);
		bool listed = v->fb[i][0] == '*';

		for (int j = 0; j < v->ncodecs && !listed; j++)
			listed = e != v->fb[i] && v->codecs[j].pt == pt;
		if (listed)
			err |= mbuf_printf(mb, "a=rtcp-fb:%s\r\n", v->fb[i]);
	}
	if (v->framerate[0])
		err |= mbuf_printf(mb, "a=framerate:%s\r\n", v->framerate);
	err |= mbuf_printf(mb, "a=%s\r\n", msdp_dir_name(v->dir));
	return err;
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
		if (m == s->video_idx && sa_port(&s->video.addr) &&
		    s->video.ncodecs) {
			err = video_encode(mb, &s->video);
			continue;
		}
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
