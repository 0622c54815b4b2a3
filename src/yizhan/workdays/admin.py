"""Admin of the holiday calendar.

Any system administrator may look; calendar administrators (a division
sysadmin grant, or the superuser) add and change days and publish years,
through the services, so every change is checked and audited and the
case engine hears of it.  Days are never deleted here: setting a day back
to what the Monday-to-Friday rule says removes its exception.
"""

from django import forms
from django.contrib import admin
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import InvalidInput
from yizhan.portal.admin_site import ServiceAdmin
from yizhan.workdays import permissions, services
from yizhan.workdays.models import CalendarDay, CalendarYear


class CalendarDayForm(forms.ModelForm):
    # Empty when a day goes back to the weekday rule; the service decides.
    name = forms.CharField(label=_("节日名称"), max_length=40, required=False)
    reason = forms.CharField(label=_("调整依据"), max_length=500,
                             help_text=_("如国务院办公厅关于节假日安排的通知文号。"))

    class Meta:
        model = CalendarDay
        fields = ("date", "is_workday", "name")


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceAdmin):
    unscoped = True   # one calendar for the whole installation
    form = CalendarDayForm
    list_display = ("date", "weekday", "is_workday", "name", "changed_at", "changed_by")
    list_filter = ("is_workday", "year")
    search_fields = ("name",)
    date_hierarchy = "date"
    list_select_related = ("changed_by",)

    @admin.display(description=_("星期"))
    def weekday(self, obj):
        return WEEKDAYS_ABBR[obj.date.weekday()]

    def get_fields(self, request, obj=None):
        return ("date", "is_workday", "name", "reason")

    def get_readonly_fields(self, request, obj=None):
        return ("date",) if obj is not None else ()

    def has_add_permission(self, request):
        return permissions.calendar_day_set(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.calendar_day_set(request.user)

    def write(self, request, data, obj):
        date = obj.date if obj is not None else data["date"]
        if obj is None and data["is_workday"] == (date.weekday() < 5):
            # Adding a day the weekday rule already gives stores nothing (the
            # service finds it already so): the form says so, rather than
            # report a day added that is not in the calendar.
            if data["is_workday"]:
                raise InvalidInput(_("%(date)s 按周一至周五的规则本就是工作日，无需录入。"),
                                   field="is_workday", date=date.isoformat())
            raise InvalidInput(_("%(date)s 是周末，本就放假，无需录入。"),
                               field="is_workday", date=date.isoformat())
        day = services.calendar_day_set(actor=request.user, date=date,
                                        is_workday=data["is_workday"], name=data["name"],
                                        reason=data["reason"])
        if day is None:
            # Back to the weekday rule: the exception is gone.  The admin
            # still wants an object to name in its message.
            return CalendarDay(pk=obj.pk if obj else None, date=date,
                               is_workday=data["is_workday"], name=data["name"])
        return day


class CalendarYearForm(forms.ModelForm):
    # Required by the service when publishing, not for saving unchanged.
    reason = forms.CharField(label=_("发布依据"), max_length=500, required=False,
                             help_text=_("如国务院办公厅关于节假日安排的通知文号。"))

    class Meta:
        model = CalendarYear
        fields = ("published",)


@admin.register(CalendarYear)
class CalendarYearAdmin(ServiceAdmin):
    unscoped = True
    form = CalendarYearForm
    list_display = ("year", "source", "source_version", "published", "published_at",
                    "published_by")
    list_filter = ("source", "published")
    list_select_related = ("published_by",)
    readonly_fields = ("year", "source", "source_version", "published_at", "published_by",
                       "created_at")

    def get_fields(self, request, obj=None):
        return ("year", "source", "source_version", "published", "reason", "created_at")

    def has_change_permission(self, request, obj=None):
        # Only the step from unpublished to published exists.
        if obj is not None and obj.published:
            return False
        return permissions.calendar_year_publish(request.user)

    def write(self, request, data, obj):
        if not data.get("published"):
            return obj
        return services.calendar_year_publish(actor=request.user, year=obj.year,
                                              reason=data["reason"])
