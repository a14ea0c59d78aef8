#!/usr/bin/env bash
# Installs the Debian packages the tests talk to (Dovecot, swaks, openssl) when they are missing.
# The packaged daemons are kept from starting: the tests run private instances on loopback ports.
set -euo pipefail
need=()
command -v dovecot >/dev/null || need+=(dovecot-core dovecot-pop3d dovecot-imapd dovecot-lmtpd)
[ -x /usr/lib/dovecot/pop3 ] || need+=(dovecot-pop3d)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
command -v swaks >/dev/null || need+=(swaks)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "== installing ${need[*]}"
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
