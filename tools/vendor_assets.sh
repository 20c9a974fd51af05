#!/usr/bin/env bash
# Reproduce the console's vendored front-end assets from their npm packages at pinned versions.
# Run from the repository root; needs npm (registry.npmjs.org). Nothing is fetched at run time:
# the files land in gateway/console/static/vendor/ and are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX_VERSION=2.0.11
AXE_VERSION=4.14.1
dest=gateway/console/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@${HTMX_VERSION}" "axe-core@${AXE_VERSION}" >/dev/null)
tar -xzf "$work/htmx.org-${HTMX_VERSION}.tgz" -C "$work" package/dist/htmx.min.js package/LICENSE
cp "$work/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$work/package/LICENSE" "$dest/htmx.LICENSE"
rm -rf "$work/package"
tar -xzf "$work/axe-core-${AXE_VERSION}.tgz" -C "$work" package/axe.min.js package/LICENSE
cp "$work/package/axe.min.js" "$dest/axe.min.js"
cp "$work/package/LICENSE" "$dest/axe.LICENSE"
printf 'htmx.org %s\naxe-core %s\n' "$HTMX_VERSION" "$AXE_VERSION" > "$dest/VERSIONS"
echo "vendored htmx.org ${HTMX_VERSION} and axe-core ${AXE_VERSION} into $dest"
