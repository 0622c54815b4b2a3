"""CPU cost of one process step, with the specification cache and without.

A step is one runtime call as the case engine makes it: ``start`` or
``complete`` with the stored texts (spec JSON and state JSON) in, the new
state JSON out.  Each cycle drives a template from start to its end.

* ``cached``: the spec text is the same each call, so the runtime finds the
  deserialized specification in its cache (hash of the text, dict lookup).
* ``reparse_each_step`` (the baseline): the cache is emptied before every
  call, so every step parses the spec JSON and rebuilds SpiffWorkflow's
  specification, as storing the spec inside each state would.

Prints one JSON object.  Run: ``.venv/bin/python bench/bpmn.py``.
"""

import json
import os
import sys
import time

import django
from django.conf import settings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
# yizhan.bpmn needs no database and no project settings; empty settings are
# enough for an error message to render if something goes wrong.
if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure()
django.setup()

from yizhan import bpmn  # noqa: E402

AGENCIES = {"$accepting": 3, "$joint": [4, 5, 6], "$upper": 2}
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))


def cycle(spec_json: str, *, before_each_step) -> int:
    """Drive one case to its end, approving everything; return the steps taken."""
    before_each_step()
    step = bpmn.start(spec_json, data={"amount": 50000}, agencies=AGENCIES)
    steps = 1
    while not step.finished:
        task = step.ready[0]
        before_each_step()
        step = bpmn.complete(spec_json, step.state_json, task_id=task.task_id,
                             data={"opinion": "approve"})
        steps += 1
    assert step.outcome == "approved", step.outcome
    return steps


def measure(spec_json: str, before_each_step) -> dict:
    cycle(spec_json, before_each_step=before_each_step)      # warm up
    steps = cycles = 0
    start = time.process_time()
    while time.process_time() - start < SECONDS:
        steps += cycle(spec_json, before_each_step=before_each_step)
        cycles += 1
    cpu = time.process_time() - start
    return {
        "steps": steps,
        "cycles": cycles,
        "steps_per_second": round(steps / cpu, 1),
        "cpu_ms_per_step": round(cpu / steps * 1000, 3),
    }


def main() -> None:
    results = []
    for name in ("immediate", "promised", "parallel"):
        definition = bpmn.load_template(name)
        spec_json = definition.spec_json
        bpmn.clear_spec_cache()
        cached = measure(spec_json, lambda: None)
        info = bpmn.spec_cache_info()
        baseline = measure(spec_json, bpmn.clear_spec_cache)
        state = bpmn.start(spec_json, data={"amount": 50000}, agencies=AGENCIES).state_json
        results.append({
            "template": name,
            "spec_json_bytes": len(spec_json.encode()),
            "first_state_json_bytes": len(state.encode()),
            "cached": cached,
            "cache_hits_misses": [info["hits"], info["misses"]],
            "reparse_each_step": baseline,
            "speedup": round(cached["steps_per_second"] / baseline["steps_per_second"], 2),
        })
    print(json.dumps({"benchmark": "bpmn", "seconds_per_measurement": SECONDS,
                      "results": results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
