"""The seeded rules' and scheme's first reasons, once English, said in Chinese.

They are shown in the version histories of the rule and scheme pages.
"""

from django.db import migrations

OLD = "national-practice defaults"


def forwards(apps, schema_editor):
    apps.get_model("supervision", "RuleRevision").objects.filter(
        version=1, reason=OLD).update(reason="按全国通行做法设置的默认规则")
    apps.get_model("supervision", "ScoringScheme").objects.filter(
        version=1, reason=OLD).update(reason="按全国通行做法设置的默认方案")


class Migration(migrations.Migration):
    dependencies = [("supervision", "0007_lean_indexes")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
