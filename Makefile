# tollgate — `make run` starts the daemon on config.example.json; `make test` runs every test.

SWIFT     ?= swift
CONFIG    ?= config.example.json
VENV      := .build/venv
PY        := $(VENV)/bin/python
APT_PKGS  := libcurl4-openssl-dev libsqlite3-dev libsystemd-dev pkg-config
BENCH_PKGS := nginx-light wrk curl gcc
# The dashboard's browser test (Tests/sdk/test_dashboard.py): headless Chromium driven through chromedriver.
BROWSER_PKGS := chromium chromium-driver
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
UNITDIR   ?= $(PREFIX)/lib/systemd/system
# Fixed by the unit's ConfigurationDirectory=tollgate.
CONFDIR   := /etc/tollgate

# Installs a list of Debian packages when any is missing, as root or through sudo.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

.PHONY: venv-deps browser-deps dashboard-screenshot deps build release run test test-swift test-sdk test-systemd bench bench-streams bench-slow bench-alloc soak venv \
        clean install uninstall verify-units fuzz fuzz-build sanitize sanitize-address sanitize-thread

deps:
	$(call apt_install,$(APT_PKGS))
	@python3 -c "import venv, ensurepip" 2>/dev/null || $(MAKE) --no-print-directory venv-deps

venv-deps:
	$(call apt_install,python3-venv)

browser-deps:
	$(call apt_install,$(BROWSER_PKGS))

# Re-takes docs/dashboard.png (the README's picture) with the browser test.
dashboard-screenshot: deps venv browser-deps
	$(call apt_install,pngquant)
	$(SWIFT) build
	TOLLGATE_BIN=$(CURDIR)/.build/debug/tollgate TOLLGATE_UPDATE_SCREENSHOT=1 \
		$(PY) -m pytest -q Tests/sdk/test_dashboard.py

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/tollgate serve --config $(CONFIG)

# The openai Python SDK, from PyPI, in a venv under .build (used by the end-to-end tests).
venv: $(VENV)/.installed
$(VENV)/.installed: Tests/sdk/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt
	touch $@

test: test-swift test-sdk

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-sdk: deps venv browser-deps
	$(SWIFT) build
	TOLLGATE_BIN=$(CURDIR)/.build/debug/tollgate $(PY) -m pytest -q Tests/sdk

# Under a real systemd as PID 1: `make install` into a throw-away systemd-nspawn container booted
# from this machine's /usr, then start, reload, watchdog, stop, socket activation, journal,
# encrypted credentials and the sandbox (Tests/systemd/run.sh; skips, saying why, without root
# or systemd-nspawn; installs systemd-container when it can).
test-systemd: deps venv
	bash Tests/systemd/run.sh

# wrk against direct / nginx-proxy / tollgate variants, then 1,000 open slow streams
# (BENCH_TARGETS, BENCH_SECONDS, BENCH_STREAMS…: see bench/README.md).
bench: deps release
	$(call apt_install,$(BENCH_PKGS))
	TOLLGATE_BIN=$(CURDIR)/.build/release/tollgate bash bench/run.sh

# Heap allocations per request (an LD_PRELOAD malloc counter; ALLOC_REQUESTS).
bench-alloc: deps release
	mkdir -p .build
	cc -O2 -shared -fPIC -o .build/malloc_count.so bench/malloc_count.c -ldl
	python3 bench/allocations.py $(CURDIR)/.build/release/tollgate $(CURDIR)/.build/malloc_count.so

# Only the open-streams step: tollgate's RSS with STREAMS_COUNT (1000) slow streams open.
bench-streams: deps release
	TOLLGATE_BIN=$(CURDIR)/.build/release/tollgate python3 bench/streams.py

# Not in CI: SOAK_SECONDS (600) of mixed load, hostile clients and a failing first-priority
# upstream; RSS/fd samples, ledger integrity and row count; PASS/FAIL (SOAK_SECONDS=60 for a quick check).
soak: deps release
	$(call apt_install,wrk)
	TOLLGATE_BIN=$(CURDIR)/.build/release/tollgate python3 bench/soak.py

# RSS while slow clients read a long, fast stream (back-pressure); SLOW_CLIENTS, SLOW_STREAM_MB, SLOW_SECONDS.
bench-slow: deps release
	python3 bench/slow_readers.py $(CURDIR)/.build/release/tollgate

