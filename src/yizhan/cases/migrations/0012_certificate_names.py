"""Keep the names a certificate prints, and room for its longest title.

The title of a certificate whose item names no result is the item's name
(up to 200 characters) and 决定书.  The agency's and the holder's names
are filled for existing certificates from the current ones: what they
were when issued is in the signed PDFs, not in the database.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Agency = apps.get_model("directory", "Agency")
    Case = apps.get_model("cases", "Case")
    Certificate = apps.get_model("cases", "Certificate")
    Certificate.objects.update(
        issuer_name=Subquery(Agency.objects.filter(pk=OuterRef("agency_id")).values("name")[:1]),
        holder_name=Subquery(Case.objects.filter(pk=OuterRef("case_id"))
                             .values("applicant__name")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_task_released"),
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="certificate",
            name="title",
            field=models.CharField(max_length=255, verbose_name="证照名称"),
        ),
        migrations.AddField(
            model_name="certificate",
            name="issuer_name",
            field=models.CharField(default="", max_length=200, verbose_name="发证机关名称"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="certificate",
            name="holder_name",
            field=models.CharField(default="", max_length=200, verbose_name="持证者名称"),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
