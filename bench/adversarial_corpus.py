"""The adversarial corpus of tests/test_reliability.py as a table: outcome and peak memory per case.

.venv/bin/python bench/adversarial_corpus.py            # this checkout
.venv/bin/python bench/adversarial_corpus.py OLD_TREE   # another encephagen on PYTHONPATH (a package folder
                                                        # holding encephagen/ with cli/, circuits/, data/ inside)
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_reliability as t

tree = sys.argv[1] if len(sys.argv) > 1 else ""
wrapper = Path(tempfile.mkdtemp()) / "w.py"
wrapper.write_text(t.WRAPPER)
results = {}
for case in sorted(t.CORPUS):
    tmp = Path(tempfile.mkdtemp(prefix="corpus_"))
    (tmp / "c").mkdir()
    args, expected = t.CORPUS[case](tmp)
    env = {"PYTHONPATH": tree} if tree else {}
    try:
        code, out, err, peak = t.encephagen(wrapper, *args, cwd=tmp, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        results[case] = ("HANG", float("nan"))
        print(case, "HANG", flush=True)
        continue
    try:
        t.assert_one_line_error(code, err, *[e for e in expected if e], stdout=out if args[0] == "validate" else "")
        ok = peak < t.MEMORY_LIMIT_MB
        why = "ok" if ok else "memory"
    except AssertionError:
        why = "FAIL " + ("traceback" if "Traceback" in err + out else ("exit0" if code == 0 else "message"))
    results[case] = (why, peak)
    print(
        f"{case:40s} {why:20s} peak {peak:7.0f} MB | {(err or out).strip().splitlines()[-1][:150] if (err or out).strip() else ''}",
        flush=True,
    )
bad = [c for c, (w, _) in results.items() if w != "ok"]
print(f"{len(results) - len(bad)}/{len(results)} cases pass", flush=True)
