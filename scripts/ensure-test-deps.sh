#!/usr/bin/env bash
# Installs the Debian packages the tests talk to (Dovecot, swaks, openssl, Chromium, rspamd, spamd,
# clamd) when they are missing.
# The packaged daemons are kept from starting: the tests run private instances on loopback ports.
# Idempotent: with everything present it changes nothing and needs no network.
set -euo pipefail
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
# The web admin's end-to-end test drives Debian's headless Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The filter step's tests scan with the real daemons, started privately (src/filters/*.test.ts).
[ -x /usr/bin/rspamd ] || need+=(rspamd)
[ -x /usr/sbin/spamd ] || need+=(spamd)
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "== installing ${need[*]}"
# Keep the packaged dovecot from starting (invoke-rc.d and deb-systemd-invoke honour exit 101);
# an existing policy is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved=''
if [ -e "$policy" ]; then
  saved="$(mktemp)"
  cp -p "$policy" "$saved"
fi
restore_policy() {
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' > "$policy"
chmod +x "$policy"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
