# libsandlock: build, test, demo, install.
#   make build | make test | make demo | make bench (make bench-setup first)
#   make fuzz-smoke (every fuzz target of fuzz/ for FUZZ_SECONDS each)
#   make install PREFIX=/usr/local [DESTDIR=...] [LIBDIR=...]

VERSION    := 0.1.0
SOVERSION  := 0
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=
CARGO      ?= cargo
CC         ?= cc
CXX        ?= c++
ZIG        ?= python3 -m ziglang

TARGET     := target/release
LOCAL_PC   := target/pkgconfig
CTEST_OUT  := target/c-tests
CFLAGS_TEST := -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE

CTEST_SRCS := $(sort $(wildcard c-tests/test_*.c))
CTESTS     := $(patsubst c-tests/%.c,$(CTEST_OUT)/%,$(CTEST_SRCS))
ASAN_TESTS := $(patsubst c-tests/%.c,$(CTEST_OUT)/asan_%,$(CTEST_SRCS))

.PHONY: build test rust-test c-test c-test-asan check-header check-exports check-header-compiles check-opener \
        zig-test go-test cpp-test install-test demo bench bench-setup install clean soak soak-short repro-addfd-step repro-sample-step fuzz-build fuzz-smoke

build: $(TARGET)/libsandlock.so.$(SOVERSION) $(LOCAL_PC)/sandlock.pc

$(TARGET)/libsandlock.so: FORCE
	$(CARGO) build --release --lib

$(TARGET)/libsandlock.so.$(SOVERSION): $(TARGET)/libsandlock.so
	ln -sf libsandlock.so $@

# A pkg-config file pointing into the build tree, so tests build exactly as
# users do (pkg-config --cflags --libs sandlock).
$(LOCAL_PC)/sandlock.pc: pkgconfig/sandlock.pc.in
	mkdir -p $(LOCAL_PC)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(CURDIR)/$(TARGET)|' \
	    -e 's|@INCLUDEDIR@|$(CURDIR)/include|' -e 's|@VERSION@|$(VERSION)|' $< > $@

PKG = PKG_CONFIG_PATH=$(CURDIR)/$(LOCAL_PC) pkg-config

$(CTEST_OUT)/probe: c-tests/probe.c
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) -o $@ $< -lpthread

# What a new program learns of its start (AT_RANDOM, vDSO, the clocks),
# dynamic and static: issue #7's options must reach both.
CLOCK_PROBES := $(CTEST_OUT)/clock_probe $(CTEST_OUT)/clock_probe_static

$(CTEST_OUT)/clock_probe: c-tests/clock_probe.c
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) -o $@ $<

$(CTEST_OUT)/clock_probe_static: c-tests/clock_probe.c
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) -static -o $@ $<

$(CTEST_OUT)/test_%: c-tests/test_%.c c-tests/harness.h build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock) -lpthread -lutil

test: rust-test check-header check-exports check-header-compiles check-opener c-test-asan c-test soak-short cpp-test \
      install-test zig-test go-test

rust-test:
	$(CARGO) test --release

# A host program the lifecycle test SIGKILLs while its sandbox runs.
$(CTEST_OUT)/host_helper: c-tests/host_helper.c build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock)

TEST_ENV = LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) SANDLOCK_PROBE=$(CURDIR)/$(CTEST_OUT)/probe \
	SANDLOCK_HOST_HELPER=$(CURDIR)/$(CTEST_OUT)/host_helper

c-test: build $(CTEST_OUT)/probe $(CLOCK_PROBES) $(CTEST_OUT)/host_helper $(CTESTS)
	@$(TEST_ENV) \
	    sh c-tests/run.sh $(CTESTS)

# The soak (c-tests/soak.c, issue #14): SOAK_N lifecycles of randomised
# policies and jobs, 16 sandboxes at once, from one poll() loop; the host's
# fds, threads and children flat, every step timed. `make soak` asserts
# every step under 10 ms (SOAK_STRICT=1); the short one in `make test`
# only prints the distribution. SOAK_SEED=... replays a run.
SOAK_N ?= 10000
$(CTEST_OUT)/soak: c-tests/soak.c build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock) -lpthread

soak: $(CTEST_OUT)/soak
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) SOAK_STRICT=1 $(CTEST_OUT)/soak -n $(SOAK_N)

soak-short: $(CTEST_OUT)/soak
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) SOAK_STRICT=0 $(CTEST_OUT)/soak -n 1000

# The soak's finding, reproduced (not part of `make test`: it measures
# time): an fd answered with SECCOMP_IOCTL_NOTIF_ADDFD holds the step until
# the job's calling thread runs, which a SCHED_IDLE thread beside its own
# spinners delays by up to a second. Exits 1 while a step takes over 10 ms.
$(CTEST_OUT)/repro_addfd_step: c-tests/repro_addfd_step.c c-tests/repro.h build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock)

repro-addfd-step: $(CTEST_OUT)/repro_addfd_step
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) $(CTEST_OUT)/repro_addfd_step 2 200 1

