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
  local log="${dir%/}.setup.log"
  mkdir -p "$(dirname "$dir")"
  if [[ -f "$dir/build.ninja" && "$(cat "$dir/.percore-cxx" 2>/dev/null)" == "$CXX" ]]; then
    [[ "$(cat "$dir/.percore-options" 2>/dev/null)" == "$want" ]] && return 0
    meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    echo "$CXX" > "$dir/.percore-cxx"
  fi
  echo "$want" > "$dir/.percore-options"
}

# build DIR [targets...]
build() {
  local dir="$1"; shift
  # The filter's exit status is grep's (1 when it drops every line): ninja's travels through the pipe instead,
  # as a last line the final stage turns into its own exit status.
  { ninja -C "$dir" -j "$PERCORE_JOBS" "$@" 2>&1; echo "ninja-status $?"; } \
    | grep -v '^ninja: \(Entering\|no work\)' | grep -v '^\[' \
    | grep -v '^\(Configuring\|Dependency\|Compiler for\|Found\|Build targets\|Message\|Cleaning\)' \
    | { status=1; while IFS= read -r line; do
          if [[ "$line" == "ninja-status "* ]]; then status="${line#ninja-status }"; else printf '%s\n' "$line"; fi
        done; exit "$status"; }
}
