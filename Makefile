# wspush build. `make` builds build/wspushd; see README.md for every target.
# Cross builds (README, "Cross builds"): CROSS=aarch64-linux-gnu- (any toolchain prefix)
# compiles with $(CROSS)g++ into build/<triplet>, so native and target objects never mix.
CROSS     ?=
ifneq ($(CROSS),)
  TRIPLET := $(patsubst %-,%,$(notdir $(CROSS)))
  CXX     := $(CROSS)g++
  STRIP   ?= $(CROSS)strip
  BUILD   ?= build/$(TRIPLET)
  # 32-bit arm: g++ notes each std::map iterator passed by value that GCC 7.1 passes
  # differently; everything here is built by one compiler.
  WARN_ABI := $(if $(filter arm%,$(TRIPLET)),-Wno-psabi)
  # 32-bit targets: 64-bit time_t and file offsets, so that clocks, log times and robot
  # timestamps go past 2038 (glibc 2.34+; no-ops on 64-bit targets).
  ABI_FLAGS := -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
endif
CXX       ?= g++
BUILD     ?= build
SAN       ?=

CXXSTD    := -std=c++20
WARN      := -Wall -Wextra -Werror $(WARN_ABI)
DEPFLAGS  := -MMD -MP
# One short line per compiled or linked file ("  CXX src/ws/frame.cpp"); V=1 prints the
# whole command lines.
ifeq ($(V),1)
  Q :=
  say :=
else
  Q := @
  say = @printf '  %-4s %s\n' $(1) $(2);
endif

ifeq ($(SAN),1)
  OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  SRV_LINK :=
  SRV_LTO  :=
else
  OPT      := -O2
  # Link-time optimization for the server binary (about 16 KB less: inlining and dead code
  # across files). Each function keeps the -O2 or -Os it was compiled with. Fat objects: the
  # tests, wsload and the benchmarks link the same objects with -fno-lto.
  SRV_LTO  := -flto -ffat-lto-objects
  # No shared libstdc++ at run time: the server links only libc (README, "Performance").
  # Size: -z noseparate-code puts code and read-only data in one segment (no page padding
  # between them, ~4 KB); -z pack-relative-relocs stores the ~360 relative relocations of
  # the PIE (tables of string_views and function pointers) as a DT_RELR bitmap (~4 KB less,
  # needs glibc 2.36, which Debian 12 has; only where the linker has the option: Debian 12's
  # binutils 2.40 has it for x86, not for aarch64 or arm, whose builds keep their RELA/REL
  # tables); -z now binds every libc call at start-up, which makes the GOT read-only (full
  # RELRO) and drops the lazy-binding table (~0.6 KB).
  PACK_RELOCS = $(shell $$($(CXX) -print-prog-name=ld) --help 2>/dev/null | grep -q pack-relative-relocs && \
    echo -Wl,-z,pack-relative-relocs)
  SRV_LINK = -flto=auto -static-libstdc++ -static-libgcc -Wl,--gc-sections -Wl,-O1 -Wl,--as-needed \
    -Wl,-z,noseparate-code $(PACK_RELOCS) -Wl,-z,now
endif

# Server code: no exceptions, no RTTI, sections for --gc-sections.
SRV_CXXFLAGS  := $(CXXSTD) $(ABI_FLAGS) $(WARN) $(OPT) -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables \
  -ffunction-sections -fdata-sections -Isrc
# Tests, benchmarks and tools: ordinary C++.
TEST_CXXFLAGS := $(CXXSTD) $(ABI_FLAGS) $(WARN) $(OPT) -Isrc -Itools -Itests \
  -DWSPUSH_SOURCE_DIR=\"$(CURDIR)\" \
  -DWSPUSHD_BIN=\"$(abspath $(BUILD))/wspushd\" \
  -DWSLOAD_BIN=\"$(abspath $(BUILD))/wsload\"
# GoogleTest: Debian's libgtest-dev natively; for a cross build, gtest and gtest_main compiled
# by the cross compiler from Debian's source (package googletest) into $(BUILD)/gtest.
GTEST_DIR ?= /usr/src/googletest/googletest
ifeq ($(CROSS),)
  GTEST_OBJ  :=
  GTEST_LIBS := -lgtest -lgtest_main
else
  GTEST_OBJ  := $(BUILD)/gtest/gtest-all.o $(BUILD)/gtest/gtest_main.o
  GTEST_LIBS :=
  TEST_CXXFLAGS += -isystem $(GTEST_DIR)/include
