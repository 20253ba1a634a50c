#!/bin/bash
# A fresh set-up from the lock, pip against uv: each into a new venv with an empty cache, one after the other,
# the load before and after each. Run from the repository root: nice -n 10 docs/eval/lock_install_time.sh
set -euo pipefail
LOCK=requirements/py3.11-test.txt
WORK=$(mktemp -d)
FIND_LINKS=$(python3 -m pip config get global.find-links 2>/dev/null || true)
uptime
start=$(date +%s.%N)
python3 -m venv "$WORK/pip"
"$WORK/pip/bin/pip" install -q --no-cache-dir --require-hashes -r $LOCK
echo "pip: $(echo "$(date +%s.%N) - $start" | bc) s"
uptime
start=$(date +%s.%N)
python3 -m venv "$WORK/uv"
"$WORK/uv/bin/pip" install -q --no-cache-dir uv==0.13.9
UV_CACHE_DIR="$WORK/uv-cache" VIRTUAL_ENV="$WORK/uv" "$WORK/uv/bin/uv" pip install -q --python "$WORK/uv/bin/python" \
    ${FIND_LINKS:+--find-links $FIND_LINKS} --require-hashes -r $LOCK
echo "uv: $(echo "$(date +%s.%N) - $start" | bc) s"
uptime
diff <("$WORK/pip/bin/pip" freeze | grep -v '^uv==') <("$WORK/uv/bin/pip" freeze | grep -v '^uv==') && echo 'the same packages'
rm -rf "$WORK"
