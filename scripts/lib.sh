# Shared helpers for scripts/*: sourced, not run.

PERCORE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PERCORE_JOBS="${PERCORE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# configure_build DIR [meson options...]: sets up DIR once, reconfigures only when options change.
configure_build() {
  local dir="$1"; shift
  local stamp="$dir/.percore-options"
  local want="$*"
  if [[ -f "$dir/build.ninja" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ -f "$dir/build.ninja" ]]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  echo "$want" > "$stamp"
}

# build DIR [targets...]
build() {
  local dir="$1"; shift
  ninja -C "$dir" -j "$PERCORE_JOBS" "$@" | grep -v '^ninja: \(Entering\|no work\)' | grep -v '^\[' || true
  # ninja's exit status, not grep's
  return "${PIPESTATUS[0]}"
}