endif

# The builds behind test/asan/memcheck run on every core unless -j was given.
PARALLEL   := $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc))

SRC_ALL    := $(shell find src -name '*.cpp' | sort)
SRC_ASM    := $(shell find src -name '*.S' | sort)
# no_throw.cpp replaces libstdc++'s throwing helpers and operator new: server binary only
# (tests and tools use exceptions), and never under the sanitizers, which bring their own.
SRV_ONLY   := src/base/no_throw.cpp
SRC_LIB    := $(filter-out src/main.cpp $(SRV_ONLY),$(SRC_ALL))
# tests/fuzz holds libFuzzer entry points (make fuzz-build), not GoogleTest cases.
TEST_SRC   := $(shell find tests -name '*.cpp' ! -path 'tests/fuzz/*' | sort)
# A cross build's tests (make test-cross): every module's unit tests, the conformance suite
# and the push tests over loopback. The other server tests need the host's peers or measure
# the server process, and tests/interop runs python3-websockets (README, "Cross builds").
ifneq ($(CROSS),)
  TEST_SRC := $(filter-out tests/server/% tests/interop/% tests/support/% tests/tools/wsload_modes_test.cpp,$(TEST_SRC)) \
    tests/server/push_test.cpp \
    $(addprefix tests/support/,progress.cpp test_server.cpp conformance.cpp push_support.cpp process_info.cpp)
