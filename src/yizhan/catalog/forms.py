"""Forms of the catalog pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.catalog.search import MAX_QUERY_CHARS


class SearchForm(forms.Form):
    # Its own words for a query too long: Django's says "this variable" and
    # counts in half-width brackets, which mean nothing to a citizen.
    q = forms.CharField(
        label=_("搜索事项"), required=False, max_length=MAX_QUERY_CHARS,
        widget=forms.TextInput(attrs={"type": "search",
                                      "placeholder": _("如：食品经营许可、开餐馆")}),
        error_messages={"max_length": _("搜索内容请不超过 %(limit_value)d 个字，"
                                        "请删减后再搜索。")},
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("事项目录文件（.xlsx 或 .json）"))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("审核意见"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
