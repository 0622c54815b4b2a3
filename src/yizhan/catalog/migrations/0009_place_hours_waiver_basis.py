"""Where and when to apply in person, and the grounds of a fee's waiver.

The national guide standard has 办理地点 and 办理时间 in every guide, and
允许减免依据 beside 是否允许减免: the item had neither, so guides wrote the
window and its hours into 咨询方式 and a waiver's grounds, if anywhere, into
收费依据.  The two new texts of a version start empty.

A waivable fee must now say on what grounds it is waived
(``content._clean_fees``).  A fee stored before has none of its own: it is
given 见收费依据 (see the fee's basis), which is where its guide put them until
now.  Without a value, the copy that starts an item's next version would be
refused for it, and its editors could not open the draft that corrects it.
Going back drops the column with whatever it holds.
"""

from django.db import migrations, models

# The grounds of a waivable fee stored before they had a field: its basis said them.
SEE_THE_BASIS = "见收费依据"


def grounds_of_existing_waivers(apps, schema_editor):
    apps.get_model("catalog", "Fee").objects.filter(waivable=True, waiver_basis="").update(
        waiver_basis=SEE_THE_BASIS)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0008_search_text_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="fee",
            name="waiver_basis",
            field=models.TextField(blank=True, verbose_name="减免依据"),
        ),
        migrations.AddField(
            model_name="itemversion",
            name="handling_place",
            field=models.CharField(blank=True, max_length=500, verbose_name="办理地点"),
        ),
        migrations.AddField(
            model_name="itemversion",
            name="handling_hours",
            field=models.CharField(blank=True, max_length=200, verbose_name="办理时间"),
        ),
        migrations.RunPython(grounds_of_existing_waivers, migrations.RunPython.noop),
    ]
