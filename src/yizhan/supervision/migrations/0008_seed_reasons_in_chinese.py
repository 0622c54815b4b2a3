"""The seeded rules' and scheme's first reasons, once English, said in Chinese.

They are shown in the version histories of the rule and scheme pages.
Named ``seed`` like the seeding migrations, so the tests that seed again
after emptying the tables (tests/supervision/helpers.py) run it too.
"""

from django.db import migrations

OLD = "national-practice defaults"


def seed(apps, schema_editor):
    apps.get_model("supervision", "RuleRevision").objects.filter(
        version=1, reason=OLD).update(reason="按全国通行做法设置的默认规则")
    apps.get_model("supervision", "ScoringScheme").objects.filter(
        version=1, reason=OLD).update(reason="按全国通行做法设置的默认方案")


class Migration(migrations.Migration):
    dependencies = [("supervision", "0007_lean_indexes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
