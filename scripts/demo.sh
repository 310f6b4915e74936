#!/usr/bin/env bash
# The tour: installs what is missing, builds, starts a throwaway PostgreSQL
# (pg_virtualenv) and a local nginx, loads the sample data and runs the
# example plans (plans/examples/*/): validate, plan, apply, status, rollback,
# status. Everything is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# PLANRUN_BINARY (the demo ctest sets it) skips installing and building.
if [ -n "${PLANRUN_BINARY:-}" ]; then
  export PLANRUN="$PLANRUN_BINARY"
else
  scripts/install-deps.sh
  scripts/build.sh
  export PLANRUN="$PWD/${BUILD_DIR:-build}/planrun"
fi

# The object examples need a web server holding the source files and taking
# uploads: nginx on a loopback port serves $DEMO_WORK/www/src and takes
# WebDAV PUT and DELETE under /store/ (the config the objects tests use).
DEMO_WORK=$(mktemp -d "${TMPDIR:-/tmp}/planrun-demo-XXXXXX")
NGINX_PID= S3_PID=
cleanup() {
  for pid in $NGINX_PID $S3_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$DEMO_WORK"
}
trap cleanup EXIT
mkdir -p "$DEMO_WORK/www/src" "$DEMO_WORK/www/store"
python3 - "$DEMO_WORK/www/src" <<'PY'
# design1.png ... design12.png: 24x24 PNGs, one colour each.
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(1, 13):
    rgb = bytes(((i * 53) % 256, (i * 97) % 256, (i * 29) % 256))
    rows = b"".join(b"\0" + rgb * 24 for _ in range(24))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 24, 24, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    open(f"{sys.argv[1]}/design{i}.png", "wb").write(png)
PY
NGINX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s#@PREFIX@#$DEMO_WORK#g; s#@ROOT@#$DEMO_WORK/www#g; s#@PORT@#$NGINX_PORT#g" \
  -e "s#@USER@#$([ "$(id -u)" = 0 ] && echo 'user root root;')#" \
  tests/objects/nginx.conf.in >"$DEMO_WORK/nginx.conf"
/usr/sbin/nginx -p "$DEMO_WORK" -c "$DEMO_WORK/nginx.conf" -e "$DEMO_WORK/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break
  sleep 0.1
done
export DEMO_WORK NGINX_URL="http://127.0.0.1:$NGINX_PORT"

# An S3-compatible store that checks every request's SigV4 signature, and a
# webhook sink: tests/objects/fault_server.py, with no faults.
export AWS_ACCESS_KEY_ID=demo-access-key AWS_SECRET_ACCESS_KEY=demo-secret-key
python3 tests/objects/fault_server.py --sigv4 "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY:us-east-1" \
  >"$DEMO_WORK/s3.out" 2>"$DEMO_WORK/s3.err" &
S3_PID=$!
for _ in $(seq 100); do grep -q '^PORT ' "$DEMO_WORK/s3.out" 2>/dev/null && break; sleep 0.1; done
export S3_URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$DEMO_WORK/s3.out")"

# Package files on local disk for local_packages_to_cloud: JSON, two of them
# with the same bytes, and a file the glob does not take.
mkdir -p "$DEMO_WORK/packages/packages/cursor" "$DEMO_WORK/packages/packages/claude"
for i in 1 2 3 4 5; do
  platform=$([ $((i % 2)) = 0 ] && echo claude || echo cursor)
  printf '{"name": "pkg-%s", "platform": "%s", "version": "1.0.%s"}\n' "$i" "$platform" "$i" \
    >"$DEMO_WORK/packages/packages/$platform/pkg-$i.taptik"
done
cp "$DEMO_WORK/packages/packages/cursor/pkg-1.taptik" "$DEMO_WORK/packages/packages/claude/pkg-1-copy.taptik"
echo "not a package" >"$DEMO_WORK/packages/packages/README.txt"

