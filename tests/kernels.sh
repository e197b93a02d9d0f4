# tests/kernels.sh (sourced by tests/lib.sh): the lab's kernels and what the
# tests expect of each, in one table. Names are tests/vm/kernel's (its
# `list`; test-run-guest checks the two agree).
#
# probe     bytes type1 maps into a new domain to probe it for fine-grained
#           superpages, then unmaps (an unpin point too): 2 pages up to
#           6.15, none from 6.16 ("Remove Fine Grained Superpages detection")
# backends  what --check finds hooked once VFIO is loaded: type1 is a
#           module on Debian's kernels, type1 and iommufd are built in on
#           the iommufd build (so it is hooked before anything is loaded)
# intel_cc  Intel's enforce_cache_coherency op: whole (one function), or
#           split by page-table stage into ..._fs and ..._ss (after 6.12)
# suites    the suites that run on it; type1-full: test-type1's enforce runs
#           with the BPF maps full, once (the fail-closed paths do not
#           depend on the kernel)
KERNEL_TABLE='
#name          probe  backends           intel_cc  suites
debian-6.12    8192   vfio-type1         whole     type1 type1-full kfunc check errors merge prom dkms
debian-6.1     8192   vfio-type1         whole     type1 kfunc check errors merge dkms
iommufd-6.12   8192   vfio-type1,iommufd whole     type1 kfunc check
debian13-6.12  8192   vfio-type1         whole     type1 kfunc check errors merge prom dkms
debian13-7.3   0      vfio-type1         split     type1 kfunc check errors merge prom dkms
'

# lab_kernels SUITE: the kernels SUITE runs on, in table order, narrowed to
# NSFLUSH_VM_TEST_KERNELS (space-separated names) when that is set.
lab_kernels() {
	local name probe backends intel_cc suites
	while read -r name probe backends intel_cc suites; do
		case $name in '' | '#'*) continue ;; esac
		case " $suites " in *" $1 "*) ;; *) continue ;; esac
		if [ -n "${NSFLUSH_VM_TEST_KERNELS:-}" ]; then
			case " $NSFLUSH_VM_TEST_KERNELS " in *" $name "*) ;; *) continue ;; esac
		fi
		echo "$name"
	done <<<"$KERNEL_TABLE"
}

# kernel_fact NAME COLUMN (probe, backends, intel_cc, suites)
kernel_fact() {
	local name probe backends intel_cc suites
	while read -r name probe backends intel_cc suites; do
		[ "$name" = "$1" ] || continue
		case $2 in
		probe) echo "$probe" ;; backends) echo "$backends" ;;
		intel_cc) echo "$intel_cc" ;; suites) echo "$suites" ;;
		*) return 1 ;;
		esac
		return 0
	done <<<"$KERNEL_TABLE"
	return 1
}

# has_suite NAME SUITE
has_suite() { case " $(kernel_fact "$1" suites) " in *" $2 "*) return 0 ;; esac; return 1; }
