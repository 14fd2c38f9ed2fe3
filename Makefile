# pcap-pfring: set-up, build, test and demo.  Run as root on Debian.
#
#   make setup   Debian packages, then the project built into .venv/ (idempotent)
#   make test    the whole test suite (unit, live, lint) through tox
#   make demo    a two-namespace demo network with pfsend -> pfcount
#   make lib     only the C library: build/lib/libpfring.so, build/include/pfring.h

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
VPY        := $(VENV)/bin/python
BUILD      := build
CC         ?= gcc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wno-unused-parameter
SYSTEM_LIBPCAP := $(shell readlink -f $$($(CC) -print-file-name=libpcap.so.0.8) 2>/dev/null)

APT_PACKAGES := gcc make libc6-dev libpcap-dev libpcap0.8 tcpdump iproute2 ethtool \
                libcap2-bin strace

LIB_SRCS   := $(wildcard libpfring/src/*.c) $(wildcard drivers/*.c) $(wildcard kernel/*.c)
LIB_HDRS   := libpfring/include/pfring.h libpfring/src/pfring_int.h
PY_SRCS    := $(shell find pcap_pfring -name '*.py' -o -name '*.h' -o -name '*.c') \
              setup.py pyproject.toml _pcap_pfring_autoload.py pcap-pfring-autoload.pth
LIBPFRING  := $(BUILD)/lib/libpfring.so.1

# libpcap-pfring: the libpcap drop-in, under both of libpcap's sonames, in a
# directory of its own (LD_LIBRARY_PATH=build/libpcap-pfring selects it).
PCAPPF_DIR  := $(BUILD)/libpcap-pfring
PCAPPF_SRCS := $(wildcard libpcap-pfring/src/*.c)
PCAPPF_HDRS := $(wildcard libpcap-pfring/src/*.h) libpfring/include/pfring.h
PCAPPF_LIBS := $(PCAPPF_DIR)/libpcap.so.0.8 $(PCAPPF_DIR)/libpcap.so.1
# Sizes of libpcap's two data symbols, copied at load time.
SYS_DATA_SIZE = $(shell nm -DS --defined-only $(SYSTEM_LIBPCAP) | awk '$$4=="$(1)"{print "0x"$$2}')

.PHONY: setup apt lib venv test unit live compat lint demo bench clean

setup: apt venv

# Debian packages: only when one is missing, so a second run takes no time.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lib: $(LIBPFRING) $(BUILD)/include/pfring.h $(PCAPPF_LIBS) $(PCAPPF_DIR)/libpcap.so

$(PCAPPF_DIR)/libpcap.so: $(PCAPPF_DIR)/libpcap.so.0.8
	ln -sf libpcap.so.0.8 $@

$(PCAPPF_DIR)/libpcap.so.%: $(PCAPPF_SRCS) $(PCAPPF_HDRS) libpcap-pfring/libpcap.map $(LIBPFRING) Makefile
	@mkdir -p $(PCAPPF_DIR)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden -shared \
	  -Ilibpfring/include \
	  -DPCAPPF_VERSION_BYTES=$(call SYS_DATA_SIZE,pcap_version) \
	  -DPCAPPF_EPROTO_DB_BYTES=$(call SYS_DATA_SIZE,eproto_db) \
	  -Wl,-soname,libpcap.so.$* -Wl,--version-script=libpcap-pfring/libpcap.map \
	  -Wl,-rpath,'$$ORIGIN/../lib' -Wl,--no-undefined \
	  -o $@ $(PCAPPF_SRCS) -L$(BUILD)/lib -l:libpfring.so.1 -ldl -lpthread

$(LIBPFRING): $(LIB_SRCS) $(LIB_HDRS) libpfring/libpfring.map Makefile
	@mkdir -p $(BUILD)/lib
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden -shared \
	  -Ilibpfring/include -Ilibpfring/src \
	  -DPFRING_SYSTEM_LIBPCAP='"$(SYSTEM_LIBPCAP)"' \
	  -Wl,-soname,libpfring.so.1 -Wl,--version-script=libpfring/libpfring.map \
	  -o $@ $(LIB_SRCS) -ldl -lpthread
	ln -sf libpfring.so.1 $(BUILD)/lib/libpfring.so

$(BUILD)/include/pfring.h: libpfring/include/pfring.h
	@mkdir -p $(BUILD)/include
	cp $< $@

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.installed: $(VENV)/.created $(LIBPFRING) $(PCAPPF_LIBS) $(PY_SRCS) requirements-dev.txt
	$(VPY) -m pip install -q -r requirements-dev.txt
	$(VPY) -m pip install -q --no-build-isolation --no-deps .
	touch $@

venv: lib $(VENV)/.installed

test: setup
	@rm -rf $(BUILD)/test-results
	@status=0; $(VENV)/bin/tox -e unit,live,compat,lint || status=$$?; \
	  $(VPY) tools/test-summary $(BUILD)/test-results || status=1; exit $$status

unit: setup
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

bench: setup
	$(VPY) -m pip install -q -r bench/requirements.txt
	cd $(BUILD) && ../$(VPY) ../bench/run.py
