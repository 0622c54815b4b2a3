"""Recompute every version's search text in the platform's language, with the
English labels of its themes and item type.

The themes' labels were written in the language of whoever saved the
version: an item saved from the desk in English was indexed under
"marriage registration" and not found by 婚姻登记.  The text is now made in
Chinese whatever the editor's language, with the labels of the themes and
the item type in the pages' other languages (English) added, so that a
reader of the English pages finds items by the words those pages show.  The
text is made by the function that makes it for a new version
(``search.search_text_for``), so that old and new versions hold the same
tokens.  Going back leaves the text as it is: the earlier code finds items
by their Chinese words in it all the same.
"""

from django.db import migrations


def recompute(apps, schema_editor):
    from yizhan.catalog.search import search_texts_rebuilt

    search_texts_rebuilt(apps.get_model("catalog", "ItemVersion").objects.all())


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_search_text_normalised"),
    ]

    operations = [
        migrations.RunPython(recompute, migrations.RunPython.noop),
    ]
