#!/usr/bin/env bash
# Re-fetch GraphiQL's browser files from the npm registry into vendor/ and write vendor/VERSIONS.
#
#   partner_api/static/graphiql/vendor.sh
#
# To upgrade, change a version below and run this: `npm pack` downloads each release tarball and
# checks it against the registry's integrity hash; the files named here are copied out unchanged,
# with each package's licence text. The page's asset URLs carry a hash of each file's content
# (partner_api/web/graphiql_page.py), so browsers never keep serving the old files.
#
# GraphiQL 4.1 is the last release with a browser (UMD) build: 5.x needs a bundler. React 19 has
# no UMD build, so React stays on 18. @graphiql/plugin-explorer 4.0.x is the release that pairs
# with GraphiQL 4.1 (@graphiql/react 0.34).
set -euo pipefail

# package@version  file in the package  name in vendor/
FILES=(
  "react@18.3.1 umd/react.production.min.js react.production.min.js"
  "react@18.3.1 LICENSE LICENSE-react"
  "react-dom@18.3.1 umd/react-dom.production.min.js react-dom.production.min.js"
  "react-dom@18.3.1 LICENSE LICENSE-react-dom"
  "graphiql@4.1.2 graphiql.min.js graphiql.min.js"
  "graphiql@4.1.2 graphiql.min.css graphiql.min.css"
  "graphiql@4.1.2 LICENSE LICENSE-graphiql"
  "@graphiql/plugin-explorer@4.0.6 dist/index.umd.js plugin-explorer.umd.js"
  "@graphiql/plugin-explorer@4.0.6 dist/style.css plugin-explorer.css"
  # The explorer plugin ships no licence file of its own (package.json: MIT, from the same
  # graphql/graphiql repository as LICENSE-graphiql); its UMD build bundles graphiql-explorer.
  "graphiql-explorer@0.9.0 LICENSE LICENSE-graphiql-explorer"
)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="$here/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/out"
{
  echo "# GraphiQL's browser files, as published on the npm registry (written by ../vendor.sh)."
  echo "# file  package@version  path in the package  sha256"
} >"$work/out/VERSIONS"
declare -A unpacked=()
for line in "${FILES[@]}"; do
  read -r spec source name <<<"$line"
  if [[ -z "${unpacked[$spec]:-}" ]]; then
    directory="$work/$(echo "$spec" | tr '/@' '__')"
    mkdir -p "$directory"
    tarball="$(cd "$work" && npm pack --silent "$spec")"
    tar -xzf "$work/$tarball" -C "$directory"
    unpacked[$spec]="$directory/package"
  fi
  cp "${unpacked[$spec]}/$source" "$work/out/$name"
  digest="$(sha256sum "$work/out/$name" | cut -d' ' -f1)"
  echo "$name  $spec  $source  $digest" >>"$work/out/VERSIONS"
done

rm -rf "$target"
mv "$work/out" "$target"
du -ch "$target"/*.js "$target"/*.css | tail -n 1 | sed 's/total/in vendor\/ (scripts and stylesheets)/'
