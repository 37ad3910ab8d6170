# laoyou — GNU make build.  `make run` starts the demo, `make test` runs everything.
BUILD    ?= build
VERSION  := 0.1.0
RE_CFLAGS := $(shell pkg-config --cflags libre 2>/dev/null)
# libre's headers need these, or `bool` changes size under our feet.
RE_DEFS  := -DHAVE_INTTYPES_H -DHAVE_STDBOOL_H -DHAVE_INET6
OPT      ?= -O2 -g
CFLAGS   := $(OPT) -std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter \
            -Isrc $(RE_CFLAGS) $(RE_DEFS) -DLAOYOU_VERSION=\"$(VERSION)\"
# Static libre: our heap timer (src/core/tmr.c) replaces libre's tmr.o.
LIBS     := /usr/lib/x86_64-linux-gnu/libre.a -lssl -lcrypto -lz -lpthread -ldl -lsqlite3 -lspandsp -lsodium -lm

SRCS := $(filter-out src/main.c,$(wildcard src/*/*.c))
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)

.PHONY: all deps run test unit clean prompts fuzz

all: $(BUILD)/laoyou $(BUILD)/prompts/.rendered

# Prompts: rendered from the catalog; the script itself skips unchanged ones.
prompts: $(BUILD)/prompts/.rendered

$(BUILD)/prompts/.rendered: $(wildcard prompts/*.tsv) scripts/prompts
	scripts/prompts $(BUILD)/prompts
	@touch $@

deps:
	@scripts/deps

$(BUILD)/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/laoyou: $(OBJS) $(BUILD)/src/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) -Wl,-Map=$(BUILD)/laoyou.map
	@! grep -qE 'libre.a\((tmr|rand)\.o\)' $(BUILD)/laoyou.map || \
		{ echo "libre's tmr.o or rand.o was linked: ours are not in use" >&2; exit 1; }

$(BUILD)/unit: $(OBJS) $(UNIT_SRCS:%.c=$(BUILD)/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The sanitizer build lives in its own tree so it never mixes objects.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(BUILD)-asan/unit $(BUILD)-asan/laoyou: FORCE
	@$(MAKE) --no-print-directory BUILD=$(BUILD)-asan OPT="$(ASAN_FLAGS)" $@

FORCE:

run: deps all
	@scripts/demo

test: deps all $(BUILD)/unit
	@scripts/test-all

unit: $(BUILD)/unit
	$(BUILD)/unit

# libFuzzer targets (clang) for every parser of outside input; each runs
# FUZZ_SECONDS (default 600).  `make test` runs each for 5 s.
fuzz:
	$(MAKE) -f fuzz/Makefile
	fuzz/run

clean:
	rm -rf $(BUILD) $(BUILD)-asan build-fuzz
