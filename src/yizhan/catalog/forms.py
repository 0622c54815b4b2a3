"""Forms of the catalog pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.catalog.search import MAX_QUERY_CHARS


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索事项"), required=False, max_length=MAX_QUERY_CHARS,
        widget=forms.TextInput(attrs={"type": "search",
                                      "placeholder": _("如：食品经营许可、开餐馆")}),
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("事项目录文件（.xlsx 或 .json）"))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("审核意见"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