# The other, fixed since: max_memory's and max_cpu's samples walked every
# process in one step, so a job of 2,000 sleepers (no max_processes) cost
# ~40 ms of CPU a sample; now they are spread over steps. Exits 1 if a step
# uses over 10 ms of CPU.
$(CTEST_OUT)/repro_sample_step: c-tests/repro_sample_step.c c-tests/repro.h build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock)

repro-sample-step: $(CTEST_OUT)/repro_sample_step
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) $(CTEST_OUT)/repro_sample_step 2000 memory; m=$$?; \
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) $(CTEST_OUT)/repro_sample_step 2000 cpu && exit $$m

# The C++ wrapper (include/sandlock.hpp): its README example, and eight
# sandboxes supervised from one epoll loop.
CXXFLAGS_TEST := -std=c++17 -O1 -g -Wall -Wextra -Werror -pedantic

$(CTEST_OUT)/cpp_%: c-tests/cpp_%.cpp include/sandlock.hpp build
	mkdir -p $(CTEST_OUT)
	$(CXX) $(CXXFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock)

$(CTEST_OUT)/example_run_cpp: examples/run.cpp include/sandlock.hpp build
	mkdir -p $(CTEST_OUT)
	$(CXX) $(CXXFLAGS_TEST) $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock)

cpp-test: build $(CTEST_OUT)/cpp_epoll $(CTEST_OUT)/example_run_cpp
	@$(TEST_ENV) $(CTEST_OUT)/example_run_cpp > $(CTEST_OUT)/example_run_cpp.out 2>&1 || \
	    { cat $(CTEST_OUT)/example_run_cpp.out; echo "cpp-test: examples/run.cpp failed"; exit 1; }
	@$(TEST_ENV) sh c-tests/run.sh $(CTEST_OUT)/cpp_epoll
	@python3 c-tests/check_readme_examples.py

# make install into a temporary DESTDIR, then C programs built against it
# through pkg-config, dynamically and statically, run a real sandbox.
install-test: build
	@MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" sh c-tests/install_test.sh

# The committed header must be what cbindgen generates from the sources.
# The same C tests under AddressSanitizer: its leak checker sees the Rust
# side's allocations too (the library uses the system allocator).
$(CTEST_OUT)/asan_test_%: c-tests/test_%.c c-tests/harness.h build
	mkdir -p $(CTEST_OUT)
	$(CC) $(CFLAGS_TEST) -fsanitize=address $$($(PKG) --cflags sandlock) -o $@ $< $$($(PKG) --libs sandlock) -lpthread -lutil

c-test-asan: build $(CTEST_OUT)/probe $(CLOCK_PROBES) $(CTEST_OUT)/host_helper $(ASAN_TESTS)
	@$(TEST_ENV) SANDLOCK_STRESS_SPAWNS=200 \
	    sh c-tests/run.sh $(ASAN_TESTS)

# The Go binding (go/), built as users build it (pkg-config) and run under
# the race detector. Standard library only: GOPROXY=off keeps the network
# out, and the module and build caches live in target/.
GO_ENV = PKG_CONFIG_PATH=$(CURDIR)/$(LOCAL_PC) LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) \
	GOPATH=$(CURDIR)/target/go GOCACHE=$(CURDIR)/target/go-cache GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=1

go-test: build
	cd go && $(GO_ENV) go vet ./...
	cd go && $(GO_ENV) go test -race -count=1 ./...

check-header: build
	git diff --exit-code -- include/sandlock.h || \
	    { echo "include/sandlock.h differs from the generated one: commit it"; exit 1; }

# Only sandlock_* symbols may be exported, and the SONAME must be set.
# The opener's machine code in src/fs/opener.rs is src/fs/opener.s assembled.
check-opener:
	@mkdir -p target/opener
	@as --64 -o target/opener/opener.o src/fs/opener.s
	@objcopy -O binary -j .text target/opener/opener.o target/opener/opener.bin
	@od -An -v -tx1 target/opener/opener.bin | tr -s ' \n' '\n\n' | grep . > target/opener/assembled.hex
	@sed -n '/^pub const PROGRAM_CODE/,/^];/p' src/fs/opener.rs | grep -o '0x[0-9a-f][0-9a-f]' | \
	    sed 's/^0x//' > target/opener/embedded.hex
	@cmp -s target/opener/assembled.hex target/opener/embedded.hex || \
	    { echo "src/fs/opener.rs PROGRAM_CODE is not src/fs/opener.s assembled"; exit 1; }
	@echo "check-opener: src/fs/opener.rs holds src/fs/opener.s, assembled"

check-exports: build
	@extra=$$(nm -D --defined-only $(TARGET)/libsandlock.so | awk '{print $$3}' | grep -v '^sandlock_' || true); \
	if [ -n "$$extra" ]; then echo "exported symbols outside sandlock_*: $$extra"; exit 1; fi
	@readelf -d $(TARGET)/libsandlock.so | grep -q 'SONAME.*\[libsandlock.so.$(SOVERSION)\]' || \
	    { echo "libsandlock.so has no SONAME libsandlock.so.$(SOVERSION)"; exit 1; }
	@echo "check-exports: only sandlock_* exported, SONAME libsandlock.so.$(SOVERSION)"

