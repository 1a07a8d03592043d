#!/usr/bin/env bash
# Browser tests need Debian's chromium (never a downloaded browser). Install it where missing
# and we are root; otherwise the browser tests skip with a message saying so.
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium: browser tests will be skipped"
else
  echo "chromium not found and cannot install it: browser tests will be skipped"
fi
