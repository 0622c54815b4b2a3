from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0008_correction_by_token'),
    ]

    operations = [
        migrations.AddField(
            model_name='statusqueryfailure',
            name='number',
            field=models.CharField(blank=True, db_index=True, max_length=32),
        ),
    ]
