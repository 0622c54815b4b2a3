"""The scoring scheme every installation starts with (see supervision/scoring.py).

The nine dimensions of national practice of electronic supervision's
performance assessment, with weights adding up to 100 and grades 优秀 ≥ 90,
良好 ≥ 80, 合格 ≥ 60.  Satisfaction has no ratings in the platform yet, so
its weight is spread over the others; complaints, data reporting,
accountability and "other" have no source of data yet and score full marks.
"""

from django.db import migrations
from django.utils import timezone

# Frozen here: later changes to the defaults in code do not rewrite history.
ALERT_LEVELS = {"red": 5, "yellow": 2, "notice": 0.5}
DIMENSIONS = [
    {"code": "timeliness", "name": "办件时效（监察点）", "weight": 30, "source": "alerts",
     "note": "时效、程序和网上办理监察预警", "kinds": ["online", "procedure", "timeliness"],
     "rules": [], "deductions": ALERT_LEVELS, "undecided_only": False},
    {"code": "disclosure", "name": "事项公开", "weight": 10, "source": "catalog",
     "note": "网上办理深度未达三级的事项", "min_depth": 3, "per_item": 2},
    {"code": "fees", "name": "收费", "weight": 10, "source": "alerts",
     "note": "收费监察预警", "kinds": ["fee"], "rules": [],
     "deductions": {"red": 10, "yellow": 5, "notice": 1}, "undecided_only": False},
    {"code": "supervision", "name": "监察督办", "weight": 10, "source": "alerts",
     "note": "期末仍未办结的受预警办件", "kinds": ["timeliness"], "rules": [],
     "deductions": {"red": 5, "yellow": 2, "notice": 0}, "undecided_only": True},
    {"code": "reporting", "name": "数据报送", "weight": 5, "source": "none", "note": ""},
    {"code": "complaints", "name": "投诉处理", "weight": 10, "source": "none", "note": ""},
    {"code": "accountability", "name": "责任追究", "weight": 5, "source": "none", "note": ""},
    {"code": "satisfaction", "name": "群众满意度", "weight": 15, "source": "ratings", "note": ""},
    {"code": "other", "name": "其他", "weight": 5, "source": "none", "note": ""},
]
BANDS = {"excellent": 90, "good": 80, "pass": 60}


def seed(apps, schema_editor):
    ScoringScheme = apps.get_model("supervision", "ScoringScheme")
    ScoringScheme.objects.get_or_create(version=1, defaults={
        "dimensions": DIMENSIONS, "bands": BANDS, "changed_at": timezone.now(),
        "reason": "national-practice defaults"})


class Migration(migrations.Migration):
    dependencies = [("supervision", "0003_scoring")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
