#!/bin/sh
# make install into a temporary DESTDIR, checked file by file; then
# examples/run.c built against the installed copy through pkg-config, once
# dynamically and once with libsandlock.a linked in, and examples/run.cpp
# against the installed sandlock.hpp. Each program spawns real sandboxes
# and must see a denial. The temporary tree is removed at the end.
set -eu
MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-c++}
PREFIX=/opt/sandlock-install-test
VERSION=0.1.0

root=$(mktemp -d /tmp/sandlock-install-XXXXXX)
trap 'rm -rf "$root"' EXIT
fail() { echo "install-test: FAIL: $*"; exit 1; }

$MAKE -s install PREFIX=$PREFIX DESTDIR="$root" >/dev/null
lib=$root$PREFIX/lib
inc=$root$PREFIX/include

[ -f "$lib/libsandlock.so.$VERSION" ] && [ ! -L "$lib/libsandlock.so.$VERSION" ] || fail "no libsandlock.so.$VERSION"
[ "$(readlink "$lib/libsandlock.so.0")" = "libsandlock.so.$VERSION" ] || fail "libsandlock.so.0 is not a link to libsandlock.so.$VERSION"
[ "$(readlink "$lib/libsandlock.so")" = "libsandlock.so.0" ] || fail "libsandlock.so is not a link to libsandlock.so.0"
readelf -d "$lib/libsandlock.so.$VERSION" | grep -q 'SONAME.*\[libsandlock.so.0\]' || fail "no SONAME libsandlock.so.0"
[ -f "$lib/libsandlock.a" ] || fail "no libsandlock.a"
cmp -s "$inc/sandlock.h" include/sandlock.h || fail "sandlock.h not installed"
cmp -s "$inc/sandlock.hpp" include/sandlock.hpp || fail "sandlock.hpp not installed"
pc=$lib/pkgconfig/sandlock.pc
[ -f "$pc" ] || fail "no sandlock.pc"
grep -qx "prefix=$PREFIX" "$pc" || fail "sandlock.pc: prefix is not $PREFIX"
echo "install-test: files, links, SONAME and sandlock.pc in place"

# pkg-config as a user would run it, with DESTDIR as the sysroot (the .pc
# names the final paths, PREFIX, not the staging tree).
PKG="env PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config"
[ "$($PKG --modversion sandlock)" = "$VERSION" ] || fail "pkg-config --modversion"
out=$root/build
mkdir -p "$out"

# Dynamic: -lsandlock finds libsandlock.so.
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror -o "$out/run-dynamic" examples/run.c \
    $($PKG --cflags sandlock) $($PKG --libs sandlock)
readelf -d "$out/run-dynamic" | grep -q 'NEEDED.*\[libsandlock.so.0\]' || fail "the dynamic build does not need libsandlock.so.0"
LD_LIBRARY_PATH=$lib "$out/run-dynamic" > "$out/dynamic.txt" 2>&1 || { cat "$out/dynamic.txt"; fail "run-dynamic"; }
grep -q "Permission denied" "$out/dynamic.txt" || fail "run-dynamic saw no denial"
echo "install-test: dynamic build ran a sandbox and saw the denial"

# Static: the archive named explicitly (the linker prefers the .so), the
# libraries it needs from --static; --as-needed drops the .so that
# pkg-config's -lsandlock names again.
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror -o "$out/run-static" examples/run.c $($PKG --cflags sandlock) \
    -Wl,-Bstatic -lsandlock -Wl,-Bdynamic -Wl,--as-needed $($PKG --static --libs sandlock)
if readelf -d "$out/run-static" | grep -q 'NEEDED.*libsandlock'; then fail "the static build needs libsandlock.so"; fi
ldd "$out/run-static" | grep -q libsandlock && fail "ldd: the static build loads libsandlock.so"
# No LD_LIBRARY_PATH: nothing of the install is loaded at run time.
"$out/run-static" > "$out/static.txt" 2>&1 || { cat "$out/static.txt"; fail "run-static"; }
grep -q "Permission denied" "$out/static.txt" || fail "run-static saw no denial"
echo "install-test: static build (libsandlock.a) ran a sandbox and saw the denial"

# C++: the installed wrapper.
# shellcheck disable=SC2046
$CXX -std=c++17 -Wall -Wextra -Werror -pedantic -o "$out/run-cpp" examples/run.cpp \
    $($PKG --cflags sandlock) $($PKG --libs sandlock)
LD_LIBRARY_PATH=$lib "$out/run-cpp" > "$out/cpp.txt" 2>&1 || { cat "$out/cpp.txt"; fail "run-cpp"; }
echo "install-test: C++ build against the installed sandlock.hpp ran"
echo "install-test: passed"
