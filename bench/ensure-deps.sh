#!/usr/bin/env bash
# Installs what the benchmarks talk to when missing: Dovecot (the POP3 server), fetchmail (the
# baseline), postfix only for its smtp-sink tool (the daemon is never started), and gcc for the
# TCP_NODELAY shim; with the argument `filters`, rspamd and clamd for the filters scenario (their
# packaged daemons kept from starting like the others; the bench starts private ones). Idempotent:
# with everything present it changes nothing and needs no network.
set -euo pipefail
need=()
[ -x /usr/sbin/dovecot ] || need+=(dovecot-core)
[ -x /usr/lib/dovecot/pop3 ] || need+=(dovecot-pop3d)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -x /usr/bin/fetchmail ] || need+=(fetchmail)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
[ -x /usr/bin/gcc ] || need+=(gcc libc6-dev)
[ -x /usr/bin/openssl ] || need+=(openssl)
[ -x /usr/sbin/useradd ] || need+=(passwd)
if [ "${1:-}" = filters ]; then
  [ -x /usr/bin/rspamd ] || need+=(rspamd)
  [ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "== installing ${need[*]}"
# Keep packaged daemons (dovecot, postfix, rspamd, clamd) from starting: invoke-rc.d honours exit 101.
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
# Postfix is wanted only for smtp-sink: no configuration, no mailer set up.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
