#!/usr/bin/env bash
# DKMS builds the helper module for each dkms kernel (tests/kernels.sh) as a
# Debian host would (`dkms add` + `dkms build` of the tree `make -C kmod
# dkms-tree` installs), Debian 13's in the trixie build root with trixie's
# DKMS (tests/vm/kernel exec), in a private DKMS tree (dkms may still create its signing key in
# /var/lib/dkms, as on any host). The result must carry
# module BTF, and must load in a guest of that kernel with a usable kfunc.
. "$(dirname "$0")/../lib.sh"
cd "$NSFLUSH_ROOT" || exit 2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(nsf_version)
make -s -C kmod dkms-tree DESTDIR="$tmp/root" >/dev/null
dkms_opts=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/root/usr/src")
mkdir -p "$tmp/dkms"
if ! dkms add -m nsflush -v "$version" "${dkms_opts[@]}" > "$tmp/add.log" 2>&1; then
	fail "dkms add" "$(tail -n 3 "$tmp/add.log" | tr '\n' ' ')"
	finish
fi

for k in $(lab_kernels dkms); do
	kroot=$(tests/vm/kernel fetch "$k") || { fail "$k dkms" "cannot fetch kernel"; continue; }
	kver=${kroot##*/}
	# The DKMS host's kernel image is /boot/vmlinuz-KVER; ours is cached.
	if ! tests/vm/kernel exec "$k" -- \
		env NSFLUSH_VMLINUZ="$kroot/boot/vmlinuz-$kver" dkms build -m nsflush -v "$version" \
		-k "$kver" --kernelsourcedir "$kroot/usr/src/linux-headers-$kver" \
		"${dkms_opts[@]}" > "$tmp/build-$kver.log" 2>&1; then
		fail "$k dkms build" "$(tail -n 3 "$tmp/build-$kver.log" | tr '\n' ' ')"
		continue
	fi
	pass "$k dkms build"
	ko=$(find "$tmp/dkms/nsflush/$version/$kver" -name 'nsflush.ko*' | head -n 1)
	case $ko in *.xz) xz -dc "$ko" > "$tmp/nsflush.ko" ;; *.zst) zstd -qdc "$ko" > "$tmp/nsflush.ko" ;; *) cp "$ko" "$tmp/nsflush.ko" ;; esac
	if readelf -S "$tmp/nsflush.ko" | grep -q ' \.BTF '; then
		pass "$k dkms module has BTF"
	else
		fail "$k dkms module has BTF" "no .BTF section in $ko"
	fi
	expect_eq "$k dkms module's MODULE_VERSION is the package's" "$version" \
		"$(modinfo -F version "$tmp/nsflush.ko")"
	# Boot with the DKMS-built module in place of make's.
	dest=build/kmod-dkms/$kver
	mkdir -p "$dest" && cp "$tmp/nsflush.ko" "$dest/nsflush.ko"
	out=$(vm "$k" -- sh -c "insmod $dest/nsflush.ko && ls -d /sys/kernel/btf/nsflush && echo version=\$(cat /sys/module/nsflush/version) && nsflush-flush --self-page" 2>&1)
	if echo "$out" | grep -q '^/sys/kernel/btf/nsflush$' &&
	   [ "$(echo "$out" | grep '^phys=' | field flushed_bytes)" = 4096 ]; then
		pass "$k dkms module loads with BTF and its kfunc flushes a page"
	else
		fail "$k dkms module loads with BTF and its kfunc flushes a page" \
			"$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
	expect_eq "$k loaded module's version" "$version" "$(echo "$out" | field version)"
done
finish
