"""``yizhan workdays``: seed the holiday calendar and show what is stored."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yizhan.core import context
from yizhan.workdays import selectors, services, source

_WEEKDAYS = "一二三四五六日"


class Command(BaseCommand):
    help = (
        "Working-day calendar operations. 'seed' stores, as published, every year the "
        "installed chinesecalendar package knows and the database lacks (idempotent; stored "
        "years are never overwritten). 'show' lists the stored years; 'show YEAR' lists that "
        "year's exceptions to the Monday-to-Friday rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["seed", "show"],
                            help="the operation to run: seed or show")
        parser.add_argument("year", nargs="?", type=int,
                            help="for show: the year whose days to list (default: all years)")

    def handle(self, *args, operation, year=None, **options):
        with context.acting("cli"):
            if operation == "seed":
                if year is not None:
                    raise CommandError(f"seed 不接受年份（收到 {year}），"
                                       f"会导入软件包已知的全部年份 / "
                                       f"seed takes no year (got {year}); it seeds every "
                                       f"year the package knows")
                self._seed()
            elif year is None:
                self._show_years()
            else:
                self._show_year(year)

    def _seed(self):
        years = source.package_years()
        report = services.calendar_seed(actor=None)
        self.stdout.write(f"chinesecalendar {source.package_version()} 覆盖 / covers "
                          f"{years[0]}–{years[-1]}")
        if report.created:
            self.stdout.write(self.style.SUCCESS(
                "已导入 / seeded: " + ", ".join(str(y) for y in report.created)))
        else:
            self.stdout.write("无新年度 / nothing new: every year the package knows is stored.")
        if report.differing:
            self.stdout.write(self.style.WARNING(
                "已保留但与软件包不同 / kept, differing from the package: "
                + ", ".join(str(y) for y in report.differing)
                + " (yizhan workdays show YEAR to review)"))

    def _show_years(self):
        rows = list(selectors.calendar_year_list())
        if not rows:
            self.stdout.write("没有日历数据 / no calendar data: run 'yizhan workdays seed'.")
            return
        # A Chinese character takes two columns: "是" and two spaces fill
        # the width of "发布".
        self.stdout.write("年度  来源             发布  放假  上班")
        for row in rows:
            published = "是" if row.published else "否"
            self.stdout.write(f"{row.year}  {row.source:<15}  {published}    "
                              f"{row.holiday_count:>4}  {row.workday_count:>4}")

    def _show_year(self, year: int):
        row = selectors.calendar_year_get(year=year)
        if row is None:
            raise CommandError(f"no calendar data for year {year} (没有 {year} 年的日历数据)")
        status = "已发布 / published" if row.published else "未发布 / not published (provisional)"
        by = row.published_by.get_username() if row.published_by else "system"
        self.stdout.write(f"{row.year} 年：{row.get_source_display()} {row.source_version}，"
                          f"{status}" + (f"，{by} {timezone.localtime(row.published_at):%Y-%m-%d}"
                                         if row.published else ""))
        for day in selectors.calendar_day_list(year=year):
            kind = "上班" if day.is_workday else "放假"
            self.stdout.write(f"{day.date.isoformat()} 周{_WEEKDAYS[day.date.weekday()]} "
                              f"{kind} {day.name}")
