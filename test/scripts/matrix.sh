#!/usr/bin/env bash
# make test-matrix: the whole of make test on other PostgreSQL majors, each
# in a fresh Debian chroot made with debootstrap (as root).  Cells are
# Debian suites, each bringing its default PostgreSQL:
#
#   trixie    Debian 13, PostgreSQL 17   (default cell)
#   sid       Debian unstable, 18        (default cell)
#   bookworm  Debian 12, 15              (what this machine runs itself)
#
#   make test-matrix                     trixie and sid
#   make test-matrix CELLS="bookworm"    any list of suites
#   KEEP=1                               keep the chroots (unmounted)
#   TARGETS="demo test"                  make targets run in each cell
#                                        (default: test; test last)
#
# Prints one "pgN: N passed, N failed" line per cell, then the total as
# "N passed, N failed", last.  The total includes this machine's own
# make test when tmp/test-result holds its result (CI runs make test
# first); exits non-zero on any failure.
#
# Each cell runs in its own mount and PID namespaces: its mounts (/proc,
# /dev, a private /dev/shm) exist only there, and every process started in
# it, servers included, is killed when the cell ends, however it ends.
# The chroots live in /var/tmp, never in the checkout (make clean removes
# tmp/, and must not walk into a chroot's /dev).  Downloads are cached in
# tmp/matrix-cache (the debootstrap base as a tarball, and apt's .debs) so
# local re-runs skip them; a fresh clone, as in CI, starts from scratch.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=$TOP/tmp/matrix-cache
LOGS=$TOP/tmp/matrix
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# One cell, inside its namespaces: matrix.sh --cell SUITE DIR
# ---------------------------------------------------------------------------
if [ "${1:-}" = --cell ]; then
	suite=$2 dir=$3
	cleanup() {
		# we are PID 1 of the cell's namespace: end everything else in it
		kill -TERM -1 2>/dev/null
		sleep 1
		kill -KILL -1 2>/dev/null
		umount -R "$dir/proc" "$dir/dev" "$dir/var/cache/apt/archives" 2>/dev/null
	}
	trap cleanup EXIT
	mount --make-rprivate / || die "cannot make the cell's mounts private"
	mount -t proc proc "$dir/proc" || die "cannot mount /proc"
	mount --bind /dev "$dir/dev" || die "cannot bind /dev"
	# PostgreSQL needs POSIX shared memory; not the host's /dev/shm
	mount -t tmpfs -o mode=1777,size=2g tmpfs "$dir/dev/shm" || die "cannot mount /dev/shm"
	mount --bind /dev/pts "$dir/dev/pts" 2>/dev/null
	mkdir -p "$CACHE/$suite-debs/partial"
	mount --bind "$CACHE/$suite-debs" "$dir/var/cache/apt/archives" || die "cannot bind the .deb cache"
	# (never write through a symlink in the chroot to this machine's files)
	rm -f "$dir/etc/resolv.conf"
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null

	in_chroot() {
		chroot "$dir" env -i HOME=/root PATH="$CHROOT_PATH" LANG=C.UTF-8 TERM=dumb \
			DEBIAN_FRONTEND=noninteractive "$@"
	}

	# no package may start a service: the postgresql package's own cluster
	# would listen on this machine's port 5432
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	# the .debs stay in the cache for the next run
	rm -f "$dir/etc/apt/apt.conf.d/docker-clean"

	# Debian unstable's Release file is valid for a week; a machine whose
	# clock is past that (or a mirror behind) gets "is expired" from apt
	out=$(in_chroot apt-get update 2>&1)
	rc=$?
	if grep -qiE 'is expired|Valid-Until' <<<"$out"; then
		echo "note: the $suite Release file is past its Valid-Until date on this machine;" \
			"apt in this chroot runs with Acquire::Check-Valid-Until=false"
		echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99teamacl-valid-until"
		out=$(in_chroot apt-get update 2>&1)
		rc=$?
	fi
	if [ "$rc" -ne 0 ] || grep -q '^E:' <<<"$out"; then
		tail -n 20 <<<"$out"
		die "apt-get update failed in the $suite chroot"
	fi

	# the checkout's tracked and new files, as they are in the work tree
	rm -rf "$dir/teamacl"
	mkdir -p "$dir/teamacl"
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$dir/teamacl" || die "cannot copy the checkout"

	in_chroot make -C /teamacl ${TARGETS:-test}
	exit $?
