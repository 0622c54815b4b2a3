"""The 监察督办 dimension counts the supervision notices issued to an agency.

Until notices existed it counted alerts on cases still undecided at the
end of the period.  An installation whose scheme is still the untouched
default gets version 2 with the notices source; one whose office has
edited the scheme keeps it (the office may switch the dimension itself).
"""

import copy

from django.db import migrations
from django.utils import timezone

# Frozen here, as in 0004.
SUPERVISION = {"code": "supervision", "name": "监察督办", "weight": 10, "source": "notices",
               "note": "下达给本机关的纠错通知、监察建议书及回复被退回",
               "deductions": {"correction": 5, "recommendation": 10, "returned": 2}}


def _defaults():
    from importlib import import_module

    return import_module("yizhan.supervision.migrations.0004_default_scoring_scheme")


def seed(apps, schema_editor):
    ScoringScheme = apps.get_model("supervision", "ScoringScheme")
    defaults = _defaults()
    latest = ScoringScheme.objects.order_by("-version").first()
    if latest is None or latest.version != 1:
        return
    if latest.dimensions != defaults.DIMENSIONS or latest.bands != defaults.BANDS:
        return
    dimensions = [copy.deepcopy(SUPERVISION) if row["code"] == "supervision" else row
                  for row in copy.deepcopy(defaults.DIMENSIONS)]
    ScoringScheme.objects.create(version=2, dimensions=dimensions, bands=latest.bands,
                                 changed_at=timezone.now(),
                                 reason="监察督办指标改按督办件计分")


class Migration(migrations.Migration):
    dependencies = [("supervision", "0005_alert_notice")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
