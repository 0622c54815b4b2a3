"""SX-06 (``transfer_late``) alerts keyed by the case, not by the step.

The lower level's twenty days (《行政许可法》第四十三条) are one limit of the
case, counted from its acceptance; the sweep used to key its alert by the
first review that held the limit, so a first review returned by the upper
agency raised the same lapse a second time.  The sweep now keys it without
the step (``detection.line_key`` with no task).  An alert stored under the
old key would not be found under the new one, and the case's next look
would raise the lapse once more: each case's earliest SX-06 alert takes the
key the sweep now makes for it (from the case's acceptance, as the sweep
counts), so it is found.  The alert's step, agency and post are unchanged;
a second alert already raised for the same lapse keeps its key, and stays
for the office to clear with its reason (alerts are never removed).
"""

from django.db import migrations


def rekey(apps, schema_editor):
    from yizhan.supervision.detection import line_key

    Alert = apps.get_model("supervision", "Alert")
    alerts = Alert.objects.filter(rule__check_code="transfer_late")
    taken = set(alerts.values_list("key", flat=True))
    for pk, key, code, case_id, accepted_at in (
            alerts.filter(case__accepted_at__isnull=False).order_by("raised_at", "id")
            .values_list("id", "key", "rule__code", "case_id", "case__accepted_at")):
        new = line_key(code, case_id, None, accepted_at)
        if key != new and new not in taken:
            Alert.objects.filter(pk=pk).update(key=new)
            taken.add(new)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0009_pause_reasons_of_article_45")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