fi

# ---------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "make test-matrix runs as root (debootstrap, chroot, mounts)"
read -r -a cells <<<"${*:-${CELLS:-trixie sid}}"
[ ${#cells[@]} -gt 0 ] || cells=(trixie sid)

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v unshare >/dev/null || need+=(util-linux)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		die "could not install ${need[*]}"
fi
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || die "debian-archive-keyring is missing"

WORK=$(mktemp -d /var/tmp/teamacl-matrix.XXXXXX) || die "cannot make a directory in /var/tmp"
chmod 755 "$WORK"
mkdir -p "$CACHE" "$LOGS"
finish() {
	# the cells' mounts lived in their own namespaces, gone by now; never
	# follow a mount that is still there all the same
	if grep -q " $WORK/" /proc/self/mountinfo; then
		echo "warning: mounts left under $WORK; not removing it" >&2
	elif [ "${KEEP:-0}" = 1 ]; then
		echo "chroots kept in $WORK"
	else
		rm -rf --one-file-system "$WORK"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# make_base SUITE DIR: a minimal Debian with make, from the cache when it
# has a tarball less than a week old
make_base() {
	local suite=$1 dir=$2 tarball=$CACHE/$1-base.tar.gz
	if [ -n "$(find "$tarball" -mtime -7 2>/dev/null)" ]; then
		echo "debootstrap base from $tarball"
		mkdir -p "$dir" && tar -xzf "$tarball" -C "$dir" && return 0
		rm -rf "$dir"
	fi
	echo "debootstrap $suite (a few minutes)"
	# in a mount namespace of its own: a debootstrap that fails half-way
	# cannot leave its /proc mounted under $WORK
	unshare --mount debootstrap --variant=minbase --include=make,ca-certificates \
		"$suite" "$dir" "$MIRROR" >"$LOGS/$suite-debootstrap.log" 2>&1 ||
		{ tail -n 20 "$LOGS/$suite-debootstrap.log"; return 1; }
	rm -f "$dir"/var/cache/apt/archives/*.deb
	tar -czf "$tarball.new" -C "$dir" . && mv "$tarball.new" "$tarball"
}

labels=() passes=() fails=()
total_passed=0 total_failed=0
if [ -f "$TOP/tmp/test-result" ]; then
	read -r major p f <"$TOP/tmp/test-result"
	labels+=("pg$major") passes+=("$p") fails+=("$f")
	notes=("make test on this machine")
else
	notes=()
fi

for suite in "${cells[@]}"; do
	case $suite in
		*[!a-z0-9-]*|"") die "not a Debian suite name: $suite" ;;
	esac
	start=$(date +%s)
	log "cell $suite"
	dir=$WORK/$suite
	rc=1
	if make_base "$suite" "$dir"; then
		# --kill-child: if this script is killed, the cell goes with it
		unshare --mount --pid --fork --kill-child \
			bash "$TOP/test/scripts/matrix.sh" --cell "$suite" "$dir" 2>&1 |
			sed -u "s/^/$suite| /" | tee "$LOGS/$suite.log"
		rc=${PIPESTATUS[0]}
	else
		echo "$suite| debootstrap failed"
	fi
	result=$dir/teamacl/tmp/test-result
	if [[ " ${TARGETS:-test} " != *" test "* ]]; then
		# no make test: the targets' exit status is the one result
		p=$((rc == 0)) f=$((rc != 0))
		labels+=("$suite")
	elif [ -f "$result" ]; then
		read -r major p f <"$result"
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
		labels+=("pg$major")
	else
		p=0 f=1
		labels+=("$suite")
	fi
	passes+=("$p") fails+=("$f")
	secs=$(( $(date +%s) - start ))
	notes+=("Debian $suite chroot, $((secs / 60))m$((secs % 60))s")
done

echo
for i in "${!labels[@]}"; do
	echo "${labels[$i]}: ${notes[$i]}"
done
for i in "${!labels[@]}"; do
	echo "${labels[$i]}: ${passes[$i]} passed, ${fails[$i]} failed"
	total_passed=$((total_passed + passes[i]))
	total_failed=$((total_failed + fails[i]))
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
