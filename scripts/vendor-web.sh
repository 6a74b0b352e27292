#!/usr/bin/env bash
# Refreshes the browser libraries the pages embed (uPlot, for the charts)
# from the npm registry, at the versions web/vendor/package-lock.json
# pins, into web/static/vendor, which is committed and embedded in the
# binary: building Arena needs no Node.js, only changing these does.
# To move to a newer uPlot: edit web/vendor/package.json, run
# `npm install --prefix web/vendor`, then this script, and commit all three.
set -euo pipefail
cd "$(dirname "$0")/../web/vendor"
npm ci --no-audit --no-fund --silent
out=../static/vendor
mkdir -p "$out"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$out/"
cp node_modules/uplot/LICENSE "$out/uPlot.LICENSE"
rm -rf node_modules
echo "vendor-web.sh: uPlot $(node -p 'require("./package-lock.json").packages["node_modules/uplot"].version') in web/static/vendor"
