#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cpack -G DEB` builds ftrack-host, libftrack0 and libftrack-dev; they unpack (dpkg -x) into a scratch
# root with the binary, unit, man page, configuration, shipped plugins, headers, library and
# pkg-config file, and the unpacked binary runs.
. "$FTRACK_TEST_LIB"

build=$(cd "$(dirname "$FTRACK_HOST_BIN")/.." && pwd)
[ -f "$build/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $build"
for tool in cpack dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || fail "$tool is missing (build.sh installs dpkg-dev)"
done
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
: "${libdir:=lib}"
out=$FTRACK_TEST_TMP/pkg
timeout 120 cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$FTRACK_TEST_TMP/cpack.log" 2>&1 ||
    { cat "$FTRACK_TEST_TMP/cpack.log" >&2; fail "cpack failed"; }
host_deb=$(ls "$out"/ftrack-host_*.deb 2>/dev/null | head -n 1)
dev_deb=$(ls "$out"/libftrack-dev_*.deb 2>/dev/null | head -n 1)
lib_deb=$(ls "$out"/libftrack0_*.deb 2>/dev/null | head -n 1)
[ -n "$host_deb" ] && [ -n "$dev_deb" ] && [ -n "$lib_deb" ] || { ls -l "$out" >&2; fail "packages missing"; }
[ "$(dpkg-deb -f "$lib_deb" Package)" = libftrack0 ] || fail "runtime package name"
[ "$(dpkg-deb -f "$host_deb" Package)" = ftrack-host ] || fail "host package name"
[ "$(dpkg-deb -f "$dev_deb" Package)" = libftrack-dev ] || fail "dev package name"
dpkg-deb -f "$host_deb" Depends | grep -q 'libftrack0' || fail "ftrack-host does not depend on libftrack0"
dpkg-deb -f "$dev_deb" Depends | grep -q 'libftrack0' || fail "libftrack-dev does not depend on libftrack0"
! dpkg-deb -c "$host_deb" | grep -q 'include/ftrack' || fail "headers in the host package"
dpkg-deb -c "$lib_deb" | grep -q 'libftrack\.so\.0' || fail "libftrack0 lacks the library"
! dpkg-deb -c "$lib_deb" | grep -q 'libftrack\.so ' || fail "libftrack0 holds the -dev link"
dpkg-deb -f "$host_deb" Depends | grep -q 'libc6' || fail "no shared-library dependencies computed"
dpkg-deb --ctrl-tarfile "$host_deb" | tar -t | grep -q conffiles || fail "no conffiles"

root=$FTRACK_TEST_TMP/root
dpkg -x "$host_deb" "$root"
dpkg -x "$dev_deb" "$root"
dpkg -x "$lib_deb" "$root"
p=$root$prefix
sysconf=$(sed -n 's/^CMAKE_INSTALL_SYSCONFDIR:PATH=//p' "$build/CMakeCache.txt")
case $sysconf in /*) etc=$root$sysconf ;; *) etc=$p/${sysconf:-etc} ;; esac
[ "$prefix" = /usr ] && etc=$root/etc # GNUInstallDirs: /usr's configuration is in /etc
for f in "$p/bin/ftrack-host" "$p/lib/systemd/system/ftrack-host.service" \
    "$p/share/man/man1/ftrack-host.1" "$p/share/ftrack-host/python/ftrack_host_runner.py" \
    "$p/$libdir/ftrack/plugins/ftrack_webhook.so" \
    "$p/$libdir/ftrack/plugins/ftrack_audit_log.so" "$p/include/ftrack/ftrack.h" \
    "$p/include/ftrack/version.h" "$p/$libdir/pkgconfig/libftrack.pc" "$p/$libdir/libftrack.so.0" "$p/$libdir/libftrack.so" \
    "$etc/ftrack-host/config.json" "$etc/ftrack-host/environment"; do
    [ -e "$f" ] || { (cd "$root" && find . -type f) >&2; fail "missing ${f#"$root"}"; }
done
for pkg in ftrack-host libftrack0 libftrack-dev; do
    c=$p/share/doc/$pkg/copyright
    [ -f "$c" ] || fail "$pkg: no copyright file"
    head -n 1 "$c" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
        fail "$pkg: copyright is not machine-readable (DEP-5)"
    grep -q '^License: Apache-2.0$' "$c" || fail "$pkg: copyright names no Apache-2.0 license"
done
for f in ftrackConfig.cmake ftrackConfigVersion.cmake ftrackTargets.cmake ftrackPlugin.cmake; do
    dpkg-deb -c "$dev_deb" | grep -q "/cmake/ftrack/$f\$" || fail "libftrack-dev lacks cmake/ftrack/$f"
done
unit=$p/lib/systemd/system/ftrack-host.service
grep -q '^Type=notify' "$unit" || fail "unit: Type=notify"
grep -q "^ExecStart=$prefix/bin/ftrack-host run --require-server" "$unit" || fail "unit: ExecStart"
grep -q '^DynamicUser=yes' "$unit" || fail "unit: DynamicUser"
grep -q '^ProtectSystem=strict' "$unit" || fail "unit: ProtectSystem"
grep -q '^WatchdogSec=' "$unit" || fail "unit: WatchdogSec"
grep -q "^plugindir=" "$p/$libdir/pkgconfig/libftrack.pc" || fail "pc: plugindir"

export LD_LIBRARY_PATH=$p/$libdir
"$p/bin/ftrack-host" --version | grep -q '^ftrack-host ' || fail "the unpacked binary does not run"
"$p/bin/ftrack-host" check-config --no-plugins "$etc/ftrack-host/config.json" ||
    fail "the packaged configuration does not pass check-config"
out=$("$p/bin/ftrack-host" check-config --plugin-path "$p/$libdir/ftrack/plugins" \
    "$etc/ftrack-host/config.json" 2>&1) ||
    fail "the packaged configuration does not pass check-config with the packaged plugins: $out"
echo "PASS: package"
