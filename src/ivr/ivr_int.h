/* ivr: private to the folder. */
#ifndef LAOYOU_IVR_INT_H
#define LAOYOU_IVR_INT_H
#include <re.h>
#include "ivr/ivr.h"

enum node_type {
	N_PLAY, N_MENU, N_LANGUAGE, N_HOURS, N_QUEUE, N_TRANSFER, N_VOICEMAIL,
	N_SURVEY, N_HANGUP, N_TYPES
};

enum { MAX_PROMPTS = 8, NODE_NAME_MAX = 48, KEYS = 12 };  /* 0-9 * # */

enum rec_policy { REC_NONE, REC_MIXED, REC_STEREO };
enum vm_mode { VM_MESSAGE, VM_NUMBER };

struct node {
	char name[NODE_NAME_MAX];
	enum node_type type;
	unsigned line;
	char prompts[MAX_PROMPTS][NODE_NAME_MAX];
	size_t nprompts;
	int next;                  /* node index, -1 = none */
	int options[KEYS];         /* menu: key → node */
	uint32_t timeout_s;
	uint32_t retries;
	int fallback;              /* menu retries used up; transfer failed */
	bool barge;
	char target[32];           /* transfer: an extension or number */
	char queue[NODE_NAME_MAX]; /* queue: an ACD queue */
	int priority;
	char skill[32];            /* queue: a skill the agent must have */
	int schedule;              /* hours */
	int open, closed;
	enum vm_mode vm;
	uint32_t max_s;
};

struct flow {
	char name[NODE_NAME_MAX];
	struct node *nodes;
	size_t n;
	int start;
};

struct hotline {
	char number[32];
	char name[96];
	int flow;
	bool survey;
	enum rec_policy record;
	char lang[4];
};

struct ivr_site {
	struct flow *flows;
	size_t nflows;
	struct hotline *hotlines;
	size_t nhotlines;
	struct schedule **schedules;
	char (*schedule_names)[NODE_NAME_MAX];
	size_t nschedules;
};

/* flow.c */
const struct hotline *site_hotline(const struct ivr_site *s,
				   const char *number);
/** Index of key in a node's option table, -1 if not a key. */
int key_index(char key);

#endif
