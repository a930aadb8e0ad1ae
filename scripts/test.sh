#!/usr/bin/env bash
# The test command of trifirma. Installs what the tests need (idempotent: a warm machine skips
# every install), then runs gofmt, go vet, staticcheck and go test.
#
#   scripts/test.sh                                # whole module: go test ./...
#   scripts/test.sh ./formats/...                  # only these packages (vet/staticcheck too)
#   scripts/test.sh -run Foo -v ./formats/cades/   # go test flags pass through
#   scripts/test.sh -count=3 -timeout 10m          # user flags override the defaults
#
# Arguments: an argument that names packages (starts with ./ ../ / or github.com/trifirma, or
# is "." or contains "...") and is not the value of a go test flag (-bench . keeps "." as the
# value of -bench) is a package pattern; every other argument goes to go test as is, after the
# defaults -count=1 -timeout 60m (so later user flags win). Without a package pattern, ./... is
# tested, and vet, staticcheck and gofmt look at the same packages.
#
# Environment:
#   TRIFIRMA_TEST_SKIP_INSTALL=1  skip every install step (apt, npm, harness, staticcheck)
#   TRIFIRMA_SHARED=/path         the shared directory (refdata, harness): its harness is
#                                 installed and the tests that need it run (.ci/run sets it)
#   CI=true                       a missing validator or shared directory fails the tests
#
# Exit status: non-zero when go test fails, or when gofmt, go vet or staticcheck found
# problems (go test still runs then, so its results are always shown).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Debian packages the tests need. Add new ones here (one array, one apt-get run).
APT_PACKAGES=(
  openssl               # openssl cms/pkcs12 in tests and validators
  xmlsec1               # XAdES validator
  libxmlsec1-openssl    # xmlsec1's OpenSSL backend
  libxml2-utils         # xmllint
  poppler-utils         # pdfsig (PAdES validator)
  qpdf                  # qpdf --check (PAdES validator)
  libnss3-tools         # certutil, NSS trust store for pdfsig
  redis-server          # relay/redisstore tests (loopback only)
  redis-tools
  ghostscript           # PAdES corpus: PDFs written by Ghostscript's pdfwrite
  texlive-base          # PAdES corpus: pdftex (plain TeX); ~110 MB installed, ~35 s
  libreoffice-writer-nogui  # PAdES corpus: soffice --convert-to pdf; ~260 MB installed, ~55 s
)
STATICCHECK_VERSION=v0.8.2  # = staticcheck 2026.2.2, builds with Go 1.26

T0=$(date +%s)
log() { printf '[test.sh +%ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Go: the machine has it in /usr/local/go; binaries installed with go install land in GOPATH/bin.
if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] || die "go not found (install Go 1.26)"
  export PATH=$PATH:/usr/local/go/bin
fi
GOBIN_DIR=$(go env GOBIN)
[ -n "$GOBIN_DIR" ] || GOBIN_DIR=$(go env GOPATH)/bin
export PATH=$PATH:$GOBIN_DIR

install_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Node.js may come from another repository (with its own npm): judge it by the commands.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt: all ${#APT_PACKAGES[@]} packages and node/npm present"
    return
  fi
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${missing[*]}"
    sudo=sudo
  fi
  log "apt: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "apt: done"
}

