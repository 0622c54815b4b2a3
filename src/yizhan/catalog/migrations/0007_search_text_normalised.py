"""Recompute every version's search text the way queries are now read.

A query is read NFKC and in simplified characters (``search.normalise``),
and the search text of a version is now made the same way.  It is written
only when a version is saved (``services._write_version``): the versions
stored before would keep a full-width ＩＣＰ or ＸＫ０４, which no query
(read NFKC) matches, and traditional characters, which no query holds any
more.  The text is made by the function that makes it for a new version,
so that old and new versions hold the same tokens.  Going back leaves the
text as it is: the earlier code reads queries NFKC too, and finds the items
in it by the same words.
"""

from django.db import migrations

def recompute(apps, schema_editor):
    from yizhan.catalog.search import search_texts_rebuilt

    search_texts_rebuilt(apps.get_model("catalog", "ItemVersion").objects.all())


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_file_names_on_references'),
    ]

    operations = [
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