endif
# bench/peers holds uws_push, built from uWebSockets' source by tools/bench/peers.sh only.
BENCH_SRC  := $(wildcard bench/*_bench.cpp)
WSLOAD_SRC := $(shell find tools/wsload -name '*.cpp' ! -name 'main.cpp' | sort)

LIB_OBJ    := $(SRC_LIB:%.cpp=$(BUILD)/obj/%.o) $(SRC_ASM:%.S=$(BUILD)/obj/%.o)
MAIN_OBJ   := $(BUILD)/obj/src/main.o $(if $(SAN),,$(SRV_ONLY:%.cpp=$(BUILD)/obj/%.o))
TEST_OBJ   := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
WSLOAD_OBJ := $(WSLOAD_SRC:%.cpp=$(BUILD)/obj/%.o)
BENCH_BIN  := $(BENCH_SRC:bench/%.cpp=$(BUILD)/bench/%)

.PHONY: all run test asan memcheck bench static clean wsload deps fuzz-build fuzz install uninstall soak \
  test-cross
# Only the minified pages are kept as if intermediate. A bare .SECONDARY: would let a binary
# newer than a source whose object was never built count as up to date (a test file added by
# a merge was left out of the test binary).
.SECONDARY: $(BUILD)/gen/demo_page.html $(BUILD)/gen/status_page.html
all: $(BUILD)/wspushd $(BUILD)/wsload

# Only the per-message path is built for speed (-O2): frames, masking and UTF-8 checks, the
# out queue, the hub, channels, messages, envelopes and history, the reactor, the send ring,
# the timer wheel, and the server's event loop, sessions and delivery; on a webhook's
# per-request path, the token's SHA-256 and the request parser (no size cost, measured); with
# --workers, a worker's link to the parent and the frames on it (workers.cpp; the rest of its
# side, worker_rounds.cpp, is rare: history hand-over, rounds on every worker, TAIL).
# Everything else runs once per process, connection, handshake or HTTP request
# (configuration, set-up in setup.cpp, the upgrade and joins in upgrade.cpp, socket setup,
# HTTP bodies and responses, the handshake's SHA-1/base64, robots and cards, JSON, control
# commands, the webhook, pages, metrics, logging): -Os there keeps the binary small (README,
# "Performance").
HOT_SRC := src/ws/frame.cpp src/ws/frame_parser.cpp src/codec/utf8.cpp \
  $(wildcard src/push/*.cpp) src/net/reactor.cpp src/net/send_ring.cpp src/base/timer_wheel.cpp \
  src/server/server.cpp src/server/session.cpp src/codec/sha256.cpp src/http/request_parser.cpp \
  src/server/workers.cpp src/cluster/wire.cpp
SIZE_SRC := $(filter-out $(HOT_SRC),$(SRC_ALL))
ifeq ($(SAN),)
$(SIZE_SRC:%.cpp=$(BUILD)/obj/%.o): SIZE_OPT := -Os
endif

$(BUILD)/obj/src/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(SRV_CXXFLAGS) $(SIZE_OPT) $(SRV_LTO) $(DEPFLAGS) -c $< -o $@

# Not inlined into callers: operator new's size checks would then warn at link time about
# sizes the callers rule out.
$(SRV_ONLY:%.cpp=$(BUILD)/obj/%.o): SRV_LTO :=

# Assembler stubs that .incbin build-time assets (the demo and status pages).
$(BUILD)/obj/src/%.o: src/%.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CXX) -Isrc -DDEMO_PAGE='"$(BUILD)/gen/demo_page.html"' -DSTATUS_PAGE='"$(BUILD)/gen/status_page.html"' \
	  -MMD -MP -c $< -o $@

# The pages are embedded without their indentation and comments (about 3 KB less each).
$(BUILD)/gen/%_page.html: src/server/%_page.html tools/minify-page.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)sh tools/minify-page.sh $< > $@

# .incbin inputs are not seen by -MMD.
$(BUILD)/obj/src/server/demo_page_data.o: $(BUILD)/gen/demo_page.html
$(BUILD)/obj/src/server/status_page_data.o: $(BUILD)/gen/status_page.html

$(BUILD)/obj/tests/%.o: tests/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(TEST_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/tools/%.o: tools/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(TEST_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/bench/%.o: bench/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(TEST_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/wspushd: $(MAIN_OBJ) $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CXX) $(OPT) $^ -o $@ $(SRV_LINK)

$(BUILD)/wsload: $(BUILD)/obj/tools/wsload/main.o $(WSLOAD_OBJ) $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CXX) $(OPT) -fno-lto $^ -o $@

$(BUILD)/wspush_tests: $(TEST_OBJ) $(WSLOAD_OBJ) $(LIB_OBJ) $(GTEST_OBJ)
	$(call say,LD,$@)
	$(Q)$(CXX) $(OPT) -fno-lto $^ -o $@ $(GTEST_LIBS) -pthread

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CXX) $(OPT) -fno-lto $^ -o $@ -lbenchmark -lpthread

wsload: $(BUILD)/wsload

# Build and start the server with defaults.
run:
	@$(MAKE) -q --no-print-directory $(BUILD)/wspushd 2>/dev/null || $(MAKE) --no-print-directory $(PARALLEL) $(BUILD)/wspushd
	@bash tools/run.sh $(BUILD)

# Installs the missing build and test packages (Debian; as root), silent when all are there.
deps:
	@bash tools/install-deps.sh

# Build and run every test (unit, conformance over loopback, interop, browser), in parallel
# shards (tools/run-tests.sh: a line per finished suite, one summary line at the end).
test: deps
	$(MAKE) $(PARALLEL) $(BUILD)/wspushd $(BUILD)/wsload $(BUILD)/wspush_tests
	tools/run-tests.sh $(BUILD)/wspush_tests

# The same tests, server included, under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build/asan SAN=1 test

# The push-mode server tests with every server they start run under valgrind (Debian's
# package): an invalid read or write, or a definite leak, fails the test that started that
# server (exit status 99, or an "ERROR SUMMARY" in its log). Tests too heavy for valgrind
# (floods, thousands of clients) skip themselves.
MEMCHECK_WRAPPER := valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
MEMCHECK_TESTS   := Channels.*:Envelope.*:Relay.*:Control.*:Resume.*:Reliability*:Review.*:Heartbeat.*:Backpressure.*:Flood/SlowConsumer.*:Webhook.*:WebhookHttp.*:Hostile.*:JournalHold.*:JournalServer.Restart*:JournalServer.AFullDisk*:JournalServer.Pipelined*
memcheck: deps
	$(MAKE) $(PARALLEL) $(BUILD)/wspushd $(BUILD)/wsload $(BUILD)/wspush_tests
	WSPUSHD_WRAPPER="$(MEMCHECK_WRAPPER)" tools/run-tests.sh $(BUILD)/wspush_tests --gtest_filter='$(MEMCHECK_TESTS)'

# Micro-benchmarks, then the macro suite (server pinned to one core, load on the other), what
# the journal costs (PUB per --fsync policy, start-up on a full journal; journals under
# $(BUILD)/bench), then the same-run uWebSockets baseline (skipped, with one line, without its
# source).
bench: $(BUILD)/wspushd $(BUILD)/wspushd-static $(BUILD)/wsload $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b --benchmark_repetitions=3 --benchmark_min_time=0.1 --benchmark_report_aggregates_only=true || exit 1; done
	@if [ -x tools/bench/macro.sh ]; then tools/bench/macro.sh $(BUILD); fi
	@if [ -x tools/bench/journal.sh ]; then tools/bench/journal.sh $(BUILD); fi
	@if [ -x tools/bench/scale.sh ]; then tools/bench/scale.sh $(BUILD); fi
	@if [ -x tools/bench/peers.sh ]; then tools/bench/peers.sh $(BUILD); fi

# Soak (tools/soak/soak.py): one relay-mode server under churn, publishers and hostile clients
# for SOAK_SECONDS; fails on any lost, duplicated or reordered delivery or on memory or
# descriptors trending up. SOAK_SAN=1: the ASan + UBSan server (memory reported, not judged).
SOAK_SECONDS ?= 300
SOAK_BUILD   := $(if $(filter 1,$(SOAK_SAN)),build/asan,$(BUILD))
soak: deps
	$(MAKE) $(if $(filter 1,$(SOAK_SAN)),BUILD=build/asan SAN=1) $(SOAK_BUILD)/wspushd
	/usr/bin/python3 tools/soak/soak.py --server $(SOAK_BUILD)/wspushd --seconds $(SOAK_SECONDS) \
	  --out $(SOAK_BUILD)/soak $(if $(filter 1,$(SOAK_SAN)),--sanitized)

# Fully static server binary: runs on a machine with nothing installed.
static: $(BUILD)/wspushd-static
$(BUILD)/wspushd-static: $(MAIN_OBJ) $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CXX) $(OPT) $^ -o $@ -static -flto=auto -Wl,--gc-sections -Wl,-O1

# Cross builds (README, "Cross builds"): `make CROSS=aarch64-linux-gnu- [static]` builds the
# server for the target in build/<triplet>. `make test-cross [CROSS=...]` (aarch64 unless
# CROSS says otherwise) builds the tests for the target (TEST_SRC above) and runs them under
# Debian's qemu-user, which also runs every server they start (WSPUSHD_WRAPPER); qemu finds
# the target's libraries through QEMU_LD_PREFIX, so no binfmt_misc registration is needed.
# CROSS_TESTS narrows the run (a GoogleTest filter).
XCROSS      := $(or $(CROSS),aarch64-linux-gnu-)
XTRIPLET    := $(patsubst %-,%,$(notdir $(XCROSS)))
XBUILD      := $(if $(CROSS),$(BUILD),build/$(XTRIPLET))
QEMU        ?= qemu-$(firstword $(subst -, ,$(XTRIPLET)))
CROSS_TESTS ?= *

$(BUILD)/gtest/%.o: $(GTEST_DIR)/src/%.cc
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(CXXSTD) $(ABI_FLAGS) $(OPT) -isystem $(GTEST_DIR)/include -I$(GTEST_DIR) -pthread -c $< -o $@

test-cross: deps
	$(MAKE) $(PARALLEL) CROSS=$(XCROSS) $(XBUILD)/wspushd $(XBUILD)/wspush_tests
	QEMU_LD_PREFIX=/usr/$(XTRIPLET) TEST_WRAPPER=$(QEMU) WSPUSHD_WRAPPER=$(QEMU) \
	  tools/run-tests.sh $(XBUILD)/wspush_tests --gtest_filter='$(CROSS_TESTS)'

# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR=..] [MANDIR=..] [SYSCONFDIR=/etc] [UNITDIR=..]
# The server (stripped; by $(CROSS)strip for a cross build, else STRIP), wspushd(8), the example
# settings and the systemd units, whose ExecStart (and the example's) is rewritten to $(BINDIR). Units go
# to $(PREFIX)/lib/systemd/system, which systemd searches for /usr/local and /usr alike.
# Only the binary is a prerequisite: with an up-to-date build nothing is compiled, so the
# test that installs into a temporary DESTDIR never rebuilds under a running test binary.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
STRIP      ?= strip
AT_BINDIR  := sed 's|/usr/local/bin/wspushd|$(BINDIR)/wspushd|'
INSTALLED  := $(BINDIR)/wspushd $(MANDIR)/man8/wspushd.8 $(SYSCONFDIR)/wspushd/wspushd.conf.example \
  $(UNITDIR)/wspushd.service $(UNITDIR)/wspushd.socket

install: $(BUILD)/wspushd
	install -D -m 0755 -s --strip-program=$(STRIP) $< $(DESTDIR)$(BINDIR)/wspushd
	install -D -m 0644 tools/man/wspushd.8 $(DESTDIR)$(MANDIR)/man8/wspushd.8
	$(AT_BINDIR) tools/systemd/wspushd.conf.example | install -D -m 0644 /dev/stdin $(DESTDIR)$(SYSCONFDIR)/wspushd/wspushd.conf.example
	$(AT_BINDIR) tools/systemd/wspushd.service | install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/wspushd.service
	install -D -m 0644 tools/systemd/wspushd.socket $(DESTDIR)$(UNITDIR)/wspushd.socket

# What install put there; the config directory too once empty (a wspushd.conf of the
# administrator's keeps it).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	[ ! -d $(DESTDIR)$(SYSCONFDIR)/wspushd ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/wspushd

# libFuzzer targets for the parsers, with ASan and UBSan (Debian: clang-14, whose dependency
# libclang-rt-14-dev carries the -fsanitize=fuzzer runtime).
# Each links only the sources it tests. Run one for 20 s from its seeds, for example:
#   build/fuzz/json_fuzz -max_total_time=20 build/fuzz/corpus-json tests/fuzz/seeds/json
# libFuzzer targets, one per parser, with ASan and UBSan (Debian: clang-14, whose dependency
# libclang-rt-14-dev carries the -fsanitize=fuzzer runtime). Each links only the sources it
# tests. `make fuzz` builds them and runs each for FUZZ_SECONDS from a copy of its corpus
# (tests/fuzz/corpus/<target>) in build/fuzz/, nproc at a time (tools/fuzz.sh).
FUZZ_CXX      ?= clang++-14
FUZZ_SECONDS  ?= 60
# -Wno-c99-designator: the tables indexed by enum (base/log.cpp) use array designators, which
# g++ takes silently and clang calls an extension.
FUZZ_CXXFLAGS := $(CXXSTD) $(WARN) -Wno-c99-designator -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc $(DEPFLAGS)
FUZZ_BIN      := $(patsubst tests/fuzz/%.cpp,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.cpp))
FUZZ_SRC_json_fuzz    := src/json/json.cpp src/codec/utf8.cpp
FUZZ_SRC_body_fuzz    := src/http/body.cpp src/http/request_parser.cpp
FUZZ_SRC_card_fuzz    := src/robot/card.cpp src/json/json.cpp src/codec/utf8.cpp src/push/names.cpp
FUZZ_SRC_utf8_fuzz    := src/codec/utf8.cpp
FUZZ_SRC_request_fuzz := src/http/request_parser.cpp src/http/handshake.cpp src/codec/base64.cpp src/codec/sha1.cpp
FUZZ_SRC_frame_fuzz   := src/ws/frame_parser.cpp src/ws/frame.cpp src/codec/utf8.cpp
FUZZ_SRC_frame_codec_fuzz := $(FUZZ_SRC_frame_fuzz)
FUZZ_SRC_query_fuzz   := src/http/query.cpp src/server/route.cpp src/push/names.cpp
FUZZ_SRC_journal_fuzz := src/journal/format.cpp src/journal/crc32c.cpp
FUZZ_SRC_resp_fuzz    := src/redis/resp.cpp
FUZZ_SRC_cluster_wire_fuzz := src/cluster/wire.cpp
FUZZ_SRC_command_fuzz := src/ctl/command.cpp src/ctl/control_channel.cpp src/codec/utf8.cpp src/push/names.cpp \
  src/net/reactor.cpp src/net/socket.cpp src/base/log.cpp src/base/log_storm.cpp

fuzz-build:
	@command -v $(FUZZ_CXX) >/dev/null || { echo "fuzz-build: $(FUZZ_CXX) not found (apt-get install clang-14)"; exit 1; }
	@$(MAKE) --no-print-directory $(PARALLEL) $(FUZZ_BIN)

# Any crash, leak, timeout or out-of-memory fails; the reproducer stays in build/fuzz/.
fuzz: deps fuzz-build
	@tools/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(notdir $(FUZZ_BIN))

# Objects are shared between the targets and track their headers (-MMD), so nothing is
# rebuilt when nothing changed.
FUZZ_OBJ = $(patsubst %.cpp,$(BUILD)/fuzz/obj/%.o,$(1))
$(BUILD)/fuzz/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(BUILD)/fuzz/%: $$(call FUZZ_OBJ,tests/fuzz/$$*.cpp $$(FUZZ_SRC_$$*))
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $^ -o $@

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null) $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
