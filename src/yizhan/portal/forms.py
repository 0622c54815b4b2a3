"""Forms of the portal pages; they parse input, services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SignInForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username",
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
    username = forms.CharField(label=_("用户名"), max_length=150)
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


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    object = forms.CharField(label=_("对象"), required=False, max_length=200)
    since = forms.DateField(label=_("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
