#!/usr/bin/env bash
# Using percore from outside the tree (test "install"): installs the build into a temporary destdir, then builds
# and runs apps/examples/hello.cc against it twice: with `pkg-config --cflags --libs percore` (the installed
# headers, percore.pc and its Requires must be enough), and as a meson subproject of a consumer project.
#
#   tests/install/install_test.sh BUILD_DIR CXX...
set -euo pipefail
build="$(cd "$1" && pwd)"
shift
cxx=("$@")
src="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d -t percore-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# run_hello BINARY: it ticks, sums, and on SIGTERM closes its channel and exits 0 with its final sum.
run_hello() {
  local out="$work/hello.out"
  "$1" --seconds 1 >"$out" 2>&1 || { cat "$out" >&2; fail "$1 exited with status $?"; }
  grep -q '^stopped; final sum [1-9][0-9]*$' "$out" || { cat "$out" >&2; fail "$1 printed no final sum"; }
  echo "ok: $1 ran: $(tail -n 1 "$out")"
}

echo "== meson install --destdir"
meson install -C "$build" --no-rebuild --quiet --destdir "$work/root" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "meson install"; }
pc="$(find "$work/root" -name percore.pc)"
[[ -n "$pc" ]] || fail "no percore.pc installed"

echo "== pkg-config --cflags --libs percore"
# The sysroot maps the .pc file's prefix into the destdir.
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$work/root"
flags="$(pkg-config --cflags --libs percore)" || fail "pkg-config cannot resolve percore or its Requires"
echo "$flags"
# No -I into the source tree: only the installed headers may be found.
mkdir -p "$work/alone"
cp "$src/apps/examples/hello.cc" "$work/alone/"
# shellcheck disable=SC2086
(cd "$work/alone" && "${cxx[@]}" -std=c++20 -Wall -Wextra -Werror hello.cc $flags -o hello) ||
  fail "hello.cc does not build against the installed percore"
run_hello "$work/alone/hello"

echo "== as a meson subproject"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cp -r "$src/tests/install/consumer" "$work/consumer"
cp "$src/apps/examples/hello.cc" "$work/consumer/"
mkdir -p "$work/consumer/subprojects"
# A copy of the sources without the build trees: what a wrap or a git submodule would bring.
mkdir "$work/consumer/subprojects/percore"
tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$work/consumer/subprojects/percore"
CXX="${cxx[*]}" meson setup "$work/consumer/build" "$work/consumer" --force-fallback-for=percore \
  -Dpercore:tests=false -Dpercore:apps=false -Dpercore:benchmarks=disabled >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log" >&2; fail "meson setup of the consumer project"; }
ninja -C "$work/consumer/build" -j "${PERCORE_JOBS:-2}" >"$work/ninja.log" 2>&1 ||
  { tail -n 40 "$work/ninja.log" >&2; fail "the consumer project does not build"; }
run_hello "$work/consumer/build/hello"
