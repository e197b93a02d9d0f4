# tests/vm/debian.sh — sourced by the lab's scripts that take packages from
# a Debian release other than the host's (kernel, trixie-qemu, buildroot)
# or build a Debian root with mmdebstrap (buildroot, system-image).
#
#   CACHE                    the lab's cache, outside the clone
#   debian_sources RELEASE   apt sources (one-line format) for RELEASE, its
#                            -updates, -security and -backports, from the
#                            host's own mirrors
#   release_apt RELEASE      fills RELEASE_APT with the options of a private
#                            apt for RELEASE (lists in CACHE/apt-RELEASE,
#                            refreshed once a day; the host's apt untouched);
#                            RELEASE_APT_LISTS is its lists directory
#   cached_build KIND RECIPE sets BUILD_DIR (CACHE/KIND/<hash of RECIPE>) and
#                            returns 0 if it is complete; else takes its lock
#                            and returns 1 with BUILD_TMP made empty;
#                            build_done then moves BUILD_TMP into place
# The caller sets prog, die and log.

CACHE=${NSFLUSH_CACHE:-${XDG_CACHE_HOME:-${HOME:-~}/.cache}/nsflush}

# The host's Debian and security mirrors, from its apt sources (deb822 or
# one-line); deb.debian.org when it names none.
host_mirror() { # debian | debian-security
	local f uri
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
		[ -f "$f" ] || continue
		for uri in $(sed -n -e 's/^URIs: *//p' -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' "$f"); do
			case ${uri%/} in */"$1") echo "${uri%/}"; return ;; esac
		done
	done
	echo "http://deb.debian.org/$1"
}

debian_sources() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	local main sec
	main=$(host_mirror debian) sec=$(host_mirror debian-security)
	echo "deb [signed-by=$key] $main $1 main"
	echo "deb [signed-by=$key] $main $1-updates main"
	echo "deb [signed-by=$key] $sec $1-security main"
	echo "deb [signed-by=$key] $main $1-backports main"
}

release_apt() {
	local dir="$CACHE/apt-$1"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	debian_sources "$1" > "$dir/sources.list.new"
	if ! cmp -s "$dir/sources.list.new" "$dir/sources.list"; then
		mv "$dir/sources.list.new" "$dir/sources.list"
		rm -f "$dir"/lists/*Packages* # other mirrors: fetch again
	else
		rm -f "$dir/sources.list.new"
	fi
	RELEASE_APT=(
		-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir"
		-o Dir::State::Status=/dev/null
		-o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
	)
	RELEASE_APT_LISTS=$dir/lists
	# Once a day at most (the lists are what a kernel's version resolves from).
	if [ -z "$(find "$dir/lists" -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
		log "apt-get update ($1)"
		apt-get "${RELEASE_APT[@]}" update > "$dir/log" 2>&1 ||
			{ cat "$dir/log" >&2; die "apt-get update of $1 failed"; }
	fi
}

cached_build() {
	BUILD_DIR=$CACHE/$1/$(sha256sum <<<"$2" | cut -c1-16)
	[ -f "$BUILD_DIR/.nsflush-complete" ] && return 0
	mkdir -p "$CACHE/$1"
	exec 9>"$BUILD_DIR.lock"
	flock 9
	[ -f "$BUILD_DIR/.nsflush-complete" ] && return 0
	BUILD_TMP=$BUILD_DIR.partial
	rm -rf "$BUILD_TMP" && mkdir -p "$BUILD_TMP"
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$BUILD_TMP'" EXIT
	return 1
}

build_done() {
	rm -rf "$BUILD_DIR"
	mv "$BUILD_TMP" "$BUILD_DIR"
	trap - EXIT
	touch "$BUILD_DIR/.nsflush-complete"
	log "ready: $BUILD_DIR"
}
