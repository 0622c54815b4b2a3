from django.db import migrations, models
from django.db.models import F


def _as_before(apps, schema_editor):
    # Until now one flag served both deadlines.  Keep the promised one
    # marked where the flag was set; publishing the missing year recomputes
    # every running case and clears it where it was never provisional.
    Case = apps.get_model("cases", "Case")
    Case.objects.filter(due_provisional=True).update(promised_provisional=F("due_provisional"))


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_lean_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='promised_provisional',
            field=models.BooleanField(default=False, verbose_name='承诺期限为暂定'),
        ),
        migrations.RunPython(_as_before, migrations.RunPython.noop),
    ]
