#!/bin/sh
# Does triage install, train and score the same with the OLDEST and the NEWEST
# scikit-learn (and numpy) that pyproject.toml allows?
#
# Builds the wheel of this checkout once, then for each end of the range makes a
# throwaway venv outside the repository, installs the wheel with that scikit-learn and
# numpy, and checks, from the installed package:
#   - tests/test_model_format.py: models exported after training with that scikit-learn
#     score as its own pipelines do (max abs diff < 1e-9), the shipped model reproduces
#     the reference scores stored by `make model`, `triage once` imports no scikit-learn;
#   - `triage once` on a copy of samples/inbox, `triage train --with-corrections --out`
#     from the packaged corpus, and `triage eval` of the shipped and the new model on the
#     packaged held-out mail (the shipped model's macro-F1 must be its card's).
#
# Usage: scripts/check_sklearn_range.sh [oldest|newest|both]   (default: both)
# Needs PyPI. The two ends run side by side: 2 min 6 s on a quiet 2-core machine.
# Exit status 0 when all pass, 1 when a check failed.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
WHICH=${1:-both}
WORK=$(mktemp -d /tmp/triage-range.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# The lower bounds, read from pyproject.toml: "scikit-learn>=1.5,<2" -> 1.5
lower_bound() {
    "$PYTHON" - "$REPO/pyproject.toml" "$1" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
[spec] = [d for d in deps if re.match(re.escape(sys.argv[2]) + r"\s*[<>=!~]", d)]
print(re.search(r">=\s*([\d.]+)", spec).group(1))
PY
}
upper_spec() {
    "$PYTHON" - "$REPO/pyproject.toml" "$1" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
[spec] = [d for d in deps if re.match(re.escape(sys.argv[2]) + r"\s*[<>=!~]", d)]
print(spec)
PY
}

echo "== building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps -w "$WORK/wheel" "$REPO"
WHEEL=$(ls "$WORK"/wheel/*.whl)

check() {
    end=$1; shift
    echo "== $end: $*"
    venv="$WORK/venv-$end"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL" "$@" "pytest>=8,<10"
    "$venv/bin/python" -c "import numpy, sklearn; print('   installed: scikit-learn', sklearn.__version__, '/ numpy', numpy.__version__)"

    run="$WORK/run-$end"
    mkdir -p "$run"
    cp -r "$REPO/samples/inbox" "$run/inbox"
    cd "$run"  # outside the repository: `triage` is the installed package
    rows=$("$venv/bin/triage" once "$run/inbox" --state "$run/state.db" --now 2026-11-24T12:00:00+00:00 \
        --support-address help@larkspur.example --format jsonl 2>/dev/null | wc -l)
    echo "   triage once samples/inbox: $rows rows"
    test "$rows" -gt 20
    "$venv/bin/triage" train --with-corrections --out "$run/m.npz" --estimator lr_word --state "$run/state.db" 2>/dev/null
    holdout=$("$venv/bin/python" -c "from triage.modelstore import HOLDOUT_DIR; print(HOLDOUT_DIR)")
    case "$holdout" in "$venv"/*) ;; *) echo "   the held-out mail is not the packaged copy: $holdout"; exit 1 ;; esac
    "$venv/bin/triage" eval "$holdout" --state "$run/state.db" --format json > "$run/shipped.json"
    "$venv/bin/triage" eval "$holdout" --model "$run/m.npz" --state "$run/state.db" --format json > "$run/new.json"
    "$venv/bin/python" - "$run" <<'PY'
import json, sys
from triage.modelstore import load_shipped
run = sys.argv[1]
shipped, new = (json.load(open(f"{run}/{name}.json")) for name in ("shipped", "new"))
card = load_shipped()[1]
print(f"   triage eval: shipped macro-F1 {shipped['macro_f1']} (card {card['holdout']['macro_f1']}), "
      f"new lr_word model {new['macro_f1']}")
assert shipped["macro_f1"] == card["holdout"]["macro_f1"], "the shipped model scores differently from its card"
assert new["macro_f1"] > 0.6
PY
    if "$venv/bin/python" -m pytest -q -p no:cacheprovider "$REPO/tests/test_model_format.py" > "$run/pytest.log" 2>&1
    then echo "   tests/test_model_format.py: $(tail -1 "$run/pytest.log")"
    else cat "$run/pytest.log"; exit 1
    fi
    cd "$REPO"
}

oldest() { check oldest "scikit-learn==$(lower_bound scikit-learn)" "numpy==$(lower_bound numpy)"; }
newest() { check newest "$(upper_spec scikit-learn)" "$(upper_spec numpy)" --upgrade; }
case "$WHICH" in
    oldest) oldest ;;
    newest) newest ;;
    both)  # side by side (one core each), each end's report printed whole
        (oldest) > "$WORK/oldest.log" 2>&1 & first=$!
        (newest) > "$WORK/newest.log" 2>&1 & second=$!
        status=0
        wait $first || status=1
        wait $second || status=1
        grep -hv "is ignored: it is neither a file nor a directory" "$WORK/oldest.log" "$WORK/newest.log" || true
        [ $status -eq 0 ] || { echo "== scikit-learn range: FAILED"; exit 1; } ;;
    *) echo "usage: $0 [oldest|newest|both]" >&2; exit 2 ;;
esac
echo "== scikit-learn range: all checks passed"
