#!/usr/bin/env bash
# Installs code-server (a real VS Code 1.100 workbench served over HTTP) for the end-to-end suite.
#   bash scripts/install-code-server.sh [DEST]      default DEST: .e2e/code-server (git-ignored)
# Idempotent: does nothing when the pinned version is already there. Needs node 20, npm, and the
# system packages of `scripts/setup-system.sh --e2e` (ripgrep, libkrb5-dev, pkg-config, chromium).
# code-server is deliberately not a project dependency: it is 300 MB and ~50 s of native builds.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.e2e/code-server}
CS_VERSION=4.100.3            # newest code-server whose engines.node accepts node 20; ships VS Code 1.100.3
# @vscode/ripgrep (pinned by code-server's VS Code) downloads rg from GitHub in its postinstall unless
# its cache already holds the release tarball: seed the cache with Debian's rg (also 13.0.0).
RG_PKG_VERSION=1.15.11
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

installed_version() {
  node -e 'try{process.stdout.write(require(process.argv[1]).version)}catch{}' \
    "$PWD/$DEST/node_modules/code-server/package.json" 2>/dev/null || true
}
if [ "$(installed_version)" = "$CS_VERSION" ] && [ -x "$DEST/node_modules/.bin/code-server" ]; then
  echo "install-code-server: code-server $CS_VERSION already in $DEST"
  exit 0
fi

command -v rg >/dev/null || { echo "install-code-server: ripgrep is missing; run: bash scripts/setup-system.sh --e2e" >&2; exit 1; }
if ! dpkg -s libkrb5-dev >/dev/null 2>&1 && ! [ -e /usr/include/gssapi/gssapi.h ]; then
  echo "install-code-server: libkrb5-dev is missing (code-server's kerberos module needs gssapi.h); run: bash scripts/setup-system.sh --e2e" >&2
  exit 1
fi

RGC="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RG_PKG_VERSION"
mkdir -p "$RGC"
if [ ! -s "$RGC/$RG_ASSET" ]; then
  t=$(mktemp -d); cp "$(command -v rg)" "$t/rg"; tar czf "$RGC/$RG_ASSET" -C "$t" rg; rm -rf "$t"
fi

mkdir -p "$DEST"
cd "$DEST"
[ -f package.json ] || echo '{"name":"afterburner-e2e-host","private":true}' > package.json
# unsafe_perm: code-server's postinstall refuses root otherwise; yes: node-pty runs `npx node-gyp` without a TTY.
# nodedir=/usr (in ~/.npmrc on this machine kind) lets node-gyp build without downloading headers.
npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false \
  npm install --no-save --no-package-lock --foreground-scripts "code-server@$CS_VERSION"
test -x node_modules/.bin/code-server
test -x node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg
echo "install-code-server: code-server $CS_VERSION installed in $DEST"