install_npm() {
  local dir=internal/validate/js
  [ -f "$dir/package-lock.json" ] || { log "npm: no $dir/package-lock.json, skipped"; return; }
  local stamp=$dir/node_modules/.trifirma-lock-sha256 want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "npm: $dir/node_modules up to date"
    return
  fi
  log "npm: npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

install_harness() {
  if [ -z "${TRIFIRMA_SHARED:-}" ]; then
    log "harness: TRIFIRMA_SHARED not set, skipped"
    return
  fi
  [ -x "$TRIFIRMA_SHARED/harness/install.sh" ] || die "TRIFIRMA_SHARED=$TRIFIRMA_SHARED has no harness/install.sh"
  log "harness: $TRIFIRMA_SHARED/harness/install.sh"
  "$TRIFIRMA_SHARED/harness/install.sh" >&2
}

install_staticcheck() {
  if command -v staticcheck >/dev/null 2>&1; then
    log "staticcheck: $(staticcheck -version 2>/dev/null || echo present)"
    return
  fi
  log "staticcheck: go install honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ||
    { log "staticcheck: $STATICCHECK_VERSION did not build, trying @latest"; go install honnef.co/go/tools/cmd/staticcheck@latest; }
}

if [ "${TRIFIRMA_TEST_SKIP_INSTALL:-}" = 1 ]; then
  log "installs skipped (TRIFIRMA_TEST_SKIP_INSTALL=1)"
else
  install_apt
  install_npm
  install_harness
  install_staticcheck
fi

# ---- arguments: package patterns vs. go test flags
# go test flags whose value may come as the next argument (-bench . / -coverprofile /tmp/c.out).
VALUE_FLAGS=(run skip bench benchtime count cpu parallel timeout fuzz fuzztime fuzzminimizetime
  list shuffle coverprofile covermode coverpkg cpuprofile memprofile memprofilerate blockprofile
  blockprofilerate mutexprofile mutexprofilefraction trace outputdir o exec tags p vet ldflags
  gcflags mod modfile overlay pgo)
takes_value() {
  local f
  for f in "${VALUE_FLAGS[@]}"; do [ "$f" = "$1" ] && return 0; done
  return 1
}
pkgs=()
flags=()
expect_value=0
for a in "$@"; do
  if [ $expect_value = 1 ]; then flags+=("$a"); expect_value=0; continue; fi
  case $a in
    -*=*) flags+=("$a") ;;
    -*)
      flags+=("$a")
      name=${a#-}; name=${name#-}; name=${name#test.}
      if takes_value "$name"; then expect_value=1; fi
      ;;
    . | ./* | ../* | /* | github.com/trifirma/* | *...*) pkgs+=("$a") ;;
    *) flags+=("$a") ;;
  esac
done
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

# ---- static checks (problems are reported, go test still runs)
problems=()
# gofmt looks at the directories of the package patterns (the whole tree for ./...).
gofiles() {
  local p d depth
  for p in "${pkgs[@]}"; do
    case $p in github.com/trifirma/trifirma*) p=.${p#github.com/trifirma/trifirma} ;; esac
    depth=(-maxdepth 1)
    case $p in *...) d=${p%...}; d=${d%/}; depth=() ;; *) d=$p ;; esac
    [ -n "$d" ] || d=.
    [ -d "$d" ] || continue
    find "$d" "${depth[@]}" -name '*.go' -not -path '*/.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*' -print0
  done
}
log "gofmt -l"
unformatted=$(gofiles | xargs -0 -r gofmt -l | sort -u)
if [ -n "$unformatted" ]; then
  printf 'gofmt: not formatted:\n%s\n' "$unformatted"
  problems+=(gofmt)
fi
log "go vet ${pkgs[*]}"
go vet "${pkgs[@]}" || problems+=("go vet")
if command -v staticcheck >/dev/null 2>&1; then
  log "staticcheck ${pkgs[*]}"
  staticcheck "${pkgs[@]}" || problems+=(staticcheck)
else
  log "staticcheck not installed"
  problems+=("staticcheck missing")
fi

# ---- tests
log "go test -count=1 -timeout 60m ${flags[*]:-} ${pkgs[*]}"
rc=0
go test -count=1 -timeout 60m "${flags[@]}" "${pkgs[@]}" || rc=$?
if [ ${#problems[@]} -gt 0 ]; then
  log "FAILED static checks: ${problems[*]} (go test exit $rc)"
  [ $rc -ne 0 ] || rc=1
else
  log "go test exit $rc"
fi
exit $rc
