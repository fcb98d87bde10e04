#!/usr/bin/env bash
# Install everything Vigil needs on a Debian 12/13 (or Ubuntu) machine. Idempotent and quiet
# when everything is already there. Run as root (CI) or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
log() { printf 'setup: %s\n' "$*" >&2; }

PG_VERSION="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)"
APT_UPDATED=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# 1. PostgreSQL server, headers, build tools, Mosquitto, a browser for the dashboard tests.
if [ -z "$PG_VERSION" ]; then
    apt_install postgresql
    PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
fi
apt_install "postgresql-$PG_VERSION" "postgresql-contrib-$PG_VERSION" 2>/dev/null \
    || apt_install "postgresql-$PG_VERSION"
apt_install mosquitto mosquitto-clients python3-venv
# The reports' PDFs (WeasyPrint draws with pango, Korean in Nanum) and the tests that read them
# back as text and images (pdftotext, pdftoppm).
apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-nanum poppler-utils
if [ "${VIGIL_SKIP_BROWSER:-0}" != 1 ]; then
    apt_install chromium fonts-nanum  # Korean glyphs for the pages in Korean
fi
PG_LIB="$(/usr/lib/postgresql/$PG_VERSION/bin/pg_config --pkglibdir)"

# 2. TimescaleDB: the distribution's binary package where it exists, else build the
#    Apache-licensed edition from the Debian source package.
if ! ls "$PG_LIB"/timescaledb-*.so >/dev/null 2>&1; then
    if apt-cache show "postgresql-$PG_VERSION-timescaledb" >/dev/null 2>&1; then
        apt_install "postgresql-$PG_VERSION-timescaledb"
    else
        apt_install "postgresql-server-dev-$PG_VERSION" cmake build-essential dpkg-dev \
            libssl-dev libkrb5-dev
        SRC_LIST=/etc/apt/sources.list.d/vigil-timescaledb-src.sources
        if ! apt-cache showsrc timescaledb 2>/dev/null | grep -q "^Package:"; then
            # The same Debian mirror the machine already uses, with trixie's sources.
            MIRROR="$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true) \
                | awk '$2 !~ /security/ {print $2; exit}')"
            [ -n "$MIRROR" ] || MIRROR="$( (cat /etc/apt/sources.list 2>/dev/null || true) \
                | awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}')"
            [ -n "$MIRROR" ] || { log "no Debian mirror configured for apt"; exit 1; }
            log "adding a deb-src entry for the timescaledb source package"
            printf 'Types: deb-src\nURIs: %s\nSuites: trixie\n%s\n%s\n' "$MIRROR" \
                'Components: main' \
                'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $SUDO tee "$SRC_LIST" >/dev/null
            $SUDO apt-get update -qq >/dev/null
        fi
        BUILD="$(mktemp -d)"
        log "building TimescaleDB (Apache edition) for PostgreSQL $PG_VERSION in $BUILD"
        (
            cd "$BUILD"
            apt-get source --download-only timescaledb >/dev/null 2>&1
            tar xf timescaledb_*.orig.tar.*
            cd timescaledb-*/
            ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
                -DPG_CONFIG="/usr/lib/postgresql/$PG_VERSION/bin/pg_config" >/dev/null
            make -C build -j"$(nproc)" >/dev/null
            $SUDO make -C build install >/dev/null
        )
        rm -rf "$BUILD"
    fi
fi

# 3. The virtual environment, reinstalled only when pyproject.toml changes.
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PY" -m venv .venv
fi
STAMP=.venv/.vigil-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    log "installing Python dependencies"
    pip_quiet() {
        # Quiet on success; on failure show what pip said.
        local out
        out="$(mktemp)"
        if ! .venv/bin/pip install -q "$@" >"$out" 2>&1; then
            cat "$out" >&2
            rm -f "$out"
            return 1
        fi
        rm -f "$out"
    }
    pip_quiet --upgrade pip
    pip_quiet -e '.[dev]'
    echo "$WANT" > "$STAMP"
fi

# 4. Browser assets from npm, pinned, into a gitignored folder: axe-core (the
#    accessibility checks of tests/browser.py) and swagger-ui-dist (the API docs page,
#    vigil.api.docs). Each skipped when already at the pinned version.
AXE_VERSION=4.10.2
SWAGGER_UI_VERSION=5.35.0
NODE_DIR=.vigil-node
if [ "${VIGIL_SKIP_BROWSER:-0}" != 1 ]; then
    command -v npm >/dev/null || apt_install npm
    if [ "$(cat "$NODE_DIR/node_modules/axe-core/package.json" 2>/dev/null \
        | sed -n 's/^  "version": "\(.*\)",$/\1/p')" != "$AXE_VERSION" ]; then
        log "installing axe-core $AXE_VERSION from npm"
        mkdir -p "$NODE_DIR"
        npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" \
            "axe-core@$AXE_VERSION" >/dev/null
    fi
    if [ "$(cat "$NODE_DIR/node_modules/swagger-ui-dist/package.json" 2>/dev/null \
        | sed -n 's/^  "version": "\(.*\)",$/\1/p')" != "$SWAGGER_UI_VERSION" ]; then
        log "installing swagger-ui-dist $SWAGGER_UI_VERSION from npm"
        mkdir -p "$NODE_DIR"
        npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" \
            "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null
    fi
fi
