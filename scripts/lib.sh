# Shared helpers for scripts/*: sourced, not run.

PERCORE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PERCORE_JOBS="${PERCORE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# The compiler: clang. GCC 12 (Debian 12's g++) miscompiles coroutines this code relies on (docs/compilers.md);
# set CXX to override.
export CXX="${CXX:-clang++}"

# configure_build DIR [meson options...]: sets up DIR once; reconfigures when options change, starts over when the
# compiler changes (meson fixes the compiler at setup).
configure_build() {
  local dir="$1"; shift
  local want="$*"
  if [[ -f "$dir/build.ninja" && "$(cat "$dir/.percore-cxx" 2>/dev/null)" == "$CXX" ]]; then
    [[ "$(cat "$dir/.percore-options" 2>/dev/null)" == "$want" ]] && return 0
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >/dev/null
    echo "$CXX" > "$dir/.percore-cxx"
  fi
  echo "$want" > "$dir/.percore-options"
}

# build DIR [targets...]
build() {
  local dir="$1"; shift
  ninja -C "$dir" -j "$PERCORE_JOBS" "$@" | grep -v '^ninja: \(Entering\|no work\)' | grep -v '^\[' || true
  # ninja's exit status, not grep's
  return "${PIPESTATUS[0]}"
}
