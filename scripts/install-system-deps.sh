#!/bin/sh
# Install what the integration tests need from Debian when it is missing:
# dovecot-imapd (a real IMAP server for the IMAP tests), openssl (its TLS certificate)
# and chromium (a real browser for the test of the report's HTML page).
# Needs root; without root it says what is missing and leaves the tests to report it.
set -eu
missing=""
[ -x /usr/sbin/dovecot ] || missing="$missing dovecot-imapd"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps: missing:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 0
fi
echo "install-system-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
