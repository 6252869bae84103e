#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright. Install it when
# missing and we may (root with apt-get); otherwise the browser tests skip and say why.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
    || echo "ensure_chromium: could not install chromium; browser tests will be skipped" >&2
else
  echo "ensure_chromium: /usr/bin/chromium is missing; install Debian's chromium to run browser tests" >&2
fi
exit 0
