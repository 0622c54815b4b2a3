"""The rules every installation starts with (see supervision/checks.py)."""

from django.db import migrations
from django.utils import timezone

# Frozen here: later changes to the defaults in code do not rewrite history.
RULES = [
    ("SX-01", "办件临近承诺期限", "case_warning", "timeliness", "yellow",
     {"share": 0.8, "days_before": 1}),
    ("SX-02", "办件超过承诺期限", "case_promised_overdue", "timeliness", "red", {}),
    ("SX-03", "办件超过法定期限", "case_statutory_overdue", "timeliness", "red", {}),
    ("SX-04", "环节临近时限", "task_warning", "timeliness", "notice",
     {"share": 0.8, "days_before": 1}),
    ("SX-05", "环节超时", "task_overdue", "timeliness", "yellow", {}),
    ("SX-06", "下级初审后逾期报送", "transfer_late", "timeliness", "yellow",
     {"task": "first_review", "workdays": 20}),
    ("CX-01", "跳过监察点作出决定", "decision_without_steps", "procedure", "red",
     {"require_review": True}),
    ("CX-02", "不予受理或不予许可未说明理由", "refusal_without_reason", "procedure", "red", {}),
    ("CX-03", "多次告知补正", "repeated_correction", "procedure", "yellow", {"max_notices": 1}),
    ("CX-04", "无法定事由暂停计时", "unlawful_pause", "procedure", "red",
     {"lawful_reasons": ["correction", "expert_review", "hearing", "inspection", "quarantine",
                         "testing"]}),
    ("CX-05", "暂停计时超过时限", "pause_too_long", "procedure", "yellow", {"workdays": 30}),
    ("CX-06", "材料不全即受理", "incomplete_acceptance", "procedure", "yellow", {}),
    ("SF-01", "无依据收费", "fee_without_basis", "fee", "red", {}),
    ("SF-02", "超标准收费", "fee_above_standard", "fee", "red", {}),
    ("WB-01", "全程网办事项线下办理", "offline_handling", "online", "notice", {"min_depth": 4}),
]


def seed(apps, schema_editor):
    Rule = apps.get_model("supervision", "Rule")
    RuleRevision = apps.get_model("supervision", "RuleRevision")
    RulesetVersion = apps.get_model("supervision", "RulesetVersion")
    now = timezone.now()
    for code, name, check, kind, level, params in RULES:
        rule, created = Rule.objects.get_or_create(
            code=code, defaults={"name": name, "check_code": check, "kind": kind, "level": level,
                                 "params": params, "updated_at": now})
        if created:
            RuleRevision.objects.create(
                rule=rule, version=1, changed_at=now, reason="national-practice defaults",
                snapshot={"code": code, "name": name, "check": check, "level": level,
                          "params": params, "enabled": True, "items": [], "agencies": []})
    RulesetVersion.objects.get_or_create(pk=1, defaults={"number": 1})


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
