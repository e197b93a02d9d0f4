# SPDX-License-Identifier: GPL-2.0
# nsflush: `make` builds the BPF objects, skeletons and tools into build/;
# `make check` runs the unit and VM tests; `make demo` shows the lab.
# Quiet by default, V=1 for the full commands.

BUILD     ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
LLVM_STRIP ?= llvm-strip
CC        ?= cc
ARCH      := x86
# Kernels the lab boots and the helper module is built for.
LAB_KERNELS ?= $(shell tests/vm/kernel list)
# The one version (tools, packages, module): debian/changelog's newest.
VERSION   := $(shell sed -n '1{s/^nsflush .//;s/. .*//;p}' debian/changelog)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf)
LIBBPF_LIBS   := $(shell pkg-config --libs libbpf)
LIBBPF_STATIC := $(shell pkg-config --static --libs libbpf)
# src/lib's range indexes are Judy arrays (libjudy-dev).
LIBS          := $(LIBBPF_LIBS) -lJudy
LIBS_STATIC   := $(LIBBPF_STATIC) -lJudy

CFLAGS    ?= -g -O2
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -MMD -Iinclude -Isrc -I$(BUILD) $(LIBBPF_CFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Ivmlinux/$(ARCH) -Iinclude $(BPF_EXTRA)

# nsflush_enforce.bpf.c is nsflush.bpf.c with NSFLUSH_ENFORCE: the same
# hooks calling the helper module's kfunc.
BPF_OBJS  := nsflush nsflush_enforce flush
SKELS     := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_OBJS))
LIB_SRCS  := $(wildcard src/lib/*.c)
TOOLS     := nsflushd nsflush-audit nsflush-flush
WORKLOAD  := nsflush-workload
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

all: $(addprefix $(BUILD)/,$(TOOLS) $(WORKLOAD))

# The guest of the lab runs these too; static so they need nothing there.
static: $(addprefix $(BUILD)/static/,$(TOOLS) $(WORKLOAD))

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h bpf/*.h bpf/*.bpf.c) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Rewritten only when the version changes, so a rebuild follows it.
$(BUILD)/version.h: debian/changelog | $(BUILD)
	$(Q)echo '#define NSF_VERSION "$(VERSION)"' > $@.tmp; \
	cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(SKELS) $(BUILD)/version.h | $(BUILD)/obj/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))

$(BUILD)/%: $(BUILD)/obj/%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/static/%: $(BUILD)/obj/%.o $(LIB_OBJS) | $(BUILD)/static
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -static $^ $(LIBS_STATIC) -o $@

# The workload client needs only libc and the VFIO uapi.
$(BUILD)/$(WORKLOAD): tests/workload/$(WORKLOAD).c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -Werror -MMD $< -o $@

$(BUILD)/static/$(WORKLOAD): tests/workload/$(WORKLOAD).c | $(BUILD)/static
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -Werror -static $< -o $@

$(BUILD) $(BUILD)/bpf $(BUILD)/obj/lib $(BUILD)/static $(BUILD)/tests:
	$(Q)mkdir -p $@

# ---- helper module, one build per lab kernel -------------------------------
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild kmod/build) include/nsflush_kfunc.h \
	     debian/changelog

# The kernel version is known only once the kernel is fetched, so the
# up-to-date check is done here rather than by make's dependency graph.
# `kernel exec` builds Debian 13's in the trixie build root (gcc-14).
kmods:
	$(Q)for k in $(LAB_KERNELS); do \
		root=$$(tests/vm/kernel fetch $$k) || exit 1; \
		kver=$${root##*/}; out=$(BUILD)/kmod/$$kver; \
		if [ -f $$out/nsflush.ko ] && \
		   [ -z "$$(find $(KMOD_SRCS) -newer $$out/nsflush.ko)" ]; then continue; fi; \
		mkdir -p $$out; \
		$(if $(Q),printf '  %-8s %s\n' KMOD $$out/nsflush.ko;) \
		tests/vm/kernel exec $$k -- \
		kmod/build --kdir "$$root/usr/src/linux-headers-$$kver" --out $$out --version $(VERSION) \
			$(if $(Q),> $$out/build.log 2>&1 || { cat $$out/build.log; exit 1; }, || exit 1); \
	done

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(wildcard tests/unit/*.h) $(BUILD)/version.h | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ikmod $< $(LIB_OBJS) $(LIBS) -o $@

unit: $(LIB_OBJS) $(UNIT_BINS)

# Helpers the VM tests run in the guest.
TEST_TOOLS := $(BUILD)/tests/fill-bpf-map $(BUILD)/tests/slow-flush $(BUILD)/tests/ctl-client
$(BUILD)/tests/ctl-client: tests/nsflushd/ctl-client.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/tests/fill-bpf-map: tests/nsflushd/fill-bpf-map.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIBBPF_LIBS) -o $@

$(BUILD)/bpf/slow-flush.bpf.o: tests/nsflushd/slow-flush.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/slow-flush.skel.h: $(BUILD)/bpf/slow-flush.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name slow_flush_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/slow-flush: tests/nsflushd/slow-flush.c $(BUILD)/slow-flush.skel.h | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIBBPF_LIBS) -o $@

# An nsflushd whose BPF programs differ from this build's but whose maps do
# not: what an upgrade looks like to the pinned hooks (guest-lifecycle).
variant:
	$(Q)$(MAKE) BUILD=$(BUILD)/variant BPF_EXTRA=-DNSFLUSH_BUILD_VARIANT \
		$(BUILD)/variant/static/nsflushd

# The packages first (tests/deps), then a make that reads this file again:
# pkg-config's answers above are only right once libbpf-dev is there.
deps:
	$(Q)tests/deps

check: deps
	$(Q)$(MAKE) run-tests

run-tests: all static man deb kmods unit variant $(TEST_TOOLS)
	$(Q)tests/run

# The system lab in full (tests/system/test-system.sh): make check's part,
# then a new kernel by apt with DKMS autoinstall, a reboot into it, and an
# nsflush-dkms upgrade while enforcing: 11 min in all under TCG (make
# check's part, 2.6 min).
check-system: deps
	$(Q)$(MAKE) all static man deb
	$(Q)NSFLUSH_SYSTEM_FULL=1 tests/run tests/system/

# ---- demo and benchmarks ---------------------------------------------------
# make demo DEMO_KERNEL=iommufd-6.12 DEMO_BACKEND=iommufd: the same via iommufd
DEMO_KERNEL  ?= debian-6.12
DEMO_BACKEND ?= type1
demo: deps
	$(Q)$(MAKE) run-demo

run-demo: all static kmods
	$(Q)tests/vm/run --kernel $(DEMO_KERNEL) -- \
		env NSFLUSH_DEMO_BACKEND=$(DEMO_BACKEND) tests/demo

# make bench: the flush loop on the host CPU, the state engine at 10 k / 1 M
# / 10 M live runs, and the lab's kernel -> daemon pipeline.
bench: bench-flush bench-state bench-lab

bench-flush: $(BUILD)/bench-flush
	$(Q)$(BUILD)/bench-flush

bench-state: $(BUILD)/bench-state
	$(Q)$(BUILD)/bench-state

bench-lab: all static
	$(Q)tests/bench/bench-lab

$(BUILD)/bench-state: tests/bench/bench-state.c $(LIB_OBJS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LIBS) -o $@

$(BUILD)/bench-flush: tests/bench/bench-flush.c kmod/flush_loop.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -Ikmod -Iinclude $< -o $@

vmlinux:
	$(Q)vmlinux/gen-vmlinux-h debian-6.12

# The version, for scripts (kmod/, tests/): read in one place, above.
version:
	@echo $(VERSION)

# ---- man pages and install -------------------------------------------------
# Each man page is its tool's --help (and --version), through help2man, plus
# dist/man/TOOL.h2m for NAME, FILES and SEE ALSO: one source for both.
MANS := $(patsubst %,$(BUILD)/man/%.8,$(TOOLS))
man: $(MANS)

$(BUILD)/man/%.8: $(BUILD)/% dist/man/%.h2m | $(BUILD)/man
	$(call msg,MAN,$@)
	$(Q)help2man --no-info --section 8 --manual "System Administration" \
		--source "nsflush $(VERSION)" --include dist/man/$*.h2m --output $@ $(BUILD)/$*

$(BUILD)/man:
	$(Q)mkdir -p $@

# make install [PREFIX=/usr/local] [DESTDIR=] [SBINDIR= MANDIR= ...]: the
# tools (administrator commands: SBINDIR, man section 8), the systemd unit,
# /etc/default/nsflushd, modules-load.d, bash completion, the alert rules
# and the dashboard. The module's source is `make install-dkms`.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
# /usr keeps its configuration in /etc and its units in /lib (Debian 12)
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MODLOADDIR ?= $(PREFIX)/lib/modules-load.d
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
INSTALL    ?= install

install: all man
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(MODLOADDIR) $(DESTDIR)$(COMPLETIONDIR) \
		$(DESTDIR)$(DATADIR)/nsflush/prometheus $(DESTDIR)$(DATADIR)/nsflush/grafana
	$(Q)$(INSTALL) -m 0755 $(addprefix $(BUILD)/,$(TOOLS)) $(DESTDIR)$(SBINDIR)/
	$(Q)$(INSTALL) -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/
	$(Q)sed -e 's|/usr/sbin/nsflushd|$(SBINDIR)/nsflushd|' \
		-e 's|/etc/default/nsflushd|$(SYSCONFDIR)/default/nsflushd|' \
		dist/systemd/nsflushd.service > $(DESTDIR)$(UNITDIR)/nsflushd.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/nsflushd.service
	$(Q)$(INSTALL) -m 0644 dist/default/nsflushd $(DESTDIR)$(SYSCONFDIR)/default/
	$(Q)$(INSTALL) -m 0644 dist/modules-load.d/nsflush.conf $(DESTDIR)$(MODLOADDIR)/
	$(Q)for t in $(TOOLS); do \
		$(INSTALL) -m 0644 dist/bash-completion/nsflush $(DESTDIR)$(COMPLETIONDIR)/$$t || exit 1; \
	done
	$(Q)$(INSTALL) -m 0644 dist/prometheus/nsflush.rules.yml $(DESTDIR)$(DATADIR)/nsflush/prometheus/
	$(Q)$(INSTALL) -m 0644 dist/grafana/nsflush.json $(DESTDIR)$(DATADIR)/nsflush/grafana/

# make deb: the Debian packages nsflush and nsflush-dkms (and the native
# source package) in $(BUILD)/deb/, built from the checkout's tracked files
# in a copy, so that what is not committed cannot slip in.
DEB_TREE := $(BUILD)/deb/nsflush-$(VERSION)
deb:
	$(call msg,DEB,$(BUILD)/deb)
	$(Q)git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
		{ echo "make deb: needs a git checkout (it packages the tracked files)" >&2; exit 2; }
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_TREE)
	$(Q)git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DEB_TREE)
	$(Q)cd $(DEB_TREE) && dpkg-buildpackage -us -uc $(if $(Q),> ../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; })
	$(Q)ls $(BUILD)/deb/*.deb

# The helper module's source for DKMS (/usr/src/nsflush-VERSION) and its
# modules-load.d entry: what the nsflush-dkms package holds.
install-dkms:
	$(Q)$(MAKE) -C kmod dkms-tree DESTDIR=$(abspath $(DESTDIR)) VERSION=$(VERSION)
	$(Q)$(INSTALL) -d $(DESTDIR)$(MODLOADDIR)
	$(Q)$(INSTALL) -m 0644 dist/modules-load.d/nsflush-dkms.conf $(DESTDIR)$(MODLOADDIR)/

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

.PHONY: all static kmods unit variant deps check run-tests demo run-demo bench bench-flush \
	bench-state bench-lab vmlinux version man install install-dkms deb check-system clean
# Keep skeletons and objects between runs.
.SECONDARY:

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/lib/*.d)
