"""Index the certificates' digests: the public verification page names the
certificate a wrongly chosen file is, looking it up by its digest."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0012_certificate_names'),
    ]

    operations = [
        migrations.AlterField(
            model_name='certificate',
            name='digest',
            field=models.CharField(db_index=True, max_length=64),
        ),
    ]
