"""Forms of the portal pages; they parse input, services decide."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A login name as typed: a phone keyboard neither capitalises its first
# letter nor "corrects" it into a word (the name is found whatever its case,
# but a corrected one is another name).
LOGIN_NAME_ATTRS = {"autocomplete": "username", "autocapitalize": "none",
                    "autocorrect": "off", "spellcheck": "false"}


class SignInForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150,
                               widget=forms.TextInput(attrs={**LOGIN_NAME_ATTRS,
                                                             "autofocus": True}))
    password = forms.CharField(label=_("密码"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete":
                                                                 "current-password"}))
    totp_code = forms.CharField(label=_("动态口令（如已启用）"), required=False, max_length=8,
                                widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                              "inputmode": "numeric"}))


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), strip=False,
                                   widget=forms.PasswordInput(
                                       attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("新密码"), strip=False,
                                   widget=forms.PasswordInput(
                                       attrs={"autocomplete": "new-password"}),
                                   help_text=_("至少 10 位，不能全为数字，不能过于常见。"))


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("注册邮箱"))


class PasswordResetConfirmForm(forms.Form):
    new_password = forms.CharField(label=_("新密码"), strip=False,
                                   widget=forms.PasswordInput(
                                       attrs={"autocomplete": "new-password"}))


class RegisterForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150,
                               widget=forms.TextInput(attrs=LOGIN_NAME_ATTRS))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    id_number = forms.CharField(label=_("身份证号码"), max_length=18)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    email = forms.EmailField(label=_("邮箱（用于找回密码）"), required=False)
    password = forms.CharField(label=_("密码"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete":
                                                                 "new-password"}))


class TotpForm(forms.Form):
    code = forms.CharField(label=_("动态口令"), max_length=8,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric"}))


class PostStaffForm(forms.Form):
    """任命岗位 on the 本机关 page: an existing staff account, by login name."""

    username = forms.CharField(label=_("登录名"), max_length=150)


class TotpResetForm(forms.Form):
    """重置动态口令 on the 本机关 page, for a staff member who lost their phone."""

    reason = forms.CharField(label=_("理由"), max_length=500)


def _day_starts(day: datetime.date, *, days_later: int = 0) -> datetime.datetime:
    """The instant the local day ``days_later`` after ``day`` begins.

    Records are kept and compared in UTC: a day at the ends of the calendar
    has no such instant there (9999-12-31 ends in year 10000, 0001-01-01 in
    Beijing begins in year 0 in UTC), and is refused.
    """
    try:
        at = (datetime.datetime.combine(day, datetime.time.min, timezone.get_current_timezone())
              + datetime.timedelta(days=days_later))
        at.astimezone(datetime.UTC)
    except OverflowError:
        raise forms.ValidationError(_("日期超出允许的范围。"), code="out_of_range") from None
    return at


class AuditSearchForm(forms.Form):
    """Cleaned, ``since`` and ``until`` are instants: the start of the first
    day and the end of the last (the start of the day after), local time."""

    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    object = forms.CharField(label=_("对象"), required=False, max_length=200)
    since = forms.DateField(label=_("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean_since(self):
        day = self.cleaned_data["since"]
        return _day_starts(day) if day else None

    def clean_until(self):
        day = self.cleaned_data["until"]
        return _day_starts(day, days_later=1) if day else None
