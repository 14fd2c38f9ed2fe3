# pcap-pfring: set-up, build, test and demo.  Run as root on Debian.
#
#   make setup   Debian packages, then the project built into .venv/ (idempotent)
#   make test    the whole test suite (unit, live, lint) through tox
#   make demo    a two-namespace demo network with pfsend -> pfcount
#   make unit    only the unit tests (no root, no network once set up)
#   make fresh-check  make demo and make unit on a new minimal Debian bookworm
#   make lib     only the C library: build/lib/libpfring.so, build/include/pfring.h
#   make compat-deps  outside programs and suites for compat-tests/ (part of setup)
#   make compat-extra suricata from bookworm-backports, then compat-tests/extra (opt-in; CI runs it)
#   make asan    the unit, live and compat suites on an ASan+UBSan build (build/asan/)
#   make soak    10 minutes of a 3-member cluster, one member killed every 30 s (not in CI)
#   make fuzz    the libFuzzer harnesses of fuzz/, each for FUZZ_SECONDS (build/fuzz/)

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
VPY        := $(VENV)/bin/python
BUILD      := build
CC         ?= gcc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wno-unused-parameter
# Nothing about the machine is computed here: the system libpcap is found at
# run time (libpfring/src/syspcap.c), so a build never depends on what was
# installed when the Makefile was read.

APT_PACKAGES := gcc make libc6-dev libpcap-dev libpcap0.8 tcpdump iproute2 ethtool \
                libcap2-bin strace python3 python3-venv python3-dev ca-certificates \
                tshark wireshark-common g++ python3-dev dpkg-dev flex bison \
                libxdp-dev libbpf-dev clang libclang-rt-14-dev bpftool \
                nmap arp-scan ngrep tcpflow argus-server argus-client

