"""Each reference to a catalog file carries the name its editor gave the file.

The name was kept once per content (``CatalogFile.name``, from the first
upload), so every item referring to the same bytes showed, and served the
download under, whatever the first uploader (another agency, a draft) had
called them.  The name now lives beside each reference; existing references
take the name their file had, which is what their guides showed until now,
and the file's own name goes.
"""

from django.db import migrations, models

# (model, reference field) of every reference to a CatalogFile.
REFERENCES = (("ItemVersion", "result_sample_file"), ("Material", "blank_form_file"),
              ("Material", "sample_file"))


def names_to_references(apps, schema_editor):
    CatalogFile = apps.get_model("catalog", "CatalogFile")
    for sha256, name in CatalogFile.objects.values_list("sha256", "name").iterator():
        for model, field in REFERENCES:
            apps.get_model("catalog", model).objects.filter(**{field: sha256}).update(
                **{f"{field}_name": name})


def names_to_files(apps, schema_editor):
    """Backwards: a file takes the name of one of its references (its digest if none)."""
    CatalogFile = apps.get_model("catalog", "CatalogFile")
    for record in CatalogFile.objects.all().iterator():
        names = (apps.get_model("catalog", model).objects
                 .filter(**{field: record.sha256}).exclude(**{f"{field}_name": ""})
                 .order_by("pk").values_list(f"{field}_name", flat=True).first()
                 for model, field in REFERENCES)
        record.name = next((name for name in names if name), record.sha256)
        record.save(update_fields=["name"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_item_withdrawal'),
    ]

    operations = [
        migrations.AddField(
            model_name='itemversion',
            name='result_sample_file_name',
            field=models.CharField(blank=True, max_length=200, verbose_name='结果样本文件名'),
        ),
        migrations.AddField(
            model_name='material',
            name='blank_form_file_name',
            field=models.CharField(blank=True, max_length=200, verbose_name='空白表格文件名'),
        ),
        migrations.AddField(
            model_name='material',
            name='sample_file_name',
            field=models.CharField(blank=True, max_length=200, verbose_name='示例样表文件名'),
        ),
        migrations.RunPython(names_to_references, names_to_files),
        # A default for the way back only: the column is added again to a table
        # that has rows, and filled by names_to_files.
        migrations.AlterField(
            model_name='catalogfile',
            name='name',
            field=models.CharField(default='', max_length=200, verbose_name='文件名'),
        ),
        migrations.RemoveField(
            model_name='catalogfile',
            name='name',
        ),
    ]
