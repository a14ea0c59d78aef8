#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need, then format+lint, type check, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci
bash scripts/ensure-test-deps.sh

echo "== biome (format + lint)"
npx biome check .
echo "== type check"
npx tsc --noEmit
echo "== tests"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
