# Sourced (not run) at the top of the data scripts that call glassbox (shakespeare_char.sh,
# shakespeare_gpt2.sh, scaling_corpus.sh): pins a relative GLASSBOX_DATA_MIRROR to where the command
# was typed, moves to the repository root, and sets $glassbox to the binary ($GLASSBOX, default
# ./build/glassbox), or stops with one line when there is none.
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
glassbox="${GLASSBOX:-./build/glassbox}"
if [[ ! -x "$glassbox" ]]; then
  echo "$(basename "$0"): error: glassbox binary $glassbox not found (build it, or set GLASSBOX)" >&2
  exit 1
fi
