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
LAB_KERNELS ?= debian-6.12 debian-6.1 iommufd-6.12

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

$(BUILD)/obj/%.o: src/%.c $(SKELS) | $(BUILD)/obj/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))

$(BUILD)/%: $(BUILD)/obj/%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(BUILD)/static/%: $(BUILD)/obj/%.o $(LIB_OBJS) | $(BUILD)/static
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ $(LIBS_STATIC) -o $@

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
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild kmod/build) include/nsflush_kfunc.h

# The kernel version is known only once the kernel is fetched, so the
# up-to-date check is done here rather than by make's dependency graph.
kmods:
	$(Q)for k in $(LAB_KERNELS); do \
		root=$$(tests/vm/kernel fetch $$k) || exit 1; \
		kver=$${root##*/}; out=$(BUILD)/kmod/$$kver; \
		if [ -f $$out/nsflush.ko ] && \
		   [ -z "$$(find $(KMOD_SRCS) -newer $$out/nsflush.ko)" ]; then continue; fi; \
		mkdir -p $$out; \
		$(if $(Q),printf '  %-8s %s\n' KMOD $$out/nsflush.ko;) \
		kmod/build --kdir "$$root/usr/src/linux-headers-$$kver" --out $$out \
			$(if $(Q),> $$out/build.log 2>&1 || { cat $$out/build.log; exit 1; }, || exit 1); \
	done

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(wildcard tests/unit/*.h) | $(BUILD)/tests
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

run-tests: all static kmods unit variant $(TEST_TOOLS)
	$(Q)tests/run

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

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

.PHONY: all static kmods unit variant deps check run-tests demo run-demo bench bench-flush bench-state bench-lab vmlinux clean
# Keep skeletons and objects between runs.
.SECONDARY:

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/lib/*.d)
