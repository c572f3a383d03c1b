#!/usr/bin/env bash
# Offline "real VS Code" for the integration tests (Debian 12 x64, Node 20, network = npm registry + Debian apt only).
# Installs:
#   - Debian packages (only when root and something is missing): chromium, ripgrep, libkrb5-dev, build-essential, python3
#   - code-server 4.100.3 (= VS Code 1.100.3 server + web workbench) from npm into $CS_DIR, building its native modules
#     locally with node-gyp and feeding @vscode/ripgrep Debian's `rg` instead of its GitHub download.
# Idempotent: returns at once when code-server, rg and chromium are already there (FORCE=1 reinstalls).
# Usage: scripts/vscode-offline/setup.sh      env: CS_DIR (default <repo>/.vscode-test/code-server), CS_VERSION, SKIP_APT=1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CS_VERSION="${CS_VERSION:-4.100.3}"   # newest code-server whose engines.node is 20 (4.101+ need Node 22)
CS_DIR="${CS_DIR:-$ROOT/.vscode-test/code-server}"
RG_PKG_VERSION=1.15.11                 # @vscode/ripgrep pinned in code-server 4.100.3's lib/vscode/npm-shrinkwrap.json
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz   # asset its lib/postinstall.js looks for
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_PKG="$CS_DIR/node_modules/code-server"
t() { echo "[setup +${SECONDS}s] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

if [ -z "${FORCE:-}" ] && [ -x "$CS_BIN" ] && [ -f "$CS_DIR/.install-complete" ] && have rg && have chromium; then
  t "code-server $CS_VERSION already installed in $CS_DIR (FORCE=1 to reinstall)"; exit 0
fi

# 1. OS packages. build-essential/python3 for node-gyp, libkrb5-dev for the `kerberos` module.
pkgs=()
have chromium || pkgs+=(chromium)
have rg || pkgs+=(ripgrep)
have make && have g++ || pkgs+=(build-essential)
have python3 || pkgs+=(python3)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || pkgs+=(libkrb5-dev)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && [ -z "${SKIP_APT:-}" ]; then
    t "apt-get install ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    die "missing system packages: ${pkgs[*]}. Install them first, e.g.: sudo apt-get install -y --no-install-recommends ${pkgs[*]}"
  fi
fi
have rg && have chromium || die "need rg + chromium (apt-get install ripgrep chromium)"

# node-gyp must build against local Node headers: it cannot download them from nodejs.org offline.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  for d in "$nodedir" /usr /usr/local; do
    if [ -f "$d/include/node/node.h" ] && [ -f "$d/include/node/common.gypi" ]; then export npm_config_nodedir="$d"; break; fi
  done
fi
t "node $(node --version), npm $(npm --version), node headers: ${npm_config_nodedir:-<none: node-gyp will try to download them>}"

if [ -n "${FORCE:-}" ]; then rm -rf "$CS_DIR"; fi
rm -f "$CS_DIR/.install-complete"
mkdir -p "$CS_DIR"
cd "$CS_DIR"
# Private TMPDIR: @vscode/ripgrep's postinstall uses $TMPDIR/vscode-ripgrep-cache-<ver>/<asset> as its download cache.
export TMPDIR="$CS_DIR/.tmp"; mkdir -p "$TMPDIR"
RG_CACHE="$TMPDIR/vscode-ripgrep-cache-$RG_PKG_VERSION"
mkdir -p "$RG_CACHE"
tar czf "$RG_CACHE/$RG_ASSET" -C "$(dirname "$(readlink -f "$(command -v rg)")")" rg
t "seeded ripgrep cache with Debian $(rg --version | head -1)"

# keep code-server and node-gyp from writing into ~/.config, ~/.local/share, ~/.cache
export XDG_CONFIG_HOME="$CS_DIR/.xdg/config" XDG_DATA_HOME="$CS_DIR/.xdg/data" XDG_CACHE_HOME="$CS_DIR/.xdg/cache"
# node-pty's build may call npx; `yes=false` in a user .npmrc would make npx refuse
export npm_config_yes=true
NPM_FLAGS=(--no-audit --no-fund --loglevel=error --unsafe-perm)  # --unsafe-perm: code-server's postinstall.sh demands it as root

# 2. code-server from npm, in two steps so that every install script is explicitly approved (npm 11 "allowScripts"
#    policy: unapproved dependency scripts are warned about and, depending on the npm version/config, skipped):
#    a) fetch the tree with --ignore-scripts;
#    b) approve the packages that must build (ours: code-server, argon2; the nested lib/vscode project: its native
#       modules + ripgrep) in the package.json files npm reads, then `npm rebuild`, which runs code-server's postinstall:
#       `npm install --omit=dev` in lib/vscode (node-gyp builds node-pty, spdlog, kerberos, native-watchdog, deviceid,
#       @parcel/watcher) and in lib/vscode/extensions.
cat > package.json <<EOF
{
  "name": "vit-lens-offline-code-server",
  "private": true,
  "dependencies": { "code-server": "$CS_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
t "npm install --ignore-scripts code-server@$CS_VERSION"
npm install "${NPM_FLAGS[@]}" --ignore-scripts
[ -f "$CS_PKG/package.json" ] || die "code-server package missing after npm install"

approve() { # approve <package.json> <pkg>...
  node -e '
    const fs = require("fs"); const [f, ...names] = process.argv.slice(1);
    const j = JSON.parse(fs.readFileSync(f, "utf8")); j.allowScripts = { ...(j.allowScripts || {}) };
    for (const n of names) j.allowScripts[n] = true;
    fs.writeFileSync(f, JSON.stringify(j, null, 2) + "\n");' "$@"
}
approve "$CS_PKG/lib/vscode/package.json" node-pty @vscode/spdlog kerberos native-watchdog @vscode/deviceid @parcel/watcher \
  @vscode/ripgrep @vscode/windows-process-tree @vscode/windows-registry
approve "$CS_PKG/lib/vscode/extensions/package.json" @parcel/watcher esbuild

t "npm rebuild (code-server postinstall + argon2; builds native modules, ~1 min)"
npm rebuild "${NPM_FLAGS[@]}" --foreground-scripts code-server argon2 > "$CS_DIR/install.log" 2>&1 || {
  tail -60 "$CS_DIR/install.log" >&2; die "code-server postinstall failed (full log: $CS_DIR/install.log)"; }
t "postinstall done"

# 3. verify the install is complete (a skipped/failed install script leaves these missing)
VS="$CS_PKG/lib/vscode"
missing=()
for f in \
  "$VS/node_modules/@vscode/ripgrep/bin/rg" \
  "$VS/node_modules/node-pty/build/Release/pty.node" \
  "$VS/node_modules/@vscode/spdlog/build/Release/spdlog.node" \
  "$VS/node_modules/native-watchdog/build/Release/watchdog.node" \
  "$VS/node_modules/kerberos/build/Release/kerberos.node" \
  "$VS/node_modules/@vscode/deviceid/build/Release/windows.node" \
  "$VS/node_modules.asar" \
  "$VS/bin/remote-cli/code-server" \
  "$VS/extensions/node_modules/typescript/package.json"; do
  [ -e "$f" ] || missing+=("${f#"$CS_DIR/"}")
done
if [ ${#missing[@]} -gt 0 ]; then
  tail -40 "$CS_DIR/install.log" >&2
  die "code-server install incomplete (install scripts skipped or failed?); missing: ${missing[*]} (log: $CS_DIR/install.log)"
fi
( cd "$VS" && node -e 'for (const m of ["node-pty", "@vscode/spdlog", "native-watchdog", "kerberos", "@parcel/watcher"]) require(m)' ) \
  || die "code-server's native modules do not load (log: $CS_DIR/install.log)"
( cd "$CS_PKG" && node -e 'require("argon2")' ) || die "argon2 does not load (log: $CS_DIR/install.log)"
"$CS_BIN" --version | head -1
touch "$CS_DIR/.install-complete"
rm -rf "$TMPDIR"
t "done; size: $(du -sh "$CS_DIR" | cut -f1)"
