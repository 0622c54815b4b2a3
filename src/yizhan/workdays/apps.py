"""Configuration of the workdays app."""

from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "yizhan.workdays"
    label = "workdays"
    verbose_name = "工作日历"
