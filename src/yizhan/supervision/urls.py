from django.urls import path

from yizhan.supervision import views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.dashboard, name="dashboard"),
    path("supervision/alerts/", views.alerts, name="alerts"),
    path("supervision/alerts/<int:alert_id>/clear/", views.alert_clear, name="alert_clear"),
    path("supervision/cases/<int:case_id>/", views.case, name="case"),
    path("supervision/rules/", views.rules, name="rules"),
    path("supervision/rules/<str:code>/", views.rule, name="rule"),
]
