#!/usr/bin/env bash
# Installs the Debian packages the tests talk to (Dovecot, swaks, openssl, Chromium, systemd-analyze,
# PostgreSQL, rspamd, spamd, clamd, Courier's and Cyrus's libraries) when they are missing, and unpacks
# Courier's and Cyrus's POP3 servers, which conflict with Dovecot's, into a cache folder. The packaged
# daemons are kept from starting: the tests run private instances on loopback ports. Idempotent: with
# everything present and unpacked it changes nothing.
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

updated=''
install_packages() {
  echo "== installing $*"
  # Keep the packaged daemons from starting (invoke-rc.d and deb-systemd-invoke honour exit 101);
  # an existing policy is put back afterwards.
  local policy=/usr/sbin/policy-rc.d saved=''
  if [ -e "$policy" ]; then
    saved="$(mktemp)"
    cp -p "$policy" "$saved"
  fi
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$updated" ] || apt-get update -q
  updated=1
  # --no-remove: a package that would take Dovecot's POP3/IMAP away fails here instead of doing so.
  local rc=0
  apt-get install -y -q --no-remove --no-install-recommends "$@" || rc=$?
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
  return $rc
}

# Courier's and Cyrus's POP3 servers, unpacked (apt-get download + dpkg-deb -x) into a cache folder
# the harnesses in test/support/ read; done again only when the candidate versions change.
INTEROP_DIR="${POSTBOTE_INTEROP_DIR:-${TMPDIR:-/tmp}/postbote-interop}"
INTEROP_PACKAGES=(courier-base courier-pop cyrus-imapd cyrus-pop3d)
unpack_interop() {
  local stamp="$INTEROP_DIR/root/.packages" want
  want="$(apt-cache policy "${INTEROP_PACKAGES[@]}" 2>/dev/null | awk '/^[^ ]/{p=$1} /Candidate:/{print p, $2}')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -n "$want" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "Courier/Cyrus servers are not unpacked in $INTEROP_DIR: run this script as root" >&2
    return 1
  fi
  echo "== unpacking ${INTEROP_PACKAGES[*]} into $INTEROP_DIR"
  local work
  work="$(mktemp -d)"
  chmod 755 "$work"
  if ! (cd "$work" && apt-get download "${INTEROP_PACKAGES[@]}" >/dev/null 2>&1); then
    [ -n "$updated" ] || apt-get update -q
    updated=1
    (cd "$work" && apt-get download "${INTEROP_PACKAGES[@]}")
  fi
  rm -rf "$INTEROP_DIR/root"
  mkdir -p "$INTEROP_DIR/root"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$INTEROP_DIR/root"; done
  chmod 755 "$INTEROP_DIR" "$INTEROP_DIR/root"
  rm -rf "$work"
  want="$(apt-cache policy "${INTEROP_PACKAGES[@]}" 2>/dev/null | awk '/^[^ ]/{p=$1} /Candidate:/{print p, $2}')"
  printf '%s' "$want" > "$stamp"
}
need=()
# Test by path, not `command -v`: /usr/sbin is not on PATH in every root shell (su without -).
[ -x /usr/sbin/dovecot ] || need+=(dovecot-core)
[ -x /usr/lib/dovecot/pop3 ] || need+=(dovecot-pop3d)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
[ -x /usr/bin/swaks ] || need+=(swaks)
[ -x /usr/bin/openssl ] || need+=(openssl)
# The harness creates its mail user with useradd and looks users up with getent.
[ -x /usr/sbin/useradd ] || need+=(passwd)
# The packaged systemd unit is checked with systemd-analyze verify (works without systemd as PID 1).
[ -x /usr/bin/systemd-analyze ] || need+=(systemd)
# The web admin's end-to-end test drives Debian's headless Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
# Courier's and Cyrus's libraries and helpers install beside Dovecot; their POP3 servers conflict with
# dovecot-pop3d and are only unpacked (below), never installed.
[ -x /usr/sbin/authdaemond ] || need+=(courier-authdaemon)
[ -x /usr/sbin/makeuserdb ] || need+=(courier-authlib-userdb)
# Libraries the unpacked Courier binaries link against (they come with no binary to test by path).
for lib in libcourier-unicode4 libidn12 libpcre3; do installed "$lib" || need+=("$lib"); done
[ -x /usr/bin/certtool ] || need+=(gnutls-bin)
[ -x /usr/bin/unshare ] || need+=(util-linux)
[ -x /usr/lib/cyrus/bin/master ] || need+=(cyrus-common)
[ -x /usr/sbin/saslpasswd2 ] || need+=(sasl2-bin)
# The PostgreSQL state's tests start private clusters (test/support/postgres.ts), never the package's
# own `main` cluster, which the policy keeps from starting; setpriv and runuser come with util-linux.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
# The filter step's tests scan with the real daemons, started privately (test/support/scanners.ts).
[ -x /usr/bin/rspamd ] || need+=(rspamd)
[ -x /usr/sbin/spamd ] || need+=(spamd)
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
    exit 1
  fi
  install_packages "${need[@]}"
fi
unpack_interop
