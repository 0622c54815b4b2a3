from django.urls import path

from yizhan.supervision import scoring_views, views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.dashboard, name="dashboard"),
    path("supervision/alerts/", views.alerts, name="alerts"),
    path("supervision/alerts/<int:alert_id>/clear/", views.alert_clear, name="alert_clear"),
    path("supervision/cases/<int:case_id>/", views.case, name="case"),
    path("supervision/notices/", views.notices, name="notices"),
    path("supervision/notices/new/", views.notice_new, name="notice_new"),
    path("supervision/notices/<int:case_id>/", views.notice, name="notice"),
    path("supervision/rules/", views.rules, name="rules"),
    path("supervision/rules/<str:code>/", views.rule, name="rule"),
    path("supervision/scores/", scoring_views.scores, name="scores"),
    path("supervision/scores/compute/", scoring_views.scores_compute, name="scores_compute"),
    path("supervision/scores/report/", scoring_views.scores_report, name="scores_report"),
    path("supervision/scores/scheme/", scoring_views.scoring_scheme, name="scoring_scheme"),
    path("supervision/scores/agencies/<int:agency_id>/", scoring_views.score_agency,
         name="score_agency"),
]