pg_virtualenv -t -- bash -euo pipefail -c '
  step() { printf "\n\033[1m$ %s\033[0m\n" "$*"; }
  run() { step "$*"; "$@"; }
  planrun() { "$PLANRUN" --plans plans/examples/registry "$@"; }

  printf "\n\033[1m# plans/examples/registry: a package registry'"'"'s v2 schema, avatars, key-value records to tables\033[0m\n"
  step "psql -f plans/examples/registry/sample_data.sql   # a small package registry"
  psql -q -v ON_ERROR_STOP=1 -f plans/examples/registry/sample_data.sql
  echo "$(psql -Atc "SELECT count(*) FROM packages") packages, $(psql -Atc "SELECT count(*) FROM teams") teams"

  step "planrun validate"; planrun validate
  step "planrun plan 2"; planrun plan 2
  step "planrun apply --dry-run --sample 5   # hooks over 5 rows per data step, nothing written"
  planrun apply --dry-run --sample 5
  step "planrun apply"; planrun apply
  step "planrun status"; planrun status
  step "psql: packages after plans 1-3"
  psql -c "SELECT id, name, description, public, tags FROM packages ORDER BY id LIMIT 5"
  step "psql: avatars made by the Lua hook of plan 4"
  psql -c "SELECT id, user_id, name, niche, meta FROM avatars ORDER BY id LIMIT 5"
  step "planrun rejects 5   # key-value records the hooks of plan 5 refused, with reasons"
  planrun rejects 5
  step "planrun rollback   # the newest plan"; planrun rollback
  step "planrun rollback --to 0   # everything else"; planrun rollback --to 0
  step "planrun status"; planrun status
  step "psql: packages are back to the sample data"
  psql -c "SELECT id, name, is_public, metadata FROM packages ORDER BY id LIMIT 3"

  printf "\n\033[1m# plans/examples/project_split: one project'"'"'s rows from a shared database into its own\033[0m\n"
  export SHARED_DATABASE_URL="dbname=shared"
  split() { PGDATABASE=project_acme "$PLANRUN" --plans plans/examples/project_split "$@"; }
  step "createdb shared project_acme; psql -d shared -f plans/examples/project_split/shared_data.sql"
  createdb shared; createdb project_acme
  psql -q -v ON_ERROR_STOP=1 -d shared -f plans/examples/project_split/shared_data.sql
  step "planrun plan   # SHARED_DATABASE_URL=$SHARED_DATABASE_URL, into project_acme"; split plan | sed -n "1,6p;/^step 3\/8/,/^$/p"
  step "planrun apply"; split apply
  step "planrun status"; split status
  step "planrun rollback"; split rollback

  printf "\n\033[1m# plans/examples/images_to_storage: generated images copied into object storage\033[0m\n"
  export STORAGE_URL="$NGINX_URL/store" STORAGE_KEY=demo-token
  images() { PGDATABASE=designs "$PLANRUN" --plans plans/examples/images_to_storage "$@"; }
  step "createdb designs; psql -f plans/examples/images_to_storage/sample_data.sql   # 13 designs, images on $NGINX_URL/src"
  createdb designs
  PGDATABASE=designs psql -q -v ON_ERROR_STOP=1 -v images_url="$NGINX_URL/src" \
    -f plans/examples/images_to_storage/sample_data.sql
  step "planrun apply   # STORAGE_URL=$STORAGE_URL"; images apply
  step "planrun status"; images status
  step "psql: where the images went"
  PGDATABASE=designs psql -c "SELECT id, storage_url, image_bytes, image_type, left(image_sha256, 12) AS sha256 FROM custom_design ORDER BY id LIMIT 4"
  step "ls $DEMO_WORK/www/store/designs | head -4"; ls "$DEMO_WORK/www/store/designs" | head -4
  step "planrun rollback"; images rollback
  step "planrun status"; images status

  printf "\n\033[1m# plans/examples/local_packages_to_cloud: package files on disk into S3, a row per file\033[0m\n"
  export S3_ENDPOINT="$S3_URL" S3_BUCKET=packages HOOK_URL="$S3_URL/hook" PACKAGES_DIR="$DEMO_WORK/packages"
  packages() { PGDATABASE=registry "$PLANRUN" --plans plans/examples/local_packages_to_cloud "$@"; }
  step "createdb registry; CREATE TABLE taptik_packages (...)   # files under $PACKAGES_DIR/packages"
  createdb registry
  PGDATABASE=registry psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE taptik_packages (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL, platform text NOT NULL,
    file_path text NOT NULL UNIQUE, storage_url text, checksum text, size_bytes bigint, modified_at timestamptz)"
  step "planrun apply   # S3_ENDPOINT=$S3_ENDPOINT, HOOK_URL=$HOOK_URL"; packages apply
  step "psql: one row per package file"
  PGDATABASE=registry psql -c "SELECT id, name, platform, file_path, size_bytes, left(checksum, 12) AS checksum FROM taptik_packages ORDER BY id"
  step "GET $S3_URL/_stats   # objects stored once each, signatures checked, the webhook received"
  python3 -c "import json, sys, urllib.request; s = json.load(urllib.request.urlopen(sys.argv[1] + \"/_stats\")); print(len(s[\"objects\"]), \"objects,\", s[\"sigv4\"][\"checked\"], \"signatures checked,\", len(s[\"sigv4\"][\"bad\"]), \"bad; webhook:\", [(h[\"plan\"], h[\"state\"]) for h in s[\"hooks\"]])" "$S3_URL"
  step "planrun rollback   # deletes the rows it inserted and the objects it uploaded"; packages rollback
  step "planrun status"; packages status
'