check-header-compiles:
	@printf '#include <sandlock.h>\nint main(void){return sandlock_version()==0;}\n' > target/hdr.c
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c target/hdr.c -o target/hdr_c.o
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -x c++ -c target/hdr.c -o target/hdr_cxx.o
	@echo "check-header-compiles: C99 and C++17 clean"

# The Zig binding (zig/), built as a user would: sandlock.pc through
# pkg-config. Written for Zig 0.15 (.ci/run pins ziglang==0.15.2 from PyPI).
ZIG_CACHE := $(CURDIR)/target/zig
zig-test: build
	@v=$$($(ZIG) version 2>/dev/null); case "$$v" in 0.15.*) ;; \
	    *) echo "zig-test: needs Zig 0.15 as '$(ZIG)' (pip install ziglang==0.15.2), found '$$v'"; exit 1;; esac
	cd zig && PKG_CONFIG_PATH=$(CURDIR)/$(LOCAL_PC) LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) \
	    $(ZIG) build test --summary all --cache-dir $(ZIG_CACHE)/cache --global-cache-dir $(ZIG_CACHE)/global
	@awk '/^## Zig$$/ {z = 1} z && /^```zig$$/ {f = 1; next} f && /^```$$/ {exit} f' README.md | \
	    cmp -s - zig/src/example.zig || \
	    { echo "zig-test: README's Zig example is not zig/src/example.zig"; exit 1; }

# Coverage-guided fuzzing of the pure parsers (fuzz/, README "Fuzzing"):
# libFuzzer through cargo-fuzz on the stable toolchain, without a
# sanitizer (-s none: ASan needs -Zsanitizer, a nightly flag). Each target
# runs FUZZ_SECONDS from its committed seeds (fuzz/corpus/<target>) plus
# what earlier runs found (target/fuzz/corpus/<target>); a panic or a
# failed property stops the run, its input saved in target/fuzz/artifacts/.
# FUZZ_SANITIZER=address builds with ASan instead, through RUSTC_BOOTSTRAP=1
# (stable ships the runtime; the flag is unsupported, so not the default).
FUZZ_TARGETS   := net_spec net_bind sockaddr control_messages msghdr paths
FUZZ_SECONDS   ?= 20
FUZZ_SANITIZER ?= none
FUZZ_TRIPLE    := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ifeq ($(FUZZ_SANITIZER),none)
FUZZ_ENV       :=
FUZZ_DIR       := fuzz/target
else
FUZZ_ENV       := RUSTC_BOOTSTRAP=1
FUZZ_DIR       := target/fuzz-$(FUZZ_SANITIZER)
endif
FUZZ_BIN       := $(FUZZ_DIR)/$(FUZZ_TRIPLE)/release

fuzz-build:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || \
	    { echo "fuzz-build: needs cargo-fuzz (cargo install cargo-fuzz --locked, or .ci/setup)"; exit 1; }
	$(FUZZ_ENV) $(CARGO) fuzz build -s $(FUZZ_SANITIZER) --target-dir $(FUZZ_DIR)

fuzz-smoke: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p target/fuzz/corpus/$$t target/fuzz/artifacts/$$t; \
	    if ! $(FUZZ_BIN)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	            -artifact_prefix=target/fuzz/artifacts/$$t/ \
	            target/fuzz/corpus/$$t fuzz/corpus/$$t > target/fuzz/$$t.log 2>&1; then \
	        grep -v '^#' target/fuzz/$$t.log | tail -40; \
	        echo "fuzz-smoke: $$t failed; its input: target/fuzz/artifacts/$$t/"; exit 1; \
	    fi; \
	    echo "fuzz-smoke: $$t: $$(sed -n 's/^stat::number_of_executed_units: *//p' target/fuzz/$$t.log) runs in $(FUZZ_SECONDS) s, no crash"; \
	done

demo: build
	mkdir -p target/demo
	$(CC) -std=c11 -Wall -Wextra -O2 $$($(PKG) --cflags sandlock) -o target/demo/demo examples/demo.c $$($(PKG) --libs sandlock)
	LD_LIBRARY_PATH=$(CURDIR)/$(TARGET) ./target/demo/demo

bench: build
	sh bench/run.sh

# The peers and the server `make bench` compares against (apt and pip).
bench-setup:
	sh bench/setup.sh

install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(TARGET)/libsandlock.so $(DESTDIR)$(LIBDIR)/libsandlock.so.$(VERSION)
	ln -sf libsandlock.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsandlock.so.$(SOVERSION)
	ln -sf libsandlock.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libsandlock.so
	install -m 0644 $(TARGET)/libsandlock.a $(DESTDIR)$(LIBDIR)/libsandlock.a
	install -m 0644 include/sandlock.h $(DESTDIR)$(INCLUDEDIR)/sandlock.h
	install -m 0644 include/sandlock.hpp $(DESTDIR)$(INCLUDEDIR)/sandlock.hpp
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    pkgconfig/sandlock.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/sandlock.pc

clean:
	$(CARGO) clean

FORCE:
