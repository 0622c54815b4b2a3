"""Record the issuing agency on each certificate.

Existing certificates were all issued by their case's accepting agency.
"""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    Certificate = apps.get_model("cases", "Certificate")
    for certificate in Certificate.objects.select_related("case"):
        certificate.agency_id = certificate.case.agency_id
        certificate.save(update_fields=["agency"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificate",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="certificates", to="directory.agency",
                                    verbose_name="发证机关"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="certificate",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                    related_name="certificates", to="directory.agency",
                                    verbose_name="发证机关"),
        ),
    ]
