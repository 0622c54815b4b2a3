"""A login name is one account whatever its case.

Signing in finds the account by its name in any case
(``YizhanUserManager.get_by_natural_key``), as registration, staff creation
and the sign-in throttle already compared it; the database now refuses a
second account whose name differs from another's only in case.  The
services refused such a name all along, so an installation has none; one
made some other way is named here, for the operator to rename before
migrating, rather than left to fail on the constraint.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

import yizhan.accounts.models


def refuse_names_in_two_cases(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    clashing = (User.objects.annotate(folded=Lower("username")).values("folded")
                .annotate(n=models.Count("id")).filter(n__gt=1).values_list("folded", flat=True))
    names = sorted(User.objects.annotate(folded=Lower("username"))
                   .filter(folded__in=list(clashing)).values_list("username", flat=True))
    if names:
        raise RuntimeError(
            "Login names that differ only in case, to rename before migrating: "
            + ", ".join(names))


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_totp_last_step"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", yizhan.accounts.models.YizhanUserManager()),
            ],
        ),
        migrations.RunPython(refuse_names_in_two_cases, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(Lower("username"),
                                               name="user_username_ci_unique"),
        ),
    ]
