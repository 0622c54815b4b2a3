"""The rule on unlawful pauses accepts every reason of 《行政许可法》第四十五条.

招标, 拍卖 and 鉴定 became lawful reasons to stop the clock.  The seeded rule
CX-04 listed the reasons there were before, so a pause for an appraisal
would have been flagged as unlawful.  Its list gains the three, as a new
version of the rule with its reason, unless the office has changed the list
already (its choice stands).
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

OLD = ["correction", "expert_review", "hearing", "inspection", "quarantine", "testing"]
ADDED = ["appraisal", "auction", "tender"]
REASON = "《行政许可法》第四十五条：招标、拍卖、鉴定所需时间不计入办理期限"


def seed(apps, schema_editor):
    Rule = apps.get_model("supervision", "Rule")
    RuleRevision = apps.get_model("supervision", "RuleRevision")
    RulesetVersion = apps.get_model("supervision", "RulesetVersion")
    rule = Rule.objects.filter(code="CX-04", check_code="unlawful_pause").first()
    if rule is None or sorted((rule.params or {}).get("lawful_reasons", [])) != OLD:
        return
    now = timezone.now()
    rule.params = {**rule.params, "lawful_reasons": sorted(OLD + ADDED)}
    rule.version += 1
    rule.updated_at = now
    rule.save(update_fields=["params", "version", "updated_at"])
    RuleRevision.objects.create(
        rule=rule, version=rule.version, changed_at=now, reason=REASON,
        snapshot={"code": rule.code, "name": rule.name, "check": rule.check_code,
                  "level": rule.level, "params": rule.params, "enabled": rule.enabled,
                  "items": sorted(rule.items.values_list("pk", flat=True)),
                  "agencies": sorted(rule.agencies.values_list("pk", flat=True))})
    # Workers reload their rules when the number moves.
    RulesetVersion.objects.filter(pk=1).update(number=F("number") + 1)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0008_seed_reasons_in_chinese")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