# The release binary (and any resource bundles, which Bundle.module finds next to it), the
# systemd units (ExecStart pointed at BINDIR) and, unless one exists, the example config.
install: release
	install -D -m 0755 .build/release/tollgate $(DESTDIR)$(BINDIR)/tollgate
	@for bundle in .build/release/*.resources; do \
		[ -d "$$bundle" ] || continue; \
		target="$(DESTDIR)$(BINDIR)/$$(basename "$$bundle")"; \
		rm -rf "$$target" && cp -R "$$bundle" "$$target" && chmod -R u=rwX,go=rX "$$target"; \
		echo "installed $$target"; \
	done
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/tollgate|$(BINDIR)/tollgate|' deploy/tollgate.service > $(DESTDIR)$(UNITDIR)/tollgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tollgate.service
	install -m 0644 deploy/tollgate.socket $(DESTDIR)$(UNITDIR)/tollgate.socket
	@if [ -e $(DESTDIR)$(CONFDIR)/config.json ]; then \
		echo "kept the existing $(DESTDIR)$(CONFDIR)/config.json"; \
	else \
		install -D -m 0644 deploy/config.json $(DESTDIR)$(CONFDIR)/config.json; \
		echo "installed $(DESTDIR)$(CONFDIR)/config.json"; \
	fi
	@echo "next: put provider keys in $(CONFDIR)/tollgate.env (mode 600), then"
	@echo "      systemctl daemon-reload && systemctl enable --now tollgate.service"

# Leaves the config and the ledger (/var/lib/tollgate) in place.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tollgate $(DESTDIR)$(UNITDIR)/tollgate.service $(DESTDIR)$(UNITDIR)/tollgate.socket
	rm -rf $(DESTDIR)$(BINDIR)/tollgate_*.resources

# systemd-analyze verify on deploy/ (the service checked against the built binary).
verify-units: build
	$(call apt_install,systemd)
	.ci/verify-units $(CURDIR)/.build/debug/tollgate

# Fuzzing with libFuzzer (Fuzz/README.md). Built with swiftc directly, not SwiftPM: each
# module's sources are compiled with -sanitize=fuzzer,address into .build-fuzz, then one
# binary per target. `make fuzz` runs every target FUZZ_SECONDS (60) on Fuzz/corpus/TARGET,
# new inputs go to .build-fuzz/corpus/TARGET, crashes to .build-fuzz/artifacts/TARGET.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= http_parser sse_parser aws_eventstream json config openai_chat anthropic_messages \
                google_gemini bedrock_converse openai_responses embeddings inbound_requests inbound_relay
FUZZ_BUILD   := .build-fuzz
SWIFTC       ?= swiftc
FUZZ_SWIFTC  := nice -n 15 $(SWIFTC) -O -g -parse-as-library -sanitize=fuzzer,address -swift-version 6 \
                -enable-upcoming-feature ExistentialAny -I $(FUZZ_BUILD)/modules
CORE_SRCS    := $(shell find Sources/TollgateCore -name '*.swift')
WIRE_SRCS    := $(shell find Sources/TollgateWire -name '*.swift')
# The parser needs none of TollgateHTTP's sockets, loops or C shims.
HTTP_SRCS    := Sources/TollgateHTTP/HTTPParser.swift Sources/TollgateHTTP/HTTPRequest.swift
FUZZ_COMMON  := $(wildcard Fuzz/Common/*.swift)
FUZZ_OBJS    := $(FUZZ_BUILD)/TollgateCore.o $(FUZZ_BUILD)/TollgateWire.o $(FUZZ_BUILD)/TollgateHTTP.o

# $(call fuzz_module,NAME,SOURCES): one module, one object file, its .swiftmodule for the next.
define fuzz_module
	@mkdir -p $(FUZZ_BUILD)/modules
	$(FUZZ_SWIFTC) -wmo -module-name $(1) -emit-module -emit-module-path $(FUZZ_BUILD)/modules/$(1).swiftmodule \
		-c $(2) -o $(FUZZ_BUILD)/$(1).o
endef

$(FUZZ_BUILD)/TollgateCore.o: $(CORE_SRCS)
	$(call fuzz_module,TollgateCore,$(CORE_SRCS))
$(FUZZ_BUILD)/TollgateWire.o: $(WIRE_SRCS) $(FUZZ_BUILD)/TollgateCore.o
	$(call fuzz_module,TollgateWire,$(WIRE_SRCS))
$(FUZZ_BUILD)/TollgateHTTP.o: $(HTTP_SRCS) $(FUZZ_BUILD)/TollgateCore.o
	$(call fuzz_module,TollgateHTTP,$(HTTP_SRCS))
$(FUZZ_BUILD)/fuzz-%: Fuzz/Targets/%.swift $(FUZZ_COMMON) $(FUZZ_OBJS)
	$(FUZZ_SWIFTC) -use-ld=lld -module-name Fuzz_$* $< $(FUZZ_COMMON) $(FUZZ_OBJS) -o $@

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz-,$(FUZZ_TARGETS))

fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh $(FUZZ_TARGETS)

# The Swift tests under AddressSanitizer and ThreadSanitizer, each in its own scratch path.
# The service tests run the daemon binary of the same (sanitized) build.
sanitize: sanitize-address sanitize-thread

sanitize-address: deps
	nice -n 15 $(SWIFT) build --build-tests -Xswiftc -sanitize=address --scratch-path .build-asan
	TOLLGATE_BIN=$(CURDIR)/.build-asan/debug/tollgate \
		LSAN_OPTIONS="suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp print_suppressions=0 $(LSAN_OPTIONS)" \
		nice -n 15 $(SWIFT) test --skip-build --scratch-path .build-asan

sanitize-thread: deps
	nice -n 15 $(SWIFT) build --build-tests -Xswiftc -sanitize=thread --scratch-path .build-tsan
	TOLLGATE_BIN=$(CURDIR)/.build-tsan/debug/tollgate \
		TSAN_OPTIONS="suppressions=$(CURDIR)/Tests/Sanitizers/tsan.supp $(TSAN_OPTIONS)" \
		nice -n 15 $(SWIFT) test --skip-build --scratch-path .build-tsan

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