LIB_SRCS   := $(wildcard libpfring/src/*.c) $(wildcard drivers/*.c) $(wildcard kernel/*.c) \
              $(filter-out %.bpf.c,$(wildcard kernel/rules/*.c))
LIB_HDRS   := libpfring/include/pfring.h libpfring/src/pfring_int.h libpfring/src/dropin_note.h

# The XDP program of zc: rings (kernel/xdp/): compiled for the BPF target,
# then embedded in libpfring as the skeleton bpftool writes.  The reaper
# that removes the program of a ring whose process died goes beside
# libpfring.so.
XDP_DIR    := kernel/xdp
XDP_GEN    := $(BUILD)/gen
XDP_OBJ    := $(XDP_GEN)/pfring_xdp.bpf.o
XDP_SKEL   := $(XDP_GEN)/pfring_xdp.skel.h
XDP_REAPER := $(BUILD)/lib/pfring-xdp-reaper
BPF_CLANG  ?= clang
BPFTOOL    ?= $(firstword $(wildcard /usr/sbin/bpftool /usr/bin/bpftool) bpftool)
# kernel/common/: what both eBPF programs include (the classic BPF interpreter).
BPF_COMMON := kernel/common
BPF_CFLAGS := -target bpf -g -O2 -Wall -I$(XDP_DIR) -I$(BPF_COMMON)
XDP_LIBS   := -lxdp -lbpf
# The socket filter of rings with filtering rules (kernel/rules/): built and
# embedded as the XDP program is.
RULES_DIR  := kernel/rules
RULES_OBJ  := $(XDP_GEN)/pfring_rules.bpf.o
RULES_SKEL := $(XDP_GEN)/pfring_rules.skel.h
PY_SRCS    := $(shell find pcap_pfring -name '*.py' -o -name '*.h' -o -name '*.c') \
              setup.py pyproject.toml _pcap_pfring_autoload.py pcap-pfring-autoload.pth
LIBPFRING  := $(BUILD)/lib/libpfring.so.1
LOCK        = mkdir -p $(BUILD) && flock $(BUILD)/.setup.lock

# libpcap-pfring: the libpcap drop-in, under both of libpcap's sonames, in a
# directory of its own (LD_LIBRARY_PATH=build/libpcap-pfring selects it).
PCAPPF_DIR  := $(BUILD)/libpcap-pfring
PCAPPF_SRCS := $(wildcard libpcap-pfring/src/*.c)
PCAPPF_HDRS := $(wildcard libpcap-pfring/src/*.h) libpfring/include/pfring.h
PCAPPF_LIBS := $(PCAPPF_DIR)/libpcap.so.0.8 $(PCAPPF_DIR)/libpcap.so.1
# pfring-run's LD_AUDIT module: warns when a program loads a libpcap of its own.
PCAPPF_AUDIT := $(PCAPPF_DIR)/pcap-pfring-audit.so

.PHONY: setup apt lib venv compat-deps compat-extra test unit live compat lint demo bench soak clean fresh-check \
        asan asan-build fuzz fuzz-build

setup: apt venv compat-deps

# Debian packages: only when one is missing, so a second run takes no time.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lib: $(LIBPFRING) $(XDP_REAPER) $(BUILD)/include/pfring.h $(PCAPPF_LIBS) $(PCAPPF_DIR)/libpcap.so $(PCAPPF_AUDIT)

$(PCAPPF_DIR)/libpcap.so: $(PCAPPF_DIR)/libpcap.so.0.8
	ln -sf libpcap.so.0.8 $@

$(PCAPPF_DIR)/libpcap.so.%: $(PCAPPF_SRCS) $(PCAPPF_HDRS) libpcap-pfring/libpcap.map $(LIBPFRING) Makefile
	@mkdir -p $(PCAPPF_DIR)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden -shared \
	  -Ilibpfring/include \
	  -Wl,-soname,libpcap.so.$* -Wl,--version-script=libpcap-pfring/libpcap.map \
	  -Wl,-rpath,'$$ORIGIN/../lib' -Wl,--no-undefined \
	  -o $@.$$$$.tmp $(PCAPPF_SRCS) -L$(BUILD)/lib -l:libpfring.so.1 -ldl -lpthread && \
	  mv -f $@.$$$$.tmp $@

$(PCAPPF_AUDIT): libpcap-pfring/src/audit/audit.c libpfring/src/dropin_note.h libpfring/include/pfring.h Makefile
	@mkdir -p $(PCAPPF_DIR)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -shared -Wl,--no-undefined \
	  -Ilibpfring/include -Ilibpfring/src -o $@.$$$$.tmp $< && mv -f $@.$$$$.tmp $@

$(XDP_OBJ): $(XDP_DIR)/pfring_xdp.bpf.c $(XDP_DIR)/pfring_xdp.h $(BPF_COMMON)/cbpf_interp.h Makefile
	@mkdir -p $(XDP_GEN)
	@# asm/types.h is under the multiarch directory, which the BPF target
	@# does not search; asked when the rule runs (setup installs gcc first).
	$(BPF_CLANG) $(BPF_CFLAGS) -I/usr/include/$$($(CC) -print-multiarch) \
	  -c $< -o $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(XDP_SKEL): $(XDP_OBJ)
	$(BPFTOOL) gen skeleton $< name pfring_xdp > $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(RULES_OBJ): $(RULES_DIR)/pfring_rules.bpf.c $(RULES_DIR)/pfring_rules.h $(BPF_COMMON)/cbpf_interp.h Makefile
	@mkdir -p $(XDP_GEN)
	$(BPF_CLANG) -target bpf -g -O2 -Wall -I$(RULES_DIR) -I$(BPF_COMMON) -I/usr/include/$$($(CC) -print-multiarch) \
	  -c $< -o $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(RULES_SKEL): $(RULES_OBJ)
	$(BPFTOOL) gen skeleton $< name pfring_rules_bpf > $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(XDP_REAPER): $(XDP_DIR)/reaper.c $(XDP_DIR)/pfring_xdp_cluster.h $(XDP_DIR)/pfring_xdp.h Makefile
	@mkdir -p $(BUILD)/lib
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -o $@.$$$$.tmp $< $(XDP_LIBS) && mv -f $@.$$$$.tmp $@

$(LIBPFRING): $(LIB_SRCS) $(LIB_HDRS) $(XDP_DIR)/pfring_xdp.h $(XDP_DIR)/pfring_xdp_cluster.h $(XDP_SKEL) \
             $(RULES_DIR)/pfring_rules.h $(RULES_SKEL) libpfring/libpfring.map Makefile
	@mkdir -p $(BUILD)/lib
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden -shared \
	  -Ilibpfring/include -Ilibpfring/src -I$(XDP_DIR) -I$(XDP_GEN) -I$(RULES_DIR) \
	  -Wl,-soname,libpfring.so.1 -Wl,--version-script=libpfring/libpfring.map \
	  -o $@.$$$$.tmp $(LIB_SRCS) $(XDP_LIBS) -ldl -lpthread && mv -f $@.$$$$.tmp $@
	ln -sf libpfring.so.1 $(BUILD)/lib/libpfring.so

$(BUILD)/include/pfring.h: libpfring/include/pfring.h
	@mkdir -p $(BUILD)/include
	cp $< $@

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

# The only step that reaches PyPI, and only when requirements-dev.txt changed.
$(VENV)/.deps: $(VENV)/.created requirements-dev.txt
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.installed: $(VENV)/.deps $(LIBPFRING) $(XDP_REAPER) $(PCAPPF_LIBS) $(PCAPPF_AUDIT) $(PY_SRCS)
	@# Two makes in one tree take turns here (the libraries above are renamed
	@# into place, so they need no lock).  Then the source tree becomes a
	@# complete package too (python from the project root imports it first):
	@# tools/inplace puts the built parts beside the sources.
	$(LOCK) sh -c '$(VPY) -m pip install -q --no-build-isolation --no-deps . && tools/inplace $(VPY)'
	touch $@

venv: lib $(VENV)/.installed

test: setup
	@rm -rf $(BUILD)/test-results
	@status=0; $(VENV)/bin/tox -e unit,live,compat,lint || status=$$?; \
	  $(VPY) tools/test-summary $(BUILD)/test-results || status=1; exit $$status

# Unit tests need neither root nor the network once set up: no apt, no pip.
unit: venv
	$(VENV)/bin/tox -e unit

live: setup
	$(VENV)/bin/tox -e live

compat: setup
	$(VENV)/bin/tox -e compat

lint: setup
	$(VENV)/bin/tox -e lint

demo: setup
	cd $(BUILD) && ../$(VPY) -m pcap_pfring.demo

clean:
	rm -rf $(BUILD) $(VENV) *.egg-info .tox
	rm -rf pcap_pfring/lib pcap_pfring/include pcap_pfring/libpcap pcap_pfring/_pfring.*.so

# Opt-in, and run by CI: suricata is only in bookworm-backports, too heavy
# for setup.  The backports source is added once (never changed if there),
# the package installed only when missing, then compat-tests/extra.
BACKPORTS_SOURCES := /etc/apt/sources.list.d/bookworm-backports.sources
compat-extra: setup
	@if [ ! -e $(BACKPORTS_SOURCES) ]; then \
	  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
	    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
	    > $(BACKPORTS_SOURCES).tmp && mv -f $(BACKPORTS_SOURCES).tmp $(BACKPORTS_SOURCES); \
	fi
	@if ! command -v suricata >/dev/null; then \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    -t bookworm-backports suricata; \
	fi
	$(VENV)/bin/pytest -q -p no:cacheprovider compat-tests/extra

# The README's commands on a new, minimal Debian bookworm (tools/fresh-check).
fresh-check:
	tools/fresh-check

bench: setup
	$(VPY) -m pip install -q -r bench/requirements.txt
	cd $(BUILD) && ../$(VPY) ../bench/run.py

# Not part of CI: 10 minutes of traffic through a per-flow cluster of 3,
# one member killed and restarted every 30 s (tools/soak.py).
soak: setup
	$(VPY) tools/soak.py

# Outside programs and suites for compat-tests/, cached under build/compat/
# (never committed): pcapy-ng built from its sdist so that it links the
# system soname libpcap.so.0.8 (its wheel carries a libpcap of its own), the
# sdist's own tests, and libpcap's test programs from Debian's source
# package, linked -lpcap against the system library.  Debian's deb-src index
# is read through a private apt configuration: /etc/apt stays untouched.
COMPAT       := $(BUILD)/compat
PCAPY_NG     := 2.1.0
PCAPY_TESTS  := $(COMPAT)/pcapy_ng-$(PCAPY_NG)/tests
PCAPY_WHEEL  := $(COMPAT)/pcapy-wheel
TESTPROGS    := capturetest filtertest opentest nonblocktest selpolltest findalldevstest \
                reactivatetest
COMPAT_APT   := $(COMPAT)/apt
APT_PRIVATE   = -o Dir::Etc::SourceList=/dev/null \
                -o Dir::Etc::SourceParts=$(abspath $(COMPAT_APT))/sources.list.d \
                -o Dir::State::Lists=$(abspath $(COMPAT_APT))/lists \
                -o Dir::Cache=$(abspath $(COMPAT_APT))/cache

compat-deps: $(VENV)/.pcapy-ng $(PCAPY_TESTS)/.unpacked $(COMPAT)/testprogs/.built $(PCAPY_WHEEL)/.unpacked

# The pcapy-ng wheel as PyPI serves it, unpacked (not installed): it carries
# a libpcap of its own, which pfring-run's audit module must name.
$(PCAPY_WHEEL)/.unpacked: $(VENV)/.deps
	@rm -rf $(PCAPY_WHEEL) && mkdir -p $(PCAPY_WHEEL)
	$(VPY) -m pip download -q --only-binary :all: --no-deps -d $(PCAPY_WHEEL) pcapy-ng==$(PCAPY_NG)
	cd $(PCAPY_WHEEL) && $(abspath $(VPY)) -m zipfile -e pcapy_ng-*.whl .
	touch $@

$(VENV)/.pcapy-ng: $(VENV)/.deps compat-tests/requirements.txt
	$(VPY) -m pip install -q -r compat-tests/requirements.txt
	@so=$$($(VPY) -c 'import pcapy; print(pcapy.__file__)'); \
	  readelf -d $$so | grep -q 'NEEDED.*\[libpcap\.so\.0\.8\]' || \
	  { echo "$$so does not link libpcap.so.0.8 (a wheel?)"; exit 1; }
	touch $@

$(PCAPY_TESTS)/.unpacked:
	@mkdir -p $(COMPAT)
	$(VPY) -m pip download -q --no-binary :all: --no-deps -d $(COMPAT) pcapy-ng==$(PCAPY_NG)
	tar -xzf $(COMPAT)/pcapy_ng-$(PCAPY_NG).tar.gz -C $(COMPAT)
	touch $@

$(COMPAT)/testprogs/.built:
	@mkdir -p $(COMPAT_APT)/sources.list.d $(COMPAT_APT)/lists/partial \
	  $(COMPAT_APT)/cache/archives/partial $(COMPAT)/src $(COMPAT)/testprogs
	printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
	  'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
	  > $(COMPAT_APT)/sources.list.d/debian-src.sources
	apt-get $(APT_PRIVATE) update -qq
	cd $(COMPAT)/src && apt-get $(APT_PRIVATE) source --download-only -qq \
	  libpcap=$$(dpkg-query -W -f='$${Version}' libpcap0.8)
	rm -rf $(COMPAT)/src/libpcap
	cd $(COMPAT)/src && dpkg-source -x libpcap_*.dsc libpcap >/dev/null
	cd $(COMPAT)/src/libpcap && ./configure -q >/dev/null
	for t in $(TESTPROGS); do \
	  $(CC) -O2 -I$(COMPAT)/src/libpcap -DHAVE_CONFIG_H -o $(COMPAT)/testprogs/$$t \
	    $(COMPAT)/src/libpcap/testprogs/$$t.c -lpcap -lpthread || exit 1; \
	done
	touch $@

# make asan: libpfring, the libpcap drop-in and the cffi extension built with
# AddressSanitizer and UBSan into a package of their own, $(ASAN_PKG) (the
# lib, include and libpcap folders of an installed pcap_pfring; the normal
# build stays as it is).  The suites then run with that package first on
# PYTHONPATH and libasan preloaded into every process, since python3 and
# tcpdump are not instrumented themselves.  Each report of any process is a
# file under $(ASAN_LOGS): a test during which one appears fails
# (pcap_pfring/testing/sanitizers.py), and tools/asan-logs, the last step,
# prints them all and fails the run.  CPython's own allocations are not ours:
# no leak checking in Python processes; the C programs the tests build get
# the same flags and do check for leaks.
ASAN_DIR     := $(BUILD)/asan
ASAN_SITE    := $(ASAN_DIR)/site
ASAN_PKG     := $(ASAN_SITE)/pcap_pfring
ASAN_LOGS    := $(ASAN_DIR)/logs
ASAN_RESULTS := $(ASAN_DIR)/test-results
ASAN_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_RUN_OPTIONS := log_path=$(abspath $(ASAN_LOGS))/asan:detect_leaks=0:abort_on_error=0:detect_stack_use_after_return=1
ASAN_ENV      = PYTHONPATH=$(abspath $(ASAN_SITE)) PYTHONSAFEPATH=1 PYTHONDONTWRITEBYTECODE=1 \
                PFRING_RUN_AUDIT=0 \
                LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
                ASAN_OPTIONS=$(ASAN_RUN_OPTIONS) \
                UBSAN_OPTIONS=log_path=$(abspath $(ASAN_LOGS))/ubsan:halt_on_error=1:print_stacktrace=1 \
                SANITIZER_CFLAGS='$(ASAN_CFLAGS)'
ASAN_PYTEST   = $(ASAN_ENV) $(VENV)/bin/pytest -q -p no:cacheprovider

asan-build: venv
	$(MAKE) --no-print-directory BUILD=$(ASAN_PKG) PCAPPF_DIR=$(ASAN_PKG)/libpcap \
	  CFLAGS='$(ASAN_CFLAGS)' lib
	$(MAKE) --no-print-directory $(ASAN_DIR)/.package

# The cffi extension from the same build script as pip's, with the sanitizer
# flags added through CFLAGS and LDFLAGS, and linked with the library above;
# then the package's Python files beside it.
$(ASAN_DIR)/.package: $(PY_SRCS) $(ASAN_PKG)/lib/libpfring.so.1
	rm -rf $(ASAN_DIR)/ext && mkdir -p $(ASAN_DIR)/ext
	cd $(ASAN_DIR)/ext && CFLAGS='$(ASAN_CFLAGS)' \
	  LDFLAGS='$(ASAN_CFLAGS) -L$(abspath $(ASAN_PKG)/lib)' $(abspath $(VPY)) -c \
	  'import runpy; runpy.run_path("$(abspath pcap_pfring/_cffi_src/build_pfring.py)")["ffi"].compile()'
	rm -f $(ASAN_PKG)/_pfring.*.so
	cp $(ASAN_DIR)/ext/pcap_pfring/_pfring.*.so $(ASAN_PKG)/
	find $(ASAN_PKG) -name '*.py' -delete
	cd pcap_pfring && find . -name _cffi_src -prune -o -name __pycache__ -prune -o \
	  \( -name '*.py' -o -name py.typed \) -print0 | xargs -0 cp --parents -t $(abspath $(ASAN_PKG))
	touch $@

asan: setup asan-build
	@# world-writable: tcpdump reports too after it drops root for its own user
	@rm -rf $(ASAN_LOGS) $(ASAN_RESULTS) && mkdir -p -m 1777 $(ASAN_LOGS)
	@status=0; \
	  for suite in unit:tests/unit live:tests/live compat:compat-tests; do \
	    echo "asan: $${suite#*:}"; \
	    $(ASAN_PYTEST) $${suite#*:} --junitxml=$(ASAN_RESULTS)/$${suite%%:*}.xml || status=1; \
	  done; \
	  $(VPY) tools/test-summary $(ASAN_RESULTS) || status=1; \
	  tools/asan-logs $(ASAN_LOGS) || status=1; exit $$status

# make fuzz: the libFuzzer harnesses of fuzz/ (fuzz/README.md), built with
# Debian's clang against the library's sources (libFuzzer, ASan and UBSan;
# any UBSan report aborts), then each run for FUZZ_SECONDS from a copy of its
# corpus under $(FUZZ_DIR)/corpus (the repository's corpus never grows by
# itself).  A crash, a sanitizer report, a failed check, a timeout or the
# memory limit fails the run; the input is kept in $(FUZZ_DIR)/artifacts.
# Root: the generator harnesses load their programs into a real socket.
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 30
FUZZ_HARNESSES := parse_pkt device_name config pcap_env cluster filter rules
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   := -O1 -g -fno-omit-frame-pointer -std=gnu11 $(WARN) $(FUZZ_SAN) \
                 -Ilibpfring/include -Ilibpfring/src -I$(XDP_DIR) -I$(XDP_GEN) -I$(RULES_DIR)
FUZZ_OBJS     := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS))
FUZZ_BINS     := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_HARNESSES))
# the objects are kept (not intermediate files): one build serves every harness
.SECONDARY: $(FUZZ_OBJS)
FUZZ_FLAGS     = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 \
                 -print_final_stats=1

$(FUZZ_DIR)/obj/%.o: %.c $(LIB_HDRS) $(XDP_DIR)/pfring_xdp.h $(XDP_SKEL) \
                       $(RULES_DIR)/pfring_rules.h $(RULES_SKEL) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/common.h fuzz/cbpf.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@.$$$$.tmp $< $(FUZZ_OBJS) \
	  $(XDP_LIBS) -ldl -lpthread -lm && mv -f $@.$$$$.tmp $@

fuzz-build: $(FUZZ_BINS)

fuzz: apt fuzz-build
	@rm -rf $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts && mkdir -p $(FUZZ_DIR)/artifacts
	@status=0; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$h && cp -a fuzz/corpus/$$h/. $(FUZZ_DIR)/corpus/$$h/; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  if $(FUZZ_DIR)/fuzz_$$h $(FUZZ_FLAGS) -artifact_prefix=$(FUZZ_DIR)/artifacts/$$h- \
	       $(FUZZ_DIR)/corpus/$$h > $(FUZZ_DIR)/$$h.log 2>&1; then \
	    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $(FUZZ_DIR)/$$h.log | tr '\n' ' '; echo; \
	  else \
	    status=1; echo "fuzz: $$h FAILED (log: $(FUZZ_DIR)/$$h.log)"; tail -n 60 $(FUZZ_DIR)/$$h.log; \
	  fi; \
	 done; exit $$status
